"""Parameter-efficiency figures: Fig. 3 (parameters needed to match vANN, efficiency of the best
models, every dataset), Fig. 4 (dANN-X vs vANN-X with the same input sampling) and Fig. 7 (noisy
inputs and the sequential task).

Everything is computed from ``results/summary.csv`` with the pure-pandas functions of
:mod:`dendritic.analysis`, the same ones the verdict (:mod:`dendritic.reproduction`) calls, so a
figure and the verdict never disagree; Fig. 7's example images come from the prepared dataset with
the training code's own noise recipe (:func:`dendritic.training.run_data`). Diverged runs are left
out of every mean and counted in a note under each figure.

Which rows each panel plots (paper §4):

* parameters needed to match vANN: :func:`~dendritic.analysis.match_vann` (first configuration, D
  ascending then S, above vANN's best mean accuracy / below its lowest mean loss);
* efficiency (Figs 3, 4): both scores on each model's *best-accuracy* configuration, all trials
  (:func:`~dendritic.analysis.best_efficiency`), f normalised by its minimum over exactly those
  rows of the panel's models, per dataset;
* Fig. 7: one network per model fixed from the clean main experiment
  (:func:`~dendritic.analysis.select_networks`, config key ``analysis.selection``) and looked up in
  the noise runs at every σ and in the sequential runs (:func:`~dendritic.analysis.noise_runs`,
  :func:`~dendritic.analysis.sequential_runs`), never a new best among those runs; f normalised
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
from matplotlib.ticker import FormatStrFormatter, FuncFormatter, LogLocator, NullFormatter

from dendritic.analysis import (PAPER_COMPARED, aggregate_seeds, best_accuracy_runs, best_efficiency,
                                best_models, efficiency, efficiency_table, match_vann, missing_cells,
                                noise_runs, select_networks, sequential_runs)
from dendritic.plots import style
from dendritic.plots.performance import _diverged_note, _errorbar
from dendritic.plan import (  # noqa: F401  (re-exported for the figure modules)
    DATASET_ORDER, FIG3_MODELS, SAMPLING_PAIRS, SPARSE_PAIRS, noise_dataset, sort_datasets)
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
    best mean accuracy / lowest mean loss (log scale, "never matched" drawn), and the accuracy and
    loss efficiency of each model's best-accuracy configuration (mean ± 1 SD over trials; f
    normalised per dataset over those rows of ``models``: paper §4, Fig. 3c-d).

    Returns the tables it plotted: ``match_acc``, ``match_loss`` and ``best_acc`` (the efficiency
    table of the best-accuracy configurations, :func:`~dendritic.analysis.best_efficiency`).
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
        best_bar_panel(axes[row, 1], tables["best_acc"], datasets, models,
                       "acc_eff" if metric == "test_acc" else "loss_eff", EFF_LABEL[metric])
    axes[0, 0].set_title("Parameters needed to match vANN")
    axes[0, 1].set_title("Efficiency of the best-accuracy configurations (mean ± 1 SD)", fontsize=9.5)
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


def efficiency_deltas(runs: pd.DataFrame, pairs=SAMPLING_PAIRS) -> pd.DataFrame:
    """Fig. 4c-d: per dataset and pair (X, dANN-X, vANN-X), the difference dANN-X − vANN-X of the
    accuracy and the loss efficiency of the two best-accuracy configurations, trial by trial (the
    runs of the same seed paired, as in the paper), mean and 1 SD over the paired trials.

    ``runs``: main-experiment rows; f is normalised per dataset over the best-accuracy rows of the
    pairs' models only (the models of the panel). Columns: ``metric`` (``test_acc`` for accuracy
    efficiency, ``test_loss`` for loss efficiency), ``dataset, sampling, dann, vann, delta, sd,
    n`` (paired trials).
    """
    cols = ["metric", "dataset", "sampling", "dann", "vann", "delta", "sd", "n"]
    models = {m for _, a, b in pairs for m in (a, b)}
    sel = runs[runs["model"].isin(models)]
    if sel.empty:
        return pd.DataFrame(columns=cols)
    eff = efficiency(best_accuracy_runs(sel))
    eff = eff[eff["acc_eff"].notna()]
    rows = []
    for metric, col in (("test_acc", "acc_eff"), ("test_loss", "loss_eff")):
        for d in sort_datasets(eff["dataset"]):
            e = eff[eff["dataset"] == d]
            for x, dm, vm in pairs:
                a = e.loc[e["model"] == dm, ["seed", col]]
                b = e.loc[e["model"] == vm, ["seed", col]]
                both = a.merge(b, on="seed", suffixes=("_a", "_b"))
                if both.empty:
                    continue
                diff = both[f"{col}_a"] - both[f"{col}_b"]
                rows.append(dict(metric=metric, dataset=d, sampling=x, dann=dm, vann=vm,
                                 delta=float(diff.mean()),
                                 sd=float(diff.std(ddof=1)) if len(diff) > 1 else np.nan, n=len(diff)))
    return pd.DataFrame(rows, columns=cols)


def plot_fig4(summary: str | Path | pd.DataFrame, out_paths, pairs=SAMPLING_PAIRS,
              datasets: Sequence[str] | None = None) -> dict[str, pd.DataFrame]:
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
    tables = {"match_acc": matches(agg, "test_acc"), "match_loss": matches(agg, "test_loss"),
              "delta": efficiency_deltas(df, pairs)}
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
                ax.bar(j, r["delta"].iloc[0], width=0.6, color=style.model_color(dm),
                       yerr=np.nan_to_num(r["sd"].iloc[0]), error_kw=dict(lw=0.8, capsize=2, ecolor="0.2"))
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
             "match vANN; rows 3-4: efficiency difference of the best-accuracy configurations, "
             "trial by trial (mean ± 1 SD over trials)", ha="center", va="bottom",
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


def _cells_txt(missing: pd.DataFrame, level_col: str | None = None) -> str:
    """'dANN-LRF D=1, S=32 (σ 0.5, 1); vANN D=4, S=64' for the rows of
    :func:`~dendritic.analysis.missing_cells`."""
    parts = []
    keys = ["model", "dendrites", "somata"]
    for (m, d, s_), g in missing.groupby(keys, sort=False):
        lv = (f" (σ {', '.join(f'{v:g}' for v in sorted(g[level_col]))})"
              if level_col and level_col in g else "")
        parts.append(f"{m} D={int(d)}, S={int(s_)}{lv}")
    return "; ".join(parts)


def fig7_tables(summary: pd.DataFrame, dataset: str = "fmnist", selection: str = "paper",
                models: Sequence[str] | None = PAPER_COMPARED) -> dict[str, pd.DataFrame]:
    """The tables Fig. 7 plots, from the summary alone.

    ``selected``: :func:`~dendritic.analysis.select_networks` on ``dataset`` (one network per model,
    fixed from the clean main experiment); ``noise``: :func:`~dendritic.analysis.efficiency_table`
    of :func:`~dendritic.analysis.noise_runs` (every σ of the noise runs plus σ = 0 from the main
    runs, f normalised over all of them); ``sequential``: the same for
    :func:`~dendritic.analysis.sequential_runs`; ``noise_runs`` / ``sequential_runs``: the single
    runs; ``missing_noise`` / ``missing_sequential``: the selected networks (× σ) without runs
    (:func:`~dendritic.analysis.missing_cells`).
    """
    selected = select_networks(summary, dataset, selection)
    if models is not None:
        selected = selected[selected["model"].isin(list(models))].reset_index(drop=True)
    nr = noise_runs(summary, dataset, selected, models)
    sr = sequential_runs(summary, dataset, selected, models)
    noise_all = summary[(summary["experiment"] == "noise") & (summary["dataset"] == dataset)]
    seq_all = summary[(summary["experiment"] == "sequential") & (summary["dataset"] == dataset)]
    sigmas = [0.0] + sorted({float(x) for x in noise_all["sigma"] if x})
    return {
        "selected": selected,
        "noise_runs": nr,
        "sequential_runs": sr,
        "noise": efficiency_table(nr, norm_by=("dataset",)) if len(nr) else pd.DataFrame(),
        "sequential": efficiency_table(sr, norm_by=("dataset",)) if len(sr) else pd.DataFrame(),
        "missing_noise": (missing_cells(nr, selected, "sigma", sigmas) if len(noise_all)
                          else pd.DataFrame()),
        "missing_sequential": missing_cells(sr, selected) if len(seq_all) else pd.DataFrame(),
    }


def _no_rows_text(what: str, runs: pd.DataFrame) -> str:
    """What an empty Fig. 7 row says: every run diverged, or none at the selected networks."""
    if len(runs) and runs["diverged"].astype(bool).all():
        return f"{style.NO_FINITE_RUNS}: every {what} run diverged"
    return f"no {what} runs at the selected networks (see the note)"


def plot_fig7(summary: str | Path | pd.DataFrame, out_paths, prepared=None, dataset: str = "fmnist",
              n_images: int = 3, seed: int = 0, selection: str = "paper",
              models: Sequence[str] | None = PAPER_COMPARED) -> dict[str, pd.DataFrame]:
    """Fig. 7: robustness and the sequential task, on the networks fixed from the clean main
    experiment (:func:`fig7_tables`; ``selection`` is the config key ``analysis.selection``).

    (a) noisy example test images (``prepared``: a prepared dataset or the path of its cache; left
    out when None); (b) trained and tested on noisy images: test accuracy, test loss and the two
    efficiency scores of each model's selected network against σ (σ = 0: its main-experiment
    runs), mean ± 1 SD over trials; (c) the sequential task: the same four numbers for the
    selected networks (the accuracy and loss are Table 2's; dots: single seeds). ``models``: the
    models shown and normalised together (default: the paper's four, dANN-R, dANN-LRF, dANN-GRF,
    vANN). Selected networks without noise or sequential runs are named in a note.
    """
    df = as_frame(summary)
    noise_all = select(df, "noise", dataset)
    seq_all = select(df, "sequential", dataset)
    if noise_all.empty and seq_all.empty:
        raise ValueError(f"no noise or sequential runs on {dataset!r} in the summary")
    tables = fig7_tables(df, dataset, selection, models)
    ntab, stab = tables["noise"], tables["sequential"]
    seq_runs = tables["sequential_runs"]

    examples = None
    if prepared is not None and not noise_all.empty:
        if isinstance(prepared, (str, Path)):
            from dendritic.datasets import load_prepared

            prepared = load_prepared(prepared)
        sigmas = [0.0] + sorted(s for s in noise_all["sigma"].unique() if s)
        examples = (prepared, *noisy_examples(prepared, sigmas, n_images, seed, dataset))

    notes = []
    if models is not None:
        hidden = ordered_models((set(noise_all["model"]) | set(seq_all["model"])) - set(models))
        if hidden:
            notes.append(f"Run but not shown (the paper's Fig. 7 compares {', '.join(models)}): "
                         f"{', '.join(hidden)}.")
    for key, what, level in (("missing_noise", "noise", "sigma"), ("missing_sequential", "sequential", None)):
        miss = tables[key]
        if len(miss):
            notes.append(f"No {what} runs at the selected networks {_cells_txt(miss, level)}: add these "
                         f"sizes to experiments.{what} to show them.")

    style.setup()
    heights, names = [], []
    if examples is not None:
        heights.append(0.55 + 0.75 * len(examples[2])), names.append("examples")
    if not noise_all.empty:
        heights.append(2.7), names.append("noise")
    if not seq_all.empty:
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
    sel_txt = ("networks fixed from the clean runs: first to match vANN's best accuracy, vANN's best"
               if selection == "paper" else "networks fixed from the clean runs: each model's most accurate")

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

    if "noise" in sub:
        sf = sub["noise"]
        axes = sf.subplots(1, 4, squeeze=False)[0]
        panels = [("test_acc", "Test accuracy (%)", 100.0), ("test_loss", "Test loss", 1.0),
                  ("acc_eff", EFF_LABEL["test_acc"], 1.0), ("loss_eff", EFF_LABEL["test_loss"], 1.0)]
        if ntab.empty:
            axes[0].text(0.0, 0.5, _no_rows_text("noise", noise_all),
                         transform=axes[0].transAxes, fontsize=8, color="firebrick")
        else:
            models = ordered_models(ntab["model"])
            models_seen |= set(models)
            for ax, (col, ylabel, scale) in zip(axes, panels):
                for m in models:
                    t = ntab[ntab["model"] == m].sort_values("sigma")
                    _errorbar(ax, t["sigma"], t[f"{col}_mean"] * scale, t[f"{col}_std"] * scale, m, ls="-")
                ax.set_xlabel("Noise σ (pixel values in [0, 1])")
                ax.set_ylabel(ylabel)
                ax.set_xticks(sorted(ntab["sigma"].unique()))
        sf.suptitle(f"{next(letters)}  Trained and tested on noisy {dataset_title(dataset)} ({sel_txt}; "
                    "mean ± 1 SD over trials)", x=0.0, ha="left", fontsize=10, fontweight="bold")

    if "sequential" in sub:
        sf = sub["sequential"]
        axes = sf.subplots(1, 4, squeeze=False)[0]
        if stab.empty:
            axes[0].text(0.0, 0.5, _no_rows_text("sequential", seq_all),
                         transform=axes[0].transAxes, fontsize=8, color="firebrick")
        models = ordered_models(stab["model"]) if len(stab) else []
        models_seen |= set(models)
        panels = [("test_acc", "Test accuracy (%)", 100.0, False),
                  ("test_loss", "Test loss (log scale)", 1.0, True),
                  ("acc_eff", EFF_LABEL["test_acc"], 1.0, False),
                  ("loss_eff", EFF_LABEL["test_loss"], 1.0, False)]
        titles = ["Table 2: test accuracy", "Table 2: test loss", "accuracy efficiency", "loss efficiency"]
        for ax, (col, ylabel, scale, log), title in zip(axes, panels, titles):
            ax.set_title(title, fontsize=8.5)
            lows = []
            for j, m in enumerate(models):
                r = stab[stab["model"] == m]
                if r.empty or not np.isfinite(r[f"{col}_mean"].iloc[0]):
                    continue
                mean = r[f"{col}_mean"].iloc[0] * scale
                sd = np.nan_to_num(r[f"{col}_std"].iloc[0]) * scale
                ax.bar(j, mean, width=0.7, color=style.model_color(m), alpha=0.85)
                # on the log axis a lower error-bar end at or below zero is drawn down to the axis
                ax.errorbar(j, mean, yerr=[[min(sd, mean * 0.999) if log else sd], [sd]],
                            color="0.2", lw=0.8, capsize=2)
                lows.append(mean)
                if col in ("test_acc", "test_loss"):
                    pts = seq_runs[(seq_runs["model"] == m) & ~seq_runs["diverged"].astype(bool)]
                    ax.plot(np.full(len(pts), j) + np.linspace(-0.15, 0.15, len(pts)),
                            pts[col] * scale, "o", ms=2.5, color="k", alpha=0.6)
            ax.set_xticks(range(len(models)), models, rotation=35, ha="right")
            ax.set_ylabel(ylabel)
            if log and lows:
                ax.set_yscale("log")
                ax.set_ylim(bottom=min(lows) / 3)
                lo, hi = ax.get_ylim()
                ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
                if hi / lo < 10:  # less than a decade: label the minor ticks too
                    ax.yaxis.set_minor_formatter(FormatStrFormatter("%g"))
                    ax.tick_params(axis="y", which="minor", labelsize=7)
                else:
                    ax.yaxis.set_minor_formatter(NullFormatter())
            elif not log:
                ax.set_ylim(bottom=0)  # accuracy and efficiency are >= 0 (an error bar may reach below)
        sf.suptitle(f"{next(letters)}  Sequential task (class-ordered batches; {sel_txt}; mean ± 1 SD, "
                    "dots: single seeds)", x=0.0, ha="left", fontsize=10, fontweight="bold")

    models = ordered_models(models_seen)
    if models:
        fig.legend(model_handles(models), models, loc="lower center", ncol=len(models), frameon=False,
                   bbox_to_anchor=(0.5, 1.0), fontsize=8)
    used = pd.concat([x for x in (tables["noise_runs"], seq_runs) if not x.empty] or [pd.DataFrame()])
    if notes:  # below the diverged-runs note
        fig.text(0.01, -0.06, "\n".join(notes), fontsize=7, color="firebrick", ha="left", va="top")
    if len(used):
        _diverged_note(fig, used.assign(diverged=used["diverged"].astype(bool)))
    style.save(fig, out_paths)
    return tables
