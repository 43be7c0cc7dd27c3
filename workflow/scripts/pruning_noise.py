"""Snakemake wrapper: the pruning tickets of one vANN(D, S) under Gaussian and salt test-time noise."""

import re

from dendritic.pruning import run_pruning_noise
from dendritic.runio import setup_logging

setup_logging(snakemake.log[0])
D, S = map(int, re.fullmatch(r"D(\d+)_S(\d+)", snakemake.wildcards.pcell).groups())
run_pruning_noise(
    snakemake.config,
    snakemake.wildcards.dataset,
    D,
    S,
    snakemake.input.tickets,
    snakemake.input.data,
    snakemake.output[0],
    device=snakemake.params.device,
    threads=snakemake.threads,
)
