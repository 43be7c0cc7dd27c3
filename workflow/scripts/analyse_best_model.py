"""Snakemake wrapper: Fig. 5/6 analyses (nodes, weights, t-SNE) of one model's selected network."""

from dendritic.best_models import run_best_model_analysis
from dendritic.runio import setup_logging

setup_logging(snakemake.log[0])
p = snakemake.params
run_best_model_analysis(
    snakemake.input.summary,
    snakemake.input.data,
    snakemake.wildcards.dataset,
    snakemake.wildcards.model,
    list(snakemake.input.weights),
    dict(snakemake.output.items()),
    device=p.device,
    threads=snakemake.threads,
    selection=p.selection,
    threshold=p.threshold,
    n_images=p.n_images,
    perplexity=p.perplexity,
    n_neighbors=p.n_neighbors,
    tsne_kwargs=p.tsne_kwargs,
    repeats=p.repeats,
    include_self=p.hit_includes_self,
)
