"""Speed of the training engine (dendritic.engine) against a textbook PyTorch loop; issue #4.

    .venv/bin/python benchmarks/bench_engine.py             # the table, ~6 min on 2 cores
    .venv/bin/python benchmarks/bench_engine.py --threads 1 # the same, one thread, CPU-time timer
    .venv/bin/python benchmarks/bench_engine.py --quick     # fewer batches, ~2 min
    .venv/bin/python benchmarks/bench_engine.py --project   # epoch times → wall time of the main grid
    .venv/bin/python benchmarks/bench_engine.py --batching  # CPU: 5 seeds batched vs one by one

Results and their reading: benchmarks/README.md.

Table mode: for each model and size, the same model (masks and initial weights of seed 0) is trained
for the same number of Fashion-MNIST batches of 128

(a) by this project's engine: images held as one float tensor, batches gathered by index, the
    sparse / per-soma layers of dendritic.engine, fused Adam (``engine.run_batches``, the loop
    ``train_replicas`` runs); and, for the small and mid sizes, 5 seeds at once as one batched
    model (samples of all 5 counted);
(b) by a textbook loop written here: ``nn.Linear`` layers with the masks applied to the weights
    (at init) and to the gradients (hooks), torchvision's ``FashionMNIST`` with ``ToTensor`` per
    sample through a ``DataLoader`` (batch 128, shuffle), ``torch.optim.Adam``.

and samples/s of each and their ratio are printed. Then the dense vANN training step's achieved
GFLOP/s is compared with plain ``torch.matmul`` calls of the same shapes.

Project mode: time one optimisation step (and one validation pass) of every cost class of model at
all 35 sizes of the main grid with 1 thread (as a Snakemake ``train`` job runs), seeds batched as
``cells.default_replicas`` decides, and extrapolate to 12 models × 35 sizes × 5 seeds × 25 epochs.
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from dendritic import engine  # noqa: E402
from dendritic.cells import default_replicas  # noqa: E402
from dendritic.config import Cell  # noqa: E402
from dendritic.datasets import load_prepared, prepare  # noqa: E402
from dendritic.models import MODEL_NAMES, build_model  # noqa: E402
from dendritic.training import batch_slices, evaluate, generator, to_float  # noqa: E402

MIRROR = Path("/usr/share/datasets/fashion-mnist")
DATA = ROOT / "resources" / "data"
MODELS = ("dANN-R", "dANN-LRF", "pdANN", "vANN", "sANN")
SIZES = ((1, 32), (8, 128), (64, 512))
BATCH = 128
#: batches timed per size (full run, --quick); the same number for engine and textbook. Each
#: rate is the best of REPS such runs (the machine is shared: the best run is the one least
#: disturbed by other processes; a 2-thread run loses badly whenever one core is taken).
BATCHES = {(1, 32): (100, 40), (8, 128): (50, 20), (64, 512): (8, 2)}
REPS = {(1, 32): 5, (8, 128): 5, (64, 512): 3}
REPLICAS = 5  # seeds of a cell


def fmnist():
    """The prepared Fashion-MNIST, plus its float images (``xf_train``, ``xf_test``) as the
    engine holds them."""
    path = DATA / "fmnist.pt"
    if not path.exists():
        prepare("fmnist", path, raw_dir=DATA / "raw" / "fmnist", mirrors=[MIRROR], download=False)
    data = load_prepared(path)
    data.xf_train = to_float(data.x_train, torch.device("cpu"))
    data.xf_test = to_float(data.x_test, torch.device("cpu"))
    return data


def torchvision_root() -> Path:
    """A torchvision root with FashionMNIST/raw/ holding the decompressed IDX files."""
    root = DATA / "torchvision"
    raw = root / "FashionMNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for name in (
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ):
        if not (raw / name).exists():
            with gzip.open(MIRROR / f"{name}.gz") as src, open(raw / f"{name}.tmp", "wb") as dst:
                shutil.copyfileobj(src, dst)
            os.replace(raw / f"{name}.tmp", raw / name)
    return root


def cell_of(model: str, D: int, S: int, seeds=(0,)) -> Cell:
    return Cell(
        experiment="main", dataset="fmnist", model=model, dendrites=D, somata=S, epochs=1, lr=1e-3, seeds=tuple(seeds)
    )


# --------------------------------------------------------------------------------------------
# (a) the engine
# --------------------------------------------------------------------------------------------


class EngineRun:
    """A FastNet of ``replicas`` seeds with its data and optimiser, ready to run batches."""

    def __init__(self, data, model: str, D: int, S: int, replicas: int = 1):
        seeds = tuple(range(replicas))
        self.cell = cell_of(model, D, S, seeds)
        self.net = engine.FastNet([build_model(model, (1, 28, 28), 10, D, S, seed=s) for s in seeds])
        self.data = engine.replica_data(data.xf_train, data.y_train, data.xf_test, data.y_test, self.cell, seeds)
        self.opt = engine.make_optimizer(self.net, 1e-3)
        n = self.data.train.shape[1]
        gens = [generator(s, "batches") for s in seeds]
        self.order = torch.stack([self.data.train[r][torch.randperm(n, generator=g)] for r, g in enumerate(gens)])
        self.slices = batch_slices(n, BATCH)
        self.done = 0

    def batches(self, k: int, clock=time.perf_counter) -> float:
        """Run the next k batches; seconds taken (one host sync at the end, as per epoch)."""
        sl = [self.slices[(self.done + i) % len(self.slices)] for i in range(k)]  # epochs wrap
        self.done += k
        t0 = clock()
        loss, _ = engine.run_batches(self.net, self.opt, self.data.x, self.data.y, self.order, sl)
        loss.tolist()
        return clock() - t0

    def validation(self, clock=time.perf_counter, fraction: float = 1.0) -> float:
        """Seconds of one validation pass (timed on ``fraction`` of the rows, scaled up)."""
        rows = self.data.val[:, : max(1, int(fraction * self.data.val.shape[1]))]
        t0 = clock()
        engine.evaluate_replicas(self.net, self.data.x, rows, self.data.y)
        return (clock() - t0) * self.data.val.shape[1] / rows.shape[1]


def clock():
    """The timer: with one thread the CPU time of this process (= the wall time on a free core,
    and not inflated when other processes share the machine); with more, the wall time."""
    return time.process_time() if torch.get_num_threads() == 1 else time.perf_counter()


def engine_rate(data, model, D, S, n, replicas=1, reps=3) -> float:
    """Samples/s (all replicas' samples counted): the best of ``reps`` runs of n batches."""
    run = EngineRun(data, model, D, S, replicas)
    run.batches(2)  # warm-up
    return max(replicas * BATCH * n / run.batches(n, clock) for _ in range(reps))


# --------------------------------------------------------------------------------------------
# (b) the textbook loop
# --------------------------------------------------------------------------------------------


def textbook_model(model: str, D: int, S: int):
    """nn.Sequential of nn.Linear + LeakyReLU(0.1) with the masks and initial weights of seed 0;
    masked weights zeroed, gradients masked by hooks."""
    ref = build_model(model, (1, 28, 28), 10, D, S, seed=0)
    mods = []
    for i, layer in enumerate(ref.layers):
        lin = nn.Linear(layer.in_features, layer.out_features)
        with torch.no_grad():
            lin.weight.copy_(layer.weight)
            lin.bias.copy_(layer.bias)
        if layer.mask is not None:
            mask = layer.mask.float()
            with torch.no_grad():
                lin.weight.mul_(mask)
            lin.weight.register_hook(lambda g, m=mask: g * m)
        mods.append(lin)
        if i < len(ref.layers) - 1:
            mods.append(nn.LeakyReLU(0.1))
    return nn.Sequential(*mods)


def textbook_rate(root: Path, model, D, S, n, reps=3) -> float:
    """Samples/s of the textbook loop: the best of ``reps`` runs of n batches."""
    tv = torchvision_module()
    net = textbook_model(model, D, S)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)
    ds = tv.datasets.FashionMNIST(str(root), train=True, download=False, transform=tv.transforms.ToTensor())
    loader = torch.utils.data.DataLoader(ds, batch_size=BATCH, shuffle=True, generator=torch.Generator().manual_seed(0))
    it = iter(loader)

    def step():
        nonlocal it
        try:
            x, y = next(it)
        except StopIteration:  # next epoch
            it = iter(loader)
            x, y = next(it)
        loss = F.cross_entropy(net(x.view(len(x), -1)), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    for _ in range(2):  # warm-up
        step()
    best = 0.0
    for _ in range(reps):
        t0 = clock()
        for _ in range(n):
            step()
        best = max(best, BATCH * n / (clock() - t0))
    return best


def torchvision_module():
    from dendritic.tvcompat import import_torchvision

    return import_torchvision()


# --------------------------------------------------------------------------------------------
# GFLOP/s of the dense step
# --------------------------------------------------------------------------------------------


def dense_flops(D: int, S: int) -> float:
    """FLOPs of one vANN training step: per layer 2·B·in·out forward and for the weight gradient,
    and for the input gradient except at the first layer."""
    sizes = [784, D * S, S, 10]
    return sum(2 * BATCH * a * b * (2 if i == 0 else 3) for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])))


def matmul_gflops(D: int, S: int, seconds: float = 1.0) -> float:
    """GFLOP/s of plain torch.matmul calls with the shapes of one vANN training step."""
    sizes = [784, D * S, S, 10]
    ops = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        x, w, g = torch.rand(BATCH, a), torch.rand(b, a), torch.rand(BATCH, b)
        ops.append((x, w.t()))  # forward (B, a) @ (a, b)
        ops.append((g.t(), x))  # weight gradient (b, B) @ (B, a)
        if i:
            ops.append((g, w))  # input gradient (B, b) @ (b, a)
    for a, b in ops:
        torch.matmul(a, b)
    best = 0.0
    for _ in range(3):  # the best of 3 timings, as for the training rates
        k, t0 = 0, clock()
        while clock() - t0 < seconds / 3 or k < 3:
            for a, b in ops:
                torch.matmul(a, b)
            k += 1
        best = max(best, dense_flops(D, S) * k / (clock() - t0) / 1e9)
    return best


# --------------------------------------------------------------------------------------------
# main modes
# --------------------------------------------------------------------------------------------


def machine() -> str:
    la = os.getloadavg()
    return (
        f"{os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"load average {la[0]:.2f} / {la[1]:.2f} / {la[2]:.2f}"
    )


def table(quick: bool, models, sizes) -> None:
    data = fmnist()
    root = torchvision_root()
    engine_rate(data, "sANN", 8, 128, 30, reps=1)  # warm-up: thread pools, MKL, the data's pages
    textbook_rate(root, "dANN-R", 8, 128, 5, reps=1)
    print(f"# machine: {machine()}")
    print(
        f"# timer: {'CPU time of this process' if torch.get_num_threads() == 1 else 'wall time'}; "
        "each rate the best of several runs"
    )
    print(
        "| model | D | S | batches | engine samples/s | engine, 5 seeds batched | textbook samples/s "
        "| engine / textbook | batched / textbook |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    dense_step = {}
    for D, S in sizes:
        n, reps = BATCHES[(D, S)][1 if quick else 0], REPS[(D, S)]
        for model in models:
            fast = engine_rate(data, model, D, S, n, reps=reps)
            batched = engine_rate(data, model, D, S, n, REPLICAS, reps) if D * S <= 1024 else None
            book = textbook_rate(root, model, D, S, n, reps)
            if model == "vANN":
                dense_step[(D, S)] = fast
            b_txt = f"{batched:,.0f}" if batched else "—"
            r_txt = f"{batched / book:.1f}×" if batched else "—"
            print(
                f"| {model} | {D} | {S} | {n} | {fast:,.0f} | {b_txt} | {book:,.0f} | {fast / book:.1f}× | {r_txt} |",
                flush=True,
            )
    if dense_step:
        print()
        print("| vANN size | engine step GFLOP/s | plain matmul GFLOP/s | engine / matmul |")
        print("|---|---|---|---|")
        for (D, S), rate in dense_step.items():
            achieved = dense_flops(D, S) * rate / BATCH / 1e9
            plain = matmul_gflops(D, S)
            print(f"| D={D}, S={S} | {achieved:.1f} | {plain:.1f} | {achieved / plain:.2f} |", flush=True)
    print(f"\n# machine at the end: {machine()}")


#: One model per cost class: the engine's cost depends only on the layer types.
COST_CLASSES = {
    "dANN-R": ("dANN-R", "dANN-LRF", "dANN-GRF"),  # sparse input, per-soma sums
    "sANN": ("sANN", "sANN-LRF", "sANN-GRF"),  # sparse input, random sparse somata
    "vANN-R": ("vANN-R", "vANN-LRF", "vANN-GRF"),  # sparse input, dense somata
    "pdANN": ("pdANN",),  # dense input, per-soma sums
    "psANN": ("psANN",),  # dense input, random sparse somata
    "vANN": ("vANN",),  # dense, dense
}
GRID_D = (1, 2, 4, 8, 16, 32, 64)
GRID_S = (32, 64, 128, 256, 512)


def project(seconds: float) -> None:
    """Per cost class and size: seconds per epoch of one seed (1 thread, seeds batched as the
    default says), extrapolated to the main Fashion-MNIST grid.

    Times are CPU seconds of this process (``time.process_time``): with one thread that is the
    wall time the step takes on a free core, and it is not inflated by other processes sharing the
    machine (memory-bandwidth contention still is). An epoch = 422 batches + one validation pass;
    a run adds the model's construction and the test evaluation (in the reference form, timed on
    2,048 test images and scaled; the validation pass is timed on a quarter of its rows).
    """
    assert sorted(m for ms in COST_CLASSES.values() for m in ms) == sorted(MODEL_NAMES)
    torch.set_num_threads(1)
    clock = time.process_time
    data = fmnist()
    seeds, epochs = 5, 25
    n_batches = -(-54_000 // BATCH)
    xt, yt = data.xf_test[:2048], data.y_test[:2048]
    print(f"# machine: {machine()}")
    print("seconds per epoch and seed (1 thread; `×5`: the 5 seeds trained batched)\n")
    print("| class (models) | D | " + " | ".join(f"S={S}" for S in GRID_S) + " |")
    print("|---|---|" + "---|" * len(GRID_S))
    total, total_train = 0.0, 0.0
    for cls, members in COST_CLASSES.items():
        for D in GRID_D:
            cells = []
            for S in GRID_S:
                R = default_replicas(cell_of(cls, D, S, range(seeds)), (1, 28, 28), 10, torch.device("cpu"))
                t0 = clock()
                run = EngineRun(data, cls, D, S, R)
                build = (clock() - t0) / R
                run.batches(1)
                k, t = 0, 0.0
                while (t < seconds or k < 3) and k < 100:
                    t += run.batches(2, clock)
                    k += 2
                epoch = (n_batches * t / k + run.validation(clock, 0.25)) / R  # per seed
                t0 = clock()
                evaluate(run.net.to_dendritic_net(0), xt, yt)
                test = (clock() - t0) * len(data.y_test) / len(yt)
                cells.append(f"{epoch:.2f}" + (" ×5" if R > 1 else ""))
                total += len(members) * seeds * (epochs * epoch + build + test)
                total_train += len(members) * seeds * epochs * epoch
                del run
            name = f"{cls} ({', '.join(members)})" if D == GRID_D[0] else ""
            print(f"| {name} | {D} | " + " | ".join(cells) + " |", flush=True)
    print(
        f"\nprojected main FMNIST grid (12 models × 35 sizes × {seeds} seeds × {epochs} epochs): "
        f"{total / 3600:.1f} h of 1-thread work ({total_train / 3600:.1f} h of it in epochs), "
        f"= {total / 3600 / 2:.1f} h wall on 2 cores running 2 jobs at once, if they do not slow "
        "each other down"
    )
    print(f"# machine at the end: {machine()}")


def batching(seconds: float) -> None:
    """CPU, 1 thread: time per batch and seed of one seed alone vs 5 seeds batched, across model
    classes and sizes (the measurement behind ``cells.default_replicas``)."""
    torch.set_num_threads(1)
    data = fmnist()
    print(f"# machine: {machine()}")
    print(
        "| model | D | S | parameters | 1 seed: ms per batch | 5 seeds batched: ms per batch and seed "
        "| gain | default |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for model in ("dANN-R", "sANN", "vANN-R", "pdANN", "vANN"):
        for D, S in ((1, 32), (4, 64), (8, 128), (2, 512), (16, 128), (16, 256), (64, 64), (32, 256)):
            per_seed = []
            for R in (1, REPLICAS):
                run = EngineRun(data, model, D, S, R)
                run.batches(2)
                k, t = 0, 0.0
                while (t < seconds or k < 6) and k < 200:
                    t += run.batches(2, time.process_time)
                    k += 2
                per_seed.append(t / k / R)
                params = run.net.n_params()
                del run
            default = default_replicas(cell_of(model, D, S, range(REPLICAS)), (1, 28, 28), 10, torch.device("cpu"))
            print(
                f"| {model} | {D} | {S} | {params:,} | {per_seed[0] * 1e3:.2f} | {per_seed[1] * 1e3:.2f} "
                f"| {per_seed[0] / per_seed[1]:.2f} | {'batched' if default > 1 else 'one by one'} |",
                flush=True,
            )
    print(f"# machine at the end: {machine()}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="fewer batches per size")
    p.add_argument("--project", action="store_true", help="epoch times and the main grid's wall time")
    p.add_argument("--batching", action="store_true", help="CPU: 5 seeds batched vs one by one")
    p.add_argument("--seconds", type=float, default=1.0, help="--project: timing per configuration")
    p.add_argument("--models", nargs="+", default=list(MODELS))
    p.add_argument(
        "--sizes",
        nargs="+",
        default=[f"{D}x{S}" for D, S in SIZES],
        choices=[f"{D}x{S}" for D, S in SIZES],
        help="table sizes, DxS",
    )
    p.add_argument("--threads", type=int, help="torch threads (default: torch's, = cores)")
    a = p.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    if a.project:
        project(a.seconds)
    elif a.batching:
        batching(a.seconds)
    else:
        table(a.quick, a.models, [tuple(map(int, x.split("x"))) for x in a.sizes])
    return 0


if __name__ == "__main__":
    sys.exit(main())
