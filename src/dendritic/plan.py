"""What the workflow plans from the configuration: which analyses and figures its training cells
can feed (the paper's Figs 2-7 and Supplementary Figs 1-10, and the test noise beyond it), and the
registry of those figures (:data:`FIGURES`, :func:`planned_figures`). Kept free of heavy imports
(torch, matplotlib, pandas), because the rule files import it whenever Snakemake parses the
workflow, in every job too.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from dendritic.config import PERMUTED_ADN_MODELS, deferred_experiments, expand_cells
from dendritic.imp_schedule import pruning_cells
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
ANALYSIS_TABLES = ("best_cells", "node_stats", "weight_stats", "weight_hists", "representations", "tsne")


def planned_cells(config: Mapping[str, Any]) -> list:
    """What a (validated) configuration will train: its grid cells (:class:`dendritic.config.Cell`)
    plus, for each experiment trained on the selected networks (``networks: selected``), one
    placeholder per (dataset, model) with ``experiment``, ``dataset`` and ``model``: their cells are
    known only once the main experiment has selected its networks."""
    return list(expand_cells(config)) + [
        SimpleNamespace(experiment=name, dataset=ds, model=m)
        for name in deferred_experiments(config)
        for ds in config["experiments"][name]["datasets"]
        for m in config["experiments"][name]["models"]
    ]


def noise_dataset(cells) -> str:
    """Dataset of the paper's noise and sequential experiments as Fig. 7 and claim (d) show them:
    FMNIST when the noise or sequential experiment runs on it (or when neither runs), else the
    first dataset they run on."""
    ds = sorted({c.dataset for c in cells if c.experiment in ("noise", "sequential")})
    return PRIMARY_DATASET if PRIMARY_DATASET in ds or not ds else ds[0]


# --------------------------------------------------------------------------------------------------
# the figure registry
# --------------------------------------------------------------------------------------------------
#: The permuted experiment's table (experiments.permuted; :mod:`dendritic.permuted`).
PERMUTED_TABLE = "results/permuted.csv"

#: The one table most figures read (``dendritic.summary``).
SUMMARY = "results/summary.csv"


@dataclass(frozen=True)
class Figure:
    """One figure of the workflow: ``figures/{name}.png`` and ``.pdf``, with the caption
    ``workflow/report/{name}.rst`` under ``category`` in the Snakemake report.

    ``plot`` names the drawing function as ``"module:function"``; it is called as
    ``function(input, [png, pdf], **params)`` with the parameters :func:`figure_params` gives.
    ``reads`` says what it draws from: ``(SUMMARY,)`` for the figures that share one rule (only
    ``results/summary.csv`` and their parameters), otherwise a description of the figure's own
    inputs (its explicit rule in ``workflow/rules/figures.smk``)."""

    plot: str
    category: str
    reads: tuple[str, ...] = (SUMMARY,)

    @property
    def from_summary(self) -> bool:
        """Whether the figure reads only ``results/summary.csv`` (the shared figure rule)."""
        return self.reads == (SUMMARY,)


_P = "dendritic.plots."

#: Every figure, in the paper's order (main figures, supplementary figures, then beyond the paper).
FIGURES: dict[str, Figure] = {
    "fig2": Figure(_P + "performance:plot_fig2", "Performance"),
    "fig3": Figure(_P + "efficiency:plot_fig3", "Parameter efficiency"),
    "fig4": Figure(_P + "efficiency:plot_fig4", "Parameter efficiency"),
    "fig5": Figure(
        _P + "nodes:plot_fig5",
        "Best models",
        reads=(
            "results/analysis/{node_stats,weight_hists,weight_stats,best_cells}.csv",
            "the analysis dataset's metadata",
        ),
    ),
    "fig6": Figure(
        _P + "representations:plot_fig6",
        "Best models",
        reads=("results/analysis/{tsne,representations,best_cells}.csv", "the analysis dataset's metadata"),
    ),
    "fig7": Figure(
        _P + "fig7:plot_fig7", "Robustness", reads=(SUMMARY, "the noise dataset's prepared cache (example images)")
    ),
    "suppl_fig1": Figure(_P + "examples:plot_examples", "Datasets", reads=("every prepared dataset cache",)),
    "suppl_fig2": Figure(_P + "performance:plot_curves", "Overfitting", reads=("history.csv of the curve cells",)),
    "suppl_fig3": Figure(_P + "experiments:plot_datasets", "Performance"),
    "suppl_fig4": Figure(_P + "experiments:plot_dropout", "Other experiments"),
    "suppl_fig5": Figure(_P + "experiments:plot_learning_rates", "Other experiments"),
    "suppl_fig6": Figure(_P + "experiments:plot_early_stopping", "Other experiments"),
    "suppl_fig7": Figure(_P + "performance:plot_min_val_epoch", "Overfitting"),
    "suppl_fig8": Figure(_P + "experiments:plot_depth", "Other experiments"),
    "suppl_fig9": Figure(_P + "experiments:plot_sampling_pairs", "Dendritic features"),
    "suppl_fig10": Figure(_P + "experiments:plot_sparse_pairs", "Dendritic features"),
    "ext_test_noise": Figure(_P + "test_noise:plot_test_noise", "Beyond the paper", reads=("results/test_noise.csv",)),
    "related_imp": Figure(
        _P + "related_imp:plot_related_imp",
        "Neighbouring systems",
        reads=("results/pruning.csv", "results/pruning_noise.csv", SUMMARY, "results/test_noise.csv (when run)"),
    ),
    "related_permuted": Figure(
        _P + "related_permuted:plot_related_permuted", "Neighbouring systems", reads=("results/permuted.csv",)
    ),
    "related_dac": Figure(_P + "related_dac:plot_related_dac", "Neighbouring systems"),
    "related_eg": Figure(
        _P + "related_eg:plot_related_eg",
        "Neighbouring systems",
        reads=("results/{eg_weights,eg_weight_hists,adversarial,few_shot}.csv",),
    ),
}


def analyses_planned(cells, config: Mapping[str, Any]) -> bool:
    """Whether the best-model analyses (Figs 5-6, ``results/analysis/``) run: the main experiment
    trains some model on the analysis dataset (config ``analysis.dataset``)."""
    ds = config["analysis"]["dataset"]
    return any(c.experiment == "main" and c.dataset == ds for c in cells)


def test_noise_planned(cells, config: Mapping[str, Any]) -> bool:
    """Whether the test-time noise beyond the paper runs (``results/test_noise.csv``): enabled in
    the config (``analysis.test_noise.enabled``) and some main-experiment model to test."""
    return bool(config["analysis"]["test_noise"]["enabled"]) and any(c.experiment == "main" for c in cells)


def related_tables(cells, config: Mapping[str, Any]) -> dict[str, str]:
    """The result tables of the neighbouring systems that the configuration produces, by name
    (the keys the verdict's checks read, :mod:`dendritic.reproduction.related`): ``{name: path}``."""
    tables: dict[str, str] = {}
    if pruning_cells(config):  # iterative magnitude pruning (dendritic.reproduction.related_imp)
        tables["pruning"] = "results/pruning.csv"
        tables["pruning_noise"] = "results/pruning_noise.csv"
        if test_noise_planned(cells, config):
            tables["test_noise"] = "results/test_noise.csv"
    if learning_rule_planned(cells):
        tables["eg_weights"] = "results/eg_weights.csv"
        if adversarial_planned(cells, config):
            tables["adversarial"] = "results/adversarial.csv"
        if few_shot_planned(cells, config):
            tables["few_shot"] = "results/few_shot.csv"
    if permuted_jobs(config):
        tables["permuted"] = PERMUTED_TABLE
    return tables


def permuted_jobs(config: dict[str, Any]) -> list[dict[str, Any]]:
    """The jobs of experiments.permuted (validated config): one per (dataset, T, model, context),
    each with its sizes (hidden widths, or (D, S) of a house model) and every seed."""
    exp = (config.get("experiments") or {}).get("permuted")
    if not exp:
        return []
    jobs = []
    for dataset in exp["datasets"]:
        for tasks in exp["tasks"]:
            for model in exp["models"]:
                adn = model in PERMUTED_ADN_MODELS
                contexts = exp["contexts"] if model in ("ADN", "ADN-ReLU") else ["none"]
                sizes = list(exp["hidden"]) if adn else [list(n) for n in exp["networks"][model]]
                for context in contexts:
                    jobs.append(
                        dict(
                            dataset=dataset,
                            tasks=int(tasks),
                            model=model,
                            context=context,
                            sizes=sizes,
                            seeds=list(config["seeds"]),
                            epochs_per_task=exp["epochs_per_task"],
                            lr=float(exp["lr"]),
                            batch_size=exp["batch_size"],
                        )
                    )
    return jobs


def permuted_path(job: dict[str, Any], root: str = "results/permuted") -> str:
    """The table of one permuted job: ``{root}/{dataset}/T{tasks}/{model}/{context}.csv``."""
    return f"{root}/{job['dataset']}/T{job['tasks']}/{job['model']}/{job['context']}.csv"


# --------------------------------------------------------------------------------------------------
# the learning-rule comparison (neighbouring system B: EG as the stand-in rule)
# --------------------------------------------------------------------------------------------------
def learning_rule_planned(cells) -> bool:
    """Whether the configuration trains the ``learning_rule`` experiment."""
    return any(c.experiment == "learning_rule" for c in cells)


def adversarial_planned(cells, config: Mapping[str, Any]) -> bool:
    """FGSM/PGD (``results/adversarial.csv``): enabled and the learning_rule experiment runs (it
    evaluates that experiment's cells and their main-experiment comparators)."""
    return bool(config["analysis"]["adversarial"]["enabled"]) and learning_rule_planned(cells)


def few_shot_planned(cells, config: Mapping[str, Any]) -> bool:
    """Few-shot training (``results/few_shot.csv``): enabled and the learning_rule experiment runs
    (its learning rules against adam)."""
    return bool(config["analysis"]["few_shot"]["enabled"]) and learning_rule_planned(cells)


def eg_pairs(cells) -> list[tuple[str, str]]:
    """The (dataset, model) pairs the learning_rule experiment trains: one evaluation job each."""
    return sorted({(c.dataset, c.model) for c in cells if c.experiment == "learning_rule"})


def eg_cells(cells, dataset: str, model: str) -> list:
    """The cells one evaluation job of the learning-rule comparison reads: the learning_rule cells
    of (dataset, model) and the main-experiment cells at their sizes (the adam comparators)."""
    lr = [c for c in cells if c.experiment == "learning_rule" and (c.dataset, c.model) == (dataset, model)]
    sizes = {(c.dendrites, c.somata) for c in lr}
    main = [
        c
        for c in cells
        if c.experiment == "main"
        and (c.dataset, c.model) == (dataset, model)
        and (c.dendrites, c.somata) in sizes
        and getattr(c, "layers", 1) == 1
    ]
    return main + lr


def few_shot_rules(config: Mapping[str, Any]) -> list[list[str]]:
    """The (optimizer, init) pairs of the few-shot runs: adam with the paper's Glorot init, then each
    learning rule of the learning_rule experiment with its init."""
    exp = config["experiments"].get("learning_rule") or {}
    rules = [["adam", "glorot"]] + [[o, exp.get("init", "lognormal")] for o in exp.get("optimizers", [])]
    return [list(r) for r in dict.fromkeys(tuple(r) for r in rules)]


def few_shot_pairs(cells, config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The (dataset, model) pairs of the few-shot jobs: analysis.few_shot.models on every dataset of
    the learning_rule experiment."""
    if not few_shot_planned(cells, config):
        return []
    datasets = sorted({c.dataset for c in cells if c.experiment == "learning_rule"})
    return [(d, m) for d in datasets for m in config["analysis"]["few_shot"]["models"]]


def noise_examples_dataset(cells) -> str | None:
    """The prepared dataset whose images Fig. 7 shows noisy (:func:`noise_dataset`), when the
    noise experiment runs on it; else None (Fig. 7 then draws without the example images)."""
    ds = noise_dataset(cells)
    return ds if _models(cells, "noise", ds) else None


def _models(cells, experiment, dataset=None) -> set[str]:
    return {c.model for c in cells if c.experiment == experiment and (dataset is None or c.dataset == dataset)}


def _pairs_dataset(cells, analysis_dataset: str) -> str | None:
    """The dataset of Suppl. Figs 9-10: the analysis dataset when the main experiment runs on it,
    else the first main-experiment dataset in the paper's order."""
    main_datasets = sort_datasets(c.dataset for c in cells if c.experiment == "main")
    if analysis_dataset in main_datasets:
        return analysis_dataset
    return main_datasets[0] if main_datasets else None


def figure_params(
    cells, config: Mapping[str, Any], fig2_models: Sequence[str] = FIG3_MODELS
) -> dict[str, dict[str, Any]]:
    """The keyword parameters of every figure's plotting function (:data:`FIGURES`), planned or
    not (a figure asked for by name still draws with them). ``cells``: the planned training cells
    (objects with ``experiment``, ``dataset`` and ``model``); ``fig2_models``: the models of
    Fig. 2 (and of the figures that compare the same models)."""
    cells = list(cells)
    models = list(fig2_models)
    pairs_ds = _pairs_dataset(cells, config["analysis"]["dataset"]) or PRIMARY_DATASET
    params: dict[str, dict[str, Any]] = {name: {} for name in FIGURES}
    for name in ("fig2", "fig3", "suppl_fig3", "suppl_fig4", "suppl_fig7", "ext_test_noise"):
        params[name] = {"models": models}
    params["suppl_fig5"] = {"curve_models": models}
    params["fig7"] = {"dataset": noise_dataset(cells), "selection": config["analysis"]["selection"]}
    params["suppl_fig9"] = {"dataset": pairs_ds}
    params["suppl_fig10"] = {"dataset": pairs_ds}
    params["related_imp"] = {}
    dac_ds = sort_datasets(c.dataset for c in cells if c.experiment == "dac")
    params["related_dac"] = {"dataset": PRIMARY_DATASET if PRIMARY_DATASET in dac_ds or not dac_ds else dac_ds[0]}
    return params


def planned_figures(
    cells, config: Mapping[str, Any], fig2_models: Sequence[str] = FIG3_MODELS
) -> dict[str, dict[str, Any]]:
    """The figures the workflow draws (its figure targets), each with its parameters
    (:func:`figure_params`), in the order of :data:`FIGURES`. ``cells``: what the configuration
    will train, the grid cells plus the ``networks: selected`` experiments as placeholders (objects
    with ``experiment``, ``dataset`` and ``model``).

    A figure is left out when nothing it shows is run. Suppl. Fig. 1 (the datasets) is always
    drawn; Fig. 2 and Suppl. Figs 2, 7 need a Fig. 2 model in the main experiment on FMNIST;
    Fig. 3 vANN and another Fig. 2 model in the main experiment; Fig. 4 a complete sampling pair
    (on one dataset); Figs 5-6 the analyses (:func:`analyses_planned`); Fig. 7 the noise or the
    sequential experiment on :func:`noise_dataset`; Suppl. Fig. 3 a Fig. 2 model on a dataset
    other than FMNIST; Suppl. Figs 4, 5, 6, 8 their experiment; Suppl. Figs 9-10 a complete
    sampling or sparse pair on their dataset; the test-noise figure the test noise
    (:func:`test_noise_planned`); the DAC figure the ``dac`` experiment.
    """
    cells = list(cells)
    fig2 = set(fig2_models)
    main = _models(cells, "main")
    main_datasets = sort_datasets(c.dataset for c in cells if c.experiment == "main")
    pairs_ds = _pairs_dataset(cells, config["analysis"]["dataset"])

    def has_pair(pairs, datasets):
        return any({a, b} <= _models(cells, "main", d) for d in datasets for _, a, b in pairs)

    noise_ds = noise_dataset(cells)
    wanted = {
        "fig2": bool(_models(cells, "main", PRIMARY_DATASET) & fig2),
        "fig3": "vANN" in main and len(main & fig2) >= 2,
        "fig4": has_pair(SAMPLING_PAIRS, main_datasets),
        "fig5": analyses_planned(cells, config),
        "fig6": analyses_planned(cells, config),
        "fig7": bool(_models(cells, "noise", noise_ds) or _models(cells, "sequential", noise_ds)),
        "suppl_fig1": True,
        "suppl_fig2": bool(_models(cells, "main", PRIMARY_DATASET) & fig2),
        "suppl_fig3": any(c.experiment == "main" and c.model in fig2 and c.dataset != PRIMARY_DATASET for c in cells),
        "suppl_fig4": bool(_models(cells, "dropout")),
        "suppl_fig5": bool(_models(cells, "learning_rate")),
        "suppl_fig6": bool(_models(cells, "early_stopping")),
        "suppl_fig7": bool(_models(cells, "main", PRIMARY_DATASET) & fig2),
        "suppl_fig8": bool(_models(cells, "depth")),
        "suppl_fig9": bool(pairs_ds) and has_pair(SAMPLING_PAIRS, [pairs_ds]),
        "suppl_fig10": bool(pairs_ds) and has_pair(SPARSE_PAIRS, [pairs_ds]),
        "ext_test_noise": test_noise_planned(cells, config),
        "related_imp": bool(pruning_cells(config)),
        "related_permuted": bool(permuted_jobs(config)),
        "related_dac": bool(_models(cells, "dac")),
        "related_eg": learning_rule_planned(cells),
    }
    params = figure_params(cells, config, fig2_models)
    return {name: params[name] for name in FIGURES if wanted[name]}


def read_selected_networks(path) -> dict[str, list[tuple[int, int]]]:
    """``{model: [(D, S), ...]}`` from a selection table (``results/selection/{dataset}.csv``):
    each model's selected networks (one per selection rule, without repeats)."""
    out: dict[str, list[tuple[int, int]]] = {}
    with open(path, newline="") as fh:
        for row in csv.DictReader(fh):
            net = (int(row["dendrites"]), int(row["somata"]))
            if net not in out.setdefault(row["model"], []):
                out[row["model"]].append(net)
    return out
