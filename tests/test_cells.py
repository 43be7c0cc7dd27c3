"""The cell runner (dendritic.cells): engine choice and seed groups, outputs, load_run, and the
one-way imports of the training floors (cells → engine → training → models)."""

import ast
from pathlib import Path

import pytest
import torch

from dendritic.cells import default_replicas, load_run, save_cell, seed_groups, train_cell
from dendritic.config import Cell
from dendritic.models import build_masks
from dendritic.summary import collect
from dendritic.training import evaluate, to_float

MNIST = (1, 28, 28)
SRC = Path(__file__).resolve().parents[1] / "src" / "dendritic"


def cell(**kw):
    base = dict(
        experiment="main", dataset="fmnist", model="dANN-R", dendrites=2, somata=32, epochs=2, lr=1e-3, seeds=(0,)
    )
    return Cell(**{**base, **kw})


def test_default_replicas():
    c = cell(seeds=(0, 1, 2, 3, 4))
    assert default_replicas(c, MNIST, 10, torch.device("cuda")) == 5
    assert 1 <= default_replicas(c, MNIST, 10, torch.device("cpu")) <= 5
    big = cell(model="vANN", dendrites=64, somata=512, seeds=(0, 1, 2, 3, 4))
    assert default_replicas(big, MNIST, 10, torch.device("cpu")) == 1


def test_default_replicas_counts_the_datasets_own_classes():
    """vANN D=3, S=512: 1,997,834 parameters with 10 classes (batched on the CPU), 2,016,815 with
    EMNIST's 47 (over CPU_BATCH_MAX_PARAMS: one seed at a time)."""
    c = cell(model="vANN", dendrites=3, somata=512, seeds=(0, 1, 2))
    assert default_replicas(c, MNIST, 10, torch.device("cpu")) == 3
    assert default_replicas(c, MNIST, 47, torch.device("cpu")) == 1


def test_seed_groups():
    c = cell(seeds=(0, 1, 2, 3, 4))
    cpu = torch.device("cpu")
    assert seed_groups(c, "reference", MNIST, 10, cpu) == [(0,), (1,), (2,), (3,), (4,)]
    assert seed_groups(c, "fast", MNIST, 10, cpu, replicas=2) == [(0, 1), (2, 3), (4,)]
    assert seed_groups(c, "fast", MNIST, 10, torch.device("cuda")) == [(0, 1, 2, 3, 4)]
    with pytest.raises(ValueError, match="engine"):
        seed_groups(c, "turbo", MNIST, 10, cpu)


def _imports(path: Path) -> tuple[set[str], list[str]]:
    """(dendritic modules imported at module level, those imported inside a function)."""
    tree = ast.parse(path.read_text())
    top, inner = set(), []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("dendritic"):
            names = {f"dendritic.{a.name}" for a in node.names} if node.module == "dendritic" else {node.module}
            (top.update(names) if node in tree.body else inner.extend(names))
    return top, inner


def test_training_floors_import_one_way():
    """cells → engine → training → models, no import back up and no function-level imports
    between them."""
    floors = ["models", "training", "engine", "cells"]
    for i, name in enumerate(floors):
        top, inner = _imports(SRC / f"{name}.py")
        above = {f"dendritic.{f}" for f in floors[i + 1 :]}
        assert not top & above, f"{name} imports a floor above it: {top & above}"
        assert not [m for m in inner if m.split(".")[1] in floors], f"{name}: function-level import {inner}"


def test_outputs_round_trip_and_are_atomic(tmp_path, toy_data):
    c = cell(model="dANN-GRF", seeds=(0, 1))
    res = train_cell(c, toy_data, "cpu")
    paths = save_cell(tmp_path, c, res)
    df = collect([paths["metrics"]])
    assert list(df["seed"]) == [0, 1]
    model = load_run(paths["weights"], 1, toy_data.image_shape, toy_data.n_classes)
    masks = build_masks("dANN-GRF", (1, 28, 28), 2, 32, seed=1)
    assert torch.equal(model.layers[0].mask, torch.as_tensor(masks[0], dtype=torch.bool))
    xt = to_float(toy_data.x_test, torch.device("cpu"))
    loss, acc = evaluate(model, xt, toy_data.y_test)
    assert loss == pytest.approx(res[1].test_loss, rel=1e-6) and acc == res[1].test_acc
    assert not list(tmp_path.glob(".*.tmp")), "temporary files left behind"


def test_failed_save_leaves_no_finished_marker(tmp_path, toy_data, monkeypatch):
    c = cell()
    res = train_cell(c, toy_data, "cpu")
    import dendritic.runio as runio

    def boom(path, obj):
        raise OSError("disk full")

    monkeypatch.setattr(runio, "write_json", boom)
    with pytest.raises(OSError):
        save_cell(tmp_path, c, res)
    assert not (tmp_path / "metrics.csv").exists()
