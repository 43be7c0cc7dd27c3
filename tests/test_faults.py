"""Fault injection, end to end on the real Fashion-MNIST: the workflow keeps every finished result
through a touched, re-prepared, damaged or deleted dataset cache, a killed Snakemake and a train
job killed while it writes, and retrains (saying why) when the data really change; --config
overrides typed on the command line work.

One tiny design (two models, one size, one seed, one epoch; targets: the train jobs and the
summary) is trained once and reused by every scenario, in order; after each fault the workflow
is run again as the README says (``snakemake --unlock`` after a killed Snakemake, then the same
command). docs/RELIABILITY.md lists what this checks.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import stat
import subprocess
import time
from pathlib import Path

import pytest
from conftest import SNAKEMAKE, copy_workflow, requires_fmnist, run_snakemake

CONFIG = """\
datasets: [fmnist]
seeds: [0]
training: {device: cpu, epochs: {fmnist: 1}}
experiments:
  main: {datasets: [fmnist], models: [dANN-R, vANN], dendrites: [1], somata: [32]}
"""
CELLS = ["results/runs/main/fmnist/dANN-R/D1_S32", "results/runs/main/fmnist/vANN/D1_S32"]
CACHE = "resources/data/fmnist.pt"
ARGS = ["results/summary.csv", "--cores", "1", "--configfile", "config/faults.yaml"]


def train_jobs(out: str) -> list[str]:
    """The cells of the train jobs a snakemake run started (from its log on screen)."""
    starts = [m.start() for m in re.finditer(r"^(local)?rule train:", out, re.M)]
    cells = []
    for s in starts:
        w = re.search(r"wildcards: experiment=(\w+), dataset=(\w+), model=([\w-]+), cell=(\w+)", out[s:])
        cells.append("results/runs/{}/{}/{}/{}".format(*w.groups()))
    return cells


def checksums(wf: Path) -> dict[str, str]:
    return {c: hashlib.sha256((wf / c / "metrics.csv").read_bytes()).hexdigest() for c in CELLS}


def job_pid(wf: Path, cell: str) -> int | None:
    """The pid of the train job that holds the cell's lock (runio.cell_lock writes it there)."""
    lock = wf / cell / ".lock"
    m = re.match(r"pid (\d+)", lock.read_text()) if lock.exists() else None
    return int(m[1]) if m else None


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat")
    return not (state.exists() and state.read_text().rsplit(")", 1)[1].split()[0] == "Z")


def wait_for(condition, what: str, proc: subprocess.Popen, timeout: float = 300, step: float = 0.02):
    deadline = time.time() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert proc.poll() is None, f"snakemake ended before {what}"
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(step)


def start(wf: Path, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        SNAKEMAKE + ARGS,
        cwd=wf,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **(env or {})},
    )


@pytest.mark.slow
@requires_fmnist
def test_finished_results_survive_every_fault(tmp_path):
    wf = copy_workflow(tmp_path / "wf")
    (wf / "config" / "faults.yaml").write_text(CONFIG)

    def run(*extra, targets=()):
        proc = run_snakemake([*targets, *ARGS, *extra], wf, timeout=900)
        return proc.returncode, proc.stdout + proc.stderr

    # 0. a job that fails writes its traceback into its own log (not only on snakemake's screen);
    #    the nested --config value is taken as given
    import torch

    if not torch.cuda.is_available():
        rc, out = run("--config", "training={device: cuda, epochs: {fmnist: 1}}")
        assert rc != 0
        log = (wf / "logs/train/main/fmnist/vANN/D1_S32.log").read_text()
        assert "Traceback (most recent call last)" in log and "no CUDA device is available" in log, log
        assert not any((wf / c / "metrics.csv").exists() for c in CELLS)

    # 1. kill -9 Snakemake while a train job trains: the job stops by itself (no orphan that a rerun
    #    would train beside)
    proc = start(wf)
    try:
        cell = wait_for(lambda: next((c for c in CELLS if job_pid(wf, c)), None), "a train job", proc)
        pid = job_pid(wf, cell)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
        deadline = time.time() + 15
        while alive(pid):
            assert time.time() < deadline, "the train job of a killed snakemake is still running"
            time.sleep(0.05)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not (wf / cell / "metrics.csv").exists()
    rc, out = run("--unlock")
    assert rc == 0, out

    # 2. kill -9 a train job mid-write: weights.pt is in place, metrics.csv not yet. A `git` that
    #    takes 3 s (provenance asks git for the commit between the two) holds the job there.
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    real_git = shutil.which("git") or "false"
    (fake_bin / "git").write_text(f'#!/bin/sh\nsleep 3\nexec {real_git} "$@"\n')
    (fake_bin / "git").chmod(stat.S_IRWXU)
    proc = start(wf, env={"PATH": f"{fake_bin}{os.pathsep}{os.environ['PATH']}"})
    try:
        killed = wait_for(
            lambda: next(
                (c for c in CELLS if (wf / c / "weights.pt").exists() and not (wf / c / "metrics.csv").exists()), None
            ),
            "a train job writing its outputs",
            proc,
            step=0.005,
        )
        os.kill(job_pid(wf, killed), signal.SIGKILL)
        out, _ = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode != 0, out  # the summary cannot be made
    other = next(c for c in CELLS if c != killed)
    assert (wf / other / "metrics.csv").exists(), out  # keep-going: the other cell finished
    assert not (wf / killed / "metrics.csv").exists(), "a cell killed mid-write looks finished"
    stale = wf / killed / ".metrics.csv.k1ll3d.tmp"  # what a kill inside atomic_path leaves behind
    stale.write_text("seed,half a row")
    done = hashlib.sha256((wf / other / "metrics.csv").read_bytes()).hexdigest()

    # ... the same command again redoes only the killed cell
    rc, out = run()
    assert rc == 0, out
    assert train_jobs(out) == [killed], out
    assert hashlib.sha256((wf / other / "metrics.csv").read_bytes()).hexdigest() == done
    assert not stale.exists(), "the stale temporary file of the interrupted write was kept"
    finished = checksums(wf)

    # (a) a touched cache (mtime only) retrains nothing
    for name in (CACHE, CACHE.replace(".pt", ".json")):
        os.utime(wf / name)
    rc, out = run()
    assert rc == 0 and "Nothing to be done" in out, out
    assert checksums(wf) == finished

    # (b) the cache prepared again, identically: in place (--forcerun), and after deleting it
    rc, out = run("--forcerun", "prepare_dataset")
    assert rc == 0 and re.search(r"checkpoint prepare_dataset:", out), out
    assert train_jobs(out) == [], out
    assert checksums(wf) == finished

    # (c) one byte of the cache changed: the workflow stops before any job, names the file and the
    #     remedy, and deletes no finished result
    path = wf / CACHE
    with open(path, "r+b") as fh:
        fh.seek(path.stat().st_size // 2)
        byte = fh.read(1)
        fh.seek(-1, 1)
        fh.write(bytes([byte[0] ^ 0xFF]))
    rc, out = run()
    assert rc != 0
    assert f"{CACHE} does not match the checksum recorded when it was prepared" in out, out
    assert f"Delete {CACHE} and run snakemake again" in out, out
    assert train_jobs(out) == [] and checksums(wf) == finished
    for c in CELLS:
        assert sorted(p.name for p in (wf / c).iterdir() if not p.name.startswith(".")) == [
            "history.csv",
            "metrics.csv",
            "provenance.json",
            "weights.pt",
        ]

    # ... the remedy: delete it and run again (here with the cache as a target, as the full
    #     workflow has it): prepared anew from the source files, identical, nothing retrained
    path.unlink()
    rc, out = run(targets=[CACHE])
    assert rc == 0, out
    assert re.search(r"checkpoint prepare_dataset:", out) and train_jobs(out) == [], out
    assert checksums(wf) == finished
    rc, out = run()
    assert rc == 0 and "Nothing to be done" in out, out

    # a cache whose content really changed (here: 2,000 test images zeroed, checksums consistent)
    # retrains every cell of the dataset, and says why
    from dendritic.datasets import load_prepared, save_prepared

    data = load_prepared(path)
    x_test = data.x_test.clone()
    x_test[:2000] = 0
    save_prepared(
        path, {"x_train": data.x_train, "y_train": data.y_train, "x_test": x_test, "y_test": data.y_test}, data.meta
    )
    rc, out = run()
    assert rc == 0, out
    assert sorted(train_jobs(out)) == CELLS, out
    assert "Params have changed" in out and f"the content of {CACHE} has changed" in out, out
    assert all(checksums(wf)[c] != finished[c] for c in CELLS)


@pytest.mark.slow
def test_config_overrides_typed_on_the_command_line(workflow_copy):
    """Nested --config values arrive as text; they used to fail validation (README example:
    --config seeds='[0,1]' -> "seeds.0: '0' is not of type 'integer'"). A whole-number float for
    an integer key becomes that integer (D1.0_S32 used to be a cell no rule makes)."""
    proc = run_snakemake(
        [
            "-n",
            "--configfile",
            "config/test.yaml",
            "--config",
            "seeds=[0,1]",
            "training={lr: 1e-2, epochs: {fmnist: 2.0}, device: cpu}",
            "data={download: false}",
            "experiments={main: {datasets: [fmnist], models: [dANN-R, dANN-LRF, dANN-GRF, vANN], "
            "dendrites: [1.0], somata: [32]}}",
        ],
        workflow_copy,
        timeout=300,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "results/runs/main/fmnist/vANN/D1_S32/metrics.csv" in out and "D1.0" not in out
    bad = run_snakemake(["-n", "--configfile", "config/test.yaml", "--config", "seeds=[0.5]"], workflow_copy)
    assert bad.returncode != 0 and "seeds.0: 0.5 is not of type 'integer'" in bad.stdout + bad.stderr
