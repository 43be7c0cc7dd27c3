"""The learning-rule option (dendritic.optim): EG-Adam keeps signs and masks, the lognormal inits,
the engine and the reference loop train eg_adam cells alike, the cell id and columns."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import synthetic_prepared

from dendritic.cells import SUMMARY_COLUMNS, metrics_frame, train_cell
from dendritic.config import Cell, ConfigError, expand_cells, validate_config
from dendritic.models import build_model
from dendritic.optim import EGAdam, make_optimizer
from dendritic.summary import collect
from dendritic.training import expand_state

SHAPE = (1, 28, 28)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def small():
    return synthetic_prepared(n_train=400, n_test=100)


def cell(**kw):
    base = dict(
        experiment="learning_rule",
        dataset="fmnist",
        model="dANN-R",
        dendrites=2,
        somata=32,
        epochs=2,
        lr=3e-3,
        seeds=(0,),
        batch_size=64,
        optimizer="eg_adam",
        init="lognormal",
    )
    return Cell(**{**base, **kw})


@pytest.mark.parametrize("model", ["dANN-R", "dANN-LRF", "vANN", "sANN"])
def test_eg_keeps_every_sign_and_every_masked_weight_zero(model):
    net = build_model(model, SHAPE, 10, 2, 16, seed=1, init="lognormal")
    before = [layer.weight.detach().clone() for layer in net.layers]
    opt = make_optimizer(net.named_parameters(), "eg_adam", 1e-2)
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(64, 784, generator=g), torch.randint(0, 10, (64,), generator=g)
    for _ in range(30):
        opt.zero_grad()
        F.cross_entropy(net(x), y).backward()
        opt.step()
    for layer, w0 in zip(net.layers, before):
        w = layer.weight.detach()
        assert not torch.equal(w, w0)  # it learned
        assert torch.equal(torch.sign(w), torch.sign(w0))
        if layer.mask is not None:
            assert torch.all(w[~layer.mask] == 0)
            assert torch.all(w[layer.mask] != 0)
    assert any(bool((layer.bias < 0).any()) and bool((layer.bias > 0).any()) for layer in net.layers)


def test_eg_update_is_multiplicative_and_biases_are_adam():
    w = torch.nn.Parameter(torch.tensor([0.5, -0.5, 0.0]))
    b = torch.nn.Parameter(torch.tensor([0.0, 0.0]))
    b_ref = torch.nn.Parameter(b.detach().clone())
    opt = EGAdam([{"params": [w], "eg": True}, {"params": [b], "eg": False}], lr=0.1)
    ref = torch.optim.Adam([b_ref], lr=0.1, betas=(0.9, 0.999), eps=1e-7)
    w.grad = torch.tensor([1.0, 1.0, 1.0])
    b.grad = b_ref.grad = torch.tensor([1.0, -2.0])
    opt.step()
    ref.step()
    # first step: m̂/(√v̂+ε) = sign(g) (to 1e-7), so w ← w·exp(−0.1·sign(w))
    torch.testing.assert_close(
        w.detach(), torch.tensor([0.5 * np.exp(-0.1), -0.5 * np.exp(0.1), 0.0], dtype=torch.float32)
    )
    torch.testing.assert_close(b.detach(), b_ref.detach())  # crosses 0 both ways


def test_lognormal_dale_one_sign_per_presynaptic_hidden_unit():
    net = build_model("vANN", SHAPE, 10, 2, 16, seed=3, init="lognormal_dale")
    first = net.layers[0].weight.detach()
    assert (first > 0).any(dim=1).all() and (first < 0).any(dim=1).all()  # pixels: mixed signs
    for layer in net.layers[1:]:
        w = layer.weight.detach()
        s = torch.sign(w)
        nonzero = w != 0
        pos, neg = (s > 0) & nonzero, (s < 0) & nonzero
        assert not (pos.any(0) & neg.any(0)).any()  # no column (presynaptic unit) holds both
        assert pos.any() and neg.any()


def test_lognormal_statistics_and_mask():
    net = build_model("dANN-LRF", SHAPE, 10, 64, 32, seed=0, init="lognormal")
    layer = net.layers[0]
    w = layer.weight.detach()[layer.mask]
    assert torch.all(layer.weight.detach()[~layer.mask] == 0) and torch.all(w != 0)
    fan = float(layer.mask.sum(1).float().mean())
    assert float(w.pow(2).mean()) == pytest.approx(2 / 1.01 / fan, rel=0.1)
    a = w.abs()
    assert float(a.mean() / a.std()) == pytest.approx(1.5, rel=0.1)
    assert abs(float((w > 0).float().mean()) - 0.5) < 0.02


def test_same_seed_same_weights_and_glorot_unchanged():
    for init in ("lognormal", "lognormal_dale"):
        a, b = (build_model("dANN-GRF", SHAPE, 10, 2, 16, seed=5, init=init) for _ in range(2))
        assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))
        c = build_model("dANN-GRF", SHAPE, 10, 2, 16, seed=6, init=init)
        assert not torch.equal(a.layers[0].weight, c.layers[0].weight)
    g0, g1 = build_model("vANN", SHAPE, 10, 2, 16, seed=5), build_model("vANN", SHAPE, 10, 2, 16, seed=5, init="glorot")
    assert all(torch.equal(p, q) for p, q in zip(g0.state_dict().values(), g1.state_dict().values()))


@pytest.mark.parametrize("model", ["dANN-R", "vANN", "sANN"])
def test_engine_and_reference_train_eg_adam_alike(small, model):
    c = cell(model=model, seeds=(0, 1))
    ref = train_cell(c, small, "cpu", engine="reference")
    fast = train_cell(c, small, "cpu", engine="fast")
    for a, b in zip(ref, fast):
        np.testing.assert_allclose(
            [h["train_loss"] for h in a.history], [h["train_loss"] for h in b.history], rtol=1e-4
        )
        np.testing.assert_allclose([a.test_loss, a.test_acc], [b.test_loss, b.test_acc], rtol=1e-4, atol=1e-6)
        sa, sb = expand_state(a.state), expand_state(b.state)
        init = build_model(model, SHAPE, 10, 2, 32, seed=a.seed, init="lognormal").state_dict()
        for key in sa:
            if key.endswith("weight"):
                torch.testing.assert_close(sa[key], sb[key], rtol=1e-3, atol=1e-5)
                assert torch.equal(torch.sign(sb[key]), torch.sign(init[key]))  # engine keeps signs too


def test_cell_id_columns_and_old_cells():
    base = dict(experiment="main", dataset="fmnist", model="vANN", dendrites=4, somata=128, epochs=1, lr=1e-3)
    assert Cell(**base).id == "D4_S128"
    assert Cell(**base, optimizer="eg_adam", init="lognormal").id == "D4_S128_eg_adam_lognormal"
    assert Cell(**base, init="lognormal_dale").id == "D4_S128_lognormal_dale"
    old = Cell.from_dict({k: v for k, v in Cell(**base).to_dict().items() if k not in ("optimizer", "init")})
    assert (old.optimizer, old.init, old.id) == ("adam", "glorot", "D4_S128")
    with pytest.raises(ConfigError, match="optimizer"):
        Cell(**base, optimizer="sgd")
    m = metrics_frame(Cell(**base, optimizer="eg_adam", init="lognormal"), [])
    assert list(m.columns) == SUMMARY_COLUMNS and {"optimizer", "init"} <= set(m.columns)


def test_old_metrics_files_get_default_optimizer(tmp_path):
    old = tmp_path / "old.csv"
    new = tmp_path / "new.csv"
    cols = [c for c in SUMMARY_COLUMNS if c not in ("optimizer", "init")]
    import pandas as pd

    pd.DataFrame([{c: 0 for c in cols} | {"diverged": False}]).to_csv(old, index=False)
    pd.DataFrame([{c: 0 for c in cols} | {"diverged": False, "optimizer": "eg_adam", "init": "lognormal"}]).to_csv(
        new, index=False
    )
    df = collect([old, new])
    assert df["optimizer"].tolist() == ["adam", "eg_adam"] and df["init"].tolist() == ["glorot", "lognormal"]


def test_learning_rule_experiment_expands():
    config = {
        "datasets": ["fmnist"],
        "experiments": {
            "main": {"datasets": ["fmnist"], "models": ["vANN"], "dendrites": [1], "somata": [32]},
            "learning_rule": {
                "datasets": ["fmnist"],
                "models": ["dANN-R", "vANN"],
                "dendrites": [1, 4],
                "somata": [32],
                "optimizers": ["eg_adam"],
            },
        },
    }
    validate_config(config)
    cells = [c for c in expand_cells(config) if c.experiment == "learning_rule"]
    assert len(cells) == 4 and {(c.optimizer, c.init) for c in cells} == {("eg_adam", "lognormal")}
    main = [c for c in expand_cells(config) if c.experiment == "main"]
    assert [(c.optimizer, c.init, c.id) for c in main] == [("adam", "glorot", "D1_S32")]
