"""Snakemake wrapper: iterative magnitude pruning of one vANN(D, S), every seed and round."""

import re

from dendritic.pruning import run_pruning
from dendritic.runio import setup_logging

setup_logging(snakemake.log[0])
D, S = map(int, re.fullmatch(r"D(\d+)_S(\d+)", snakemake.wildcards.pcell).groups())
run_pruning(
    snakemake.config,
    snakemake.wildcards.dataset,
    D,
    S,
    snakemake.input.data,
    snakemake.output[0],
    device=snakemake.params.device,
    threads=snakemake.threads,
    data_sha256=snakemake.params.data_sha256,
)
