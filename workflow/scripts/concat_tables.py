"""Snakemake wrapper: concatenate CSV tables. With one output every input goes into it; with several,
each output gathers the inputs of its own file name (per-model tables → one table per name)."""

from pathlib import Path

from dendritic.best_models import concat_tables
from dendritic.runio import setup_logging

setup_logging(snakemake.log[0])
outputs, inputs = list(snakemake.output), list(snakemake.input)
for out in outputs:
    concat_tables(inputs if len(outputs) == 1 else [f for f in inputs if Path(f).name == Path(out).name], out)
