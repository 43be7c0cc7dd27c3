"""From the validated config to the list of training cells.

A *cell* is one configuration (experiment, dataset, model, D, S, L, dropout, lr, sigma, ...)
trained for every seed in ``config['seeds']``; it is one Snakemake job and one folder
``results/runs/{experiment}/{dataset}/{model}/{cell_id}/``. Grouping the seeds of a cell into one
job keeps the paper-scale DAG small (4,315 jobs instead of 21,575) and lets the trainer
share the loaded dataset between seeds.

The JSON schema (``dendritic/schema/config.schema.yaml``; its helpers in :mod:`dendritic.schema_io`)
is the only source of defaults: :func:`validate_config` fills them in, and everything below indexes
the validated config.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator

import yaml

from dendritic.schema_io import (  # noqa: F401  (the schema's helpers, importable from here)
    SCHEMA_PATH,
    _load_schema,
    coerce_config,
    describe_config_errors,
    schema_choices,
    schema_default,
)
from dendritic.wiring import dac_memory_error, dataset_params, model_label

#: Experiments in the order the paper introduces them.
EXPERIMENTS = (
    "main",
    "dropout",
    "learning_rate",
    "early_stopping",
    "depth",
    "noise",
    "sequential",
    "dac",
    "learning_rule",
)


class ConfigError(ValueError):
    """The configuration is inconsistent (beyond what the JSON schema can express)."""


def _fmt(x: float) -> str:
    """Short, stable text for a number in a path: 0.001 -> '0.001', 1e-4 -> '0.0001', 2.0 -> '2'."""
    return f"{x:.10f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class Cell:
    """One configuration of one experiment, trained for every seed."""

    experiment: str
    dataset: str
    model: str
    dendrites: int
    somata: int
    epochs: int
    lr: float
    layers: int = 1
    dropout: float = 0.0
    sigma: float = 0.0
    patience: int | None = None  # early stopping on validation loss (best weights back when it stops)
    sequential: bool = False  # class-ordered batches, no shuffling
    seeds: tuple[int, ...] = field(default=(0,))
    # The training settings below default to the schema's values (the config builds every cell
    # with all of them; the defaults serve cells built by hand and cell.json files of older runs).
    batch_size: int = schema_default("training", "batch_size")
    validation_fraction: float = schema_default("training", "validation_fraction")
    #: training engine (training.engine: "fast" or "reference"; same numbers; not in the id)
    engine: str = schema_default("training", "engine")
    #: a run whose mean training loss of an epoch exceeds this is stopped and flagged diverged
    #: (dendritic.training.is_diverged; config training.divergence_loss; not in the id)
    divergence_loss: float = float(schema_default("training", "divergence_loss"))
    #: learning rule (training.optimizer: "adam" or "eg_adam", dendritic.optim) and weight
    #: initialisation (training.init); in the id only when not the default, so that the cells of
    #: older runs (whose cell.json lacks them) keep their ids
    optimizer: str = schema_default("training", "optimizer")
    init: str = schema_default("training", "init")

    def __post_init__(self) -> None:
        """Refuse a cell that cannot train (0 epochs would 'succeed' with an untrained network)."""

        def whole(name: str, value: Any, low: int) -> None:
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ConfigError(
                    f"cell {self.experiment}/{self.dataset}/{self.model}: {name} must be a "
                    f"whole number >= {low}, got {value!r}"
                )

        for name, low in (("dendrites", 1), ("somata", 1), ("layers", 1), ("epochs", 1), ("batch_size", 1)):
            whole(name, getattr(self, name), low)
        if self.patience is not None:
            whole("patience", self.patience, 1)
        if not self.seeds:
            raise ConfigError(f"cell {self.experiment}/{self.dataset}/{self.model}: no seeds")
        for seed in self.seeds:
            whole("every seed", seed, 0)
        checks = [
            ("lr", lambda v: v > 0, "> 0"),
            ("dropout", lambda v: 0 <= v < 1, "in [0, 1)"),
            ("sigma", lambda v: v >= 0, ">= 0"),
            ("validation_fraction", lambda v: 0 < v < 1, "in (0, 1)"),
            ("divergence_loss", lambda v: v > 0, "> 0"),
        ]
        for name in ("optimizer", "init"):
            if getattr(self, name) not in schema_choices("training", name):
                raise ConfigError(
                    f"cell {self.experiment}/{self.dataset}/{self.model}: {name} must be one of "
                    f"{', '.join(schema_choices('training', name))}, got {getattr(self, name)!r}"
                )
        for name, ok, want in checks:
            value = getattr(self, name)
            if not (
                isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and ok(value)
            ):
                raise ConfigError(
                    f"cell {self.experiment}/{self.dataset}/{self.model}: {name} must be a number {want}, got {value!r}"
                )

    @property
    def id(self) -> str:
        """Folder name of the cell, unique within (experiment, dataset, model)."""
        parts = [f"D{self.dendrites}", f"S{self.somata}"]
        if self.layers != 1:
            parts.append(f"L{self.layers}")
        if self.dropout:
            parts.append(f"p{_fmt(self.dropout)}")
        if self.experiment == "learning_rate":
            parts.append(f"lr{_fmt(self.lr)}")
        if self.sigma:
            parts.append(f"sigma{_fmt(self.sigma)}")
        if self.optimizer != schema_default("training", "optimizer"):
            parts.append(self.optimizer)
        if self.init != schema_default("training", "init"):
            parts.append(self.init)
        return "_".join(parts)

    @property
    def label(self) -> str:
        """Model label used in figures: the paper writes dropout variants as vANN-0.2 etc."""
        return model_label(self.model, self.dropout)

    def path(self, root: str | Path = "results/runs") -> Path:
        return Path(root) / self.experiment / self.dataset / self.model / self.id

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["seeds"] = list(self.seeds)
        d["cell"] = self.id
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Cell":
        d = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        if "seeds" in d:  # a list in JSON; absent: the field's default
            d["seeds"] = tuple(d["seeds"])
        return cls(**d)


def load_config(path: str | Path, validate: bool = True) -> dict[str, Any]:
    """Read a YAML config, fill in the schema's defaults and check it (outside Snakemake)."""
    with open(path) as fh:
        config = yaml.safe_load(fh) or {}
    if validate:
        validate_config(config)
    return config


def validate_config(config: dict[str, Any], schema_path: str | Path = SCHEMA_PATH) -> list[str]:
    """Check a configuration and complete it, in place: the one validation the workflow runs
    (the Snakefile calls it once), the CLI and :func:`load_config` too.

    1. :func:`coerce_config` (``--config`` text, whole-number floats);
    2. the JSON schema, with readable errors (:func:`describe_config_errors`), as :class:`ConfigError`;
    3. the schema's defaults filled in (Snakemake's ``validate``);
    4. the cross-key checks of :func:`check_config` and of ``analysis.dataset``.

    Returns notes worth a warning (what the configuration leaves out without being wrong).
    """
    from snakemake.utils import validate

    coerce_config(config, _load_schema(schema_path))
    problems = describe_config_errors(config, schema_path)
    if problems:
        raise ConfigError(f"invalid configuration:\n{problems}")
    analysis_given = isinstance(config.get("analysis"), dict) and "dataset" in config["analysis"]
    validate(config, str(schema_path), set_default=True)
    check_config(config)
    return _check_analysis_dataset(config, analysis_given)


def _check_analysis_dataset(config: dict[str, Any], given: bool) -> list[str]:
    """Figs 5 and 6 analyse main-experiment networks of ``analysis.dataset``. With a main
    experiment that does not train that dataset, an explicit ``analysis.dataset`` is an error and
    the default one gives a note (without a main experiment there is nothing to analyse)."""
    dataset = config["analysis"]["dataset"]
    main = (config.get("experiments") or {}).get("main")
    if not main or dataset in main["datasets"]:
        return []
    trained = ", ".join(main["datasets"])
    if given:
        raise ConfigError(
            f"analysis.dataset is '{dataset}', but experiments.main trains {trained} only: Figs 5 and 6 "
            f"analyse main-experiment networks of analysis.dataset and would be left out. Set "
            f"analysis.dataset to one of {trained}, or add {dataset} to experiments.main.datasets "
            f"(and to datasets)."
        )
    return [
        f"Figs 5 and 6 are not drawn: analysis.dataset is not set and its default '{dataset}' is "
        f"not trained (experiments.main trains {trained} only); set analysis.dataset to one of "
        f"{trained} to draw them."
    ]


#: Experiments that can be trained on the networks the paper's analyses select (paper §4:
#: one network per model, fixed from the clean main experiment) instead of a D x S grid.
SELECTABLE = ("noise", "sequential")


def on_selected_networks(exp: dict[str, Any] | None) -> bool:
    """Whether an experiment is trained only on the selected networks (``networks: selected``)."""
    return bool(exp) and exp.get("networks") == "selected"


def deferred_experiments(config: dict[str, Any]) -> list[str]:
    """Experiments whose cells are known only once the main experiment has chosen its networks."""
    exps = config["experiments"]
    return [name for name in SELECTABLE if on_selected_networks(exps.get(name))]


def check_config(config: dict[str, Any]) -> None:
    """Cross-key checks the schema cannot express."""
    prepared = set(config.get("datasets", []))
    exps = config.get("experiments") or {}
    for name, exp in exps.items():
        missing = [d for d in exp.get("datasets", []) if d not in prepared]
        if missing:
            raise ConfigError(
                f"experiments.{name}.datasets lists {missing}, which the top-level key 'datasets' "
                f"does not prepare ({sorted(prepared)}); add them to 'datasets'."
            )
        if name in SELECTABLE and not on_selected_networks(exp):
            absent = [k for k in ("dendrites", "somata") if k not in exp]
            if absent:
                raise ConfigError(
                    f"experiments.{name} needs {' and '.join(absent)} (its D x S grid), or "
                    f"'networks: selected' to train only the networks the main experiment selects."
                )
    for name in deferred_experiments(config):
        exp, main = exps[name], exps.get("main") or {}
        for dataset in exp["datasets"]:
            have = set(main.get("models", [])) if dataset in main.get("datasets", []) else set()
            lacking = [m for m in ["vANN", *exp["models"]] if m not in have]
            if lacking:
                raise ConfigError(
                    f"experiments.{name} has 'networks: selected', so its networks are chosen from the "
                    f"main experiment on {dataset} against vANN's best; experiments.main does not train "
                    f"{', '.join(dict.fromkeys(lacking))} on {dataset}. Add them to experiments.main "
                    f"(models and datasets), or give experiments.{name} a grid (networks: grid, with "
                    f"dendrites and somata)."
                )
    _check_pruning(config)
    _check_permuted(exps.get("permuted"))
    _check_dac(config)
    depth = (config.get("experiments") or {}).get("depth") or {}
    layers = {int(L) for L in depth.get("layers", [])}
    for key in depth.get("lr") or {}:
        if not str(key).isdigit() or int(key) not in layers:
            raise ConfigError(
                f"experiments.depth.lr has a learning rate for L = {key}, which experiments.depth.layers "
                f"({sorted(layers)}) does not list; use depths from that list as keys, e.g. lr: {{4: 0.005}}."
            )


def _check_pruning(config: dict[str, Any]) -> None:
    """experiments.pruning: ``rewind_epoch`` within round 0's training (training.epochs)."""
    exp = (config.get("experiments") or {}).get("pruning") or {}
    epochs = (config.get("training") or {}).get("epochs") or {}
    for dataset in exp.get("datasets", []):
        k, n = int(exp.get("rewind_epoch", 0)), epochs.get(dataset)
        if n is not None and k >= int(n):
            raise ConfigError(
                f"experiments.pruning.rewind_epoch is {k}, but round 0 on {dataset} trains "
                f"training.epochs.{dataset} = {n} epochs; set rewind_epoch below {n} "
                "(0 rewinds to the initial weights)."
            )


def _check_dac(config: dict[str, Any]) -> None:
    """``experiments.dac.pairs`` names only trained models; no DAC cell is too large for a batch."""
    exps = config.get("experiments") or {}
    batch = {"batch_size": schema_default("training", "batch_size"), **(config.get("training") or {})}["batch_size"]
    extra = [m for m in (exps.get("dac") or {}).get("pairs") or {} if m not in exps["dac"].get("models", [])]
    if extra:
        raise ConfigError(f"experiments.dac.pairs gives sizes for {', '.join(extra)}, not in experiments.dac.models")
    for name, exp in exps.items():
        if isinstance(exp, dict) and {"datasets", "models", "dendrites", "somata"} <= set(exp):
            for dataset, model, d, s in _grid(exp):
                if dataset_params(model, dataset, d, s) <= exp.get("max_params", math.inf):
                    if problem := dac_memory_error(name, model, dataset, d, s, batch):
                        raise ConfigError(problem)


def _grid(exp: dict[str, Any]) -> Iterator[tuple[str, str, int, int]]:
    for dataset in exp["datasets"]:
        for model in exp["models"]:  # a model listed in ``pairs`` (experiment dac): those sizes only
            sizes = (exp.get("pairs") or {}).get(model) or [(d, s) for d in exp["dendrites"] for s in exp["somata"]]
            for d, s in sizes:
                yield dataset, model, int(d), int(s)


def cell_settings(config: dict[str, Any], dataset: str) -> dict[str, Any]:
    """The settings every cell on ``dataset`` shares, from a validated config (defaults filled):
    seeds, epochs, batch size, validation fraction, engine, lr and divergence loss."""
    tr = config["training"]
    return dict(
        seeds=tuple(config["seeds"]),
        epochs=tr["epochs"][dataset],
        batch_size=tr["batch_size"],
        validation_fraction=tr["validation_fraction"],
        engine=tr["engine"],
        lr=tr["lr"],
        divergence_loss=float(tr["divergence_loss"]),
        optimizer=tr["optimizer"],
        init=tr["init"],
    )


def experiment_cells(config: dict[str, Any], name: str, dataset: str, model: str, d: int, s: int) -> list[Cell]:
    """The cells of experiment ``name`` for one model at one size (one per dropout rate, lr, L, sigma),
    from a validated config (defaults filled)."""
    exp = config["experiments"][name]
    base = dict(experiment=name, dataset=dataset, model=model, dendrites=d, somata=s, **cell_settings(config, dataset))
    if name in ("main", "dac"):  # dac: DAC models, on the reference path (cells.engine_for)
        return [Cell(**base)]
    if name == "dropout":
        return [Cell(**base, dropout=float(p)) for p in exp["rates"]]
    if name == "learning_rate":
        return [Cell(**{**base, "lr": float(r)}) for r in exp["rates"]]
    if name == "early_stopping":
        return [Cell(**{**base, "epochs": exp["max_epochs"]}, patience=exp["patience"])]
    if name == "depth":  # per-depth learning rates (authors: L = 4 with 0.005)
        lrs = {int(k): float(v) for k, v in exp["lr"].items()}
        return [Cell(**{**base, "lr": lrs.get(int(L), base["lr"])}, layers=int(L)) for L in exp["layers"]]
    if name == "noise":
        return [Cell(**base, sigma=float(sg)) for sg in exp["sigmas"]]
    if name == "sequential":
        return [Cell(**{**base, "epochs": exp["epochs"]}, sequential=True)]
    if name == "learning_rule":  # the comparators (training.optimizer, init) are the main cells
        return [Cell(**{**base, "optimizer": opt, "init": exp["init"]}) for opt in exp["optimizers"]]
    raise ConfigError(f"unknown experiment {name!r}; valid: {', '.join(EXPERIMENTS)}")


def expand_cells(config: dict[str, Any]) -> list[Cell]:
    """All training cells the (validated, defaults filled) config asks for, in a stable order.

    A grid experiment with ``max_params`` leaves out the cells with more trainable parameters
    (closed form, :func:`dendritic.wiring.dataset_params`). Experiments with
    ``networks: selected`` are not here: their cells depend on the main
    experiment's results (see :func:`selected_cells`).
    """
    exps = config["experiments"]
    cells: list[Cell] = []
    for name in EXPERIMENTS:
        exp = exps.get(name)
        if not exp or on_selected_networks(exp):
            continue
        cap = exp.get("max_params")
        for dataset, model, d, s in _grid(exp):
            cells += [
                c
                for c in experiment_cells(config, name, dataset, model, d, s)
                if cap is None or dataset_params(model, dataset, d, s, c.layers) <= cap
            ]
    return cells


def selected_cells(config: dict[str, Any], name: str, dataset: str, networks: dict[str, Any]) -> list[Cell]:
    """The cells of a ``networks: selected`` experiment on ``dataset``, given each model's selected
    network(s) from the main experiment: ``{model: (D, S)}`` or ``{model: [(D, S), ...]}``."""
    exp = config["experiments"][name]
    cells: list[Cell] = []
    for model in exp["models"]:
        if model not in networks:
            raise ConfigError(f"no selected network for {model} on {dataset} (experiments.{name})")
        nets = networks[model]
        for d, s in [nets] if isinstance(nets, tuple) else nets:
            cells += experiment_cells(config, name, dataset, model, int(d), int(s))
    return cells


#: The permuted experiment's active-dendrite family (dendritic.adn.ADN_MODELS; torch-free here).
PERMUTED_ADN_MODELS = ("ADN", "ADN-ReLU", "kWTA-MLP")


def _check_permuted(exp: dict[str, Any] | None) -> None:
    """experiments.permuted: every house model needs its (D, S) under ``networks``, and
    ``networks`` names only house models the experiment runs."""
    if not exp:
        return
    nets = exp.get("networks") or {}
    house = [m for m in exp["models"] if m not in PERMUTED_ADN_MODELS]
    lacking = [m for m in house if not nets.get(m)]
    if lacking:
        raise ConfigError(
            f"experiments.permuted.models lists {', '.join(lacking)} without a size: add "
            f"experiments.permuted.networks: {{{lacking[0]}: [[D, S]]}} (e.g. vANN: [[1, 2048]], the 2048-2048 MLP)."
        )
    extra = [m for m in nets if m not in house]
    if extra:
        raise ConfigError(
            f"experiments.permuted.networks gives sizes for {', '.join(extra)}, which experiments.permuted.models "
            f"does not run as a house model; add it to models or remove it from networks (the ADN family uses hidden)."
        )
