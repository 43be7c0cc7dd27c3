"""Config validation (schema + readable errors) and expansion into training cells."""

import copy
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

from dendritic.config import (
    Cell,
    ConfigError,
    check_config,
    describe_config_errors,
    expand_cells,
    validate_config,
)


def load(name="config.yaml"):
    with open(ROOT / name) as fh:
        return yaml.safe_load(fh)


@pytest.mark.parametrize("name", ["config.yaml", "config/test.yaml", "config/demo.yaml", "config/fmnist.yaml"])
def test_shipped_configs_are_valid(name):
    cfg = load(name)
    validate_config(cfg)
    assert expand_cells(cfg), f"{name} asks for no training at all"


def test_paper_design_size():
    cells = expand_cells(validate_and_return(load()))
    main = [c for c in cells if c.experiment == "main"]
    assert len(main) == 5 * 12 * 35
    assert sum(len(c.seeds) for c in main) == 10_500
    ids = {(c.experiment, c.dataset, c.model, c.id) for c in cells}
    assert len(ids) == len(cells), "two cells share a folder"


def validate_and_return(cfg):
    validate_config(cfg)
    return cfg


def test_defaults_filled():
    cfg = {"datasets": ["fmnist"]}
    validate_config(cfg)
    assert cfg["training"]["batch_size"] == 128
    assert cfg["training"]["epochs"]["fmnist"] == 25
    assert cfg["seeds"] == [0, 1, 2, 3, 4]
    assert cfg["experiments"] == {}, "an absent experiment must not be switched on by defaults"


@pytest.mark.parametrize(
    "edit, expected",
    [
        (lambda c: c.__setitem__("trainig", {}), ["unknown key 'trainig'", "did you mean 'training'"]),
        (lambda c: c["training"].__setitem__("epoch", 3), ["'epoch'", "in training", "epochs"]),
        (
            lambda c: c["experiments"]["main"].__setitem__("models", ["dANN-X"]),
            ["experiments.main.models", "'dANN-X'", "dANN-LRF", "psANN"],
        ),
        (lambda c: c.__setitem__("datasets", ["fmnst"]), ["datasets", "'fmnst'", "did you mean 'fmnist'"]),
        (lambda c: c["training"].__setitem__("lr", "fast"), ["training.lr", "not of type 'number'"]),
        (lambda c: c["training"].__setitem__("device", "tpu"), ["training.device"]),
    ],
)
def test_bad_config_names_key_and_allowed_values(edit, expected):
    cfg = load()
    edit(cfg)
    with pytest.raises(ConfigError) as err:
        validate_config(cfg)
    for text in expected:
        assert text in str(err.value)


def test_experiment_dataset_must_be_prepared():
    cfg = load("config/test.yaml")
    cfg["experiments"]["main"]["datasets"] = ["mnist"]
    with pytest.raises(ConfigError, match="mnist.*'datasets'"):
        validate_config(cfg)


def test_describe_is_empty_for_valid():
    assert describe_config_errors(load()) == ""


def test_cell_ids_and_roundtrip():
    cfg = validate_and_return(load())
    cells = expand_cells(cfg)
    by_exp = {c.experiment: c for c in cells}
    assert by_exp["main"].id == "D64_S512"  # the last cell of the grid
    drop = next(c for c in cells if c.experiment == "dropout")
    assert drop.id.endswith("_p0.2") and drop.label == "vANN-0.2"
    lr = next(c for c in cells if c.experiment == "learning_rate")
    assert lr.id.endswith("_lr0.01") and lr.lr == 0.01
    es = next(c for c in cells if c.experiment == "early_stopping")
    assert es.patience == 10 and es.epochs == 100
    deep = next(c for c in cells if c.experiment == "depth")
    assert deep.layers == 2 and "_L2" in deep.id
    noisy = next(c for c in cells if c.experiment == "noise")
    assert noisy.sigma == 0.25 and noisy.id.endswith("_sigma0.25")
    seq = next(c for c in cells if c.experiment == "sequential")
    assert seq.sequential and seq.epochs == 50
    for c in [drop, lr, es, deep, noisy, seq]:
        assert Cell.from_dict(copy.deepcopy(c.to_dict())) == c


def _selected_config():
    from dendritic.config import load_config

    cfg = load_config(Path(__file__).resolve().parents[1] / "config" / "test.yaml", validate=False)
    cfg["experiments"]["noise"] = {
        "datasets": ["fmnist"],
        "models": ["dANN-LRF", "vANN"],
        "sigmas": [0.25, 1.0],
        "networks": "selected",
    }
    validate_config(cfg)
    return cfg


def test_selected_networks_experiment_is_deferred_and_built_from_the_selection():
    from dendritic.config import deferred_experiments, selected_cells

    cfg = _selected_config()
    assert "noise" in deferred_experiments(cfg)
    assert not [c for c in expand_cells(cfg) if c.experiment == "noise"]  # known only after main
    cells = selected_cells(cfg, "noise", "fmnist", {"dANN-LRF": (2, 32), "vANN": (1, 32)})
    assert [(c.model, c.id) for c in cells] == [
        ("dANN-LRF", "D2_S32_sigma0.25"),
        ("dANN-LRF", "D2_S32_sigma1"),
        ("vANN", "D1_S32_sigma0.25"),
        ("vANN", "D1_S32_sigma1"),
    ]
    assert all(c.epochs == 1 and c.seeds == (0, 1) for c in cells)
    with pytest.raises(ConfigError, match="no selected network for vANN"):
        selected_cells(cfg, "noise", "fmnist", {"dANN-LRF": (2, 32)})


def test_selected_networks_need_the_models_in_the_main_experiment():
    cfg = _selected_config()
    cfg["experiments"]["noise"]["models"] = ["dANN-LRF", "sANN"]
    with pytest.raises(ConfigError, match="does not train sANN on fmnist"):
        check_config(cfg)
    cfg["experiments"]["noise"]["networks"] = "grid"
    with pytest.raises(ConfigError, match="needs dendrites and somata"):
        check_config(cfg)


def test_max_params_leaves_out_the_larger_cells_of_a_grid():
    from dendritic.wiring import dataset_params

    cfg = load("config/test.yaml")
    cfg["experiments"]["main"].update(dendrites=[1, 16], somata=[32, 128], max_params=500_000)
    validate_config(cfg)
    cells = [c for c in expand_cells(cfg) if c.experiment == "main"]
    sizes = {(c.model, c.dendrites, c.somata) for c in cells}
    assert ("vANN", 16, 32) in sizes  # 418,666 parameters
    assert ("vANN", 16, 128) not in sizes and ("pdANN", 16, 128) not in sizes  # 1.9M, 1.6M
    assert ("dANN-LRF", 16, 128) in sizes
    assert all(dataset_params(c.model, "fmnist", c.dendrites, c.somata) <= 500_000 for c in cells)
    assert len(cells) == 5 * 4 - 2


def test_wiring_inputs_agree_with_the_dataset_catalogue():
    from dendritic.datasets import DATASETS
    from dendritic.wiring import INPUTS

    assert {k: (tuple(v.image_shape), v.n_classes) for k, v in DATASETS.items()} == INPUTS


def test_depth_learning_rate_per_layer_count():
    """Authors: L = 4 trained with lr 0.005 (results_fmnist_4_layer_lr_0.005); config.yaml says so."""
    cells = [c for c in expand_cells(validate_and_return(load())) if c.experiment == "depth"]
    assert {c.layers: c.lr for c in cells} == {2: 0.001, 3: 0.001, 4: 0.005}
    cfg = load()
    del cfg["experiments"]["depth"]["lr"]  # schema default: training.lr at every depth
    assert {c.lr for c in expand_cells(validate_and_return(cfg)) if c.experiment == "depth"} == {0.001}
    cfg = load()
    cfg["experiments"]["depth"]["lr"] = {"3": 0.002}  # string keys (--config JSON) work too
    cells = [c for c in expand_cells(validate_and_return(cfg)) if c.experiment == "depth"]
    assert {c.layers: c.lr for c in cells} == {2: 0.001, 3: 0.002, 4: 0.001}


@pytest.mark.parametrize(
    "lr, message",
    [({5: 0.005}, "L = 5"), ({4: -1.0}, "experiments.depth.lr"), ({"four": 0.005}, "experiments.depth.lr")],
)
def test_depth_learning_rate_bad_keys(lr, message):
    cfg = load()
    cfg["experiments"]["depth"]["lr"] = lr
    with pytest.raises(ConfigError, match=message):
        validate_config(cfg)


def test_cell_settings_come_from_the_schema_defaults():
    from dendritic.config import cell_settings, schema_default

    cfg = {"datasets": ["fmnist", "emnist"]}
    validate_config(cfg)
    assert cell_settings(cfg, "fmnist") == dict(
        seeds=(0, 1, 2, 3, 4),
        epochs=25,
        batch_size=128,
        validation_fraction=0.1,
        engine="fast",
        lr=0.001,
        divergence_loss=1000.0,
        optimizer="adam",
        init="glorot",
    )
    assert cell_settings(cfg, "emnist")["epochs"] == 50
    fields = Cell.__dataclass_fields__  # a cell built by hand gets the schema's training settings
    for key in ("batch_size", "validation_fraction", "engine", "divergence_loss", "optimizer", "init"):
        assert fields[key].default == schema_default("training", key)


def test_no_schema_default_is_restated_in_python():
    """The schema is the only source of defaults: config.py and cli.py read the validated config."""
    import re

    for name in ("config.py", "cli.py"):
        text = (ROOT / "src" / "dendritic" / name).read_text()
        assert not re.search(
            r"""\.get\(\s*["'](lr|epochs|max_epochs|patience|batch_size|engine|"""
            r"""validation_fraction|divergence_loss|seeds|networks)["']\s*,""",
            text,
        ), name
        assert '"fast", "reference"' not in text and "fashion-mnist" not in text, name


def _cli_train_cell(*options):
    from dendritic.cli import _train_cell, build_parser

    args = build_parser().parse_args(
        ["train", "--model", "dANN-R", "--dataset", "fmnist", "-D", "2", "-S", "32", *options]
    )
    return _train_cell(args)


def test_cli_builds_its_cell_through_the_validated_config():
    from dendritic.cli import build_parser
    from dendritic.config import schema_choices

    assert _cli_train_cell() == Cell(
        experiment="main",
        dataset="fmnist",
        model="dANN-R",
        dendrites=2,
        somata=32,
        epochs=25,
        lr=1e-3,
        seeds=(0,),
        batch_size=128,
        validation_fraction=0.1,
        engine="fast",
        divergence_loss=1000.0,
    )
    cell = _cli_train_cell(
        "--lr",
        "0.01",
        "--epochs",
        "3",
        "--batch-size",
        "64",
        "--engine",
        "reference",
        "--divergence-loss",
        "50",
        "--seeds",
        "1",
        "2",
        "--dropout",
        "0.2",
        "--patience",
        "4",
        "--experiment",
        "dropout",
    )
    assert (
        cell.lr,
        cell.epochs,
        cell.batch_size,
        cell.engine,
        cell.divergence_loss,
        cell.seeds,
        cell.dropout,
        cell.patience,
        cell.path(),
    ) == (0.01, 3, 64, "reference", 50.0, (1, 2), 0.2, 4, Path("results/runs/dropout/fmnist/dANN-R/D2_S32_p0.2"))
    train = next(
        a for a in build_parser()._subparsers._group_actions[0].choices["train"]._actions if a.dest == "engine"
    )
    assert tuple(train.choices) == schema_choices("training", "engine") == ("fast", "reference")
