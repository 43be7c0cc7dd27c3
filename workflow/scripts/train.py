"""Snakemake wrapper: train one cell (a configuration, every seed)."""

from pathlib import Path

from dendritic.runio import setup_logging, stop_when_orphaned

setup_logging(snakemake.log[0])  # first, so that any error below (imports too) is in the job's log
stop_when_orphaned()  # a killed Snakemake must not leave this job training beside a rerun

from dendritic.cells import run_cell  # noqa: E402

run_cell(
    snakemake.params.cell,
    snakemake.input.data,
    Path(snakemake.output.metrics).parent,
    device=snakemake.params.device,
    threads=snakemake.threads,
    data_sha256=snakemake.params.data_sha256,
)
