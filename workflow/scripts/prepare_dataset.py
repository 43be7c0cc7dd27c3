"""Snakemake wrapper: fetch (mirror or download), verify and cache one dataset."""
from dendritic.datasets import prepare
from dendritic.runio import setup_logging

setup_logging(snakemake.log[0])
prepare(
    snakemake.wildcards.dataset,
    snakemake.output.data,
    raw_dir=snakemake.params.raw_dir,
    mirrors=snakemake.params.mirrors,
    download=snakemake.params.download,
)
