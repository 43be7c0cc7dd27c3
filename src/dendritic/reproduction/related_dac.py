"""Verdict rows A1-A3: DAC units, "Increasing biases can be more efficient than increasing
weights" (Metta et al., WACV 2024, arXiv 2301.00924 v3; ``docs/neighbours/dac.md``).

All three read the summary alone (experiment ``dac`` against the main experiment) through
:mod:`dendritic.dac`: differences paired by seed, diverged runs left out, pooled with a
seed-bootstrap 95 % interval (fixed generator seed, so the verdict is reproducible).

Decision rule (the same for A1, A2 and A3's first check), on the pooled mean difference Δ of the
test accuracy and its interval [lo, hi]:

* ``reproduced``: Δ > 0 and lo > 0;
* ``not reproduced``: otherwise, i.e. a DAC loss (hi < 0) or no detectable gain (the interval
  holds 0). The claims are positive ("can be more efficient"), so a gain that does not show at
  ≥ MIN_SEEDS paired seeds per cell counts against them at this design's power; the detail
  gives the interval, so a reader can tell a clear loss from a tie;
* ``inconclusive`` when a pair is missing (no DAC cell with its partner), a deciding cell has
  fewer than MIN_SEEDS paired seeds, or the runs were trained for fewer than the paper's epochs.

A3's second check, the "parameters to match vANN" of claim (a) for X-DAC against X
(:func:`dendritic.trials.match_vann` against the main experiment's best vANN): reproduced when
X-DAC matches with fewer parameters than X, not reproduced when with as many or more, and
inconclusive when either never matches within the sizes tried.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dendritic import dac
from dendritic.paper import PAPER_DESIGN, PRIMARY_DATASET, dataset_title
from dendritic.reproduction.claims import MIN_SEEDS, NOT_REPRODUCED, REPRODUCED, fmt
from dendritic.reproduction.related import decide_gain, related_check
from dendritic.trials import diverged_mask
from dendritic.wiring import DAC_MODELS, base_model

TITLE = "DAC units: per-connection biases (Metta et al., WACV 2024)"

CLAIMS = {
    "A1": (
        "Increasing biases can be more efficient than increasing weights: X-DAC(D, S) is more accurate "
        "than X(2D, S), which has almost the same parameters (X = dANN-R, dANN-LRF)."
    ),
    "A2": (
        "DAC improves accuracy at the same architecture: X-DAC(D, S) against X(D, S) "
        "(paper: up to +1.73 pp, DAC convolutions in ResNets on CIFAR and Imagenette; informational)."
    ),
    "A3": (
        "DAC is parameter-efficient: vANN-DAC beats vANN at equal parameters, and X-DAC needs fewer "
        "parameters than X to match vANN's best accuracy."
    ),
}

#: The summary is all these checks read.
TABLES: tuple[str, ...] = ()

#: The paper's "up to 1.73 %" gain (ResNets on CIFAR-10/100, Imagenette, Imagewoof; arXiv v2 abstract).
PAPER_GAIN_PP = 1.73

_RULE = (
    "pooled mean Δ over cells (each the mean over its paired seeds) > 0 and its seed-bootstrap 95% CI "
    "excludes 0: reproduced; Δ ≤ 0: not reproduced; Δ > 0 with a CI that holds 0: inconclusive (more seeds)"
)


def _requirements(pairs: pd.DataFrame, dataset: str, what: str) -> list[str]:
    """Seeds per cell and epochs of the paired runs."""
    missing = []
    counts = pairs.groupby(["model", "dendrites", "somata"])["seed"].nunique()
    low = counts[counts < MIN_SEEDS]
    if len(low):
        cells = ", ".join(f"{m} D={d}, S={s}: {n}" for (m, d, s), n in low.items())
        missing.append(f"≥ {MIN_SEEDS} paired non-diverged seeds per {what} (this run: {cells}): add seeds")
    return missing + _epochs_missing(pairs["epochs"].min() if len(pairs) else np.nan, dataset)


def _epochs_missing(got: float, dataset: str) -> list[str]:
    need = PAPER_DESIGN["epochs"].get(dataset)
    if need and np.isfinite(got) and got < need:
        return [f"runs at the paper's {need} epochs (this run: {int(got)}): set training.epochs.{dataset}: {need}"]
    return []


def _detail(pairs: pd.DataFrame, mean: float, lo: float, hi: float) -> str:
    cells = pairs.groupby(["dendrites", "somata"]).ngroups
    return (
        f"Δacc = {fmt(100 * mean, '+.2f')} pp, 95% seed-bootstrap CI [{fmt(100 * lo, '+.2f')}, "
        f"{fmt(100 * hi, '+.2f')}] pp over {cells} cell{'s' if cells != 1 else ''}, {len(pairs)} paired runs"
    )


def _delta_check(claim, check, dataset, model, pairs, needs, absent, paper=np.nan, criterion=_RULE) -> dict:
    mean, lo, hi = dac.bootstrap_mean(pairs)
    missing = [absent] if pairs.empty else _requirements(pairs, dataset, "DAC cell")
    decided, unsure = decide_gain(100 * mean, 100 * lo, 100 * hi, " pp")
    return related_check(
        claim,
        check,
        dataset,
        model,
        decided,
        missing + unsure,
        needs,
        criterion,
        value=100 * mean if np.isfinite(mean) else np.nan,
        paper=paper,
        detail=_detail(pairs, mean, lo, hi) if len(pairs) else "",
    )


def _datasets(df: pd.DataFrame) -> list[str]:
    ds = sorted(set(df.loc[df["experiment"] == dac.EXPERIMENT, "dataset"]))
    return ds or [PRIMARY_DATASET]


def _a1(df: pd.DataFrame) -> list[dict]:
    rows = []
    for dataset in _datasets(df):
        for x in dac.BUDGET_MODELS:
            pairs = dac.paired_deltas(df[df["dataset"] == dataset], "budget", [x])
            rows.append(
                _delta_check(
                    "A1",
                    "X-DAC(D,S) − X(2D,S), test accuracy (pp)",
                    dataset,
                    f"{x}-DAC",
                    pairs,
                    f"{x}-DAC cells of experiment dac and {x} main cells at twice their D, same S and seeds; "
                    f"≥ {MIN_SEEDS} paired seeds per cell; the paper's epochs",
                    f"{x}-DAC runs (experiments.dac) at a D whose 2D the main experiment trains for {x} on "
                    f"{dataset_title(dataset)} (same S and seeds)",
                )
            )
    return rows


def _a2(df: pd.DataFrame) -> list[dict]:
    rows = []
    for dataset in _datasets(df):
        for x in (base_model(m) for m in DAC_MODELS):
            pairs = dac.paired_deltas(df[df["dataset"] == dataset], "same", [x])
            if pairs.empty and not (df["model"] == f"{x}-DAC").any():
                continue  # a DAC model the run does not train is no check
            rows.append(
                _delta_check(
                    "A2",
                    "X-DAC(D,S) − X(D,S), test accuracy (pp)",
                    dataset,
                    f"{x}-DAC",
                    pairs,
                    f"{x}-DAC cells and {x} main cells at the same (D, S) and seeds; ≥ {MIN_SEEDS} paired seeds",
                    f"{x}-DAC runs (experiments.dac) at a (D, S) the main experiment trains for {x} on "
                    f"{dataset_title(dataset)}",
                    paper=PAPER_GAIN_PP,
                    criterion=_RULE + f"; the paper's +{PAPER_GAIN_PP} pp (ResNets, CIFAR) is informational",
                )
            )
    return rows


def _fold_check(dataset: str, r: pd.Series, runs: pd.DataFrame) -> dict:
    x = r["model"]
    runs = runs[runs["model"].isin([x, f"{x}-DAC", "vANN"]) & runs["experiment"].isin(["main", dac.EXPERIMENT])]
    planned = runs["max_epochs"] if "max_epochs" in runs else runs["epochs"]
    missing = _epochs_missing(float(planned.min()) if len(planned) else np.nan, dataset)
    per_cell = runs[~diverged_mask(runs)].groupby(["model", "dendrites", "somata"])["seed"].nunique()
    if (per_cell < MIN_SEEDS).any():
        missing.append(f"≥ {MIN_SEEDS} non-diverged seeds per cell of vANN, {x} and {x}-DAC: add seeds")
    for who, status in ((x, r["status"]), (f"{x}-DAC", r["dac_status"])):
        if status != "matched":
            missing.append(
                f"{who} never beat vANN's best mean accuracy within the sizes tried: extend its grid "
                f"({'experiments.dac' if who.endswith('DAC') else 'experiments.main'})"
            )
    n, nd = float(r["n_params"]) if not missing else np.nan, float(r["dac_n_params"]) if not missing else np.nan
    decided = None if missing else (REPRODUCED if nd < n else NOT_REPRODUCED)
    ratio = n / nd if not missing else np.nan
    detail = f"vANN best {fmt(100 * r['ref_value'], '.2f')}% at {int(r['ref_n_params'])} parameters; " + (
        f"{x} matches at {int(n)} (D={int(r['dendrites'])}, S={int(r['somata'])}, fold {fmt(r['fold_fewer'])}), "
        f"{x}-DAC at {int(nd)} (D={int(r['dac_dendrites'])}, S={int(r['dac_somata'])}, "
        f"fold {fmt(r['dac_fold_fewer'])})"
        if not missing
        else f"{x}: {r['status']}, {x}-DAC: {r['dac_status']}"
    )
    return related_check(
        "A3",
        "parameters to match vANN: X / X-DAC (fold)",
        dataset,
        f"{x}-DAC",
        decided,
        missing,
        "main runs of vANN and X, dac runs of X-DAC; both match vANN's best within their sizes",
        "X-DAC matches vANN's best mean accuracy with fewer parameters than X (ratio > 1): reproduced; "
        "else not reproduced",
        value=ratio,
        detail=detail,
    )


def _a3(df: pd.DataFrame) -> list[dict]:
    rows = []
    for dataset in _datasets(df):
        sub = df[df["dataset"] == dataset]
        pairs = dac.vann_interp_deltas(sub)
        if len(pairs) or (sub["model"] == "vANN-DAC").any():
            rows.append(
                _delta_check(
                    "A3",
                    "vANN-DAC − vANN interpolated at equal parameters, test accuracy (pp)",
                    dataset,
                    "vANN-DAC",
                    pairs,
                    "vANN-DAC cells inside the range of the main vANN's parameter counts (≥ 2 vANN sizes), "
                    f"same seeds; ≥ {MIN_SEEDS} seeds per cell; the paper's epochs",
                    f"vANN-DAC runs (experiments.dac) with parameter counts between two main-experiment vANN "
                    f"sizes on {dataset_title(dataset)}",
                )
            )
        folds = dac.match_folds(sub)
        for _, r in folds.iterrows():
            rows.append(_fold_check(dataset, r, sub))
    return rows


def rows(df: pd.DataFrame, tables) -> list[dict]:
    """The checks of A1-A3 from the summary (``tables`` unused: the summary holds every run)."""
    if df.empty or "experiment" not in df:
        df = pd.DataFrame(columns=["experiment", "dataset", "model", "dendrites", "somata", "seed", "test_acc"])
    out = []
    for cid, checks in (("A1", _a1(df)), ("A2", _a2(df)), ("A3", _a3(df))):
        out += checks or [
            related_check(
                cid,
                "DAC runs",
                "",
                "all",
                None,
                [f"DAC runs (experiments.dac) and their main-experiment partners for claim {cid}"],
                "experiment dac and the main experiment",
                _RULE,
            )
        ]
    return out
