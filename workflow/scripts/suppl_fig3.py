"""Snakemake wrapper: Suppl. Fig. 3, test loss/accuracy vs parameters on the other datasets."""
from dendritic.plots.experiments import plot_datasets
from dendritic.runio import setup_logging

setup_logging(snakemake.log[0])
plot_datasets(snakemake.input[0], [snakemake.output.png, snakemake.output.pdf], models=snakemake.params.models)
