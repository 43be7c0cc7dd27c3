"""Figure ``related_eg``: the learning-rule comparison of neighbouring system B, **stand-in: EG,
not the paper's rule** (Inoue et al., arXiv 2603.03234; exponentiated gradients, Cornford et al.
2024, in its place).

(a) log10|w| histograms per weight layer, one line per model and learning rule (solid adam,
dashed eg_adam), each normalised to unit area, summed over seeds and sizes; (b) weight sparsity and
(c) Dale index per layer and learning rule (mean over models, sizes and seeds, 95 % CI over runs);
(d) FGSM accuracy against ε; (e) few-shot accuracy against n per class (mean over seeds and sizes,
95 % CI over seeds). Reads ``results/eg_weights.csv``, ``eg_weight_hists.csv``, and when planned
``adversarial.csv`` and ``few_shot.csv``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from dendritic.paper import ordered_models
from dendritic.plots import style
from dendritic.plots.style import plt

#: Line style per learning rule.
RULE_STYLE = {"adam": "-", "eg_adam": "--"}
RULE_COLOR = {"adam": "#555555", "eg_adam": "#d62728"}


def _read(table) -> pd.DataFrame | None:
    if table is None:
        return None
    df = table if isinstance(table, pd.DataFrame) else pd.read_csv(Path(table))
    return df if len(df) else None


def _ci(x: pd.Series) -> float:
    x = x.dropna()
    return float(1.96 * x.std(ddof=1) / np.sqrt(len(x))) if len(x) > 1 else 0.0


def _curves(ax, df: pd.DataFrame, x: str, xlabel: str, title: str) -> None:
    """Accuracy against ``x`` per model (colour) and optimizer (line style): seeds first averaged
    over the sizes, then mean ± 95 % CI over seeds."""
    df = df[~df["diverged"].astype(str).str.lower().isin(["true", "1"])]
    for model in ordered_models(sorted(df["model"].unique())):
        for rule, part in df[df["model"] == model].groupby("optimizer"):
            per_seed = part.groupby([x, "seed"])["test_acc"].mean().reset_index()
            agg = per_seed.groupby(x)["test_acc"].agg(["mean", _ci]).reset_index()
            ax.errorbar(
                agg[x],
                100 * agg["mean"],
                yerr=100 * agg["_ci"],
                color=style.model_color(model),
                ls=RULE_STYLE.get(rule, ":"),
                marker="o",
                ms=3,
                capsize=2,
                label=f"{model} {rule}",
            )
    ax.set_xlabel(xlabel)
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(title)


def plot_related_eg(
    weights,
    hists,
    out_paths: Sequence[str | Path],
    adversarial=None,
    few_shot=None,
) -> dict[str, pd.DataFrame]:
    """Draw the figure of the module docstring to ``out_paths`` (PNG, PDF); returns the tables."""
    w, h = _read(weights), _read(hists)
    adv, fs = _read(adversarial), _read(few_shot)
    if w is None or h is None:
        raise ValueError("no weight statistics to plot (results/eg_weights.csv is empty)")
    layers = list(dict.fromkeys(h["layer"]))
    style.setup()
    fig = plt.figure(figsize=(3.2 * max(len(layers), 3), 7.2))
    grid = fig.add_gridspec(2, max(len(layers), 4))
    for j, layer in enumerate(layers):
        ax = fig.add_subplot(grid[0, j])
        part = h[h["layer"] == layer]
        for (model, rule), g in part.groupby(["model", "optimizer"]):
            g = g.groupby(["bin_lo", "bin_hi"], as_index=False)["count"].sum()
            total = g["count"].sum()
            if total == 0:
                continue
            width = g["bin_hi"] - g["bin_lo"]
            ax.plot(
                (g["bin_lo"] + g["bin_hi"]) / 2,
                g["count"] / total / width,
                color=style.model_color(model),
                ls=RULE_STYLE.get(rule, ":"),
                lw=1.2,
                label=f"{model} {rule}",
            )
        ax.set_xlim(-4.5, 1)
        ax.set_xlabel("log10 |w|")
        ax.set_ylabel("density")
        ax.set_title(f"{'(a) ' if j == 0 else ''}weights into {layer}")
    rules = [r for r in RULE_STYLE if r in set(w["optimizer"])]
    models = ordered_models(sorted(w["model"].unique()))
    panels = [
        ("weight_sparsity", "(b) weight sparsity", w[w["layer"] != "output"], ["all"]),
        ("dale_index", "(c) Dale index", w[w["presynaptic"] != "pixels"], None),
    ]
    for k, (col, title, data, groups) in enumerate(panels):
        ax = fig.add_subplot(grid[1, k])
        groups = groups or list(dict.fromkeys(data["presynaptic"]))
        slots = [(m, g) for m in models for g in groups]
        xs = np.arange(len(slots))
        for i, rule in enumerate(rules):
            part = data[data["optimizer"] == rule]
            vals = [part[(part["model"] == m) & ((part["presynaptic"] == g) | (g == "all"))][col] for m, g in slots]
            ax.bar(
                xs + (i - 0.5) * 0.38,
                [v.mean() if len(v) else np.nan for v in vals],
                0.38,
                yerr=[_ci(v) for v in vals],
                color=RULE_COLOR[rule],
                label=rule,
                capsize=2,
            )
        labels = [m if g == "all" else f"{m} ({g[0]})" for m, g in slots]
        ax.set_xticks(xs, labels, rotation=90 if len(groups) > 1 else 30, ha="center" if len(groups) > 1 else "right")
        ax.set_title(title)
        if col == "dale_index":
            ax.set_ylim(0, 1.05)
        ax.legend(frameon=False)
    ax = fig.add_subplot(grid[1, 2])
    if adv is not None:
        _curves(
            ax, adv[(adv["attack"] == "fgsm") & (adv["epsilon"] > 0)], "epsilon", "ε (pixel scale [0, 1])", "(d) FGSM"
        )
        ax.set_xscale("log")
    else:
        ax.text(0.5, 0.5, "adversarial evaluation not run", ha="center", transform=ax.transAxes)
    ax = fig.add_subplot(grid[1, 3])
    if fs is not None:
        _curves(ax, fs, "shots", "images per class (n)", "(e) few-shot")
        ax.set_xscale("log")
    else:
        ax.text(0.5, 0.5, "few-shot evaluation not run", ha="center", transform=ax.transAxes)
    handles = [Line2D([], [], color=style.model_color(m), lw=2, label=m) for m in models]
    handles += [Line2D([], [], color="k", ls=ls, label=rule) for rule, ls in RULE_STYLE.items()]
    fig.legend(handles=handles, loc="upper center", ncol=len(handles), frameon=False, bbox_to_anchor=(0.5, 1.04))
    fig.suptitle("Stand-in: EG, not the paper's rule (Inoue et al. 2026)", y=1.08, fontsize=11)
    fig.tight_layout()
    style.save(fig, out_paths)
    return {"weights": w, "hists": h}
