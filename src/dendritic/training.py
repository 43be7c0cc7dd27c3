"""Training: one plain loop, the data held as tensors on the device, batches as slices.

Protocol (the paper, Methods, "Training"): pixels / 255, flattened; 10% of the
training set held out for validation after a seeded shuffle; Adam (lr 1e-3, betas 0.9/0.999,
eps 1e-7 as in Keras), batch 128, the training set reshuffled every epoch, cross-entropy loss;
test metrics after the last epoch. Early stopping (patience on the validation loss) restores the
weights of the best epoch only when patience runs out and the run stops; a run that reaches its
epoch limit keeps its last weights, as the authors' loop does (their ``opt.py``, ``custom_train_loop``).

One seed fixes everything random about a run, through separate streams (see :func:`generator`):
the model's masks and init (in :mod:`dendritic.models`), the validation split, the batch order,
dropout, and the noise of the noise experiment. The same seed gives the same numbers.

Two loops follow this protocol: :func:`train_run` here (one masked-dense
:class:`~dendritic.models.DendriticNet`, the readable form) and
:func:`dendritic.engine.train_replicas` (several seeds at once, the fast form). Everything they
share is defined once here: the data split and its sequential class blocks (:func:`class_blocks`),
the batch boundaries, the optimiser (:mod:`dendritic.optim`: Adam, or EG-Adam by
``cell.optimizer``), the random streams, and the per-run bookkeeping
(:class:`RunTracker`: history, log lines, divergence, patience, best epoch, test metrics). Which
loop trains a cell is decided above both, in :mod:`dendritic.cells`.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F

from dendritic.config import Cell
from dendritic.optim import adam, make_optimizer  # noqa: F401  (adam: importable from here)

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
            f"training.device is '{spec}' but no CUDA device is available here; set training.device to 'auto' or 'cpu'."
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
    one class (the paper, Methods, sequential learning; the authors' ``sequential_preprocess``
    in their ``opt.py``).

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
            "training.batch_size or use more images per class"
        )
    if sum(counts) - sum(train) == 0:
        raise ValueError(
            f"sequential split: with batch size {batch_size} every class fits whole batches and "
            f"validation_fraction {fraction} gives no validation image; raise validation_fraction"
        )
    return train


def split_validation(
    y: torch.Tensor,
    fraction: float,
    gen: torch.Generator,
    per_class: bool = False,
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
    train = [idx[len(idx) - t :] for idx, t in zip(groups, n_train)]
    val = [idx[: len(idx) - t] for idx, t in zip(groups, n_train)]
    return torch.cat(train), torch.cat(val)


def split_and_corrupt(x_train: torch.Tensor, y_train: torch.Tensor, x_test: torch.Tensor, cell: Cell, seed: int):
    """One run's split and noise: ``(train_idx, val_idx, x_train, x_test)``, indices on the device;
    the images are the inputs themselves unless ``cell.sigma`` > 0 (then noisy copies)."""
    tr_idx, va_idx = split_validation(
        y_train,
        cell.validation_fraction,
        generator(seed, "split"),
        per_class=cell.sequential,
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
    [0, 1] (the paper, Methods, noisy inputs).
    """
    tr_idx, va_idx, x_train, x_test = split_and_corrupt(x_train, y_train, x_test, cell, seed)
    data = RunData(x_train[tr_idx], y_train[tr_idx], x_train[va_idx], y_train[va_idx], x_test, y_test)
    if cell.sequential:
        data.class_blocks = class_blocks(data.y_train)
    return data


def class_blocks(y_ordered: torch.Tensor) -> list[tuple[int, int]]:
    """The sequential task's class blocks: ``[(start, end), …]`` index ranges of the contiguous
    runs of equal labels in ``y_ordered`` (training labels in class order, as
    :func:`split_validation` leaves them), class 0 first, empty classes left out."""
    starts = [0]
    for c in torch.bincount(y_ordered).tolist():
        starts.append(starts[-1] + c)
    return [(a, b) for a, b in zip(starts[:-1], starts[1:]) if b > a]


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
    step = getattr(model, "eval_batch", EVAL_BATCH)  # a DAC model's B × connections bounds it
    for i in range(0, len(x), step):
        logits = model(x[i : i + step])
        yb = y[i : i + step]
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


#: What :meth:`RunTracker.epoch` tells the loop: train on, or stop this run.
CONTINUE, DIVERGED, STOP = "continue", "diverged", "stop"


class RunTracker:
    """The bookkeeping of one run, the same for both training loops.

    After every epoch the loop calls :meth:`epoch`, which records the history row, writes the
    epoch's log line, applies the divergence rule (:func:`is_diverged`) and early stopping
    (patience on the validation loss, ``cell.patience``; None: none) and answers
    :data:`CONTINUE`, :data:`DIVERGED` or :data:`STOP`. ``snapshot`` returns a copy of the run's
    current weights in whatever form the loop keeps them; it is called at every new best epoch when
    early stopping is on. :meth:`kept_weights` is the snapshot to restore when the run ends: the
    best epoch's weights when patience ran out (or the run diverged after a best epoch), None (keep
    the current weights) when the run reached its epoch limit, as the authors' loop does.
    :meth:`finish` sets the best epoch and the test metrics.
    """

    def __init__(self, cell: Cell, seed: int, n_params: int, snapshot: Callable[[], Any]):
        self.cell, self.seed, self.snapshot = cell, seed, snapshot
        self.result = RunResult(seed=seed, n_params=int(n_params))
        self.best_val, self.since_best = math.inf, 0
        self.best_state: Any = None
        self.outcome = CONTINUE

    def epoch(self, epoch: int, train_loss: float, train_acc: float, val_loss: float, val_acc: float, dt: float) -> str:
        """Record epoch ``epoch`` (0-based) and decide whether the run goes on."""
        res, cell, seed = self.result, self.cell, self.seed
        res.history.append(
            dict(epoch=epoch, train_loss=train_loss, train_acc=train_acc, val_loss=val_loss, val_acc=val_acc, time_s=dt)
        )
        res.epochs_run = epoch + 1
        log.info(
            "seed %d epoch %3d/%d  train loss %.4f acc %.4f | val loss %.4f acc %.4f | %.1f s",
            seed,
            epoch + 1,
            cell.epochs,
            train_loss,
            train_acc,
            val_loss,
            val_acc,
            dt,
        )
        if is_diverged(train_loss, val_loss, cell.divergence_loss):
            res.diverged = True
            log.warning("seed %d diverged at epoch %d (loss %s): run stopped and flagged", seed, epoch + 1, train_loss)
            self.outcome = DIVERGED
        elif val_loss < self.best_val:
            self.best_val, self.since_best = val_loss, 0
            if cell.patience is not None:
                self.best_state = self.snapshot()
        else:
            self.since_best += 1
            if cell.patience is not None and self.since_best >= cell.patience:
                log.info("seed %d: early stop after epoch %d (best val loss %.4f)", seed, epoch + 1, self.best_val)
                self.outcome = STOP
        return self.outcome

    def kept_weights(self) -> Any:
        """The best epoch's snapshot when the run stopped (patience) or diverged and there is one;
        None: the run keeps its current weights."""
        return self.best_state if self.outcome != CONTINUE else None

    def finish(self, test: Callable[[], tuple[float, float]]) -> RunResult:
        """Best epoch (lowest finite validation loss) and, unless the run diverged, the test
        metrics from ``test()`` (a non-finite test loss flags the run diverged, too)."""
        res = self.result
        vals = [h["val_loss"] for h in res.history]
        finite = [v if math.isfinite(v) else math.inf for v in vals]
        res.epoch_min_val_loss = int(min(range(len(finite)), key=finite.__getitem__)) if vals else -1
        if not res.diverged:
            res.test_loss, res.test_acc = test()
            res.diverged = not math.isfinite(res.test_loss)
        return res


def dropout_seed(seed: int) -> int:
    """The initial state of the seed's dropout stream (:func:`generator` ``(seed, "dropout")``)."""
    return generator(seed, "dropout").initial_seed()


def train_run(model: torch.nn.Module, data: RunData, cell: Cell, seed: int) -> RunResult:
    """Train ``model`` on ``data`` following ``cell``'s protocol; return history and test metrics."""
    t0 = time.perf_counter()
    opt = make_optimizer(model.named_parameters(), cell.optimizer, cell.lr)
    g_batches = generator(seed, "batches")
    torch.manual_seed(dropout_seed(seed))  # nn.Dropout draws from the global generator
    n = len(data.x_train)
    dev = data.x_train.device
    track = RunTracker(cell, seed, model.n_params(), lambda: copy.deepcopy(model.state_dict()))
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
        val_loss, val_acc = evaluate(model, data.x_val, data.y_val)
        if (
            track.epoch(epoch, loss_sum.item() / n, correct.item() / n, val_loss, val_acc, time.perf_counter() - te)
            != CONTINUE
        ):
            break

    if (kept := track.kept_weights()) is not None:
        model.load_state_dict(kept)
    res = track.finish(lambda: evaluate(model, data.x_test, data.y_test))
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
            out[key] = {
                "sparse_shape": tuple(val.shape),
                "index": index,
                "values": val.detach().flatten()[index.long().to(val.device)].cpu().clone(),
            }
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
        raise ValueError(
            f"{weights_path} is not a weights file written by this pipeline and was not "
            f"loaded ({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}). "
            f"Train its cell again to get it back."
        ) from err
    if not isinstance(saved, dict) or "cell" not in saved or "runs" not in saved:
        raise ValueError(
            f"{weights_path} is not a weights file written by this pipeline (expected a dict "
            f"with 'cell' and 'runs'). Train its cell again to get it back."
        )
    return saved
