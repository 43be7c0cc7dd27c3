"""Snakemake wrapper: Fig. 7, noisy inputs (example images, efficiency vs σ) and the sequential task."""

from dendritic.plots.fig7 import plot_fig7
from dendritic.runio import setup_logging

setup_logging(snakemake.log[0])
plot_fig7(
    snakemake.input.summary,
    [snakemake.output.png, snakemake.output.pdf],
    prepared=snakemake.input.get("prepared"),  # named input, when the noise experiment ran
    **snakemake.params.kwargs,
)
