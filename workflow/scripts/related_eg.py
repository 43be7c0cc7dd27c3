"""Snakemake wrapper: the learning-rule comparison figure (EG stand-in for Inoue et al. 2026)."""

from dendritic.plots.related_eg import plot_related_eg
from dendritic.runio import setup_logging

setup_logging(snakemake.log[0])
i = snakemake.input
plot_related_eg(
    i.weights,
    i.hists,
    [snakemake.output.png, snakemake.output.pdf],
    adversarial=i.get("adversarial"),
    few_shot=i.get("few_shot"),
)
