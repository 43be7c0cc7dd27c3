"""The paper's vocabulary, in one place: Chavlis & Poirazi, "Dendrites endow artificial neural
networks with accurate, robust and parameter-efficient learning", Nat Commun 16, 943 (2025).

The datasets (in the paper's order, with the titles its figures use), the model groups of its
figures and tables, the legend order, the display label of a model, its reference numbers
(Table 1, best-accuracy models, mean over 5 trials; Table 2, the sequential Fashion-MNIST task),
its experimental design (Methods) and the texts of the claims the verdict checks (Results and
Discussion). Every other module imports these names from here.

Plain Python only (no torch, numpy, pandas or matplotlib), so that the rule files may import it
whenever Snakemake parses the workflow; :mod:`dendritic.reproduction.claims` turns the tables into
frames.
"""

from __future__ import annotations

from typing import Any

# --------------------------------------------------------------------------------------------------
# datasets
# --------------------------------------------------------------------------------------------------
#: Dataset key → the title the paper's figures and tables use, in the paper's order.
DATASETS: dict[str, str] = {
    "mnist": "MNIST",
    "fmnist": "FMNIST",
    "kmnist": "KMNIST",
    "emnist": "EMNIST",
    "cifar10": "CIFAR-10",
}
#: Dataset keys in the paper's order.
DATASET_ORDER: list[str] = list(DATASETS)
#: The dataset of the paper's Fig. 2 and of every single-dataset experiment (dropout, learning
#: rate, depth, noise, the sequential task and the analyses of Figs 5-6).
PRIMARY_DATASET = "fmnist"


def dataset_title(name: str) -> str:
    """The paper's name of a dataset ("FMNIST", "CIFAR-10"); unknown keys as they are."""
    return DATASETS.get(name, name)


def sort_datasets(names) -> list[str]:
    """Distinct dataset keys in the paper's order (unknown keys last, alphabetically)."""
    names = list(dict.fromkeys(names))
    return sorted(names, key=lambda d: (DATASET_ORDER.index(d) if d in DATASET_ORDER else 99, d))


# --------------------------------------------------------------------------------------------------
# model groups
# --------------------------------------------------------------------------------------------------
#: The dendritic models with structured dendrite→soma wiring (Fig. 2, Table 1); vANN is the reference.
DANNS: list[str] = ["dANN-R", "dANN-LRF", "dANN-GRF", "pdANN"]
#: The models of Fig. 2, Fig. 3 and Table 1: the dANNs and vANN.
FIG2_MODELS: list[str] = DANNS + ["vANN"]
#: The models the paper compares on its selected networks (Fig. 5, Fig. 7b, Table 2).
COMPARED_MODELS: tuple[str, ...] = ("dANN-R", "dANN-LRF", "dANN-GRF", "vANN")

#: Fig. 4 / Suppl. Fig. 9: (input sampling, dendritic model, vanilla model with the same sampling).
SAMPLING_PAIRS: list[tuple[str, str, str]] = [
    ("R", "dANN-R", "vANN-R"),
    ("LRF", "dANN-LRF", "vANN-LRF"),
    ("GRF", "dANN-GRF", "vANN-GRF"),
    ("F", "pdANN", "vANN"),
]
#: Suppl. Fig. 10: (input sampling, structured dendrite->soma model, random sparse model).
SPARSE_PAIRS: list[tuple[str, str, str]] = [
    ("R", "dANN-R", "sANN"),
    ("LRF", "dANN-LRF", "sANN-LRF"),
    ("GRF", "dANN-GRF", "sANN-GRF"),
    ("F", "pdANN", "psANN"),
]

#: Order in which models (and the dropout variants' labels) appear in legends and tables.
LEGEND_ORDER: list[str] = [
    "dANN-R",
    "dANN-LRF",
    "dANN-GRF",
    "pdANN",
    "vANN",
    "vANN-R",
    "vANN-LRF",
    "vANN-GRF",
    "sANN",
    "sANN-LRF",
    "sANN-GRF",
    "psANN",
    "vANN-0.2",
    "vANN-0.5",
    "vANN-0.8",
]


def legend_key(name: str) -> tuple[int, str]:
    """Sort key of a model or label in :data:`LEGEND_ORDER` (unknown names last, alphabetically)."""
    return (LEGEND_ORDER.index(name) if name in LEGEND_ORDER else 99, name)


def ordered_models(names) -> list[str]:
    """Distinct models in :data:`LEGEND_ORDER` (unknown names last, alphabetically)."""
    names = set(names)
    known = [m for m in LEGEND_ORDER if m in names]
    return known + sorted(names - set(known))


# --------------------------------------------------------------------------------------------------
# the paper's numbers (Tables 1 and 2)
# --------------------------------------------------------------------------------------------------
#: Table 1, test accuracy (%) of the best-accuracy models, mean over 5 trials; one tuple per model
#: with the columns of :data:`DATASET_ORDER`.
TABLE1_ACC: dict[str, tuple[float, ...]] = {
    "dANN-R": (98.090, 89.612, 91.076, 82.745, 52.458),
    "dANN-LRF": (98.466, 90.256, 91.928, 83.166, 56.966),
    "dANN-GRF": (98.576, 90.182, 90.046, 83.779, 56.998),
    "pdANN": (98.466, 90.184, 90.610, 84.121, 60.120),
    "vANN": (98.034, 89.288, 91.552, 83.381, 49.082),
}
#: Table 1, test loss of the same models, same columns.
TABLE1_LOSS: dict[str, tuple[float, ...]] = {
    "dANN-R": (0.0644, 0.3245, 0.5068, 1.0591, 1.4612),
    "dANN-LRF": (0.0483, 0.2975, 0.4374, 0.6105, 1.2684),
    "dANN-GRF": (0.0471, 0.2947, 0.5757, 0.5605, 1.3398),
    "pdANN": (0.0503, 0.2935, 0.4789, 0.5390, 1.2811),
    "vANN": (0.0967, 0.4040, 0.8246, 2.0860, 2.0455),
}
#: Table 2 (sequential FMNIST): model → (test accuracy %, its SD or None where the paper gives
#: none (all but vANN), test loss).
TABLE2: dict[str, tuple[float, float | None, float]] = {
    "dANN-R": (56.83, None, 3.39),
    "dANN-LRF": (59.66, None, 1.65),
    "dANN-GRF": (59.35, None, 1.80),
    "vANN": (28.46, 9.50, 313.5),
}

# --------------------------------------------------------------------------------------------------
# the paper's design (Methods)
# --------------------------------------------------------------------------------------------------
#: Trials, epochs per dataset, the D × S grid and each experiment's datasets and own keys.
PAPER_DESIGN: dict[str, Any] = {
    "seeds": 5,
    "epochs": {"mnist": 15, "fmnist": 25, "kmnist": 25, "emnist": 50, "cifar10": 50},
    "dendrites": [1, 2, 4, 8, 16, 32, 64],
    "somata": [32, 64, 128, 256, 512],
    "experiments": {
        "main": dict(datasets=DATASET_ORDER, n_models=12),
        "dropout": dict(datasets=[PRIMARY_DATASET], rates=[0.2, 0.5, 0.8]),
        "learning_rate": dict(datasets=[PRIMARY_DATASET], rates=[0.01, 0.0001], n_models=12),
        "early_stopping": dict(datasets=[PRIMARY_DATASET, "cifar10"], max_epochs=100, patience=10),
        "depth": dict(datasets=[PRIMARY_DATASET], layers=[2, 3, 4], dendrites=[8, 16, 32], somata=[256]),
        "noise": dict(datasets=[PRIMARY_DATASET], sigmas=[0.25, 0.5, 0.75, 1.0]),
        "sequential": dict(datasets=[PRIMARY_DATASET], epochs=50),
    },
}
#: The largest and the smallest network of the paper's grid, (D, S).
PAPER_LARGEST = (max(PAPER_DESIGN["dendrites"]), max(PAPER_DESIGN["somata"]))
PAPER_SMALLEST = (min(PAPER_DESIGN["dendrites"]), min(PAPER_DESIGN["somata"]))
#: Epochs of the sequential task in the paper.
SEQUENTIAL_EPOCHS: int = PAPER_DESIGN["experiments"]["sequential"]["epochs"]

# --------------------------------------------------------------------------------------------------
# the claims (Results and Discussion)
# --------------------------------------------------------------------------------------------------
CLAIMS: dict[str, str] = {
    "a": "dANNs reach vANN's best accuracy and minimum loss with fewer parameters (paper: one to three "
    "orders of magnitude fewer; dANN-LRF more than 10× fewer on FMNIST)",
    "b": "vANN's test loss grows with network size, the dANNs' does not (overfitting)",
    "c": "dANN nodes are mostly mixed-selective, vANN nodes mostly class-specific",
    "d": "dANN-LRF is the best model under noise and in the sequential task",
}
