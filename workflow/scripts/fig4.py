"""Snakemake wrapper: Fig. 4, dANN-X vs vANN-X with the same input sampling."""
from dendritic.plots.efficiency import plot_fig4
from dendritic.runio import setup_logging

setup_logging(snakemake.log[0])
plot_fig4(snakemake.input[0], [snakemake.output.png, snakemake.output.pdf])
