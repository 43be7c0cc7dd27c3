"""Shared fixtures: the repository root, a small synthetic prepared dataset, the real FMNIST."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
FMNIST_MIRROR = Path("/usr/share/datasets/fashion-mnist")
SNAKEMAKE = [sys.executable, "-m", "snakemake"]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


def synthetic_prepared(
    n_train: int = 1200, n_test: int = 400, shape=(1, 28, 28), n_classes: int = 10, seed: int = 0
) -> SimpleNamespace:
    """A learnable toy dataset in the prepared format: each class brightens its own band of rows."""
    g = torch.Generator().manual_seed(seed)
    n = n_train + n_test
    y = torch.randint(0, n_classes, (n,), generator=g)
    x = torch.rand((n, *shape), generator=g) * 80
    rows = shape[1] // n_classes
    for c in range(n_classes):
        x[y == c, :, c * rows : (c + 1) * rows, :] += 150
    x = x.clamp(0, 255).to(torch.uint8)
    return SimpleNamespace(
        x_train=x[:n_train],
        y_train=y[:n_train],
        x_test=x[n_train:],
        y_test=y[n_train:],
        image_shape=shape,
        n_classes=n_classes,
        meta={"name": "synthetic"},
    )


@pytest.fixture
def toy_data() -> SimpleNamespace:
    return synthetic_prepared()


def run_snakemake(args, cwd, timeout=900, env=None) -> subprocess.CompletedProcess:
    """Run snakemake in ``cwd`` (a copy of the workflow), returning the completed process."""
    return subprocess.run(
        SNAKEMAKE + list(args),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture
def workflow_copy(tmp_path) -> Path:
    """The workflow files (not results) copied into a temporary folder, to run snakemake in."""
    return copy_workflow(tmp_path / "wf")


requires_fmnist = pytest.mark.skipif(
    not FMNIST_MIRROR.is_dir(),
    reason=f"real Fashion-MNIST not installed at {FMNIST_MIRROR} (apt-get install dataset-fashion-mnist; "
    "`make test` does it where it can)",
)


def copy_workflow(dest: Path) -> Path:
    """Copy the workflow files (not results) into ``dest`` to run snakemake there."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in ["Snakefile", "config.yaml", "environment.yml", "workflow", "config", "profiles"]:
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, dest / name)
    return dest


@pytest.fixture(scope="session")
def local_test_run(tmp_path_factory):
    """The test config run once, locally, on the real Fashion-MNIST (shared by several tests)."""
    if not FMNIST_MIRROR.is_dir():
        pytest.skip(f"real Fashion-MNIST not installed at {FMNIST_MIRROR}")
    dest = copy_workflow(tmp_path_factory.mktemp("local") / "wf")
    proc = run_snakemake(["--cores", "2", "--configfile", "config/test.yaml"], dest, timeout=1200)
    return dest, proc
