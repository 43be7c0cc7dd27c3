"""The reproduction verdict: this pipeline's numbers next to the paper's, and the paper's claims
checked one by one, each check with the number that decides it, or with what the run would need
to decide it.

Input: ``results/summary.csv`` (one row per run, see ``docs/ARCHITECTURE.md``), the workflow's
configuration (for the scale of the run) and, optionally, the per-node table of the node analyses
(``results/analysis/node_stats.csv``). Output: a readable Markdown report and one tidy CSV
(:func:`write_reproduction`, columns :data:`CSV_COLUMNS`).

Every check ends in one of three statuses:

* ``reproduced`` - the run had everything the check needs and the paper's claim holds;
* ``not reproduced`` - the run had everything the check needs and the claim fails;
* ``inconclusive`` - the run is short of something the check needs (too few epochs, seeds or
  sizes, a reference optimum at the edge of the sizes tried, missing noise cells, …); the
  ``missing`` column names it and the remedy. A short run is never counted against the paper.

Each check's ``needs`` column states its requirements. Common to all: the runs that decide it
were trained for at least the paper's epochs (:data:`PAPER_DESIGN`: FMNIST 25, the sequential
task 50) and every configuration that decides it has at least :data:`MIN_SEEDS` non-diverged
seeds (the paper has 5); diverged runs are left out of every mean and counted in ``detail``.
Every number comes from :mod:`dendritic.analysis`, the functions the figures call too
(:func:`~dendritic.analysis.select_networks` for the networks of Table 2 and claims (c), (d);
:func:`~dendritic.analysis.noise_runs` / :func:`~dendritic.analysis.sequential_runs` and
:func:`~dendritic.analysis.efficiency_table` for Fig. 7), so the report and the figures never
disagree. This module imports neither matplotlib nor :mod:`dendritic.plots`.

The claims (paper, Results and Discussion; reference numbers in Tables 1-2):

(a) *dANNs reach vANN's best accuracy and minimum loss with one to three orders of magnitude fewer
    parameters (dANN-LRF: more than 10× fewer on FMNIST).* Per dataset of the main experiment,
    dANN with sampled inputs (dANN-R, -LRF, -GRF; pdANN's smallest network is as large as
    vANN's smallest, see :data:`CLAIM_A_MODELS`) and metric: the fold = parameters of vANN's
    best / parameters of the first configuration (D ascending, then S) that beats it
    (:func:`~dendritic.analysis.match_vann`). Reproduced when fold ≥ 10. Needs vANN's best to be
    established: not at the largest (smallest) vANN size the run tried, unless that size is the
    paper's largest (smallest), D = 64, S = 512 (D = 1, S = 32); else vANN may still improve
    beyond the sizes tried. A fold < 10 is "not reproduced" only when the run tried every size of
    the paper's grid that comes before the match in the scan; a dANN that never matches is "not
    reproduced" only when its sizes reach the paper's largest.
(b) *vANN's test loss grows with size, the dANNs' does not.* Spearman ρ (two-sided p) between the
    trainable parameters and the test loss over all finite runs of a model. vANN: reproduced when
    ρ > 0 and p < 0.05; each dANN: reproduced unless it grows that way. Needs ≥ 4 sizes spanning
    ≥ 10× in parameters.
(c) *dANN nodes are mostly mixed-selective, vANN nodes mostly class-specific* (Fig. 5: dANN-R,
    -LRF, -GRF, vANN). Shares over the nodes with selectivity index ≥ 1 of all hidden layers
    (never-active and SI = 0 nodes left out and counted): dANN mixed (SI ≥ 2) share > 0.5, vANN
    class-specific (SI = 1) share > 0.5. Needs the node table of the paper's networks
    (``analysis.selection: paper``) and a determined selection (vANN's best accuracy established;
    a dANN that never matched tried up to the paper's largest size).
(d) *dANN-LRF is the best model under noise and in the sequential task* (Fig. 7b, Table 2:
    dANN-R, -LRF, -GRF, vANN only; other models run are reported, never ranked). At every σ of
    the noise experiment dANN-LRF must have the highest accuracy efficiency and the lowest loss
    efficiency, f normalised over the four models' rows at every σ (σ = 0: the clean runs); in
    the sequential task the highest mean test accuracy and the lowest mean test loss. All on the
    paper's networks, fixed from the clean main experiment and looked up in the noise (every σ)
    and sequential runs. Needs those runs at each selected (D, S) and a determined selection.

A claim's overall status: ``not reproduced`` if any of its checks is, else ``inconclusive`` if any
is, else ``reproduced``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from dendritic.analysis import (PAPER_COMPARED, REASON_FALLBACK, aggregate_seeds, best_models,
                                efficiency_table, match_vann, missing_cells, noise_runs,
                                select_networks, selectivity_shares, sequential_runs, spearman)

REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE = "reproduced", "not reproduced", "inconclusive"
#: The statuses of a claim check.
STATUSES = (REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE)
#: The statuses of a table cell (Tables 1, 2): compared with the paper, or no runs for it.
COMPARED, NOT_RUN = "compared", "not run"

#: The dendritic models of claim (b) and Table 1 (Fig. 2, 3); vANN is the reference.
DANNS = ["dANN-R", "dANN-LRF", "dANN-GRF", "pdANN"]
#: Claim (a)'s models: the dANNs with sampled inputs. pdANN (every input on every dendrite) is left
#: out: its smallest network (D = 1, S = 32: 25,514 parameters on FMNIST) is already 96 % of vANN's
#: smallest (26,506), so "one to three orders of magnitude fewer" cannot be about it; Fig. 3 still
#: shows it.
CLAIM_A_MODELS = ["dANN-R", "dANN-LRF", "dANN-GRF"]
TABLE_MODELS = DANNS + ["vANN"]
#: The models the paper compares on its selected networks (Fig. 5, Fig. 7b, Table 2).
COMPARED_MODELS = list(PAPER_COMPARED)
DATASETS = ["mnist", "fmnist", "kmnist", "emnist", "cifar10"]
TITLES = {"mnist": "MNIST", "fmnist": "FMNIST", "kmnist": "KMNIST", "emnist": "EMNIST", "cifar10": "CIFAR-10"}

#: Significance level of the Spearman test in claim (b).
ALPHA = 0.05
#: Non-diverged seeds every deciding configuration needs (the paper has 5).
MIN_SEEDS = 3
#: Claim (b): sizes per model, and the span of their parameter counts (largest / smallest).
MIN_SIZES, MIN_SPAN = 4, 10.0
#: Claim (a): "one to three orders of magnitude fewer parameters" (dANN-LRF on FMNIST: > 10×).
FOLD = 10.0
#: Claims (c), (d): a share above this is "mostly".
MOSTLY = 0.5

# --------------------------------------------------------------------------------------------------
# The paper's numbers.
# Source: S. Chavlis & P. Poirazi, "Dendrites endow artificial neural networks with accurate, robust
# and parameter-efficient learning", Nat Commun 16, 943 (2025), Table 1 (best-accuracy models, mean
# over 5 trials) and Table 2 (sequential Fashion-MNIST), as transcribed in shared/spec/paper.md §6.
# --------------------------------------------------------------------------------------------------
_T1_ACC = {  # test accuracy (%), columns MNIST, FMNIST, KMNIST, EMNIST, CIFAR-10
    "dANN-R": (98.090, 89.612, 91.076, 82.745, 52.458),
    "dANN-LRF": (98.466, 90.256, 91.928, 83.166, 56.966),
    "dANN-GRF": (98.576, 90.182, 90.046, 83.779, 56.998),
    "pdANN": (98.466, 90.184, 90.610, 84.121, 60.120),
    "vANN": (98.034, 89.288, 91.552, 83.381, 49.082),
}
_T1_LOSS = {  # test loss, same columns
    "dANN-R": (0.0644, 0.3245, 0.5068, 1.0591, 1.4612),
    "dANN-LRF": (0.0483, 0.2975, 0.4374, 0.6105, 1.2684),
    "dANN-GRF": (0.0471, 0.2947, 0.5757, 0.5605, 1.3398),
    "pdANN": (0.0503, 0.2935, 0.4789, 0.5390, 1.2811),
    "vANN": (0.0967, 0.4040, 0.8246, 2.0860, 2.0455),
}
#: Table 1 as a long frame: model, dataset, test_acc_pct, test_loss.
PAPER_TABLE1 = pd.DataFrame(
    [dict(model=m, dataset=d, test_acc_pct=_T1_ACC[m][i], test_loss=_T1_LOSS[m][i])
     for m in TABLE_MODELS for i, d in enumerate(DATASETS)]
)
#: Table 2 (sequential FMNIST): model, test_acc_pct, test_acc_sd (given for vANN only), test_loss.
PAPER_TABLE2 = pd.DataFrame(
    [
        dict(model="dANN-R", test_acc_pct=56.83, test_acc_sd=np.nan, test_loss=3.39),
        dict(model="dANN-LRF", test_acc_pct=59.66, test_acc_sd=np.nan, test_loss=1.65),
        dict(model="dANN-GRF", test_acc_pct=59.35, test_acc_sd=np.nan, test_loss=1.80),
        dict(model="vANN", test_acc_pct=28.46, test_acc_sd=9.50, test_loss=313.5),
    ]
)
#: The paper's design (spec §2-3), to state how far a configuration is from it.
PAPER_DESIGN: dict[str, Any] = {
    "seeds": 5,
    "epochs": {"mnist": 15, "fmnist": 25, "kmnist": 25, "emnist": 50, "cifar10": 50},
    "dendrites": [1, 2, 4, 8, 16, 32, 64],
    "somata": [32, 64, 128, 256, 512],
    "experiments": {
        "main": dict(datasets=DATASETS, n_models=12),
        "dropout": dict(datasets=["fmnist"], rates=[0.2, 0.5, 0.8]),
        "learning_rate": dict(datasets=["fmnist"], rates=[0.01, 0.0001], n_models=12),
        "early_stopping": dict(datasets=["fmnist", "cifar10"], max_epochs=100, patience=10),
        "depth": dict(datasets=["fmnist"], layers=[2, 3, 4], dendrites=[8, 16, 32], somata=[256]),
        "noise": dict(datasets=["fmnist"], sigmas=[0.25, 0.5, 0.75, 1.0]),
        "sequential": dict(datasets=["fmnist"], epochs=50),
    },
}

PAPER_LARGEST = (max(PAPER_DESIGN["dendrites"]), max(PAPER_DESIGN["somata"]))
PAPER_SMALLEST = (min(PAPER_DESIGN["dendrites"]), min(PAPER_DESIGN["somata"]))
#: Epochs of the sequential task in the paper.
SEQUENTIAL_EPOCHS = PAPER_DESIGN["experiments"]["sequential"]["epochs"]

#: Separator of the requirements in the ``missing`` column.
MISSING_SEP = " | "

#: Columns of the CSV: one row per table cell (section "Table 1" / "Table 2") or claim check
#: (section "claim"; ``check`` "overall" for a claim's overall status).
CSV_COLUMNS = ["section", "claim", "check", "dataset", "model", "status", "value", "paper", "difference",
               "criterion", "needs", "missing", "detail"]


# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------
def _title(d: str) -> str:
    return TITLES.get(d, d)


def _finite(x) -> bool:
    try:
        return x is not None and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def _fmt(x, spec: str = ".3g") -> str:
    return format(float(x), spec) if _finite(x) else "–"


def _fmt_params(n) -> str:
    if not _finite(n):
        return "–"
    n = float(n)
    for div, suffix in ((1e6, "M"), (1e3, "k")):
        if n >= div:
            return f"{n / div:.3g}{suffix}"
    return f"{n:.0f}"


def _p_txt(p) -> str:
    return "–" if not _finite(p) else ("< 1e-12" if p < 1e-12 else f"= {p:.2g}")


def _fmt_metric(metric: str, v) -> str:
    return f"{100 * float(v):.2f}%" if metric == "test_acc" else _fmt(v, ".4g")


def _ds(r) -> str:
    """'D=4, S=128' of a row with ``dendrites`` and ``somata``."""
    return f"D={int(r['dendrites'])}, S={int(r['somata'])}"


def _model_key(m: str):
    order = TABLE_MODELS + ["vANN-R", "vANN-LRF", "vANN-GRF", "sANN", "sANN-LRF", "sANN-GRF", "psANN"]
    return (order.index(m) if m in order else 99, m)


def _datasets(df: pd.DataFrame) -> list[str]:
    have = set(df["dataset"])
    return [d for d in DATASETS if d in have] + sorted(have - set(DATASETS))


def _experiment(df: pd.DataFrame, experiment: str, dataset: str | None = None) -> pd.DataFrame:
    sel = df[df["experiment"] == experiment]
    return sel if dataset is None else sel[sel["dataset"] == dataset]


def _main(df: pd.DataFrame, dataset: str | None = None) -> pd.DataFrame:
    return _experiment(df, "main", dataset)


def _aggregate(df: pd.DataFrame) -> pd.DataFrame:
    return aggregate_seeds(df) if len(df) else pd.DataFrame()


def _diverged(df: pd.DataFrame) -> pd.Series:
    if "diverged" not in df:
        return pd.Series(False, index=df.index)
    return df["diverged"].astype(str).str.strip().str.lower().isin(["true", "1", "1.0"])


def _table_row(section: str, dataset: str, model: str, quantity: str, value=np.nan, paper=np.nan,
               status: str = COMPARED, detail: str = "") -> dict:
    diff = float(value) - float(paper) if _finite(value) and _finite(paper) else np.nan
    return dict(section=section, claim="", check=quantity, dataset=dataset, model=model, status=status,
                value=value, paper=paper, difference=diff, criterion="", needs="", missing="", detail=detail)


def _check(claim: str, check: str, dataset: str, model: str, decided: str | None, missing: Sequence[str],
           needs: str, criterion: str, value=np.nan, paper=np.nan, detail: str = "") -> dict:
    """One claim check: ``inconclusive`` when anything in ``missing``, else ``decided``."""
    missing = [m for m in dict.fromkeys(missing) if m]
    status = INCONCLUSIVE if missing or decided is None else decided
    diff = float(value) - float(paper) if _finite(value) and _finite(paper) else np.nan
    return dict(section="claim", claim=claim, check=check, dataset=dataset, model=model, status=status,
                value=value, paper=paper, difference=diff, criterion=criterion, needs=needs,
                missing=MISSING_SEP.join(missing), detail=detail)


def overall(statuses) -> str:
    """A claim's status from its checks' (module docstring): any not reproduced → not reproduced;
    else any inconclusive (or no check at all) → inconclusive; else reproduced."""
    st = list(statuses)
    if NOT_REPRODUCED in st:
        return NOT_REPRODUCED
    if not st or INCONCLUSIVE in st:
        return INCONCLUSIVE
    return REPRODUCED


# --------------------------------------------------------------------------------------------------
# what a check needs
# --------------------------------------------------------------------------------------------------
def _epochs_missing(runs: pd.DataFrame, required: int, what: str, key: str) -> list[str]:
    """The runs were trained for fewer epochs than the paper's ``required`` (planned epochs:
    ``max_epochs``, else ``epochs``)."""
    col = next((c for c in ("max_epochs", "epochs") if c in runs and runs[c].notna().any()), None)
    if runs.empty or col is None:
        return []
    got = int(runs[col].min())
    if got >= required:
        return []
    return [f"{what} at the paper's {required} epochs (this run: {got}): set {key}: {required}"]


def _main_epochs_missing(runs: pd.DataFrame, dataset: str) -> list[str]:
    need = PAPER_DESIGN["epochs"].get(dataset)
    return _epochs_missing(runs, need, f"{_title(dataset)} runs", f"training.epochs.{dataset}") if need else []


def _seeds_missing(agg_rows: pd.DataFrame, what: str) -> list[str]:
    """Deciding configurations with fewer than :data:`MIN_SEEDS` non-diverged seeds."""
    if agg_rows.empty or "n" not in agg_rows:
        return []
    low = agg_rows[agg_rows["n"] < MIN_SEEDS]
    if low.empty:
        return []
    cells = ", ".join(f"{r['model']} {_ds(r)}: {int(r['n'])}" for r in low.to_dict("records"))
    return [f"≥ {MIN_SEEDS} non-diverged seeds for {what} (paper: {PAPER_DESIGN['seeds']}, this run: {cells}): "
            "add seeds"]


def _n_diverged_txt(agg_rows: pd.DataFrame) -> str:
    k = int(agg_rows["n_diverged"].sum()) if "n_diverged" in agg_rows and len(agg_rows) else 0
    return f"; {k} diverged run{'s' if k != 1 else ''} left out" if k else ""


def _is_at(r, size: tuple[int, int], larger: bool) -> bool:
    d, s = int(r["dendrites"]), int(r["somata"])
    return (d >= size[0] and s >= size[1]) if larger else (d <= size[0] and s <= size[1])


def _reference_missing(vann: pd.DataFrame, metric: str, role: str = "") -> list[str]:
    """vANN's best ``metric`` must be established within the sizes the run tried: not at its
    largest (smallest) size unless that size is the paper's largest (smallest). ``role``: what
    the reference is for, said in the message."""
    col = f"{metric}_mean"
    a = vann[vann[col].notna()]
    if a.empty:
        return ["finite vANN main runs (all diverged)"]
    ref = best_models(a, metric, by=[c for c in ("dataset", "model") if c in a]).iloc[0]
    what = "best mean accuracy" if metric == "test_acc" else "lowest mean loss"
    out = []
    for larger, edge, paper in ((True, "largest", PAPER_LARGEST), (False, "smallest", PAPER_SMALLEST)):
        r = a.loc[a["n_params"].astype(float).idxmax() if larger else a["n_params"].astype(float).idxmin()]
        if (int(r["dendrites"]), int(r["somata"])) == (int(ref["dendrites"]), int(ref["somata"])) \
                and not _is_at(r, paper, larger):
            out.append(f"vANN's {what}{role} inside the sizes tried: it is at the {edge} vANN size the run tried "
                       f"({_ds(r)}), so vANN may still improve beyond it: extend the grid towards "
                       f"D={paper[0]}, S={paper[1]}")
    return out


def _selection_missing(df: pd.DataFrame, dataset: str, selected: pd.DataFrame, model: str) -> list[str]:
    """What keeps ``model``'s selected network from being the paper's network: vANN's best accuracy
    (the reference of the match) not established, or a dANN that never matched without reaching
    the paper's largest size."""
    main = _main(df, dataset)
    agg = _aggregate(main)
    if agg.empty or not (agg["model"] == "vANN").any():
        return [f"vANN main runs on {_title(dataset)} (the reference that fixes the paper's networks)"]
    out = _reference_missing(agg[agg["model"] == "vANN"], "test_acc", " (which fixes the paper's networks)")
    s = selected[selected["model"] == model]
    if s.empty:
        return out + [f"{model} main runs on {_title(dataset)}"]
    s = s.iloc[0]
    if s["reason"] == REASON_FALLBACK and s["match_status"] == "never matched":
        a = agg[(agg["model"] == model) & agg["test_acc_mean"].notna()]
        top = a.loc[a["n_params"].astype(float).idxmax()]
        if not _is_at(top, PAPER_LARGEST, True):
            out.append(f"{model} never beat vANN's best mean accuracy within the sizes tried (largest {_ds(top)}), "
                       f"so its paper network is not determined: extend the grid towards "
                       f"D={PAPER_LARGEST[0]}, S={PAPER_LARGEST[1]}")
    return out


def _preceding_untried(tried: set[tuple[int, int]], match: tuple[int, int]) -> list[tuple[int, int]]:
    """The paper's grid sizes that come before ``match`` in the scan (D ascending, then S) and
    that the run did not try."""
    dm, sm = match
    before = [(d, s) for d in PAPER_DESIGN["dendrites"] for s in PAPER_DESIGN["somata"]
              if d < dm or (d == dm and s < sm)]
    return [c for c in before if c not in tried]


# --------------------------------------------------------------------------------------------------
# Tables 1 and 2
# --------------------------------------------------------------------------------------------------
def table1(df: pd.DataFrame) -> pd.DataFrame:
    """Table 1: per dataset and model, the best-accuracy configuration of the main experiment
    (highest mean test accuracy over seeds): its mean test accuracy (%) and mean test loss, next to
    the paper's. Rows for every (model, dataset) of the paper's table; ``status`` is "not run"
    where the summary has no such runs."""
    agg = _aggregate(_main(df))
    best = best_models(agg, "test_acc") if len(agg) else agg
    rows = []
    for _, ref in PAPER_TABLE1.iterrows():
        m, d = ref["model"], ref["dataset"]
        b = best[(best["model"] == m) & (best["dataset"] == d)] if len(best) else best
        if b is None or b.empty:
            for q, pv in (("test accuracy (%)", ref["test_acc_pct"]), ("test loss", ref["test_loss"])):
                rows.append(_table_row("Table 1", d, m, q, paper=pv, status=NOT_RUN,
                                       detail="no main-experiment runs"))
            continue
        b = b.iloc[0]
        detail = (f"best-accuracy configuration {_ds(b)}, {int(b['n_params'])} parameters, {int(b['n'])} seeds"
                  + _n_diverged_txt(b.to_frame().T))
        rows.append(_table_row("Table 1", d, m, "test accuracy (%)", 100 * b["test_acc_mean"],
                               ref["test_acc_pct"], detail=detail))
        rows.append(_table_row("Table 1", d, m, "test loss", b["test_loss_mean"], ref["test_loss"], detail=detail))
    return pd.DataFrame(rows, columns=CSV_COLUMNS)


def table2(df: pd.DataFrame, dataset: str = "fmnist") -> pd.DataFrame:
    """Table 2: the sequential task on the paper's networks: each model's network is fixed from the
    clean main experiment (:func:`~dendritic.analysis.select_networks`, selection "paper") and
    looked up in the sequential runs; mean test accuracy (%) and mean test loss (SD over seeds in
    ``detail``) next to the paper's. Models run but not in the paper's table are listed without a
    paper value."""
    seq = _experiment(df, "sequential", dataset)
    selected = select_networks(df, dataset, "paper")
    runs = sequential_runs(df, dataset, selected, models=None) if len(seq) and len(selected) else seq.iloc[:0]
    agg = _aggregate(runs)
    extra = sorted(set(seq["model"]) - set(PAPER_TABLE2["model"]), key=_model_key)
    refs = pd.concat([PAPER_TABLE2, pd.DataFrame({"model": extra})], ignore_index=True)
    rows = []
    for _, ref in refs.iterrows():
        m = ref["model"]
        s = selected[selected["model"] == m]
        where = f"its network {_ds(s.iloc[0])} ({s.iloc[0]['reason']})" if len(s) else ""
        b = agg[agg["model"] == m] if len(agg) else agg
        if seq.empty or b.empty:
            why = ("no sequential-task runs" if seq.empty else f"no sequential runs at {where}" if where
                   else "no main runs to fix its network from")
            for q, pv in (("test accuracy (%)", ref["test_acc_pct"]), ("test loss", ref["test_loss"])):
                rows.append(_table_row("Table 2", dataset, m, q, paper=pv, status=NOT_RUN, detail=why))
            continue
        b = b.iloc[0]
        cfg = f"{where}, {int(b['n_params'])} parameters, {int(b['n'])} seeds" + _n_diverged_txt(b.to_frame().T)
        rows.append(_table_row("Table 2", dataset, m, "test accuracy (%)", 100 * b["test_acc_mean"],
                               ref["test_acc_pct"],
                               detail=f"± {_fmt(100 * b['test_acc_std'], '.2f')} (SD over seeds); {cfg}"))
        rows.append(_table_row("Table 2", dataset, m, "test loss", b["test_loss_mean"], ref["test_loss"],
                               detail=f"± {_fmt(b['test_loss_std'], '.3g')} (SD over seeds); {cfg}"))
    return pd.DataFrame(rows, columns=CSV_COLUMNS)


# --------------------------------------------------------------------------------------------------
# Claims
# --------------------------------------------------------------------------------------------------
_METRIC_NAME = {"test_acc": "best accuracy", "test_loss": "minimum loss"}


def claim_a(df: pd.DataFrame) -> pd.DataFrame:
    """(a) parameters each dANN needs to beat vANN's best accuracy / minimum loss (module
    docstring): fold fewer, decided against ≥ 10×."""
    main = _main(df)
    rows = []
    for d in _datasets(main):
        runs = main[main["dataset"] == d]
        agg = _aggregate(runs)
        vann = agg[agg["model"] == "vANN"]
        for metric in ("test_acc", "test_loss"):
            name = _METRIC_NAME[metric]
            mv = match_vann(agg, metric) if len(vann) and vann[f"{metric}_mean"].notna().any() else None
            for m in CLAIM_A_MODELS:
                check = f"{m} reaches vANN's {name} with ≥ {FOLD:g}× fewer parameters"
                needs = (f"main runs of vANN and the dANN at the paper's epochs; ≥ {MIN_SEEDS} seeds per deciding "
                         f"configuration; vANN's {name} inside the sizes tried (or at the paper's grid edge); a "
                         f"matching configuration (a fold < {FOLD:g} counts only when the sizes before it in the "
                         f"paper's scan were tried), or sizes up to D={PAPER_LARGEST[0]}, S={PAPER_LARGEST[1]} "
                         "without one")
                criterion = f"fold = vANN-best params / match params ≥ {FOLD:g}"
                paper = FOLD
                if mv is None:
                    rows.append(_check("a", check, d, m, None, [f"vANN main runs on {_title(d)}"], needs, criterion,
                                       paper=paper))
                    continue
                mine = agg[(agg["model"] == m) & agg[f"{metric}_mean"].notna()]
                if mine.empty:
                    rows.append(_check("a", check, d, m, None, [f"{m} main runs on {_title(d)}"], needs, criterion,
                                       paper=paper))
                    continue
                r = mv[mv["model"] == m].iloc[0]
                ref_row = vann[(vann["dendrites"] == r["ref_dendrites"]) & (vann["somata"] == r["ref_somata"])]
                missing = (_main_epochs_missing(runs[runs["model"].isin(["vANN", m])], d)
                           + _reference_missing(vann, metric))
                ref_txt = (f"vANN's {name} {_fmt_metric(metric, r['ref_value'])} at D={r['ref_dendrites']}, "
                           f"S={r['ref_somata']} ({int(r['ref_n_params'])} parameters)")
                if r["status"] == "matched":
                    fold = float(r["fold_fewer"])
                    hit = mine[(mine["dendrites"] == r["dendrites"]) & (mine["somata"] == r["somata"])]
                    missing += _seeds_missing(pd.concat([ref_row, hit]), "vANN's best and the match")
                    decided = REPRODUCED if fold >= FOLD else NOT_REPRODUCED
                    if fold < FOLD:
                        tried = {(int(a), int(b)) for a, b in zip(mine["dendrites"], mine["somata"])}
                        skipped = _preceding_untried(tried, (int(r["dendrites"]), int(r["somata"])))
                        if skipped:
                            missing.append(f"the paper's sizes that come before the match in the scan (D ascending, "
                                               f"then S): the run skipped {len(skipped)} of them, e.g. "
                                           + ", ".join(f"D={a}, S={b}" for a, b in skipped[:3])
                                           + ", and one of them might match first")
                    detail = (f"first beats it at D={r['dendrites']}, S={r['somata']} "
                              f"({int(r['n_params'])} parameters, {name.split()[-1]} "
                              f"{_fmt_metric(metric, r['value'])}); {ref_txt}"
                              + _n_diverged_txt(pd.concat([ref_row, hit])))
                    rows.append(_check("a", check, d, m, decided, missing, needs, criterion, value=fold, paper=paper,
                                       detail=detail))
                else:
                    top = mine.loc[mine["n_params"].astype(float).idxmax()]
                    missing += _seeds_missing(pd.concat([ref_row, mine]), f"vANN's best and every {m} size")
                    if not _is_at(top, PAPER_LARGEST, True):
                        missing.append(f"{m} never matched within the sizes tried (largest {_ds(top)}), the paper's "
                                       f"grid reaches D={PAPER_LARGEST[0]}, S={PAPER_LARGEST[1]}: extend it")
                    rows.append(_check("a", check, d, m, NOT_REPRODUCED, missing, needs, criterion, paper=paper,
                                       detail=f"never matched: no configuration beats {ref_txt}"
                                       + _n_diverged_txt(mine)))
    return pd.DataFrame(rows, columns=CSV_COLUMNS)


def claim_b(df: pd.DataFrame) -> pd.DataFrame:
    """(b) Spearman ρ of the test loss against the parameters over all finite runs of each model."""
    main = _main(df)
    rows = []
    for d in _datasets(main):
        runs = main[main["dataset"] == d]
        for m in ["vANN"] + DANNS:
            grows_expected = m == "vANN"
            check = f"{m}'s test loss {'grows' if grows_expected else 'does not grow'} with size"
            criterion = (f"Spearman ρ > 0 and p < {ALPHA}" if grows_expected
                         else f"not (Spearman ρ > 0 and p < {ALPHA})")
            needs = (f"main runs at the paper's epochs; ≥ {MIN_SIZES} sizes spanning ≥ {MIN_SPAN:g}× in "
                     f"parameters; ≥ {MIN_SEEDS} seeds per size; no significant rise for a dANN, a significant "
                     "rise for vANN")
            r = runs[runs["model"] == m]
            if r.empty:
                rows.append(_check("b", check, d, m, None, [f"{m} main runs on {_title(d)}"], needs, criterion))
                continue
            agg = _aggregate(r)
            ok = r[~_diverged(r) & np.isfinite(r["test_loss"].astype(float))]
            sizes = sorted({float(p) for p in agg.loc[agg["n"] > 0, "n_params"]})
            span = sizes[-1] / sizes[0] if sizes else float("nan")
            missing = _main_epochs_missing(r, d) + _seeds_missing(agg, f"every {m} size")
            if len(sizes) < MIN_SIZES:
                missing.append(f"≥ {MIN_SIZES} {m} sizes (this run: {len(sizes)}; add sizes to experiments.main)")
            if not (span >= MIN_SPAN):
                missing.append(f"{m} sizes spanning ≥ {MIN_SPAN:g}× in parameters (this run: {_fmt(span, '.3g')}×)")
            rho, p = spearman(ok["n_params"].astype(float), ok["test_loss"].astype(float))
            if not _finite(rho):
                missing.append("a test loss that varies across ≥ 3 finite runs")
                decided = None
            else:
                grows = rho > 0 and p < ALPHA
                decided = REPRODUCED if grows == grows_expected else NOT_REPRODUCED
            dropped = len(r) - len(ok)
            detail = (f"ρ = {_fmt(rho, '.2f')}, p {_p_txt(p)} over {len(ok)} finite runs at {len(sizes)} sizes "
                      f"({_fmt(span, '.3g')}× span)"
                      + (f"; {dropped} diverged run{'s' if dropped != 1 else ''} left out" if dropped else ""))
            rows.append(_check("b", check, d, m, decided, missing, needs, criterion, value=rho, detail=detail))
    return pd.DataFrame(rows, columns=CSV_COLUMNS)


def _active(nodes: pd.DataFrame) -> pd.Series:
    if nodes["active"].dtype == bool:
        return nodes["active"]
    return nodes["active"].astype(str).str.strip().str.lower().isin(["true", "1", "1.0"])


def claim_c(nodes: pd.DataFrame | None, df: pd.DataFrame | None = None) -> pd.DataFrame:
    """(c) share of mixed-selective (SI ≥ 2) and class-specific (SI = 1) nodes among the nodes with
    SI ≥ 1 of the paper's networks of dANN-R, dANN-LRF, dANN-GRF and vANN (Fig. 5).

    ``df``: the summary, to check that the node table is of the paper's networks
    (:func:`~dendritic.analysis.select_networks`) and the run's epochs; without it those two
    requirements are reported missing."""
    rows = []
    crit = {m: ("class-specific (SI = 1) share of the SI ≥ 1 nodes > 0.5" if m == "vANN"
                else "mixed-selective (SI ≥ 2) share of the SI ≥ 1 nodes > 0.5") for m in COMPARED_MODELS}
    needs = ("the node table of the paper's networks (analysis.selection: paper) from main runs at the paper's "
             f"epochs with ≥ {MIN_SEEDS} seeds; vANN's best accuracy inside the sizes tried (it fixes the networks)")
    if nodes is None or nodes.empty:
        for m in COMPARED_MODELS:
            rows.append(_check("c", f"{m} nodes are mostly {'class-specific' if m == 'vANN' else 'mixed-selective'}",
                               "", m, None, ["the node analyses (results/analysis/node_stats.csv, run when "
                                             "analysis.dataset has main-experiment runs)"], needs, crit[m]))
        return pd.DataFrame(rows, columns=CSV_COLUMNS)
    nodes = nodes.assign(_active=_active(nodes).to_numpy())
    for d in sorted(set(nodes["dataset"])):
        selected = select_networks(df, d, "paper") if df is not None else pd.DataFrame()
        for m in COMPARED_MODELS:
            check = f"{m} nodes are mostly {'class-specific' if m == 'vANN' else 'mixed-selective'}"
            n = nodes[(nodes["dataset"] == d) & (nodes["model"] == m)]
            if n.empty:
                rows.append(_check("c", check, d, m, None, [f"{m} in the node table"], needs, crit[m]))
                continue
            missing = []
            net = ""
            if df is None:
                missing.append("the summary, to check that the node table is of the paper's networks")
            else:
                missing += _selection_missing(df, d, selected, m)
                missing += _main_epochs_missing(_main(df, d)[lambda x: x["model"] == m], d)
                s = selected[selected["model"] == m]
                if {"dendrites", "somata"} <= set(n.columns) and len(s):
                    s = s.iloc[0]
                    got = sorted({(int(a), int(b)) for a, b in zip(n["dendrites"], n["somata"])})
                    want = (int(s["dendrites"]), int(s["somata"]))
                    net = f"network D={want[0]}, S={want[1]} ({s['reason']})"
                    if got != [want]:
                        have = ", ".join(f"D={a}, S={b}" for a, b in got)
                        missing.append(f"the node table of {m}'s paper network D={want[0]}, S={want[1]} "
                                       f"({s['reason']}), it holds {have}: set analysis.selection: paper")
                elif len(s):
                    missing.append("dendrites and somata in the node table (to check its networks)")
            if "seed" in n and n["seed"].nunique() < MIN_SEEDS:
                missing.append(f"≥ {MIN_SEEDS} analysed seeds (this run: {n['seed'].nunique()})")
            sh = selectivity_shares(n["selectivity"].where(n["_active"]))
            value = sh["specific"] if m == "vANN" else sh["mixed"]
            if not sh["n_counted"]:
                missing.append("nodes with SI ≥ 1")
                decided = None
            else:
                decided = REPRODUCED if value > MOSTLY else NOT_REPRODUCED
            layers = "; ".join(
                f"{lay}: {_fmt(selectivity_shares(g['selectivity'].where(g['_active']))['mixed'], '.2f')} mixed"
                for lay, g in n.groupby("layer", sort=False)) if "layer" in n else ""
            detail = (f"{sh['n_counted']} of {sh['n_nodes']} nodes counted (SI ≥ 1); left out: {sh['n_never_active']} "
                      f"never active, {sh['n_si0']} with SI = 0; mixed {_fmt(sh['mixed'], '.2f')}, class-specific "
                      f"{_fmt(sh['specific'], '.2f')}" + (f" ({layers})" if layers else "")
                      + (f"; {net}" if net else ""))
            rows.append(_check("c", check, d, m, decided, missing, needs, crit[m], value=value, detail=detail))
    return pd.DataFrame(rows, columns=CSV_COLUMNS)


def _rank(table: pd.DataFrame, col: str, higher: bool, scale: float = 1.0) -> tuple[float, int, str]:
    """dANN-LRF's mean ``col`` (times ``scale``), its rank among the rows of ``table``, and every
    model's mean ± SD in rank order."""
    t = table[table[f"{col}_mean"].notna()].sort_values(f"{col}_mean", ascending=not higher)
    order = list(t["model"])
    if "dANN-LRF" not in order:
        return float("nan"), 0, "no finite value for dANN-LRF"
    v = float(t.loc[t["model"] == "dANN-LRF", f"{col}_mean"].iloc[0]) * scale
    others = t[t["model"] != "dANN-LRF"]
    txt = ", ".join(f"{m} {_fmt(x * scale, '.4g')} ± {_fmt(sd * scale, '.2g')}" for m, x, sd in
                    zip(t["model"], t[f"{col}_mean"], t[f"{col}_std"]))
    return v, order.index("dANN-LRF") + 1, (f"rank {order.index('dANN-LRF') + 1} of {len(order)} "
                                            f"({'higher' if higher else 'lower'} is better): {txt}"
                                            if len(others) else "no other model")


def claim_d(df: pd.DataFrame, dataset: str = "fmnist") -> pd.DataFrame:
    """(d) dANN-LRF best under noise (efficiency at every σ, as in Fig. 7b) and in the sequential
    task (Table 2), among dANN-R, dANN-LRF, dANN-GRF and vANN on the paper's networks."""
    rows = []
    selected = select_networks(df, dataset, "paper", models=COMPARED_MODELS)
    sel_missing = [x for m in COMPARED_MODELS for x in _selection_missing(df, dataset, selected, m)]
    base_needs = (f"the paper's networks of {', '.join(COMPARED_MODELS)} (vANN's best accuracy inside the sizes "
                  f"tried) and ≥ {MIN_SEEDS} seeds at each")

    noise_all = _experiment(df, "noise", dataset)
    needs = f"noise runs at every selected (D, S) and σ, at the paper's epochs; {base_needs}"
    if noise_all.empty:
        rows.append(_check("d", "dANN-LRF is the most efficient model under noise", dataset, "dANN-LRF", None,
                           [f"noise-experiment runs on {_title(dataset)} (experiments.noise)"], needs,
                           "highest accuracy efficiency, lowest loss efficiency at every σ"))
    else:
        nr = noise_runs(df, dataset, selected, COMPARED_MODELS)
        sigmas = sorted({float(s) for s in noise_all["sigma"] if s})
        miss = missing_cells(nr, selected, "sigma", [0.0] + sigmas)
        cells_missing = []
        if len(miss):
            txt = ", ".join(f"{m} D={int(a)}, S={int(b)} at σ {'/'.join(f'{x:g}' for x in sorted(g['sigma']))}"
                            for (m, a, b), g in miss.groupby(["model", "dendrites", "somata"]))
            cells_missing.append(f"noise runs at the selected networks ({txt}): add these sizes to "
                                 "experiments.noise (f is normalised over all of them)")
        table = efficiency_table(nr, norm_by=("dataset",)) if len(nr) else pd.DataFrame()
        common = sel_missing + cells_missing + _epochs_missing(
            noise_all[noise_all["model"].isin(COMPARED_MODELS)], PAPER_DESIGN["epochs"].get(dataset, 0),
            "noise runs", f"training.epochs.{dataset}")
        for s in sigmas:
            t = table[table["sigma"] == s] if len(table) else table
            for col, higher, what in (("acc_eff", True, "accuracy efficiency"), ("loss_eff", False, "loss efficiency")):
                check = f"σ = {s:g}: dANN-LRF has the {'highest' if higher else 'lowest'} {what}"
                if t.empty:
                    rows.append(_check("d", check, dataset, "dANN-LRF", None, common or ["runs at this σ"], needs,
                                       f"rank 1 of {len(COMPARED_MODELS)}"))
                    continue
                v, rank, txt = _rank(t, col, higher)
                missing = common + _seeds_missing(t, f"every network at σ = {s:g}")
                decided = (REPRODUCED if rank == 1 else NOT_REPRODUCED) if rank else None
                rows.append(_check("d", check, dataset, "dANN-LRF", decided, missing, needs,
                                   f"rank 1 of {len(COMPARED_MODELS)}", value=v, detail=txt + _n_diverged_txt(t)))

    seq_all = _experiment(df, "sequential", dataset)
    needs = f"sequential runs at every selected (D, S), {SEQUENTIAL_EPOCHS} epochs; {base_needs}"
    if seq_all.empty:
        rows.append(_check("d", "dANN-LRF is the best model in the sequential task", dataset, "dANN-LRF", None,
                           [f"sequential-task runs on {_title(dataset)} (experiments.sequential)"], needs,
                           "highest mean test accuracy, lowest mean test loss"))
        return pd.DataFrame(rows, columns=CSV_COLUMNS)
    sr = sequential_runs(df, dataset, selected, COMPARED_MODELS)
    miss = missing_cells(sr, selected)
    common = list(sel_missing)
    if len(miss):
        common.append("sequential runs at the selected networks (" + ", ".join(
            f"{r['model']} {_ds(r)}" for r in miss.to_dict("records")) + "): add these sizes to experiments.sequential")
    common += _epochs_missing(seq_all[seq_all["model"].isin(COMPARED_MODELS)], SEQUENTIAL_EPOCHS,
                              "sequential runs", "experiments.sequential.epochs")
    table = efficiency_table(sr, norm_by=("dataset",)) if len(sr) else pd.DataFrame()
    others = sorted(set(seq_all["model"]) - set(COMPARED_MODELS), key=_model_key)
    ref = PAPER_TABLE2.set_index("model").loc["dANN-LRF"]
    for col, higher, what, paper, scale in (
            ("test_acc", True, "highest mean test accuracy (%)", ref["test_acc_pct"], 100),
            ("test_loss", False, "lowest mean test loss", ref["test_loss"], 1)):
        check = f"sequential task: dANN-LRF has the {what}"
        crit = f"rank 1 among {', '.join(COMPARED_MODELS)} (Table 2)"
        if table.empty:
            rows.append(_check("d", check, dataset, "dANN-LRF", None, common or ["sequential runs"], needs, crit,
                               paper=paper))
            continue
        v, rank, txt = _rank(table, col, higher, scale)
        missing = common + _seeds_missing(table, "every network")
        decided = (REPRODUCED if rank == 1 else NOT_REPRODUCED) if rank else None
        if others:
            txt += f"; not in Table 2, not ranked: {', '.join(others)}"
        rows.append(_check("d", check, dataset, "dANN-LRF", decided, missing, needs, crit, value=v,
                           paper=paper, detail=txt + _n_diverged_txt(table)))
    return pd.DataFrame(rows, columns=CSV_COLUMNS)

# --------------------------------------------------------------------------------------------------
# scale of the configuration
# --------------------------------------------------------------------------------------------------
def scale_rows(config: Mapping[str, Any], df: pd.DataFrame) -> tuple[list[tuple[str, str, str]], list[str]]:
    """(item, this run, paper) rows describing the configuration's scale, and the list of ways in
    which it is smaller than the paper's design."""
    exps = config.get("experiments") or {}
    seeds = list(config.get("seeds", []))
    epochs = (config.get("training") or {}).get("epochs", {})
    used = sorted({d for e in exps.values() for d in e.get("datasets", [])},
                  key=lambda d: DATASETS.index(d) if d in DATASETS else 99)
    rows, smaller = [], []
    rows.append(("seeds (trials)", f"{len(seeds)} ({', '.join(map(str, seeds))})", str(PAPER_DESIGN["seeds"])))
    if len(seeds) < PAPER_DESIGN["seeds"]:
        smaller.append(f"{len(seeds)} seeds instead of {PAPER_DESIGN['seeds']}")
    ep_txt = ", ".join(f"{_title(d)} {epochs.get(d, '?')}" for d in used)
    rows.append(("epochs", ep_txt or "–", ", ".join(f"{_title(d)} {e}" for d, e in PAPER_DESIGN["epochs"].items())))
    short = [d for d in used if isinstance(epochs.get(d), int) and epochs[d] < PAPER_DESIGN["epochs"].get(d, 0)]
    if short:
        smaller.append("fewer epochs (" + ", ".join(f"{_title(d)} {epochs[d]} instead of "
                                                   f"{PAPER_DESIGN['epochs'][d]}" for d in short) + ")")
    grids, not_run = [], []
    for name, ref in PAPER_DESIGN["experiments"].items():
        e = exps.get(name)
        ref_d = ref.get("dendrites", PAPER_DESIGN["dendrites"])
        ref_s = ref.get("somata", PAPER_DESIGN["somata"])
        paper_txt = (f"{', '.join(_title(d) for d in ref['datasets'])}; D {ref_d} × S {ref_s}"
                     + _extra_txt(name, ref))
        if not e:
            rows.append((f"experiment `{name}`", "not run", paper_txt))
            not_run.append(name)
            continue
        n_runs = int((df["experiment"] == name).sum()) if "experiment" in df else 0
        nm = len(e["models"])
        selected = e.get("networks") == "selected"
        grid_txt = ("the selected network of each model (paper §4)" if selected
                    else f"D {list(e['dendrites'])} × S {list(e['somata'])}")
        txt = (f"{', '.join(_title(d) for d in e['datasets'])}; {nm} model{'s' if nm != 1 else ''}; "
               f"{grid_txt}" + _extra_txt(name, e) + f"; {n_runs} runs")
        rows.append((f"experiment `{name}`", txt, paper_txt))
        if not selected and (len(e["dendrites"]) < len(ref_d) or len(e["somata"]) < len(ref_s)):
            grids.append(name)
        missing = [d for d in ref["datasets"] if d not in e["datasets"]]
        if missing:
            smaller.append(f"{name}: {', '.join(_title(d) for d in missing)} not run")
        if "n_models" in ref and len(e["models"]) < ref["n_models"]:
            smaller.append(f"{name}: {len(e['models'])} of {ref['n_models']} models")
        if name == "sequential" and e.get("epochs", 50) < ref["epochs"]:
            smaller.append(f"sequential task: {e.get('epochs')} epoch{'s' if e.get('epochs') != 1 else ''} "
                           f"instead of {ref['epochs']}")
    if grids:
        smaller.append("smaller D × S grid (" + ", ".join(grids) + ")")
    if not_run:
        smaller.append("experiments not run: " + ", ".join(not_run))
    return rows, smaller


def _extra_txt(name: str, e: Mapping[str, Any]) -> str:
    """The experiment's own keys, as text (dropout rates, learning rates, depths, σ, epochs)."""
    keys = {"dropout": ("rates", "p"), "learning_rate": ("rates", "lr"), "depth": ("layers", "L"),
            "noise": ("sigmas", "σ")}
    if name in keys and keys[name][0] in e:
        key, sym = keys[name]
        return f"; {sym} ∈ {list(e[key])}"
    if name == "early_stopping":
        return f"; ≤ {e.get('max_epochs', 100)} epochs, patience {e.get('patience', 10)}"
    if name == "sequential":
        n = e.get("epochs", 50)
        return f"; {n} epoch{'s' if n != 1 else ''}"
    return ""



# --------------------------------------------------------------------------------------------------
# the report
# --------------------------------------------------------------------------------------------------
CLAIMS = {
    "a": "dANNs reach vANN's best accuracy and minimum loss with fewer parameters (paper: one to three "
         "orders of magnitude fewer; dANN-LRF more than 10× fewer on FMNIST)",
    "b": "vANN's test loss grows with network size, the dANNs' does not (overfitting)",
    "c": "dANN nodes are mostly mixed-selective, vANN nodes mostly class-specific",
    "d": "dANN-LRF is the best model under noise and in the sequential task",
}


#: What each claim's checks need, and when they hold (the report's header of each claim).
CLAIM_NEEDS = {
    "a": (f"main runs of vANN and the dANN at the paper's epochs with ≥ {MIN_SEEDS} seeds per deciding "
          "configuration; vANN's best (accuracy / loss) inside the sizes tried, or at the paper's grid edge "
          f"(D={PAPER_LARGEST[0]}, S={PAPER_LARGEST[1]}; D={PAPER_SMALLEST[0]}, S={PAPER_SMALLEST[1]}); a fold "
          f"below {FOLD:g} counts only when the run tried every size of the paper's grid before the match in the "
          f"scan; a dANN that never matches counts only when its sizes reach D={PAPER_LARGEST[0]}, "
          f"S={PAPER_LARGEST[1]}"),
    "b": (f"main runs at the paper's epochs; ≥ {MIN_SIZES} sizes per model spanning ≥ {MIN_SPAN:g}× in parameters; "
          f"≥ {MIN_SEEDS} seeds per size"),
    "c": ("the node table of the paper's networks (analysis.selection: paper) of dANN-R, dANN-LRF, dANN-GRF and "
          f"vANN, from main runs at the paper's epochs with ≥ {MIN_SEEDS} seeds; a determined selection (vANN's best "
          "accuracy inside the sizes tried; a dANN that never matched tried up to the paper's largest size)"),
    "d": ("noise runs (every σ) and sequential runs at the paper's network of each of dANN-R, dANN-LRF, dANN-GRF "
          f"and vANN, at the paper's epochs (FMNIST 25, sequential task {SEQUENTIAL_EPOCHS}) with ≥ {MIN_SEEDS} seeds; "
          "a determined selection (as for (c))"),
}
CLAIM_CRITERIA = {
    "a": f"fold = parameters of vANN's best / parameters of the first configuration that beats it ≥ {FOLD:g}",
    "b": f"vANN: Spearman ρ(parameters, test loss) > 0 with p < {ALPHA}; each dANN: not so",
    "c": f"over the nodes with SI ≥ 1, dANN mixed-selective (SI ≥ 2) share > {MOSTLY}, vANN class-specific "
         f"(SI = 1) share > {MOSTLY}",
    "d": ("dANN-LRF ranks first among dANN-R, dANN-LRF, dANN-GRF, vANN: highest accuracy efficiency and lowest loss "
          "efficiency at every σ (f normalised over the four models × every σ, σ = 0 the clean runs); highest mean "
          "test accuracy and lowest mean test loss in the sequential task"),
}


def _overall_row(cid: str, part: pd.DataFrame) -> dict:
    st = list(part["status"])
    counts = {s: st.count(s) for s in STATUSES}
    summary = (f"{counts[REPRODUCED]} reproduced, {counts[NOT_REPRODUCED]} not reproduced, "
               f"{counts[INCONCLUSIVE]} inconclusive of {len(st)} checks")
    if cid == "a":
        folds = part.loc[part["status"] != INCONCLUSIVE, "value"].dropna()
        if len(folds):
            summary += f"; decided folds {folds.min():.3g}× – {folds.max():.3g}×"
    need = list(dict.fromkeys(x for m in part["missing"] if m for x in str(m).split(MISSING_SEP)))
    return dict(section="claim", claim=cid, check="overall", dataset="", model="all", status=overall(st),
                value=float(counts[REPRODUCED]), paper=np.nan, difference=np.nan, criterion="every check holds",
                needs="", missing=MISSING_SEP.join(need), detail=summary)


def check_claims(df: pd.DataFrame, nodes: pd.DataFrame | None = None, dataset: str = "fmnist") -> pd.DataFrame:
    """Every check of claims (a)-(d) plus one ``overall`` row per claim (model "all")."""
    parts = {"a": claim_a(df), "b": claim_b(df), "c": claim_c(nodes, df), "d": claim_d(df, dataset)}
    frames = []
    for cid, part in parts.items():
        frames.append(part)
        frames.append(pd.DataFrame([_overall_row(cid, part)], columns=CSV_COLUMNS))
    return pd.concat(frames, ignore_index=True)


def build_report(df: pd.DataFrame, config: Mapping[str, Any], nodes: pd.DataFrame | None = None,
                 dataset: str = "fmnist") -> tuple[str, pd.DataFrame]:
    """The Markdown report and the CSV frame (:data:`CSV_COLUMNS`)."""
    t1, t2 = table1(df), table2(df, dataset)
    claims = check_claims(df, nodes, dataset)
    frame = pd.concat([t1, t2, claims], ignore_index=True)
    return _markdown(df, config, t1, t2, claims, dataset), frame


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in r) + " |" for r in rows]
    return out


def _cell(rows: pd.DataFrame, q: str, spec: str) -> str:
    r = rows[rows["check"] == q]
    if r.empty:
        return "–"
    r = r.iloc[0]
    if r["status"] == NOT_RUN:
        return f"not run (paper {format(r['paper'], spec)})"
    if not _finite(r["value"]):
        return f"diverged (paper {format(r['paper'], spec)})"
    return f"{format(r['value'], spec)} / {format(r['paper'], spec)} ({format(r['difference'], '+' + spec)})"


def _fmt_loss(v) -> str:
    return "–" if not _finite(v) else (f"{v:.2f}" if v < 100 else f"{v:.1f}")


def _value_txt(r) -> str:
    v = r["value"]
    if not _finite(v):
        return "never matched" if str(r["detail"]).startswith("never matched") else "–"
    if r["claim"] == "a":
        return f"{_fmt(v, '.3g')}×"
    if r["claim"] == "b":
        return f"ρ = {_fmt(v, '.2f')}"
    if r["claim"] == "c":
        return _fmt(v, ".2f")
    return _fmt(v, ".4g")


def _paper_txt(r) -> str:
    if r["claim"] == "a":
        return "> 10× (LRF, FMNIST)" if r["model"] == "dANN-LRF" and r["dataset"] == "fmnist" else "10–1000×"
    if r["claim"] == "b":
        return "grows" if r["model"] == "vANN" else "flat"
    if r["claim"] == "c":
        return "mostly " + ("class-specific" if r["model"] == "vANN" else "mixed")
    return (_fmt(r["paper"], ".4g") + " (Table 2)") if _finite(r["paper"]) else "dANN-LRF best (Fig. 7b)"


_MARK = {REPRODUCED: "✓ reproduced", NOT_REPRODUCED: "✗ not reproduced", INCONCLUSIVE: "? inconclusive"}


def _markdown(df, config, t1, t2, claims, dataset) -> str:
    n_runs = len(df)
    div = _diverged(df)
    scale, smaller = scale_rows(config, df)
    sel_key = (config.get("analysis") or {}).get("selection", "paper")
    L: list[str] = []
    L.append("# Reproduction report: Chavlis & Poirazi (2025), Nat Commun 16:943")
    L.append("")
    L.append("*Dendrites endow artificial neural networks with accurate, robust and parameter-efficient "
             "learning* — this pipeline's numbers next to the paper's, and each claim checked: **reproduced** "
             "or **not reproduced** when this run has what the check needs, **inconclusive** (with what is "
             f"missing) when it does not. Computed from `results/summary.csv` ({n_runs} training runs"
             + (f", of which {int(div.sum())} diverged and are left out of every mean" if div.any() else
                ", none diverged") + ").")
    L.append("")
    L.append("## Scale of this run")
    L.append("")
    L += _md_table(["", "this run", "paper"], [list(r) for r in scale]
                   + [["network of Table 2, Fig. 5-7 (`analysis.selection`)", sel_key,
                       "paper: first to match vANN's best accuracy; vANN: its best"]])
    L.append("")
    if smaller:
        L.append("**Reduced against the paper's design:** " + "; ".join(smaller) + ". The checks below say which "
                 "claims this run can still decide; the others are inconclusive, with what they would need.")
    else:
        L.append("This configuration has the paper's full design.")
    if sel_key != "paper":
        L.append("")
        L.append(f"`analysis.selection: {sel_key}`: the figures and node tables use each model's most accurate "
                 "network; Table 2 and claim (d) below are judged on the paper's networks all the same, and claim "
                 "(c) needs the node tables of the paper's networks.")
    L.append("")
    L.append("## Verdicts at a glance")
    L.append("")
    ov = claims[claims["check"] == "overall"].set_index("claim")
    rows = []
    for cid, text in CLAIMS.items():
        r = ov.loc[cid]
        rows.append([f"({cid}) {text}", f"**{r['status']}**", r["detail"]])
    L += _md_table(["claim", "status", "checks"], rows)
    L.append("")
    L.append("*reproduced*: every check holds on a run that has what it needs; *not reproduced*: at least one "
             "check that had what it needs fails; *inconclusive*: no check failed, but at least one lacks what "
             "it needs (listed below).")
    L.append("")
    need = [(cid, x) for cid, m in zip(ov.index, ov["missing"]) if m for x in str(m).split(MISSING_SEP)]
    if need:
        L.append("## What the inconclusive checks need")
        L.append("")
        seen: dict[str, list[str]] = {}
        for cid, x in need:
            seen.setdefault(x, []).append(cid)
        for x, cids in seen.items():
            L.append(f"- ({', '.join(dict.fromkeys(cids))}) {x}")
        L.append("")

    L.append("## Claims, checked")
    L.append("")
    for cid, text in CLAIMS.items():
        part = claims[(claims["claim"] == cid) & (claims["check"] != "overall")]
        L.append(f"### ({cid}) {text}")
        L.append("")
        L.append(f"Needs: {CLAIM_NEEDS[cid]}. Criterion: {CLAIM_CRITERIA[cid]}.")
        L.append("")
        body = [[_title(r["dataset"]) if r["dataset"] else "–", r["check"], _MARK[r["status"]], _value_txt(r),
                 _paper_txt(r), (f"**missing:** {r['missing'].replace(MISSING_SEP, '; ')}. " if r["missing"] else "")
                 + str(r["detail"])]
                for r in part.to_dict("records")]
        header = ["dataset", "check", "status", "this run", "paper", "details"]
        L += _md_table(header, body) if body else ["(no checks)"]
        L.append("")

    L.append("## Table 1 — best-accuracy models (main experiment)")
    L.append("")
    L.append("Per dataset, each model's configuration with the highest mean test accuracy over seeds; its mean "
             "test accuracy and mean test loss. Cells: **this run / paper (difference)**.")
    for q, spec, title in (("test accuracy (%)", ".2f", "Test accuracy (%)"), ("test loss", ".4f", "Test loss")):
        L.append("")
        L.append(f"**{title}**")
        L.append("")
        L += _md_table(["model"] + [_title(d) for d in DATASETS],
                       [[m] + [_cell(t1[(t1["model"] == m) & (t1["dataset"] == d)], q, spec) for d in DATASETS]
                        for m in TABLE_MODELS])
    ran = t1[(t1["status"] != NOT_RUN) & (t1["check"] == "test loss")]
    if len(ran):
        L.append("")
        L.append("Configurations: " + "; ".join(
            f"{r['model']} {_title(r['dataset'])} {r['detail'].split(' configuration ')[-1]}"
            for r in ran.to_dict("records")) + ".")
    L.append("")

    L.append(f"## Table 2 — sequential {_title(dataset)} (class-ordered batches)")
    L.append("")
    if (t2["status"] == NOT_RUN).all() and not (df["experiment"] == "sequential").any():
        L.append("Not run: the configuration has no `sequential` experiment.")
    else:
        rows = []
        for m in t2["model"].drop_duplicates():
            r = t2[t2["model"] == m]
            ref = PAPER_TABLE2.set_index("model").reindex([m]).reset_index().iloc[0]
            sd_ref = f" ± {ref['test_acc_sd']:.2f}" if _finite(ref["test_acc_sd"]) else ""
            acc_ref = f"{ref['test_acc_pct']:.2f}{sd_ref}" if _finite(ref["test_acc_pct"]) else "not in the paper"
            a, lo = r[r["check"] == "test accuracy (%)"].iloc[0], r[r["check"] == "test loss"].iloc[0]
            if a["status"] == NOT_RUN:
                rows.append([m, "not run", acc_ref, "–", "not run", _fmt_loss(ref["test_loss"]), "–", a["detail"]])
                continue
            sd, where = a["detail"].split(" (SD")[0], a["detail"].split("; ", 1)[-1]
            rows.append([m, f"{_fmt(a['value'], '.2f')} {sd}", acc_ref, _fmt(a["difference"], "+.2f"),
                         _fmt(lo["value"], ".3g"), _fmt_loss(ref["test_loss"]), _fmt(lo["difference"], "+.3g"), where])
        L += _md_table(["model", "accuracy % (± SD)", "paper", "Δ", "test loss", "paper", "Δ", "network"], rows)
        L.append("")
        L.append("Each model's network is fixed from the clean main experiment by the paper's rule (first "
                 "configuration above vANN's best mean accuracy; vANN: its best) and looked up in the sequential "
                 "runs; no new best is chosen among them. The paper gives a spread for vANN only (np.std, ddof = 0; "
                 "here ddof = 1).")
    L.append("")
    L.append("---")
    L.append("Generated by `dendritic.reproduction` (rule `reproduction`); every number is also in "
             "`results/reproduction.csv` (one row per table cell or check: " + ", ".join(CSV_COLUMNS) + ").")
    L.append("")
    return "\n".join(L)


def write_reproduction(summary_path: str | Path, md_path: str | Path, csv_path: str | Path,
                       config: Mapping[str, Any], node_stats_path: str | Path | None = None,
                       dataset: str = "fmnist") -> pd.DataFrame:
    """Read the summary (and the node table, when given), write the report and the CSV atomically."""
    from dendritic import runio
    from dendritic.summary import load_summary

    df = load_summary(summary_path)
    nodes = pd.read_csv(node_stats_path) if node_stats_path else None
    md, frame = build_report(df, config, nodes, dataset)
    runio.write_atomic(md_path, lambda p: Path(p).write_text(md, encoding="utf-8"))
    runio.write_atomic(csv_path, lambda p: frame.to_csv(p, index=False, float_format="%.6g"))
    return frame
