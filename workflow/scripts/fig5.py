"""Snakemake wrapper: Fig. 5, weights, entropy and selectivity of the best models."""

import json

from dendritic.plots.nodes import plot_fig5
from dendritic.runio import setup_logging

setup_logging(snakemake.log[0])
i = snakemake.input
plot_fig5(
    i.node_stats,
    i.weight_hists,
    i.weight_stats,
    [snakemake.output.png, snakemake.output.pdf],
    best_cells=i.best_cells,
    n_classes=json.load(open(i.meta))["n_classes"],
)
