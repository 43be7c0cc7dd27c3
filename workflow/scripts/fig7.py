"""Snakemake wrapper: Fig. 7, noisy inputs (example images, efficiency vs σ) and the sequential task."""
from dendritic.plots.fig7 import plot_fig7
from dendritic.runio import setup_logging

setup_logging(snakemake.log[0])
data = snakemake.input.get("data")  # the prepared dataset for the example images, when noise ran
plot_fig7(snakemake.input.summary, [snakemake.output.png, snakemake.output.pdf],
          prepared=data if isinstance(data, str) else (data[0] if data else None),
          dataset=snakemake.params.dataset, selection=snakemake.params.selection)
