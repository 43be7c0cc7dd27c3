"""DAC units (Metta et al., WACV 2024; docs/neighbours/dac.md): the models, their parameter counts,
the reference-path training, the config guard and grid, the verdict rows A1-A3 and the figure."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from dendritic import dac
from dendritic.cells import engine_for, load_run, save_cell, train_cell
from dendritic.cli import main as cli_main
from dendritic.config import Cell, ConfigError, expand_cells, load_config, validate_config
from dendritic.models import DACNet, build_model, count_params, formula_params
from dendritic.plan import FIGURES, planned_cells, planned_figures
from dendritic.reproduction import related_dac
from dendritic.reproduction.related import related_claims
from dendritic.training import evaluate, to_float
from dendritic.wiring import DAC_MODELS, MODEL_NAMES, base_model, dac_connections, dataset_params, is_dac

FMNIST = (1, 28, 28)
SIZES = [(1, 32), (2, 64), (4, 128), (3, 40)]


def spec_formula(name: str, D: int, S: int, N: int = 784, C: int = 10, k: int = 16) -> int:
    """The spec's table (docs/neighbours/dac.md), written out independently of the package."""
    DS = D * S
    if name == "vANN-DAC":
        return N * DS + 2 * DS * S + 2 * C * S + C
    return 2 * k * DS + 2 * DS + 2 * C * S + C


# --------------------------------------------------------------------------------------------
# models and counts
# --------------------------------------------------------------------------------------------
def test_dac_models_extend_the_table_without_changing_the_papers_twelve():
    assert DAC_MODELS == ("dANN-R-DAC", "dANN-LRF-DAC", "dANN-GRF-DAC", "vANN-DAC")
    assert len(MODEL_NAMES) == 12 and not any(is_dac(m) for m in MODEL_NAMES)
    assert [base_model(m) for m in DAC_MODELS] == ["dANN-R", "dANN-LRF", "dANN-GRF", "vANN"]


@pytest.mark.parametrize("name", DAC_MODELS)
def test_parameter_counts_closed_form_masks_and_network_agree(name):
    for D, S in SIZES:
        expected = spec_formula(name, D, S)
        assert formula_params(name, FMNIST, 10, D, S) == expected
        assert count_params(name, FMNIST, 10, D, S) == expected
        assert dataset_params(name, "fmnist", D, S) == expected
    net = build_model(name, FMNIST, 10, 2, 32, seed=1)
    assert net.n_params() == spec_formula(name, 2, 32)


def test_paired_budget_and_cli_count(capsys):
    assert count_params("dANN-R-DAC", FMNIST, 10, 4, 128) == 19_978
    assert count_params("dANN-R", FMNIST, 10, 8, 128) == 19_850  # X(2D, S): almost the same budget
    assert cli_main(["params", "--model", "dANN-R-DAC", "--dataset", "fmnist", "-D", "4", "-S", "128"]) == 0
    assert capsys.readouterr().out.strip() == "19978"
    assert dac_connections("dANN-R-DAC", FMNIST, 10, 4, 128) == 9_472
    assert dac_connections("vANN-DAC", FMNIST, 10, 4, 128) == 66_816
    assert dac_connections("dANN-R", FMNIST, 10, 4, 128) == 0


@pytest.mark.parametrize("name", DAC_MODELS)
def test_dac_model_computes_its_base_models_function_at_init(name):
    x = torch.rand(50, 784)
    for seed in (0, 3):
        a = build_model(name, FMNIST, 10, 2, 32, seed=seed)
        b = build_model(base_model(name), FMNIST, 10, 2, 32, seed=seed)
        assert isinstance(a, DACNet)
        torch.testing.assert_close(a(x), b(x), atol=1e-5, rtol=1e-5)
    with torch.no_grad():  # a non-zero DAC bias changes the function
        next(iter(a.dac_bias.values())).fill_(0.3)
    assert not torch.allclose(a(x), b(x), atol=1e-3)


def test_dac_training_step_keeps_masks_and_moves_the_biases():
    net = build_model("dANN-R-DAC", FMNIST, 10, 2, 32, seed=0)
    assert tuple(net.dac_bias["0"].shape) == (64, 16) and net.layers[1].bias is None
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    x, y = torch.rand(64, 784), torch.randint(0, 10, (64,))
    for _ in range(3):
        opt.zero_grad()
        F.cross_entropy(net(x), y).backward()
        opt.step()
    for layer in net.layers[:2]:
        assert bool((layer.weight[~layer.mask] == 0).all())
    assert all(float(b.detach().abs().sum()) > 0 for b in net.dac_bias.values())
    with pytest.raises(ValueError, match="L = 1"):
        build_model("dANN-R-DAC", FMNIST, 10, 2, 32, L=2)


# --------------------------------------------------------------------------------------------
# training: the reference path, whatever training.engine says
# --------------------------------------------------------------------------------------------
def test_dac_cell_trains_on_the_reference_path(tmp_path, toy_data, monkeypatch):
    cell = Cell("dac", "fmnist", "dANN-R-DAC", 1, 8, epochs=1, lr=1e-3, seeds=(0,), engine="fast")
    assert engine_for(cell) == "reference" and engine_for(cell, "fast") == "reference"
    assert engine_for(Cell("main", "fmnist", "dANN-R", 1, 8, epochs=1, lr=1e-3, engine="fast")) == "fast"

    def no_fast(*args, **kwargs):
        raise AssertionError("a DAC cell reached the fast engine")

    monkeypatch.setattr("dendritic.engine.train_replicas", no_fast)
    res = train_cell(cell, toy_data, "cpu")
    assert (
        len(res) == 1
        and np.isfinite(res[0].test_acc)
        and res[0].n_params == count_params("dANN-R-DAC", FMNIST, 10, 1, 8)
    )
    paths = save_cell(tmp_path, cell, res)
    model = load_run(paths["weights"], 0, toy_data.image_shape, toy_data.n_classes)
    assert isinstance(model, DACNet)
    loss, acc = evaluate(model, to_float(toy_data.x_test, torch.device("cpu")), toy_data.y_test)
    assert loss == pytest.approx(res[0].test_loss, rel=1e-5) and acc == pytest.approx(res[0].test_acc)


# --------------------------------------------------------------------------------------------
# configuration
# --------------------------------------------------------------------------------------------
def _dac_config(**dac_keys):
    exp = dict(datasets=["fmnist"], models=["dANN-R-DAC", "vANN-DAC"], dendrites=[1, 2], somata=[32], **dac_keys)
    return {"datasets": ["fmnist"], "experiments": {"dac": exp}}


def test_full_design_plans_the_specs_dac_grid(repo_root):
    cells = [c for c in expand_cells(load_config(repo_root / "config.yaml")) if c.experiment == "dac"]
    by_model = {m: {(c.dendrites, c.somata) for c in cells if c.model == m} for m in {c.model for c in cells}}
    grid = {(d, s) for d in (1, 2, 4, 8, 16) for s in (32, 64, 128, 256)}
    assert by_model["dANN-R-DAC"] == grid and by_model["dANN-LRF-DAC"] == grid
    spec_pairs = {(1, 32), (2, 32), (4, 32), (1, 64), (1, 128), (2, 128), (4, 128), (1, 256)}
    assert by_model["vANN-DAC"] == spec_pairs and all(d * s * s <= 65_536 for d, s in spec_pairs)


def test_memory_guard_names_the_cell_and_the_remedy():
    cfg = _dac_config(pairs={"vANN-DAC": [[64, 512]]})
    with pytest.raises(ConfigError) as err:
        validate_config(cfg)
    msg = str(err.value)
    assert "fmnist/vANN-DAC/D64_S512" in msg and "batch_size" in msg and "pairs" in msg
    ok = _dac_config(pairs={"vANN-DAC": [[64, 512]]}, max_params=1_000_000)  # capped: not planned
    validate_config(ok)
    small_batch = {**_dac_config(pairs={"vANN-DAC": [[8, 256]]}), "training": {"batch_size": 16}}
    validate_config(small_batch)  # 16 × 526,848 connections fits
    small_batch["training"]["batch_size"] = 512
    with pytest.raises(ConfigError, match="at most 246"):
        validate_config(small_batch)


def test_pairs_must_name_a_trained_model_and_restrict_its_sizes():
    with pytest.raises(ConfigError, match="dANN-LRF-DAC"):
        validate_config(_dac_config(pairs={"dANN-LRF-DAC": [[1, 32]]}))
    cfg = _dac_config(pairs={"vANN-DAC": [[1, 32]]})
    validate_config(cfg)
    sizes = {(c.model, c.dendrites, c.somata) for c in expand_cells(cfg)}
    assert sizes == {("dANN-R-DAC", 1, 32), ("dANN-R-DAC", 2, 32), ("vANN-DAC", 1, 32)}
    with pytest.raises(ConfigError, match="not allowed"):  # DAC models only in experiment dac
        validate_config({"datasets": ["fmnist"], "experiments": {"main": {**cfg["experiments"]["dac"]}}})


def test_demo_plans_the_dac_cells_and_figure(repo_root):
    cfg = load_config(repo_root / "config" / "demo.yaml")
    planned = planned_cells(cfg)
    dac_cells = [c for c in planned if c.experiment == "dac"]
    assert dac_cells and all(is_dac(c.model) for c in dac_cells)
    main = {(c.model, c.dendrites, c.somata) for c in planned if c.experiment == "main"}
    pairs = [c for c in dac_cells if c.model != "vANN-DAC" and (base_model(c.model), 2 * c.dendrites, c.somata) in main]
    assert pairs  # A1 has budget pairs in the demo
    assert "related_dac" in planned_figures(planned, cfg) and FIGURES["related_dac"].from_summary
    assert (repo_root / "workflow" / "report" / "related_dac.rst").exists()


# --------------------------------------------------------------------------------------------
# verdict A1-A3 and the figure, on synthetic summaries
# --------------------------------------------------------------------------------------------
def _run(experiment, model, D, S, seed, acc, epochs=25, diverged=False):
    n = dataset_params(model, "fmnist", D, S)
    return dict(
        experiment=experiment,
        dataset="fmnist",
        model=model,
        dendrites=D,
        somata=S,
        layers=1,
        dropout=0.0,
        lr=0.001,
        sigma=0.0,
        seed=seed,
        n_params=n,
        test_acc=acc,
        test_loss=1.0 - acc,
        epochs=epochs,
        max_epochs=epochs,
        diverged=diverged,
    )


def _summary(gain: float, seeds=(0, 1, 2), epochs: int = 25) -> pd.DataFrame:
    """dANN-R/LRF at D ∈ {1, 2, 4}, S = 32, their DAC variants at D ∈ {1, 2} gaining ``gain``
    over X(2D); vANN at two sizes and vANN-DAC between them."""
    rng = np.random.default_rng(0)
    rows = []
    for seed in seeds:
        for x in ("dANN-R", "dANN-LRF"):
            for D in (1, 2, 4):
                rows.append(_run("main", x, D, 32, seed, 0.80 + 0.01 * D + rng.normal(0, 0.001), epochs))
            for D in (1, 2):
                acc = 0.80 + 0.02 * D + gain + rng.normal(0, 0.001)
                rows.append(_run("dac", f"{x}-DAC", D, 32, seed, acc, epochs))
        rows.append(_run("main", "vANN", 1, 32, seed, 0.84 + rng.normal(0, 0.001), epochs))
        rows.append(_run("main", "vANN", 4, 32, seed, 0.86 + rng.normal(0, 0.001), epochs))
        rows.append(_run("dac", "vANN-DAC", 1, 32, seed, 0.85 + gain + rng.normal(0, 0.001), epochs))
    return pd.DataFrame(rows)


def _status(checks, claim, model=None):
    rows = [r for r in checks if r["claim"] == claim and (model is None or r["model"] == model)]
    return [r["status"] for r in rows]


def test_a1_pairs_by_seed_and_decides_by_the_bootstrap_interval():
    df = _summary(0.01)
    pairs = dac.paired_deltas(df, "budget", ["dANN-R"])
    assert len(pairs) == 6 and set(pairs["base_dendrites"]) == {2, 4}
    assert pairs["delta_acc"].mean() == pytest.approx(0.01, abs=0.003)
    assert dac.bootstrap_mean(pairs) == dac.bootstrap_mean(pairs)  # fixed generator: reproducible
    good = related_dac.rows(df, {})
    assert _status(good, "A1") == ["reproduced", "reproduced"]
    assert _status(related_dac.rows(_summary(-0.01), {}), "A1") == ["not reproduced"] * 2
    assert _status(related_dac.rows(_summary(0.01, seeds=(0, 1)), {}), "A1") == ["inconclusive"] * 2
    short = related_dac.rows(_summary(0.01, epochs=3), {})
    assert _status(short, "A1") == ["inconclusive"] * 2 and "25 epochs" in short[0]["missing"]
    nodac = related_dac.rows(df[df["experiment"] == "main"], {})
    assert set(_status(nodac, "A1")) == {"inconclusive"}


def test_a1_leaves_out_diverged_runs():
    df = _summary(0.01)
    bad = (df["experiment"] == "dac") & (df["model"] == "dANN-R-DAC") & (df["seed"] == 0)
    df.loc[bad, "diverged"] = True
    df.loc[bad, "test_acc"] = np.nan
    pairs = dac.paired_deltas(df, "budget", ["dANN-R"])
    assert set(pairs["seed"]) == {1, 2}
    assert _status(related_dac.rows(df, {}), "A1", "dANN-R-DAC") == ["inconclusive"]


def test_a2_and_a3():
    df = _summary(0.01)
    checks = related_dac.rows(df, {})
    a2 = [r for r in checks if r["claim"] == "A2"]
    assert {r["model"] for r in a2} == {"dANN-R-DAC", "dANN-LRF-DAC", "vANN-DAC"}
    r_a2 = next(r for r in a2 if r["model"] == "dANN-R-DAC")
    assert r_a2["status"] == "reproduced" and r_a2["paper"] == 1.73
    assert r_a2["value"] == pytest.approx(100 * (0.01 + 0.01 * 1.5), abs=0.3)  # +2 pp per D against +1
    interp = dac.vann_interp_deltas(df)
    p1, p4, pd_ = (dataset_params(m, "fmnist", d, 32) for m, d in (("vANN", 1), ("vANN", 4), ("vANN-DAC", 1)))
    t = (np.log10(pd_) - np.log10(p1)) / (np.log10(p4) - np.log10(p1))
    expected = 0.85 + 0.01 - (0.84 + t * 0.02)
    assert interp["delta_acc"].mean() == pytest.approx(expected, abs=0.002)
    a3 = [r for r in checks if r["claim"] == "A3"]
    assert a3[0]["model"] == "vANN-DAC" and a3[0]["status"] == ("reproduced" if expected > 0 else "not reproduced")
    frame = related_claims(df, {})
    assert {"A1", "A2", "A3"} <= set(frame["claim"]) and (frame["section"] == "related").all()


def test_figure_draws_png_and_pdf(tmp_path):
    from dendritic.plots.related_dac import plot_related_dac

    out = [tmp_path / "related_dac.png", tmp_path / "related_dac.pdf"]
    deltas = plot_related_dac(_summary(0.01), out)
    assert all(p.stat().st_size > 1000 for p in out)
    assert set(deltas["base"]) == {"dANN-R", "dANN-LRF"} and (deltas["n"] == 3).all()
    with pytest.raises(ValueError, match="no runs of experiment 'dac'"):
        plot_related_dac(_summary(0.01).query("experiment == 'main'"), out)


def test_copy_keeps_a_dac_net_working():
    net = build_model("vANN-DAC", FMNIST, 10, 1, 16, seed=2)
    twin = copy.deepcopy(net)
    x = torch.rand(4, 784)
    torch.testing.assert_close(net(x), twin(x))
