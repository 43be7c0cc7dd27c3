"""Snakemake wrapper: Suppl. Fig. 2, train vs validation curves."""

from dendritic.plots.performance import plot_curves
from dendritic.runio import setup_logging

setup_logging(snakemake.log[0])
plot_curves(snakemake.params.cells, list(snakemake.input), [snakemake.output.png, snakemake.output.pdf])
