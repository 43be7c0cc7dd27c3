"""Fig. 6: how the best model of each family represents the test images.

Reads ``results/analysis/tsne.csv`` (2-D t-SNE of every hidden layer: the first analysed seed's
first t-SNE run, the same test images for every model) and ``results/analysis/representations.csv``
(silhouette, neighbourhood hit, trustworthiness of every seed × t-SNE run). Top: one scatter per
model and hidden layer, points coloured by class. Bottom: the three scores per model, one bar per
hidden layer: the mean over all seeds × runs with its 95 % confidence interval (t-distribution),
as the paper's Fig. 6 (5 trials × 10 t-SNE runs, 95 % CI).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.gridspec import GridSpec
from matplotlib.lines import Line2D
from scipy import stats

from dendritic.plots import style
from dendritic.plots.nodes import _layers, _ordered_models, _read, pretty_layer

#: Score columns of representations.csv and their axis labels.
SCORES = [
    ("silhouette", "Silhouette score"),
    ("neighbourhood_hit", "Neighbourhood hit"),
    ("trustworthiness", "Trustworthiness"),
]

#: Models per row of t-SNE panels before wrapping.
MAX_MODELS_PER_ROW = 6


def _class_colors(n: int) -> list:
    cmap = plt.get_cmap("tab10" if n <= 10 else "tab20" if n <= 20 else "gist_ncar")
    return [cmap(i if n <= 20 else i / n) for i in range(n)]


def score_summary(scores: pd.DataFrame, col: str) -> pd.DataFrame:
    """Per model and layer: ``mean``, ``n`` (seeds × t-SNE runs), ``ci95`` (half-width of the 95 %
    t-interval of the mean; 0 for a single run) of the score ``col``."""
    g = scores.groupby(["model", "layer"])[col].agg(["mean", "count", "std"])
    n = g["count"]
    half = stats.t.ppf(0.975, np.maximum(n - 1, 1)) * g["std"].fillna(0.0) / np.sqrt(n)
    return pd.DataFrame({"mean": g["mean"], "n": n, "ci95": np.where(n > 1, half, 0.0)}, index=g.index)


def plot_fig6(
    tsne,
    representations,
    out_paths,
    class_names: Sequence[str] | None = None,
    best_cells=None,
    models: Sequence[str] | None = None,
) -> None:
    """Fig. 6 as described in the module docstring; writes every path in ``out_paths``."""
    emb, scores = _read(tsne), _read(representations)
    best = _read(best_cells) if best_cells is not None else None
    present = set(emb["model"])
    models = _ordered_models([m for m in (models or present) if m in present])
    if not models:
        raise ValueError("no analysed model in the t-SNE table")
    layers = _layers(emb, False)
    n_classes = int(emb["label"].max()) + 1 if class_names is None else len(class_names)
    names = list(class_names) if class_names is not None else [str(c) for c in range(n_classes)]
    colors = _class_colors(n_classes)

    per_row = min(len(models), MAX_MODELS_PER_ROW)
    blocks = math.ceil(len(models) / per_row)
    n_tsne_rows = blocks * len(layers)
    style.setup()
    fig = plt.figure(figsize=(max(2.0 * per_row, 8.0), 2.0 * n_tsne_rows + 2.6))
    gs = GridSpec(
        n_tsne_rows + 1,
        1,
        figure=fig,
        height_ratios=[1] * n_tsne_rows + [1.25],
        hspace=0.35,
        top=1 - 0.55 / fig.get_figheight(),
        bottom=0.09,
        left=0.05,
        right=0.98,
    )
    top = gs[:n_tsne_rows].subgridspec(n_tsne_rows, per_row, hspace=0.25, wspace=0.08)

    for i, model in enumerate(models):
        block, col = divmod(i, per_row)
        for j, layer in enumerate(layers):
            ax = fig.add_subplot(top[block * len(layers) + j, col])
            e = emb[(emb["model"] == model) & (emb["layer"] == layer)]
            e = e[e["seed"] == e["seed"].min()] if len(e) else e
            if "repeat" in e and len(e):
                e = e[e["repeat"] == e["repeat"].min()]
            size = float(np.clip(2500 / max(len(e), 1), 1.2, 6.0))  # small points, not invisible
            ax.scatter(e["x"], e["y"], c=[colors[int(k)] for k in e["label"]], s=size, lw=0, alpha=0.8, rasterized=True)
            ax.set_xticks([])
            ax.set_yticks([])
            for sp in ax.spines.values():
                sp.set_visible(True)
                sp.set_color("0.8")
            if j == 0:
                title = model
                if best is not None and model in set(best["model"]):
                    r = best[best["model"] == model].iloc[0]
                    title += f"  (D={int(r['dendrites'])}, S={int(r['somata'])})"
                ax.set_title(title, fontsize=8.5, color=style.model_color(model))
            if col == 0:
                ax.set_ylabel(pretty_layer(layer), fontsize=8.5)
    handles = [Line2D([], [], ls="", marker="o", ms=4, color=colors[c], label=names[c]) for c in range(n_classes)]
    fig.legend(
        handles=handles,
        loc="upper center",
        ncol=min(n_classes, 10),
        frameon=False,
        bbox_to_anchor=(0.5, 1.0),
        fontsize=7.5,
        handletextpad=0.1,
        columnspacing=0.8,
    )

    bottom = gs[n_tsne_rows].subgridspec(1, len(SCORES), wspace=0.3)
    width = 0.8 / len(layers)
    x = np.arange(len(models))
    for k, (col, label) in enumerate(SCORES):
        ax = fig.add_subplot(bottom[0, k])
        summ = score_summary(scores, col)
        for j, layer in enumerate(layers):
            s = summ.xs(layer, level="layer") if layer in summ.index.get_level_values("layer") else summ.iloc[:0]
            s = s.reindex(models)
            ax.bar(
                x + (j - (len(layers) - 1) / 2) * width,
                s["mean"],
                width=width * 0.95,
                color=[style.model_color(m) for m in models],
                alpha=1.0 - 0.55 * (j % 2),
                hatch=None if j % 2 == 0 else "///",
                edgecolor="white",
                lw=0.3,
                label=pretty_layer(layer),
                yerr=s["ci95"].fillna(0.0).to_numpy(),
                error_kw=dict(ecolor="0.15", elinewidth=0.8, capsize=1.5),
            )
        ax.set_xticks(x)
        ax.set_xticklabels(models, rotation=45, ha="right", fontsize=7.5)
        ax.set_title(label, fontsize=9)
        lo = float((summ["mean"] - summ["ci95"]).min())
        if col == "trustworthiness" and lo > 0.5:  # all close to 1: zoom in (the axis says so)
            ax.set_ylim(math.floor(lo * 20 - 1) / 20, 1.0)
            ax.set_title(f"{label} (y axis from {ax.get_ylim()[0]:g})", fontsize=9)
        else:
            ax.set_ylim(min(0.0, lo * 1.1), 1.0)
            if lo < 0:
                ax.axhline(0, color="0.3", lw=0.6)
        if k == 0:
            ax.legend(
                handles=[
                    plt.Rectangle(
                        (0, 0),
                        1,
                        1,
                        fc="0.35",
                        alpha=1.0 - 0.55 * (j % 2),
                        hatch=None if j % 2 == 0 else "///",
                        ec="white",
                    )
                    for j in range(len(layers))
                ],
                labels=[pretty_layer(layer) for layer in layers],
                fontsize=7,
                frameon=False,
                loc="upper left",
            )
    n = score_summary(scores, SCORES[0][0])["n"]
    runs = int(scores["repeat"].nunique()) if "repeat" in scores else 1
    seeds = int(scores["seed"].nunique()) if "seed" in scores else 1
    fig.text(
        0.5,
        0.005,
        f"bars: mean ± 95% CI over {seeds} seed(s) × {runs} t-SNE run(s) "
        f"(n = {int(n.min())}{'' if n.min() == n.max() else f'–{int(n.max())}'} per bar)",
        ha="center",
        va="bottom",
        fontsize=7.5,
        color="0.3",
    )
    style.save(fig, [Path(p) for p in out_paths])
