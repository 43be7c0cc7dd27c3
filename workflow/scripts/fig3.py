"""Snakemake wrapper: Fig. 3, parameters needed to match vANN and efficiency, every dataset."""
from dendritic.plots.efficiency import plot_fig3
from dendritic.runio import setup_logging

setup_logging(snakemake.log[0])
plot_fig3(snakemake.input[0], [snakemake.output.png, snakemake.output.pdf], models=snakemake.params.models)
