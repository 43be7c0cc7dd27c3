"""The learning-rule comparison's evaluations: FGSM/PGD (dendritic.adversarial), few-shot draws
and runs (dendritic.few_shot), the weight statistics (dendritic.eg_eval)."""

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import synthetic_prepared

from dendritic.adversarial import ADVERSARIAL_COLUMNS, adversarial_frame, attack_accuracy, pgd
from dendritic.cells import save_cell, train_cell
from dendritic.config import Cell
from dendritic.eg_eval import layer_weight_stats, run_eg_evaluation
from dendritic.few_shot import few_shot_frame, few_shot_indices
from dendritic.models import build_model
from dendritic.training import evaluate, to_float


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def small():
    return synthetic_prepared(n_train=600, n_test=200)


@pytest.fixture(scope="module")
def trained(small, tmp_path_factory):
    """Two cells (adam/glorot and eg_adam/lognormal) of 2 seeds, saved as the train rule does."""
    paths = []
    for opt, init in (("adam", "glorot"), ("eg_adam", "lognormal")):
        c = Cell(
            experiment="learning_rule" if opt != "adam" else "main",
            dataset="fmnist",
            model="dANN-R",
            dendrites=2,
            somata=32,
            epochs=3,
            lr=3e-3,
            seeds=(0, 1),
            batch_size=64,
            optimizer=opt,
            init=init,
        )
        out = tmp_path_factory.mktemp(opt)
        save_cell(out, c, train_cell(c, small, "cpu"))
        paths.append(out / "weights.pt")
    return paths


def test_fgsm_at_zero_is_clean_accuracy_and_attacks_hurt(small, trained):
    df = adversarial_frame(trained, small, [0.0, 0.1, 0.3], pgd_steps=3)
    assert list(df.columns) == ADVERSARIAL_COLUMNS and len(df) == 2 * 2 * 3 * 2
    metrics = pd.concat([pd.read_csv(p.parent / "metrics.csv") for p in trained])
    clean = df[(df.epsilon == 0) & (df.attack == "fgsm")].merge(metrics, on=["cell", "seed"], suffixes=("", "_m"))
    np.testing.assert_allclose(clean["test_acc"], clean["test_acc_m"], atol=1e-6)
    fg = df[df.attack == "fgsm"].pivot_table(index=["cell", "seed"], columns="epsilon", values="test_acc")
    assert (fg[0.3] < fg[0.0]).all() and (fg[0.1] <= fg[0.0]).all()
    assert set(df.optimizer) == {"adam", "eg_adam"}


def test_pgd_stays_in_the_ball_and_pixel_range(small):
    model = build_model("vANN", (1, 28, 28), 10, 1, 16, seed=0)
    x, y = to_float(small.x_test[:50], torch.device("cpu")), small.y_test[:50]
    adv = pgd(model, x, y, 0.05, 5)
    assert float((adv - x).abs().max()) <= 0.05 + 1e-6 and adv.min() >= 0 and adv.max() <= 1
    assert attack_accuracy(model, x, y, 0.0) == pytest.approx(evaluate(model, x, y))


def test_few_shot_draws_are_seeded_balanced_and_nested(small):
    y = small.y_train
    a, b, c = few_shot_indices(y, 5, 3), few_shot_indices(y, 5, 3), few_shot_indices(y, 5, 4)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert torch.bincount(y[a], minlength=10).tolist() == [5] * 10 and len(set(a.tolist())) == 50
    ten = few_shot_indices(y, 10, 3).view(10, 10)
    assert torch.equal(ten[:, :5].reshape(-1), a)  # n = 5 is a prefix of n = 10, class by class


def test_few_shot_frame_reproducible(small):
    kw = dict(dataset="fmnist", model="dANN-LRF", dendrites=[1], somata=[16], shots=[2], seeds=[0], steps=20)
    rules = [("adam", "glorot"), ("eg_adam", "lognormal")]
    a, b = (few_shot_frame(small, rules=rules, **kw) for _ in range(2))
    assert len(a) == 2 and a["n_train"].tolist() == [20, 20]
    pd.testing.assert_frame_equal(a.drop(columns="wall_s"), b.drop(columns="wall_s"))
    assert a["optimizer"].tolist() == ["adam", "eg_adam"] and a["cell"].tolist()[1] == "D1_S16_eg_adam_lognormal"


def test_layer_weight_stats_by_hand():
    rng = np.random.default_rng(0)
    w = np.exp(rng.normal(-3, 0.5, size=(200, 100))) * rng.choice([-1, 1], size=(200, 100))
    s = layer_weight_stats(w, None)
    assert abs(s["log_skew"]) < 0.1 and s["log_ks"] < 0.02 and s["dale_index"] == 0.0
    dale = np.abs(w) * np.sign(rng.normal(size=(1, 100)))
    dale[:, :10] = 0.0  # silent units are left out
    dale[0, 10:20] = 1e-6 * np.sign(dale[2, 10:20])  # 10 tiny weights: below 1e-3 · max
    mask = np.ones_like(dale, dtype=bool)
    mask[1] = False  # not counted
    s = layer_weight_stats(dale, mask)
    assert s["dale_index"] == 1.0 and s["n_weights"] == 199 * 100
    assert s["weight_sparsity"] == pytest.approx((199 * 10 + 10) / (199 * 100))
    skewed = layer_weight_stats(rng.uniform(0.01, 1, size=(100, 100)), None)
    assert skewed["log_skew"] < -0.5


def test_eg_evaluation_job(small, trained, tmp_path):
    data = tmp_path / "toy.pt"
    torch.save({}, data)  # not read: without "adversarial" the job needs the weights only
    out = {k: tmp_path / f"{k}.csv" for k in ("weights", "hists")}
    run_eg_evaluation(trained, data, out)
    w = pd.read_csv(out["weights"])
    assert len(w) == 2 * 2 * 3 and set(w.layer) == {"dendrites", "somata", "output"}
    eg = w[w.optimizer == "eg_adam"]
    assert (eg[eg.layer == "somata"].dale_index == 1.0).all()  # a dendrite feeds one soma
    h = pd.read_csv(out["hists"])
    n = w[w.seed.isin([0, 1])].groupby(["cell", "layer"]).n_weights.sum()
    assert (h.groupby(["cell", "layer"])["count"].sum() == n).all()
