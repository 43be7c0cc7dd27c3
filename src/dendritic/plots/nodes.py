"""Fig. 5: the selected network of each model, seen through its weights and its hidden nodes.

Reads the tables of :func:`dendritic.evaluation.analyse_best_models` (``results/analysis/``):
``best_cells.csv`` (which network, and why: :func:`dendritic.analysis.select_networks`),
``weight_hists.csv`` / ``weight_stats.csv`` (non-zero weights of every layer) and
``node_stats.csv`` (entropy and selectivity index of every hidden node). One row of panels per
model: the weight histograms of each layer (first analysed seed, with its excess kurtosis,
skewness and range), then the entropy of the active nodes and the selectivity index of the nodes
with SI ≥ 1 of each hidden layer (the paper's Methods: never-active nodes and active nodes above the
threshold for no class are left out, and counted in the panel), all analysed seeds pooled.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from dendritic.analysis import selectivity_shares
from dendritic.paper import LEGEND_ORDER
from dendritic.plots import style

#: How a layer name reads in a panel title.
_PRETTY = {"dendrites": "dendritic", "somata": "somatic", "output": "output"}


def pretty_layer(name: str) -> str:
    """``dendrites`` → ``dendritic``, ``somata_2`` → ``somatic 2``, ``output`` → ``output``."""
    base, _, k = name.partition("_")
    return f"{_PRETTY.get(base, base)} {k}".strip()


def _read(t) -> pd.DataFrame:
    return t if isinstance(t, pd.DataFrame) else pd.read_csv(t)


def _ordered_models(models: Sequence[str]) -> list[str]:
    order = {m: i for i, m in enumerate(LEGEND_ORDER)}
    return sorted(set(models), key=lambda m: (order.get(m, len(order)), m))


def _layers(df: pd.DataFrame, with_output: bool) -> list[str]:
    """Layer names in network order (dendrites, somata, dendrites_2, …, output)."""
    names = list(dict.fromkeys(df["layer"]))

    def key(n):
        base, _, k = n.partition("_")
        return (math.inf if base == "output" else int(k or 1), 0 if base == "dendrites" else 1)

    names = sorted(names, key=key)
    return names if with_output else [n for n in names if n != "output"]


def _row_label(best: pd.DataFrame | None, model: str) -> str:
    if best is None or model not in set(best["model"]):
        return model
    r = best[best["model"] == model].iloc[0]
    why = f"\n({r['reason']})" if "reason" in r and isinstance(r["reason"], str) else ""
    return f"{model}\nD={int(r['dendrites'])}, S={int(r['somata'])}\n{int(r['n_params']):,} params{why}"


def selectivity_histogram(selectivity, n_classes: int) -> tuple[np.ndarray, np.ndarray, dict]:
    """The selectivity panel of Fig. 5: for SI = 1 … C, the share of the nodes with SI ≥ 1 that
    have that SI (never-active nodes, NaN, and SI = 0 nodes are left out, the paper's Methods), and
    :func:`~dendritic.analysis.selectivity_shares` (how many were left out)."""
    shares = selectivity_shares(selectivity)
    si = np.asarray(selectivity, dtype=float)
    si = si[np.isfinite(si) & (si >= 1)].astype(int)
    classes = np.arange(1, n_classes + 1)
    frac = np.bincount(si, minlength=n_classes + 1)[1 : n_classes + 1] / max(len(si), 1)
    return classes, frac, shares


def plot_fig5(
    node_stats,
    weight_hists,
    weight_stats,
    out_paths,
    best_cells=None,
    n_classes: int | None = None,
    models: Sequence[str] | None = None,
) -> None:
    """Fig. 5 as described in the module docstring; writes every path in ``out_paths``."""
    nodes, hists, wstats = _read(node_stats), _read(weight_hists), _read(weight_stats)
    best = _read(best_cells) if best_cells is not None else None
    present = set(nodes["model"]) | set(hists["model"])
    models = _ordered_models([m for m in (models or present) if m in present])
    if not models:
        raise ValueError("no analysed model in the node / weight tables")
    if n_classes is None:
        sel = nodes["selectivity"].dropna()
        n_classes = int(max(10, sel.max() if len(sel) else 10))
    h_max = math.log2(n_classes + 1)
    wlayers, hlayers = _layers(hists, True), _layers(nodes, False)
    ncols = len(wlayers) + 2 * len(hlayers)

    style.setup()
    fig, axes = plt.subplots(len(models), ncols, figsize=(1.75 * ncols + 0.6, 1.45 * len(models) + 0.7), squeeze=False)
    for r, model in enumerate(models):
        color = style.model_color(model)
        # weights: first analysed seed, own x range per panel
        h = hists[hists["model"] == model]
        seed0 = h["seed"].min() if len(h) else None
        for c, layer in enumerate(wlayers):
            ax = axes[r, c]
            hl = h[(h["layer"] == layer) & (h["seed"] == seed0)]
            if len(hl) and hl["count"].sum() > 0:
                widths = (hl["bin_right"] - hl["bin_left"]).to_numpy()
                dens = hl["count"].to_numpy() / (hl["count"].sum() * widths)
                ax.stairs(
                    dens, np.r_[hl["bin_left"].to_numpy(), hl["bin_right"].iloc[-1]], fill=True, color=color, alpha=0.75
                )
                ax.set_ylim(0, 1.5 * dens.max())  # room for the statistics
                s = wstats[(wstats["model"] == model) & (wstats["layer"] == layer) & (wstats["seed"] == seed0)]
                if len(s):
                    s = s.iloc[0]
                    ax.text(
                        0.98,
                        0.97,
                        f"kurt {s['kurtosis']:.2f}\nskew {s['skewness']:.2f}\nrange {s['range']:.2f}",
                        transform=ax.transAxes,
                        ha="right",
                        va="top",
                        fontsize=6.5,
                        color="0.25",
                    )
            ax.set_yticks([])
            ax.tick_params(axis="x", labelsize=7)
            if r == 0:
                ax.set_title(f"weights → {pretty_layer(layer)}", fontsize=8.5)
            if r == len(models) - 1:
                ax.set_xlabel("weight", fontsize=8)
        # entropy and selectivity: active nodes of every analysed seed pooled
        n = nodes[(nodes["model"] == model)]
        for j, layer in enumerate(hlayers):
            nl = n[n["layer"] == layer]
            act = nl[nl["active"].astype(bool)]
            sparsity = 1 - nl["active"].astype(bool).mean() if len(nl) else float("nan")
            ax = axes[r, len(wlayers) + j]
            if len(act):
                dens, _, _ = ax.hist(
                    act["entropy"], bins=np.linspace(0, h_max, 26), color=color, alpha=0.75, density=True
                )
                ax.set_ylim(0, 1.4 * dens.max())
            ax.set_xlim(0, h_max)
            ax.set_yticks([])
            ax.tick_params(axis="x", labelsize=7)
            ax.text(
                0.02,
                0.97,
                f"{len(act) / max(nl['seed'].nunique(), 1):.0f} active/seed\nsparsity {100 * sparsity:.0f}%",
                transform=ax.transAxes,
                ha="left",
                va="top",
                fontsize=6.5,
                color="0.25",
            )
            if r == 0:
                ax.set_title(f"entropy, {pretty_layer(layer)}", fontsize=8.5)
            if r == len(models) - 1:
                ax.set_xlabel("entropy (bits)", fontsize=8)
            ax = axes[r, len(wlayers) + len(hlayers) + j]
            classes, frac, shares = selectivity_histogram(nl["selectivity"].where(nl["active"].astype(bool)), n_classes)
            ax.bar(classes, frac, width=0.8, color=color, alpha=0.85)
            ax.set_xlim(0.4, n_classes + 0.6)
            ax.set_ylim(0, 1.3)
            ax.set_xticks([1] + ([n_classes // 2] if n_classes > 4 else []) + [n_classes])
            ax.tick_params(labelsize=7)
            if shares["n_counted"]:
                ax.text(
                    0.98,
                    0.97,
                    f"SI=1: {100 * shares['specific']:.0f}%\nSI≥2: {100 * shares['mixed']:.0f}%\n"
                    f"left out: {shares['n_si0']} SI=0",
                    transform=ax.transAxes,
                    ha="right",
                    va="top",
                    fontsize=6.5,
                    color="0.25",
                )
            ax.set_yticks([0, 0.5, 1])
            if j == 0:
                ax.set_ylabel("share of nodes, SI ≥ 1", fontsize=7)
            if r == 0:
                ax.set_title(f"selectivity, {pretty_layer(layer)}", fontsize=8.5)
            if r == len(models) - 1:
                ax.set_xlabel("classes (1 = specific)", fontsize=8)
        axes[r, 0].set_ylabel(
            _row_label(best, model), rotation=0, ha="right", va="center", fontsize=8, color=color, labelpad=6
        )
    fig.tight_layout(h_pad=0.6, w_pad=0.4)
    style.save(fig, [Path(p) for p in out_paths])
