"""The one place that makes ``import torchvision`` work on a CPU-only torch.

Why this exists
---------------
This project pins ``torch==2.13.0`` and ``torchvision==0.28.0``. On a CPU-only machine pip installs
torch's local CPU build, but the registry's torchvision 0.28.0 wheel is a CUDA build: its compiled
operators (``torchvision/_C.so``) cannot be loaded, which torchvision tolerates, but its
``_meta_registrations`` module then registers fake kernels for ``torchvision::nms`` and
``torchvision::qnms`` without checking that those operators exist, and the import fails with::

    RuntimeError: operator torchvision::nms does not exist

The fix
-------
:func:`import_torchvision` first imports torchvision normally. Only if that fails with exactly this
error does it define the two operator *schemas* (copied from torchvision's C++ sources, see
``_MISSING_OPERATOR_SCHEMAS``) with :mod:`torch.library`, drop the half-imported ``torchvision``
modules and import again. The operators get no kernels: calling ``torchvision.ops.nms`` still raises
torchvision's own "Couldn't load custom C++ ops" error. This project needs none of the compiled ops:
datasets, download helpers and transforms are pure Python and work normally.

Where torchvision imports normally (a matching CPU or CUDA build) nothing is registered and nothing
is changed. Use ``import_torchvision()`` instead of ``import torchvision`` everywhere in the package.
"""

from __future__ import annotations

import importlib
import re
import sys
from types import ModuleType

import torch

#: Schemas of the operators torchvision's ``_meta_registrations`` needs to exist, exactly as
#: torchvision's C++ code defines them (``torchvision/csrc/ops/nms.cpp``).
_MISSING_OPERATOR_SCHEMAS: dict[str, str] = {
    "nms": "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms": "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
}

#: The error torchvision's import raises when its compiled ops could not be loaded.
_MISSING_OPERATOR_ERROR = re.compile(r"operator torchvision::\w+ does not exist")

#: The ``torch.library.Library`` holding our schema definitions. It must stay referenced: torch
#: removes a library's registrations when the object is garbage-collected.
_schema_library: torch.library.Library | None = None


def import_torchvision() -> ModuleType:
    """Import and return the ``torchvision`` module, working around a CPU-torch/CUDA-torchvision mix.

    Returns the already imported module if there is one. Otherwise imports torchvision; if that
    fails because torchvision's compiled operators are missing (see the module docstring), defines
    their schemas and imports again. Any other import error is raised unchanged.
    """
    if "torchvision" in sys.modules:
        return sys.modules["torchvision"]
    try:
        return importlib.import_module("torchvision")
    except RuntimeError as err:
        if not _MISSING_OPERATOR_ERROR.search(str(err)):
            raise
        _forget_partial_import()
        register_missing_schemas()
        try:
            return importlib.import_module("torchvision")
        except RuntimeError as again:
            raise RuntimeError(
                f"torchvision still fails to import after defining the schemas of "
                f"{sorted(_MISSING_OPERATOR_SCHEMAS)} ({again}). Install a torchvision build that "
                f"matches torch {torch.__version__}, or extend "
                f"dendritic.tvcompat._MISSING_OPERATOR_SCHEMAS."
            ) from err


def register_missing_schemas() -> list[str]:
    """Define those ``torchvision::`` operator schemas that do not exist yet; return their names.

    Idempotent: operators that already exist (from torchvision's own ``_C`` library or an earlier
    call) are left alone.
    """
    global _schema_library
    missing = [name for name in _MISSING_OPERATOR_SCHEMAS if not _operator_exists(name)]
    if missing:
        if _schema_library is None:
            _schema_library = torch.library.Library("torchvision", "FRAGMENT")
        for name in missing:
            _schema_library.define(_MISSING_OPERATOR_SCHEMAS[name])
    return missing


def _operator_exists(name: str) -> bool:
    """Whether ``torchvision::<name>`` is a registered operator."""
    try:
        getattr(torch.ops.torchvision, name)
    except (AttributeError, RuntimeError):
        return False
    return True


def _forget_partial_import() -> None:
    """Remove the modules a failed ``import torchvision`` left in ``sys.modules``."""
    for module in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
        del sys.modules[module]
