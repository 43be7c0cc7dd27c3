# Reproduction of Chavlis & Poirazi (2025), "Dendrites endow artificial neural networks with
# accurate, robust and parameter-efficient learning", Nat Commun 16:943.
#
#   snakemake --cores all                                # the paper's full design (config.yaml)
#   snakemake --cores all --configfile config/demo.yaml  # the README's demo
#   snakemake --report results/report.html               # figures + captions as one HTML page
#
# All logic lives in the Python package src/dendritic; the rules in workflow/rules only wire
# files together, one file per stage.

import copy
import os
import sys

from snakemake.logging import logger
from snakemake.utils import min_version

min_version("9.20")

# The library is importable from the checkout itself (no install needed for the workflow),
# also in jobs that run in their own environment (--sdm conda, cluster jobs).
_SRC = os.path.join(workflow.basedir, "src")
sys.path.insert(0, _SRC)
os.environ.update(PYTHONPATH=os.pathsep.join(filter(None, [_SRC, os.getenv("PYTHONPATH")])))

try:
    from dendritic.config import ConfigError, validate_config
except ImportError as err:
    raise WorkflowError(
        f"cannot import the 'dendritic' library ({err}): its dependencies are missing. "
        "Install the project first: `pip install -e .` in the repository root, or `make demo` "
        "(the README's Quickstart), or run with `--sdm conda`."
    )


configfile: "config.yaml"


# A design given with --configfile *replaces* config.yaml rather than extending it (Snakemake's
# default merge would let config/demo.yaml inherit every experiment of the paper's design);
# --config KEY=VALUE still overrides single keys of whichever design is in use.
if workflow.config_settings.configfiles:
    config.clear()
    config.update(copy.deepcopy(workflow.config_settings.overwrite_config))


# The one validation: values typed as the schema wants (nested --config values arrive as text,
# 1.0 where an integer is wanted becomes 1), readable errors (key, problem, allowed values), the
# schema's defaults, cross-key checks (dendritic.config.validate_config, against the schema shipped
# in the package, dendritic/schema/config.schema.yaml).
try:
    for _note in validate_config(config):
        logger.warning(f"note: {_note}")
except ConfigError as err:
    raise WorkflowError(str(err))


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/analyse.smk"
include: "workflow/rules/figures.smk"


rule all:
    default_target: True
    input:
        all_targets(),
