"""Snakemake wrapper: Suppl. Fig. 4, vANN with dropout vs vANN and the dANNs."""
from dendritic.plots.experiments import plot_dropout
from dendritic.runio import setup_logging

setup_logging(snakemake.log[0])
plot_dropout(snakemake.input[0], [snakemake.output.png, snakemake.output.pdf], models=snakemake.params.models)
