"""Snakemake wrapper: Fig. 6, t-SNE of the best models' hidden layers and representation scores."""

import json

from dendritic.plots.representations import plot_fig6
from dendritic.runio import setup_logging

setup_logging(snakemake.log[0])
i = snakemake.input
plot_fig6(
    i.tsne,
    i.representations,
    [snakemake.output.png, snakemake.output.pdf],
    class_names=json.load(open(i.meta))["class_names"],
    best_cells=i.best_cells,
)
