"""An interrupted run never leaves an output taken as finished, and a rerun gives the same numbers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
from conftest import SNAKEMAKE, copy_workflow, requires_fmnist, run_snakemake

CONFIG = """\
datasets: [fmnist]
seeds: [0, 1]
training: {device: cpu, epochs: {fmnist: 3}}
experiments:
  main: {datasets: [fmnist], models: [vANN], dendrites: [2], somata: [32]}
"""
CELL = "results/runs/main/fmnist/vANN/D2_S32"
LOG = "logs/train/main/fmnist/vANN/D2_S32.log"


@pytest.mark.slow
@requires_fmnist
def test_training_killed_mid_run_is_redone_with_same_results(tmp_path):
    wf = copy_workflow(tmp_path / "wf")
    (wf / "config" / "kill.yaml").write_text(CONFIG)
    args = ["results/summary.csv", "--cores", "1", "--configfile", "config/kill.yaml"]
    proc = subprocess.Popen(
        SNAKEMAKE + args, cwd=wf, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    log = wf / LOG
    deadline = time.time() + 300
    try:  # wait until seed 0 has finished and seed 1 is training, then pull the plug
        while "seed 1 epoch" not in (log.read_text() if log.exists() else ""):
            assert proc.poll() is None, "snakemake ended before it could be interrupted"
            assert time.time() < deadline, "training never reached seed 1"
            time.sleep(0.2)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert not (wf / CELL / "metrics.csv").exists(), "an interrupted cell looks finished"

    # as after a power loss: lift snakemake's stale lock, rerun (the default profile has
    # rerun-incomplete, so the interrupted job is redone from scratch)
    unlock = run_snakemake(["--unlock", "--configfile", "config/kill.yaml"], wf)
    assert unlock.returncode == 0, unlock.stderr[-2000:]
    again = run_snakemake(args, wf)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    resumed = pd.read_csv(wf / CELL / "metrics.csv")

    # the same cell trained in one go, outside snakemake, with the same thread count
    out = tmp_path / "direct"
    direct = subprocess.run(
        [
            sys.executable,
            "-m",
            "dendritic",
            "train",
            "--model",
            "vANN",
            "--dataset",
            "fmnist",
            "-D",
            "2",
            "-S",
            "32",
            "--seeds",
            "0",
            "1",
            "--epochs",
            "3",
            "--threads",
            "1",
            "--device",
            "cpu",
            "--data",
            str(wf / "resources/data/fmnist.pt"),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert direct.returncode == 0, direct.stderr[-3000:]
    cols = ["seed", "n_params", "test_loss", "test_acc", "epoch_min_val_loss", "epochs"]
    pd.testing.assert_frame_equal(resumed[cols], pd.read_csv(out / "metrics.csv")[cols])
