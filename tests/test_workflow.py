"""The Snakemake workflow as a user runs it: lint, format, dry runs, and the test config end to
end."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
from conftest import ROOT, requires_fmnist, run_snakemake

from dendritic import plan
from dendritic.config import load_config


def test_lint_is_clean(workflow_copy):
    proc = run_snakemake(["--lint"], workflow_copy, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Congratulations, your workflow is in a good condition!" in proc.stdout + proc.stderr


def test_rule_files_are_snakefmt_formatted():
    """The Snakefile and workflow/rules/*.smk as snakefmt writes them ([tool.snakefmt] in
    pyproject.toml); `snakefmt Snakefile workflow/rules` fixes a failure."""
    cmd = [sys.executable, "-m", "snakefmt", "--check", "Snakefile", "workflow/rules"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_dry_run_of_the_paper_design(workflow_copy):
    proc = run_snakemake(["-n", "--quiet", "rules"], workflow_copy, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    train = next(line for line in out.splitlines() if line.split()[:1] == ["train"])
    # the paper's 4,315 cells plus those of the neighbouring systems' grid experiments
    from dendritic.config import expand_cells, load_config

    extra = [
        c for c in expand_cells(load_config(workflow_copy / "config.yaml")) if c.experiment in ("dac", "learning_rule")
    ]
    assert int(train.split()[1]) == 4315 + len(extra), train
    for rule in ["prepare_dataset", "summary", "fig2", "suppl_fig1"]:
        assert rule in out


def test_config_typo_fails_naming_the_key(workflow_copy):
    cfg = workflow_copy / "config" / "typo.yaml"
    cfg.write_text((workflow_copy / "config" / "test.yaml").read_text().replace("epochs:", "epoch:"))
    proc = run_snakemake(["-n", "--configfile", str(cfg)], workflow_copy, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "unknown key 'epoch' in training (did you mean 'epochs'?)" in out, out


def test_configfile_replaces_the_paper_design(workflow_copy):
    proc = run_snakemake(["-n", "--quiet", "rules", "--configfile", "config/test.yaml"], workflow_copy)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    train = next(line for line in out.splitlines() if line.split()[:1] == ["train"])
    # the main grid and the learning_rule cell the EG evaluation reads; the dac cell is planned once
    # the checkpoint select_networks has run (the summary waits for it)
    assert int(train.split()[1]) == 5 * 2 + 1, "test.yaml must not inherit config.yaml's experiments"


@requires_fmnist
def test_test_config_end_to_end(local_test_run):
    wf, proc = local_test_run
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    for fig in ["suppl_fig1", "fig2", "suppl_fig2", "suppl_fig7"]:
        for ext in ["png", "pdf"]:
            path = wf / "figures" / f"{fig}.{ext}"
            assert path.stat().st_size > 10_000, f"{path} missing or empty"
    full = pd.read_csv(wf / "results" / "summary.csv")
    summary = full[full["experiment"] == "main"]
    assert len(summary) == 5 * 2 * 2  # models x sizes x seeds
    assert set(summary["model"]) == {"dANN-R", "dANN-LRF", "dANN-GRF", "pdANN", "vANN"}
    # noise and sequential ran exactly on each model's network selected from the main experiment
    selected = pd.read_csv(wf / "results" / "selection" / "fmnist.csv").set_index("model")
    for experiment in ("noise", "sequential"):
        rows = full[full["experiment"] == experiment]
        assert sorted(rows["model"].unique()) == ["dANN-GRF", "dANN-LRF", "dANN-R", "vANN"]
        assert len(rows) == 4 * 2
        for model, grp in rows.groupby("model"):
            assert {(d, s) for d, s in zip(grp["dendrites"], grp["somata"])} == {
                tuple(selected.loc[model, ["dendrites", "somata"]])
            }
    assert (full.loc[full["experiment"] == "noise", "sigma"] == 0.5).all()
    assert (wf / "figures" / "fig7.png").stat().st_size > 10_000
    # every figure the registry plans for the test design is drawn, and the test-noise table written
    config = load_config(wf / "config" / "test.yaml")
    for fig in plan.planned_figures(plan.planned_cells(config), config):
        for ext in ["png", "pdf"]:
            assert (wf / "figures" / f"{fig}.{ext}").stat().st_size > 1_000, fig
    assert len(pd.read_csv(wf / "results" / "test_noise.csv"))
    # the neighbouring systems ran end to end: their tables, and every claim A1-C8 in the verdict
    for table in plan.related_tables(plan.planned_cells(config), config).values():
        assert len(pd.read_csv(wf / table)), table
    verdict = pd.read_csv(wf / "results" / "reproduction.csv")
    related = verdict[verdict["section"] == "related"]
    claims = {f"A{i}" for i in range(1, 4)} | {f"B{i}" for i in range(1, 6)} | {f"C{i}" for i in range(1, 9)}
    assert set(related["claim"]) == claims
    assert set(related.loc[related["check"] == "overall", "claim"]) == claims
    assert "## Neighbouring systems" in (wf / "results" / "reproduction.md").read_text()
    assert summary["test_acc"].between(0.3, 1).all(), "one epoch on FMNIST should beat chance clearly"
    assert not summary["diverged"].any()
    # parameter counts read from runs agree with the paper's formula (spec §1 check value)
    assert summary.query("model == 'dANN-R' and dendrites == 1")["n_params"].eq(938).all()
    meta = (wf / "resources" / "data" / "fmnist.json").read_text()
    assert "f4a8712d7a061bf5bd6d2ca38dc4d50a" in meta  # train-images md5 of the real files
    # a second invocation has nothing left to do
    again = run_snakemake(["-n", "--configfile", "config/test.yaml"], wf)
    assert "Nothing to be done" in again.stdout + again.stderr
