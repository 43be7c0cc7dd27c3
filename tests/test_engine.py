"""The fast engine (dendritic.engine): same numbers as the masked dense reference, batched seeds
equal to seeds one by one, masks respected, frozen replicas harmless, engine plumbing.

Tolerance: the fast layers sum the same products in another order than the dense masked matmuls,
so single operations agree to float32 rounding (~1e-7 relative) and two epochs of training to
~1e-6; the tests allow 1e-4 relative (1e-6 absolute) on every history number and test metric.
"""

import dataclasses
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import synthetic_prepared

from dendritic import engine
from dendritic.cells import history_frame, train_cell
from dendritic.config import Cell, expand_cells, validate_config
from dendritic.models import MODEL_NAMES, build_masks, build_model
from dendritic.training import expand_state

RTOL, ATOL = 1e-4, 1e-6
MNIST, CIFAR = (1, 28, 28), (3, 32, 32)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models: a second thread only adds synchronisation (and stalls when other processes
    hold the other core)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def small():
    return synthetic_prepared(n_train=500, n_test=200)


@pytest.fixture(scope="module")
def colour():
    return synthetic_prepared(n_train=300, n_test=100, shape=CIFAR)


def cell(**kw):
    base = dict(
        experiment="main",
        dataset="fmnist",
        model="dANN-R",
        dendrites=2,
        somata=32,
        epochs=2,
        lr=3e-3,
        seeds=(0,),
        batch_size=64,
    )
    return Cell(**{**base, **kw})


def assert_same_runs(a, b, rtol=RTOL, atol=ATOL, weight_atol=1e-5):
    ha, hb = (history_frame(r).drop(columns="time_s") for r in (a, b))
    assert list(ha.columns) == list(hb.columns) and len(ha) == len(hb)
    np.testing.assert_allclose(ha.to_numpy(float), hb.to_numpy(float), rtol=rtol, atol=atol)
    for ra, rb in zip(a, b):
        assert (ra.seed, ra.n_params, ra.epochs_run, ra.epoch_min_val_loss, ra.diverged) == (
            rb.seed,
            rb.n_params,
            rb.epochs_run,
            rb.epoch_min_val_loss,
            rb.diverged,
        )
        np.testing.assert_allclose([ra.test_loss, ra.test_acc], [rb.test_loss, rb.test_acc], rtol=rtol, atol=atol)
        sa, sb = expand_state(ra.state), expand_state(rb.state)
        assert sa.keys() == sb.keys()
        for key in sa:
            if key.endswith(".mask"):
                assert torch.equal(sa[key], sb[key]), key
            else:
                torch.testing.assert_close(sa[key], sb[key], rtol=1e-3, atol=weight_atol)


# ------------------------------------------------------------------ fast == reference


@pytest.mark.parametrize("model", MODEL_NAMES)
def test_fast_matches_reference(small, model):
    c = cell(model=model)
    assert_same_runs(train_cell(c, small, "cpu", engine="reference"), train_cell(c, small, "cpu", engine="fast"))


@pytest.mark.parametrize(
    "model, kw",
    [
        ("dANN-LRF", dict(layers=2)),
        ("sANN", dict(layers=2)),
        ("pdANN", dict(layers=2)),
        ("vANN", dict(dropout=0.5)),
        ("dANN-GRF", dict(sigma=0.5)),
        ("dANN-R", dict(sequential=True, batch_size=32)),
    ],
)
def test_fast_matches_reference_variants(small, model, kw):
    """Depth 2, dropout (the very same dropout masks), noise and the sequential task."""
    c = cell(model=model, **kw)
    assert_same_runs(train_cell(c, small, "cpu", engine="reference"), train_cell(c, small, "cpu", engine="fast"))


@pytest.mark.parametrize("model", ["dANN-LRF", "vANN-GRF", "sANN-GRF", "psANN"])
def test_fast_matches_reference_colour(colour, model):
    c = cell(model=model, epochs=1)
    assert_same_runs(train_cell(c, colour, "cpu", engine="reference"), train_cell(c, colour, "cpu", engine="fast"))


def test_fast_forward_and_gradients_equal_masked_dense():
    """One step, layer by layer: logits and every weight gradient (mapped back to the dense
    layout) equal the reference's, and the gradient outside the mask is exactly zero."""
    for model, shape, L in [("dANN-GRF", CIFAR, 1), ("sANN-LRF", MNIST, 2), ("vANN-R", MNIST, 1), ("psANN", MNIST, 1)]:
        nets = [build_model(model, shape, 10, 4, 32, L=L, seed=s) for s in (0, 1)]
        fast = engine.FastNet(nets)
        x = torch.rand(2, 40, int(np.prod(shape)))
        y = torch.randint(0, 10, (2, 40))
        logits = fast(x.transpose(1, 2).contiguous())
        F.cross_entropy(logits, y, reduction="none").mean(1).sum().backward()
        with torch.no_grad():  # the gradients, exported like weights
            grads = engine.FastNet(nets)
            for p, q in zip(grads.parameters(), fast.parameters()):
                p.copy_(q.grad)
        for r, net in enumerate(nets):
            ref_logits = net(x[r])
            torch.testing.assert_close(logits[r].t(), ref_logits, rtol=1e-5, atol=1e-5)
            F.cross_entropy(ref_logits, y[r]).backward()
            g = grads.export_state(r)
            for i, layer in enumerate(net.layers):
                torch.testing.assert_close(g[f"layers.{i}.weight"], layer.weight.grad, rtol=1e-4, atol=1e-6)
                torch.testing.assert_close(g[f"layers.{i}.bias"], layer.bias.grad, rtol=1e-4, atol=1e-6)
                if layer.mask is not None:
                    assert torch.count_nonzero(g[f"layers.{i}.weight"][~layer.mask]) == 0


# ------------------------------------------------------------------ batched == one by one


@pytest.mark.parametrize(
    "model, kw",
    [
        ("dANN-R", {}),
        ("sANN-GRF", {}),
        ("vANN", dict(dropout=0.2)),
        ("dANN-LRF", dict(sigma=0.25)),
        ("pdANN", dict(layers=2)),
        ("vANN-LRF", dict(sequential=True, batch_size=32)),
    ],
)
def test_batched_seeds_equal_sequential_seeds(small, model, kw):
    c = cell(model=model, seeds=(0, 1, 2), **kw)
    one_by_one = train_cell(c, small, "cpu", engine="fast", replicas=1)
    batched = train_cell(c, small, "cpu", engine="fast", replicas=3)
    assert [r.seed for r in batched] == [0, 1, 2]
    assert_same_runs(one_by_one, batched)


def test_early_stopping_per_replica(small):
    """Each replica stops on its own; the others go on undisturbed, best weights restored."""
    c = cell(model="vANN", lr=0.05, epochs=10, patience=1, seeds=(0, 1, 2, 3))
    one_by_one = train_cell(c, small, "cpu", engine="fast", replicas=1)
    batched = train_cell(c, small, "cpu", engine="fast", replicas=4)
    assert_same_runs(one_by_one, batched, weight_atol=1e-4)  # lr 0.05 amplifies rounding
    stopped = [r for r in batched if r.epochs_run < c.epochs]
    assert len({r.epochs_run for r in stopped}) > 1, "the test needs replicas stopping at different epochs"
    for r in stopped:
        assert r.epoch_min_val_loss == r.epochs_run - 2


def test_early_stopping_restores_only_when_patience_ran_out():
    """Authors' opt.py: best weights back only for a run whose patience ran out; a replica that
    reaches the epoch limit keeps its last weights, in both engines alike. 40 % of the training
    labels are scrambled so that the validation loss rises and falls by clear margins."""
    data = synthetic_prepared(n_train=500, n_test=200)
    g = torch.Generator().manual_seed(0)
    flip = torch.rand(500, generator=g) < 0.4
    data.y_train = data.y_train.clone()
    data.y_train[flip] = torch.randint(0, 10, (int(flip.sum()),), generator=g)
    c = cell(model="vANN", lr=0.01, epochs=8, patience=2, seeds=(0, 3, 4, 5))
    ref = train_cell(c, data, "cpu", engine="reference")
    fast = train_cell(c, data, "cpu", engine="fast", replicas=4)
    assert_same_runs(ref, fast)
    plain = train_cell(dataclasses.replace(c, patience=None), data, "cpu", engine="fast", replicas=4)
    ran_out = [r.epochs_run - 1 - r.epoch_min_val_loss >= c.patience for r in fast]
    kept_last = [not o and r.epoch_min_val_loss < r.epochs_run - 1 for o, r in zip(ran_out, fast)]
    assert any(ran_out) and any(kept_last), "the test needs both kinds of run"
    for r, p, out, last in zip(fast, plain, ran_out, kept_last):
        if out:
            assert r.test_loss != p.test_loss, f"seed {r.seed}: best weights not restored"
        elif last:
            assert r.test_loss == p.test_loss, f"seed {r.seed}: weights restored though patience remained"


def test_diverged_replica_is_frozen_and_harmless(small, monkeypatch):
    """A replica whose weights blow up is flagged as diverged; the others are the runs they
    would be alone."""
    c = cell(model="dANN-R", epochs=3, seeds=(0, 1, 2))
    alone = train_cell(c, small, "cpu", engine="fast", replicas=1)
    original = engine.FastNet.__init__

    def poisoned(self, nets):
        original(self, nets)
        with torch.no_grad():
            self.layers[-1].bias[1] = float("nan")  # replica 1 = seed 1 diverges at once

    monkeypatch.setattr(engine.FastNet, "__init__", poisoned)
    batched = train_cell(c, small, "cpu", engine="fast", replicas=3)
    assert batched[1].diverged and batched[1].epochs_run == 1
    assert math.isnan(batched[1].test_loss)
    assert not batched[0].diverged and not batched[2].diverged
    assert_same_runs([alone[0], alone[2]], [batched[0], batched[2]])


def test_frozen_replica_stops_updating():
    """Freezing = zero weights, zero Adam moments, loss weight 0: its update is exactly zero."""
    nets = [build_model("sANN", MNIST, 10, 2, 32, seed=s) for s in (0, 1)]
    fast = engine.FastNet(nets)
    opt = engine.make_optimizer(fast, 1e-2)
    x = torch.rand(1, 300, 784)
    y = torch.randint(0, 10, (300,))
    order = torch.stack([torch.randperm(300), torch.randperm(300)])
    w = torch.ones(2)
    engine.run_batches(fast, opt, x, y, order, [slice(0, 50)], w)
    fast.zero_replica_(1)
    for p in fast.parameters():
        opt.state[p]["exp_avg"][1].zero_()
        opt.state[p]["exp_avg_sq"][1].zero_()
    w[1] = 0.0
    before = fast.replica_state(1)
    engine.run_batches(fast, opt, x, y, order, [slice(50, 100), slice(100, 150)], w)
    for a, b in zip(before, fast.replica_state(1)):
        assert torch.equal(a, b) and not a.any()


# ------------------------------------------------------------------ masks and export


@pytest.mark.parametrize("model", ["dANN-LRF", "sANN", "vANN-GRF", "pdANN", "psANN"])
def test_masked_weights_exactly_zero_after_export(small, model):
    c = cell(model=model, seeds=(0, 1))
    for res in train_cell(c, small, "cpu", engine="fast", replicas=2):
        state = expand_state(res.state)
        masks = build_masks(model, MNIST, 2, 32, seed=res.seed)
        for i, mask in enumerate(masks):
            w = state[f"layers.{i}.weight"]
            if bool(mask.all()):
                assert f"layers.{i}.mask" not in state  # dense layers stay dense
                continue
            mask = torch.as_tensor(mask)
            assert torch.equal(state[f"layers.{i}.mask"], mask)
            assert torch.count_nonzero(w[~mask]) == 0
            assert torch.count_nonzero(w[mask]) == int(mask.sum()), "real connections were trained"


def test_fastnet_round_trip_and_layer_types():
    nets = [build_model(m, MNIST, 10, 4, 32, seed=3) for m in ("dANN-R", "vANN", "sANN")]
    kinds = {
        "dANN-R": ["SparseLinear", "BlockLinear", "DenseLinear"],
        "vANN": ["DenseLinear"] * 3,
        "sANN": ["SparseLinear", "SparseLinear", "DenseLinear"],
    }
    for net in nets:
        fast = engine.FastNet([net])
        assert [type(layer).__name__ for layer in fast.layers] == kinds[net.name]
        assert fast.n_params() == net.n_params()
        back = fast.to_dendritic_net(0)
        for key, val in net.state_dict().items():
            assert torch.equal(back.state_dict()[key], val), key
    with pytest.raises(ValueError, match="one architecture"):
        engine.FastNet([build_model("dANN-R", MNIST, 10, 4, 32), build_model("dANN-R", MNIST, 10, 2, 32)])


# ------------------------------------------------------------------ plumbing


def test_engine_option_plumbing(small):
    c = cell()
    assert c.engine == "fast"
    assert dataclasses.replace(c, engine="reference").id == c.id
    assert Cell.from_dict({**c.to_dict(), "engine": "reference"}).engine == "reference"
    cfg = {
        "datasets": ["fmnist"],
        "training": {"engine": "reference"},
        "experiments": {"main": {"datasets": ["fmnist"], "models": ["vANN"], "dendrites": [1], "somata": [32]}},
    }
    validate_config(cfg)
    assert [x.engine for x in expand_cells(cfg)] == ["reference"]
    default = {"datasets": ["fmnist"], "experiments": cfg["experiments"]}
    validate_config(default)
    assert default["training"]["engine"] == "fast"
    assert expand_cells(default)[0].id == expand_cells(cfg)[0].id
    from dendritic.config import ConfigError

    with pytest.raises(ConfigError, match="training.engine"):
        validate_config({**cfg, "training": {"engine": "turbo"}})
    with pytest.raises(ValueError, match="engine"):
        train_cell(c, small, "cpu", engine="turbo")


def test_cli_engine_flag():
    from dendritic.cli import build_parser

    args = ["train", "--model", "vANN", "--dataset", "fmnist", "-D", "1", "-S", "32"]
    assert build_parser().parse_args(args).engine == "fast"
    assert build_parser().parse_args(args + ["--engine", "reference"]).engine == "reference"
