"""What the workflow plans from the configuration: which analyses and figures its training cells
can feed. Kept free of heavy imports (torch, matplotlib, pandas), because the rule files import it
whenever Snakemake parses the workflow, in every job too.
"""

from __future__ import annotations

from typing import Sequence

from dendritic.paper import (  # noqa: F401  (importable from here while the figure plan moves)
    DATASET_ORDER,
    FIG2_MODELS,
    PRIMARY_DATASET,
    SAMPLING_PAIRS,
    SPARSE_PAIRS,
    sort_datasets,
)

#: The models of Figs 2-3 (:data:`dendritic.paper.FIG2_MODELS`), under its former name.
FIG3_MODELS = FIG2_MODELS

#: Tables of the best-model analyses (Fig. 5, 6), one CSV each under ``results/analysis/``.
ANALYSIS_TABLES = ("best_cells", "node_stats", "weight_stats", "weight_hists", "representations",
                   "tsne")


def robustness_dataset(cells) -> str:
    """Dataset of Fig. 7 and claim (d): FMNIST when the noise or sequential experiment runs on it
    (or when neither runs), else the first dataset they run on."""
    ds = sorted({c.dataset for c in cells if c.experiment in ("noise", "sequential")})
    return PRIMARY_DATASET if PRIMARY_DATASET in ds or not ds else ds[0]


def summary_figure_plan(cells, analysis_dataset: str = PRIMARY_DATASET,
                        fig2_models: Sequence[str] = FIG3_MODELS) -> dict[str, dict]:
    """The summary figures whose inputs the configuration's training ``cells`` (objects with
    ``experiment``, ``dataset`` and ``model``) provide, each with the parameters its rule needs.

    A figure is left out when nothing it shows is run: Fig. 3 needs vANN and another Fig. 2 model in
    the main experiment; Fig. 4 / Suppl. Figs 9-10 a complete model pair; Fig. 7 the noise or the
    sequential experiment; Suppl. Fig. 3 a Fig. 2 model on a dataset other than FMNIST; Suppl.
    Figs 4, 5, 6, 8 their experiment.
    """
    cells = list(cells)

    def models(experiment, dataset=None):
        return {c.model for c in cells if c.experiment == experiment and (dataset is None or c.dataset == dataset)}

    main_datasets = sort_datasets(c.dataset for c in cells if c.experiment == "main")
    pairs_ds = analysis_dataset if analysis_dataset in main_datasets else (main_datasets[0] if main_datasets else None)

    def has_pair(pairs, datasets):
        return any({a, b} <= models("main", d) for d in datasets for _, a, b in pairs)

    plan: dict[str, dict] = {}
    main = models("main")
    if "vANN" in main and len(main & set(fig2_models)) >= 2:
        plan["fig3"] = {}
    if has_pair(SAMPLING_PAIRS, main_datasets):
        plan["fig4"] = {}
    robust = robustness_dataset(cells)
    if models("noise", robust) or models("sequential", robust):
        plan["fig7"] = {"dataset": robust, "prepared": [robust] if models("noise", robust) else []}
    if any(c.experiment == "main" and c.model in fig2_models and c.dataset != PRIMARY_DATASET for c in cells):
        plan["suppl_fig3"] = {}
    for name, experiment in (("suppl_fig4", "dropout"), ("suppl_fig5", "learning_rate"),
                             ("suppl_fig6", "early_stopping"), ("suppl_fig8", "depth")):
        if models(experiment):
            plan[name] = {}
    if pairs_ds and has_pair(SAMPLING_PAIRS, [pairs_ds]):
        plan["suppl_fig9"] = {"dataset": pairs_ds}
    if pairs_ds and has_pair(SPARSE_PAIRS, [pairs_ds]):
        plan["suppl_fig10"] = {"dataset": pairs_ds}
    return plan


def read_selected_networks(path) -> dict[str, list[tuple[int, int]]]:
    """``{model: [(D, S), ...]}`` from a selection table (``results/selection/{dataset}.csv``):
    each model's selected networks (one per selection rule, without repeats)."""
    import csv

    out: dict[str, list[tuple[int, int]]] = {}
    with open(path, newline="") as fh:
        for row in csv.DictReader(fh):
            net = (int(row["dendrites"]), int(row["somata"]))
            if net not in out.setdefault(row["model"], []):
                out[row["model"]].append(net)
    return out
