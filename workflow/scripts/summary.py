"""Snakemake wrapper: every finished run → results/summary.csv."""
from dendritic.runio import setup_logging
from dendritic.summary import write_summary

setup_logging(snakemake.log[0])
write_summary(snakemake.input, snakemake.output[0])
