"""Snakemake wrapper: train one cell (a configuration, every seed)."""
from pathlib import Path

from dendritic.runio import setup_logging
from dendritic.training import run_cell

setup_logging(snakemake.log[0])
run_cell(
    snakemake.params.cell,
    snakemake.input.data,
    Path(snakemake.output.metrics).parent,
    device=snakemake.params.device,
    threads=snakemake.threads,
)
