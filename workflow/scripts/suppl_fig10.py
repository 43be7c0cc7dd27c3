"""Snakemake wrapper: Suppl. Fig. 10, dANN vs sANN (structured vs random sparse dendrite→soma wiring)."""
from dendritic.plots.experiments import plot_sparse_pairs
from dendritic.runio import setup_logging

setup_logging(snakemake.log[0])
plot_sparse_pairs(snakemake.input[0], [snakemake.output.png, snakemake.output.pdf],
                  dataset=snakemake.params.dataset)
