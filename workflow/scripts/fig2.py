"""Snakemake wrapper: Fig. 2, FMNIST test loss/accuracy vs trainable parameters and vs D."""
from dendritic.plots.performance import plot_fig2
from dendritic.runio import setup_logging

setup_logging(snakemake.log[0])
plot_fig2(snakemake.input[0], [snakemake.output.png, snakemake.output.pdf], models=snakemake.params.models)
