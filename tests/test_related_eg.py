"""Neighbouring system B (EG stand-in): verdict rows B1-B5, the plan of its tables and jobs, the
figure."""

import numpy as np
import pandas as pd
import pytest

from dendritic.config import expand_cells, load_config
from dendritic.plan import eg_cells, few_shot_rules, planned_figures, related_tables
from dendritic.reproduction import related_eg
from dendritic.reproduction.related import related_claims

SEEDS = [0, 1, 2]
MODELS = ["dANN-R", "vANN"]


def _runs(**extra):
    return [
        dict(
            dataset="fmnist",
            model=m,
            dendrites=4,
            somata=128,
            seed=s,
            optimizer=o,
            **extra,
            experiment="main" if o == "adam" else "learning_rule",
            init="glorot" if o == "adam" else "lognormal",
            cell="D4_S128" if o == "adam" else "D4_S128_eg_adam_lognormal",
            diverged=False,
        )
        for m in MODELS
        for s in SEEDS
        for o in ("adam", "eg_adam")
    ]


def tables(eg_gain=0.05, seeds=SEEDS):
    rng = np.random.default_rng(0)
    w = []
    for r in _runs():
        if r["seed"] not in seeds:
            continue
        eg = r["optimizer"] == "eg_adam"
        for layer, pre in (("dendrites", "pixels"), ("somata", "dendrites"), ("output", "somata")):
            w.append(
                dict(
                    r,
                    layer=layer,
                    presynaptic=pre,
                    n_weights=100,
                    log_skew=0.1 if eg else -1.0,
                    log_ks=0.02 if eg else 0.1,
                    weight_sparsity=0.3 if eg else 0.01,
                    dale_index=1.0 if pre == "dendrites" else 0.0,
                    frac_positive=0.5,
                )
            )
    adv = pd.DataFrame(
        [
            dict(
                r,
                attack="fgsm",
                epsilon=e,
                steps=1,
                test_acc=0.5 - e + (eg_gain if r["optimizer"] == "eg_adam" else 0) + 0.002 * rng.normal(),
            )
            for r in _runs()
            if r["seed"] in seeds
            for e in (0.0, 0.1)
        ]
    )
    fs = pd.DataFrame(
        [
            dict(r, shots=10, test_acc=0.6 - (0.05 if r["optimizer"] == "eg_adam" else 0))
            for r in _runs()
            if r["seed"] in seeds
        ]
    )
    summary = pd.DataFrame(_runs(epochs=25, max_epochs=25))
    return summary, {"eg_weights": pd.DataFrame(w), "adversarial": adv, "few_shot": fs.drop(columns="experiment")}


def _status(rows, claim, model=None):
    return [r["status"] for r in rows if r["claim"] == claim and (model is None or r["model"] == model)]


def test_rows_decide_each_claim_and_say_stand_in():
    df, t = tables()
    rows = related_eg.rows(df, t)
    assert _status(rows, "B1") == ["reproduced"] * 2
    assert _status(rows, "B2") == ["reproduced"] * 2
    (b3,) = [r for r in rows if r["claim"] == "B3"]
    assert b3["status"] == "inconclusive" and "not testable: EG fixes signs" in b3["missing"]
    assert b3["value"] == pytest.approx(0.5)  # mean of the dendrites' 1 and the somata's 0
    assert "dendrites 1, somata 0" in b3["detail"]
    assert _status(rows, "B4") == ["reproduced"] * 2
    assert _status(rows, "B5") == ["not reproduced"] * 2  # eg_adam worse here
    assert all("stand-in: EG, not the paper's rule" in r["detail"] for r in rows)
    assert all("stand-in: EG, not the paper's rule" in c for c in related_eg.CLAIMS.values())


def test_no_gain_is_not_reproduced_and_few_seeds_inconclusive():
    df, t = tables(eg_gain=-0.05)
    assert _status(related_eg.rows(df, t), "B4") == ["not reproduced"] * 2
    df, t = tables(seeds=[0, 1])
    rows = related_eg.rows(df, t)
    assert _status(rows, "B4") == ["inconclusive"] * 2
    assert all("paired seeds" in r["missing"] for r in rows if r["claim"] == "B4")


def test_short_training_and_absent_tables_are_inconclusive():
    df, t = tables()
    df["max_epochs"] = df["epochs"] = 2
    assert set(_status(related_eg.rows(df, t), "B4")) == {"inconclusive"}
    rows = related_eg.rows(df, {})
    assert {r["status"] for r in rows} == {"inconclusive"} and {r["claim"] for r in rows} == set(related_eg.CLAIMS)
    assert related_eg.rows(df[df.experiment == "main"], {}) == []  # not run: no rows


def test_hooked_into_the_related_section(monkeypatch):
    from dendritic.reproduction import related

    assert "related_eg" in related.SYSTEMS
    monkeypatch.setattr(related, "SYSTEMS", ("related_eg",))  # the others read columns this table lacks
    df, t = tables()
    out = related_claims(df, t)
    assert set(out[out.check == "overall"].claim) >= set(related_eg.CLAIMS)


def test_plan_tables_jobs_and_figure(repo_root):
    config = load_config(repo_root / "config" / "demo.yaml")
    cells = expand_cells(config)
    assert {
        "eg_weights": "results/eg_weights.csv",
        "adversarial": "results/adversarial.csv",
        "few_shot": "results/few_shot.csv",
    }.items() <= related_tables(cells, config).items()
    picked = eg_cells(cells, "fmnist", "vANN")
    assert [(c.experiment, c.id) for c in picked] == [
        ("main", "D1_S128"),
        ("learning_rule", "D1_S128_eg_adam_lognormal"),
    ]
    assert few_shot_rules(config) == [["adam", "glorot"], ["eg_adam", "lognormal"]]
    assert "related_eg" in planned_figures(cells, config)
    test = load_config(repo_root / "config" / "test.yaml")
    del test["experiments"]["learning_rule"]
    assert not {"eg_weights", "adversarial", "few_shot"} & set(related_tables(expand_cells(test), test))
    assert "related_eg" not in planned_figures(expand_cells(test), test)


def test_figure_draws(tmp_path):
    from dendritic.plots.related_eg import plot_related_eg

    _, t = tables()
    bins = np.linspace(-8, 1, 10)
    hists = pd.DataFrame(
        [
            dict(model=m, optimizer=o, layer=layer, bin_lo=lo, bin_hi=hi, count=int(5 + 3 * k))
            for m in MODELS
            for o in ("adam", "eg_adam")
            for layer in ("dendrites", "somata", "output")
            for k, (lo, hi) in enumerate(zip(bins[:-1], bins[1:]))
        ]
    )
    out = [tmp_path / "f.png", tmp_path / "f.pdf"]
    plot_related_eg(t["eg_weights"], hists, out, adversarial=t["adversarial"], few_shot=t["few_shot"].assign(seed=0))
    assert all(p.stat().st_size > 1000 for p in out)
    with pytest.raises(ValueError):
        plot_related_eg(t["eg_weights"].iloc[:0], hists, out)
