"""Snakemake wrapper: Suppl. Fig. 8, depth (L = 1 vs L = 2, 3, 4)."""
from dendritic.plots.experiments import plot_depth
from dendritic.runio import setup_logging

setup_logging(snakemake.log[0])
plot_depth(snakemake.input[0], [snakemake.output.png, snakemake.output.pdf])
