"""Parameter-efficiency figures: Fig. 3 (parameters needed to match vANN, efficiency of the best
models, every dataset), Fig. 4 (dANN-X vs vANN-X with the same input sampling) and Fig. 7 (noisy
inputs and the sequential task).

Everything is computed from ``results/summary.csv`` with :mod:`dendritic.analysis`
(:func:`~dendritic.analysis.aggregate_seeds`, :func:`~dendritic.analysis.best_models`,
:func:`~dendritic.analysis.match_vann`, :func:`~dendritic.analysis.efficiency`); Fig. 7's example
images come from the prepared dataset with the training code's own noise recipe
(:func:`dendritic.training.run_data`). Diverged runs are left out of every mean and counted in a
note under each figure.

Conventions shared with :mod:`dendritic.plots.experiments`:

* *best model* of a model family = its configuration with the highest mean test accuracy
  (accuracy panels) or the lowest mean test loss (loss panels);
* efficiency scores are computed over all runs of one experiment on one dataset (the default of
  :func:`~dendritic.analysis.efficiency`), so they compare models within a panel, never across
  experiments; accuracy efficiency is shown for the best-accuracy configuration, loss efficiency
  for the best-loss configuration.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.patches import Patch
from matplotlib.ticker import FormatStrFormatter, FuncFormatter, LogLocator, NullFormatter

from dendritic.analysis import aggregate_seeds, best_models, efficiency, match_vann
from dendritic.plots import style
from dendritic.plots.performance import _diverged_note, _errorbar
from dendritic.plan import (  # noqa: F401  (re-exported for the figure modules)
    DATASET_ORDER, FIG3_MODELS, SAMPLING_PAIRS, SPARSE_PAIRS, robustness_dataset, sort_datasets)
from dendritic.summary import load_summary

#: The names the paper's figures use for the datasets.
DATASET_TITLES = {"mnist": "MNIST", "fmnist": "FMNIST", "kmnist": "KMNIST", "emnist": "EMNIST",
                  "cifar10": "CIFAR-10"}

#: Metrics: (summary column, axis label, scale to the plotted unit).
ACC = ("test_acc", "Test accuracy (%)", 100.0)
LOSS = ("test_loss", "Test loss (cross-entropy)", 1.0)
EFF_LABEL = {"test_acc": "Accuracy efficiency\n(acc / normalised f)",
             "test_loss": "Loss efficiency\n(loss × normalised f, lower = better)"}


# --------------------------------------------------------------------------------------------------
# shared helpers (also used by dendritic.plots.experiments and dendritic.reproduction)
# --------------------------------------------------------------------------------------------------
def as_frame(summary: str | Path | pd.DataFrame) -> pd.DataFrame:
    """The summary as a frame (a path is read with :func:`dendritic.summary.load_summary`)."""
    return summary.copy() if isinstance(summary, pd.DataFrame) else load_summary(summary)


def dataset_title(name: str) -> str:
    return DATASET_TITLES.get(name, name)


def ordered_models(names) -> list[str]:
    """Models in the legend order of :data:`style.MODEL_ORDER` (unknown names last)."""
    names = set(names)
    known = [m for m in style.MODEL_ORDER if m in names]
    return known + sorted(names - set(known))


def add_labels(df: pd.DataFrame) -> pd.DataFrame:
    """A ``label`` column as the paper writes models: ``vANN-0.2`` for vANN with dropout 0.2."""
    out = df.copy()
    drop = out["dropout"].fillna(0.0).astype(float) if "dropout" in out else pd.Series(0.0, index=out.index)
    out["label"] = [f"{m}-{p:g}" if p else m for m, p in zip(out["model"], drop)]
    return out


def select(df: pd.DataFrame, experiment: str, dataset: str | None = None,
           models: Sequence[str] | None = None) -> pd.DataFrame:
    sel = df[df["experiment"] == experiment]
    if dataset is not None:
        sel = sel[sel["dataset"] == dataset]
    if models is not None:
        sel = sel[sel["model"].isin(models)]
    return sel


def aggregate_with_efficiency(df: pd.DataFrame, by: Sequence[str] = ("experiment", "dataset")) -> pd.DataFrame:
    """Per configuration: mean ± 95% CI over seeds of test accuracy, test loss and both efficiency
    scores (efficiency normalised within ``by``; diverged runs left out and counted)."""
    eff = efficiency(df, by=by)
    return aggregate_seeds(eff, metrics=("test_acc", "test_loss", "acc_eff", "loss_eff"))


def best_rows(agg: pd.DataFrame, metric: str, by: Sequence[str] | None = None) -> pd.DataFrame:
    """:func:`best_models` of an aggregated frame (empty frame in, empty frame out)."""
    if agg.empty:
        return agg
    return best_models(agg, metric, by=by)


def matches(agg: pd.DataFrame, metric: str) -> pd.DataFrame:
    """:func:`match_vann` (reference vANN) of an aggregated frame; empty without any vANN rows."""
    if agg.empty or not (agg["model"] == "vANN").any():
        return pd.DataFrame(columns=["dataset", "model", "status", "n_params", "ref_n_params"])
    return match_vann(agg, metric)


def _si(v: float) -> str:
    """Compact parameter count for tick labels: 2k, 50k, 1.5M."""
    for div, suffix in ((1e6, "M"), (1e3, "k")):
        if v >= div:
            return f"{v / div:g}{suffix}"
    return f"{v:g}"


def log_param_axis(ax) -> None:
    """A log x axis of parameter counts: decade labels only, or, when the data span less than a
    decade (too few decades for labels), compact labels at 1, 1.5, 2, 3, 5 and 7 × 10^k."""
    ax.set_xscale("log")
    lo, hi = ax.get_xlim()
    if lo > 0 and hi / lo < 10:
        ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 1.5, 2.0, 3.0, 5.0, 7.0)))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: _si(v)))
    ax.xaxis.set_minor_formatter(NullFormatter())


def legend_top(fig, handles, labels, ncol=None, y=1.02) -> None:
    fig.legend(handles, labels, loc="lower center", ncol=ncol or min(len(labels), 8), frameon=False,
               bbox_to_anchor=(0.5, y), fontsize=8)


def model_handles(models: Sequence[str]) -> list[Patch]:
    return [Patch(facecolor=style.model_color(m), edgecolor="none", label=m) for m in models]


# --------------------------------------------------------------------------------------------------
# bar panels
# --------------------------------------------------------------------------------------------------
def _bar_positions(n_groups: int, n_bars: int, width: float = 0.8) -> tuple[np.ndarray, float]:
    """x of every bar: (n_groups, n_bars) array, bar width."""
    w = width / max(n_bars, 1)
    offs = (np.arange(n_bars) - (n_bars - 1) / 2) * w
    return np.arange(n_groups)[:, None] + offs[None, :], w


def params_to_match_panel(ax, match: pd.DataFrame, groups: Sequence[tuple[str, str, Sequence[str]]],
                          metric: str) -> None:
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
            ax.bar(x, hi - lo, bottom=lo, width=w * 0.9, facecolor="none", edgecolor=c, hatch="///",
                   lw=0.8)
            ax.text(x, lo * 1.6, "never", rotation=90, ha="center", va="bottom", fontsize=7,
                    color="0.2", bbox=dict(fc="white", ec="none", pad=0.5))
        else:
            ax.bar(x, h - lo, bottom=lo, width=w * 0.9, color=c,
                   hatch="..." if kind == "reference" else None,
                   edgecolor="white" if kind == "reference" else c, lw=0.3)
    ax.set_yscale("log")
    ax.set_ylim(lo, hi)
    ax.set_xticks(range(len(groups)), [g[0] for g in groups])
    ax.set_xlim(-0.6, len(groups) - 0.4)
    what = "best accuracy" if metric == "test_acc" else "minimum loss"
    ax.set_ylabel(f"Parameters to match\nvANN's {what}")


def best_bar_panel(ax, best: pd.DataFrame, datasets: Sequence[str], models: Sequence[str],
                   col: str, ylabel: str, scale: float = 1.0, log: bool = False) -> None:
    """Bars of ``{col}_mean`` ± ``{col}_ci95`` of the best configuration per (dataset, model)."""
    pos, w = _bar_positions(len(datasets), len(models))
    for i, d in enumerate(datasets):
        for j, m in enumerate(models):
            r = best[(best["dataset"] == d) & (best["model"] == m)]
            if r.empty or not np.isfinite(r[f"{col}_mean"].iloc[0]):
                continue
            mean = float(r[f"{col}_mean"].iloc[0]) * scale
            ci = float(np.nan_to_num(r[f"{col}_ci95"].iloc[0])) * scale
            ax.bar(pos[i, j], mean, width=w * 0.9, color=style.model_color(m),
                   yerr=ci, error_kw=dict(lw=0.8, capsize=1.5, ecolor="0.2"))
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
def plot_fig3(summary: str | Path | pd.DataFrame, out_paths, models: Sequence[str] = FIG3_MODELS,
              datasets: Sequence[str] | None = None) -> dict[str, pd.DataFrame]:
    """Fig. 3: per dataset of the main experiment, the parameters each model needs to beat vANN's
    best mean accuracy / lowest mean loss (log scale, "never matched" drawn), and the accuracy /
    loss efficiency of each model's best configuration (mean ± 95% CI over seeds).

    Returns the tables it plotted: ``match_acc``, ``match_loss``, ``best_acc``, ``best_loss``.
    """
    df = select(as_frame(summary), "main", models=models)
    if datasets is not None:
        df = df[df["dataset"].isin(datasets)]
    if df.empty:
        raise ValueError(f"no main-experiment runs of {list(models)} in the summary")
    datasets = sort_datasets(df["dataset"])
    models = [m for m in ordered_models(df["model"])]
    agg = aggregate_with_efficiency(df)
    tables = {
        "match_acc": matches(agg, "test_acc"),
        "match_loss": matches(agg, "test_loss"),
        "best_acc": best_rows(agg, "test_acc"),
        "best_loss": best_rows(agg, "test_loss"),
    }
    style.setup()
    width = max(7.5, 2.0 + 1.1 * len(datasets) * 2)
    fig, axes = plt.subplots(2, 2, figsize=(width, 5.6), squeeze=False)
    for row, metric in enumerate(("test_acc", "test_loss")):
        key = "acc" if metric == "test_acc" else "loss"
        groups = [(dataset_title(d), d, models) for d in datasets]
        params_to_match_panel(axes[row, 0], tables[f"match_{key}"], groups, metric)
        best_bar_panel(axes[row, 1], tables[f"best_{key}"], datasets, models,
                       "acc_eff" if metric == "test_acc" else "loss_eff", EFF_LABEL[metric])
    axes[0, 0].set_title("Parameters needed to match vANN")
    axes[0, 1].set_title("Efficiency of the best configurations (mean ± 95% CI)", fontsize=9.5)
    fig.tight_layout()
    legend_top(fig, model_handles(models) + [_REF_HANDLE, _NEVER_HANDLE],
               models + [_REF_HANDLE.get_label(), _NEVER_HANDLE.get_label()])
    _diverged_note(fig, df)
    style.save(fig, out_paths)
    return tables


# --------------------------------------------------------------------------------------------------
# Fig. 4
# --------------------------------------------------------------------------------------------------
def present_pairs(df: pd.DataFrame, pairs=SAMPLING_PAIRS, dataset: str | None = None) -> list[tuple[str, str, str]]:
    """The pairs whose two models both have main-experiment runs (on ``dataset`` if given)."""
    sel = select(df, "main", dataset)
    have = set(sel["model"])
    return [p for p in pairs if p[1] in have and p[2] in have]


def plot_fig4(summary: str | Path | pd.DataFrame, out_paths, pairs=SAMPLING_PAIRS,
              datasets: Sequence[str] | None = None) -> dict[str, pd.DataFrame]:
    """Fig. 4: dANN-X against vANN-X with the same input sampling X (R, LRF, GRF; F = pdANN vs
    vANN). Left: parameters each needs to beat vANN's best accuracy / lowest loss; right: the
    difference of the best configurations' efficiency, dANN-X minus vANN-X (accuracy: > 0 means
    the dendritic model is more efficient; loss: < 0 means it is)."""
    full = as_frame(summary)
    pairs = present_pairs(full, pairs)
    if not pairs:
        raise ValueError("no (dANN-X, vANN-X) pair with main-experiment runs in the summary")
    models = ordered_models({m for p in pairs for m in p[1:]} | {"vANN"})
    df = select(full, "main")
    if datasets is not None:
        df = df[df["dataset"].isin(datasets)]
    # efficiency normalised over every main run of the dataset (as in Fig. 3)
    agg = aggregate_with_efficiency(df)
    df = df[df["model"].isin(models)]
    datasets = sort_datasets(df["dataset"])
    tables = {"match_acc": matches(agg, "test_acc"), "match_loss": matches(agg, "test_loss")}
    rows = []
    for metric, col in (("test_acc", "acc_eff"), ("test_loss", "loss_eff")):
        best = best_rows(agg[agg["model"].isin(models)], metric)
        for d in datasets:
            for x, dm, vm in pairs:
                a = best[(best["dataset"] == d) & (best["model"] == dm)]
                b = best[(best["dataset"] == d) & (best["model"] == vm)]
                if a.empty or b.empty:
                    continue
                ca, cb = np.nan_to_num(a[f"{col}_ci95"].iloc[0]), np.nan_to_num(b[f"{col}_ci95"].iloc[0])
                rows.append(dict(metric=metric, dataset=d, sampling=x, dann=dm, vann=vm,
                                 delta=float(a[f"{col}_mean"].iloc[0] - b[f"{col}_mean"].iloc[0]),
                                 ci=float(np.hypot(ca, cb))))
    delta = pd.DataFrame(rows, columns=["metric", "dataset", "sampling", "dann", "vann", "delta", "ci"])
    tables["delta"] = delta

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
                ax.bar(j, r["delta"].iloc[0], width=0.6, color=style.model_color(dm),
                       yerr=r["ci"].iloc[0], error_kw=dict(lw=0.8, capsize=2, ecolor="0.2"))
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
    legend_top(fig, model_handles(models) + [_REF_HANDLE, _NEVER_HANDLE],
               models + [_REF_HANDLE.get_label(), _NEVER_HANDLE.get_label()], y=1.025,
               ncol=min(len(models) + 2, 6))
    fig.text(0.5, 1.003, f"Same input sampling X — {pair_txt}.\nRows 1-2: parameters needed to "
             "match vANN; rows 3-4: efficiency difference of the best configurations "
             "(error bars: √(CI₁² + CI₂²) of the two 95% CIs)", ha="center", va="bottom",
             fontsize=7.5, color="0.25")
    _diverged_note(fig, df)
    style.save(fig, out_paths)
    return tables


# --------------------------------------------------------------------------------------------------
# Fig. 7
# --------------------------------------------------------------------------------------------------
def noisy_examples(prepared, sigmas: Sequence[float], n_images: int = 3, seed: int = 0,
                   dataset: str = "fmnist") -> tuple[np.ndarray, list[int], list[float]]:
    """Test images as the noise experiment's run with ``seed`` saw them.

    The noise is drawn exactly as in training (:func:`dendritic.training.run_data`: N(0, σ²) from the
    seed's noise stream, first for the training set, then for the test set, clipped to [0, 1]), so
    these are the very images the seed-``seed`` runs were tested on. Returns ``(images, labels,
    sigmas)`` with images of shape (len(sigmas), n_images, C, H, W) in [0, 1]; σ = 0 is the clean
    image. ``n_images`` test images of classes spread over all classes (first of each).
    """
    import torch

    from dendritic.config import Cell
    from dendritic.training import run_data, to_float

    dev = torch.device("cpu")
    y_test = prepared.y_test
    n_classes = int(prepared.n_classes)
    classes = sorted({int(round(c)) for c in np.linspace(0, n_classes - 1, n_images)})
    idx = [int(torch.nonzero(y_test == c)[0, 0]) for c in classes if (y_test == c).any()]
    x_tr = to_float(prepared.x_train, dev)
    x_te = to_float(prepared.x_test, dev)
    shape = tuple(prepared.x_test.shape[1:])
    out = []
    for s in sigmas:
        if not s:
            out.append(x_te[idx].reshape(len(idx), *shape).numpy())
            continue
        cell = Cell(experiment="noise", dataset=dataset, model="vANN", dendrites=1, somata=1, epochs=1,
                    lr=1e-3, sigma=float(s), seeds=(seed,))
        data = run_data(x_tr, prepared.y_train, x_te, y_test, cell, seed)
        out.append(data.x_test[idx].reshape(len(idx), *shape).numpy())
        del data
    return np.stack(out), [int(y_test[i]) for i in idx], [float(s) for s in sigmas]


def _show(ax, img: np.ndarray) -> None:
    ax.imshow(img[0] if img.shape[0] == 1 else np.transpose(img, (1, 2, 0)), cmap="gray", vmin=0,
              vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    for s in ax.spines.values():
        s.set_visible(False)


def noise_frame(df: pd.DataFrame, dataset: str | None = None) -> pd.DataFrame:
    """Noise-experiment runs plus, as σ = 0, the main-experiment runs of the same dataset, models
    and (D, S) grid (when the config has them)."""
    noise = select(df, "noise", dataset)
    if noise.empty:
        return noise
    grid = set(zip(noise["dataset"], noise["model"], noise["dendrites"], noise["somata"]))
    main = select(df, "main")
    key = list(zip(main["dataset"], main["model"], main["dendrites"], main["somata"]))
    clean = main[[k in grid for k in key]].copy()
    clean["experiment"], clean["sigma"] = "noise", 0.0
    return pd.concat([noise, clean], ignore_index=True)


def noise_table(df: pd.DataFrame) -> pd.DataFrame:
    """Per (dataset, model, σ): the best-accuracy and best-loss configurations with efficiency.

    Efficiency is normalised over all the runs passed in of one dataset (every σ together).
    Columns: dataset, model, sigma, and for ``acc`` (best-accuracy configuration) and ``loss``
    (best-loss configuration) the aggregated columns prefixed ``acc_`` / ``loss_``.
    """
    agg = aggregate_with_efficiency(df, by=("dataset",))
    keys = ["dataset", "model", "sigma"]
    ba = best_rows(agg, "test_acc", by=keys)
    bl = best_rows(agg, "test_loss", by=keys)
    cols = ["dendrites", "somata", "n_params", "n", "n_diverged", "test_acc_mean", "test_acc_ci95",
            "test_loss_mean", "test_loss_ci95", "acc_eff_mean", "acc_eff_ci95", "loss_eff_mean",
            "loss_eff_ci95"]
    a = ba[keys + cols].rename(columns={c: f"acc_{c}" for c in cols})
    b = bl[keys + cols].rename(columns={c: f"loss_{c}" for c in cols})
    return a.merge(b, on=keys, how="outer").sort_values(keys).reset_index(drop=True)


def sequential_table(df: pd.DataFrame) -> pd.DataFrame:
    """Sequential task per (dataset, model): the best-accuracy configuration (Table 2's numbers:
    its mean test accuracy and loss, with std over seeds) and the best-loss configuration's loss
    efficiency. Columns as in :func:`noise_table` (prefixes ``acc_`` / ``loss_``)."""
    seq = select(df, "sequential")
    if seq.empty:
        return pd.DataFrame()
    agg = aggregate_with_efficiency(seq)
    keys = ["dataset", "model"]
    ba = best_rows(agg, "test_acc", by=keys)
    bl = best_rows(agg, "test_loss", by=keys)
    cols = ["dendrites", "somata", "n_params", "n", "n_diverged", "test_acc_mean", "test_acc_std",
            "test_acc_ci95", "test_loss_mean", "test_loss_std", "test_loss_ci95", "acc_eff_mean",
            "acc_eff_ci95", "loss_eff_mean", "loss_eff_ci95"]
    a = ba[keys + cols].rename(columns={c: f"acc_{c}" for c in cols})
    b = bl[keys + cols].rename(columns={c: f"loss_{c}" for c in cols})
    return a.merge(b, on=keys, how="outer").reset_index(drop=True)


def plot_fig7(summary: str | Path | pd.DataFrame, out_paths, prepared=None, dataset: str = "fmnist",
              n_images: int = 3, seed: int = 0) -> dict[str, pd.DataFrame]:
    """Fig. 7: robustness and the sequential task.

    (a) noisy example test images (``prepared``: a prepared dataset or the path of its cache; left
    out when None); (b) best mean test accuracy, lowest mean test loss and the two efficiency scores
    against σ per model (σ = 0: the main experiment's runs of the same grid, when present); (c) the
    sequential task: test accuracy and loss of each model's best-accuracy configuration (Table 2;
    dots: single seeds) and the efficiency of its best configurations. Rows without runs are left
    out.
    """
    df = as_frame(summary)
    noise = noise_frame(df, dataset)
    seq_runs = select(df, "sequential", dataset)
    if noise.empty and seq_runs.empty:
        raise ValueError(f"no noise or sequential runs on {dataset!r} in the summary")
    ntab = noise_table(noise) if not noise.empty else pd.DataFrame()
    stab = sequential_table(seq_runs) if not seq_runs.empty else pd.DataFrame()

    examples = None
    if prepared is not None and not noise.empty:
        if isinstance(prepared, (str, Path)):
            from dendritic.datasets import load_prepared

            prepared = load_prepared(prepared)
        sigmas = [0.0] + sorted(s for s in noise["sigma"].unique() if s)
        examples = (prepared, *noisy_examples(prepared, sigmas, n_images, seed, dataset))

    style.setup()
    heights, names = [], []
    if examples is not None:
        heights.append(0.55 + 0.75 * len(examples[2])), names.append("examples")
    if not ntab.empty:
        heights.append(2.7), names.append("noise")
    if not stab.empty:
        heights.append(2.7), names.append("sequential")
    if not heights:  # every noise and sequential run diverged
        fig = plt.figure(figsize=(6, 1.5))
        fig.text(0.5, 0.5, f"Fig. 7: {style.NO_FINITE_RUNS} (every noise and sequential run diverged)",
                 ha="center", va="center", color="firebrick")
        style.save(fig, out_paths)
        return {"noise": ntab, "sequential": stab}
    fig = plt.figure(figsize=(11.5, sum(heights)), layout="constrained")
    subs = fig.subfigures(len(heights), 1, height_ratios=heights, squeeze=False)[:, 0]
    sub = dict(zip(names, subs))
    models_seen: set[str] = set()
    letters = iter("abcdefgh")

    if examples is not None:
        prep, imgs, labels, sigmas = examples
        wl = 0.85 * len(sigmas) + 0.6
        sf, right = sub["examples"].subfigures(1, 2, width_ratios=[wl, max(11.5 - wl, 1.0)])
        axes = sf.subplots(len(labels), len(sigmas), squeeze=False,
                           gridspec_kw=dict(wspace=0.05, hspace=0.08))
        right.text(0.04, 0.5, "Gaussian noise N(0, σ²) is drawn once per run (from the run's seed),\n"
                   "added to the training, validation and test images and clipped to [0, 1];\n"
                   "the models are trained and tested on the noisy images.\n"
                   f"Shown: the first {dataset_title(dataset)} test image of {len(labels)} classes as "
                   f"seed {seed}'s runs saw them.", ha="left", va="center", fontsize=8.5, color="0.25")
        class_names = prep.meta.get("class_names") or [str(c) for c in range(prep.n_classes)]
        for j, s in enumerate(sigmas):
            for i, lab in enumerate(labels):
                _show(axes[i, j], imgs[j, i])
                if i == 0:
                    axes[i, j].set_title("clean" if not s else f"σ = {s:g}", fontsize=9)
                if j == 0:
                    axes[i, j].set_ylabel(class_names[lab], fontsize=8)
        sub["examples"].suptitle(f"{next(letters)}  Noisy test images", x=0.0, ha="left", fontsize=10,
                                 fontweight="bold")

    if not ntab.empty:
        sf = sub["noise"]
        axes = sf.subplots(1, 4, squeeze=False)[0]
        models = ordered_models(ntab["model"])
        models_seen |= set(models)
        panels = [("acc", "test_acc", "Best test accuracy (%)", 100.0),
                  ("loss", "test_loss", "Lowest test loss", 1.0),
                  ("acc", "acc_eff", EFF_LABEL["test_acc"], 1.0),
                  ("loss", "loss_eff", EFF_LABEL["test_loss"], 1.0)]
        for ax, (pre, col, ylabel, scale) in zip(axes, panels):
            for m in models:
                t = ntab[ntab["model"] == m].sort_values("sigma")
                _errorbar(ax, t["sigma"], t[f"{pre}_{col}_mean"] * scale,
                          t[f"{pre}_{col}_ci95"] * scale, m, ls="-")
            ax.set_xlabel("Noise σ (pixel values in [0, 1])")
            ax.set_ylabel(ylabel)
            ax.set_xticks(sorted(ntab["sigma"].unique()))
        for ax, title in zip(axes, ["best-accuracy config.", "best-loss config.",
                                    "best-accuracy config.", "best-loss config."]):
            ax.set_title(title, fontsize=8.5)
        sf.suptitle(f"{next(letters)}  Trained and tested on noisy {dataset_title(dataset)}: best "
                    "configuration per model and σ (mean ± 95% CI over seeds)",
                    x=0.0, ha="left", fontsize=10, fontweight="bold")

    if not stab.empty:
        sf = sub["sequential"]
        axes = sf.subplots(1, 4, squeeze=False)[0]
        models = ordered_models(stab["model"])
        models_seen |= set(models)
        runs = efficiency(seq_runs)  # single seeds, for the dots
        panels = [("acc", "test_acc", "Test accuracy (%)", 100.0, False),
                  ("acc", "test_loss", "Test loss (log scale)", 1.0, True),
                  ("acc", "acc_eff", EFF_LABEL["test_acc"], 1.0, False),
                  ("loss", "loss_eff", EFF_LABEL["test_loss"], 1.0, False)]
        titles = ["Table 2: best-accuracy config.", "Table 2: its test loss",
                  "best-accuracy config.", "best-loss config."]
        for ax, (pre, col, ylabel, scale, log), title in zip(axes, panels, titles):
            ax.set_title(title, fontsize=8.5)
            lows = []
            for j, m in enumerate(models):
                r = stab[stab["model"] == m]
                if r.empty or not np.isfinite(r[f"{pre}_{col}_mean"].iloc[0]):
                    continue
                mean = r[f"{pre}_{col}_mean"].iloc[0] * scale
                ci = np.nan_to_num(r[f"{pre}_{col}_ci95"].iloc[0]) * scale
                ax.bar(j, mean, width=0.7, color=style.model_color(m), alpha=0.85)
                # on the log axis a lower CI end at or below zero is drawn down to the axis
                ax.errorbar(j, mean, yerr=[[min(ci, mean * 0.999) if log else ci], [ci]],
                            color="0.2", lw=0.8, capsize=2)
                lows.append(mean)
                if col in ("test_acc", "test_loss"):
                    d, s = r[f"{pre}_dendrites"].iloc[0], r[f"{pre}_somata"].iloc[0]
                    pts = runs[(runs["model"] == m) & (runs["dendrites"] == d) & (runs["somata"] == s)
                               & ~runs["diverged"].astype(bool)]
                    ax.plot(np.full(len(pts), j) + np.linspace(-0.15, 0.15, len(pts)),
                            pts[col] * scale, "o", ms=2.5, color="k", alpha=0.6)
            ax.set_xticks(range(len(models)), models, rotation=35, ha="right")
            ax.set_ylabel(ylabel)
            if log:
                ax.set_yscale("log")
                if lows:
                    ax.set_ylim(bottom=min(lows) / 3)
                lo, hi = ax.get_ylim()
                ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
                if hi / lo < 10:  # less than a decade: label the minor ticks too
                    ax.yaxis.set_minor_formatter(FormatStrFormatter("%g"))
                    ax.tick_params(axis="y", which="minor", labelsize=7)
                else:
                    ax.yaxis.set_minor_formatter(NullFormatter())
            else:
                ax.set_ylim(bottom=0)  # accuracy and efficiency are >= 0 (a CI may reach below)
        sf.suptitle(f"{next(letters)}  Sequential task (class-ordered batches): best configuration per "
                    "model (mean ± 95% CI; dots: single seeds)", x=0.0, ha="left", fontsize=10,
                    fontweight="bold")

    models = ordered_models(models_seen)
    if models:
        fig.legend(model_handles(models), models, loc="lower center", ncol=len(models), frameon=False,
                   bbox_to_anchor=(0.5, 1.0), fontsize=8)
    used = pd.concat([x for x in (noise, seq_runs) if not x.empty])
    _diverged_note(fig, used)
    style.save(fig, out_paths)
    return {"noise": ntab, "sequential": stab}
