"""Beyond the paper: clean-trained models tested on noisy test images (``results/test_noise.csv``,
:mod:`dendritic.test_noise`).

One row of panels per dataset:

(a) test accuracy against the noise level σ for each model's best configuration (highest mean
    clean test accuracy, i.e. at σ = 0);
(b) the same at a matched parameter budget: each model's configuration whose parameter count is
    closest (on a log scale) to a common budget B. B is the geometric middle of the range of
    parameter counts that every model's grid covers; when the ranges do not overlap, B is the
    smallest network of the model whose smallest network is largest (usually vANN) and the
    legend shows how far each model is from it;
(c) test accuracy at one noise level σ* (the middle of the non-zero σ values) against trainable
    parameters for every configuration.

Means over seeds with 95% t-intervals (:func:`dendritic.analysis.aggregate_seeds`, diverged runs
left out).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from dendritic.plots import style
from dendritic.plots.nodes import _ordered_models, _read
from dendritic.trials import aggregate_seeds


def _aggregate(df: pd.DataFrame) -> pd.DataFrame:
    """Mean ± 95% CI over seeds per (dataset, model, D, S, layers, σ)."""
    work = df.drop(columns=[c for c in ("cell",) if c in df.columns])
    return aggregate_seeds(work, metrics=("test_acc", "test_loss"))


def matched_budget(clean: pd.DataFrame) -> float:
    """The budget B of panel (b) from the σ = 0 rows (one per configuration) of one dataset."""
    rng = clean.groupby("model")["n_params"].agg(["min", "max"]).astype(float)
    lo, hi = rng["min"].max(), rng["max"].min()
    return float(math.sqrt(lo * hi)) if lo <= hi else float(lo)


def budget_configs(clean: pd.DataFrame, budget: float) -> pd.DataFrame:
    """Per model, the configuration (row of ``clean``) whose n_params is closest to ``budget`` in
    log10; ties go to the smaller network."""
    c = clean.assign(_d=(np.log10(clean["n_params"].astype(float)) - math.log10(budget)).abs())
    c = c.sort_values(["_d", "n_params"], kind="mergesort")
    return c.groupby("model", sort=False).head(1).drop(columns="_d")


def best_configs(clean: pd.DataFrame) -> pd.DataFrame:
    """Per model, the configuration with the highest mean clean test accuracy."""
    c = clean.sort_values(["test_acc_mean", "n_params"], ascending=[False, True], kind="mergesort")
    return c.groupby("model", sort=False).head(1)


def _curve(ax, agg, cfg, models, label_fmt):
    """Mean accuracy vs σ (line) and its 95% CI (band) of the configurations ``cfg``."""
    cfg = cfg.set_index("model")
    for m in models:
        if m not in cfg.index:
            continue
        row = cfg.loc[m]
        a = agg[
            (agg["model"] == m) & (agg["dendrites"] == row["dendrites"]) & (agg["somata"] == row["somata"])
        ].sort_values("sigma")
        mean, ci = 100 * a["test_acc_mean"], 100 * np.nan_to_num(a["test_acc_ci95"])
        color = style.model_color(m)
        ax.plot(a["sigma"], mean, color=color, marker="o", ms=2.5, lw=1.2, label=label_fmt(m, row))
        ax.fill_between(a["sigma"], (mean - ci).clip(0, 100), (mean + ci).clip(0, 100), color=color, alpha=0.15, lw=0)


def _fmt_params(n: float) -> str:
    n = float(n)
    if n >= 1e6:
        return f"{n / 1e6:.3g}M"
    if n >= 1e3:
        return f"{n / 1e3:.3g}k"
    return f"{n:.0f}"


def plot_test_noise(table, out_paths, models: Sequence[str] | None = None) -> pd.DataFrame:
    """The figure of the module docstring; ``models`` restricts (and orders) the models shown,
    falling back to every model in the table when none of them is there. Returns the aggregate."""
    df = _read(table)
    if "kind" in df:  # the Gaussian rows (salt noise: dendritic.plots.related_imp)
        df = df[df["kind"].fillna("gaussian") == "gaussian"].drop(columns=[c for c in ("kind", "q") if c in df])
    if "diverged" in df:
        df["diverged"] = df["diverged"].astype(str).str.lower().isin(["true", "1", "1.0"])
    present = set(df["model"])
    chosen = [m for m in (models or []) if m in present] or sorted(present)
    models = _ordered_models(chosen)
    df = df[df["model"].isin(models)]
    if df.empty:
        raise ValueError("no rows to plot in the test-noise table")
    agg = _aggregate(df)
    datasets = sorted(agg["dataset"].unique())
    sigmas = sorted(agg["sigma"].unique())
    nonzero = [s for s in sigmas if s > 0]
    s_star = nonzero[(len(nonzero) - 1) // 2] if nonzero else sigmas[0]

    style.setup()
    fig, axes = plt.subplots(len(datasets), 3, figsize=(12.5, 3.4 * len(datasets)), squeeze=False)
    for r, ds in enumerate(datasets):
        a = agg[agg["dataset"] == ds]
        clean = a[a["sigma"] == sigmas[0]]
        best = best_configs(clean)
        budget = matched_budget(clean)
        matched = budget_configs(clean, budget)

        def label(m, row):
            return f"{m} D={row['dendrites']} S={row['somata']} ({_fmt_params(row['n_params'])})"

        ax = axes[r, 0]
        _curve(ax, a, best, models, label)
        ax.set_title(f"{ds}: best configuration of each model", fontsize=9)
        ax = axes[r, 1]
        _curve(ax, a, matched, models, label)
        ax.set_title(f"{ds}: matched budget ≈ {_fmt_params(budget)} parameters", fontsize=9)
        for ax in axes[r, :2]:
            ax.set_xlabel("test noise σ")
            ax.set_ylabel("test accuracy (%)")
            ax.legend(fontsize=6.5, frameon=False, loc="lower left", handlelength=1.5)
            ax.set_ylim(0, 100)

        ax = axes[r, 2]
        at = a[np.isclose(a["sigma"], s_star)]
        for m in models:
            b = at[at["model"] == m].sort_values("n_params")
            if len(b):
                ax.errorbar(
                    b["n_params"],
                    100 * b["test_acc_mean"],
                    yerr=100 * np.nan_to_num(b["test_acc_ci95"]),
                    color=style.model_color(m),
                    marker="o",
                    ms=3,
                    ls="none",
                    elinewidth=0.7,
                    capsize=1.5,
                    label=m,
                )
        ax.axvline(budget, color="0.5", lw=0.8, ls="--")
        ax.set_xscale("log")
        ax.set_ylim(0, 100)
        ax.set_xlabel("trainable parameters")
        ax.set_ylabel(f"test accuracy at σ = {s_star:g} (%)")
        ax.set_title(f"{ds}: every configuration at σ = {s_star:g}", fontsize=9)
        ax.legend(fontsize=6.5, frameon=False, loc="best")
    n_div = int(df["diverged"].sum() // max(len(sigmas), 1)) if "diverged" in df else 0
    if n_div:
        fig.text(
            0.01,
            -0.01,
            f"Diverged runs left out of the means: {n_div}",
            fontsize=7,
            color="firebrick",
            ha="left",
            va="top",
        )
    fig.tight_layout()
    style.save(fig, [Path(p) for p in out_paths])
    return agg
