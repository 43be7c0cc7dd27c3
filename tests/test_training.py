"""The training loop: determinism, masks, divergence, early stopping, the sequential task, outputs."""

import math

import pandas as pd
import pytest
import torch
from conftest import synthetic_prepared

from dendritic.cells import SUMMARY_COLUMNS, history_frame, load_run, metrics_frame, save_cell, train_cell
from dendritic.config import Cell
from dendritic.models import build_masks
from dendritic.training import (
    CONTINUE,
    DIVERGED,
    STOP,
    RunTracker,
    batch_slices,
    class_blocks,
    evaluate,
    run_data,
    split_validation,
    to_float,
)


def cell(**kw):
    base = dict(
        experiment="main", dataset="fmnist", model="dANN-R", dendrites=2, somata=32, epochs=2, lr=1e-3, seeds=(0,)
    )
    return Cell(**{**base, **kw})


def test_same_seed_same_numbers_other_seed_other_numbers(toy_data):
    c = cell(seeds=(3,))
    a, b = train_cell(c, toy_data, "cpu"), train_cell(c, toy_data, "cpu")
    pd.testing.assert_frame_equal(history_frame(a).drop(columns="time_s"), history_frame(b).drop(columns="time_s"))
    assert a[0].test_loss == b[0].test_loss
    other = train_cell(cell(seeds=(4,)), toy_data, "cpu")
    assert other[0].test_loss != a[0].test_loss


def test_learns_and_reports_contract_columns(toy_data):
    c = cell(model="vANN", epochs=3, seeds=(0, 1))
    res = train_cell(c, toy_data, "cpu")
    m = metrics_frame(c, res)
    assert list(m.columns) == SUMMARY_COLUMNS
    assert (m["test_acc"] > 0.5).all(), "a learnable toy task must be learned"
    assert m["test_acc"].between(0, 1).all()
    assert not m["diverged"].any()
    h = history_frame(res)
    assert len(h) == 2 * 3 and h["val_loss"].notna().all()
    assert h.groupby("seed")["train_loss"].apply(lambda s: s.iloc[-1] < s.iloc[0]).all()


@pytest.mark.parametrize("model", ["dANN-LRF", "sANN", "vANN-GRF"])
def test_masked_weights_stay_exactly_zero(toy_data, model):
    c = cell(model=model, epochs=2)
    res = train_cell(c, toy_data, "cpu")[0]
    masks = build_masks(model, (1, 28, 28), 2, 32, seed=0)
    state = load_state(res)
    for i, mask in enumerate(masks):
        if mask is None or bool(torch.as_tensor(mask).all()):
            continue
        w = state[f"layers.{i}.weight"]
        mask = torch.as_tensor(mask, dtype=torch.bool)
        assert torch.count_nonzero(w[~mask]) == 0
        assert torch.count_nonzero(w[mask]) == int(mask.sum()), "trained weights should be non-zero"


def load_state(res):
    from dendritic.training import expand_state

    return expand_state(res.state)


def test_diverged_run_is_flagged_not_reported(toy_data):
    c = cell(model="vANN", lr=1e20, epochs=3, seeds=(0,))
    res = train_cell(c, toy_data, "cpu")
    m = metrics_frame(c, res)
    assert m["diverged"].item() is True or bool(m["diverged"].item())
    assert math.isnan(m["test_loss"].item()) and math.isnan(m["test_acc"].item())


def test_early_stopping_restores_best_weights(toy_data):
    # a big learning rate makes the validation loss bounce, so patience 1 stops early
    c = cell(model="vANN", lr=0.05, epochs=30, patience=1, seeds=(0,))
    res = train_cell(c, toy_data, "cpu")[0]
    assert res.epochs_run < 30
    assert res.epoch_min_val_loss == res.epochs_run - 2  # best epoch, then one without progress
    model = load_run_from_result(c, res, toy_data)
    x_val_loss = min(h["val_loss"] for h in res.history)
    assert x_val_loss == pytest.approx(res.history[res.epoch_min_val_loss]["val_loss"])
    # the restored model is the best one: its test metrics are what was reported
    xt = to_float(toy_data.x_test, torch.device("cpu"))
    assert evaluate(model, xt, toy_data.y_test)[0] == pytest.approx(res.test_loss, rel=1e-6)


def load_run_from_result(c, res, data, tmp=None):
    import tempfile

    d = tempfile.mkdtemp()
    save_cell(d, c, [res])
    return load_run(f"{d}/weights.pt", res.seed, data.image_shape, data.n_classes)


def test_split_is_seeded_disjoint_and_sized():
    y = torch.arange(1000) % 10

    def g():
        return torch.Generator().manual_seed(7)

    tr, va = split_validation(y, 0.1, g())
    assert len(va) == 100 and len(tr) == 900
    assert not set(tr.tolist()) & set(va.tolist())
    tr2, va2 = split_validation(y, 0.1, g())
    assert torch.equal(va, va2)
    tr3, va3 = split_validation(y, 0.1, g(), per_class=True)
    assert (torch.bincount(y[va3]) == 10).all()
    assert torch.equal(y[tr3], y[tr3].sort().values), "sequential training set is ordered by class"


def test_sequential_batches_hold_one_class_in_class_order():
    data = synthetic_prepared(n_train=1000, n_test=100)
    c = cell(sequential=True, batch_size=32)
    dev = torch.device("cpu")
    rd = run_data(to_float(data.x_train, dev), data.y_train, to_float(data.x_test, dev), data.y_test, c, 0)
    slices = batch_slices(len(rd.x_train), c.batch_size, rd.class_blocks)
    classes = []
    for sl in slices:
        labels = rd.y_train[sl].unique()
        assert len(labels) == 1, "a sequential batch mixes classes"
        classes.append(int(labels))
    assert classes == sorted(classes) and set(classes) == set(range(10))
    assert sum(sl.stop - sl.start for sl in slices) == len(rd.x_train)


def test_noise_is_seeded_clipped_and_everywhere():
    data = synthetic_prepared(n_train=200, n_test=50)
    dev = torch.device("cpu")
    xtr, xte = to_float(data.x_train, dev), to_float(data.x_test, dev)
    c = cell(sigma=0.5)
    a = run_data(xtr, data.y_train, xte, data.y_test, c, 0)
    b = run_data(xtr, data.y_train, xte, data.y_test, c, 0)
    clean = run_data(xtr, data.y_train, xte, data.y_test, cell(), 0)
    assert torch.equal(a.x_test, b.x_test) and torch.equal(a.x_train, b.x_train)
    for x, x0 in [(a.x_train, clean.x_train), (a.x_val, clean.x_val), (a.x_test, clean.x_test)]:
        assert x.min() >= 0 and x.max() <= 1
        assert (x - x0).abs().mean() > 0.1


@pytest.mark.parametrize("engine", ["reference", "fast"])
def test_early_stopping_keeps_last_weights_when_patience_never_runs_out(toy_data, engine):
    """Authors' opt.py: the best weights come back only when patience ran out. A run that reaches
    its epoch limit is the run without early stopping, even when its best epoch was earlier."""
    es = cell(model="vANN", lr=0.05, epochs=3, patience=50, seeds=(1,))
    plain = cell(model="vANN", lr=0.05, epochs=3, seeds=(1,))
    a, b = (train_cell(c, toy_data, "cpu", engine=engine)[0] for c in (es, plain))
    assert a.epochs_run == 3
    assert a.epoch_min_val_loss < 2, "the test needs a run whose best epoch is not the last"
    assert a.test_loss == b.test_loss and a.test_acc == b.test_acc
    model = load_run_from_result(es, a, toy_data)
    xt = to_float(toy_data.x_test, torch.device("cpu"))
    assert evaluate(model, xt, toy_data.y_test)[0] == pytest.approx(a.test_loss, rel=1e-6)


def test_sequential_split_keeps_whole_batches_like_the_authors():
    """opt.py sequential_preprocess: 4 validation batches' worth per class on Fashion-MNIST, i.e.
    5,376 training images (42 batches of 128) and 624 validation images per class."""
    from dendritic.training import sequential_train_counts

    assert sequential_train_counts([6000] * 10, 0.1, 128) == [5376] * 10
    y = torch.arange(60_000) % 10
    tr, va = split_validation(y, 0.1, torch.Generator().manual_seed(0), per_class=True, batch_size=128)
    assert (torch.bincount(y[tr]) == 5376).all() and (torch.bincount(y[va]) == 624).all()
    assert not set(tr.tolist()) & set(va.tolist()) and len(tr) + len(va) == 60_000
    assert torch.equal(y[tr], y[tr].sort().values)
    # unequal classes (MNIST-like): each class keeps whole batches
    counts = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    train = sequential_train_counts(counts, 0.1, 128)
    assert all(t % 128 == 0 and 0 < t < n for t, n in zip(train, counts))
    with pytest.raises(ValueError, match="batch_size"):
        sequential_train_counts([100, 100], 0.5, 128)


def test_sequential_batches_are_full(toy_data):
    c = cell(sequential=True, batch_size=32)
    dev = torch.device("cpu")
    rd = run_data(
        to_float(toy_data.x_train, dev), toy_data.y_train, to_float(toy_data.x_test, dev), toy_data.y_test, c, 0
    )
    slices = batch_slices(len(rd.x_train), c.batch_size, rd.class_blocks)
    assert all(sl.stop - sl.start == 32 for sl in slices), "a sequential batch is not full"
    assert len(rd.x_val) > 0 and len(rd.x_train) + len(rd.x_val) == len(toy_data.y_train)


def test_run_tracker_patience_divergence_and_best_epoch():
    """The one bookkeeping both loops call: patience counts epochs without a lower validation
    loss, the best epoch's snapshot comes back only when patience ran out (or the run diverged),
    and the best epoch is the lowest finite validation loss."""
    snaps = iter(range(100))
    t = RunTracker(cell(patience=2, epochs=10), seed=0, n_params=5, snapshot=lambda: next(snaps))
    assert t.epoch(0, 1.0, 0.5, 0.9, 0.6, 0.1) == CONTINUE  # best: snapshot 0
    assert t.epoch(1, 0.8, 0.6, 0.7, 0.7, 0.1) == CONTINUE  # best: snapshot 1
    assert t.kept_weights() is None, "a run still going keeps its current weights"
    assert t.epoch(2, 0.7, 0.7, 0.8, 0.7, 0.1) == CONTINUE
    assert t.epoch(3, 0.6, 0.8, 0.75, 0.7, 0.1) == STOP
    assert t.kept_weights() == 1
    res = t.finish(lambda: (0.5, 0.9))
    assert (res.epochs_run, res.epoch_min_val_loss, res.test_loss, res.test_acc) == (4, 1, 0.5, 0.9)
    assert [h["epoch"] for h in res.history] == [0, 1, 2, 3] and not res.diverged

    plain = RunTracker(cell(epochs=3), seed=0, n_params=5, snapshot=lambda: 1 / 0)  # never called
    for e, v in enumerate([0.9, 1.0, 1.1]):
        assert plain.epoch(e, 1.0, 0.5, v, 0.5, 0.1) == CONTINUE
    assert plain.kept_weights() is None and plain.finish(lambda: (1.0, 0.5)).epoch_min_val_loss == 0

    div = RunTracker(cell(divergence_loss=10.0), seed=0, n_params=5, snapshot=lambda: "best")
    assert div.epoch(0, 11.0, 0.1, 1.0, 0.1, 0.1) == DIVERGED
    res = div.finish(lambda: 1 / 0)  # a diverged run is not tested
    assert res.diverged and math.isnan(res.test_loss) and res.epochs_run == 1
    nan = RunTracker(cell(), seed=0, n_params=5, snapshot=lambda: None)
    assert nan.epoch(0, 0.5, 0.1, math.nan, 0.1, 0.1) == DIVERGED
    inf_test = RunTracker(cell(), seed=0, n_params=5, snapshot=lambda: None)
    inf_test.epoch(0, 0.5, 0.1, 0.5, 0.1, 0.1)
    assert inf_test.finish(lambda: (math.inf, 0.1)).diverged


def test_class_blocks_are_the_runs_of_equal_labels():
    y = torch.tensor([0, 0, 0, 2, 2, 3])
    assert class_blocks(y) == [(0, 3), (3, 5), (5, 6)]
