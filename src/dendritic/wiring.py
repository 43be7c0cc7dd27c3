"""The paper's twelve models as a table of connectivity kinds, and their closed-form parameter
count (paper, Methods; Table 1 counts trainable parameters). Free of torch and numpy, so that the
workflow can plan parameter budgets whenever Snakemake parses it; :mod:`dendritic.models` builds
the networks from this table.

Beyond the paper, the table also holds the DAC variants of Metta et al. (WACV 2024, arXiv
2301.00924; :data:`DAC_MODELS`, ``docs/neighbours/dac.md``): the same wiring, with a bias and the
nonlinearity moved onto every connection of the layers named in :attr:`Wiring.dac`.
"""

from __future__ import annotations

from typing import NamedTuple

#: The layers a DAC model can put its per-connection biases on (L = 1): input → dendrites,
#: dendrites → somata, somata → output.
DAC_LAYERS = ("input", "somata", "output")


class Wiring(NamedTuple):
    sampling: str  # input → dendrites: "R", "LRF", "GRF" or "F"
    somata: str  # dendrites → somata: "structured", "dense" or "random"
    #: DAC layers (names of :data:`DAC_LAYERS`): each existing connection j → i of such a layer
    #: computes φ(b_ij + z_j) from the sender's pre-activation z_j; empty for the paper's models
    dac: tuple[str, ...] = ()


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
    # Metta et al. 2024 (DAC). Structured dendrites feed one soma each, so DAC on dendrites → somata
    # is the dendrite's own bias renamed: dANN-X-DAC keeps that bias (the equivalent form) and puts
    # DAC on the two layers whose senders fan out. vANN-DAC: DAC on its dense dendrites → somata
    # and on somata → output; its input layer stays standard (DAC on pixels × 784·DS connections
    # is not offered: docs/neighbours/dac.md).
    "dANN-R-DAC": Wiring("R", "structured", ("input", "output")),
    "dANN-LRF-DAC": Wiring("LRF", "structured", ("input", "output")),
    "dANN-GRF-DAC": Wiring("GRF", "structured", ("input", "output")),
    "vANN-DAC": Wiring("F", "dense", ("somata", "output")),
}
#: The paper's twelve models (the names its figures and tables use).
MODEL_NAMES: tuple[str, ...] = tuple(n for n, w in MODEL_SPECS.items() if not w.dac)
#: The DAC models (beyond the paper; the ``dac`` experiment).
DAC_MODELS: tuple[str, ...] = tuple(n for n, w in MODEL_SPECS.items() if w.dac)
#: Every model this pipeline can build.
ALL_MODELS: tuple[str, ...] = tuple(MODEL_SPECS)


def model_spec(name: str) -> Wiring:
    """The (input sampling, soma wiring) of a model; ``ValueError`` listing the names if unknown."""
    try:
        return MODEL_SPECS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; valid names: {', '.join(ALL_MODELS)}") from None


def is_dac(name: str) -> bool:
    """Whether ``name`` is a DAC model (per-connection biases on some layer)."""
    return bool(model_spec(name).dac)


def base_model(name: str) -> str:
    """The paper's model a DAC model modifies ("dANN-R-DAC" → "dANN-R"); a paper model itself."""
    spec = model_spec(name)
    if not spec.dac:
        return name
    return next(n for n in MODEL_NAMES if MODEL_SPECS[n][:2] == spec[:2])


#: Floats a DAC cell may hold in one B × (DAC connections) tensor (~0.5 GB; docs/neighbours/dac.md).
DAC_MAX_FLOATS = 1.3e8


def dac_memory_error(experiment: str, name: str, dataset: str, D: int, S: int, batch_size: int) -> str | None:
    """Why a cell of model ``name`` holds too much in one batch (``batch_size`` × its DAC
    connections > :data:`DAC_MAX_FLOATS`), naming the cell and the remedy; None when it fits
    (every paper model fits). ``dendritic.config.check_config`` raises it."""
    conns = dac_connections(name, *INPUTS[dataset], D, S)
    if batch_size * conns <= DAC_MAX_FLOATS:
        return None
    return (
        f"experiments.{experiment}: cell {dataset}/{name}/D{D}_S{S} holds training.batch_size {batch_size} × "
        f"{conns:,} DAC connections = {batch_size * conns:.3g} floats per batch, above the limit of "
        f"{DAC_MAX_FLOATS:.2g} (~0.5 GB per tensor). Leave that size out (list {name}'s sizes under "
        f"experiments.{experiment}.pairs, or set experiments.{experiment}.max_params), or lower "
        f"training.batch_size to at most {int(DAC_MAX_FLOATS // conns)}."
    )


def dac_connections(name: str, image_shape, n_classes: int, D: int, S: int, k: int = 16) -> int:
    """The connections that carry a DAC bias (one each): the size of the B × connections tensors a
    DAC model's training step holds per batch (``check_config``'s memory guard). 0 for the
    paper's models."""
    spec = model_spec(name)
    channels, height, width = image_shape
    DS = D * S
    per_dendrite = {"R": k, "LRF": channels * k, "GRF": channels * k, "F": channels * height * width}
    sizes = {
        "input": per_dendrite[spec.sampling] * DS,
        "somata": DS * S if spec.somata == "dense" else DS,
        "output": S * n_classes,
    }
    return sum(sizes[layer] for layer in spec.dac)


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

    DAC models (L = 1 only) add one bias per connection of each DAC layer and lose the unit
    biases of that layer's senders (absorbed): dANN-X-DAC 2k·DS + 2·DS + 2C·S + C,
    vANN-DAC N·DS + 2·DS·S + 2C·S + C.
    """
    spec = model_spec(name)
    if spec.dac:
        return _dac_formula(spec, image_shape, n_classes, D, S, L, k)
    channels, height, width = image_shape
    DS, total = D * S, 0
    for layer in range(L):
        n_in = channels * height * width if layer == 0 else S
        c = channels if layer == 0 else 1
        per_dendrite = {"R": k, "LRF": c * k, "GRF": c * k, "F": n_in}[spec.sampling]
        per_soma_layer = DS * S if spec.somata == "dense" else DS
        total += (per_dendrite + 1) * DS + per_soma_layer + S
    return total + (S + 1) * n_classes


def _dac_formula(spec: Wiring, image_shape, n_classes: int, D: int, S: int, L: int, k: int) -> int:
    if L != 1:
        raise ValueError(f"DAC models have one dendrite → soma pair (L = 1), got L = {L}")
    channels, height, width = image_shape
    DS, N, C = D * S, channels * height * width, n_classes
    per_dendrite = {"R": k, "LRF": channels * k, "GRF": channels * k, "F": N}[spec.sampling]
    weights = [per_dendrite * DS, DS * S if spec.somata == "dense" else DS, S * C]
    unit_biases = [DS, S, C]  # of the layer's receivers: dendrites, somata, output
    total = sum(weights)
    for i, layer in enumerate(DAC_LAYERS):
        if layer in spec.dac:
            total += weights[i]  # one bias per connection
            if i > 0:
                unit_biases[i - 1] = 0  # the senders' own biases are absorbed
    return total + sum(unit_biases)


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
