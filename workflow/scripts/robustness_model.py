"""Snakemake wrapper: every main-experiment cell of one (dataset, model) tested on noisy test images."""
from dendritic.evaluation import run_robustness
from dendritic.runio import setup_logging

setup_logging(snakemake.log[0])
run_robustness(list(snakemake.input.weights), snakemake.input.data, snakemake.params.sigmas,
               snakemake.output[0], device=snakemake.params.device, threads=snakemake.threads)
