"""Performance figures: Fig. 2 (loss/accuracy vs parameters and vs D), Suppl. Fig. 2 (training
curves) and Suppl. Fig. 7 (epoch of minimum validation loss of the best configurations).

All of them read ``results/summary.csv`` (or a cell's ``history.csv``); means and 95% CIs over
seeds come from :func:`dendritic.trials.aggregate_seeds`, which leaves diverged runs out and
counts them, and every figure says how many it left out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import matplotlib.pyplot as plt
import pandas as pd

from dendritic.paper import LEGEND_ORDER, PRIMARY_DATASET
from dendritic.plots import style
from dendritic.plots.common import as_frame, diverged_note, line
from dendritic.trials import aggregate_seeds, min_val_epoch_table, vann_best


def _select(df: pd.DataFrame, dataset: str, models: Sequence[str], experiment: str = "main") -> pd.DataFrame:
    sel = df[(df["experiment"] == experiment) & (df["dataset"] == dataset) & df["model"].isin(models)]
    if sel.empty:
        raise ValueError(f"no {experiment!r} runs of {list(models)} on {dataset!r} in the summary")
    return sel


def plot_fig2(
    summary: str | Path | pd.DataFrame, out_paths, models: Sequence[str], dataset: str = PRIMARY_DATASET
) -> pd.DataFrame:
    """Fig. 2 as the paper draws it: test loss and accuracy against trainable parameters (log x),
    one line per model through its configurations' means with the 95 % CI over seeds as a band,
    dashed lines at vANN's best mean (horizontal) and at that configuration's parameters
    (vertical); then loss and accuracy against D for the two largest S, dendritic models only
    (vANN is the dashed line there). Returns the aggregated table it plotted."""
    df = as_frame(summary)
    df = _select(df, dataset, models)
    agg = aggregate_seeds(df)
    models = [m for m in LEGEND_ORDER if m in set(agg["model"])]
    s_values = sorted(agg["somata"].unique())[-2:]

    style.setup()
    fig, axes = plt.subplots(
        2,
        1 + len(s_values),
        figsize=(4.0 + 3.2 * len(s_values), 6.2),
        gridspec_kw={"width_ratios": [1.5] + [1] * len(s_values)},
        squeeze=False,
    )
    metrics = [("test_loss", "Test loss", 1.0), ("test_acc", "Test accuracy (%)", 100.0)]
    for row, (metric, ylabel, scale) in enumerate(metrics):
        ax = axes[row, 0]
        for m in models:
            a = agg[agg["model"] == m].sort_values("n_params")
            line(ax, a["n_params"], a[f"{metric}_mean"] * scale, a[f"{metric}_ci95"] * scale, m)
        best = vann_best(agg, metric)
        if best is not None:
            ax.axhline(best[0] * scale, color="k", ls="--", lw=1, label="vANN best")
            ax.axvline(best[1], color="k", ls="--", lw=1)
        ax.set_xscale("log")
        ax.set_xlabel("Trainable parameters")
        ax.set_ylabel(ylabel)
        for col, s in enumerate(s_values, start=1):
            ax = axes[row, col]
            for m in models:
                if m == "vANN":  # the paper's vs-D panels show the dendritic models only
                    continue
                a = agg[(agg["model"] == m) & (agg["somata"] == s)].sort_values("dendrites")
                if len(a):
                    line(ax, a["dendrites"], a[f"{metric}_mean"] * scale, a[f"{metric}_ci95"] * scale, m)
            if best is not None:
                ax.axhline(best[0] * scale, color="k", ls="--", lw=1)
            ax.set_xscale("log", base=2)
            d_values = sorted(agg["dendrites"].unique())
            ax.set_xticks(d_values, [str(d) for d in d_values])
            ax.minorticks_off()
            ax.set_xlabel("Dendrites per soma (D)")
            ax.set_title(f"S = {s} somata")
            ax.set_ylabel(ylabel)
    axes[0, 0].set_title(f"{dataset.upper()}: mean, band = 95% CI over seeds")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=len(labels), frameon=False, bbox_to_anchor=(0.5, 1.03))
    style.mark_panels_without_data(fig)  # every run diverged: say so (log axes need data)
    fig.tight_layout()
    diverged_note(fig, df)
    style.save(fig, out_paths)
    return agg


def plot_curves(cells: Sequence[dict], histories: Sequence[str | Path], out_paths) -> None:
    """Suppl. Fig. 2: train (solid) vs validation (dashed) loss and accuracy per epoch, mean over
    seeds, one column per configuration size (small / mid / large), one colour per model."""
    frames = []
    for cell, path in zip(cells, histories):
        h = pd.read_csv(path)
        h["model"], h["size"] = cell["model"], f"D={cell['dendrites']}, S={cell['somata']}"
        h["order"] = cell["dendrites"] * cell["somata"]
        frames.append(h)
    if not frames:
        raise ValueError("no training histories to plot")
    df = pd.concat(frames, ignore_index=True)
    sizes = df.drop_duplicates("size").sort_values("order")["size"].tolist()
    models = [m for m in LEGEND_ORDER if m in set(df["model"])]

    style.setup()
    fig, axes = plt.subplots(2, len(sizes), figsize=(3.3 * len(sizes), 5.6), squeeze=False, sharey="row")
    for col, size in enumerate(sizes):
        for m in models:
            h = df[(df["size"] == size) & (df["model"] == m)].groupby("epoch").mean(numeric_only=True)
            if h.empty:
                continue
            ep = h.index + 1
            c = style.model_color(m)
            axes[0, col].plot(ep, h["train_loss"], color=c, lw=1.2, label=m)
            axes[0, col].plot(ep, h["val_loss"], color=c, lw=1.2, ls="--")
            axes[1, col].plot(ep, 100 * h["train_acc"], color=c, lw=1.2)
            axes[1, col].plot(ep, 100 * h["val_acc"], color=c, lw=1.2, ls="--")
        axes[0, col].set_title(size)
        axes[1, col].set_xlabel("Epoch")
    axes[0, 0].set_ylabel("Loss")
    axes[1, 0].set_ylabel("Accuracy (%)")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    handles += [plt.Line2D([], [], color="k", lw=1.2), plt.Line2D([], [], color="k", lw=1.2, ls="--")]
    labels += ["training", "validation"]
    fig.legend(handles, labels, loc="upper center", ncol=len(labels), frameon=False, bbox_to_anchor=(0.5, 1.04))
    fig.tight_layout()
    style.save(fig, out_paths)


def plot_min_val_epoch(
    summary: str | Path | pd.DataFrame, out_paths, models: Sequence[str], dataset: str | None = None
) -> pd.DataFrame:
    """Suppl. Fig. 7 as the authors draw it: box plots of the epoch of minimum validation loss
    (0-based) of the best-accuracy configuration of each model (its seeds), one group per dataset
    of the main experiment, with a dashed line at each dataset's number of epochs (15 / 25 / 50 at
    the paper's protocol). ``dataset`` restricts it to one dataset. Returns the runs drawn."""
    df = as_frame(summary)
    if dataset is not None:
        df = df[df["dataset"] == dataset]
    runs = min_val_epoch_table(df, models)
    datasets = list(dict.fromkeys(runs["dataset"]))
    models = [m for m in LEGEND_ORDER if m in set(runs["model"])]

    style.setup()
    fig, ax = plt.subplots(figsize=(max(4.0, 1.0 + 1.3 * len(datasets) * max(len(models), 1) / 4), 3.6))
    width = 0.8 / max(len(models), 1)
    for j, m in enumerate(models):
        pos, data = [], []
        for i, d in enumerate(datasets):
            v = runs[(runs["dataset"] == d) & (runs["model"] == m)]["epoch_min_val_loss"].to_numpy(float)
            if len(v):
                pos.append(i + (j - (len(models) - 1) / 2) * width)
                data.append(v)
        if not data:
            continue
        c = style.model_color(m)
        ax.boxplot(
            data,
            positions=pos,
            widths=width * 0.85,
            patch_artist=True,
            manage_ticks=False,
            boxprops=dict(facecolor=c, alpha=0.6, edgecolor=c),
            medianprops=dict(color="k"),
            whiskerprops=dict(color=c),
            capprops=dict(color=c),
            flierprops=dict(marker=".", ms=3, markeredgecolor=c),
        )
        ax.plot([], [], color=c, lw=6, alpha=0.6, label=m)
    col = "max_epochs" if "max_epochs" in runs else "epochs"
    for ep in sorted(runs[col].dropna().astype(int).unique()):
        ax.axhline(ep, color="k", ls="--", lw=0.8)
        ax.text(len(datasets) - 0.5, ep, f" {ep} epochs", fontsize=7, va="center", ha="left")
    ax.set_xticks(range(len(datasets)), [d.upper() for d in datasets])
    ax.set_xlim(-0.5, max(len(datasets), 1) - 0.5)
    ax.set_ylabel("Epoch of minimum validation loss (0-based)")
    ax.set_title("Best-accuracy configuration of each model, all its seeds")
    if runs.empty:  # every run diverged
        ax.text(
            0.5,
            0.5,
            style.NO_FINITE_RUNS,
            transform=ax.transAxes,
            ha="center",
            va="center",
            fontsize=9,
            color="firebrick",
        )
    if models:
        ax.legend(frameon=False, fontsize=7, ncol=min(len(models), 5), loc="upper center", bbox_to_anchor=(0.5, -0.1))
    style.mark_panels_without_data(fig)  # every run diverged: say so
    fig.tight_layout()
    diverged_note(fig, df[df["model"].isin(models) & (df["experiment"] == "main")])
    style.save(fig, out_paths)
    return runs
