"""Snakemake wrapper: fetch (mirror or download), verify and cache one dataset."""

from dendritic.runio import setup_logging

setup_logging(snakemake.log[0])  # first, so that any error below (imports too) is in the job's log

from dendritic.datasets import prepare  # noqa: E402

prepare(
    snakemake.wildcards.dataset,
    snakemake.output.data,
    raw_dir=snakemake.params.raw_dir,
    mirrors=snakemake.params.mirrors,
    download=snakemake.params.download,
)
