"""Experiment ``permuted``: permuted Fashion-MNIST, T tasks learned in sequence (domain-incremental;
Iyer et al. 2022, §4 "permuted MNIST"; Bain 2022, §4.2), with the active-dendrite networks of
:mod:`dendritic.adn` and the house models without context.

Task t shows every image with its pixels reordered by a fixed permutation π_t (π₀ = identity, the
others drawn from the trial seed, :func:`permutations`); the 10 labels are shared. The tasks are
trained one after the other with one Adam (lr 5e-4, batch 256, 3 epochs per task: the protocol of
Iyer's T = 10 configuration and of Bain's code; the whole training set of each task, no validation
split); after each task every task seen so far is tested on its permuted test set.

Contexts (:data:`CONTEXTS`), read by the models with dendritic segments only:

* ``one_hot``: the task id as a one-hot vector of length T, in training and at test (an oracle);
* ``prototype``: the mean of the task's training inputs (784-d), in training; at test each sample
  gets the prototype nearest to it (Euclidean) among the tasks trained so far;
* ``zero``: c = 0, so the gate is σ(0) = ½ everywhere (the segments have no bias, as Bain's code).

Models without segments (kWTA-MLP and the house models) run once, with context ``none``.

The table (:data:`COLUMNS`): one row per (T, model, context, size, seed, after_task, tested_task).
Same seed → same permutations, masks, weights, batch order → same numbers.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from dendritic import datasets
from dendritic.adn import ADN_MODELS, HAS_SEGMENTS, HouseNet, build_adn, is_house_model
from dendritic.runio import write_atomic
from dendritic.training import adam, generator, to_float

log = logging.getLogger("dendritic.permuted")

CONTEXTS = ("one_hot", "prototype", "zero")
#: The context of the models that read none.
NO_CONTEXT = "none"
PERM_STREAM = 0x7065726D  # ASCII "perm"
EVAL_CHUNK = 2000

COLUMNS = [
    "experiment",
    "dataset",
    "tasks",
    "model",
    "context",
    "size",
    "hidden",
    "dendrites",
    "somata",
    "seed",
    "after_task",
    "tested_task",
    "test_acc",
    "test_loss",
    "task_acc",
    "n_params",
    "epochs_per_task",
    "lr",
    "batch_size",
    "train_s",
]


def permutations(seed: int, tasks: int, n: int = 784) -> list[np.ndarray]:
    """π₀ = identity, π₁ … π_{T-1} drawn in order from the seed's stream, so the first tasks of a
    longer sequence are those of a shorter one."""
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), PERM_STREAM]))
    return [np.arange(n)] + [rng.permutation(n) for _ in range(tasks - 1)]


def model_contexts(model: str, contexts: Sequence[str]) -> list[str]:
    """The contexts a model runs with: the configured ones with segments, else ``none``."""
    return list(contexts) if model in ADN_MODELS and HAS_SEGMENTS[model] else [NO_CONTEXT]


def context_dim(context: str, tasks: int, n_inputs: int = 784) -> int:
    """d_c: T for one-hot (and for zero, which keeps the one-hot architecture with c = 0), 784
    for the prototype, 0 without context."""
    return {"one_hot": tasks, "zero": tasks, "prototype": n_inputs, NO_CONTEXT: 0}[context]


def size_label(model: str, size) -> str:
    """``h256`` for the ADN family, ``D16_S512`` for the house models."""
    return f"D{size[0]}_S{size[1]}" if is_house_model(model) else f"h{int(size)}"


def build(model: str, size, tasks: int, context: str, seed: int):
    if is_house_model(model):
        return HouseNet(model, int(size[0]), int(size[1]), seed=seed)
    return build_adn(model, int(size), tasks, max(context_dim(context, tasks), 1), seed=seed)


def nearest_prototype(x: torch.Tensor, prototypes: torch.Tensor) -> torch.Tensor:
    """The index of the prototype (rows of ``prototypes``) nearest to each row of ``x``."""
    return torch.cdist(x, prototypes).argmin(dim=1)


class Contexts:
    """The context vectors of one sequence: per task in training, per sample at test."""

    def __init__(self, context: str, tasks: int, mean_image: torch.Tensor, perms: Sequence[np.ndarray]):
        self.context, self.tasks = context, tasks
        self.prototypes = (
            torch.stack([mean_image[torch.as_tensor(p)] for p in perms]) if context == "prototype" else None
        )

    def train(self, t: int, n: int) -> torch.Tensor | None:
        if self.context == NO_CONTEXT:
            return None
        if self.context == "prototype":
            return self.prototypes[t].expand(n, -1)
        c = torch.zeros(n, self.tasks)
        if self.context == "one_hot":
            c[:, t] = 1.0
        return c

    def test(self, t: int, x: torch.Tensor, seen: int) -> tuple[torch.Tensor | None, float]:
        """Contexts of the test samples x of task t after ``seen`` tasks, and the fraction whose
        task was inferred right (prototype only; NaN otherwise)."""
        if self.context != "prototype":
            return self.train(t, len(x)), float("nan")
        idx = nearest_prototype(x, self.prototypes[:seen])
        return self.prototypes[idx], float((idx == t).double().mean())


@torch.inference_mode()
def evaluate_task(
    net, x: torch.Tensor, y: torch.Tensor, ctx: Contexts, t: int, seen: int
) -> tuple[float, float, float]:
    """Test loss, accuracy and task-inference accuracy on task t's (already permuted) test set."""
    net.eval()
    loss, correct, right = 0.0, 0, 0.0
    for i in range(0, len(x), EVAL_CHUNK):
        xb, yb = x[i : i + EVAL_CHUNK], y[i : i + EVAL_CHUNK]
        c, task_acc = ctx.test(t, xb, seen)
        logits = net(xb, c)
        loss += float(F.cross_entropy(logits, yb, reduction="sum"))
        correct += int((logits.argmax(1) == yb).sum())
        right += task_acc * len(xb)
    net.train()
    n = len(x)
    return loss / n, correct / n, right / n


def run_sequence(
    model: str,
    size,
    context: str,
    tasks: int,
    seed: int,
    data: dict[str, torch.Tensor],
    epochs_per_task: int = 3,
    lr: float = 5e-4,
    batch_size: int = 256,
) -> list[dict]:
    """Train one network on T permuted tasks in sequence; one row per (after_task, tested_task).
    ``data``: float inputs in [0, 1] (N, 784) ``x_train``, ``x_test`` and int labels."""
    torch.manual_seed(seed)  # nothing should draw from it; fixed all the same
    perms = permutations(seed, tasks, data["x_train"].shape[1])
    ctx = Contexts(context, tasks, data["x_train"].mean(0), perms)
    net = build(model, size, tasks, context, seed)
    opt = adam(net.parameters(), lr, fused=True)  # the same update, one kernel (as the fast engine)
    g = generator(seed, "batches")
    x_tr, y_tr, n = data["x_train"], data["y_train"], len(data["y_train"])
    tests = []
    base = dict(
        experiment="permuted",
        tasks=tasks,
        model=model,
        context=context,
        size=size_label(model, size),
        hidden=np.nan if is_house_model(model) else int(size),
        dendrites=int(size[0]) if is_house_model(model) else np.nan,
        somata=int(size[1]) if is_house_model(model) else np.nan,
        seed=seed,
        n_params=net.n_params(),
        epochs_per_task=epochs_per_task,
        lr=lr,
        batch_size=batch_size,
    )
    rows, train_s = [], 0.0
    net.train()
    for t, perm in enumerate(perms):
        p = torch.as_tensor(perm)
        tests.append(data["x_test"][:, p])
        t0 = time.perf_counter()
        for _ in range(epochs_per_task):
            order = torch.randperm(n, generator=g)
            for i in range(0, n, batch_size):
                rows_b = order[i : i + batch_size]
                xb = x_tr[rows_b][:, p]
                logits = net(xb, ctx.train(t, len(rows_b)))
                loss = F.cross_entropy(logits, y_tr[rows_b])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
        train_s += time.perf_counter() - t0
        for tau in range(t + 1):
            loss_, acc, task_acc = evaluate_task(net, tests[tau], data["y_test"], ctx, tau, t + 1)
            rows.append(
                dict(
                    base,
                    after_task=t,
                    tested_task=tau,
                    test_acc=acc,
                    test_loss=loss_,
                    task_acc=task_acc,
                    train_s=train_s,
                )
            )
        mean_acc = np.mean([r["test_acc"] for r in rows if r["after_task"] == t])
        log.info(
            "%s %s %s seed %d: after task %d/%d mean acc %.4f (%.0f s)",
            model,
            base["size"],
            context,
            seed,
            t + 1,
            tasks,
            mean_acc,
            train_s,
        )
    return rows


def load_data(path: str | Path) -> dict[str, torch.Tensor]:
    """The prepared dataset as flat float inputs in [0, 1] (CPU)."""
    ds = datasets.load_prepared(path)
    cpu = torch.device("cpu")
    return {
        "x_train": to_float(ds.x_train, cpu).flatten(1),
        "y_train": ds.y_train.long(),
        "x_test": to_float(ds.x_test, cpu).flatten(1),
        "y_test": ds.y_test.long(),
        "name": ds.name,
    }


def run_permuted_job(
    data_path: str | Path,
    out_csv: str | Path,
    model: str,
    context: str,
    tasks: int,
    sizes: Sequence,
    seeds: Sequence[int],
    epochs_per_task: int = 3,
    lr: float = 5e-4,
    batch_size: int = 256,
    threads: int = 1,
) -> pd.DataFrame:
    """One job: every size and seed of (dataset, T, model, context); writes ``out_csv`` atomically."""
    torch.set_num_threads(max(1, int(threads)))
    data = load_data(data_path)
    rows = []
    for size in sizes:
        for seed in seeds:
            rows += run_sequence(model, size, context, tasks, int(seed), data, epochs_per_task, lr, batch_size)
    df = pd.DataFrame(rows)
    df.insert(1, "dataset", data["name"])
    df = df[COLUMNS]
    write_atomic(out_csv, lambda p: df.to_csv(p, index=False))
    return df


# --------------------------------------------------------------------------------------------
# tables the verdict and the figure share (pure pandas)
# --------------------------------------------------------------------------------------------


def mean_over_seen(df: pd.DataFrame) -> pd.DataFrame:
    """Per run (T, model, context, size, seed) and after_task: the mean test accuracy over the
    tasks seen so far (column ``mean_acc``)."""
    keys = ["dataset", "tasks", "model", "context", "size", "n_params", "seed", "after_task"]
    return df.groupby(keys, as_index=False, dropna=False)["test_acc"].mean().rename(columns={"test_acc": "mean_acc"})


def final_accuracy(df: pd.DataFrame) -> pd.DataFrame:
    """Per run: the mean test accuracy over all T tasks after the last task (``final_acc``)."""
    m = mean_over_seen(df)
    m = m[m["after_task"] == m["tasks"] - 1]
    return m.drop(columns="after_task").rename(columns={"mean_acc": "final_acc"}).reset_index(drop=True)
