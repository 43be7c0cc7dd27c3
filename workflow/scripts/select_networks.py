"""Snakemake wrapper: each model's network, fixed from the clean main experiment (paper §4)."""

from dendritic.runio import setup_logging
from dendritic.summary import write_selected_networks

setup_logging(snakemake.log[0])
write_selected_networks(snakemake.input, snakemake.output[0], snakemake.wildcards.dataset, snakemake.params.selections)
