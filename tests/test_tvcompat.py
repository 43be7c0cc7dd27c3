"""Tests of dendritic.tvcompat: ``import torchvision`` works on this machine's torch, and the workaround
is applied only when torchvision's import fails for the known reason."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

from dendritic import tvcompat

SRC = Path(tvcompat.__file__).resolve().parents[1]


def run_python(code: str, tmp_path: Path) -> dict:
    """Run ``code`` in a fresh interpreter (torchvision not yet imported); return its JSON output."""
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_torchvision_imports_and_fashion_mnist_dataset_works(tmp_path):
    code = r"""
import json, numpy as np, torch
from pathlib import Path
from dendritic import tvcompat
tv = tvcompat.import_torchvision()
raw = Path("root/FashionMNIST/raw"); raw.mkdir(parents=True)
imgs = np.arange(3 * 28 * 28, dtype=np.uint8).reshape(3, 28, 28)
for prefix in ("train", "t10k"):
    (raw / f"{prefix}-images-idx3-ubyte").write_bytes(bytes([0, 0, 8, 3]) + b"".join(
        d.to_bytes(4, "big") for d in (3, 28, 28)) + imgs.tobytes())
    (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(
        bytes([0, 0, 8, 1]) + (3).to_bytes(4, "big") + bytes([9, 0, 4]))
data = tv.datasets.FashionMNIST("root", train=False, download=False)
image, label = data[2]
print(json.dumps({"version": tv.__version__, "len": len(data), "label": label,
                  "class": data.classes[label], "pixel": image.getpixel((5, 1)),
                  "has_utils": callable(tv.datasets.utils.download_url),
                  "compiled_ops": tv.extension._has_ops(),
                  "workaround_applied": tvcompat._schema_library is not None,
                  "again": tvcompat.register_missing_schemas(),
                  "schema": str(torch.ops.torchvision.nms.default._schema)}))
"""
    out = run_python(code, tmp_path)
    assert out["len"] == 3 and out["label"] == 4 and out["class"] == "Coat"
    assert out["pixel"] == (2 * 784 + 1 * 28 + 5) % 256  # PIL (x=5, y=1) of image 2
    assert out["version"].startswith("0.28") and out["has_utils"]
    # the schemas are defined only where torchvision's own compiled ops could not be loaded
    assert out["workaround_applied"] == (not out["compiled_ops"])
    assert out["again"] == []  # nothing missing any more; defining twice would raise
    assert out["schema"] == "torchvision::nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor"


@pytest.fixture
def without_torchvision(monkeypatch):
    """Hide every loaded torchvision module for this test (monkeypatch puts them back afterwards)."""
    for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
        monkeypatch.delitem(sys.modules, name)


def test_nothing_is_registered_when_torchvision_imports_normally(monkeypatch, without_torchvision):
    fake = types.ModuleType("torchvision")
    monkeypatch.setattr(tvcompat.importlib, "import_module", lambda name: fake)
    monkeypatch.setattr(tvcompat, "register_missing_schemas", lambda: pytest.fail("must not register"))
    assert tvcompat.import_torchvision() is fake


def test_other_import_errors_are_not_hidden(monkeypatch, without_torchvision):
    def broken(name):
        raise RuntimeError("something else entirely")

    monkeypatch.setattr(tvcompat.importlib, "import_module", broken)
    monkeypatch.setattr(tvcompat, "register_missing_schemas", lambda: pytest.fail("must not register"))
    with pytest.raises(RuntimeError, match="something else entirely"):
        tvcompat.import_torchvision()


def test_missing_operator_error_registers_schemas_and_retries(monkeypatch, without_torchvision):
    fake, calls, registered = types.ModuleType("torchvision"), [], []

    def import_module(name):
        calls.append(name)
        if len(calls) == 1:
            sys.modules["torchvision.half_imported"] = types.ModuleType("torchvision.half_imported")
            raise RuntimeError("operator torchvision::nms does not exist")
        assert "torchvision.half_imported" not in sys.modules  # the failed import was forgotten
        return fake

    monkeypatch.setattr(tvcompat.importlib, "import_module", import_module)
    monkeypatch.setattr(tvcompat, "register_missing_schemas", lambda: registered.append(True) or [])
    assert tvcompat.import_torchvision() is fake
    assert calls == ["torchvision", "torchvision"] and registered == [True]
