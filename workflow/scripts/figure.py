"""Snakemake wrapper: one figure of the registry (dendritic.plan.FIGURES) drawn from one table.

The rule gives the plotting function as ``params.plot`` ("module:function") and its keyword
arguments as ``params.kwargs``; the function is called as ``function(input, [png, pdf], **kwargs)``.
"""

import importlib

from dendritic.runio import setup_logging

setup_logging(snakemake.log[0])
module, function = snakemake.params.plot.split(":")
plot = getattr(importlib.import_module(module), function)
plot(snakemake.input[0], [snakemake.output.png, snakemake.output.pdf], **snakemake.params.kwargs)
