"""Iterative magnitude pruning of vANN (Bain 2022, arXiv 2209.04425; :mod:`dendritic.pruning`):
one row of panels per pruned vANN(D, S).

(a) Test accuracy against the % of hidden weights remaining (log axis, reversed: pruning goes
    right) for the IMP tickets of every round and the random tickets, with the main experiment's
    dANN-R, dANN-LRF, dANN-GRF and sANN of the same (D, S) at their own hidden-weight counts
    (Bain's Fig. 6 analogue; the dashed line marks the dANN budget, 17·D·S weights).
(b) acc(q) / acc(0) against the salt fraction q and (c) against the Gaussian σ for dense, w30
    (round 9), w3 (round 26), r30 (random ticket at round 9), the budget ticket, and dANN-LRF and
    sANN of the same (D, S) from ``results/test_noise.csv`` (Bain's Fig. 7 analogue).

Means over seeds with 95 % t-intervals (diverged runs left out).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import stats

from dendritic.imp_schedule import W3_ROUND, W30_ROUND
from dendritic.plots import style

#: Main-experiment models shown beside the tickets.
MAIN_MODELS = ("dANN-R", "dANN-LRF", "dANN-GRF", "sANN")
#: Models of panels (b)-(c) beside the tickets.
NOISE_MODELS = ("dANN-LRF", "sANN")
TICKET_COLORS = {"dense": "#000000", "w30": "#1f77b4", "w3": "#d62728", "r30": "#7f7f7f", "budget": "#8c564b"}


def _read(t) -> pd.DataFrame | None:
    if t is None:
        return None
    return t.copy() if isinstance(t, pd.DataFrame) else pd.read_csv(t)


def _ok(df: pd.DataFrame) -> pd.DataFrame:
    if "diverged" not in df:
        return df
    return df[~df["diverged"].astype(str).str.lower().isin(["true", "1", "1.0"])]


def _mean_ci(df: pd.DataFrame, by: list[str], col: str) -> pd.DataFrame:
    g = df.groupby(by)[col]
    out = g.agg(["mean", "std", "count"]).reset_index()
    t = stats.t.ppf(0.975, (out["count"] - 1).clip(lower=1))
    out["ci"] = np.where(out["count"] > 1, t * out["std"] / np.sqrt(out["count"]), 0.0)
    return out


def hidden_weights(n_params, D: int, S: int, n_classes: int = 10):
    """Hidden weights of a house model from its trainable parameters (dense output, every bias)."""
    return n_params - (D * S + S) - (S + 1) * n_classes


def _panel_a(ax, pr: pd.DataFrame, summary: pd.DataFrame | None, D: int, S: int) -> None:
    total = pr.loc[pr["round"] == 0, "hidden_weights"].max()
    for ticket, color, marker in (("imp", "#000000", "o"), ("random", "#7f7f7f", "s")):
        t = _ok(pr[pr["ticket"] == ticket])
        if t.empty:
            continue
        a = _mean_ci(t, ["round", "hidden_weights"], "test_acc").sort_values("round")
        x = 100 * a["hidden_weights"] / total
        ax.errorbar(
            x,
            100 * a["mean"],
            yerr=100 * a["ci"],
            color=color,
            marker=marker,
            ms=3,
            lw=1,
            capsize=2,
            ls="-" if ticket == "imp" else "none",
            label="IMP ticket" if ticket == "imp" else "random ticket",
        )
    if summary is not None and len(summary):
        main = _ok(summary[(summary["experiment"] == "main") & (summary["dendrites"] == D) & (summary["somata"] == S)])
        main = main[main["model"].isin(MAIN_MODELS) & (main.get("layers", 1) == 1)]
        for m, g in main.groupby("model"):
            a = _mean_ci(g, ["n_params"], "test_acc")
            x = 100 * hidden_weights(a["n_params"], D, S) / total
            ax.errorbar(
                x,
                100 * a["mean"],
                yerr=100 * a["ci"],
                color=style.model_color(m),
                marker="D",
                ms=4,
                ls="none",
                capsize=2,
                label=m,
            )
    budget = 100 * 17 * D * S / total
    ax.axvline(budget, color=TICKET_COLORS["budget"], ls="--", lw=0.8, label="dANN budget")
    ax.set_xscale("log")
    ticks = [t for t in (100, 30, 10, 3, 1, 0.3) if t >= 0.5 * budget]
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.set_xlim(120, 0.7 * min(budget, float((100 * pr["hidden_weights"] / total).min())))
    ax.set_xlabel("hidden weights remaining (%)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"(a) vANN({D}, {S}): tickets", loc="left")
    ax.legend(frameon=False, fontsize=7)


def _relative(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    n = _ok(df).copy()
    n["level"] = np.where(n["kind"] == "salt", n["q"], n["sigma"]).astype(float)
    clean = n[n["level"] == 0][keys + ["seed", "kind", "test_acc"]].rename(columns={"test_acc": "clean"})
    n = n.merge(clean, on=keys + ["seed", "kind"])
    return n.assign(rel=n["test_acc"] / n["clean"])


def _panel_b(axes, noise: pd.DataFrame, main_noise: pd.DataFrame | None, D: int, S: int, budget: int) -> None:
    rel = _relative(noise, ["ticket", "round"])
    curves = [("dense", "imp", 0), ("w30", "imp", W30_ROUND), ("w3", "imp", W3_ROUND), ("r30", "random", W30_ROUND)]
    curves.append((f"budget (r{budget})", "imp", budget))
    lines = []
    for name, ticket, r in curves:
        t = rel[(rel["ticket"] == ticket) & (rel["round"] == r)]
        if not t.empty and name not in [x[0] for x in lines]:
            lines.append((name, t, TICKET_COLORS.get(name.split(" ")[0], "#444444"), "-"))
    if main_noise is not None and "kind" in main_noise:
        mn = main_noise[
            (main_noise["dendrites"] == D) & (main_noise["somata"] == S) & main_noise["model"].isin(NOISE_MODELS)
        ]
        if len(mn):
            mr = _relative(mn, ["model"])
            for m, g in mr.groupby("model"):
                lines.append((m, g, style.model_color(m), "--"))
    for ax, kind, xlabel in zip(axes, ("salt", "gaussian"), ("salt fraction q", "Gaussian σ")):
        for name, t, color, ls in lines:
            k = t[t["kind"] == kind]
            if k.empty:
                continue
            a = _mean_ci(k, ["level"], "rel").sort_values("level")
            ax.plot(a["level"], a["mean"], color=color, ls=ls, marker="o", ms=2.5, lw=1.2, label=name)
            ax.fill_between(a["level"], a["mean"] - a["ci"], a["mean"] + a["ci"], color=color, alpha=0.08, lw=0)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("acc(noise) / acc(0)")
        ax.set_ylim(0, 1.05)
    axes[0].set_title("(b) salt noise", loc="left")
    axes[1].set_title("(c) Gaussian noise", loc="left")
    axes[0].legend(frameon=False, fontsize=7)


def plot_related_imp(pruning, noise, out_paths, summary=None, test_noise=None) -> pd.DataFrame:
    """The figure of the module docstring from ``results/pruning.csv`` and ``results/pruning_noise.csv``
    (and, when given, ``results/summary.csv`` and ``results/test_noise.csv``). Returns the per-round
    aggregate of the tickets."""
    style.setup()
    pr, nz, sm, tn = _read(pruning), _read(noise), _read(summary), _read(test_noise)
    if pr is None or pr.empty:
        raise ValueError("no tickets in the pruning table")
    cells = sorted({(int(d), int(s)) for d, s in pr[["dendrites", "somata"]].itertuples(index=False)})
    fig, axes = plt.subplots(len(cells), 3, figsize=(12, 3.4 * len(cells)), squeeze=False)
    for row, (D, S) in zip(axes, cells):
        p = pr[(pr["dendrites"] == D) & (pr["somata"] == S)]
        _panel_a(row[0], p, sm, D, S)
        n = nz[(nz["dendrites"] == D) & (nz["somata"] == S)] if nz is not None else pd.DataFrame()
        if len(n):
            _panel_b(row[1:], n, tn, D, S, int(p["budget_round"].iloc[0]))
    fig.tight_layout()
    style.save(fig, [Path(x) for x in out_paths])
    return _mean_ci(_ok(pr), ["dendrites", "somata", "ticket", "round"], "test_acc")
