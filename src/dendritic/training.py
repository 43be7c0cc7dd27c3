"""Training: one plain loop, the data held as tensors on the device, batches as slices.

Protocol (paper, Methods; ``shared/spec/paper.md`` §2): pixels / 255, flattened; 10% of the
training set held out for validation after a seeded shuffle; Adam (lr 1e-3, betas 0.9/0.999,
eps 1e-7 as in Keras), batch 128, the training set reshuffled every epoch, cross-entropy loss;
test metrics after the last epoch. Early stopping (patience on the validation loss) restores the
weights of the best epoch only when patience runs out and the run stops; a run that reaches its
epoch limit keeps its last weights, as the authors' loop does (their ``opt.py``, ``custom_train_loop``).

One seed fixes everything random about a run, through separate streams (see :func:`generator`):
the model's masks and init (in :mod:`dendritic.models`), the validation split, the batch order,
dropout, and the noise of the noise experiment. The same seed gives the same numbers.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd
import torch
import torch.nn.functional as F

from dendritic.config import Cell

log = logging.getLogger("dendritic.training")

#: Offsets that separate the random streams of one seed (the model uses its own streams).
STREAMS = {"split": 1, "batches": 2, "noise": 3, "dropout": 4}

#: Evaluation batch size (memory-bound, not a hyper-parameter).
EVAL_BATCH = 8192


def generator(seed: int, stream: str) -> torch.Generator:
    """A CPU generator for one named random stream of one seed."""
    return torch.Generator().manual_seed(1_000_003 * int(seed) + STREAMS[stream])


def resolve_device(spec: str = "auto") -> torch.device:
    """``auto`` → the first CUDA device when there is one, else the CPU."""
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(spec)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(
            f"training.device is '{spec}' but no CUDA device is available here; "
            "set training.device to 'auto' or 'cpu'."
        )
    return dev


# --------------------------------------------------------------------------------------------
# Data for one run
# --------------------------------------------------------------------------------------------


@dataclass
class RunData:
    """Float images in [0, 1], flattened, on the training device."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    #: sequential task: the class-ordered training batches (index ranges into x_train)
    class_blocks: list[tuple[int, int]] | None = None


def to_float(x_uint8: torch.Tensor, device: torch.device) -> torch.Tensor:
    """(N, C, H, W) uint8 → (N, C·H·W) float32 in [0, 1] on ``device``."""
    return x_uint8.to(device).reshape(x_uint8.shape[0], -1).float().div_(255.0)


def sequential_train_counts(class_counts: list[int], fraction: float, batch_size: int) -> list[int]:
    """Training images per class in the sequential task, so that every batch is full and holds
    one class (paper §3 "sequential"; the authors' ``sequential_preprocess`` in ``opt.py``).

    ``v = int(fraction · N / (batch_size · C))`` whole batches per class are the validation share
    (N images, C classes); class c keeps ``(n_c // batch_size - v) · batch_size`` images for
    training and the rest, ``n_c`` minus that, goes to validation. Fashion-MNIST (6,000 per class,
    batch 128, 10 %): v = 4, so 5,376 training images (42 full batches) and 624 validation images
    per class.
    """
    counts = [int(n) for n in class_counts]
    n, C = sum(counts), len(counts)
    v = int(fraction * n / (batch_size * C))
    train = [(nc // batch_size - v) * batch_size for nc in counts]
    short = [c for c, t in enumerate(train) if t <= 0]
    if short:
        raise ValueError(
            f"sequential split: class {short[0]} has {counts[short[0]]} training images, too few for "
            f"{v} validation batch(es) plus one training batch of {batch_size}; lower "
            "training.batch_size or use more images per class")
    if sum(counts) - sum(train) == 0:
        raise ValueError(
            f"sequential split: with batch size {batch_size} every class fits whole batches and "
            f"validation_fraction {fraction} gives no validation image; raise validation_fraction")
    return train


def split_validation(
    y: torch.Tensor, fraction: float, gen: torch.Generator, per_class: bool = False,
    batch_size: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Seeded shuffle, then hold out ``fraction`` for validation (per class if asked).

    Returns (train_idx, val_idx) as CPU int64 tensors. With ``per_class`` the training indices are
    ordered by class (class 0 first), which the sequential task relies on; each class then holds
    out ``round(fraction · n_c)`` images, or, given ``batch_size`` (what the sequential task
    does), whatever :func:`sequential_train_counts` leaves over, so that every training batch is full.
    """
    perm = torch.randperm(len(y), generator=gen)
    if not per_class:
        n_val = int(round(fraction * len(y)))
        return perm[n_val:], perm[:n_val]
    y_perm = y.cpu()[perm]
    classes = torch.unique(y_perm).tolist()
    groups = [perm[y_perm == c] for c in classes]
    if batch_size is None:
        n_train = [len(idx) - int(round(fraction * len(idx))) for idx in groups]
    else:
        n_train = sequential_train_counts([len(idx) for idx in groups], fraction, batch_size)
    train = [idx[len(idx) - t:] for idx, t in zip(groups, n_train)]
    val = [idx[: len(idx) - t] for idx, t in zip(groups, n_train)]
    return torch.cat(train), torch.cat(val)


def split_and_corrupt(x_train: torch.Tensor, y_train: torch.Tensor, x_test: torch.Tensor,
                      cell: Cell, seed: int):
    """One run's split and noise: ``(train_idx, val_idx, x_train, x_test)``, indices on the device;
    the images are the inputs themselves unless ``cell.sigma`` > 0 (then noisy copies)."""
    tr_idx, va_idx = split_validation(
        y_train, cell.validation_fraction, generator(seed, "split"), per_class=cell.sequential,
        batch_size=cell.batch_size if cell.sequential else None,
    )
    dev = x_train.device
    if cell.sigma:
        g = generator(seed, "noise")
        x_train = (x_train + cell.sigma * torch.randn(x_train.shape, generator=g).to(dev)).clamp_(0, 1)
        x_test = (x_test + cell.sigma * torch.randn(x_test.shape, generator=g).to(dev)).clamp_(0, 1)
    return tr_idx.to(dev), va_idx.to(dev), x_train, x_test


def run_data(
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    x_test: torch.Tensor,
    y_test: torch.Tensor,
    cell: Cell,
    seed: int,
) -> RunData:
    """Split (and, for the noise experiment, corrupt) the float data of one run.

    ``x_*`` are float (N, features) tensors already on the device. Noise N(0, σ²) is drawn once per
    run from the seed's noise stream, added to train, validation and test images, and clipped to
    [0, 1] (paper §3, noise).
    """
    tr_idx, va_idx, x_train, x_test = split_and_corrupt(x_train, y_train, x_test, cell, seed)
    data = RunData(x_train[tr_idx], y_train[tr_idx], x_train[va_idx], y_train[va_idx], x_test, y_test)
    if cell.sequential:
        # contiguous blocks of equal labels, in class order (split_validation ordered them)
        counts = torch.bincount(data.y_train).tolist()
        starts = [0]
        for c in counts:
            starts.append(starts[-1] + c)
        data.class_blocks = [(a, b) for a, b in zip(starts[:-1], starts[1:]) if b > a]
    return data


def batch_slices(n: int, batch_size: int, blocks: list[tuple[int, int]] | None = None) -> list[slice]:
    """Batch boundaries: consecutive slices of ``batch_size``; with ``blocks`` (sequential task)
    batches never cross a class boundary, so every batch holds one class."""
    blocks = blocks or [(0, n)]
    return [slice(i, min(i + batch_size, b)) for a, b in blocks for i in range(a, b, batch_size)]


# --------------------------------------------------------------------------------------------
# The loop
# --------------------------------------------------------------------------------------------


@torch.inference_mode()
def evaluate(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """Mean cross-entropy and accuracy (fraction) over (x, y)."""
    was_training = model.training
    model.eval()
    loss = torch.zeros((), device=x.device, dtype=torch.float64)
    correct = torch.zeros((), device=x.device, dtype=torch.int64)
    for i in range(0, len(x), EVAL_BATCH):
        logits = model(x[i : i + EVAL_BATCH])
        yb = y[i : i + EVAL_BATCH]
        loss += F.cross_entropy(logits, yb, reduction="sum").double()
        correct += (logits.argmax(1) == yb).sum()
    model.train(was_training)
    n = max(len(x), 1)
    return loss.item() / n, correct.item() / n


def is_diverged(train_loss: float, val_loss: float, limit: float) -> bool:
    """The divergence rule, checked after every epoch (both training loops): a run has diverged
    when its training or validation loss is not finite, or its mean training loss over the epoch
    exceeds ``limit`` (config ``training.divergence_loss``, default 1000; chance level is
    ln C ≈ 2.3). Such a run is stopped, flagged ``diverged`` and left out of every mean.

    Only the *training* loss is held against the limit: a network can legitimately reach a huge
    validation or test loss, e.g. the vANN of the sequential task (test loss 313.5, paper Table 2),
    whose class-ordered training set leaves every image of the other classes misclassified with
    confidence, while its training loss stays small.
    """
    return not (math.isfinite(train_loss) and math.isfinite(val_loss)) or train_loss > limit


@dataclass
class RunResult:
    """Everything one (cell, seed) run produces."""

    seed: int
    n_params: int
    history: list[dict[str, float]] = field(default_factory=list)
    test_loss: float = math.nan
    test_acc: float = math.nan
    epoch_min_val_loss: int = -1
    epochs_run: int = 0
    wall_s: float = 0.0
    diverged: bool = False
    state: dict[str, Any] = field(default_factory=dict)


def train_run(model: torch.nn.Module, data: RunData, cell: Cell, seed: int) -> RunResult:
    """Train ``model`` on ``data`` following ``cell``'s protocol; return history and test metrics."""
    t0 = time.perf_counter()
    opt = torch.optim.Adam(model.parameters(), lr=cell.lr, betas=(0.9, 0.999), eps=1e-7)
    g_batches = generator(seed, "batches")
    torch.manual_seed(1_000_003 * seed + STREAMS["dropout"])  # dropout masks
    n = len(data.x_train)
    dev = data.x_train.device
    res = RunResult(seed=seed, n_params=int(model.n_params()))
    best_val, best_state, since_best, stopped = math.inf, None, 0, False
    slices = batch_slices(n, cell.batch_size, data.class_blocks)

    model.train()
    for epoch in range(cell.epochs):
        te = time.perf_counter()
        if data.class_blocks is None:  # reshuffle every epoch: one gather, then contiguous slices
            perm = torch.randperm(n, generator=g_batches).to(dev)
            xe, ye = data.x_train[perm], data.y_train[perm]
        else:  # sequential task: same class order every epoch, no shuffling
            xe, ye = data.x_train, data.y_train
        loss_sum = torch.zeros((), device=dev)
        correct = torch.zeros((), device=dev, dtype=torch.int64)
        for sl in slices:
            xb, yb = xe[sl], ye[sl]
            logits = model(xb)
            loss = F.cross_entropy(logits, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += loss.detach() * len(yb)
            correct += (logits.detach().argmax(1) == yb).sum()
        train_loss, train_acc = loss_sum.item() / n, correct.item() / n
        val_loss, val_acc = evaluate(model, data.x_val, data.y_val)
        dt = time.perf_counter() - te
        res.history.append(dict(epoch=epoch, train_loss=train_loss, train_acc=train_acc,
                                val_loss=val_loss, val_acc=val_acc, time_s=dt))
        res.epochs_run = epoch + 1
        log.info("seed %d epoch %3d/%d  train loss %.4f acc %.4f | val loss %.4f acc %.4f | %.1f s",
                 seed, epoch + 1, cell.epochs, train_loss, train_acc, val_loss, val_acc, dt)
        if is_diverged(train_loss, val_loss, cell.divergence_loss):
            res.diverged = True
            log.warning("seed %d diverged at epoch %d (loss %s): run stopped and flagged",
                        seed, epoch + 1, train_loss)
            break
        if val_loss < best_val:
            best_val, since_best = val_loss, 0
            if cell.patience is not None:
                best_state = copy.deepcopy(model.state_dict())
        else:
            since_best += 1
            if cell.patience is not None and since_best >= cell.patience:
                log.info("seed %d: early stop after epoch %d (best val loss %.4f)", seed, epoch + 1, best_val)
                stopped = True
                break

    # best weights back only when patience ran out (or the run diverged); at the epoch limit the
    # last weights stay
    if best_state is not None and (stopped or res.diverged):
        model.load_state_dict(best_state)
    vals = [h["val_loss"] for h in res.history]
    finite = [v if math.isfinite(v) else math.inf for v in vals]
    res.epoch_min_val_loss = int(min(range(len(finite)), key=finite.__getitem__)) if vals else -1
    if not res.diverged:
        res.test_loss, res.test_acc = evaluate(model, data.x_test, data.y_test)
        res.diverged = not math.isfinite(res.test_loss)
    res.wall_s = time.perf_counter() - t0
    res.state = compact_state(model.state_dict())
    return res


def compact_state(state: dict[str, torch.Tensor]) -> dict[str, Any]:
    """A state dict with every masked weight stored sparsely (its mask's non-zero positions and
    their values) and the mask dropped: a dANN-R with D = 64, S = 512 takes 4 MB, not 100 MB.
    :func:`expand_state` restores the exact dense weights and masks."""
    out: dict[str, Any] = {}
    for key, val in state.items():
        if val is None:
            continue
        if key.endswith(".mask"):
            continue
        prefix = key[: -len("weight")] if key.endswith("weight") else None
        mask = state.get(f"{prefix}mask") if prefix is not None else None
        if mask is not None:
            index = mask.flatten().nonzero().squeeze(1).cpu()
            index = index.int() if mask.numel() < 2**31 else index
            out[key] = {"sparse_shape": tuple(val.shape), "index": index,
                        "values": val.detach().flatten()[index.long().to(val.device)].cpu().clone()}
        else:
            out[key] = val.detach().cpu().clone()
    return out


def expand_state(compact: dict[str, Any]) -> dict[str, torch.Tensor]:
    """Inverse of :func:`compact_state`: dense weights plus their bool ``.mask`` buffers."""
    out: dict[str, torch.Tensor] = {}
    for key, val in compact.items():
        if isinstance(val, dict) and "sparse_shape" in val:
            shape, index = val["sparse_shape"], val["index"].long()
            numel = int(torch.tensor(shape).prod())
            w = torch.zeros(numel, dtype=val["values"].dtype)
            w[index] = val["values"]
            m = torch.zeros(numel, dtype=torch.bool)
            m[index] = True
            out[key] = w.view(shape)
            out[key[: -len("weight")] + "mask"] = m.view(shape)
        else:
            out[key] = val
    return out


def load_weights(weights_path: str | Path) -> dict[str, Any]:
    """Read a cell's ``weights.pt`` with ``torch.load(weights_only=True)``: tensors, dicts, lists,
    tuples and numbers only, so a crafted file cannot run code. Anything else is an error naming
    the file."""
    try:
        saved = torch.load(weights_path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise ValueError(f"{weights_path} is not a weights file written by this pipeline and was not "
                         f"loaded ({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}). "
                         f"Train its cell again to get it back.") from err
    if not isinstance(saved, dict) or "cell" not in saved or "runs" not in saved:
        raise ValueError(f"{weights_path} is not a weights file written by this pipeline (expected a dict "
                         f"with 'cell' and 'runs'). Train its cell again to get it back.")
    return saved


def load_run(weights_path: str | Path, seed: int, image_shape, n_classes: int):
    """Rebuild the trained model of one seed from a cell's ``weights.pt`` (masks included)."""
    from dendritic.models import DendriticNet

    saved = load_weights(weights_path)
    cell = Cell.from_dict(saved["cell"])
    state = expand_state(saved["runs"][seed])
    masks = [state.get(f"layers.{i}.mask") for i in range(2 * cell.layers)]
    model = DendriticNet(cell.model, image_shape, n_classes, cell.dendrites, cell.somata,
                         L=cell.layers, dropout=cell.dropout, masks=masks)
    model.load_state_dict(state, strict=False)
    return model


# --------------------------------------------------------------------------------------------
# A cell: one configuration, every seed
# --------------------------------------------------------------------------------------------

#: Columns of metrics.csv / summary.csv, in order (the stable contract; see docs/ARCHITECTURE.md).
SUMMARY_COLUMNS = [
    "experiment", "dataset", "model", "label", "dendrites", "somata", "layers", "dropout", "lr",
    "sigma", "seed", "n_params", "test_loss", "test_acc", "epoch_min_val_loss", "epochs",
    "max_epochs", "wall_s", "diverged", "sequential", "patience", "cell",
]


#: Training engines: ``fast`` (dendritic.engine: sparse layers, seeds batched) and ``reference``
#: (the masked dense DendriticNet and :func:`train_run`, one seed at a time).
ENGINES = ("fast", "reference")


def train_cell(cell: Cell, prepared, device: str | torch.device = "auto", engine: str | None = None,
               replicas: int | None = None) -> list[RunResult]:
    """Train every seed of ``cell`` on the prepared dataset ``prepared`` (a PreparedDataset).

    ``engine`` (default ``cell.engine``): ``fast`` or ``reference``; both give the same numbers up
    to float rounding. With ``fast``, ``replicas`` seeds are trained at once in one batched model
    (default :func:`dendritic.engine.default_replicas`: all seeds on a GPU; on the CPU where that
    pays off).
    """
    from dendritic.models import build_model

    engine = engine or cell.engine
    if engine not in ENGINES:
        raise ValueError(f"unknown training engine {engine!r}; valid: {', '.join(ENGINES)}")
    dev = resolve_device(device) if isinstance(device, str) else device
    x_train, x_test = to_float(prepared.x_train, dev), to_float(prepared.x_test, dev)
    y_train, y_test = prepared.y_train.to(dev), prepared.y_test.to(dev)
    shape = tuple(prepared.image_shape)

    def model(seed: int):
        return build_model(cell.model, shape, prepared.n_classes, cell.dendrites, cell.somata,
                           L=cell.layers, dropout=cell.dropout, seed=seed)

    if engine == "fast":
        from dendritic import engine as fast

        replicas = replicas or fast.default_replicas(cell, shape, dev)
        groups = [cell.seeds[i: i + replicas] for i in range(0, len(cell.seeds), replicas)]
    else:
        groups = [(seed,) for seed in cell.seeds]
    log.info("cell %s/%s/%s/%s on %s: %d seeds, %d epochs, %s engine%s", cell.experiment,
             cell.dataset, cell.model, cell.id, dev, len(cell.seeds), cell.epochs, engine,
             f", {len(groups[0])} seeds at a time" if engine == "fast" else "")
    results = []
    for seeds in groups:
        if engine == "fast":
            net = fast.FastNet([model(seed) for seed in seeds]).to(dev)
            data = fast.replica_data(x_train, y_train, x_test, y_test, cell, seeds)
            batch = fast.train_replicas(net, data, cell, seeds, log)
            del net, data
        else:
            seed = seeds[0]
            data = run_data(x_train, y_train, x_test, y_test, cell, seed)
            batch = [train_run(model(seed).to(dev), data, cell, seed)]
        for res in batch:
            log.info("seed %d: %d trainable parameters, test loss %.4f, test acc %.4f%s (%.1f s)",
                     res.seed, res.n_params, res.test_loss, res.test_acc,
                     "  DIVERGED" if res.diverged else "", res.wall_s)
        results += batch
    return results


def metrics_frame(cell: Cell, results: list[RunResult]) -> pd.DataFrame:
    rows = [
        dict(experiment=cell.experiment, dataset=cell.dataset, model=cell.model, label=cell.label,
             dendrites=cell.dendrites, somata=cell.somata, layers=cell.layers, dropout=cell.dropout,
             lr=cell.lr, sigma=cell.sigma, seed=r.seed, n_params=r.n_params, test_loss=r.test_loss,
             test_acc=r.test_acc, epoch_min_val_loss=r.epoch_min_val_loss, epochs=r.epochs_run,
             max_epochs=cell.epochs, wall_s=round(r.wall_s, 3), diverged=r.diverged,
             sequential=cell.sequential, patience=cell.patience, cell=cell.id)
        for r in results
    ]
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def history_frame(results: list[RunResult]) -> pd.DataFrame:
    return pd.DataFrame([{"seed": r.seed, **h} for r in results for h in r.history],
                        columns=["seed", "epoch", "train_loss", "train_acc", "val_loss", "val_acc", "time_s"])


def save_cell(out_dir: str | Path, cell: Cell, results: list[RunResult], device: str = "",
              data: dict[str, Any] | None = None) -> dict[str, Path]:
    """Write a cell's outputs atomically; ``metrics.csv`` last, so it marks a finished cell.

    ``data`` (the prepared dataset's path and ``content_sha256``) goes into ``provenance.json``:
    which data exactly the cell was trained on.
    """
    from dendritic import runio

    out = Path(out_dir)
    paths = {k: out / f for k, f in [("history", "history.csv"), ("weights", "weights.pt"),
                                      ("provenance", "provenance.json"), ("metrics", "metrics.csv")]}
    runio.write_atomic(paths["history"], lambda p: history_frame(results).to_csv(p, index=False))
    weights = {"cell": cell.to_dict(), "runs": {r.seed: r.state for r in results}}
    runio.write_atomic(paths["weights"], lambda p: torch.save(weights, p))
    runio.write_json(paths["provenance"], runio.provenance(
        {"cell": cell.to_dict(), "device": str(device), "data": data or {}}))
    runio.write_atomic(paths["metrics"], lambda p: metrics_frame(cell, results).to_csv(p, index=False))
    return paths


def run_cell(cell: Cell | dict, data_path: str | Path, out_dir: str | Path,
             device: str = "auto", threads: int | None = None,
             engine: str | None = None, data_sha256: str | None = None) -> pd.DataFrame:
    """Load the prepared dataset, train every seed of ``cell``, write its outputs to ``out_dir``.

    This is what one Snakemake ``train`` job (and ``python -m dendritic train``) does.
    ``engine`` overrides ``cell.engine`` (``fast`` or ``reference``). ``data_sha256``: the content
    checksum the workflow planned this job with; a cache that differs by the time the job runs is an
    error. Returns the metrics table.

    While it runs it holds the cell folder's lock (:func:`dendritic.runio.cell_lock`: a second
    trainer of the same cell waits), removes the temporary files an interrupted earlier run left
    there and deletes the folder's old ``metrics.csv`` before training, so that a rerun killed
    part-way never leaves a folder that looks finished.
    """
    from dendritic import runio
    from dendritic.datasets import DatasetError, load_prepared

    if isinstance(cell, dict):
        cell = Cell.from_dict(cell)
    if engine is not None:  # recorded with the cell (provenance, weights.pt)
        cell = replace(cell, engine=engine)
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
            raise DatasetError(f"{data_path} changed after the workflow planned this job (content sha256 "
                               f"{str(checksum)[:16]}…, planned {data_sha256[:16]}…): run the workflow again.")
        results = train_cell(cell, prepared, dev)
        save_cell(out, cell, results, device=str(dev),
                  data={"path": str(data_path), "content_sha256": checksum})
    return metrics_frame(cell, results)
