"""Beyond the paper: few-shot training, for any model and learning rule; one table,
``results/few_shot.csv`` (spec B.4, the EG stand-in's generalisation check).

Protocol (decision, spec B.4): n training images per class drawn by seed from the full training
set (:func:`few_shot_indices`), a fresh network from the seed's masks and initialisation (the
cell's ``init``), full-batch training for ``steps`` steps with the cell's learning rule (house
lr 1e-3, betas 0.9/0.999, eps 1e-7; :func:`dendritic.optim.make_optimizer`), no validation and no
early stopping; then the accuracy on the whole test set. The draw depends on the seed only (the
same images for every model and rule at that seed) and is nested: the n = 5 images of a class are
the first 5 of its n = 10.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import torch
import torch.nn.functional as F

from dendritic import datasets
from dendritic.best_models import set_threads, write_table
from dendritic.config import Cell
from dendritic.models import build_model
from dendritic.optim import make_optimizer
from dendritic.training import evaluate, resolve_device, to_float

log = logging.getLogger("dendritic.few_shot")

#: Base of the few-shot draw's random stream (far from the training streams).
FEW_SHOT_STREAM = 0x66657773  # ASCII "fews"

#: Columns of ``results/few_shot.csv``.
FEW_SHOT_COLUMNS = [
    "dataset",
    "model",
    "dendrites",
    "somata",
    "layers",
    "cell",
    "seed",
    "optimizer",
    "init",
    "n_params",
    "shots",
    "steps",
    "n_train",
    "train_loss",
    "train_acc",
    "test_loss",
    "test_acc",
    "diverged",
    "wall_s",
]


def few_shot_indices(y: torch.Tensor, shots: int, seed: int) -> torch.Tensor:
    """Indices of ``shots`` images per class of labels ``y``, drawn from the seed's few-shot stream:
    class by class (class 0 first), each class's images in a seeded random order, the first ``shots``
    taken (so a smaller draw is a prefix of a larger one, class by class)."""
    g = torch.Generator().manual_seed(1_000_003 * int(seed) + FEW_SHOT_STREAM)
    y = y.cpu()
    out = []
    for c in range(int(y.max()) + 1):
        idx = (y == c).nonzero().squeeze(1)
        order = torch.randperm(len(idx), generator=g)
        if len(idx) < shots:
            raise ValueError(f"class {c} has {len(idx)} training images, fewer than {shots} shots")
        out.append(idx[order[:shots]])
    return torch.cat(out)


def few_shot_run(prepared, cell: Cell, shots: int, seed: int, steps: int, device: torch.device, data=None) -> dict:
    """One few-shot run: ``cell``'s model, learning rule and init at ``seed``; a row of the table."""
    t0 = time.perf_counter()
    x_all, y_all, x_test, y_test = data or (
        to_float(prepared.x_train, device),
        prepared.y_train.to(device),
        to_float(prepared.x_test, device),
        prepared.y_test.to(device),
    )
    idx = few_shot_indices(y_all, shots, seed).to(device)
    x, y = x_all[idx], y_all[idx]
    model = build_model(
        cell.model,
        prepared.image_shape,
        prepared.n_classes,
        cell.dendrites,
        cell.somata,
        L=cell.layers,
        seed=seed,
        init=cell.init,
    ).to(device)
    opt = make_optimizer(model.named_parameters(), cell.optimizer, cell.lr)
    model.train()
    for _ in range(steps):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    train_loss, train_acc = evaluate(model, x, y)
    test_loss, test_acc = evaluate(model, x_test, y_test)
    return dict(
        dataset=cell.dataset,
        model=cell.model,
        dendrites=cell.dendrites,
        somata=cell.somata,
        layers=cell.layers,
        cell=cell.id,
        seed=seed,
        optimizer=cell.optimizer,
        init=cell.init,
        n_params=int(model.n_params()),
        shots=shots,
        steps=steps,
        n_train=len(idx),
        train_loss=train_loss,
        train_acc=train_acc,
        test_loss=test_loss,
        test_acc=test_acc,
        diverged=not (math.isfinite(train_loss) and math.isfinite(test_loss)),
        wall_s=round(time.perf_counter() - t0, 3),
    )


def few_shot_frame(
    prepared,
    dataset: str,
    model: str,
    dendrites: Sequence[int],
    somata: Sequence[int],
    rules: Sequence[Sequence[str]],
    shots: Sequence[int],
    seeds: Sequence[int],
    steps: int = 500,
    lr: float = 1e-3,
    device: str | torch.device = "cpu",
) -> pd.DataFrame:
    """Every (D, S, (optimizer, init) in ``rules``, n in ``shots``, seed) of one model:
    one row each, :data:`FEW_SHOT_COLUMNS`."""
    dev = resolve_device(device) if isinstance(device, str) else device
    data = (
        to_float(prepared.x_train, dev),
        prepared.y_train.to(dev),
        to_float(prepared.x_test, dev),
        prepared.y_test.to(dev),
    )
    rows = []
    for d in dendrites:
        for s in somata:
            for optimizer, init in rules:
                cell = Cell(
                    experiment="few_shot",
                    dataset=dataset,
                    model=model,
                    dendrites=int(d),
                    somata=int(s),
                    epochs=1,
                    lr=float(lr),
                    optimizer=optimizer,
                    init=init,
                )
                for n in shots:
                    for seed in seeds:
                        row = few_shot_run(prepared, cell, int(n), int(seed), int(steps), dev, data)
                        log.info("%s %s n=%d seed %d: test acc %.4f", model, cell.id, n, seed, row["test_acc"])
                        rows.append(row)
    return pd.DataFrame(rows, columns=FEW_SHOT_COLUMNS)


def run_few_shot(data_path: str | Path, out_path: str | Path, threads: int | None = None, **kw) -> pd.DataFrame:
    """One Snakemake job: :func:`few_shot_frame` of one (dataset, model), written to ``out_path``."""
    set_threads(threads)
    df = few_shot_frame(datasets.load_prepared(data_path), **kw)
    write_table(df, out_path)
    return df
