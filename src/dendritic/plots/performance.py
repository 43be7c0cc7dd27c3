"""Performance figures: Fig. 2 (loss/accuracy vs parameters and vs D), Suppl. Fig. 2 (training
curves) and Suppl. Fig. 7 (epoch of minimum validation loss).

All of them read ``results/summary.csv`` (or a cell's ``history.csv``); means and 95% CIs over
seeds come from :func:`dendritic.analysis.aggregate_seeds`, which leaves diverged runs out and
counts them, and every figure says how many it left out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from dendritic.analysis import aggregate_seeds
from dendritic.plots import style
from dendritic.summary import load_summary


def _select(df: pd.DataFrame, dataset: str, models: Sequence[str], experiment: str = "main") -> pd.DataFrame:
    sel = df[(df["experiment"] == experiment) & (df["dataset"] == dataset) & df["model"].isin(models)]
    if sel.empty:
        raise ValueError(f"no {experiment!r} runs of {list(models)} on {dataset!r} in the summary")
    return sel


def _diverged_note(fig, df: pd.DataFrame) -> None:
    n = int(df["diverged"].sum()) if "diverged" in df else 0
    if n:
        bad = df[df["diverged"]].groupby("model").size()
        txt = ", ".join(f"{m}: {k}" for m, k in bad.items())
        fig.text(0.01, -0.02, f"Diverged runs (loss NaN/inf or above training.divergence_loss) left out of the means: {n} ({txt})",
                 fontsize=7, color="firebrick", ha="left", va="top")


def _errorbar(ax, x, mean, ci, model, **kw):
    ax.errorbar(x, mean, yerr=np.nan_to_num(ci), color=style.model_color(model), label=model,
                marker="o", ms=3.5, lw=1.0, elinewidth=0.8, capsize=1.5, **kw)


def plot_fig2(summary: str | Path | pd.DataFrame, out_paths, models: Sequence[str],
              dataset: str = "fmnist") -> pd.DataFrame:
    """Fig. 2: test loss and accuracy against trainable parameters (log x, dashed line at vANN's
    best) and against D for the two largest S. Returns the aggregated table it plotted."""
    df = summary if isinstance(summary, pd.DataFrame) else load_summary(summary)
    df = _select(df, dataset, models)
    agg = aggregate_seeds(df)
    models = [m for m in style.MODEL_ORDER if m in set(agg["model"])]
    s_values = sorted(agg["somata"].unique())[-2:]

    style.setup()
    fig, axes = plt.subplots(2, 1 + len(s_values), figsize=(4.0 + 3.2 * len(s_values), 6.2),
                             gridspec_kw={"width_ratios": [1.5] + [1] * len(s_values)}, squeeze=False)
    metrics = [("test_loss", "Test loss", 1.0), ("test_acc", "Test accuracy (%)", 100.0)]
    for row, (metric, ylabel, scale) in enumerate(metrics):
        ax = axes[row, 0]
        for m in models:
            a = agg[agg["model"] == m].sort_values("n_params")
            _errorbar(ax, a["n_params"], a[f"{metric}_mean"] * scale, a[f"{metric}_ci95"] * scale, m,
                      ls="none", alpha=0.9)
        ref = agg[agg["model"] == "vANN"]
        if not ref.empty:
            best = ref[f"{metric}_mean"].min() if metric == "test_loss" else ref[f"{metric}_mean"].max()
            ax.axhline(best * scale, color=style.model_color("vANN"), ls="--", lw=1,
                       label="vANN best")
        ax.set_xscale("log")
        ax.set_xlabel("Trainable parameters")
        ax.set_ylabel(ylabel)
        for col, s in enumerate(s_values, start=1):
            ax = axes[row, col]
            for m in models:
                a = agg[(agg["model"] == m) & (agg["somata"] == s)].sort_values("dendrites")
                if len(a):
                    _errorbar(ax, a["dendrites"], a[f"{metric}_mean"] * scale,
                              a[f"{metric}_ci95"] * scale, m)
            ax.set_xscale("log", base=2)
            d_values = sorted(agg["dendrites"].unique())
            ax.set_xticks(d_values, [str(d) for d in d_values])
            ax.minorticks_off()
            ax.set_xlabel("Dendrites per soma (D)")
            ax.set_title(f"S = {s} somata")
            ax.set_ylabel(ylabel)
    axes[0, 0].set_title(f"{dataset.upper()}: mean ± 95% CI over seeds")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    handles, labels = handles[1:] + handles[:1], labels[1:] + labels[:1]  # models first
    fig.legend(handles, labels, loc="upper center", ncol=len(labels), frameon=False,
               bbox_to_anchor=(0.5, 1.03))
    style.mark_panels_without_data(fig)  # every run diverged: say so (log axes need data)
    fig.tight_layout()
    _diverged_note(fig, df)
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
    models = [m for m in style.MODEL_ORDER if m in set(df["model"])]

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
    fig.legend(handles, labels, loc="upper center", ncol=len(labels), frameon=False,
               bbox_to_anchor=(0.5, 1.04))
    fig.tight_layout()
    style.save(fig, out_paths)


def plot_min_val_epoch(summary: str | Path | pd.DataFrame, out_paths, models: Sequence[str],
                       dataset: str = "fmnist") -> None:
    """Suppl. Fig. 7: epoch of minimum validation loss (1-based, mean ± 95% CI) vs parameters."""
    df = summary if isinstance(summary, pd.DataFrame) else load_summary(summary)
    df = _select(df, dataset, models).copy()
    df["min_epoch"] = df["epoch_min_val_loss"] + 1
    agg = aggregate_seeds(df, metrics=("min_epoch",))
    models = [m for m in style.MODEL_ORDER if m in set(agg["model"])]

    style.setup()
    fig, ax = plt.subplots(figsize=(5.2, 3.6))
    for m in models:
        a = agg[agg["model"] == m].sort_values("n_params")
        _errorbar(ax, a["n_params"], a["min_epoch_mean"], a["min_epoch_ci95"], m, ls="none")
    max_ep = int(df["max_epochs"].max()) if "max_epochs" in df else int(df["epochs"].max())
    ax.axhline(max_ep, color="grey", lw=0.8, ls=":", label=f"last epoch ({max_ep})")
    ax.set_xscale("log")
    ax.set_xlabel("Trainable parameters")
    ax.set_ylabel("Epoch of minimum validation loss")
    ax.set_title(f"{dataset.upper()}: mean ± 95% CI over seeds")
    ax.legend(frameon=False, fontsize=7, ncol=2)
    style.mark_panels_without_data(fig)  # every run diverged: say so (log axes need data)
    fig.tight_layout()
    _diverged_note(fig, df)
    style.save(fig, out_paths)
