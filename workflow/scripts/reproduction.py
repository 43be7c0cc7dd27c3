"""Snakemake wrapper: results/reproduction.md + .csv, the paper's tables and claims checked."""
from dendritic.reproduction import write_reproduction
from dendritic.runio import setup_logging

setup_logging(snakemake.log[0])
nodes = snakemake.input.get("nodes")  # the node table, when the config enables the analyses
write_reproduction(snakemake.input.summary, snakemake.output.md, snakemake.output.csv,
                   config=snakemake.params.config,
                   node_stats_path=nodes if isinstance(nodes, str) else (nodes[0] if nodes else None),
                   dataset=snakemake.params.dataset)
