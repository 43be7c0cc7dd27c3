"""The experiment ``pruning``: iterative magnitude pruning (IMP) of vANN(D, S) with rewinding
(Bain 2022, arXiv 2209.04425, Alg. 1, §3; Frankle & Carbin's lottery tickets), and its random-ticket
controls. The schedule (counts, budget round, configuration) is :mod:`dendritic.imp_schedule`.

One job (:func:`run_pruning`) = one (dataset, D, S) with all seeds:

1. round 0 trains the dense vANN(D, S) from θ₀, the house initialisation of its seed (Glorot-uniform
   weights, zero biases; the very θ₀ of the main experiment's vANN(D, S) of that seed), for the
   house protocol's epochs (Adam 1e-3, batch 128; :func:`dendritic.engine.train_replicas`);
2. round r + 1 removes from every pruned layer the ``round(rate · alive)`` alive weights of smallest
   magnitude in round r's *last-epoch* weights (:func:`prune_masks`; ties go to the lower flat index;
   ``scope: global`` ranks all pruned layers together), rewinds the survivors to θ₀ (or to θ_k, the
   dense weights after ``rewind_epoch`` = k epochs of round 0), biases included, and trains again
   with a fresh Adam;
3. a random ticket at each of ``random_rounds``: a uniformly random mask with the IMP ticket's
   per-layer counts (:func:`random_masks`, its own stream per seed and round) on the same θ₀.

Masks go through :class:`dendritic.models.MaskedLinear` (an F / dense layer with zeros in its mask
is gated) and the fast engine's :class:`~dendritic.engine.SparseLinear`; the seeds of a cell have
the same counts per layer (layer scope), so they train as one batched model.

Every ticket is kept: ``{cell}/round_{r:02d}/`` and ``{cell}/random_{r:02d}/`` hold ``metrics.csv``
(one row per seed, :data:`TICKET_COLUMNS`), ``history.csv``, ``weights.pt`` (the trained weights and
masks in the format of a training cell, read by :func:`dendritic.cells.load_run`) and
``ticket.json`` (the settings it was trained with). ``metrics.csv`` is written last and marks a
finished ticket. A rerun (a killed job) keeps every finished round whose settings match and starts
at the first one that is missing; ``tickets.csv`` (all rows) is the job's output, written last.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from dendritic import engine as fast
from dendritic import imp_schedule as sched
from dendritic import runio
from dendritic.cells import history_frame, load_run
from dendritic.config import Cell, cell_settings
from dendritic.datasets import DatasetError, load_prepared
from dendritic.models import DendriticNet, build_model
from dendritic.training import (
    RunResult,
    expand_state,
    load_weights,
    resolve_device,
    run_data,
    to_float,
    train_run,
)

log = logging.getLogger("dendritic.pruning")

#: Base of the random tickets' mask stream.
RANDOM_STREAM = 0x726E6474  # ASCII "rndt"
#: The model pruned (the paper's name).
MODEL = "vANN"

#: Columns of every ticket's metrics.csv, of tickets.csv and of ``results/pruning.csv``.
TICKET_COLUMNS = [
    "dataset",
    "model",
    "dendrites",
    "somata",
    "seed",
    "ticket",
    "round",
    "remaining",
    "hidden_weights",
    "dann_weights",
    "budget_round",
    "n_params",
    "test_loss",
    "test_acc",
    "epoch_min_val_loss",
    "epochs",
    "wall_s",
    "diverged",
    "rate",
    "scope",
    "rewind_epoch",
    "prune_output",
]


# --------------------------------------------------------------------------------------------------
# masks
# --------------------------------------------------------------------------------------------------
def _smallest(values: torch.Tensor, k: int) -> torch.Tensor:
    """Positions of the ``k`` smallest ``values``, ties to the lower position (a stable sort)."""
    return torch.sort(values, stable=True).indices[:k]


def prune_masks(
    weights: Sequence[torch.Tensor], masks: Sequence[torch.Tensor], rate: float, scope: str = "layer"
) -> list[torch.Tensor]:
    """The masks of the next round: ``layer`` scope removes :func:`~dendritic.imp_schedule.prune_count`
    ``(alive, rate)`` of each layer's alive weights, those of smallest |w| (ties: the lower flat
    index); ``global`` scope removes ``prune_count`` of all alive weights ranked together (ties: the
    earlier layer, then the lower index)."""
    flat = [m.flatten().bool() for m in masks]
    alive = [m.nonzero().squeeze(1) for m in flat]
    mags = [w.detach().flatten().abs().cpu()[a] for w, a in zip(weights, alive)]
    out = [m.clone() for m in flat]
    if scope == "layer":
        for o, a, v in zip(out, alive, mags):
            o[a[_smallest(v, sched.prune_count(len(a), rate))]] = False
    elif scope == "global":
        layer = torch.cat([torch.full((len(a),), i) for i, a in enumerate(alive)])
        drop = _smallest(torch.cat(mags), sched.prune_count(len(layer), rate))
        pos = torch.cat(alive)
        for i, o in enumerate(out):
            o[pos[drop[layer[drop] == i]]] = False
    else:
        raise ValueError(f"scope must be 'layer' or 'global', got {scope!r}")
    return [o.view(m.shape) for o, m in zip(out, masks)]


def random_masks(masks: Sequence[torch.Tensor], seed: int, r: int) -> list[torch.Tensor]:
    """Uniformly random masks with the per-layer counts of ``masks`` (the random ticket of round
    ``r`` of ``seed``: its own stream, ``SeedSequence([seed, RANDOM_STREAM, r])``, one child per layer)."""
    children = np.random.SeedSequence([int(seed), RANDOM_STREAM, int(r)]).spawn(len(masks))
    out = []
    for m, child in zip(masks, children):
        g = torch.Generator().manual_seed(int(child.generate_state(1, np.uint64)[0] >> np.uint64(1)))
        keep = torch.zeros(m.numel(), dtype=torch.bool)
        keep[torch.randperm(m.numel(), generator=g)[: int(m.sum())]] = True
        out.append(keep.view(m.shape))
    return out


def ticket_net(theta: Mapping[str, torch.Tensor], masks: Sequence[torch.Tensor], D: int, S: int, shape, n_classes):
    """vANN(D, S) with the weights ``theta`` (a dense state dict), gated by ``masks`` (one per pruned
    layer, in order): the survivors keep their values in ``theta``, the rest are zero."""
    full: list[Any] = [None] * 3
    for i, m in enumerate(masks):
        full[i] = m.cpu().numpy()
    net = DendriticNet(MODEL, shape, n_classes, D, S, masks=full)
    net.load_state_dict({k: v for k, v in theta.items() if not k.endswith(".mask")}, strict=False)
    for layer in net.layers:
        layer.apply_mask_()
    return net


def net_masks(net: DendriticNet, n_pruned: int) -> list[torch.Tensor]:
    """The masks of the first ``n_pruned`` layers (all ones for a dense layer)."""
    return [
        layer.mask.clone() if layer.mask is not None else torch.ones_like(layer.weight, dtype=torch.bool)
        for layer in list(net.layers)[:n_pruned]
    ]


# --------------------------------------------------------------------------------------------------
# training the tickets of one round
# --------------------------------------------------------------------------------------------------
#: A pruned layer denser than this trains as a masked dense layer (:class:`MaskedDenseLinear`),
#: sparser ones as the engine's CSR :class:`~dendritic.engine.SparseLinear` (measured:
#: docs/neighbours/imp.md: at vANN(2, 128) CSR is 2.6x faster at 10 % density and even at 30 %).
DENSE_ABOVE = 0.5


class MaskedDenseLinear(fast.DenseLinear):
    """The engine's batched dense layer with one fixed mask per replica: weights (R, out, in) zero
    where the mask is off, their gradients multiplied by the mask (so Adam keeps them zero, as
    :class:`~dendritic.models.MaskedLinear` does)."""

    def __init__(self, linears: Sequence[torch.nn.Linear]):
        super().__init__(linears)
        self.register_buffer("mask", torch.stack([lin.mask for lin in linears]))
        self.weight.register_hook(lambda grad: grad * self.mask)

    def export(self, r: int):
        return self.weight[r].detach().clone(), self.bias[r, :, 0].detach().clone(), self.mask[r].clone()


def fast_net(nets: Sequence[DendriticNet], dense_above: float = DENSE_ABOVE) -> fast.FastNet:
    """The seeds' tickets as one :class:`~dendritic.engine.FastNet`, every masked layer denser than
    ``dense_above`` as a :class:`MaskedDenseLinear` (the same function; faster there)."""
    net = fast.FastNet(nets)
    for i, layer in enumerate(net.layers):
        mask = nets[0].layers[i].mask
        if isinstance(layer, fast.SparseLinear) and mask is not None and float(mask.float().mean()) > dense_above:
            net.layers[i] = MaskedDenseLinear([n.layers[i] for n in nets])
    return net


def train_tickets(
    nets: Sequence[DendriticNet], cell: Cell, data: Mapping[str, torch.Tensor], device
) -> list[RunResult]:
    """Train one ticket per seed of ``cell`` (``nets[i]`` is seed ``cell.seeds[i]``) with the
    cell's protocol: the fast engine with the seeds of equal per-layer counts batched, or the
    reference loop one seed at a time (``cell.engine``)."""
    results: dict[int, RunResult] = {}
    if cell.engine == "reference":
        for seed, net in zip(cell.seeds, nets):
            rd = run_data(data["x_train"], data["y_train"], data["x_test"], data["y_test"], cell, seed)
            results[seed] = train_run(net.to(device), rd, cell, seed)
        return [results[s] for s in cell.seeds]
    groups: dict[tuple, list[int]] = {}
    for i, net in enumerate(nets):
        key = tuple(-1 if m is None else int(m.sum()) for m in net.masks)
        groups.setdefault(key, []).append(i)
    for idx in groups.values():
        seeds = [cell.seeds[i] for i in idx]
        net = fast_net([nets[i] for i in idx]).to(device)
        rd = fast.replica_data(data["x_train"], data["y_train"], data["x_test"], data["y_test"], cell, seeds)
        for seed, res in zip(seeds, fast.train_replicas(net, rd, cell, seeds)):
            results[seed] = res
        del net, rd
    return [results[s] for s in cell.seeds]


def ticket_rows(cell: Cell, results, masks_by_seed, ticket: str, r: int, exp: Mapping[str, Any]) -> pd.DataFrame:
    """The metrics.csv rows of one ticket (:data:`TICKET_COLUMNS`)."""
    sizes = sched.prunable_sizes(cell.dataset, cell.dendrites, cell.somata, bool(exp["prune_output"]))
    rows = []
    for res in results:
        alive = [int(m.sum()) for m in masks_by_seed[res.seed]]
        rows.append(
            dict(
                dataset=cell.dataset,
                model=MODEL,
                dendrites=cell.dendrites,
                somata=cell.somata,
                seed=res.seed,
                ticket=ticket,
                round=r,
                remaining=sum(alive) / sum(sizes),
                hidden_weights=sum(alive[:2]),
                dann_weights=sched.dann_budget(cell.dendrites, cell.somata),
                budget_round=sched.budget_round(cell.dataset, cell.dendrites, cell.somata, float(exp["rate"])),
                n_params=res.n_params,
                test_loss=res.test_loss,
                test_acc=res.test_acc,
                epoch_min_val_loss=res.epoch_min_val_loss,
                epochs=res.epochs_run,
                wall_s=round(res.wall_s, 3),
                diverged=res.diverged,
                rate=float(exp["rate"]),
                scope=exp["scope"],
                rewind_epoch=int(exp["rewind_epoch"]),
                prune_output=bool(exp["prune_output"]),
            )
        )
    return pd.DataFrame(rows, columns=TICKET_COLUMNS)


def _finished(folder: Path, settings: Mapping[str, Any]) -> bool:
    """Whether ``folder`` holds a finished ticket trained with ``settings``."""
    try:
        return (folder / "metrics.csv").is_file() and json.loads((folder / "ticket.json").read_text()) == settings
    except (OSError, ValueError):
        return False


def save_ticket(folder: Path, cell: Cell, results, rows: pd.DataFrame, settings, ticket: str, r: int) -> None:
    """A ticket's files, atomically, ``metrics.csv`` last (the completion marker)."""
    (folder / "metrics.csv").unlink(missing_ok=True)
    runio.write_atomic(folder / "history.csv", lambda p: history_frame(results).to_csv(p, index=False))
    saved = {"cell": {**cell.to_dict(), "ticket": ticket, "round": r}, "runs": {x.seed: x.state for x in results}}
    runio.write_atomic(folder / "weights.pt", lambda p: torch.save(saved, p))
    runio.write_json(folder / "ticket.json", dict(settings))
    runio.write_atomic(folder / "metrics.csv", lambda p: rows.to_csv(p, index=False))


def _load_masks(folder: Path, seeds, n_pruned: int, shape, n_classes) -> dict[int, list[torch.Tensor]]:
    return {s: net_masks(load_run(folder / "weights.pt", s, shape, n_classes), n_pruned) for s in seeds}


def _final_weights(folder: Path, seeds, n_pruned: int) -> dict[int, list[torch.Tensor]]:
    """The trained weights of the pruned layers of each seed of a finished ticket (one read)."""
    runs = load_weights(folder / "weights.pt")["runs"]
    states = {s: expand_state(runs[s]) for s in seeds}
    return {s: [states[s][f"layers.{i}.weight"] for i in range(n_pruned)] for s in seeds}


# --------------------------------------------------------------------------------------------------
# one job
# --------------------------------------------------------------------------------------------------
def pruning_cell(config: Mapping[str, Any], dataset: str, D: int, S: int) -> Cell:
    """The training cell of every round of (dataset, D, S): vANN(D, S) with the house settings."""
    return Cell(
        experiment="pruning", dataset=dataset, model=MODEL, dendrites=D, somata=S, **cell_settings(config, dataset)
    )


def run_pruning(
    config: Mapping[str, Any],
    dataset: str,
    D: int,
    S: int,
    data_path: str | Path,
    out_path: str | Path,
    device: str = "auto",
    threads: int | None = None,
    data_sha256: str | None = None,
) -> pd.DataFrame:
    """One Snakemake job: :func:`prune_cell` of (dataset, D, S) on the prepared dataset at
    ``data_path``, in the folder of ``out_path`` (``tickets.csv``), holding the folder's lock."""
    if threads:
        torch.set_num_threads(int(threads))
    out = Path(out_path).parent
    with runio.cell_lock(out):
        runio.remove_stale_temp_files(out)
        prepared = load_prepared(data_path)
        checksum = prepared.meta.get("content_sha256")
        if data_sha256 is not None and checksum != data_sha256:
            raise DatasetError(f"{data_path} changed after the workflow planned this job: run the workflow again.")
        return prune_cell(config, dataset, D, S, prepared, out_path, device)


def prune_cell(
    config: Mapping[str, Any],
    dataset: str,
    D: int,
    S: int,
    prepared,
    out_path: str | Path,
    device: str = "auto",
    stop_after: int | None = None,
) -> pd.DataFrame:
    """Train every IMP round of (dataset, D, S) up to its last round, then the random tickets, in
    the folder of ``out_path``; keep every finished round whose settings match (a rerun resumes at
    the first missing one) and write all rows to ``out_path`` (``tickets.csv``) last. Returns the
    table. ``stop_after``: stop after that IMP round without writing ``out_path`` (a killed job, for
    the resumption tests)."""
    exp = config["experiments"]["pruning"]
    cell = pruning_cell(config, dataset, D, S)
    dev = resolve_device(device) if isinstance(device, str) else device
    out = Path(out_path).parent
    n_pruned = 3 if exp["prune_output"] else 2
    last, rate = sched.last_round(exp, dataset, D, S), float(exp["rate"])
    shape, n_classes = tuple(prepared.image_shape), prepared.n_classes
    data = dict(
        x_train=to_float(prepared.x_train, dev),
        y_train=prepared.y_train.to(dev),
        x_test=to_float(prepared.x_test, dev),
        y_test=prepared.y_test.to(dev),
    )
    settings = dict(
        {k: v for k, v in cell.to_dict().items() if k != "engine"},
        rate=rate,
        scope=exp["scope"],
        prune_output=bool(exp["prune_output"]),
        rewind_epoch=int(exp["rewind_epoch"]),
        data=prepared.meta.get("content_sha256"),
    )
    theta = _rewind_states(cell, exp, out, settings, data, dev, shape, n_classes)
    frames, valid = [], True
    masks: dict[int, list[torch.Tensor]] | None = None
    for r in range(last + 1):
        folder = out / sched.round_dir("imp", r)
        valid = valid and _finished(folder, settings)
        if valid:
            log.info("round %d: finished earlier, kept", r)
            masks = None
            frames.append(pd.read_csv(folder / "metrics.csv"))
            continue
        if r == 0:
            masks = {s: net_masks(build_model(MODEL, shape, n_classes, D, S, seed=s), n_pruned) for s in cell.seeds}
        else:
            prev = out / sched.round_dir("imp", r - 1)
            if masks is None:
                masks = _load_masks(prev, cell.seeds, n_pruned, shape, n_classes)
            final = _final_weights(prev, cell.seeds, n_pruned)
            masks = {s: prune_masks(final[s], masks[s], rate, exp["scope"]) for s in cell.seeds}
        frames.append(_train_and_save(cell, theta, masks, "imp", r, exp, settings, folder, data, dev, shape, n_classes))
        if stop_after is not None and r >= stop_after:
            return pd.concat(frames, ignore_index=True)
    for r in sched.random_rounds(exp, dataset, D, S):
        folder = out / sched.round_dir("random", r)
        if _finished(folder, settings):
            frames.append(pd.read_csv(folder / "metrics.csv"))
            continue
        imp = _load_masks(out / sched.round_dir("imp", r), cell.seeds, n_pruned, shape, n_classes)
        rnd = {s: random_masks(imp[s], s, r) for s in cell.seeds}
        frames.append(
            _train_and_save(cell, theta, rnd, "random", r, exp, settings, folder, data, dev, shape, n_classes)
        )
    table = pd.concat(frames, ignore_index=True)[TICKET_COLUMNS]
    runio.write_atomic(out_path, lambda p: table.to_csv(p, index=False))
    return table


def _train_and_save(cell, theta, masks, ticket, r, exp, settings, folder, data, dev, shape, n_classes) -> pd.DataFrame:
    nets = [ticket_net(theta[s], masks[s], cell.dendrites, cell.somata, shape, n_classes) for s in cell.seeds]
    log.info(
        "%s ticket, round %d: %s weights alive per pruned layer",
        ticket,
        r,
        [int(m.sum()) for m in masks[cell.seeds[0]]],
    )
    results = train_tickets(nets, cell, data, dev)
    rows = ticket_rows(cell, results, masks, ticket, r, exp)
    save_ticket(folder, cell, results, rows, settings, ticket, r)
    log.info("%s round %d: test acc %s", ticket, r, " ".join(f"{a:.4f}" for a in rows["test_acc"]))
    return rows


def _rewind_states(cell, exp, out: Path, settings, data, dev, shape, n_classes) -> dict[int, dict[str, torch.Tensor]]:
    """θ₀ of every seed (the house initialisation), or θ_k, the dense weights after ``rewind_epoch`` = k
    epochs of round 0's training (the same streams, so the same weights; kept in ``rewind.pt``)."""
    D, S, k = cell.dendrites, cell.somata, int(exp["rewind_epoch"])
    theta0 = {s: build_model(MODEL, shape, n_classes, D, S, seed=s).state_dict() for s in cell.seeds}
    if k == 0:
        return theta0
    path = out / "rewind.pt"
    if path.is_file() and (out / "rewind.json").is_file() and json.loads((out / "rewind.json").read_text()) == settings:
        saved = torch.load(path, map_location="cpu", weights_only=True)
        return {int(s): expand_state(v) for s, v in saved.items()}
    short = replace(cell, epochs=k)
    nets = [build_model(MODEL, shape, n_classes, D, S, seed=s) for s in cell.seeds]
    results = train_tickets(nets, short, data, dev)
    states = {res.seed: res.state for res in results}
    runio.write_atomic(path, lambda p: torch.save(states, p))
    runio.write_json(out / "rewind.json", dict(settings))
    return {s: expand_state(v) for s, v in states.items()}


# --------------------------------------------------------------------------------------------------
# the tickets under test-time noise
# --------------------------------------------------------------------------------------------------
NOISE_COLUMNS = [
    "dataset",
    "model",
    "dendrites",
    "somata",
    "seed",
    "ticket",
    "round",
    "remaining",
    "n_params",
    "kind",
    "sigma",
    "q",
    "test_loss",
    "test_acc",
    "diverged",
]


def pruning_noise_frame(
    config: Mapping[str, Any], dataset: str, D: int, S: int, cell_dir: str | Path, prepared, device="cpu"
) -> pd.DataFrame:
    """The IMP tickets of ``noise_rounds`` and every random ticket of (dataset, D, S) tested under
    Gaussian (``analysis.test_noise.sigmas``) and salt noise (q = 0 and ``salt_fractions``) with
    :func:`dendritic.test_noise.test_noise_frame` (:data:`NOISE_COLUMNS`)."""
    from dendritic.test_noise import test_noise_frame

    exp, tn = config["experiments"]["pruning"], config["analysis"]["test_noise"]
    cell_dir = Path(cell_dir)
    tickets = [("imp", r) for r in sched.noise_rounds(exp, dataset, D, S)]
    tickets += [("random", r) for r in sched.random_rounds(exp, dataset, D, S)]
    frames = []
    for ticket, r in tickets:
        folder = cell_dir / sched.round_dir(ticket, r)
        df = test_noise_frame(
            [folder / "weights.pt"],
            prepared,
            tn["sigmas"],
            device=device,
            experiment="pruning",
            kinds=("gaussian", "salt"),
            salt_fractions=tn["salt_fractions"],
        )
        meta = pd.read_csv(folder / "metrics.csv")[["seed", "remaining"]]
        frames.append(df.assign(ticket=ticket, round=r).merge(meta, on="seed", how="left"))
    return pd.concat(frames, ignore_index=True)[NOISE_COLUMNS] if frames else pd.DataFrame(columns=NOISE_COLUMNS)


def run_pruning_noise(config, dataset, D, S, tickets_path, data_path, out_path, device="cpu", threads=None):
    """One Snakemake job: :func:`pruning_noise_frame` of the cell of ``tickets_path``, to ``out_path``."""
    from dendritic.best_models import set_threads, write_table

    set_threads(threads)
    df = pruning_noise_frame(config, dataset, D, S, Path(tickets_path).parent, load_prepared(data_path), device)
    write_table(df, out_path)
    return df
