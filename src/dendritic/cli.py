"""Command line: single runs and look-ups outside Snakemake.

python -m dendritic params  --model dANN-LRF --dataset fmnist -D 4 -S 128
python -m dendritic prepare fmnist
python -m dendritic train   --model dANN-R --dataset fmnist -D 4 -S 128 --seeds 0 1 --out runs/x
python -m dendritic plan    config.yaml
python -m dendritic summarize results/runs results/summary.csv
"""

from __future__ import annotations

import argparse
import math
import sys
from collections import Counter
from pathlib import Path

from dendritic.config import (
    EXPERIMENTS,
    Cell,
    cell_settings,
    schema_choices,
    schema_default,
    validate_config,
)


class CliError(ValueError):
    """A command-line value that cannot work; the message names the option and the remedy."""


def _at_least(low: int):
    """argparse type: a whole number ≥ ``low``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
        return value

    parse.__name__ = f"integer >= {low}"
    return parse


def _number(low: float, high: float = math.inf, low_open: bool = False, high_open: bool = False):
    """argparse type: a finite number in the interval given (``*_open``: that end excluded)."""
    upper = "∞)" if high == math.inf else f"{high:g}{')' if high_open else ']'}"
    where = f"{'(' if low_open else '['}{low:g}, {upper}"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        bad_low = value < low or (low_open and value == low)
        bad_high = value > high or (high_open and value == high)
        if not math.isfinite(value) or bad_low or bad_high:
            raise argparse.ArgumentTypeError(f"must be a number in {where}, got {text}")
        return value

    parse.__name__ = f"number in {where}"
    return parse


def _check_device(spec: str) -> None:
    """Fail early, naming --device, when the device cannot be used here."""
    import torch

    from dendritic.training import resolve_device

    try:
        resolve_device(spec)
    except RuntimeError as err:
        if spec.startswith("cuda") and not torch.cuda.is_available():
            raise CliError(
                f"--device {spec}: no CUDA device is available on this machine; use "
                f"--device auto (the GPU when there is one) or --device cpu."
            ) from None
        raise CliError(f"--device {spec}: not a usable device ({err}); use auto, cpu, cuda, cuda:N or mps.") from None


def _cmd_params(a: argparse.Namespace) -> int:
    from dendritic.datasets import DATASETS
    from dendritic.models import count_params

    spec = DATASETS[a.dataset]
    n = count_params(a.model, tuple(spec.image_shape), spec.n_classes, a.dendrites, a.somata, L=a.layers)
    print(n)
    return 0


def _cmd_prepare(a: argparse.Namespace) -> int:
    from dendritic.datasets import prepare

    out = Path(a.out or f"resources/data/{a.dataset}.pt")
    raw = Path(a.raw_dir or out.parent / "raw" / a.dataset)
    meta = prepare(a.dataset, out, raw_dir=raw, mirrors=a.mirror, download=not a.no_download)
    print(f"{a.dataset}: {meta['n_train']} train / {meta['n_test']} test images → {out}")
    return 0


def _train_cell(a: argparse.Namespace) -> Cell:
    """The cell of ``train``, built the way the workflow builds its cells: the options given become
    config keys, the one validation fills in the schema's defaults, and the settings are read back."""
    given = {
        "lr": a.lr,
        "batch_size": a.batch_size,
        "engine": a.engine,
        "divergence_loss": a.divergence_loss,
        "epochs": None if a.epochs is None else {a.dataset: a.epochs},
    }
    config = {
        "datasets": [a.dataset],
        "seeds": list(a.seeds),
        "training": {k: v for k, v in given.items() if v is not None},
    }
    validate_config(config)
    return Cell(
        experiment=a.experiment,
        dataset=a.dataset,
        model=a.model,
        dendrites=a.dendrites,
        somata=a.somata,
        layers=a.layers,
        dropout=a.dropout,
        sigma=a.sigma,
        patience=a.patience,
        sequential=a.sequential,
        **cell_settings(config, a.dataset),
    )


def _cmd_train(a: argparse.Namespace) -> int:
    from dendritic.cells import run_cell
    from dendritic.datasets import prepare
    from dendritic.runio import setup_logging

    _check_device(a.device)
    if len(set(a.seeds)) != len(a.seeds):
        raise CliError(f"--seeds {' '.join(map(str, a.seeds))}: a seed is given twice; give each once.")
    setup_logging()
    if a.data is not None:
        data = Path(a.data)
        if not data.is_file():
            raise CliError(
                f"--data {data}: no such file. Prepare it first (`python -m dendritic prepare "
                f"{a.dataset} --out {data}`), or leave --data out to use "
                f"resources/data/{a.dataset}.pt (prepared when missing)."
            )
    else:
        data = Path(f"resources/data/{a.dataset}.pt")
        if not data.exists():
            prepare(a.dataset, data, raw_dir=data.parent / "raw" / a.dataset, mirrors=a.mirror, download=True)
    cell = _train_cell(a)
    out = Path(a.out or cell.path())
    df = run_cell(cell, data, out, device=a.device, threads=a.threads)
    print(df[["seed", "n_params", "test_loss", "test_acc", "epoch_min_val_loss", "diverged"]].to_string(index=False))
    print(f"outputs in {out}")
    return 0


def _cmd_plan(a: argparse.Namespace) -> int:
    from dendritic.config import expand_cells, load_config

    cells = expand_cells(load_config(a.config))
    by_exp = Counter(c.experiment for c in cells)
    runs = Counter()
    for c in cells:
        runs[c.experiment] += len(c.seeds)
    for e, n in by_exp.items():
        print(f"{e:15s} {n:6d} cells (jobs) {runs[e]:7d} runs")
    print(f"{'total':15s} {len(cells):6d} cells (jobs) {sum(runs.values()):7d} runs")
    return 0


def _cmd_summarize(a: argparse.Namespace) -> int:
    from dendritic.summary import find_metrics, write_summary

    files = find_metrics(a.runs)
    df = write_summary(files, a.out)
    print(f"{len(df)} runs from {len(files)} finished cells → {a.out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from dendritic.datasets import DATASETS
    from dendritic.models import ALL_MODELS

    p = argparse.ArgumentParser(
        prog="python -m dendritic", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = p.add_subparsers(dest="command", required=True)

    def schema_says(key: str) -> str:  # the defaults are the schema's, read from it
        return f"default: {schema_default('training', key)} (training.{key} of the config schema)"

    def shape_args(sp):
        sp.add_argument("--model", required=True, choices=ALL_MODELS)
        sp.add_argument("--dataset", required=True, choices=sorted(DATASETS))
        sp.add_argument("-D", "--dendrites", type=_at_least(1), required=True)
        sp.add_argument("-S", "--somata", type=_at_least(1), required=True)
        sp.add_argument("-L", "--layers", type=_at_least(1), default=1)

    sp = sub.add_parser("params", help="print a model's trainable-parameter count")
    shape_args(sp)
    sp.set_defaults(func=_cmd_params)

    sp = sub.add_parser("prepare", help="fetch, verify and cache a dataset")
    sp.add_argument("dataset", choices=sorted(DATASETS))
    sp.add_argument("--out", help="cache file (default resources/data/DATASET.pt)")
    sp.add_argument("--raw-dir", help="where downloads go (default beside the cache)")
    sp.add_argument(
        "--mirror",
        action="append",
        default=list(schema_default("data", "mirrors")),
        help="folder searched before the network (repeatable; data.mirrors's default is searched too)",
    )
    sp.add_argument("--no-download", action="store_true")
    sp.set_defaults(func=_cmd_prepare)

    sp = sub.add_parser("train", help="train one configuration (every given seed) into a folder")
    shape_args(sp)
    sp.add_argument("--seeds", type=_at_least(0), nargs="+", default=[0])
    sp.add_argument("--epochs", type=_at_least(1), help="default: the paper's epochs for the dataset")
    sp.add_argument(
        "--lr", type=_number(0, low_open=True), default=schema_default("training", "lr"), help=schema_says("lr")
    )
    sp.add_argument("--dropout", type=_number(0, 1, high_open=True), default=0.0)
    sp.add_argument("--sigma", type=_number(0), default=0.0, help="Gaussian noise std (noise experiment)")
    sp.add_argument("--patience", type=_at_least(1), help="early stopping patience (best weights restored)")
    sp.add_argument("--sequential", action="store_true", help="class-ordered batches, no shuffling")
    sp.add_argument(
        "--batch-size",
        type=_at_least(1),
        default=schema_default("training", "batch_size"),
        help=schema_says("batch_size"),
    )
    sp.add_argument(
        "--divergence-loss",
        type=_number(0, low_open=True),
        default=schema_default("training", "divergence_loss"),
        help="stop and flag a run whose mean training loss of an epoch exceeds this "
        f"({schema_says('divergence_loss')})",
    )
    sp.add_argument(
        "--experiment",
        default="main",
        choices=EXPERIMENTS,
        help="names the default output folder results/runs/EXPERIMENT/...",
    )
    sp.add_argument("--device", default=schema_default("training", "device"))
    sp.add_argument(
        "--engine",
        choices=schema_choices("training", "engine"),
        default=schema_default("training", "engine"),
        help="fast: sparse layers, seeds batched where it pays off; reference: masked "
        "dense layers, one seed at a time (same numbers up to float rounding); "
        f"{schema_says('engine')}",
    )
    sp.add_argument("--threads", type=_at_least(1))
    sp.add_argument("--data", help="prepared dataset (default resources/data/DATASET.pt, prepared if missing)")
    sp.add_argument("--mirror", action="append", default=list(schema_default("data", "mirrors")))
    sp.add_argument("--out", help="output folder (default results/runs/EXPERIMENT/DATASET/MODEL/CELL)")
    sp.set_defaults(func=_cmd_train)

    sp = sub.add_parser("plan", help="count the cells (jobs) and runs a config asks for")
    sp.add_argument("config", nargs="?", default="config.yaml")
    sp.set_defaults(func=_cmd_plan)

    sp = sub.add_parser("summarize", help="summarise whatever runs have finished")
    sp.add_argument("runs", nargs="?", default="results/runs")
    sp.add_argument("out", nargs="?", default="results/summary.csv")
    sp.set_defaults(func=_cmd_summarize)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except Exception as err:  # one readable line for expected errors; tracebacks for bugs
        from dendritic.config import ConfigError
        from dendritic.datasets import DatasetError

        if isinstance(err, (ConfigError, DatasetError, ValueError)):
            print(f"error: {err}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
