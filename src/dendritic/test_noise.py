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

Salt noise (Bain 2022, Fig. 2 and §3; the kind ``salt`` of config ``analysis.test_noise.kinds``): in
every test image a fraction q of the pixels, ``round(q · P)`` of its P pixels drawn uniformly without
replacement, is set to the salt value, 2 × the standard deviation of the training set's pixels on
the [0, 1] scale the models see (Fashion-MNIST: 2 × 0.3530 = 0.706; :func:`salt_value`). The pixels
come from one random order per image and trial seed (:func:`salt_order`), so every model of a trial
sees the same images and a larger q adds pixels to those of a smaller one. A row's ``kind`` says which
noise it is: Gaussian rows carry ``sigma`` (``q`` empty), salt rows ``q`` (``sigma`` empty); the
salt rows include q = 0, the clean test set.
"""

from __future__ import annotations

import logging
import math
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

__all__ = [
    "standard_noise",
    "salt_order",
    "salt_noise",
    "salt_value",
    "test_noise_frame",
    "run_test_noise",
    "TEST_NOISE_COLUMNS",
]

#: The columns that name one run of a cell in the per-run tables of trained networks
#: (``results/test_noise.csv``, ``adversarial.csv``, ``eg_weights.csv``).
RUN_KEY_COLUMNS = [
    "experiment",
    "dataset",
    "model",
    "dendrites",
    "somata",
    "layers",
    "cell",
    "seed",
]

#: Columns of ``results/test_noise.csv``.
TEST_NOISE_COLUMNS = [
    *RUN_KEY_COLUMNS,
    "n_params",
    "kind",
    "sigma",
    "q",
    "test_loss",
    "test_acc",
    "diverged",
]

#: Base of the test-noise stream (far from the training streams of ``training.generator``).
TEST_NOISE_STREAM = 0x6E6F6973  # ASCII "nois"
#: Base of the salt-noise stream.
SALT_STREAM = 0x73616C74  # ASCII "salt"

#: Kinds of test-time noise (config ``analysis.test_noise.kinds``).
KINDS = ("gaussian", "salt")


def standard_noise(shape: Sequence[int], seed: int) -> torch.Tensor:
    """Standard normal noise of ``shape`` (CPU, float32) from the fixed test-noise stream of trial
    ``seed``: the same for every model, cell and σ of that trial."""
    g = torch.Generator().manual_seed(1_000_003 * int(seed) + TEST_NOISE_STREAM)
    return torch.randn(tuple(shape), generator=g)


def salt_order(n_images: int, n_pixels: int, seed: int) -> torch.Tensor:
    """(n_images, n_pixels) int64: one uniformly random order of the pixels per image, from the fixed
    salt stream of trial ``seed``; the first ``round(q · n_pixels)`` of a row are its salted pixels."""
    g = torch.Generator().manual_seed(1_000_003 * int(seed) + SALT_STREAM)
    return torch.rand(int(n_images), int(n_pixels), generator=g).argsort(dim=1)


def salt_count(q: float, n_pixels: int) -> int:
    """Pixels salted per image at fraction ``q``: ``round(q · n_pixels)``, halves rounded up."""
    return int(math.floor(float(q) * int(n_pixels) + 0.5))


def salt_noise(x: torch.Tensor, q: float, value: float, order: torch.Tensor) -> torch.Tensor:
    """A copy of the flat images ``x`` (N, P) with the first ``round(q · P)`` pixels of each
    image's ``order`` (:func:`salt_order`) set to ``value``."""
    k = salt_count(q, x.shape[1])
    out = x.clone()
    if k:
        out.scatter_(1, order[:, :k].to(x.device), float(value))
    return out


def salt_value(prepared) -> float:
    """2 × the standard deviation of the training pixels on the [0, 1] scale (Bain's salt level)."""
    return 2.0 * float(to_float(prepared.x_train, torch.device("cpu")).double().std())


def _conditions(kinds: Sequence[str], sigmas: Sequence[float], fractions: Sequence[float]) -> list[tuple]:
    """The (kind, sigma, q) evaluated: every σ of the Gaussian kind, q = 0 and every q of the salt kind."""
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise ValueError(f"unknown test-noise kind(s) {unknown}; valid: {', '.join(KINDS)}")
    out = [("gaussian", float(s), math.nan) for s in sigmas] if "gaussian" in kinds else []
    if "salt" in kinds:
        out += [("salt", math.nan, float(q)) for q in dict.fromkeys([0.0, *map(float, fractions)])]
    return out


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
    kinds: Sequence[str] = ("gaussian",),
    salt_fractions: Sequence[float] = (),
    salt: float | None = None,
) -> pd.DataFrame:
    """Every seed of every cell in ``weights_paths`` tested on noisy test images without
    retraining: for the kind ``gaussian`` on ``clip(x_test + σ·z, 0, 1)`` for each σ in ``sigmas``
    (``z`` from :func:`standard_noise`), for the kind ``salt`` with q = 0 and each fraction q in
    ``salt_fractions`` of the pixels set to ``salt`` (default :func:`salt_value` of ``prepared``);
    see the module docstring.

    ``engine``: ``fast`` evaluates all seeds of a cell at once with :class:`dendritic.engine.FastNet`
    (work ∝ existing connections; a dANN is ~7× faster than its masked dense form on a CPU), the
    same function as the reference form up to float rounding; ``reference`` evaluates each seed's
    masked dense :class:`~dendritic.models.DendriticNet` with :func:`dendritic.training.evaluate`.
    Returns one row per (cell, seed, kind, level) with :data:`TEST_NOISE_COLUMNS`; ``diverged``
    repeats the run's flag from its metrics.csv (such runs are still evaluated; their loss is
    usually NaN).
    """
    if engine not in ("fast", "reference"):
        raise ValueError(f"engine must be 'fast' or 'reference', got {engine!r}")
    dev = resolve_device(device) if isinstance(device, str) else device
    x = to_float(prepared.x_test, dev)
    y = prepared.y_test.to(dev)
    conditions = _conditions(kinds, sigmas, salt_fractions)
    if salt is None and "salt" in kinds:
        salt = salt_value(prepared)
    noise: dict[int, torch.Tensor] = {}
    orders: dict[int, torch.Tensor] = {}

    def noisy(seed: int, kind: str, sigma: float, q: float) -> torch.Tensor:
        if kind == "salt":
            if seed not in orders:
                orders[seed] = salt_order(x.shape[0], x.shape[1], seed).to(dev)
            return salt_noise(x, q, salt, orders[seed]) if q else x
        if sigma == 0:
            return x
        if seed not in noise:
            noise[seed] = standard_noise(x.shape, seed).to(dev)
        return (x + sigma * noise[seed]).clamp_(0.0, 1.0)

    rows = []
    for path in weights_paths:
        saved = torch.load(path, map_location="cpu", weights_only=True)
        cell, seeds = saved["cell"], sorted(int(s) for s in saved["runs"])
        del saved
        diverged = _diverged_seeds(Path(path))
        nets = [load_run(path, seed, prepared.image_shape, prepared.n_classes).to(dev) for seed in seeds]
        n_params = int(nets[0].n_params()) if nets else 0
        if engine == "fast" and nets:
            fast = FastNet(nets).to(dev)
            del nets
            idx = torch.arange(len(y), device=dev).expand(len(seeds), -1)
            results = []  # per condition: (losses per seed, accuracies per seed)
            for kind, sigma, q in conditions:
                clean = (kind == "gaussian" and sigma == 0) or (kind == "salt" and not q)
                xs = x[None] if clean else torch.stack([noisy(s, kind, sigma, q) for s in seeds])
                results.append(evaluate_replicas(fast, xs, idx, y))
                del xs
            per_seed = {s: [(res[0][r], res[1][r]) for res in results] for r, s in enumerate(seeds)}
            del fast
        else:
            per_seed = {}
            for seed, model in zip(seeds, nets):
                per_seed[seed] = [evaluate(model, noisy(seed, *c), y) for c in conditions]
            del nets
        for seed in seeds:
            for (kind, sigma, q), (loss, acc) in zip(conditions, per_seed[seed]):
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
                        kind=kind,
                        sigma=sigma,
                        q=q,
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
    kinds: Sequence[str] = ("gaussian",),
    salt_fractions: Sequence[float] = (),
) -> pd.DataFrame:
    """One Snakemake job: :func:`test_noise_frame` of the given cells, written to ``out_path``."""
    set_threads(threads)
    df = test_noise_frame(
        weights_paths,
        datasets.load_prepared(data_path),
        sigmas,
        device=device,
        kinds=kinds,
        salt_fractions=salt_fractions,
    )
    write_table(df, out_path)
    return df
