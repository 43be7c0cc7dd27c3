"""Snakemake wrapper: every main-experiment cell of one (dataset, model) tested on noisy test images."""

from dendritic.runio import setup_logging
from dendritic.test_noise import run_test_noise

setup_logging(snakemake.log[0])
run_test_noise(
    list(snakemake.input.weights),
    snakemake.input.data,
    snakemake.params.sigmas,
    snakemake.output[0],
    device=snakemake.params.device,
    threads=snakemake.threads,
    kinds=snakemake.params.kinds,
    salt_fractions=snakemake.params.salt_fractions,
)
