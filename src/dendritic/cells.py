"""A cell: one configuration of one experiment, trained for every seed, and its outputs.

This is what one Snakemake ``train`` job (and ``python -m dendritic train``) does
(:func:`run_cell`): hold the cell folder's lock, load the prepared dataset, choose the training
engine and group the seeds (:func:`seed_groups`), train them with one of the two loops of the
same protocol (the paper, Methods), and write ``history.csv``, ``weights.pt``,
``provenance.json`` and, last, ``metrics.csv`` (:func:`save_cell`). :func:`load_run` rebuilds a
trained network of one seed from ``weights.pt``.

The two engines give the same numbers up to float rounding:

- ``fast``: :mod:`dendritic.engine`, sparse layers, several seeds trained at once
  (:func:`dendritic.engine.train_replicas`);
- ``reference``: the masked dense :class:`~dendritic.models.DendriticNet` and
  :func:`dendritic.training.train_run`, one seed at a time.

Imports go one way: ``cells → engine → training → models``.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any, Sequence

import pandas as pd
import torch

from dendritic import engine as fast
from dendritic import runio
from dendritic.config import Cell
from dendritic.datasets import DatasetError, load_prepared
from dendritic.models import DendriticNet, build_model, formula_params, make_net
from dendritic.training import RunResult, expand_state, load_weights, resolve_device, run_data, to_float, train_run
from dendritic.wiring import is_dac

log = logging.getLogger("dendritic.training")

#: Columns of metrics.csv / summary.csv, in order (the stable contract; see docs/ARCHITECTURE.md).
SUMMARY_COLUMNS = [
    "experiment",
    "dataset",
    "model",
    "label",
    "dendrites",
    "somata",
    "layers",
    "dropout",
    "lr",
    "sigma",
    "seed",
    "n_params",
    "test_loss",
    "test_acc",
    "epoch_min_val_loss",
    "epochs",
    "max_epochs",
    "wall_s",
    "diverged",
    "sequential",
    "patience",
    "cell",
    "optimizer",
    "init",
]

#: Values of the columns that older metrics.csv files lack (runs from before the column existed).
SUMMARY_DEFAULTS = {"optimizer": "adam", "init": "glorot"}

#: Columns of history.csv, in order.
HISTORY_COLUMNS = ["seed", "epoch", "train_loss", "train_acc", "val_loss", "val_acc", "time_s"]

#: Training engines: ``fast`` (dendritic.engine: sparse layers, seeds batched) and ``reference``
#: (the masked dense DendriticNet and :func:`dendritic.training.train_run`, one seed at a time).
ENGINES = ("fast", "reference")

#: CPU: seeds are batched when a model has at most this many parameters and dendrites (below it
#: a training step is dominated by per-operation overheads that batching shares; above it the
#: step is bound by arithmetic and memory traffic, which batching does not reduce). Measured in
#: benchmarks/README.md.
CPU_BATCH_MAX_PARAMS = 2_000_000
CPU_BATCH_MAX_DENDRITES = 4096


def default_replicas(cell: Cell, image_shape, n_classes: int, device: torch.device) -> int:
    """How many seeds of ``cell`` the fast engine trains at once: all of them on a GPU; on the CPU
    all of them for small models, one at a time for large ones (see the constants above). The
    model's size is counted with the dataset's own ``n_classes``."""
    n = len(cell.seeds)
    if torch.device(device).type != "cpu":
        return n
    params = formula_params(cell.model, image_shape, n_classes, cell.dendrites, cell.somata, cell.layers)
    small = params <= CPU_BATCH_MAX_PARAMS and cell.dendrites * cell.somata <= CPU_BATCH_MAX_DENDRITES
    return n if small else 1


def engine_for(cell: Cell, engine: str | None = None) -> str:
    """The engine that trains ``cell``: ``engine`` (default ``cell.engine``, i.e. the config's
    ``training.engine``), except that a DAC model (:data:`dendritic.wiring.DAC_MODELS`) always
    trains on the reference path: the fast engine's sparse products cannot hold a nonlinearity
    per connection."""
    engine = engine or cell.engine
    if engine not in ENGINES:
        raise ValueError(f"unknown training engine {engine!r}; valid: {', '.join(ENGINES)}")
    return "reference" if is_dac(cell.model) else engine


def seed_groups(
    cell: Cell, engine: str, image_shape, n_classes: int, device: torch.device, replicas: int | None = None
) -> list[tuple[int, ...]]:
    """The seeds of ``cell`` in the groups that are trained together: one seed at a time with the
    reference engine; ``replicas`` at a time (default :func:`default_replicas`) with the fast one."""
    if engine not in ENGINES:
        raise ValueError(f"unknown training engine {engine!r}; valid: {', '.join(ENGINES)}")
    if engine == "reference":
        return [(seed,) for seed in cell.seeds]
    replicas = replicas or default_replicas(cell, image_shape, n_classes, device)
    return [tuple(cell.seeds[i : i + replicas]) for i in range(0, len(cell.seeds), replicas)]


def train_cell(
    cell: Cell, prepared, device: str | torch.device = "auto", engine: str | None = None, replicas: int | None = None
) -> list[RunResult]:
    """Train every seed of ``cell`` on the prepared dataset ``prepared`` (a PreparedDataset).

    ``engine`` (default ``cell.engine``): ``fast`` or ``reference``; both give the same numbers up
    to float rounding. ``replicas``: see :func:`seed_groups`.
    """
    engine = engine_for(cell, engine)
    dev = resolve_device(device) if isinstance(device, str) else device
    shape, n_classes = tuple(prepared.image_shape), prepared.n_classes
    groups = seed_groups(cell, engine, shape, n_classes, dev, replicas)
    x_train, x_test = to_float(prepared.x_train, dev), to_float(prepared.x_test, dev)
    y_train, y_test = prepared.y_train.to(dev), prepared.y_test.to(dev)

    def model(seed: int) -> DendriticNet:
        return build_model(
            cell.model,
            shape,
            n_classes,
            cell.dendrites,
            cell.somata,
            L=cell.layers,
            dropout=cell.dropout,
            seed=seed,
            init=cell.init,
        )

    log.info(
        "cell %s/%s/%s/%s on %s: %d seeds, %d epochs, %s engine%s",
        cell.experiment,
        cell.dataset,
        cell.model,
        cell.id,
        dev,
        len(cell.seeds),
        cell.epochs,
        engine,
        f", {len(groups[0])} seeds at a time" if engine == "fast" else "",
    )
    results = []
    for seeds in groups:
        if engine == "fast":
            net = fast.FastNet([model(seed) for seed in seeds]).to(dev)
            data = fast.replica_data(x_train, y_train, x_test, y_test, cell, seeds)
            batch = fast.train_replicas(net, data, cell, seeds)
            del net, data
        else:
            seed = seeds[0]
            data = run_data(x_train, y_train, x_test, y_test, cell, seed)
            batch = [train_run(model(seed).to(dev), data, cell, seed)]
        for res in batch:
            log.info(
                "seed %d: %d trainable parameters, test loss %.4f, test acc %.4f%s (%.1f s)",
                res.seed,
                res.n_params,
                res.test_loss,
                res.test_acc,
                "  DIVERGED" if res.diverged else "",
                res.wall_s,
            )
        results += batch
    return results


def metrics_frame(cell: Cell, results: Sequence[RunResult]) -> pd.DataFrame:
    """``metrics.csv``: one row per seed, :data:`SUMMARY_COLUMNS`."""
    rows = [
        dict(
            experiment=cell.experiment,
            dataset=cell.dataset,
            model=cell.model,
            label=cell.label,
            dendrites=cell.dendrites,
            somata=cell.somata,
            layers=cell.layers,
            dropout=cell.dropout,
            lr=cell.lr,
            sigma=cell.sigma,
            seed=r.seed,
            n_params=r.n_params,
            test_loss=r.test_loss,
            test_acc=r.test_acc,
            epoch_min_val_loss=r.epoch_min_val_loss,
            epochs=r.epochs_run,
            max_epochs=cell.epochs,
            wall_s=round(r.wall_s, 3),
            diverged=r.diverged,
            sequential=cell.sequential,
            patience=cell.patience,
            cell=cell.id,
            optimizer=cell.optimizer,
            init=cell.init,
        )
        for r in results
    ]
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def history_frame(results: Sequence[RunResult]) -> pd.DataFrame:
    """``history.csv``: one row per seed and epoch, :data:`HISTORY_COLUMNS`."""
    return pd.DataFrame([{"seed": r.seed, **h} for r in results for h in r.history], columns=HISTORY_COLUMNS)


def save_cell(
    out_dir: str | Path, cell: Cell, results: Sequence[RunResult], device: str = "", data: dict[str, Any] | None = None
) -> dict[str, Path]:
    """Write a cell's outputs atomically; ``metrics.csv`` last, so it marks a finished cell.

    ``data`` (the prepared dataset's path and ``content_sha256``) goes into ``provenance.json``:
    which data exactly the cell was trained on.
    """
    out = Path(out_dir)
    paths = {
        k: out / f
        for k, f in [
            ("history", "history.csv"),
            ("weights", "weights.pt"),
            ("provenance", "provenance.json"),
            ("metrics", "metrics.csv"),
        ]
    }
    runio.write_atomic(paths["history"], lambda p: history_frame(results).to_csv(p, index=False))
    weights = {"cell": cell.to_dict(), "runs": {r.seed: r.state for r in results}}
    runio.write_atomic(paths["weights"], lambda p: torch.save(weights, p))
    runio.write_json(
        paths["provenance"], runio.provenance({"cell": cell.to_dict(), "device": str(device), "data": data or {}})
    )
    runio.write_atomic(paths["metrics"], lambda p: metrics_frame(cell, results).to_csv(p, index=False))
    return paths


def run_cell(
    cell: Cell | dict,
    data_path: str | Path,
    out_dir: str | Path,
    device: str = "auto",
    threads: int | None = None,
    engine: str | None = None,
    data_sha256: str | None = None,
) -> pd.DataFrame:
    """Load the prepared dataset, train every seed of ``cell``, write its outputs to ``out_dir``.

    ``engine`` overrides ``cell.engine`` (``fast`` or ``reference``). ``data_sha256``: the content
    checksum the workflow planned this job with; a cache that differs by the time the job runs is an
    error. Returns the metrics table.

    While it runs it holds the cell folder's lock (:func:`dendritic.runio.cell_lock`: a second
    trainer of the same cell waits), removes the temporary files an interrupted earlier run left
    there and deletes the folder's old ``metrics.csv`` before training, so that a rerun killed
    part-way never leaves a folder that looks finished.
    """
    if isinstance(cell, dict):
        cell = Cell.from_dict(cell)
    # the engine that trains it is recorded with the cell (provenance, weights.pt)
    cell = replace(cell, engine=engine_for(cell, engine))
    if threads:
        torch.set_num_threads(int(threads))
    dev = resolve_device(device)
    out = Path(out_dir)
    with runio.cell_lock(out):
        runio.remove_stale_temp_files(out)
        (out / "metrics.csv").unlink(missing_ok=True)  # the completion marker goes first
        prepared = load_prepared(data_path)
        checksum = prepared.meta.get("content_sha256")
        if data_sha256 is not None and checksum != data_sha256:
            raise DatasetError(
                f"{data_path} changed after the workflow planned this job (content sha256 "
                f"{str(checksum)[:16]}…, planned {data_sha256[:16]}…): run the workflow again."
            )
        results = train_cell(cell, prepared, dev)
        save_cell(out, cell, results, device=str(dev), data={"path": str(data_path), "content_sha256": checksum})
    return metrics_frame(cell, results)


def load_run(weights_path: str | Path, seed: int, image_shape, n_classes: int) -> DendriticNet:
    """Rebuild the trained model of one seed from a cell's ``weights.pt`` (masks included)."""
    saved = load_weights(weights_path)
    cell = Cell.from_dict(saved["cell"])
    state = expand_state(saved["runs"][seed])
    masks = [state.get(f"layers.{i}.mask") for i in range(2 * cell.layers + 1)]  # output: a pruned ticket's
    model = make_net(
        cell.model,
        image_shape,
        n_classes,
        cell.dendrites,
        cell.somata,
        L=cell.layers,
        dropout=cell.dropout,
        masks=masks,
    )
    model.load_state_dict(state, strict=False)
    return model
