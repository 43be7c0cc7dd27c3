"""pyproject.toml and environment.yml pin the same environment; the CLI works."""

import re
import subprocess
import sys
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
    norm = lambda reqs: {_name(r): r.replace(" ", "") for r in reqs}
    assert norm(pip) == norm(deps)
    assert any(str(d).startswith("python=3.11") for d in env["dependencies"] if isinstance(d, str))


def test_torch_pins():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert "torch==2.13.0" in deps and "torchvision==0.28.0" in deps
    assert any(d.startswith("snakemake>=9.20") for d in deps)


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "dendritic", *args], capture_output=True, text=True,
                          timeout=120)


def test_cli_params_matches_spec_check_values():
    cases = [("dANN-R", 1, 32, 938), ("dANN-LRF", 4, 128, 10_634), ("vANN", 4, 128, 468_874),
             ("pdANN", 64, 512, 25_761_290)]
    for model, d, s, expected in cases:
        proc = run_cli("params", "--model", model, "--dataset", "fmnist", "-D", str(d), "-S", str(s))
        assert proc.returncode == 0, proc.stderr
        assert int(proc.stdout.strip()) == expected


def test_cli_rejects_unknown_model():
    proc = run_cli("params", "--model", "dANN-X", "--dataset", "fmnist", "-D", "1", "-S", "32")
    assert proc.returncode != 0 and "dANN-X" in proc.stderr and "dANN-LRF" in proc.stderr


def test_cli_plan_counts_the_paper_design():
    proc = run_cli("plan", str(ROOT / "config.yaml"))
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"total\s+4315 cells \(jobs\)\s+21575 runs", proc.stdout), proc.stdout
