"""The schedule of the experiment ``pruning`` (iterative magnitude pruning, IMP; Bain 2022,
arXiv 2209.04425, Alg. 1 and §3), torch-free: what the rule files plan at parse time and what the
trainer (:mod:`dendritic.pruning`), the verdict and the figure share.

Round 0 is the dense vANN(D, S). Round r + 1 removes, in every pruned layer, exactly
:func:`prune_count` ``= round(rate · alive)`` of the ``alive`` weights of round r (halves rounded
up), so every seed keeps the same number of weights per layer at every round
(:func:`layer_schedule`) and the fast engine can train the seeds of a cell as one batched model.
The remaining fraction after r rounds is then ≈ (1 - rate)^r: 30.1 % at r = 9 (Bain's "w30"),
3.1 % at r = 26 ("w3", 1/33).

**The dANN budget.** dANN-R(D, S) has (k + 1)·D·S = 17·D·S hidden weights (16 sampled inputs and
one soma weight per dendrite), vANN(D, S) (N + S)·D·S (N = 784 pixels); the output layer is dense
in both. The budget round (:func:`budget_round`) is the round whose hidden-weight count is nearest
17·D·S: 29 at S = 32 (2.08 %), 30 at S = 128 (1.86 %). By default the experiment runs up to the
first round at or below that budget (:func:`default_last_round`), which is the budget round itself
at the paper's sizes.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

from dendritic.wiring import INPUTS

#: Sampled inputs per dendrite of the dANNs (the paper, Methods): their hidden weights are (k+1)·D·S.
DANN_SYNAPSES = 16
#: The rounds of Bain's named tickets: w30 (30 % of the weights left) and w3 (3 %).
W30_ROUND, W3_ROUND = 9, 26
#: How a round is named in ``random_rounds`` / ``noise_rounds`` when it is the dANN budget round.
BUDGET = "budget"
#: No more rounds than this (0.875^200 leaves no weight of any house network).
MAX_ROUNDS = 200


def prune_count(alive: int, rate: float) -> int:
    """Weights one round removes from ``alive`` ones: ``round(rate · alive)``, halves rounded up."""
    return int(math.floor(float(rate) * int(alive) + 0.5))


def hidden_sizes(dataset: str, D: int, S: int) -> list[int]:
    """Weights of vANN(D, S)'s two hidden layers on ``dataset``: [N·D·S, D·S·S]."""
    (c, h, w), _ = INPUTS[dataset]
    return [c * h * w * D * S, D * S * S]


def prunable_sizes(dataset: str, D: int, S: int, prune_output: bool = False) -> list[int]:
    """Weights of the pruned layers: the two hidden ones, plus the output layer when pruned."""
    _, n_classes = INPUTS[dataset]
    return hidden_sizes(dataset, D, S) + ([S * n_classes] if prune_output else [])


def layer_schedule(sizes: Sequence[int], rounds: int, rate: float) -> list[list[int]]:
    """Alive weights per layer at rounds 0..``rounds`` of layer-wise pruning (round 0: ``sizes``)."""
    out = [[int(n) for n in sizes]]
    for _ in range(int(rounds)):
        out.append([a - prune_count(a, rate) for a in out[-1]])
    return out


def global_schedule(total: int, rounds: int, rate: float) -> list[int]:
    """Alive weights over all pruned layers at rounds 0..``rounds`` of global pruning."""
    out = [int(total)]
    for _ in range(int(rounds)):
        out.append(out[-1] - prune_count(out[-1], rate))
    return out


def dann_budget(D: int, S: int) -> int:
    """Hidden weights of dANN-R(D, S) on a one-channel image: (k + 1)·D·S."""
    return (DANN_SYNAPSES + 1) * D * S


def _hidden_alive(dataset: str, D: int, S: int, rate: float, rounds: int) -> list[int]:
    return [sum(a[:2]) for a in layer_schedule(hidden_sizes(dataset, D, S), rounds, rate)]


def default_last_round(dataset: str, D: int, S: int, rate: float) -> int:
    """The first round whose hidden weights are at or below the dANN budget."""
    alive = _hidden_alive(dataset, D, S, rate, MAX_ROUNDS)
    budget = dann_budget(D, S)
    return next((r for r, a in enumerate(alive) if a <= budget), MAX_ROUNDS)


def budget_round(dataset: str, D: int, S: int, rate: float) -> int:
    """The round whose hidden-weight count is nearest the dANN budget (the earlier one on a tie)."""
    last = default_last_round(dataset, D, S, rate)
    alive = _hidden_alive(dataset, D, S, rate, last)
    budget = dann_budget(D, S)
    return min(range(len(alive)), key=lambda r: (abs(alive[r] - budget), r))


def remaining_fraction(dataset: str, D: int, S: int, rate: float, r: int) -> float:
    """Fraction of vANN(D, S)'s hidden weights left after ``r`` rounds of layer-wise pruning."""
    return _hidden_alive(dataset, D, S, rate, r)[r] / sum(hidden_sizes(dataset, D, S))


def ticket_params(dataset: str, D: int, S: int, alive: Sequence[int]) -> int:
    """Closed-form trainable parameters of a ticket with ``alive`` weights per pruned layer (two
    hidden layers, then the output layer if it is pruned): weights left + the dense output layer
    (unless pruned) + every bias (D·S + S + classes). :meth:`DendriticNet.n_params` counts the same
    from the masks."""
    _, n_classes = INPUTS[dataset]
    alive = [int(a) for a in alive]
    output = alive[2] if len(alive) > 2 else S * n_classes
    return alive[0] + alive[1] + output + D * S + S + n_classes


# --------------------------------------------------------------------------------------------------
# the configuration (experiments.pruning; defaults from the schema)
# --------------------------------------------------------------------------------------------------
def pruning_cells(config: Mapping[str, Any]) -> list[tuple[str, int, int]]:
    """The (dataset, D, S) of the experiment ``pruning`` (one job each, all seeds), or []."""
    exp = (config.get("experiments") or {}).get("pruning")
    if not exp:
        return []
    return [(ds, int(d), int(s)) for ds in exp["datasets"] for d, s in exp["networks"]]


def last_round(exp: Mapping[str, Any], dataset: str, D: int, S: int) -> int:
    """The last round of a cell: ``rounds`` when set, else :func:`default_last_round`."""
    rounds = exp.get("rounds")
    return int(rounds) if rounds is not None else default_last_round(dataset, D, S, float(exp["rate"]))


def _resolve(rounds: Sequence[Any], exp: Mapping[str, Any], dataset: str, D: int, S: int) -> list[int]:
    """``rounds`` (integers and ``budget``) as sorted rounds within the cell's schedule."""
    last, bud = last_round(exp, dataset, D, S), budget_round(dataset, D, S, float(exp["rate"]))
    out = {bud if r == BUDGET else int(r) for r in rounds}
    return sorted(r for r in out if 0 <= r <= last)


def random_rounds(exp: Mapping[str, Any], dataset: str, D: int, S: int) -> list[int]:
    """Rounds that get a random ticket (config ``random_rounds``; round 0 is the dense net itself)."""
    return [r for r in _resolve(exp["random_rounds"], exp, dataset, D, S) if r > 0]


def noise_rounds(exp: Mapping[str, Any], dataset: str, D: int, S: int) -> list[int]:
    """Rounds whose IMP tickets are tested under test-time noise (config ``noise_rounds``)."""
    return _resolve(exp["noise_rounds"], exp, dataset, D, S)


def cell_name(D: int, S: int) -> str:
    """The folder of one (D, S) under ``results/pruning/{dataset}/vANN/``."""
    return f"D{int(D)}_S{int(S)}"


def round_dir(ticket: str, r: int) -> str:
    """The folder of one ticket in a cell's folder: ``round_09`` (IMP) or ``random_09``."""
    return f"{'round' if ticket == 'imp' else 'random'}_{int(r):02d}"
