"""One look for every figure: a fixed colour per model, labels, and saving to PNG + PDF."""

from __future__ import annotations

from pathlib import Path

import matplotlib

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

#: Order in which models appear in legends.
MODEL_ORDER: list[str] = list(MODEL_COLORS)


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


def save(fig, paths) -> None:
    """Save ``fig`` to every path in ``paths`` (e.g. a .png and a .pdf), creating folders."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    for p in paths:
        p = Path(p)
        p.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(p, bbox_inches="tight")
    plt.close(fig)
