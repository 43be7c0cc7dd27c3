"""Snakemake wrapper: results/reproduction.md + .csv, the paper's tables and claims checked."""

from dendritic.reproduction import write_reproduction
from dendritic.runio import setup_logging

setup_logging(snakemake.log[0])
write_reproduction(
    snakemake.input.summary,
    snakemake.output.md,
    snakemake.output.csv,
    config=snakemake.params.config,
    node_stats_path=snakemake.input.get("nodes"),  # named input, when analyses run
    dataset=snakemake.params.dataset,
    table_paths={name: snakemake.input[name] for name in snakemake.params.related_tables},
)
