"""Figure ``related_dac`` (beyond the paper): DAC units (Metta et al., WACV 2024) against the
paper's models, from ``results/summary.csv``.

(a) Test accuracy and test loss against trainable parameters (log x), as in Fig. 2: each base
    model X of the main experiment (solid) and its DAC variant X-DAC of experiment ``dac``
    (dashed, same colour), means over seeds with the 95 % CI as a band.
(b) The paired difference X-DAC(D, S) − X(2D, S) of the test accuracy (almost equal parameters),
    mean ± 95 % CI over the paired seeds of each cell (:func:`dendritic.dac.cell_deltas`).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from dendritic import dac
from dendritic.paper import LEGEND_ORDER, PRIMARY_DATASET, dataset_title
from dendritic.plots import style
from dendritic.plots.common import ACC, LOSS, as_frame, diverged_note, log_param_axis
from dendritic.trials import aggregate_seeds
from dendritic.wiring import DAC_MODELS, base_model


def _band(ax, a: pd.DataFrame, metric: str, scale: float, color: str, label: str, dashed: bool) -> None:
    a = a.sort_values("n_params")
    x = a["n_params"].to_numpy(float)
    mean = a[f"{metric}_mean"].to_numpy(float) * scale
    ci = np.nan_to_num(a[f"{metric}_ci95"].to_numpy(float)) * scale
    ax.plot(
        x, mean, color=color, ls="--" if dashed else "-", marker="s" if dashed else "o", ms=3.4, lw=1.1, label=label
    )
    ax.fill_between(x, mean - ci, mean + ci, color=color, alpha=0.15, lw=0)


def plot_related_dac(summary: str | Path | pd.DataFrame, out_paths, dataset: str = PRIMARY_DATASET) -> pd.DataFrame:
    """Draw the figure (module docstring) for ``dataset``; returns the per-cell paired differences
    of panel (b)."""
    df = as_frame(summary)
    df = df[df["dataset"] == dataset]
    dac_runs = df[(df["experiment"] == dac.EXPERIMENT) & df["model"].isin(DAC_MODELS)]
    if dac_runs.empty:
        raise ValueError(f"no runs of experiment {dac.EXPERIMENT!r} on {dataset!r} in the summary")
    bases = {base_model(m) for m in dac_runs["model"]}
    main = df[(df["experiment"] == "main") & df["model"].isin(bases)]
    shown = pd.concat([main, dac_runs])
    agg = aggregate_seeds(shown) if len(shown) else shown
    order = [m for m in LEGEND_ORDER if m in bases]
    deltas = dac.cell_deltas(dac.paired_deltas(df, "budget"))

    style.setup()
    fig, axes = plt.subplots(1, 3, figsize=(12.0, 3.9), gridspec_kw={"width_ratios": [1.2, 1.2, 1.0]})
    for ax, (metric, ylabel, scale) in zip(axes[:2], (ACC, LOSS)):
        for m in order:
            color = style.model_color(m)
            for name, dashed in ((m, False), (f"{m}-DAC", True)):
                a = agg[agg["model"] == name]
                if len(a):
                    _band(ax, a, metric, scale, color, name, dashed)
        log_param_axis(ax)
        ax.set_xlabel("Trainable parameters")
        ax.set_ylabel(ylabel)
    axes[0].set_title(f"(a) {dataset_title(dataset)}: X (solid) and X-DAC (dashed)", loc="left")
    axes[1].set_title("mean, band = 95% CI over seeds", loc="left")

    ax = axes[2]
    ticks, labels = [], []
    pos = 0
    for m in [m for m in order if m in set(deltas.get("base", []))]:
        d = deltas[deltas["base"] == m].sort_values(["somata", "dendrites"])
        xs = np.arange(pos, pos + len(d))
        ax.errorbar(
            xs,
            100 * d["delta_mean"].to_numpy(float),
            yerr=100 * np.nan_to_num(d["delta_ci95"].to_numpy(float)),
            color=style.model_color(m),
            marker="s",
            ms=4,
            lw=0,
            elinewidth=1.0,
            capsize=2,
            label=f"{m}-DAC − {m}(2D)",
        )
        ticks += list(xs)
        labels += [f"D={int(r.dendrites)}\nS={int(r.somata)}" for r in d.itertuples()]
        pos += len(d) + 1
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xticks(ticks, labels, fontsize=7)
    if ticks:
        ax.set_xlim(min(ticks) - 0.8, max(ticks) + 0.8)
    ax.set_ylabel("Δ test accuracy (pp)")
    ax.set_title("(b) X-DAC(D,S) − X(2D,S), mean ± 95% CI", loc="left")
    if not ticks:
        ax.text(0.5, 0.5, "no X(2D, S) main runs\nto pair with", transform=ax.transAxes, ha="center", va="center")
    else:
        ax.legend(frameon=False, fontsize=7, loc="best")
    handles, names = axes[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncol=min(len(names), 8), frameon=False, bbox_to_anchor=(0.5, 0.98))
    fig.tight_layout()
    diverged_note(fig, shown)
    style.save(fig, out_paths)
    return deltas
