"""The experiment pruning (iterative magnitude pruning, dendritic.pruning / imp_schedule) and the salt
test-time noise (dendritic.test_noise): exact per-layer counts, rewinding to θ₀, random tickets,
the dANN budget rounds, salt noise, and a killed job resuming at its last finished round."""

from __future__ import annotations

import copy
import math

import pandas as pd
import pytest
import torch
from conftest import synthetic_prepared

from dendritic import imp_schedule as sched
from dendritic import pruning
from dendritic import test_noise as tn
from dendritic.config import ConfigError, check_config, validate_config
from dendritic.models import build_model
from dendritic.plan import planned_figures, related_tables

SHAPE, C = (1, 28, 28), 10


def _trained_like(net, seed=0):
    """The weights of ``net`` moved randomly (as training would), with some exact ties."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for layer in list(net.layers)[:2]:
        w = layer.weight.detach() + 0.05 * torch.randn(layer.weight.shape, generator=g)
        w.view(-1)[:40] = 0.001  # ties among the smallest magnitudes: broken by index
        out.append(w * (layer.mask if layer.mask is not None else 1))
    return out


def test_one_round_removes_exactly_round_rate_alive_per_layer_and_rewinds_to_theta0():
    net = build_model("vANN", SHAPE, C, 1, 8, seed=3)
    theta0 = copy.deepcopy(net.state_dict())
    masks = pruning.net_masks(net, 2)
    weights = _trained_like(net)
    for r in range(3):
        new = pruning.prune_masks(weights, masks, 0.125, "layer")
        for w, old, m in zip(weights, masks, new):
            alive = int(old.sum())
            assert int(m.sum()) == alive - sched.prune_count(alive, 0.125)
            assert not bool((m & ~old).any())  # nothing revived
            removed, kept = w[old & ~m].abs(), w[m].abs()
            assert removed.max() <= kept.min()  # the smallest magnitudes went
            # ties at the threshold: the lower flat indices go first
            thr = removed.max()
            tied_removed = (
                (old & ~m).flatten().nonzero().squeeze(1)[w.flatten()[old.flatten() & ~m.flatten()].abs() == thr]
            )
            tied_kept = m.flatten().nonzero().squeeze(1)[w.flatten()[m.flatten()].abs() == thr]
            if len(tied_removed) and len(tied_kept):
                assert tied_removed.max() < tied_kept.min()
        ticket = pruning.ticket_net(theta0, new, 1, 8, SHAPE, C)
        for i, m in enumerate(new):
            w = ticket.layers[i].weight.detach()
            assert torch.equal(w[m], theta0[f"layers.{i}.weight"][m])  # survivors rewound to θ₀
            assert bool((w[~m] == 0).all())
            assert torch.equal(ticket.layers[i].bias.detach(), theta0[f"layers.{i}.bias"])
        assert ticket.layers[2].mask is None  # the output layer stays dense
        assert ticket.n_params() == sched.ticket_params("fmnist", 1, 8, [int(m.sum()) for m in new])
        masks = new


def test_global_scope_removes_round_rate_of_all_alive_weights():
    net = build_model("vANN", SHAPE, C, 1, 8, seed=1)
    masks, weights = pruning.net_masks(net, 2), _trained_like(net, 1)
    new = pruning.prune_masks(weights, masks, 0.125, "global")
    total = sum(int(m.sum()) for m in masks)
    assert sum(int(m.sum()) for m in new) == total - sched.prune_count(total, 0.125)
    removed = torch.cat([w[o & ~m].abs() for w, o, m in zip(weights, masks, new)])
    kept = torch.cat([w[m].abs() for w, m in zip(weights, new)])
    assert removed.max() <= kept.min()
    with pytest.raises(ValueError, match="scope"):
        pruning.prune_masks(weights, masks, 0.125, "per-unit")


def test_random_ticket_has_the_same_per_layer_counts_and_is_seeded():
    net = build_model("vANN", SHAPE, C, 1, 8, seed=0)
    masks = pruning.net_masks(net, 2)
    for _ in range(4):
        masks = pruning.prune_masks(_trained_like(net), masks, 0.125)
    rnd = pruning.random_masks(masks, seed=0, r=4)
    assert [int(m.sum()) for m in rnd] == [int(m.sum()) for m in masks]
    assert all(torch.equal(a, b) for a, b in zip(rnd, pruning.random_masks(masks, 0, 4)))
    assert not torch.equal(rnd[0], masks[0])
    assert not torch.equal(rnd[0], pruning.random_masks(masks, 1, 4)[0])


def test_schedule_reaches_the_dann_budget_at_rounds_29_and_30():
    assert sched.budget_round("fmnist", 1, 32, 0.125) == 29
    assert sched.budget_round("fmnist", 2, 128, 0.125) == 30
    assert sched.default_last_round("fmnist", 4, 128, 0.125) == 30
    frac = sched.remaining_fraction("fmnist", 2, 128, 0.125, 26)
    assert abs(frac - 0.875**26) < 1e-3 and abs(sched.remaining_fraction("fmnist", 2, 128, 0.125, 9) - 0.301) < 1e-3
    alive = sched.layer_schedule(sched.hidden_sizes("fmnist", 1, 32), 29, 0.125)[29]
    assert sum(alive) <= sched.dann_budget(1, 32) < sum(sched.layer_schedule([784 * 32, 32 * 32], 28, 0.125)[28])


def test_salt_noise_sets_exactly_round_q_pixels_and_is_seed_reproducible():
    x = torch.rand(50, 784) * 0.5
    order = tn.salt_order(50, 784, seed=2)
    for q in (0.1, 0.3, 0.5):
        noisy = tn.salt_noise(x, q, 0.706, order)
        k = round(q * 784)
        changed = noisy != x
        assert (changed.sum(1) == k).all() and bool((noisy[changed] == 0.706).all())
        again = tn.salt_noise(x, q, 0.706, tn.salt_order(50, 784, seed=2))
        assert torch.equal(noisy, again)
    other = tn.salt_noise(x, 0.3, 0.706, tn.salt_order(50, 784, seed=3))
    assert not torch.equal(other, tn.salt_noise(x, 0.3, 0.706, order))
    small, big = (tn.salt_noise(x, q, 0.706, order) != x for q in (0.1, 0.3))
    assert bool((small <= big).all())  # a larger q adds pixels to a smaller one's
    data = synthetic_prepared(n_train=200, n_test=10)
    assert math.isclose(tn.salt_value(data), 2 * float((data.x_train.double() / 255).std()), rel_tol=1e-6)


def _config(**pruning_keys):
    config = {
        "datasets": ["fmnist"],
        "seeds": [0, 1],
        "training": {"epochs": {"fmnist": 1}},
        "experiments": {"pruning": {"datasets": ["fmnist"], "networks": [[1, 4]], **pruning_keys}},
    }
    validate_config(config)
    return config


def test_config_plans_the_tables_and_figure_and_checks_rewind_epoch():
    config = _config()
    exp = config["experiments"]["pruning"]
    assert exp["rate"] == 0.125 and exp["scope"] == "layer" and exp["prune_output"] is False
    assert sched.pruning_cells(config) == [("fmnist", 1, 4)]
    assert sched.random_rounds(exp, "fmnist", 1, 4) == [9, 26, sched.budget_round("fmnist", 1, 4, 0.125)]
    assert set(related_tables([], config)) == {"pruning", "pruning_noise"}
    assert "related_imp" in planned_figures([], config)
    bad = copy.deepcopy(config)
    bad["experiments"]["pruning"]["rewind_epoch"] = 1
    with pytest.raises(ConfigError, match="rewind_epoch"):
        check_config(bad)


def test_killed_pruning_job_resumes_at_its_last_finished_round(tmp_path):
    config = _config(rounds=3, random_rounds=[2], noise_rounds=[0, 2])
    data = synthetic_prepared(n_train=600, n_test=200)
    whole = pruning.prune_cell(config, "fmnist", 1, 4, data, tmp_path / "a" / "tickets.csv", "cpu")
    assert len(whole) == 2 * (4 + 1) and set(whole["ticket"]) == {"imp", "random"}
    alive = whole[whole["ticket"] == "imp"].groupby("round")["hidden_weights"].unique()
    assert [int(a[0]) for a in alive] == [sum(a) for a in sched.layer_schedule([784 * 4, 16], 3, 0.125)]

    killed = tmp_path / "b" / "tickets.csv"
    pruning.prune_cell(config, "fmnist", 1, 4, data, killed, "cpu", stop_after=1)  # killed after round 1
    assert not killed.exists() and (killed.parent / "round_01" / "metrics.csv").exists()
    assert not (killed.parent / "round_02").exists()
    stamps = {r: (killed.parent / f"round_0{r}" / "weights.pt").stat().st_mtime_ns for r in (0, 1)}
    resumed = pruning.prune_cell(config, "fmnist", 1, 4, data, killed, "cpu")
    assert {r: (killed.parent / f"round_0{r}" / "weights.pt").stat().st_mtime_ns for r in (0, 1)} == stamps
    cols = ["ticket", "round", "seed", "hidden_weights", "n_params", "test_acc", "test_loss"]
    pd.testing.assert_frame_equal(resumed[cols], whole[cols])
    # the tickets under Gaussian and salt noise: dense, round 2 and the random one
    noise = pruning.pruning_noise_frame(config, "fmnist", 1, 4, killed.parent, data)
    assert set(zip(noise["ticket"], noise["round"])) == {("imp", 0), ("imp", 2), ("random", 2)}
    assert set(noise["kind"]) == {"gaussian", "salt"}


def test_masked_dense_and_csr_tickets_train_the_same_and_keep_pruned_weights_zero():
    from dendritic import engine as fast
    from dendritic.config import Cell
    from dendritic.training import expand_state, to_float

    data = synthetic_prepared(n_train=400, n_test=100)
    cell = Cell(
        experiment="pruning", dataset="fmnist", model="vANN", dendrites=1, somata=4, epochs=2, lr=1e-3, seeds=(0, 1)
    )
    x, xt = to_float(data.x_train, "cpu"), to_float(data.x_test, "cpu")
    runs = {}
    for name, dense_above in (("masked-dense", 0.0), ("csr", 2.0)):
        nets, masks = [], {}
        for seed in cell.seeds:
            net = build_model("vANN", SHAPE, C, 1, 4, seed=seed)
            masks[seed] = pruning.prune_masks(_trained_like(net, seed), pruning.net_masks(net, 2), 0.5)
            nets.append(pruning.ticket_net(net.state_dict(), masks[seed], 1, 4, SHAPE, C))
        fnet = pruning.fast_net(nets, dense_above)
        kinds = {type(layer).__name__ for layer in list(fnet.layers)[:2]}
        assert kinds == ({"MaskedDenseLinear"} if dense_above < 1 else {"SparseLinear"})
        rd = fast.replica_data(x, data.y_train, xt, data.y_test, cell, cell.seeds)
        runs[name] = fast.train_replicas(fnet, rd, cell, cell.seeds)
        for res in runs[name]:
            state = expand_state(res.state)
            for i, m in enumerate(masks[res.seed]):
                assert torch.equal(state[f"layers.{i}.mask"], m)
                assert bool((state[f"layers.{i}.weight"][~m] == 0).all())
    for a, b in zip(runs["masked-dense"], runs["csr"]):
        losses = [[h["train_loss"] for h in r.history] for r in (a, b)]
        assert losses[0] == pytest.approx(losses[1], rel=1e-4)
        assert a.n_params == b.n_params


def _tables(drop_w3: float, drop_r9: float, seeds=(0, 1, 2, 3, 4)):
    """Synthetic pruning tables of vANN(2, 128): dense 0.88; w3 and the random tickets lower by the
    given amounts (± a seed-dependent jitter); noise rows where every ticket keeps the same share."""
    rows, noise = [], []
    budget = sched.budget_round("fmnist", 2, 128, 0.125)
    tickets = [("imp", r) for r in range(budget + 1)] + [("random", 9), ("random", 26), ("random", budget)]
    for ticket, r in tickets:
        for s in seeds:
            jitter = 0.001 * (s - 2)
            acc = 0.88 + jitter
            if ticket == "imp" and r == 26:
                acc -= drop_w3
            if ticket == "random":
                acc -= drop_r9 if r == 9 else 0.05
            rows.append(
                dict(
                    dataset="fmnist",
                    dendrites=2,
                    somata=128,
                    seed=s,
                    ticket=ticket,
                    round=r,
                    remaining=0.875**r,
                    hidden_weights=int(233472 * 0.875**r),
                    budget_round=budget,
                    n_params=1000,
                    test_acc=acc,
                    test_loss=0.4,
                    epochs=25,
                    diverged=False,
                )
            )
            for kind, levels in (("gaussian", (0.0, 0.5)), ("salt", (0.0, 0.3))):
                for lv in levels:
                    rel = 1.0 if lv == 0 else 0.5 + jitter
                    noise.append(
                        dict(
                            dataset="fmnist",
                            model="vANN",
                            dendrites=2,
                            somata=128,
                            seed=s,
                            ticket=ticket,
                            round=r,
                            remaining=0.875**r,
                            n_params=1000,
                            kind=kind,
                            sigma=lv if kind == "gaussian" else math.nan,
                            q=lv if kind == "salt" else math.nan,
                            test_loss=1.0,
                            test_acc=acc * rel,
                            diverged=False,
                        )
                    )
    return pd.DataFrame(rows), pd.DataFrame(noise)


def test_verdict_rows_c1_to_c4_decide_from_the_tables():
    from dendritic.reproduction import related_imp as ri

    def status(out, claim, check):
        return out[(out["claim"] == claim) & (out["check"].str.startswith(check))]["status"].iloc[0]

    pr, nz = _tables(drop_w3=0.0, drop_r9=0.0)
    out = pd.DataFrame(ri.rows(pd.DataFrame(), {"pruning": pr, "pruning_noise": nz}))
    assert status(out, "C1", "round-26") == "reproduced"
    assert status(out, "C2", "random ticket, round 9") == "reproduced"
    assert status(out, "C2", "random ticket, round 26") == "reproduced"
    assert (out[out["claim"] == "C3"]["status"] == "reproduced").all()
    assert (out[out["claim"] == "C4"]["status"] == "inconclusive").all()  # no main test noise
    assert "analysis.test_noise" in out[out["claim"] == "C4"]["missing"].iloc[0]
    pr, nz = _tables(drop_w3=0.03, drop_r9=0.02)
    out = pd.DataFrame(ri.rows(pd.DataFrame(), {"pruning": pr, "pruning_noise": nz}))
    assert status(out, "C1", "round-26") == "not reproduced"
    assert status(out, "C2", "random ticket, round 9") == "not reproduced"
    short = pr[pr["round"] <= 9]
    out = pd.DataFrame(ri.rows(pd.DataFrame(), {"pruning": short}))
    assert status(out, "C1", "round-26") == "inconclusive"
    assert "round ≥ 26" in out[out["claim"] == "C1"]["missing"].iloc[0]


def test_related_imp_figure_draws_png_and_pdf(tmp_path):
    from dendritic.plots.related_imp import plot_related_imp

    pr, nz = _tables(0.01, 0.0, seeds=(0, 1, 2))
    paths = [tmp_path / "related_imp.png", tmp_path / "related_imp.pdf"]
    agg = plot_related_imp(pr, nz, paths)
    assert all(p.stat().st_size > 0 for p in paths)
    assert set(agg["ticket"]) == {"imp", "random"}
