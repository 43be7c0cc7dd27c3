"""What the figure modules share: reading the summary, the metric and efficiency axis labels,
error bars and CI bands, the log axis of parameter counts, the figure-wide legend and model
patches, and the note that counts the diverged runs left out of the means. The tables themselves
come from :mod:`dendritic.trials`, the names and the legend order from :mod:`dendritic.paper`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from dendritic.paper import dataset_title, ordered_models  # noqa: F401  (the figures' names)
from dendritic.plots import style
from dendritic.summary import load_summary

#: Metrics: (summary column, axis label, scale to the plotted unit).
ACC = ("test_acc", "Test accuracy (%)", 100.0)
LOSS = ("test_loss", "Test loss (cross-entropy)", 1.0)
EFF_LABEL = {
    "test_acc": "Accuracy efficiency\n(acc / normalised f)",
    "test_loss": "Loss efficiency\n(loss × normalised f, lower = better)",
}


def as_frame(summary: str | Path | pd.DataFrame) -> pd.DataFrame:
    """The summary as a frame (a path is read with :func:`dendritic.summary.load_summary`)."""
    return summary.copy() if isinstance(summary, pd.DataFrame) else load_summary(summary)


def diverged_note(fig, df: pd.DataFrame) -> None:
    """Under the figure: how many runs of ``df`` diverged and were left out of the means, per model."""
    n = int(df["diverged"].sum()) if "diverged" in df else 0
    if n:
        bad = df[df["diverged"]].groupby("model").size()
        txt = ", ".join(f"{m}: {k}" for m, k in bad.items())
        fig.text(
            0.01,
            -0.02,
            f"Diverged runs (loss NaN/inf or above training.divergence_loss) left out of the means: {n} ({txt})",
            fontsize=7,
            color="firebrick",
            ha="left",
            va="top",
        )


def errorbar(ax, x, mean, ci, model, **kw):
    """Means with error bars, in the model's colour."""
    ax.errorbar(
        x,
        mean,
        yerr=np.nan_to_num(ci),
        color=style.model_color(model),
        label=model,
        marker="o",
        ms=3.5,
        lw=1.0,
        elinewidth=0.8,
        capsize=1.5,
        **kw,
    )


def line(ax, x, mean, ci, model, **kw):
    """Means joined by a line, their 95 % CI as a band (the paper's seaborn line plots)."""
    x, mean, ci = (np.asarray(v, dtype=float) for v in (x, mean, ci))
    color = style.model_color(model)
    ax.plot(x, mean, color=color, label=model, marker="o", ms=3.2, lw=1.1, **kw)
    ci = np.nan_to_num(ci)
    ax.fill_between(x, mean - ci, mean + ci, color=color, alpha=0.18, lw=0)


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
    """One legend above the figure."""
    fig.legend(
        handles,
        labels,
        loc="lower center",
        ncol=ncol or min(len(labels), 8),
        frameon=False,
        bbox_to_anchor=(0.5, y),
        fontsize=8,
    )


def model_handles(models: Sequence[str]) -> list[Patch]:
    """Legend patches in each model's colour."""
    return [Patch(facecolor=style.model_color(m), edgecolor="none", label=m) for m in models]
