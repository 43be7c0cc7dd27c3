"""Snakemake wrapper: Suppl. Fig. 5, learning rates."""
from dendritic.plots.experiments import plot_learning_rates
from dendritic.runio import setup_logging

setup_logging(snakemake.log[0])
plot_learning_rates(snakemake.input[0], [snakemake.output.png, snakemake.output.pdf],
                    curve_models=snakemake.params.models)
