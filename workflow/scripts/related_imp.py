"""Snakemake wrapper: the figure of iterative magnitude pruning (dendritic.plots.related_imp)."""

from dendritic.plots.related_imp import plot_related_imp
from dendritic.runio import setup_logging

setup_logging(snakemake.log[0])
plot_related_imp(
    snakemake.input.pruning,
    snakemake.input.noise,
    [snakemake.output.png, snakemake.output.pdf],
    summary=snakemake.input.get("summary") or None,
    test_noise=snakemake.input.get("test_noise") or None,
    **snakemake.params.kwargs,
)
