"""The paper's models (the paper, Methods, "Architecture"): spec table, masks, parameter counts, init,
training invariants."""

import copy
import io

import numpy as np
import pytest
import torch

from dendritic import connectivity as cn
from dendritic.models import (
    MODEL_NAMES,
    MODEL_SPECS,
    DendriticNet,
    build_masks,
    build_model,
    count_params,
    formula_params,
    model_label,
    model_spec,
)

MNIST, CIFAR = (1, 28, 28), (3, 32, 32)

#: The dropout rates of the paper's vANN-dropout variants (supplementary experiments).
DROPOUT_RATES = (0.2, 0.5, 0.8)


def masked_layers(net):
    """``(linear, mask)`` for every layer of ``net`` with a (sparse) mask, in order."""
    return [(layer, layer.mask) for layer in net.layers if layer.mask is not None]


PAPER_TABLE = {  # the paper, Methods: the 12 models
    "dANN-R": ("R", "structured"),
    "dANN-LRF": ("LRF", "structured"),
    "dANN-GRF": ("GRF", "structured"),
    "pdANN": ("F", "structured"),
    "vANN": ("F", "dense"),
    "vANN-R": ("R", "dense"),
    "vANN-LRF": ("LRF", "dense"),
    "vANN-GRF": ("GRF", "dense"),
    "sANN": ("R", "random"),
    "sANN-LRF": ("LRF", "random"),
    "sANN-GRF": ("GRF", "random"),
    "psANN": ("F", "random"),
}


def paper_formula(name, N, C, D, S, k):
    """The four closed forms of the paper's Methods (L = 1), written out independently of the package."""
    DS = D * S
    if name.startswith(("dANN", "sANN")):
        return (k + 1) * DS + (D + 1) * S + (S + 1) * C
    if name in ("pdANN", "psANN"):
        return (N + 1) * DS + (D + 1) * S + (S + 1) * C
    if name in ("vANN-R", "vANN-LRF", "vANN-GRF"):
        return (k + 1) * DS + (DS + 1) * S + (S + 1) * C
    assert name == "vANN"
    return (N + 1) * DS + (DS + 1) * S + (S + 1) * C


def test_model_names_and_spec_table():
    assert MODEL_NAMES == (
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
    )
    assert {n: tuple(s[:2]) for n, s in MODEL_SPECS.items() if not s.dac} == PAPER_TABLE
    assert model_spec("sANN-GRF").sampling == "GRF" and model_spec("sANN-GRF").somata == "random"


def test_unknown_name_lists_valid_names():
    for call in (
        lambda: build_model("dANN", MNIST, 10, 1, 32),
        lambda: model_spec("xANN"),
        lambda: build_masks("vann", MNIST, 1, 32),
        lambda: count_params("F", MNIST, 10, 1, 1),
    ):
        with pytest.raises(ValueError) as err:
            call()
        assert all(name in str(err.value) for name in MODEL_NAMES)


def test_model_label():
    assert [model_label("vANN", p) for p in DROPOUT_RATES] == ["vANN-0.2", "vANN-0.5", "vANN-0.8"]
    assert model_label("vANN") == "vANN" and model_label("dANN-R", 0.0) == "dANN-R"
    assert build_model("vANN", MNIST, 10, 1, 32, dropout=0.5).label == "vANN-0.5"


@pytest.mark.parametrize(
    "name, D, S, expected",
    [
        ("dANN-R", 1, 32, 938),
        ("dANN-LRF", 1, 32, 938),
        ("dANN-GRF", 1, 32, 938),
        ("dANN-R", 4, 128, 10_634),
        ("vANN", 4, 128, 468_874),
        ("vANN", 64, 512, 42_505_738),
        ("pdANN", 64, 512, 25_761_290),
    ],
)
def test_parameter_counts_check_values(name, D, S, expected):
    assert count_params(name, MNIST, 10, D, S) == expected
    assert formula_params(name, MNIST, 10, D, S) == expected


@pytest.mark.parametrize("name", MODEL_NAMES)
@pytest.mark.parametrize("image_shape, n_classes", [(MNIST, 10), (MNIST, 47), (CIFAR, 10)])
def test_parameter_counts_all_models_all_shapes(name, image_shape, n_classes):
    C = image_shape[0]
    N = int(np.prod(image_shape))
    k = 16 * C if model_spec(name).sampling in ("LRF", "GRF") else 16  # 48 weights on CIFAR RFs
    for D, S in [(1, 32), (4, 64), (16, 32)]:
        expected = paper_formula(name, N, n_classes, D, S, k)
        assert count_params(name, image_shape, n_classes, D, S) == expected
        assert formula_params(name, image_shape, n_classes, D, S) == expected
    model = build_model(name, image_shape, n_classes, 2, 32, seed=1)
    assert model.n_params() == paper_formula(name, N, n_classes, 2, 32, k)
    assert model.n_params() == sum(int((p != 0).sum()) for p in model.parameters() if p.dim() == 2) + sum(
        p.numel() for p in model.parameters() if p.dim() == 1
    )


@pytest.mark.parametrize("name", MODEL_NAMES)
@pytest.mark.parametrize("L", [2, 3])
def test_depth_shapes_and_counts(name, L):
    D, S = 4, 32
    masks = build_masks(name, MNIST, D, S, L=L, seed=3)
    assert len(masks) == 2 * L
    assert [m.shape for m in masks] == [(D * S, 784), (S, D * S)] + [(D * S, S), (S, D * S)] * (L - 1)
    model = build_model(name, MNIST, 10, D, S, L=L, seed=3)
    for layer, mask in zip(model.layers, masks):
        if layer.mask is not None:
            assert np.array_equal(layer.mask.numpy(), mask)
    assert model.n_params() == count_params(name, MNIST, 10, D, S, L=L) == formula_params(name, MNIST, 10, D, S, L=L)
    x = torch.rand(5, 784)
    assert model(x).shape == (5, 10)
    assert [h.shape for h in model.hidden(x)] == [(5, D * S), (5, S)] * L


def test_depth_samples_somata_on_grid():
    # dANN-LRF, S = 256: the second dendritic layer takes 16 neighbouring somata of a 16×16 grid
    masks = build_masks("dANN-LRF", MNIST, 8, 256, L=2, seed=0)
    second = masks[2]
    assert second.shape == (8 * 256, 256) and (second.sum(1) == 16).all()
    h, w = cn.grid_shape(256)
    for row in second[:200]:
        ys, xs = np.nonzero(row.reshape(h, w))
        assert np.ptp(ys) <= 6 and np.ptp(xs) <= 6  # Chebyshev radius <= 3 around a centre
    # GRF at depth 2 with D = 32 (the depth experiment): every dendrite has 16 inputs
    assert (build_masks("dANN-GRF", MNIST, 32, 256, L=2)[2].sum(1) == 16).all()


def test_counts_for_larger_depth_formula():
    # the paper's depth grid: S = 256, D in {8, 16, 32}
    for name in ("dANN-R", "dANN-LRF", "vANN", "pdANN"):
        for L in (2, 4):
            counted = count_params(name, MNIST, 10, 8, 256, L=L)
            assert counted == formula_params(name, MNIST, 10, 8, 256, L=L)


def test_model_structure_and_masks():
    m = build_model("dANN-LRF", MNIST, 10, 4, 32)
    assert m.kinds == ["LRF", "structured", "dense"]
    assert [tuple(layer.weight.shape) for layer in m.layers] == [(128, 784), (32, 128), (10, 32)]
    assert m.masks[2] is None and all(mask.dtype == torch.bool for mask in m.masks[:2])
    assert [lin for lin, _ in masked_layers(m)] == list(m.layers[:2])
    assert "layers.0.mask" in m.state_dict()  # masks are buffers
    assert list(masked_layers(build_model("vANN", MNIST, 10, 2, 32))) == []
    assert len(list(masked_layers(build_model("pdANN", MNIST, 10, 2, 32)))) == 1
    assert len(list(masked_layers(build_model("psANN", MNIST, 10, 2, 32)))) == 1


def test_init_glorot_zero_bias_masked():
    m = build_model("sANN-GRF", MNIST, 10, 4, 32, seed=4)
    for layer in m.layers:
        w = layer.weight.detach()
        limit = np.sqrt(6 / (layer.in_features + layer.out_features))
        assert w.abs().max() <= limit and w.abs().max() > 0.9 * limit
        assert (layer.bias == 0).all()
        if layer.mask is not None:
            assert (w[~layer.mask] == 0).all() and (w[layer.mask] != 0).all()


def test_same_seed_bit_identical_and_seed_sensitive():
    state_before = torch.get_rng_state()
    for name in ("dANN-R", "dANN-GRF", "sANN-LRF", "vANN"):
        a = build_model(name, MNIST, 10, 4, 32, seed=7).state_dict()
        b = build_model(name, MNIST, 10, 4, 32, seed=7).state_dict()
        c = build_model(name, MNIST, 10, 4, 32, seed=8).state_dict()
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
        assert not torch.equal(a["layers.0.weight"], c["layers.0.weight"])
        if name != "vANN":
            assert not torch.equal(a["layers.0.mask"], c["layers.0.mask"])
    assert torch.equal(torch.get_rng_state(), state_before)  # global torch RNG untouched
    masks_a, masks_b = (build_masks("sANN", MNIST, 4, 32, seed=1) for _ in range(2))
    assert all(np.array_equal(a, b) for a, b in zip(masks_a, masks_b))
    # masks and init of the first layers do not depend on the depth
    m1, m2 = (build_model("dANN-LRF", MNIST, 10, 4, 32, L=L, seed=2) for L in (1, 2))
    assert torch.equal(m1.layers[0].weight, m2.layers[0].weight)
    assert torch.equal(m1.layers[1].mask, m2.layers[1].mask)


def adam_steps(model, steps=5, n_inputs=784, n_classes=10):
    gen = torch.Generator().manual_seed(0)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2, eps=1e-7)
    for _ in range(steps):
        x = torch.rand(32, n_inputs, generator=gen)
        y = torch.randint(0, n_classes, (32,), generator=gen)
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_masked_weights_stay_zero_under_adam(name):
    model = build_model(name, MNIST, 10, 4, 32, L=2, seed=5)
    before = [layer.weight.detach().clone() for layer in model.layers]
    adam_steps(model)
    for layer, w0 in zip(model.layers, before):
        w = layer.weight.detach()
        live = layer.mask if layer.mask is not None else torch.ones_like(w, dtype=torch.bool)
        assert (w[~live] == 0).all()
        assert (w[live] != w0[live]).float().mean() > 0.5  # the live weights did learn
    assert model.n_params() == count_params(name, MNIST, 10, 4, 32, L=2)


def test_mask_hook_survives_copy_pickle_and_assign():
    model = build_model("dANN-R", MNIST, 10, 2, 32, seed=6)
    buf = io.BytesIO()
    torch.save(model, buf)
    buf.seek(0)
    fresh = build_model("dANN-R", MNIST, 10, 2, 32, seed=9)
    fresh.load_state_dict(model.state_dict(), assign=True)
    for m in (copy.deepcopy(model), torch.load(buf, weights_only=False), fresh):
        adam_steps(m)
        for layer, mask in masked_layers(m):
            assert (layer.weight.detach()[~mask] == 0).all()


def test_forward_hidden_and_dropout():
    m = build_model("vANN", CIFAR, 10, 2, 32, dropout=0.5, seed=0)
    x = torch.rand(8, 3, 32, 32)
    flat = x.reshape(8, -1)
    m.eval()
    assert torch.equal(m(x), m(flat)) and m(flat).shape == (8, 10)
    m.train()
    assert not torch.equal(m(flat), m(flat))  # dropout active in training
    h1, h2 = m.hidden(flat), m.hidden(flat)  # hidden() never drops out
    assert [h.shape for h in h1] == [(8, 64), (8, 32)]
    assert all(torch.equal(a, b) for a, b in zip(h1, h2))
    assert (h1[0].min() < 0) and torch.allclose(h1[0][h1[0] < 0] / 0.1, m.layers[0](flat)[h1[0] < 0])
    with pytest.raises(ValueError):
        build_model("vANN", MNIST, 10, 1, 32, dropout=1.0)


def test_dendritic_net_defaults_to_seed_zero_masks():
    net = DendriticNet("dANN-GRF", MNIST, 10, 4, 32)
    assert np.array_equal(net.layers[0].mask.numpy(), build_masks("dANN-GRF", MNIST, 4, 32)[0])
