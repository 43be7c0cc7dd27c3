"""Snakemake wrapper: Suppl. Fig. 9, dANN-X vs vANN-X loss/accuracy vs parameters."""
from dendritic.plots.experiments import plot_sampling_pairs
from dendritic.runio import setup_logging

setup_logging(snakemake.log[0])
plot_sampling_pairs(snakemake.input[0], [snakemake.output.png, snakemake.output.pdf],
                    dataset=snakemake.params.dataset)
