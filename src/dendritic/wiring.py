"""The paper's twelve models as a table of connectivity kinds, and their closed-form parameter
count (paper, Methods; Table 1 counts trainable parameters). Free of torch and numpy, so that the
workflow can plan parameter budgets whenever Snakemake parses it; :mod:`dendritic.models` builds
the networks from this table.
"""

from __future__ import annotations

from typing import NamedTuple


class Wiring(NamedTuple):
    sampling: str  # input → dendrites: "R", "LRF", "GRF" or "F"
    somata: str  # dendrites → somata: "structured", "dense" or "random"


MODEL_SPECS: dict[str, Wiring] = {
    "dANN-R": Wiring("R", "structured"),
    "dANN-LRF": Wiring("LRF", "structured"),
    "dANN-GRF": Wiring("GRF", "structured"),
    "pdANN": Wiring("F", "structured"),
    "vANN": Wiring("F", "dense"),
    "vANN-R": Wiring("R", "dense"),
    "vANN-LRF": Wiring("LRF", "dense"),
    "vANN-GRF": Wiring("GRF", "dense"),
    "sANN": Wiring("R", "random"),
    "sANN-LRF": Wiring("LRF", "random"),
    "sANN-GRF": Wiring("GRF", "random"),
    "psANN": Wiring("F", "random"),
}
MODEL_NAMES: tuple[str, ...] = tuple(MODEL_SPECS)


def model_spec(name: str) -> Wiring:
    """The (input sampling, soma wiring) of a model; ``ValueError`` listing the names if unknown."""
    try:
        return MODEL_SPECS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; valid names: {', '.join(MODEL_NAMES)}") from None


def model_label(name: str, dropout: float | None = 0.0) -> str:
    """The label the paper writes a model with: its name, with the dropout rate appended when
    there is one ("vANN-0.2"). The one label function: configurations (``Cell.label``, the
    ``label`` column of ``summary.csv``), networks and figures all use it."""
    model_spec(name)
    if not dropout:
        return name
    return f"{name}-" + f"{float(dropout):.10f}".rstrip("0").rstrip(".")


def formula_params(name: str, image_shape, n_classes: int, D: int, S: int, L: int = 1, k: int = 16) -> int:
    """Closed-form parameter count (the paper's Methods, extended to depth L), as a check of
    :func:`dendritic.models.count_params` (which counts from the masks). For L = 1, N inputs,
    C classes (k → C_img*k for LRF/GRF on colour):

    - dANN-*, sANN-*: (k+1)·DS + (D+1)·S + (S+1)·C
    - pdANN, psANN:   (N+1)·DS + (D+1)·S + (S+1)·C
    - vANN-R/LRF/GRF: (k+1)·DS + (DS+1)·S + (S+1)·C
    - vANN:           (N+1)·DS + (DS+1)·S + (S+1)·C
    """
    spec = model_spec(name)
    channels, height, width = image_shape
    DS, total = D * S, 0
    for layer in range(L):
        n_in = channels * height * width if layer == 0 else S
        c = channels if layer == 0 else 1
        per_dendrite = {"R": k, "LRF": c * k, "GRF": c * k, "F": n_in}[spec.sampling]
        per_soma_layer = DS * S if spec.somata == "dense" else DS
        total += (per_dendrite + 1) * DS + per_soma_layer + S
    return total + (S + 1) * n_classes


#: (C, H, W) and number of classes of each dataset the paper uses (paper, Methods "Datasets").
INPUTS: dict[str, tuple[tuple[int, int, int], int]] = {
    "mnist": ((1, 28, 28), 10),
    "fmnist": ((1, 28, 28), 10),
    "kmnist": ((1, 28, 28), 10),
    "emnist": ((1, 28, 28), 47),
    "cifar10": ((3, 32, 32), 10),
}


def dataset_params(name: str, dataset: str, D: int, S: int, L: int = 1) -> int:
    """Trainable parameters of model ``name`` at (D, S, L) on ``dataset`` (closed form)."""
    shape, n_classes = INPUTS[dataset]
    return formula_params(name, shape, n_classes, D, S, L)


# --------------------------------------------------------------------------------------------------
# beyond the paper: the active-dendrite family of experiment permuted (dendritic.adn)
# --------------------------------------------------------------------------------------------------
#: Models with dendritic segments among the active-dendrite family (dendritic.adn.ADN_MODELS).
ADN_SEGMENTS = {"ADN": True, "ADN-ReLU": True, "kWTA-MLP": False}


def adn_params(model: str, hidden: int, segments: int, context_dim: int, sparsity: float = 0.5) -> int:
    """Closed-form trainable parameters of an active-dendrite network 784 → h → h → 10 whose
    feed-forward layers (output included) keep round((1 − sparsity)·fan-in) inputs per unit:
    h·round(392) + h·round(h/2) + 10·round(h/2) weights, 2h + 10 biases, plus 2·h·m·d_c segment
    weights for the models with segments (m = segments, d_c = context dimension). A check of
    :meth:`dendritic.adn.ADNet.n_params`, which counts from the masks."""

    def kept(fan_in: int) -> int:
        return max(1, int(round((1.0 - sparsity) * fan_in)))

    h = hidden
    ff = h * kept(784) + h * kept(h) + 10 * kept(h) + 2 * h + 10
    return ff + (2 * h * segments * context_dim if ADN_SEGMENTS[model] else 0)
