"""Tests of dendritic.plots.examples (Supplementary Fig. 1: example images per dataset)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import FMNIST_MIRROR, requires_fmnist

from dendritic import datasets as ds
from dendritic.plots import examples


def fake_prepared(path: Path, name: str, n_per_class: int = 3) -> Path:
    """A small file in the prepared-dataset format (the contract of dendritic.datasets)."""
    spec = ds.DATASETS[name]
    n = spec.n_classes * n_per_class
    g = torch.Generator().manual_seed(0)
    y = torch.arange(spec.n_classes).repeat(n_per_class)
    x = torch.randint(0, 256, (n, *spec.image_shape), generator=g, dtype=torch.uint8)
    meta = {
        "name": name,
        "title": spec.title,
        "image_shape": list(spec.image_shape),
        "n_classes": spec.n_classes,
        "class_names": list(spec.class_names),
        "n_train": n,
        "n_test": 2,
        "sources": {},
    }
    ds.save_prepared(
        path, {"x_train": x, "y_train": y, "x_test": x[:2].clone(), "y_test": y[:2].clone()}, meta
    )  # with its checksums, as prepare writes it
    return path


def test_shown_classes_spread_over_large_class_sets():
    assert examples.shown_classes(10, 10) == list(range(10))
    emnist = examples.shown_classes(47, 10)
    assert len(emnist) == 10 and emnist[0] == 0 and emnist[-1] == 46
    assert [ds.EMNIST_BALANCED_CLASSES[i] for i in emnist] == list("05AFKQVagt")


def test_picked_examples_belong_to_their_class_and_depend_on_seed():
    labels = np.repeat(np.arange(5), 20)
    a = examples.pick_examples(labels, [0, 3], 4, np.random.default_rng(0))
    b = examples.pick_examples(labels, [0, 3], 4, np.random.default_rng(1))
    assert all((labels[idx] == c).all() and len(set(idx)) == 4 for c, idx in a.items())
    assert any((a[c] != b[c]).any() for c in a)


def test_figure_is_written_for_grey_rgb_and_47_class_datasets(tmp_path):
    paths = {name: fake_prepared(tmp_path / f"{name}.pt", name) for name in ("mnist", "emnist", "cifar10")}
    out = [tmp_path / "fig" / "suppl_fig1.png", tmp_path / "fig" / "suppl_fig1.pdf"]
    examples.plot_examples(paths, out, seed=0)
    assert out[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out[0].stat().st_size > 20_000
    assert out[1].read_bytes()[:5] == b"%PDF-"
    emnist = ds.load_prepared(paths["emnist"])
    assert "47 classes (10 shown)" in examples.panel_title(emnist, 10)


def test_no_datasets_is_an_error(tmp_path):
    with pytest.raises(ValueError):
        examples.plot_examples({}, [tmp_path / "x.png"])


@pytest.mark.fmnist
@requires_fmnist
def test_figure_from_the_real_fashion_mnist(tmp_path):
    prepared = tmp_path / "fmnist.pt"
    ds.prepare("fmnist", prepared, tmp_path / "raw", mirrors=[FMNIST_MIRROR])
    out = tmp_path / "suppl_fig1.png"
    examples.plot_examples({"fmnist": prepared}, [out])
    assert out.stat().st_size > 20_000
