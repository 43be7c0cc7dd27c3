"""Supplementary Fig. 1: example images of every dataset, one column per class, labelled by class name."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from dendritic.datasets import PreparedDataset, load_prepared
from dendritic.plots import style

#: Size of one image tile in inches.
_TILE_IN = 0.78
#: Extra height of a dataset's panel for its title and the class names, in inches.
_PANEL_HEAD_IN = 0.72


def plot_examples(
    prepared_paths: Mapping[str, str | os.PathLike],
    out_paths: Sequence[str | os.PathLike],
    seed: int = 0,
    per_class: int = 2,
    max_classes: int = 10,
) -> None:
    """Write Supplementary Fig. 1 to every path in ``out_paths`` (e.g. a .png and a .pdf).

    One panel per dataset (in the order of ``prepared_paths``: dataset name → prepared ``.pt``),
    ``per_class`` random training images of each class (drawn with ``seed``), the class names above.
    Datasets with more than ``max_classes`` classes (EMNIST balanced: 47) show ``max_classes``
    classes spread evenly over all of them, and the panel title says so.
    """
    if not prepared_paths:
        raise ValueError("plot_examples needs at least one prepared dataset")
    style.setup()
    data = {name: load_prepared(path) for name, path in prepared_paths.items()}
    n_cols = max(min(d.n_classes, max_classes) for d in data.values())
    heights = [per_class * _TILE_IN + _PANEL_HEAD_IN for _ in data]
    fig = plt.figure(figsize=(n_cols * _TILE_IN + 0.3, sum(heights)))
    panels = fig.subfigures(len(data), 1, height_ratios=heights, squeeze=False)[:, 0]
    for panel, ds in zip(panels, data.values()):
        _draw_panel(panel, ds, np.random.default_rng(seed), per_class, max_classes, n_cols)
    style.save(fig, out_paths)


def shown_classes(n_classes: int, max_classes: int) -> list[int]:
    """All classes if there are at most ``max_classes``, else ``max_classes`` spread evenly
    (first and last included; for EMNIST balanced: 0 5 A F K Q V a g t)."""
    if n_classes <= max_classes:
        return list(range(n_classes))
    return sorted({int(round(i)) for i in np.linspace(0, n_classes - 1, max_classes)})


def pick_examples(
    labels: np.ndarray, classes: Sequence[int], per_class: int, rng: np.random.Generator
) -> dict[int, np.ndarray]:
    """``per_class`` distinct random indices of each class in ``labels`` (fewer if the class is smaller)."""
    return {
        c: rng.choice(np.flatnonzero(labels == c), size=min(per_class, int((labels == c).sum())), replace=False)
        for c in classes
    }


def panel_title(ds: PreparedDataset, n_shown: int) -> str:
    """E.g. 'Fashion-MNIST · 28×28 grayscale · 10 classes · 60,000 train / 10,000 test images';
    a subset is announced as '47 classes (10 shown)'."""
    c, h, w = ds.image_shape
    colour = "grayscale" if c == 1 else "RGB"
    shown = f" ({n_shown} shown)" if n_shown < ds.n_classes else ""
    return (
        f"{ds.meta['title']}  ·  {h}×{w} {colour}  ·  {ds.n_classes} classes{shown}  ·  "
        f"{len(ds.y_train):,} train / {len(ds.y_test):,} test images"
    )


def _draw_panel(
    panel, ds: PreparedDataset, rng: np.random.Generator, per_class: int, max_classes: int, n_cols: int
) -> None:
    """One dataset: a row of class columns, ``per_class`` images each, class names on top."""
    classes = shown_classes(ds.n_classes, max_classes)
    picks = pick_examples(ds.y_train.numpy(), classes, per_class, rng)
    height = per_class * _TILE_IN + _PANEL_HEAD_IN  # inches; positions below are fractions of it
    axes = panel.subplots(
        per_class,
        n_cols,
        squeeze=False,
        gridspec_kw={
            "wspace": 0.06,
            "hspace": 0.06,
            "top": 1 - 0.5 / height,
            "bottom": 0.22 / height,
            "left": 0.01,
            "right": 0.99,
        },
    )
    panel.suptitle(
        panel_title(ds, len(classes)),
        x=0.01,
        ha="left",
        y=1 - 0.04 / height,
        va="top",
        fontsize=10.5,
        fontweight="bold",
    )
    for col, ax_col in enumerate(axes.T):
        for row, ax in enumerate(ax_col):
            ax.set_axis_off()
            if col >= len(classes) or row >= len(picks[classes[col]]):
                continue
            ax.imshow(
                _as_image(ds.x_train[picks[classes[col]][row]]), cmap="gray", vmin=0, vmax=255, interpolation="nearest"
            )
            if row == 0:
                ax.set_title(ds.class_names[classes[col]], fontsize=8.5, pad=3)


def _as_image(x) -> np.ndarray:
    """A (C, H, W) uint8 tensor as something imshow shows: (H, W) or (H, W, 3)."""
    x = x.numpy()
    return x[0] if x.shape[0] == 1 else np.transpose(x, (1, 2, 0))
