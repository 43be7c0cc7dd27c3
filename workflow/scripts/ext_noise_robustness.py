"""Snakemake wrapper: beyond the paper, clean-trained models tested on noisy images."""
from dendritic.plots.robustness import plot_noise_robustness
from dendritic.runio import setup_logging

setup_logging(snakemake.log[0])
plot_noise_robustness(snakemake.input[0], [snakemake.output.png, snakemake.output.pdf],
                      models=snakemake.params.models)
