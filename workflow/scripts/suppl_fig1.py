"""Snakemake wrapper: Suppl. Fig. 1, example images of every dataset."""

from dendritic.plots.examples import plot_examples
from dendritic.runio import setup_logging

setup_logging(snakemake.log[0])
plot_examples(dict(zip(snakemake.params.datasets, snakemake.input)), [snakemake.output.png, snakemake.output.pdf])
