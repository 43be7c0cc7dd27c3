"""Neighbouring system C.4: permuted Fashion-MNIST with active dendrites (``results/permuted.csv``,
:mod:`dendritic.permuted`).

(a) mean test accuracy over the tasks seen so far, after each task, for the largest T run;
(b) final mean accuracy over all T tasks against T.

One line per (model, context, size); means over seeds with 95% t-intervals. dANN-LRF/GRF lose
their locality under a pixel permutation (a local patch maps to scattered pixels), so read dANN-R.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import stats

from dendritic.permuted import final_accuracy, mean_over_seen
from dendritic.plots import style

#: Colours of the active-dendrite family (the house models keep theirs, :mod:`dendritic.plots.style`).
ADN_COLORS = {"ADN": "#000000", "ADN-ReLU": "#e6550d", "kWTA-MLP": "#31a354"}
CONTEXT_STYLE = {"one_hot": "-", "prototype": "--", "zero": ":", "none": "-"}


def _color(model: str) -> str:
    return ADN_COLORS.get(model, style.model_color(model))


def seed_stats(df: pd.DataFrame, by: list[str], value: str) -> pd.DataFrame:
    """Mean, 95% t-interval half-width and seed count of ``value`` per ``by``."""

    def agg(s: pd.Series) -> pd.Series:
        n = s.notna().sum()
        ci = stats.t.ppf(0.975, n - 1) * s.std(ddof=1) / np.sqrt(n) if n > 1 else np.nan
        return pd.Series({"mean": s.mean(), "ci95": ci, "n": n})

    return df.groupby(by, dropna=False)[value].apply(agg).unstack().reset_index()


def _label(model: str, context: str, size: str, n_params) -> str:
    ctx = "" if context == "none" else f", {context.replace('_', '-')}"
    return f"{model} {size}{ctx} ({int(n_params):,})"


MARKERS = ("o", "s", "^", "D", "v", "P")


def _lines(ax, agg: pd.DataFrame, x: str) -> None:
    """One line per (model, context, size); the legend gives the parameters at the largest T
    (an ADN's segments grow with T). A model's sizes differ by marker, its contexts by line style."""
    sizes = agg.groupby("model")["size"].unique().to_dict()
    for (model, context, size), g in agg.groupby(["model", "context", "size"], sort=True):
        g = g.sort_values(x)
        mean, ci = 100 * g["mean"], 100 * np.nan_to_num(g["ci95"].astype(float))
        marker = MARKERS[sorted(sizes[model]).index(size) % len(MARKERS)]
        kw = dict(color=_color(model), ls=CONTEXT_STYLE.get(context, "-"))
        label = _label(model, context, size, g["n_params"].max())
        ax.plot(g[x], mean, marker=marker, ms=3.5, lw=1.3, label=label, **kw)
        ax.fill_between(g[x], mean - ci, mean + ci, color=kw["color"], alpha=0.12, lw=0)


def _with_params(agg: pd.DataFrame, runs: pd.DataFrame, by_t: str | None = None) -> pd.DataFrame:
    """``agg`` with each line's trainable parameters (per T when ``by_t`` names the T column)."""
    keys = ["model", "context", "size"] + ([by_t] if by_t else [])
    return agg.merge(runs.groupby(keys, as_index=False)["n_params"].max(), on=keys, how="left")


def plot_related_permuted(table: str | Path | pd.DataFrame, out_paths) -> None:
    """Draw the two panels from the permuted table (see the module docstring)."""
    style.setup()
    df = table if isinstance(table, pd.DataFrame) else pd.read_csv(table)
    fig, (ax_a, ax_b) = plt.subplots(1, 2, figsize=(10, 4.2))
    keys = ["model", "context", "size"]
    if len(df):
        t_max = int(df["tasks"].max())
        seen = mean_over_seen(df[df["tasks"] == t_max])
        seen = seen.assign(task=seen["after_task"] + 1)
        _lines(ax_a, _with_params(seed_stats(seen, keys + ["task"], "mean_acc"), seen), "task")
        ax_a.set_title(f"(a) T = {t_max}: mean accuracy over the tasks seen")
        final = final_accuracy(df)
        _lines(ax_b, _with_params(seed_stats(final, keys + ["tasks"], "final_acc"), final, "tasks"), "tasks")
        ax_b.set_xticks(sorted(df["tasks"].unique()))
        n_seeds = int(df.groupby(keys + ["tasks"])["seed"].nunique().min())
        fig.text(0.01, -0.02, f"{df['dataset'].iloc[0]}; {n_seeds}+ seeds; mean ± 95% CI", fontsize=7)
    else:
        ax_a.set_title("(a) mean accuracy over the tasks seen")
    ax_a.set_xlabel("tasks trained")
    ax_a.set_ylabel("mean test accuracy (%)")
    ax_b.set_title("(b) final mean accuracy over all T tasks")
    ax_b.set_xlabel("number of tasks T")
    ax_b.set_ylabel("final mean test accuracy (%)")
    handles, labels = ax_b.get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.05), ncol=3, frameon=False)
    fig.text(0.5, 1.0, "dANN-LRF/GRF lose their locality under permutation: read dANN-R", ha="center", fontsize=7)
    fig.tight_layout()
    style.save(fig, out_paths)
