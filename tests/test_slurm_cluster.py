"""Run a tiny workflow through the SLURM profile on a real single-node SLURM cluster.

Needs root and apt-get (Slurm and munge are installed when missing, ~7 s); skips with the reason
otherwise (fails instead when DENDRITIC_REQUIRE_SLURM=1). Takes 20-35 s. The cluster tool is scripts/slurm_cluster.py
(also run by scripts/slurm-local.sh).
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

from slurm_cluster import (  # noqa: E402  (a tool under scripts/, not a package)
    SNAKEMAKE_ARGS,
    SlurmCluster,
    SlurmClusterUnavailable,
    our_processes,
    skip_or_fail,
    slurm_cluster_fixture,
)

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

REPO = Path(__file__).resolve().parent.parent
PROFILE = REPO / "profiles" / "slurm"

TOY_SNAKEFILE = textwrap.dedent(
    """\
    rule all:
        input: expand("out/{i}.txt", i=[1, 2, 3])

    rule toy:
        output: "out/{i}.txt"
        threads: 1
        resources: mem_mb=200, runtime=5
        shell: 'echo "job_id=${{SLURM_JOB_ID:-none}} host=$(hostname)" > {output}'
    """
)

slurm_cluster = slurm_cluster_fixture(scope="function")


def test_toy_workflow_runs_as_slurm_jobs(tmp_path):
    """Three jobs go through sbatch with profiles/slurm; afterwards nothing of the cluster is left.

    Uses the context manager rather than the fixture, to check the state after teardown.
    """
    (tmp_path / "Snakefile").write_text(TOY_SNAKEFILE)
    try:
        cluster = SlurmCluster()
        cluster.start()
    except SlurmClusterUnavailable as exc:
        skip_or_fail(str(exc))

    with cluster:
        pids = dict(cluster.pids)
        print("\n".join(cluster.notes))
        cmd = [sys.executable, "-m", "snakemake", "--profile", str(PROFILE), *SNAKEMAKE_ARGS,
               "--slurm-keep-successful-logs", "--directory", str(tmp_path)]  # fmt: skip
        res = subprocess.run(cmd, cwd=tmp_path, env=cluster.env, capture_output=True, text=True, timeout=300)
        output = res.stdout + res.stderr
        assert res.returncode == 0, f"snakemake failed:\n{output[-6000:]}\n{cluster.log_tails()}"

        job_ids = {}
        for i in (1, 2, 3):
            text = (tmp_path / "out" / f"{i}.txt").read_text()
            m = re.fullmatch(r"job_id=(\d+) host=(\S+)\n", text)
            assert m, f"out/{i}.txt should hold a numeric SLURM job id, holds {text!r}"
            assert m.group(2).split(".")[0] == cluster.node
            job_ids[i] = m.group(1)

        # three distinct sbatch submissions, each announced in snakemake's log
        assert len(set(job_ids.values())) == 3, job_ids
        submitted = set(re.findall(r"SLURM jobid (\d+)", output))
        assert set(job_ids.values()) <= submitted, f"{job_ids} not among submitted {submitted}:\n{output[-4000:]}"
        # and each job's SLURM log is named after its job id (kept by --slurm-keep-successful-logs)
        logs = {p.stem for p in (tmp_path / ".snakemake" / "slurm_logs").rglob("*.log")}
        assert set(job_ids.values()) <= logs, logs
        # slurmctld knows the jobs too, and not only by what snakemake said
        seen = subprocess.run(["squeue", "-h", "-t", "all", "-o", "%i %T"], env=cluster.env,
                              capture_output=True, text=True, timeout=10).stdout  # fmt: skip
        for job_id in job_ids.values():
            assert re.search(rf"^{job_id} COMPLETED$", seen, re.M), seen

    # teardown stopped exactly the daemons it started and removed its traces
    assert set(pids) >= {"slurmctld", "slurmd"}
    assert cluster.running_pids() == {}, cluster.running_pids()
    assert our_processes() == [], our_processes()
    assert not Path("/etc/slurm/slurm.conf").is_symlink()
    assert not cluster.workdir.exists()


def test_fixture_gives_working_srun_without_slurm_conf(slurm_cluster):
    """The plugin's srun runs with SLURM_CONF removed: the /etc/slurm/slurm.conf symlink must serve."""
    env = {k: v for k, v in slurm_cluster.env.items() if k != "SLURM_CONF"}
    res = subprocess.run(["srun", "-n1", "-t1", "printenv", "SLURM_JOB_ID"], env=env,
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().isdigit(), res.stdout


# The pipeline itself through the SLURM profile: two training cells of the test config (so the
# run stays short), compared with the local run of the full test config.
CLUSTER_CONFIG = """\
datasets: [fmnist]
seeds: [0, 1]
training: {device: cpu, epochs: {fmnist: 1}}
experiments:
  main: {datasets: [fmnist], models: [dANN-R, vANN], dendrites: [1], somata: [32]}
"""


def test_pipeline_runs_under_slurm_and_matches_a_local_run(slurm_cluster, local_test_run, tmp_path):
    import json

    import pandas as pd
    from conftest import copy_workflow

    local_wf, local_proc = local_test_run
    assert local_proc.returncode == 0, local_proc.stderr[-3000:]
    wf = copy_workflow(tmp_path / "wf")
    (wf / "config" / "cluster.yaml").write_text(CLUSTER_CONFIG)
    # same threads as the local run (bitwise-equal results), both training jobs side by side
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "--profile",
        "profiles/slurm",
        *SNAKEMAKE_ARGS,
        "--configfile",
        "config/cluster.yaml",
        "--set-threads",
        "train=1",
        "--set-resources",
        "train:mem_mb=3000",
        "--retries",
        "0",
        "results/summary.csv",
    ]
    res = subprocess.run(cmd, cwd=wf, env=slurm_cluster.env, capture_output=True, text=True, timeout=900)
    output = res.stdout + res.stderr
    assert res.returncode == 0, f"snakemake failed:\n{output[-6000:]}\n{slurm_cluster.log_tails()}"

    submitted = set(re.findall(r"SLURM jobid (\d+)", output))
    cells = sorted((wf / "results" / "runs").glob("main/fmnist/*/*"))
    assert len(cells) == 2
    for cell in cells:
        job_id = json.loads((cell / "provenance.json").read_text())["slurm_job_id"]
        assert job_id and job_id in submitted, f"{cell} was not trained by a SLURM job ({job_id})"

    keys = ["model", "dendrites", "somata", "seed"]
    cols = keys + ["n_params", "test_loss", "test_acc", "epoch_min_val_loss"]
    remote = pd.read_csv(wf / "results" / "summary.csv")[cols].sort_values(keys).reset_index(drop=True)
    local = pd.read_csv(local_wf / "results" / "summary.csv")
    local = local[local["experiment"] == "main"][cols]  # the test design trains more than main (EG, DAC)
    local = local.merge(remote[keys], on=keys).sort_values(keys).reset_index(drop=True)
    assert len(remote) == 4
    pd.testing.assert_frame_equal(remote, local)
