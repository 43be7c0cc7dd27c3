"""Supplementary figures of the other experiments, all computed from ``results/summary.csv``:

* Suppl. Fig. 3 — Fig.-2-style test loss / accuracy against parameters on every other dataset;
* Suppl. Fig. 4 — dropout (vANN-0.2/0.5/0.8 against vANN and the dANNs);
* Suppl. Fig. 5 — learning rates;
* Suppl. Fig. 6 — early stopping (test metrics and the epoch training stopped at);
* Suppl. Fig. 8 — depth (L = 1 from the main experiment against L = 2, 3, 4);
* Suppl. Fig. 9 — dANN-X against vANN-X with the same input sampling;
* Suppl. Fig. 10 — dANN against sANN (structured vs random sparse dendrite→soma wiring).

Means and 95% CIs over seeds come from :func:`dendritic.trials.aggregate_seeds` (diverged runs
left out, counted in a note under each figure); conventions as in :mod:`dendritic.plots.efficiency`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from dendritic.paper import PRIMARY_DATASET, SAMPLING_PAIRS, SPARSE_PAIRS, sort_datasets
from dendritic.plots import style
from dendritic.plots.common import (
    ACC,
    LOSS,
    as_frame,
    dataset_title,
    diverged_note,
    errorbar,
    log_param_axis,
    ordered_models,
)
from dendritic.trials import aggregate_seeds, best_rows, present_pairs, select, with_labels

METRICS = (LOSS, ACC)


def _label_agg(df: pd.DataFrame, metrics=("test_acc", "test_loss")) -> pd.DataFrame:
    """aggregate_seeds plus the paper's label (vANN-0.2 …) of each configuration, from the runs'
    ``label`` column (:func:`dendritic.trials.with_labels`)."""
    return with_labels(aggregate_seeds(df, metrics=metrics), df)


def _vs_params(
    ax, agg: pd.DataFrame, labels: Sequence[str], metric, ref: str | None = "vANN", ref_agg: pd.DataFrame | None = None
) -> None:
    """Mean ± 95% CI of ``metric`` against trainable parameters (log x), one colour per label,
    and a dashed line at the reference's best mean (from ``ref_agg`` or ``agg``)."""
    col, ylabel, scale = metric
    for m in labels:
        a = agg[agg["label"] == m].sort_values("n_params")
        if len(a):
            errorbar(
                ax,
                a["n_params"].astype(float),
                a[f"{col}_mean"] * scale,
                a[f"{col}_ci95"] * scale,
                m,
                ls="none",
                alpha=0.9,
            )
    src = agg if ref_agg is None else ref_agg
    r = src[src["label"] == ref] if ref else src.iloc[:0]
    if len(r) and r[f"{col}_mean"].notna().any():
        best = r[f"{col}_mean"].min() if col == "test_loss" else r[f"{col}_mean"].max()
        ax.axhline(best * scale, color=style.model_color(ref), ls="--", lw=0.9, label=f"{ref} best")
    log_param_axis(ax)
    ax.set_xlabel("Trainable parameters")
    ax.set_ylabel(ylabel)


def _legend(fig, axes, y=1.0, ncol=None) -> None:
    """One legend for the whole figure from every axes' labelled artists (deduplicated)."""
    seen: dict[str, object] = {}
    for ax in np.ravel(axes):
        for h, lab in zip(*ax.get_legend_handles_labels()):
            seen.setdefault(lab, h)
    models = [lab for lab in ordered_models([k for k in seen if not k.endswith(" best")])]
    refs = [k for k in seen if k.endswith(" best")]
    labels = models + refs
    if ncol is None:  # as many columns as fit, rows balanced
        fit = max(3, int(fig.get_size_inches()[0] / 1.15))
        rows = -(-len(labels) // fit)
        ncol = -(-len(labels) // rows)
    fig.legend(
        [seen[k] for k in labels],
        labels,
        loc="lower center",
        frameon=False,
        ncol=ncol,
        bbox_to_anchor=(0.5, y),
        fontsize=8,
    )


def _grid(n_rows: int, n_cols: int, w: float = 3.2, h: float = 2.7, **kw):
    style.setup()
    return plt.subplots(n_rows, n_cols, figsize=(max(w * n_cols, 5.0), h * n_rows), squeeze=False, **kw)


# --------------------------------------------------------------------------------------------------
# Suppl. Fig. 3: the other datasets
# --------------------------------------------------------------------------------------------------
def plot_datasets(
    summary: str | Path | pd.DataFrame,
    out_paths,
    models: Sequence[str],
    datasets: Sequence[str] | None = None,
    exclude: Sequence[str] = (PRIMARY_DATASET,),
) -> pd.DataFrame:
    """Suppl. Fig. 3: test loss (top) and accuracy (bottom) against trainable parameters for each
    main-experiment dataset other than ``exclude`` (FMNIST is Fig. 2); dashed: vANN's best."""
    df = select(as_frame(summary), "main", models=models)
    if datasets is None:
        datasets = [d for d in sort_datasets(df["dataset"]) if d not in exclude]
    df = df[df["dataset"].isin(datasets)]
    if df.empty:
        raise ValueError(f"no main-experiment runs of {list(models)} on {list(datasets)}")
    datasets = sort_datasets(df["dataset"])
    agg = _label_agg(df)
    labels = ordered_models(agg["label"])
    fig, axes = _grid(2, len(datasets))
    for j, d in enumerate(datasets):
        for i, metric in enumerate(METRICS):
            _vs_params(axes[i, j], agg[agg["dataset"] == d], labels, metric)
        axes[0, j].set_title(dataset_title(d))
    fig.tight_layout()
    _legend(fig, axes)
    diverged_note(fig, df)
    style.save(fig, out_paths)
    return agg


# --------------------------------------------------------------------------------------------------
# Suppl. Fig. 4: dropout
# --------------------------------------------------------------------------------------------------
def plot_dropout(summary: str | Path | pd.DataFrame, out_paths, models: Sequence[str]) -> pd.DataFrame:
    """Suppl. Fig. 4: vANN with dropout (vANN-p, dropout experiment) against vANN without dropout and
    the dANNs (main experiment, same dataset), test loss / accuracy against parameters, one column
    per dataset of the dropout experiment. Dashed: vANN's (no dropout) best."""
    full = as_frame(summary)
    drop = select(full, "dropout")
    if drop.empty:
        raise ValueError("no dropout-experiment runs in the summary")
    datasets = sort_datasets(drop["dataset"])
    main = select(full, "main", models=models)
    main = main[main["dataset"].isin(datasets)]
    df = pd.concat([drop, main], ignore_index=True)
    agg = _label_agg(df)
    labels = ordered_models(agg["label"])
    fig, axes = _grid(len(datasets), 2, w=4.4, h=3.0)
    for i, d in enumerate(datasets):
        for j, metric in enumerate(METRICS):
            _vs_params(axes[i, j], agg[agg["dataset"] == d], labels, metric)
            axes[i, j].set_title(f"{dataset_title(d)}: dropout after every hidden layer")
    fig.tight_layout()
    _legend(fig, axes)
    diverged_note(fig, with_labels(df).assign(model=lambda x: x["label"]))
    style.save(fig, out_paths)
    return agg


def _first_dataset_runs(full: pd.DataFrame, experiment: str) -> tuple[pd.DataFrame, str]:
    """The runs of ``experiment`` on its first dataset (paper order), and that dataset."""
    runs = select(full, experiment)
    if runs.empty:
        raise ValueError(f"no {experiment.replace('_', '-')}-experiment runs in the summary")
    dataset = sort_datasets(runs["dataset"])[0]
    return runs[runs["dataset"] == dataset], dataset


# --------------------------------------------------------------------------------------------------
# Suppl. Fig. 5: learning rates
# --------------------------------------------------------------------------------------------------
def plot_learning_rates(summary: str | Path | pd.DataFrame, out_paths, curve_models: Sequence[str]) -> pd.DataFrame:
    """Suppl. Fig. 5: one column per Adam learning rate (the learning-rate experiment's rates and
    the default of the main experiment, when it ran on the same dataset) with test loss / accuracy
    against parameters for ``curve_models``; the last column: every model's best mean accuracy and
    lowest mean loss against the learning rate."""
    full = as_frame(summary)
    lr_runs, dataset = _first_dataset_runs(full, "learning_rate")
    models = sorted(set(lr_runs["model"]))
    main = select(full, "main", dataset, models)
    df = pd.concat([lr_runs, main], ignore_index=True)
    agg = _label_agg(df)
    lrs = sorted(agg["lr"].unique())
    curve = [m for m in ordered_models(agg["label"]) if m in curve_models] or ordered_models(agg["label"])
    fig, axes = _grid(2, len(lrs) + 1)
    for j, lr in enumerate(lrs):
        for i, metric in enumerate(METRICS):
            _vs_params(axes[i, j], agg[agg["lr"] == lr], curve, metric)
        src = "main experiment" if (main["lr"] == lr).any() and not (lr_runs["lr"] == lr).any() else ""
        axes[0, j].set_title(f"lr = {lr:g}" + (f" ({src})" if src else ""))
    best = {m: best_rows(agg, m, by=["model", "lr"]) for m in ("test_acc", "test_loss")}
    for i, (col, ylabel, scale) in enumerate(METRICS):
        ax = axes[i, -1]
        b = best[col]
        for m in ordered_models(b["model"]):
            r = b[b["model"] == m].sort_values("lr")
            errorbar(ax, r["lr"], r[f"{col}_mean"] * scale, r[f"{col}_ci95"] * scale, m, ls="-")
        ax.set_xscale("log")
        ax.set_xlabel("Adam learning rate")
        ax.set_ylabel(("Best " if col == "test_acc" else "Lowest ") + ylabel[0].lower() + ylabel[1:])
    axes[0, -1].set_title("Best configuration, all models")
    fig.suptitle(f"{dataset_title(dataset)}: mean ± 95% CI over seeds", y=1.0, fontsize=10)
    fig.tight_layout()
    _legend(fig, axes, y=1.03)
    diverged_note(fig, df)
    style.save(fig, out_paths)
    return agg


# --------------------------------------------------------------------------------------------------
# Suppl. Fig. 6: early stopping
# --------------------------------------------------------------------------------------------------
def plot_early_stopping(summary: str | Path | pd.DataFrame, out_paths) -> pd.DataFrame:
    """Suppl. Fig. 6: early stopping (patience on the validation loss, best weights restored).
    Per dataset of the experiment: test loss, test accuracy and the number of epochs trained
    against parameters; dotted: the epoch limit."""
    df = select(as_frame(summary), "early_stopping")
    if df.empty:
        raise ValueError("no early-stopping runs in the summary")
    df = df.copy()
    df["epochs_run"] = df["epochs"].astype(float)
    agg = _label_agg(df, metrics=("test_acc", "test_loss", "epochs_run"))
    datasets = sort_datasets(df["dataset"])
    labels = ordered_models(agg["label"])
    fig, axes = _grid(len(datasets), 3, w=3.3, h=2.8)
    epochs_metric = ("epochs_run", "Epochs trained (stopping epoch)", 1.0)
    for i, d in enumerate(datasets):
        a = agg[agg["dataset"] == d]
        for j, metric in enumerate((LOSS, ACC, epochs_metric)):
            _vs_params(axes[i, j], a, labels, metric, ref="vANN" if j < 2 else None)
            axes[i, j].set_title(dataset_title(d))
        sub = df[df["dataset"] == d]
        limit = int(sub["max_epochs"].max()) if "max_epochs" in sub else int(sub["epochs"].max())
        pat = sub["patience"].dropna()
        axes[i, 2].axhline(limit, color="0.4", ls=":", lw=0.9)
        axes[i, 2].text(
            axes[i, 2].get_xlim()[1],
            limit,
            f"limit {limit}" + (f", patience {int(pat.iloc[0])}" if len(pat) else ""),
            va="bottom",
            ha="right",
            fontsize=7,
            color="0.3",
        )
        axes[i, 2].set_ylim(0, limit * 1.12)
    fig.tight_layout()
    _legend(fig, axes)
    diverged_note(fig, df)
    style.save(fig, out_paths)
    return agg


# --------------------------------------------------------------------------------------------------
# Suppl. Fig. 8: depth
# --------------------------------------------------------------------------------------------------
def plot_depth(summary: str | Path | pd.DataFrame, out_paths) -> pd.DataFrame:
    """Suppl. Fig. 8: test loss / accuracy against the number of dendrite→soma layer pairs L, one
    column per (D, S) of the depth experiment; L = 1 comes from the main experiment's runs of the
    same dataset, model and (D, S) when the config has them."""
    full = as_frame(summary)
    deep, dataset = _first_dataset_runs(full, "depth")
    grid = set(zip(deep["model"], deep["dendrites"], deep["somata"]))
    main = select(full, "main", dataset)
    main = main[[k in grid for k in zip(main["model"], main["dendrites"], main["somata"])]]
    df = pd.concat([deep, main], ignore_index=True)
    agg = _label_agg(df)
    sizes = sorted(set(zip(deep["dendrites"], deep["somata"])))
    labels = ordered_models(agg["label"])
    fig, axes = _grid(2, len(sizes), w=3.0, h=2.6, sharey="row")
    layers = sorted(agg["layers"].unique())
    for j, (d, s) in enumerate(sizes):
        a = agg[(agg["dendrites"] == d) & (agg["somata"] == s)]
        for i, (col, ylabel, scale) in enumerate(METRICS):
            ax = axes[i, j]
            for m in labels:
                r = a[a["label"] == m].sort_values("layers")
                if len(r):
                    errorbar(ax, r["layers"], r[f"{col}_mean"] * scale, r[f"{col}_ci95"] * scale, m, ls="-")
            ax.set_xticks(layers)
            ax.set_xlabel("Dendrite→soma layer pairs (L)")
            if j == 0:
                ax.set_ylabel(ylabel)
        axes[0, j].set_title(f"D = {d}, S = {s}")
    fig.suptitle(
        f"{dataset_title(dataset)}: mean ± 95% CI over seeds"
        + ("" if (agg["layers"] == 1).any() else " (no L = 1 runs of this grid in the main experiment)"),
        y=1.0,
        fontsize=10,
    )
    fig.tight_layout()
    _legend(fig, axes, y=1.03)
    diverged_note(fig, df)
    style.save(fig, out_paths)
    return agg


# --------------------------------------------------------------------------------------------------
# Suppl. Figs 9 and 10: pairs of models with the same input sampling
# --------------------------------------------------------------------------------------------------
def plot_pairs(
    summary: str | Path | pd.DataFrame, out_paths, pairs=SAMPLING_PAIRS, dataset: str = PRIMARY_DATASET, title: str = ""
) -> pd.DataFrame:
    """Test loss (top) and accuracy (bottom) against parameters, one column per input sampling X,
    each with its two models (e.g. dANN-X and vANN-X); dashed: vANN's best (when vANN ran)."""
    full = as_frame(summary)
    pairs = present_pairs(full, pairs, dataset)
    if not pairs:
        raise ValueError(f"none of the model pairs has main-experiment runs on {dataset!r}")
    models = {m for p in pairs for m in p[1:]}
    df = select(full, "main", dataset, sorted(models))
    agg = _label_agg(df)
    ref = _label_agg(select(full, "main", dataset, ["vANN"]))
    fig, axes = _grid(2, len(pairs), w=3.1, h=2.7, sharey="row")
    for j, (x, a_model, b_model) in enumerate(pairs):
        for i, metric in enumerate(METRICS):
            _vs_params(
                axes[i, j],
                agg,
                [a_model, b_model],
                metric,
                ref="vANN" if len(ref) else None,
                ref_agg=ref if len(ref) else None,
            )
            if j:
                axes[i, j].set_ylabel("")
        axes[0, j].set_title(f"{x}: {a_model} vs {b_model}")
    fig.suptitle(
        f"{dataset_title(dataset)}{': ' + title if title else ''} (mean ± 95% CI over seeds)", y=1.0, fontsize=10
    )
    fig.tight_layout()
    _legend(fig, axes, y=1.03)
    diverged_note(fig, df)
    style.save(fig, out_paths)
    return agg


def plot_sampling_pairs(summary, out_paths, dataset: str = PRIMARY_DATASET) -> pd.DataFrame:
    """Suppl. Fig. 9: dANN-X vs vANN-X (same input sampling X; F: pdANN vs vANN)."""
    return plot_pairs(
        summary,
        out_paths,
        SAMPLING_PAIRS,
        dataset,
        "structured dendrites (dANN-X) vs a dense vANN with the same input sampling",
    )


def plot_sparse_pairs(summary, out_paths, dataset: str = PRIMARY_DATASET) -> pd.DataFrame:
    """Suppl. Fig. 10: dANN-X vs sANN-X (structured vs random sparse dendrite→soma wiring)."""
    return plot_pairs(
        summary, out_paths, SPARSE_PAIRS, dataset, "structured (dANN) vs random sparse (sANN) dendrite→soma wiring"
    )


# --------------------------------------------------------------------------------------------------
# which of these figures a configuration can draw (used by workflow/rules/figures.smk)
# --------------------------------------------------------------------------------------------------
