"""The paper's five datasets (the paper, Methods "Datasets": MNIST, Fashion-MNIST, Kuzushiji-MNIST,
EMNIST balanced, CIFAR-10): where their files come from, how they are verified and read, and the
prepared cache the rest of the pipeline loads.

The package, from the bottom up:

========================================  ===============================================================
:mod:`~dendritic.datasets.errors`         the error classes (all :class:`DatasetError`)
:mod:`~dendritic.datasets.catalog`        :data:`DATASETS` (:class:`DatasetSpec`, :class:`Source`,
                                          :class:`Download`), class names, known checksums, torchvision URLs
:mod:`~dendritic.datasets.formats`        IDX and CIFAR-batch parsing with structural checks
:mod:`~dendritic.datasets.sources`        mirror / raw-dir search, readers, checksum verification, download
:mod:`~dendritic.datasets.cache`          :func:`prepare`, :func:`save_prepared`, :func:`load_prepared`,
                                          :class:`PreparedDataset`, :func:`content_checksum`
========================================  ===============================================================

Callers import from here (``from dendritic.datasets import load_prepared``); training jobs only
need :func:`load_prepared`, which imports torch but not torchvision.
"""

from __future__ import annotations

from dendritic.datasets.cache import (
    PreparedDataset,
    content_checksum,
    load_prepared,
    prepare,
    save_prepared,
)
from dendritic.datasets.catalog import (
    DATASETS,
    DOWNLOAD_TIMEOUT_S,
    EMNIST_BALANCED_CLASSES,
    KNOWN_MD5,
    DatasetSpec,
    Download,
    Source,
    default_checksums,
    get_spec,
    resolve_downloads,
)
from dendritic.datasets.errors import (
    ChecksumError,
    DatasetError,
    DatasetUnavailableError,
    FileFormatError,
    UnknownDatasetError,
)

__all__ = [
    "DATASETS",
    "DOWNLOAD_TIMEOUT_S",
    "EMNIST_BALANCED_CLASSES",
    "KNOWN_MD5",
    "ChecksumError",
    "DatasetError",
    "DatasetSpec",
    "DatasetUnavailableError",
    "Download",
    "FileFormatError",
    "PreparedDataset",
    "Source",
    "UnknownDatasetError",
    "content_checksum",
    "default_checksums",
    "get_spec",
    "load_prepared",
    "prepare",
    "resolve_downloads",
    "save_prepared",
]
