"""Snakemake wrapper: Suppl. Fig. 6, early stopping."""
from dendritic.plots.experiments import plot_early_stopping
from dendritic.runio import setup_logging

setup_logging(snakemake.log[0])
plot_early_stopping(snakemake.input[0], [snakemake.output.png, snakemake.output.pdf])
