"""Snakemake wrapper: Suppl. Fig. 7, epoch of minimum validation loss."""
from dendritic.plots.performance import plot_min_val_epoch
from dendritic.runio import setup_logging

setup_logging(snakemake.log[0])
plot_min_val_epoch(snakemake.input[0], [snakemake.output.png, snakemake.output.pdf], models=snakemake.params.models)
