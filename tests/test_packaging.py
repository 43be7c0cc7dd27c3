"""pyproject.toml and environment.yml pin the same environment; the CLI works; the config schema
ships inside the package."""

import fnmatch
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import tomllib
import yaml
from conftest import ROOT


def _name(req: str) -> str:
    return re.split(r"[<>=!~ \[]", req, maxsplit=1)[0].lower()


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = project["dependencies"] + project["optional-dependencies"]["test"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))

    def norm(reqs):
        return {_name(r): r.replace(" ", "") for r in reqs}

    assert norm(pip) == norm(deps)
    assert any(str(d).startswith("python=3.11") for d in env["dependencies"] if isinstance(d, str))


def test_torch_pins():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert "torch==2.13.0" in deps and "torchvision==0.28.0" in deps
    assert any(d.startswith("snakemake>=9.20") for d in deps)


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "dendritic", *args], capture_output=True, text=True, timeout=120)


def test_cli_params_matches_spec_check_values():
    cases = [
        ("dANN-R", 1, 32, 938),
        ("dANN-LRF", 4, 128, 10_634),
        ("vANN", 4, 128, 468_874),
        ("pdANN", 64, 512, 25_761_290),
    ]
    for model, d, s, expected in cases:
        proc = run_cli("params", "--model", model, "--dataset", "fmnist", "-D", str(d), "-S", str(s))
        assert proc.returncode == 0, proc.stderr
        assert int(proc.stdout.strip()) == expected


def test_cli_rejects_unknown_model():
    proc = run_cli("params", "--model", "dANN-X", "--dataset", "fmnist", "-D", "1", "-S", "32")
    assert proc.returncode != 0 and "dANN-X" in proc.stderr and "dANN-LRF" in proc.stderr


def test_cli_plan_counts_the_paper_design():
    """The paper's seven experiments are 4,315 cells (21,575 runs); the neighbouring systems' cells
    come on top, and the total line adds every experiment's."""
    proc = run_cli("plan", str(ROOT / "config.yaml"))
    assert proc.returncode == 0, proc.stderr
    rows = {
        m[1]: (int(m[2]), int(m[3]))
        for m in re.finditer(r"(?m)^(\w+)\s+(\d+) cells \(jobs\)\s+(\d+) runs", proc.stdout)
    }
    paper = ("main", "dropout", "learning_rate", "early_stopping", "depth", "noise", "sequential")
    assert all(e in rows for e in paper), proc.stdout
    assert tuple(map(sum, zip(*(rows[e] for e in paper)))) == (4315, 21575), proc.stdout
    total = rows.pop("total")
    assert tuple(map(sum, zip(*rows.values()))) == total, proc.stdout


def test_schema_is_package_data_found_through_importlib_resources():
    from importlib import resources

    from dendritic import config

    packaged = resources.files("dendritic") / "schema" / "config.schema.yaml"
    assert packaged.is_file() and config.SCHEMA_PATH == Path(str(packaged))
    assert "workflow" not in config.SCHEMA_PATH.relative_to(ROOT / "src").parts
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    patterns = setuptools["package-data"]["dendritic"]
    assert any(fnmatch.fnmatch("schema/config.schema.yaml", p) for p in patterns)
    link = ROOT / "workflow" / "schemas" / "config.schema.yaml"  # where snakemake's tools look
    assert link.is_symlink() and not Path(os.readlink(link)).is_absolute()
    assert link.resolve() == config.SCHEMA_PATH.resolve()


def test_an_installed_copy_validates_without_the_checkout(tmp_path):
    """A non-editable install is the package alone (no workflow/ above it): its config module
    still finds the schema, fills its defaults and rejects a typo."""
    site = tmp_path / "site-packages"
    shutil.copytree(ROOT / "src" / "dendritic", site / "dendritic", ignore=shutil.ignore_patterns("__pycache__"))
    code = (
        "import dendritic.config as c, sys; assert c.SCHEMA_PATH.is_file(), c.SCHEMA_PATH; "
        "print(c.SCHEMA_PATH); cfg = {'datasets': ['fmnist']}; c.validate_config(cfg); "
        "print(cfg['training']['lr'])\n"
        "try:\n    c.validate_config({'datasets': ['fmnist'], 'trainng': {}})\n"
        "except c.ConfigError as err:\n    print('rejected', 'did you mean' in str(err))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    where, lr, rejected = proc.stdout.split("\n")[:3]
    assert Path(where).is_relative_to(site) and lr == "0.001" and rejected == "rejected True"
