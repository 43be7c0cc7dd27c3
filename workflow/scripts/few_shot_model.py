"""Snakemake wrapper: few-shot training of one (dataset, model) with adam and the learning rules."""

from dendritic.few_shot import run_few_shot
from dendritic.runio import setup_logging

setup_logging(snakemake.log[0])
p = snakemake.params
run_few_shot(
    snakemake.input.data,
    snakemake.output[0],
    threads=snakemake.threads,
    dataset=snakemake.wildcards.dataset,
    model=snakemake.wildcards.model,
    dendrites=p.dendrites,
    somata=p.somata,
    rules=p.rules,
    shots=p.shots,
    seeds=p.seeds,
    steps=p.steps,
    lr=p.lr,
    device=p.device,
)
