"""Parameter-efficiency figures: Fig. 3 (parameters needed to match vANN, efficiency of the best
models, every dataset), Fig. 4 (dANN-X vs vANN-X with the same input sampling); Fig. 7 (noisy
inputs and the sequential task) is :mod:`dendritic.plots.fig7`.

Everything is computed from ``results/summary.csv`` with the pure-pandas functions of
:mod:`dendritic.trials`, the same ones the verdict (:mod:`dendritic.reproduction`) calls, so a
figure and the verdict never disagree. Diverged runs are left
out of every mean and counted in a note under each figure.

Which rows each panel plots (the paper's Methods):

* parameters needed to match vANN: :func:`~dendritic.trials.match_vann` (first configuration, D
  ascending then S, above vANN's best mean accuracy / below its lowest mean loss);
* efficiency (Figs 3, 4): both scores on each model's *best-accuracy* configuration, all trials
  (:func:`~dendritic.trials.best_efficiency`), f normalised by its minimum over exactly those
  rows of the panel's models, per dataset;
* Fig. 7: one network per model fixed from the clean main experiment
  (:func:`~dendritic.trials.select_networks`, config key ``analysis.selection``) and looked up in
  the noise runs at every σ and in the sequential runs (:func:`~dendritic.trials.noise_runs`,
  :func:`~dendritic.trials.sequential_runs`), never a new best among those runs; f normalised
  over the plotted rows (the four models of the paper's Fig. 7 × every σ; the sequential rows);
* error bars: 1 SD over trials, as in the paper's Figs 3, 4 and 7.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.patches import Patch

from dendritic.paper import FIG2_MODELS, SAMPLING_PAIRS, sort_datasets
from dendritic.plots import style
from dendritic.plots.common import (
    EFF_LABEL,
    as_frame,
    dataset_title,
    diverged_note,
    legend_top,
    model_handles,
    ordered_models,
)
from dendritic.trials import aggregate_seeds, best_efficiency, efficiency_deltas, matches, present_pairs, select


# --------------------------------------------------------------------------------------------------
# bar panels
# --------------------------------------------------------------------------------------------------
def _bar_positions(n_groups: int, n_bars: int, width: float = 0.8) -> tuple[np.ndarray, float]:
    """x of every bar: (n_groups, n_bars) array, bar width."""
    w = width / max(n_bars, 1)
    offs = (np.arange(n_bars) - (n_bars - 1) / 2) * w
    return np.arange(n_groups)[:, None] + offs[None, :], w


def params_to_match_panel(
    ax, match: pd.DataFrame, groups: Sequence[tuple[str, str, Sequence[str]]], metric: str
) -> None:
    """Bars (log y): trainable parameters of the first configuration of each model that beats
    vANN's best; vANN's own bar is the size of its best configuration (the reference); an open,
    hatched bar up to the top marks "never matched"; no bar: the model was not run there.

    ``groups``: one ``(x tick label, dataset, models)`` per group of bars.
    """
    n_bars = max(len(g[2]) for g in groups)
    _, w = _bar_positions(len(groups), n_bars)
    bars = []
    for i, (_, d, models) in enumerate(groups):
        off = (n_bars - len(models)) / 2  # centre groups with fewer bars
        for j, m in enumerate(models):
            r = match[(match["dataset"] == d) & (match["model"] == m)]
            if r.empty:
                continue
            r = r.iloc[0]
            x = i + (j + off - (n_bars - 1) / 2) * w
            if r["status"] == "matched":
                bars.append((x, m, "matched", float(r["n_params"])))
            elif r["status"] == "reference":
                bars.append((x, m, "reference", float(r["ref_n_params"])))
            elif r["status"] == "never matched":
                bars.append((x, m, "never", np.nan))
    finite = [h for *_, h in bars if np.isfinite(h)]
    lo = 10 ** np.floor(np.log10(min(finite))) / 2 if finite else 1e2
    hi = 10 ** (np.ceil(np.log10(max(finite))) + 0.8) if finite else 1e7
    for x, m, kind, h in bars:
        c = style.model_color(m)
        if kind == "never":
            ax.bar(x, hi - lo, bottom=lo, width=w * 0.9, facecolor="none", edgecolor=c, hatch="///", lw=0.8)
            ax.text(
                x,
                lo * 1.6,
                "never",
                rotation=90,
                ha="center",
                va="bottom",
                fontsize=7,
                color="0.2",
                bbox=dict(fc="white", ec="none", pad=0.5),
            )
        else:
            ax.bar(
                x,
                h - lo,
                bottom=lo,
                width=w * 0.9,
                color=c,
                hatch="..." if kind == "reference" else None,
                edgecolor="white" if kind == "reference" else c,
                lw=0.3,
            )
    ax.set_yscale("log")
    ax.set_ylim(lo, hi)
    ax.set_xticks(range(len(groups)), [g[0] for g in groups])
    ax.set_xlim(-0.6, len(groups) - 0.4)
    what = "best accuracy" if metric == "test_acc" else "minimum loss"
    ax.set_ylabel(f"Parameters to match\nvANN's {what}")


def best_bar_panel(
    ax,
    best: pd.DataFrame,
    datasets: Sequence[str],
    models: Sequence[str],
    col: str,
    ylabel: str,
    scale: float = 1.0,
    log: bool = False,
) -> None:
    """Bars of ``{col}_mean`` ± ``{col}_std`` (1 SD over trials) of the best configuration per
    (dataset, model)."""
    pos, w = _bar_positions(len(datasets), len(models))
    for i, d in enumerate(datasets):
        for j, m in enumerate(models):
            r = best[(best["dataset"] == d) & (best["model"] == m)]
            if r.empty or not np.isfinite(r[f"{col}_mean"].iloc[0]):
                continue
            mean = float(r[f"{col}_mean"].iloc[0]) * scale
            ci = float(np.nan_to_num(r[f"{col}_std"].iloc[0])) * scale
            ax.bar(
                pos[i, j],
                mean,
                width=w * 0.9,
                color=style.model_color(m),
                yerr=ci,
                error_kw=dict(lw=0.8, capsize=1.5, ecolor="0.2"),
            )
    if log:
        ax.set_yscale("log")
    ax.set_xticks(range(len(datasets)), [dataset_title(d) for d in datasets])
    ax.set_xlim(-0.6, len(datasets) - 0.4)
    ax.set_ylabel(ylabel)


_NEVER_HANDLE = Patch(facecolor="none", edgecolor="0.3", hatch="///", label="never matched")
_REF_HANDLE = Patch(facecolor="0.6", edgecolor="white", hatch="...", label="vANN's best (reference)")


# --------------------------------------------------------------------------------------------------
# Fig. 3
# --------------------------------------------------------------------------------------------------
def plot_fig3(
    summary: str | Path | pd.DataFrame,
    out_paths,
    models: Sequence[str] = FIG2_MODELS,
    datasets: Sequence[str] | None = None,
) -> dict[str, pd.DataFrame]:
    """Fig. 3: per dataset of the main experiment, the parameters each model needs to beat vANN's
    best mean accuracy / lowest mean loss (log scale, "never matched" drawn), and the accuracy and
    loss efficiency of each model's best-accuracy configuration (mean ± 1 SD over trials; f
    normalised per dataset over those rows of ``models``: the paper's Methods, Fig. 3c-d).

    Returns the tables it plotted: ``match_acc``, ``match_loss`` and ``best_acc`` (the efficiency
    table of the best-accuracy configurations, :func:`~dendritic.trials.best_efficiency`).
    """
    df = select(as_frame(summary), "main", models=models)
    if datasets is not None:
        df = df[df["dataset"].isin(datasets)]
    if df.empty:
        raise ValueError(f"no main-experiment runs of {list(models)} in the summary")
    datasets = sort_datasets(df["dataset"])
    models = [m for m in ordered_models(df["model"])]
    agg = aggregate_seeds(df)
    tables = {
        "match_acc": matches(agg, "test_acc"),
        "match_loss": matches(agg, "test_loss"),
        "best_acc": best_efficiency(df, models),
    }
    style.setup()
    width = max(7.5, 2.0 + 1.1 * len(datasets) * 2)
    fig, axes = plt.subplots(2, 2, figsize=(width, 5.6), squeeze=False)
    for row, metric in enumerate(("test_acc", "test_loss")):
        key = "acc" if metric == "test_acc" else "loss"
        groups = [(dataset_title(d), d, models) for d in datasets]
        params_to_match_panel(axes[row, 0], tables[f"match_{key}"], groups, metric)
        best_bar_panel(
            axes[row, 1],
            tables["best_acc"],
            datasets,
            models,
            "acc_eff" if metric == "test_acc" else "loss_eff",
            EFF_LABEL[metric],
        )
    axes[0, 0].set_title("Parameters needed to match vANN")
    axes[0, 1].set_title("Efficiency of the best-accuracy configurations (mean ± 1 SD)", fontsize=9.5)
    fig.tight_layout()
    legend_top(
        fig,
        model_handles(models) + [_REF_HANDLE, _NEVER_HANDLE],
        models + [_REF_HANDLE.get_label(), _NEVER_HANDLE.get_label()],
    )
    diverged_note(fig, df)
    style.save(fig, out_paths)
    return tables


def plot_fig4(
    summary: str | Path | pd.DataFrame, out_paths, pairs=SAMPLING_PAIRS, datasets: Sequence[str] | None = None
) -> dict[str, pd.DataFrame]:
    """Fig. 4: dANN-X against vANN-X with the same input sampling X (R, LRF, GRF; F = pdANN vs
    vANN). Rows 1-2: parameters each needs to beat vANN's best accuracy / lowest loss; rows 3-4:
    the difference of the best-accuracy configurations' efficiency, dANN-X minus vANN-X
    (:func:`efficiency_deltas`; accuracy: > 0 means the dendritic model is more efficient; loss:
    < 0 means it is), mean ± 1 SD over trials."""
    full = as_frame(summary)
    pairs = present_pairs(full, pairs)
    if not pairs:
        raise ValueError("no (dANN-X, vANN-X) pair with main-experiment runs in the summary")
    models = ordered_models({m for p in pairs for m in p[1:]} | {"vANN"})
    df = select(full, "main")
    if datasets is not None:
        df = df[df["dataset"].isin(datasets)]
    agg = aggregate_seeds(df)
    df = df[df["model"].isin(models)]
    datasets = sort_datasets(df["dataset"])
    tables = {
        "match_acc": matches(agg, "test_acc"),
        "match_loss": matches(agg, "test_loss"),
        "delta": efficiency_deltas(df, pairs),
    }
    delta = tables["delta"]

    style.setup()
    n = len(datasets)
    fig, axes = plt.subplots(4, n, figsize=(max(5.0, 0.9 + 2.5 * n), 8.6), squeeze=False)
    ticks = [x for x, *_ in pairs]
    for col, d in enumerate(datasets):
        for row, metric in enumerate(("test_acc", "test_loss")):
            key = "acc" if metric == "test_acc" else "loss"
            groups = [(x, d, [dm, vm]) for x, dm, vm in pairs]
            params_to_match_panel(axes[row, col], tables[f"match_{key}"], groups, metric)
            ax = axes[row + 2, col]
            sub = delta[(delta["metric"] == metric) & (delta["dataset"] == d)]
            for j, (x, dm, vm) in enumerate(pairs):
                r = sub[sub["sampling"] == x]
                if r.empty:
                    continue
                ax.bar(
                    j,
                    r["delta"].iloc[0],
                    width=0.6,
                    color=style.model_color(dm),
                    yerr=np.nan_to_num(r["sd"].iloc[0]),
                    error_kw=dict(lw=0.8, capsize=2, ecolor="0.2"),
                )
            ax.axhline(0, color="0.3", lw=0.8)
            ax.set_xticks(range(len(pairs)), ticks)
            ax.set_xlim(-0.6, len(pairs) - 0.4)
            eff = "accuracy" if metric == "test_acc" else "loss"
            better = "> 0: dANN-X better" if metric == "test_acc" else "< 0: dANN-X better"
            ax.set_ylabel(f"Δ {eff} efficiency\n(dANN-X − vANN-X)\n{better}")
            ax.set_xlabel("Input sampling X")
        axes[0, col].set_title(dataset_title(d), fontsize=11, fontweight="bold")
        if col:
            for ax in axes[:, col]:
                ax.set_ylabel("")
    fig.tight_layout(h_pad=1.2)
    pair_txt = ", ".join(f"{x}: {dm} vs {vm}" for x, dm, vm in pairs)
    legend_top(
        fig,
        model_handles(models) + [_REF_HANDLE, _NEVER_HANDLE],
        models + [_REF_HANDLE.get_label(), _NEVER_HANDLE.get_label()],
        y=1.025,
        ncol=min(len(models) + 2, 6),
    )
    fig.text(
        0.5,
        1.003,
        f"Same input sampling X — {pair_txt}.\nRows 1-2: parameters needed to "
        "match vANN; rows 3-4: efficiency difference of the best-accuracy configurations, "
        "trial by trial (mean ± 1 SD over trials)",
        ha="center",
        va="bottom",
        fontsize=7.5,
        color="0.25",
    )
    diverged_note(fig, df)
    style.save(fig, out_paths)
    return tables
