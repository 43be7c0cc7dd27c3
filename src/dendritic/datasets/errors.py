"""The errors of :mod:`dendritic.datasets`: one base class, and one subclass per way a dataset can
fail to be prepared or loaded (unknown name, files missing, wrong checksum, wrong format)."""

from __future__ import annotations

import os

PathLike = str | os.PathLike


class DatasetError(Exception):
    """Base class of every error raised by :mod:`dendritic.datasets`."""


class UnknownDatasetError(DatasetError, LookupError):
    """A dataset name that is not in :data:`DATASETS`."""


class DatasetUnavailableError(DatasetError):
    """Source files are missing locally and could not be downloaded."""


class ChecksumError(DatasetError):
    """A file's md5 differs from the known one. ``path``, ``expected`` and ``actual`` say which."""

    def __init__(
        self, message: str, path: PathLike | None = None, expected: str | None = None, actual: str | None = None
    ):
        super().__init__(message)
        self.path, self.expected, self.actual = path, expected, actual


class FileFormatError(DatasetError):
    """A file that is not what it should be (wrong IDX header, counts, damaged archive, ...)."""


class OtherDatasetsFile(DatasetError):
    """A file with a source's name whose content is a known file of another dataset (e.g. Fashion-MNIST's
    files in a mirror folder shared with MNIST, same names). Such files are skipped, not reported as bad."""
