"""One look for every figure: a fixed colour per model, the matplotlib defaults, and saving to
PNG + PDF. The legend order is the paper's vocabulary (:data:`dendritic.paper.LEGEND_ORDER`)."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")  # figures are written to files; never needs a display
import matplotlib.pyplot as plt  # noqa: E402

#: One colour per model, the same in every figure (dANNs warm/green, vANNs blue/grey, sANNs purple).
MODEL_COLORS: dict[str, str] = {
    "dANN-R": "#d62728",
    "dANN-LRF": "#2ca02c",
    "dANN-GRF": "#ff7f0e",
    "pdANN": "#8c564b",
    "vANN": "#1f77b4",
    "vANN-R": "#6baed6",
    "vANN-LRF": "#17becf",
    "vANN-GRF": "#9edae5",
    "sANN": "#9467bd",
    "sANN-LRF": "#c5b0d5",
    "sANN-GRF": "#e377c2",
    "psANN": "#7f7f7f",
    "vANN-0.2": "#4a7fb0",
    "vANN-0.5": "#2d5d8a",
    "vANN-0.8": "#17375e",
}


def model_color(name: str) -> str:
    """Colour of a model; unknown names get a neutral grey rather than an error."""
    return MODEL_COLORS.get(name, "#444444")


def setup() -> None:
    """Matplotlib defaults shared by all figures (readable in a talk, vector-friendly PDFs)."""
    plt.rcParams.update(
        {
            "figure.dpi": 110,
            "savefig.dpi": 200,
            "font.size": 9,
            "axes.titlesize": 10,
            "axes.labelsize": 9,
            "legend.fontsize": 8,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "pdf.fonttype": 42,
        }
    )


NO_FINITE_RUNS = "no finite runs"


def mark_panels_without_data(fig) -> int:
    """Write "no finite runs" on every panel that was drawn on but holds no finite point (every
    run in it diverged, so every mean is NaN), and give such a panel linear axes: matplotlib
    cannot place log ticks without data and would fail to save the figure. Returns how many."""
    marked = 0
    for ax in fig.get_axes():
        if not ax.axison or not (ax.lines or ax.collections or ax.patches or ax.containers):
            continue  # a panel left empty on purpose (legend, text)
        lim = ax.dataLim.get_points()
        for k, (scale, set_scale) in enumerate([(ax.get_xscale(), ax.set_xscale), (ax.get_yscale(), ax.set_yscale)]):
            lo, hi = lim[0, k], lim[1, k]
            if scale == "log" and not (np.isfinite(lo) and np.isfinite(hi) and hi > 0):
                set_scale("linear")
        if not np.all(np.isfinite(lim)) and not any(t.get_text() == NO_FINITE_RUNS for t in ax.texts):
            ax.text(
                0.5,
                0.5,
                NO_FINITE_RUNS,
                transform=ax.transAxes,
                ha="center",
                va="center",
                fontsize=9,
                color="firebrick",
            )
            marked += 1
    return marked


def save(fig, paths) -> None:
    """Save ``fig`` to every path in ``paths`` (e.g. a .png and a .pdf), creating folders.

    Panels without any finite data say so (:func:`mark_panels_without_data`) instead of failing."""
    mark_panels_without_data(fig)
    if isinstance(paths, (str, Path)):
        paths = [paths]
    for p in paths:
        p = Path(p)
        p.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(p, bbox_inches="tight")
    plt.close(fig)
