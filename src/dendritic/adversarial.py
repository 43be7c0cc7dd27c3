"""Beyond the paper: adversarial accuracy of trained networks (FGSM, optionally PGD), for any model
and learning rule; one table, ``results/adversarial.csv`` (spec B.4, the EG stand-in's robustness
check).

Scale. The models take flat pixels in [0, 1] (:func:`dendritic.training.to_float`: uint8 / 255,
no mean/std normalisation), so the attack is applied on that scale directly and ε is a fraction of
the pixel range: ε = 0.1 moves every pixel by at most 25.5 grey levels.

* **FGSM** (Goodfellow et al. 2015): ``x' = clip(x + ε·sign(∇ₓ L(x, y)), 0, 1)``, L the mean
  cross-entropy of the true labels, gradients of the network in eval mode (no dropout). At ε = 0
  the images are the clean test set, so the accuracy is the run's ``test_acc``.
* **PGD-k** (Madry et al. 2018), ``analysis.adversarial.pgd_steps`` = k > 0: k steps
  ``x ← Π(x + α·sign(∇ₓ L))`` with α = ε/4, Π the projection onto the L∞ ball of radius ε around
  the clean image intersected with [0, 1]; no random start (deterministic).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd
import torch
import torch.nn.functional as F

from dendritic import datasets
from dendritic.best_models import set_threads, write_table
from dendritic.cells import load_run
from dendritic.config import Cell
from dendritic.test_noise import RUN_KEY_COLUMNS, _diverged_seeds
from dendritic.training import EVAL_BATCH, load_weights, resolve_device, to_float

log = logging.getLogger("dendritic.adversarial")

#: Columns of ``results/adversarial.csv``.
ADVERSARIAL_COLUMNS = [
    *RUN_KEY_COLUMNS,
    "optimizer",
    "init",
    "n_params",
    "attack",
    "epsilon",
    "steps",
    "test_loss",
    "test_acc",
    "diverged",
]


def _input_grad_sign(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    x = x.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        loss = F.cross_entropy(model(x), y)
        (grad,) = torch.autograd.grad(loss, x)
    return grad.sign()


def fgsm(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float) -> torch.Tensor:
    """FGSM images ``clip(x + ε·sign(∇ₓL), 0, 1)`` of a batch (x in [0, 1]); ε = 0 returns x."""
    if eps == 0:
        return x
    return (x + eps * _input_grad_sign(model, x, y)).clamp_(0.0, 1.0)


def pgd(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, steps: int) -> torch.Tensor:
    """PGD-``steps`` images with step ε/4 in the L∞ ball of radius ε (∩ [0, 1]), no random start."""
    if eps == 0 or steps <= 0:
        return x
    lo, hi = (x - eps).clamp(min=0.0), (x + eps).clamp(max=1.0)
    adv, alpha = x.clone(), eps / 4
    for _ in range(steps):
        adv = torch.minimum(torch.maximum(adv + alpha * _input_grad_sign(model, adv, y), lo), hi)
    return adv


def attack_accuracy(
    model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, steps: int = 0
) -> tuple[float, float]:
    """Mean cross-entropy and accuracy on the attacked test set: FGSM (``steps`` 0) or PGD."""
    was_training = model.training
    model.eval()
    loss, correct = 0.0, 0
    for i in range(0, len(x), EVAL_BATCH):
        xb, yb = x[i : i + EVAL_BATCH], y[i : i + EVAL_BATCH]
        adv = fgsm(model, xb, yb, eps) if steps == 0 else pgd(model, xb, yb, eps, steps)
        with torch.inference_mode():
            logits = model(adv)
            loss += float(F.cross_entropy(logits, yb, reduction="sum"))
            correct += int((logits.argmax(1) == yb).sum())
    model.train(was_training)
    n = max(len(x), 1)
    return loss / n, correct / n


def adversarial_frame(
    weights_paths: Iterable[str | Path],
    prepared,
    epsilons: Sequence[float],
    pgd_steps: int = 0,
    device: str | torch.device = "cpu",
) -> pd.DataFrame:
    """Every seed of every cell in ``weights_paths`` under FGSM at each ε (and PGD-``pgd_steps``
    when > 0): one row per (cell, seed, attack, ε), :data:`ADVERSARIAL_COLUMNS`."""
    dev = resolve_device(device) if isinstance(device, str) else device
    x, y = to_float(prepared.x_test, dev), prepared.y_test.to(dev)
    attacks = [("fgsm", 1)] + ([("pgd", int(pgd_steps))] if pgd_steps else [])
    rows = []
    for path in weights_paths:
        saved = load_weights(path)
        cell, seeds = Cell.from_dict(saved["cell"]), sorted(int(s) for s in saved["runs"])
        del saved
        diverged = _diverged_seeds(Path(path))
        for seed in seeds:
            model = load_run(path, seed, prepared.image_shape, prepared.n_classes).to(dev)
            accs = []
            for attack, steps in attacks:
                for eps in epsilons:
                    loss, acc = attack_accuracy(model, x, y, float(eps), 0 if attack == "fgsm" else steps)
                    accs.append(acc)
                    rows.append(
                        dict(
                            experiment=cell.experiment,
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
                            attack=attack,
                            epsilon=float(eps),
                            steps=steps,
                            test_loss=loss,
                            test_acc=acc,
                            diverged=seed in diverged,
                        )
                    )
            log.info("%s %s seed %d: acc %s", cell.model, cell.id, seed, " ".join(f"{a:.3f}" for a in accs))
    return pd.DataFrame(rows, columns=ADVERSARIAL_COLUMNS)


def run_adversarial(
    weights_paths: Sequence[str | Path],
    data_path: str | Path,
    epsilons: Sequence[float],
    out_path: str | Path,
    pgd_steps: int = 0,
    device: str = "cpu",
    threads: int | None = None,
) -> pd.DataFrame:
    """One Snakemake job: :func:`adversarial_frame` of the given cells, written to ``out_path``."""
    set_threads(threads)
    df = adversarial_frame(weights_paths, datasets.load_prepared(data_path), epsilons, pgd_steps, device)
    write_table(df, out_path)
    return df
