"""Beyond the paper: every clean-trained main-experiment model tested on noisy test images, no
retraining ("test noise", not to be confused with the paper's noise experiment of Fig. 7). One
table, ``results/test_noise.csv``, drawn by :mod:`dendritic.plots.test_noise`.

:func:`test_noise_frame`: every seed of every given cell evaluated on ``clip(x_test + σ·z, 0, 1)``
(all seeds of a cell at once, with the fast engine's sparse layers: :mod:`dendritic.engine`). ``z``
~ N(0, 1) has the test set's shape and is drawn once per trial seed from a fixed stream
(:func:`standard_noise`), so every model of trial ``s`` sees exactly the same noisy images at a
given σ, and the noise at two σ differs only in scale. σ = 0 evaluates the clean test set, so it
reproduces the run's ``test_acc`` (to float rounding: the two engines sum the same products in a
different order).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd
import torch

from dendritic import datasets, trials
from dendritic.best_models import set_threads, write_table
from dendritic.cells import load_run
from dendritic.engine import FastNet, evaluate_replicas
from dendritic.training import evaluate, resolve_device, to_float

log = logging.getLogger("dendritic.test_noise")

__all__ = ["standard_noise", "test_noise_frame", "run_test_noise", "TEST_NOISE_COLUMNS"]

#: Columns of ``results/test_noise.csv``.
TEST_NOISE_COLUMNS = [
    "experiment",
    "dataset",
    "model",
    "dendrites",
    "somata",
    "layers",
    "cell",
    "seed",
    "n_params",
    "sigma",
    "test_loss",
    "test_acc",
    "diverged",
]

#: Base of the test-noise stream (far from the training streams of ``training.generator``).
TEST_NOISE_STREAM = 0x6E6F6973  # ASCII "nois"


def standard_noise(shape: Sequence[int], seed: int) -> torch.Tensor:
    """Standard normal noise of ``shape`` (CPU, float32) from the fixed test-noise stream of trial
    ``seed``: the same for every model, cell and σ of that trial."""
    g = torch.Generator().manual_seed(1_000_003 * int(seed) + TEST_NOISE_STREAM)
    return torch.randn(tuple(shape), generator=g)


def _diverged_seeds(weights_path: Path) -> set[int]:
    """Seeds flagged diverged in the metrics.csv beside ``weights_path`` (none if it is absent)."""
    metrics = Path(weights_path).parent / "metrics.csv"
    if not metrics.is_file():
        return set()
    m = pd.read_csv(metrics)
    return set(m.loc[trials.diverged_mask(m), "seed"].astype(int))


def test_noise_frame(
    weights_paths: Iterable[str | Path],
    prepared,
    sigmas: Sequence[float],
    device: str | torch.device = "cpu",
    experiment: str = "main",
    engine: str = "fast",
) -> pd.DataFrame:
    """Every seed of every cell in ``weights_paths`` tested on ``clip(x_test + σ·z, 0, 1)`` for
    each σ in ``sigmas``, without retraining; ``z`` from :func:`standard_noise` (module docstring).

    ``engine``: ``fast`` evaluates all seeds of a cell at once with :class:`dendritic.engine.FastNet`
    (work ∝ existing connections; a dANN is ~7× faster than its masked dense form on a CPU), the
    same function as the reference form up to float rounding; ``reference`` evaluates each seed's
    masked dense :class:`~dendritic.models.DendriticNet` with :func:`dendritic.training.evaluate`.
    Returns one row per (cell, seed, σ) with :data:`TEST_NOISE_COLUMNS`; ``diverged`` repeats the
    run's flag from its metrics.csv (such runs are still evaluated; their loss is usually NaN).
    """
    if engine not in ("fast", "reference"):
        raise ValueError(f"engine must be 'fast' or 'reference', got {engine!r}")
    dev = resolve_device(device) if isinstance(device, str) else device
    x = to_float(prepared.x_test, dev)
    y = prepared.y_test.to(dev)
    sigmas = [float(s) for s in sigmas]
    noise: dict[int, torch.Tensor] = {}
    rows = []
    for path in weights_paths:
        saved = torch.load(path, map_location="cpu", weights_only=True)
        cell, seeds = saved["cell"], sorted(int(s) for s in saved["runs"])
        del saved
        diverged = _diverged_seeds(Path(path))
        nets = [load_run(path, seed, prepared.image_shape, prepared.n_classes).to(dev) for seed in seeds]
        for seed in seeds:
            if seed not in noise:
                noise[seed] = standard_noise(x.shape, seed).to(dev)
        n_params = int(nets[0].n_params()) if nets else 0
        if engine == "fast" and nets:
            fast = FastNet(nets).to(dev)
            del nets
            idx = torch.arange(len(y), device=dev).expand(len(seeds), -1)
            z = torch.stack([noise[s] for s in seeds])
            results = []  # per σ: (losses per seed, accuracies per seed)
            for sigma in sigmas:
                xs = x[None] if sigma == 0 else (x[None] + sigma * z).clamp_(0.0, 1.0)
                results.append(evaluate_replicas(fast, xs, idx, y))
                del xs
            per_seed = {s: [(res[0][r], res[1][r]) for res in results] for r, s in enumerate(seeds)}
            del fast, z
        else:
            per_seed = {}
            for seed, model in zip(seeds, nets):
                per_seed[seed] = [
                    evaluate(model, x if sigma == 0 else (x + sigma * noise[seed]).clamp_(0.0, 1.0), y)
                    for sigma in sigmas
                ]
            del nets
        for seed in seeds:
            for sigma, (loss, acc) in zip(sigmas, per_seed[seed]):
                rows.append(
                    dict(
                        experiment=experiment,
                        dataset=cell["dataset"],
                        model=cell["model"],
                        dendrites=cell["dendrites"],
                        somata=cell["somata"],
                        layers=cell.get("layers", 1),
                        cell=cell.get("cell"),
                        seed=seed,
                        n_params=n_params,
                        sigma=sigma,
                        test_loss=loss,
                        test_acc=acc,
                        diverged=seed in diverged,
                    )
                )
            log.info(
                "%s %s seed %d: acc %s",
                cell["model"],
                cell.get("cell"),
                seed,
                " ".join(f"{acc:.3f}" for _, acc in per_seed[seed]),
            )
    return pd.DataFrame(rows, columns=TEST_NOISE_COLUMNS)


def run_test_noise(
    weights_paths: Sequence[str | Path],
    data_path: str | Path,
    sigmas: Sequence[float],
    out_path: str | Path,
    device: str = "cpu",
    threads: int | None = None,
) -> pd.DataFrame:
    """One Snakemake job: :func:`test_noise_frame` of the given cells, written to ``out_path``."""
    set_threads(threads)
    df = test_noise_frame(weights_paths, datasets.load_prepared(data_path), sigmas, device=device)
    write_table(df, out_path)
    return df
