"""Data integrity and bad input (issue 9), unit by unit: the checksummed dataset cache, typed
configuration values, the CLI's checks, safe loading of weights, job logs, one trainer per cell,
orphaned jobs, exploded runs and figures drawn when every run diverged. The workflow end to end
under injected faults is in test_faults.py."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from conftest import ROOT, synthetic_prepared

from dendritic import datasets as ds
from dendritic import runio
from dendritic.config import Cell, ConfigError, coerce_config, load_config, validate_config

PY = [sys.executable]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"), os.getenv("PYTHONPATH")]))}


def toy_cache(path: Path, n_train: int = 300, n_test: int = 100) -> Path:
    """A small prepared dataset written the way prepare writes one (checksums included)."""
    data = synthetic_prepared(n_train=n_train, n_test=n_test)
    meta = {
        "name": "fmnist",
        "title": "toy",
        "image_shape": [1, 28, 28],
        "n_classes": 10,
        "class_names": [str(c) for c in range(10)],
        "n_train": n_train,
        "n_test": n_test,
        "sources": {},
    }
    ds.save_prepared(path, {k: getattr(data, k) for k in ("x_train", "y_train", "x_test", "y_test")}, meta)
    return path


def cell(**kw) -> Cell:
    base = dict(
        experiment="main", dataset="fmnist", model="dANN-R", dendrites=2, somata=32, epochs=1, lr=1e-3, seeds=(0,)
    )
    return Cell(**{**base, **kw})


# ----------------------------------------------------------------------------- the dataset cache


def test_cache_records_content_and_file_checksums(tmp_path):
    path = toy_cache(tmp_path / "fmnist.pt")
    meta = json.loads(path.with_suffix(".json").read_text())
    data = ds.load_prepared(path)
    assert meta["content_sha256"] == data.meta["content_sha256"] == ds.content_checksum(data.__dict__)
    assert meta["file_sha256"] == runio.sha256_file(path) and meta["file_size"] == path.stat().st_size
    assert runio.verify_prepared_file(path)["content_sha256"] == meta["content_sha256"]


def zero_test_images(path: Path, n: int) -> None:
    """Overwrite the first ``n`` test images with zeros in place, inside the file."""
    x = torch.load(path, weights_only=True)["x_test"]
    blob = path.read_bytes()
    at = blob.find(x.numpy().tobytes()[:4096])
    assert at > 0
    with open(path, "r+b") as fh:
        fh.seek(at)
        fh.write(bytes(x[:n].numel()))


def test_same_size_change_of_the_images_is_caught_on_load(tmp_path):
    """The issue's case: 2,000 test images zeroed inside the cache, same file size, same keys,
    dtypes and shapes: it used to load silently."""
    path = toy_cache(tmp_path / "fmnist.pt")
    size = path.stat().st_size
    zero_test_images(path, 50)
    assert path.stat().st_size == size
    data = torch.load(path, weights_only=True)  # keys, dtypes, shapes: all as before
    assert data["x_test"][:50].eq(0).all() and data["x_test"].shape == (100, 1, 28, 28)
    with pytest.raises(ds.DatasetError, match="do not match the checksum") as err:
        ds.load_prepared(path)
    assert str(path) in str(err.value) and f"Delete {path}" in str(err.value)
    with pytest.raises(runio.IntegrityError, match="does not match the checksum"):
        runio.verify_prepared_file(path)


def test_one_flipped_byte_is_caught_without_loading(tmp_path):
    path = toy_cache(tmp_path / "fmnist.pt")
    with open(path, "r+b") as fh:
        fh.seek(path.stat().st_size // 2)
        b = fh.read(1)
        fh.seek(-1, 1)
        fh.write(bytes([b[0] ^ 0x01]))
    with pytest.raises(runio.IntegrityError) as err:
        runio.verify_prepared_file(path)
    assert str(path) in str(err.value) and "run snakemake again" in str(err.value)


def test_truncated_cache_or_missing_checksum_is_an_error_naming_the_remedy(tmp_path):
    path = toy_cache(tmp_path / "fmnist.pt")
    with open(path, "r+b") as fh:
        fh.truncate(path.stat().st_size - 10)
    with pytest.raises(runio.IntegrityError, match="bytes, but .* were written"):
        runio.verify_prepared_file(path)
    # a cache without checksums (an older version's): neither verifiable nor used
    old = tmp_path / "old" / "fmnist.pt"
    old.parent.mkdir()
    saved = torch.load(toy_cache(tmp_path / "x.pt"), weights_only=True)
    del saved["meta"]["content_sha256"]
    torch.save(saved, old)
    old.with_suffix(".json").write_text(json.dumps(saved["meta"]))
    with pytest.raises(ds.DatasetError, match="records no checksum"):
        ds.load_prepared(old)
    with pytest.raises(runio.IntegrityError, match="records no checksum"):
        runio.verify_prepared_file(old)


def mnist_mirror(tmp_path, monkeypatch):
    from test_datasets import fake_arrays, small_spec, write_mnist

    small_spec(monkeypatch, "mnist")
    return tmp_path / "mirror", write_mnist(tmp_path / "mirror", fake_arrays(3))


def test_prepare_keeps_an_identical_cache_and_replaces_a_different_one(tmp_path, monkeypatch):
    mirror, sums = mnist_mirror(tmp_path, monkeypatch)
    out = tmp_path / "data" / "mnist.pt"
    first = ds.prepare("mnist", out, tmp_path / "raw", mirrors=[mirror], checksums=sums)
    os.utime(out, ns=(1_000_000_000, 1_000_000_000))  # an old, known modification time
    stamp, content = out.stat().st_mtime_ns, out.read_bytes()
    again = ds.prepare("mnist", out, tmp_path / "raw", mirrors=[mirror], checksums=sums)
    assert out.stat().st_mtime_ns == stamp and out.read_bytes() == content, "an identical cache was rewritten"
    assert again == first
    # other source files: new content, new checksum, new file
    from test_datasets import fake_arrays, write_mnist

    sums = write_mnist(mirror, fake_arrays(4))
    other = ds.prepare("mnist", out, tmp_path / "raw", mirrors=[mirror], checksums=sums)
    assert other["content_sha256"] != first["content_sha256"]
    assert ds.load_prepared(out).meta["content_sha256"] == other["content_sha256"]


# ----------------------------------------------------------------------------- configuration


def base_config(**extra):
    return {"datasets": ["fmnist"], **extra}


def test_text_values_are_typed_as_the_schema_wants():
    """What Snakemake hands over for --config seeds='[0,1]' training='{lr: 0.01, epochs: {fmnist: 2}}'
    data='{download: false}'; it failed validation with "'0' is not of type 'integer'"."""
    config = base_config(
        seeds=["0", "1"],
        training={"lr": "0.01", "epochs": {"fmnist": "2"}, "device": "cpu"},
        data={"download": "false", "root": "123"},
    )
    validate_config(config)
    assert config["seeds"] == [0, 1]
    assert config["training"]["lr"] == 0.01 and config["training"]["epochs"]["fmnist"] == 2
    assert config["data"]["download"] is False
    assert config["data"]["root"] == "123", "text where the schema wants text stays text"
    assert config["training"]["device"] == "cpu"


def test_unquoted_exponent_is_a_number():
    config = yaml.safe_load("datasets: [fmnist]\ntraining: {lr: 1e-3}\n")
    assert config["training"]["lr"] == "1e-3"  # YAML 1.1 reads it as text
    validate_config(config)
    assert config["training"]["lr"] == pytest.approx(1e-3)


def test_whole_number_floats_become_integers_and_cells_get_integer_ids():
    from dendritic.config import expand_cells

    config = base_config(
        seeds=[0.0, 1.0],
        training={"epochs": {"fmnist": 1.0}},
        experiments={"main": {"datasets": ["fmnist"], "models": ["vANN"], "dendrites": [1.0, 2], "somata": [32.0]}},
    )
    validate_config(config)
    cells = expand_cells(config)
    assert [c.id for c in cells] == ["D1_S32", "D2_S32"]
    assert cells[0].seeds == (0, 1) and cells[0].epochs == 1
    assert all(type(v) is int for v in (cells[0].dendrites, cells[0].somata, cells[0].epochs, *cells[0].seeds))


@pytest.mark.parametrize(
    "key, value, where",
    [
        ("seeds", [1.5], "seeds.0: 1.5 is not of type 'integer'"),
        ("training", {"epochs": {"fmnist": 2.5}}, "training.epochs.fmnist: 2.5 is not of type 'integer'"),
        ("training", {"lr": "fast"}, "training.lr: 'fast' is not of type 'number'"),
        ("data", {"download": "maybe"}, "data.download: 'maybe' is not of type 'boolean'"),
    ],
)
def test_values_that_do_not_fit_fail_naming_the_key(key, value, where):
    with pytest.raises(ConfigError) as err:
        validate_config(base_config(**{key: value}))
    assert where in str(err.value)


def test_coercion_leaves_unknown_keys_to_the_validator():
    config = coerce_config(base_config(sedes=["0"]))
    assert config["sedes"] == ["0"]
    with pytest.raises(ConfigError, match="did you mean 'seeds'"):
        validate_config(config)


def test_analysis_dataset_that_the_main_experiment_does_not_train():
    main = {"datasets": ["mnist"], "models": ["vANN"], "dendrites": [1], "somata": [32]}
    with pytest.raises(ConfigError, match="analysis.dataset is 'fmnist', but experiments.main trains mnist"):
        validate_config(
            {"datasets": ["mnist", "fmnist"], "experiments": {"main": main}, "analysis": {"dataset": "fmnist"}}
        )
    notes = validate_config({"datasets": ["mnist"], "experiments": {"main": main}})
    assert len(notes) == 1 and "Figs 5 and 6 are not drawn" in notes[0] and "mnist" in notes[0]
    assert (
        validate_config({"datasets": ["mnist"], "experiments": {"main": main}, "analysis": {"dataset": "mnist"}}) == []
    )


def test_shipped_designs_validate_without_notes():
    for name in ["config.yaml", "config/demo.yaml", "config/test.yaml"]:
        config = yaml.safe_load((ROOT / name).read_text())
        assert validate_config(config) == [], name


@pytest.mark.parametrize(
    "change",
    [
        dict(epochs=0),
        dict(dendrites=0),
        dict(somata=-1),
        dict(batch_size=0),
        dict(dendrites=1.0),
        dict(seeds=()),
        dict(seeds=(-1,)),
        dict(lr=0.0),
        dict(dropout=1.0),
        dict(divergence_loss=float("nan")),
    ],
)
def test_a_cell_that_cannot_train_is_refused(change):
    with pytest.raises(ConfigError, match=next(iter(change)).replace("seeds", "seed")):
        cell(**change)


# ----------------------------------------------------------------------------- the CLI


TRAIN = ["train", "--model", "dANN-R", "--dataset", "fmnist", "-D", "1", "-S", "32"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--epochs", "0"], "argument --epochs: must be at least 1, got 0"),
        (["--epochs", "-2"], "argument --epochs: must be at least 1, got -2"),
        (["--batch-size", "0"], "argument --batch-size: must be at least 1, got 0"),
        (["-D", "0"], "argument -D/--dendrites: must be at least 1, got 0"),
        (["-S", "-1"], "argument -S/--somata: must be at least 1, got -1"),
        (["--seeds", "0", "0"], "a seed is given twice"),
        (["--lr", "0"], "argument --lr: must be a number in (0, ∞)"),
        (["--experiment", "../../x"], "argument --experiment: invalid choice: '../../x'"),
        (["--data", "resources/data/fmnsit.pt"], "--data resources/data/fmnsit.pt: no such file"),
        (["--device", "cuda"], "--device cuda: no CUDA device is available on this machine"),
    ],
)
def test_cli_refuses_values_that_cannot_work(tmp_path, monkeypatch, capsys, args, message):
    """Each of these trained nothing and reported success (rc 0), trained at a mistyped path, or
    wrote outside results/."""
    from dendritic.cli import main

    if args[0] == "--device" and torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    monkeypatch.chdir(tmp_path)
    try:
        rc = main([*TRAIN, *args, "--out", "out"])
    except SystemExit as exit_:  # argparse's own refusal
        rc = exit_.code
    assert rc == 2
    assert message in capsys.readouterr().err
    assert sorted(os.listdir(tmp_path)) == [], "a refused command wrote something"


def test_cli_rerun_into_a_finished_folder_clears_its_metrics_first(tmp_path, monkeypatch):
    """A CLI rerun killed part-way must not leave the old metrics.csv beside new files."""
    from dendritic import cells

    data = toy_cache(tmp_path / "fmnist.pt")
    out = tmp_path / "run"
    cells.run_cell(cell(), data, out, device="cpu")
    assert (out / "metrics.csv").exists()
    (out / ".weights.pt.x1y2z3.tmp").write_bytes(b"left by a kill -9 mid-write")

    def killed(*a, **k):
        raise KeyboardInterrupt  # stands in for the kill, after the folder was taken over

    monkeypatch.setattr(cells, "train_cell", killed)
    with pytest.raises(KeyboardInterrupt):
        cells.run_cell(cell(), data, out, device="cpu")
    assert not (out / "metrics.csv").exists(), "the folder looks finished"
    assert not list(out.glob(".*.tmp")), "a stale temporary file was kept"


def test_run_cell_records_the_data_it_trained_on_and_refuses_other_data(tmp_path):
    from dendritic.cells import run_cell

    data = toy_cache(tmp_path / "fmnist.pt")
    checksum = ds.load_prepared(data).meta["content_sha256"]
    run_cell(cell(), data, tmp_path / "a", device="cpu", data_sha256=checksum)
    prov = json.loads((tmp_path / "a" / "provenance.json").read_text())
    assert prov["data"] == {"path": str(data), "content_sha256": checksum}
    assert runio.trained_data_checksum(tmp_path / "a" / "provenance.json") == checksum
    with pytest.raises(ds.DatasetError, match="changed after the workflow planned this job"):
        run_cell(cell(), data, tmp_path / "b", device="cpu", data_sha256="0" * 64)
    assert not (tmp_path / "b" / "metrics.csv").exists()


# ----------------------------------------------------------------------------- weights files


class Payload:
    """What a crafted weights.pt carries: unpickling it touches a marker file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def test_a_crafted_weights_file_does_not_run_its_payload(tmp_path):
    from dendritic.cells import load_run
    from dendritic.test_noise import test_noise_frame

    marker = tmp_path / "payload-ran"
    crafted = tmp_path / "weights.pt"
    torch.save({"cell": cell().to_dict(), "runs": {0: Payload(marker)}}, crafted)
    with pytest.raises(ValueError, match="not a weights file written by this pipeline"):
        load_run(crafted, 0, (1, 28, 28), 10)
    with pytest.raises(Exception, match="(?i)weights_only|unsupported"):
        test_noise_frame([crafted], synthetic_prepared(n_train=10, n_test=10), [0.0])
    assert not marker.exists(), "torch.load ran the file's code"
    torch.load(crafted, weights_only=False)  # the test's own check: the payload is real
    assert marker.exists()


def test_the_pipelines_own_weights_load_with_weights_only(tmp_path):
    from dendritic.cells import load_run, run_cell

    run_cell(cell(model="dANN-GRF", seeds=(0, 1)), toy_cache(tmp_path / "fmnist.pt"), tmp_path / "c", device="cpu")
    torch.load(tmp_path / "c" / "weights.pt", weights_only=True)
    assert load_run(tmp_path / "c" / "weights.pt", 1, (1, 28, 28), 10).n_params() > 0


# ----------------------------------------------------------------------------- job logs, locks, orphans


def test_an_uncaught_error_goes_into_the_log_file(tmp_path):
    log = tmp_path / "logs" / "job.log"
    code = f"""
        from dendritic.runio import setup_logging
        setup_logging({str(log)!r})
        raise RuntimeError("the device is gone")
    """
    proc = subprocess.run(PY + ["-c", textwrap.dedent(code)], capture_output=True, text=True, env=ENV)
    assert proc.returncode == 1
    text = log.read_text()
    assert "Traceback (most recent call last)" in text and "RuntimeError: the device is gone" in text
    assert "the device is gone" in proc.stderr


HOLD_LOCK = """
import sys, time
from dendritic.runio import cell_lock
with cell_lock(sys.argv[1]):
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def test_a_second_trainer_of_a_cell_waits_for_the_first(tmp_path, caplog):
    holder = subprocess.Popen(PY + ["-c", HOLD_LOCK, str(tmp_path), "2"], stdout=subprocess.PIPE, text=True, env=ENV)
    assert holder.stdout.readline().strip() == "locked"
    t0 = time.perf_counter()
    with caplog.at_level("INFO"), runio.cell_lock(tmp_path):
        waited = time.perf_counter() - t0
    holder.wait(30)
    assert waited > 1.0, "the second trainer did not wait"
    assert f"pid {holder.pid}" in caplog.text and "waiting until it ends" in caplog.text


def test_the_lock_of_a_killed_trainer_is_free_at_once(tmp_path):
    holder = subprocess.Popen(PY + ["-c", HOLD_LOCK, str(tmp_path), "60"], stdout=subprocess.PIPE, text=True, env=ENV)
    assert holder.stdout.readline().strip() == "locked"
    holder.send_signal(signal.SIGKILL)
    holder.wait(30)
    t0 = time.perf_counter()
    with runio.cell_lock(tmp_path):
        assert time.perf_counter() - t0 < 1.0


ORPHAN = """
import os, subprocess, sys, time
child = '''
import os, sys, time
from dendritic.runio import stop_when_orphaned
stop_when_orphaned(0.1)
open(sys.argv[1], "w").write(str(os.getpid()))
time.sleep(60)
'''
subprocess.Popen([sys.executable, "-c", child, sys.argv[1]])
time.sleep(60)
"""


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(")")[1].split()[0] == "Z")


def test_a_job_whose_parent_was_killed_stops(tmp_path):
    """kill -9 of Snakemake must not leave its train job running beside a rerun."""
    pidfile = tmp_path / "child.pid"
    parent = subprocess.Popen(PY + ["-c", ORPHAN, str(pidfile)], env=ENV)
    deadline = time.time() + 30
    while not (pidfile.exists() and pidfile.read_text()):
        assert time.time() < deadline, "the job never started"
        time.sleep(0.05)
    child = int(pidfile.read_text())
    assert pid_alive(child)
    parent.send_signal(signal.SIGKILL)
    parent.wait(30)
    deadline = time.time() + 10
    while pid_alive(child):
        assert time.time() < deadline, "the orphaned job is still running"
        time.sleep(0.05)


def test_stale_temporary_files_are_removed_only_in_that_folder(tmp_path):
    (tmp_path / ".metrics.csv.abc.tmp").write_text("half")
    (tmp_path / "metrics.csv").write_text("kept")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / ".x.tmp").write_text("other cell")
    removed = runio.remove_stale_temp_files(tmp_path)
    assert [p.name for p in removed] == [".metrics.csv.abc.tmp"]
    assert (tmp_path / "metrics.csv").exists() and (tmp_path / "sub" / ".x.tmp").exists()


# ----------------------------------------------------------------------------- exploded runs


@pytest.mark.parametrize("engine", ["fast", "reference"])
def test_a_run_whose_loss_explodes_without_nan_is_flagged_diverged(engine):
    """lr = 100 drives the training loss to ~1e10 while it stays finite: it used to enter the means."""
    from dendritic.cells import metrics_frame, train_cell

    data = synthetic_prepared()
    exploded = cell(model="vANN", lr=100.0, epochs=3)
    res = train_cell(exploded, data, "cpu", engine=engine)[0]
    assert res.diverged and math.isnan(res.test_loss) and math.isnan(res.test_acc)
    assert len(res.history) == 1 and math.isfinite(res.history[0]["train_loss"])
    assert res.history[0]["train_loss"] > exploded.divergence_loss
    assert bool(metrics_frame(exploded, [res])["diverged"].item())
    # the same run with the limit out of reach trains on, finite: the flag is the rule's doing
    lenient = train_cell(cell(model="vANN", lr=100.0, epochs=3, divergence_loss=1e30), data, "cpu", engine=engine)[0]
    assert not lenient.diverged and len(lenient.history) == 3 and math.isfinite(lenient.test_loss)


def test_a_huge_validation_loss_alone_is_not_divergence():
    """The sequential vANN legitimately reaches test loss 313.5 (paper Table 2): its validation loss
    is huge while its training loss is small; only the training loss is held against the limit."""
    from dendritic.training import is_diverged

    assert not is_diverged(12.8, 313.5, 1000.0)
    assert is_diverged(4e7, 5e7, 1000.0)
    assert is_diverged(float("nan"), 1.0, 1000.0) and is_diverged(1.0, float("inf"), 1000.0)


def test_divergence_loss_is_a_config_key_that_reaches_the_cells():
    from dendritic.config import expand_cells

    config = base_config(
        training={"divergence_loss": "50"},
        experiments={"main": {"datasets": ["fmnist"], "models": ["vANN"], "dendrites": [1], "somata": [32]}},
    )
    validate_config(config)
    assert expand_cells(config)[0].divergence_loss == 50.0
    default = load_config(ROOT / "config" / "test.yaml")
    assert expand_cells(default)[0].divergence_loss == 1000.0


# ----------------------------------------------------------------------------- figures


def diverged_summary(which) -> pd.DataFrame:
    from test_plots_summary import SMALL, make_summary

    df = make_summary(seeds=(0, 1), dendrites=(1, 4), somata=(32, 64), models=SMALL)
    mask = which(df)
    df.loc[mask, "diverged"] = True
    df.loc[mask, ["test_loss", "test_acc"]] = np.nan
    return df


SUMMARY_FIGURES = {
    "fig2": lambda p, df: p.performance.plot_fig2(df, *df.attrs["out"], models=FIG2_MODELS),
    "suppl_fig7": lambda p, df: p.performance.plot_min_val_epoch(df, *df.attrs["out"], models=FIG2_MODELS),
    "fig3": lambda p, df: p.efficiency.plot_fig3(df, *df.attrs["out"]),
    "fig4": lambda p, df: p.efficiency.plot_fig4(df, *df.attrs["out"]),
    "fig7": lambda p, df: p.fig7.plot_fig7(df, *df.attrs["out"]),
    "suppl_fig3": lambda p, df: p.experiments.plot_datasets(df, *df.attrs["out"], models=FIG2_MODELS),
    "suppl_fig4": lambda p, df: p.experiments.plot_dropout(df, *df.attrs["out"], models=FIG2_MODELS),
    "suppl_fig5": lambda p, df: p.experiments.plot_learning_rates(df, *df.attrs["out"], FIG2_MODELS),
    "suppl_fig6": lambda p, df: p.experiments.plot_early_stopping(df, *df.attrs["out"]),
    "suppl_fig8": lambda p, df: p.experiments.plot_depth(df, *df.attrs["out"]),
    "suppl_fig9": lambda p, df: p.experiments.plot_sampling_pairs(df, *df.attrs["out"]),
    "suppl_fig10": lambda p, df: p.experiments.plot_sparse_pairs(df, *df.attrs["out"]),
}
FIG2_MODELS = ["dANN-R", "dANN-LRF", "dANN-GRF", "pdANN", "vANN"]


@pytest.mark.parametrize(
    "name, which",
    [(name, "all") for name in SUMMARY_FIGURES] + [("fig2", "vANN"), ("suppl_fig7", "vANN"), ("fig7", "vANN")],
)
def test_figures_draw_when_runs_diverged(tmp_path, monkeypatch, name, which):
    """Every summary figure is written with every run (or every vANN run) diverged; Fig. 2,
    Suppl. Fig. 7 and Fig. 7 used to fail in matplotlib (log axes without data; zero panels)."""
    import matplotlib.axes
    import matplotlib.figure
    import matplotlib.pyplot as plt

    from dendritic import plots
    from dendritic.plots import efficiency, experiments, fig7, performance, style  # noqa: F401

    texts: list[str] = []
    orig_text = matplotlib.axes.Axes.text
    monkeypatch.setattr(
        matplotlib.axes.Axes,
        "text",
        lambda self, x, y, s, *a, **k: (texts.append(s), orig_text(self, x, y, s, *a, **k))[1],
    )
    orig_fig_text = matplotlib.figure.Figure.text
    monkeypatch.setattr(
        matplotlib.figure.Figure,
        "text",
        lambda self, x, y, s, *a, **k: (texts.append(s), orig_fig_text(self, x, y, s, *a, **k))[1],
    )
    orig_setup = style.setup
    monkeypatch.setattr(style, "setup", lambda: (orig_setup(), plt.rcParams.update({"savefig.dpi": 50})))
    df = diverged_summary((lambda d: np.ones(len(d), bool)) if which == "all" else (lambda d: d["model"] == "vANN"))
    out = [tmp_path / f"{name}.png", tmp_path / f"{name}.pdf"]
    df.attrs["out"] = (out,)
    SUMMARY_FIGURES[name](plots, df)
    for p in out:
        assert p.is_file() and p.stat().st_size > 1000, p
    if which == "all" and name in ("fig2", "suppl_fig7", "fig7"):
        assert any(style.NO_FINITE_RUNS in t for t in texts), texts
