"""Snakemake wrapper: every finished run → results/summary.csv."""

from dendritic.runio import setup_logging

setup_logging(snakemake.log[0])  # first, so that any error below (imports too) is in the job's log

from dendritic.summary import write_summary  # noqa: E402

write_summary(snakemake.input, snakemake.output[0])
