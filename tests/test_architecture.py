"""The shape of the package: imports go one way, modules stay readable, the code is lint-clean."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

PKG = ROOT / "src" / "dendritic"

#: Modules allowed over ~450 lines because each is one cohesive idea (their docstrings say why).
LONG_MODULES = {"engine", "trials", "reproduction.claims"}


def _modules() -> dict[str, Path]:
    out = {}
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(PKG).with_suffix("")
        parts = [p for p in rel.parts if p != "__init__"]
        out[".".join(parts)] = path
    return out


def _imports(path: Path, name: str, modules) -> set[str]:
    """Package modules imported anywhere in ``path`` (module level and inside functions)."""
    tree = ast.parse(path.read_text())
    pkg = name.rsplit(".", 1)[0] if path.name != "__init__.py" else name
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:  # relative import
                base = pkg.split(".")[: len(pkg.split(".")) - node.level + 1] if pkg else []
                mod = ".".join([*base, node.module] if node.module else base)
            elif node.module and node.module.startswith("dendritic"):
                mod = node.module[len("dendritic.") :] if node.module != "dendritic" else ""
            else:
                continue
            for alias in node.names:
                sub = f"{mod}.{alias.name}" if mod else alias.name
                found.add(sub if sub in modules else mod)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("dendritic."):
                    found.add(alias.name[len("dendritic.") :])
    return {m for m in found if m in modules and m != name}


def test_no_import_cycles_in_the_package():
    modules = _modules()
    graph = {name: _imports(path, name, modules) for name, path in modules.items()}
    # a package's __init__ re-exporting its own submodules is not a cycle
    for name in graph:
        graph[name] = {m for m in graph[name] if not m.startswith(f"{name}.") or "." in name}
    cycles, state = [], {}

    def visit(node, stack):
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_modules_stay_readable():
    long = {name: sum(1 for _ in path.open()) for name, path in _modules().items()}
    # "~450 lines": the formatter's line breaks move a module by a few dozen lines either way
    over = {n: k for n, k in long.items() if k > 500 and n not in LONG_MODULES}
    assert not over, f"modules over ~450 lines (split them, or add to LONG_MODULES with a reason): {over}"


def test_the_verdict_and_the_tables_import_no_plotting_code():
    code = (
        "import sys, dendritic.reproduction, dendritic.trials, dendritic.best_models, dendritic.test_noise; "
        "bad = [m for m in sys.modules if m.startswith(('matplotlib', 'dendritic.plots'))]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.skipif(
    shutil.which("ruff", path=str(Path(sys.executable).parent)) is None and shutil.which("ruff") is None,
    reason="ruff not installed (pip install -e .[test])",
)
def test_python_is_ruff_clean():
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    check = subprocess.run([ruff, "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    fmt = subprocess.run([ruff, "format", "--check", "."], cwd=ROOT, capture_output=True, text=True)
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr
