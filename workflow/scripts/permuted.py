"""Snakemake wrapper: one permuted-FMNIST job, (dataset, T, model, context) over its sizes and seeds."""

from dendritic.permuted import run_permuted_job
from dendritic.runio import setup_logging

setup_logging(snakemake.log[0])
job = snakemake.params.job
run_permuted_job(
    snakemake.input.data,
    snakemake.output[0],
    model=job["model"],
    context=job["context"],
    tasks=job["tasks"],
    sizes=job["sizes"],
    seeds=job["seeds"],
    epochs_per_task=job["epochs_per_task"],
    lr=job["lr"],
    batch_size=job["batch_size"],
    threads=snakemake.threads,
)
