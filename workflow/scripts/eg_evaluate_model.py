"""Snakemake wrapper: weight statistics and FGSM/PGD accuracy of the learning-rule cells of one
(dataset, model) and their main-experiment comparators."""

from dendritic.eg_eval import run_eg_evaluation
from dendritic.runio import setup_logging

setup_logging(snakemake.log[0])
run_eg_evaluation(
    list(snakemake.input.weights),
    snakemake.input.data,
    dict(snakemake.output.items()),
    epsilons=snakemake.params.epsilons,
    pgd_steps=snakemake.params.pgd_steps,
    device=snakemake.params.device,
    threads=snakemake.threads,
)
