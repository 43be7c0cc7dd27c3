# Reproduction of Chavlis & Poirazi (2025), "Dendrites endow artificial neural networks with
# accurate, robust and parameter-efficient learning", Nat Commun 16:943.
#
#   snakemake --cores all                                # the paper's full design (config.yaml)
#   snakemake --cores all --configfile config/demo.yaml  # the README's demo
#   snakemake --report results/report.html               # figures + captions as one HTML page
#
# All logic lives in the Python package src/dendritic; the rules in workflow/rules only wire
# files together, one file per stage.

from snakemake.utils import min_version, validate

min_version("9.20")

try:
    from dendritic.config import describe_config_errors
except ImportError as err:
    raise WorkflowError(
        f"cannot import the 'dendritic' package ({err}). Install the project first: "
        "`pip install -e .` in the repository root (the README's Quickstart does it for you)."
    )


configfile: "config.yaml"


# A readable message (key, problem, allowed values) first; then snakemake's validate fills defaults.
_problems = describe_config_errors(config, f"{workflow.basedir}/workflow/schemas/config.schema.yaml")
if _problems:
    raise WorkflowError(f"invalid configuration:\n{_problems}")


validate(config, "workflow/schemas/config.schema.yaml")


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/analyse.smk"
include: "workflow/rules/figures.smk"


rule all:
    input:
        all_targets(),
    default_target: True
