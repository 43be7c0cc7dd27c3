"""The catalogue of the paper's five datasets (the paper, Methods "Datasets"): for each one its
title, class names, official split sizes and source files, the URLs they are downloaded from and
the checksums they are verified against.

The image shape and the number of classes of each dataset are the ones of
:data:`dendritic.wiring.INPUTS` (the closed-form parameter counts need them without torch), so
that fact is written once; a spec whose class names disagree with it is refused on creation.
Download URLs and their md5s are taken from torchvision's dataset classes, resolved lazily
(importing torchvision costs ~2 s, and training jobs only load the prepared cache).
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass

from dendritic.datasets.errors import UnknownDatasetError
from dendritic.wiring import INPUTS


@dataclass(frozen=True)
class Source:
    """One file of a dataset as it is parsed (decompressed).

    ``archive`` is the file that is downloaded and holds it: ``<name>.gz`` for the MNIST family,
    a zip or tar.gz with the file at ``member`` for EMNIST and CIFAR-10.
    """

    name: str
    split: str  # "train" | "test"
    kind: str  # "images" | "labels" | "batch" (a CIFAR pickle with images and labels)
    archive: str
    member: str | None = None


@dataclass(frozen=True)
class Download:
    """A file that can be downloaded: its name, the URLs to try in order, torchvision's md5."""

    filename: str
    urls: tuple[str, ...]
    md5: str | None


@dataclass(frozen=True)
class DatasetSpec:
    """Everything known about one dataset. ``downloads=None``: take URLs/md5s from torchvision.

    ``image_shape`` (C, H, W) and ``n_classes`` come from :data:`dendritic.wiring.INPUTS`.
    """

    name: str
    title: str
    class_names: tuple[str, ...]
    n_train: int
    n_test: int
    sources: tuple[Source, ...]
    torchvision_class: str
    transposed: bool = False  # EMNIST stores every image transposed
    hint: str = ""  # dataset-specific remedy for the "not available" message
    downloads: tuple[Download, ...] | None = None

    def __post_init__(self) -> None:
        if self.name not in INPUTS:
            raise ValueError(
                f"dataset {self.name!r} has no entry in dendritic.wiring.INPUTS (its image shape and number of classes)"
            )
        if len(self.class_names) != self.n_classes:
            raise ValueError(
                f"dataset {self.name!r}: {len(self.class_names)} class names, but "
                f"dendritic.wiring.INPUTS says {self.n_classes} classes"
            )

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return INPUTS[self.name][0]

    @property
    def n_classes(self) -> int:
        return INPUTS[self.name][1]


def _idx_sources(prefix: str = "", archive: str | None = None, member_dir: str = "") -> tuple[Source, ...]:
    """The four IDX files of an MNIST-like dataset (train/test images/labels)."""
    out = []
    for split, stem in (("train", "train"), ("test", "t10k" if not prefix else "test")):
        for kind, idx in (("images", "idx3"), ("labels", "idx1")):
            name = f"{prefix}{stem}-{kind}-{idx}-ubyte"
            member = f"{member_dir}{name}.gz" if archive else None
            out.append(Source(name, split, kind, archive or f"{name}.gz", member))
    return tuple(out)


def _cifar_sources() -> tuple[Source, ...]:
    names = [("train", f"data_batch_{i}") for i in range(1, 6)] + [("test", "test_batch")]
    return tuple(Source(n, split, "batch", "cifar-10-python.tar.gz", f"cifar-10-batches-py/{n}") for split, n in names)


#: EMNIST *balanced*: 10 digits, 26 upper-case letters and the 11 lower-case letters that do not
#: look like their capitals (torchvision's ``EMNIST.classes_split_dict["balanced"]``).
EMNIST_BALANCED_CLASSES = tuple("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabdefghnqrt")

_MNIST_CLASSES = (
    "0 - zero",
    "1 - one",
    "2 - two",
    "3 - three",
    "4 - four",
    "5 - five",
    "6 - six",
    "7 - seven",
    "8 - eight",
    "9 - nine",
)

DATASETS: dict[str, DatasetSpec] = {
    "mnist": DatasetSpec("mnist", "MNIST", _MNIST_CLASSES, 60_000, 10_000, _idx_sources(), "MNIST"),
    "fmnist": DatasetSpec(
        "fmnist",
        "Fashion-MNIST",
        ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
        60_000,
        10_000,
        _idx_sources(),
        "FashionMNIST",
        hint="on Debian/Ubuntu, `apt-get install dataset-fashion-mnist` puts them in "
        "/usr/share/datasets/fashion-mnist (then list that folder under `data.mirrors`)",
    ),
    "kmnist": DatasetSpec(
        "kmnist",
        "Kuzushiji-MNIST",
        ("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"),  # romanised hiragana
        60_000,
        10_000,
        _idx_sources(),
        "KMNIST",
    ),
    "emnist": DatasetSpec(
        "emnist",
        "EMNIST (balanced)",
        EMNIST_BALANCED_CLASSES,
        112_800,
        18_800,
        _idx_sources("emnist-balanced-", archive="gzip.zip", member_dir="gzip/"),
        "EMNIST",
        transposed=True,
    ),
    "cifar10": DatasetSpec(
        "cifar10",
        "CIFAR-10",
        ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"),
        50_000,
        10_000,
        _cifar_sources(),
        "CIFAR10",
    ),
}

#: .gz files, so only these identify them). CIFAR-10's batch md5s come from torchvision.
#: Tests monkeypatch this dict or pass ``checksums=`` to :func:`dendritic.datasets.prepare`.
KNOWN_MD5: dict[str, dict[str, str]] = {
    "fmnist": {
        "train-images-idx3-ubyte": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
        "train-labels-idx1-ubyte": "9018921c3c673c538a1fc5bad174d6f9",
        "t10k-images-idx3-ubyte": "8181f5470baa50b63fa0f6fddb340f0a",
        "t10k-labels-idx1-ubyte": "15d484375f8d13e6eb1aabb0c3f46965",
    },
}

#: Seconds a download may wait on the network before it counts as failed.
DOWNLOAD_TIMEOUT_S = 20.0


def get_spec(name: str) -> DatasetSpec:
    """The :class:`DatasetSpec` of ``name``; :class:`UnknownDatasetError` lists the known names."""
    try:
        return DATASETS[name]
    except KeyError:
        raise UnknownDatasetError(f"Unknown dataset {name!r}. Known datasets: {', '.join(DATASETS)}.") from None


@functools.lru_cache(maxsize=None)
def _from_torchvision(class_name: str) -> tuple[tuple[Download, ...], dict[str, str]]:
    """Downloads (URLs, md5s) and known content md5s from torchvision's dataset class."""
    from dendritic.tvcompat import import_torchvision

    cls = getattr(import_torchvision().datasets, class_name)
    if class_name == "EMNIST":
        return (Download(os.path.basename(cls.url), (cls.url,), cls.md5),), {}
    if class_name == "CIFAR10":
        content = {name: md5 for name, md5 in cls.train_list + cls.test_list}
        return (Download(cls.filename, (cls.url,), cls.tgz_md5),), content
    downloads = tuple(Download(f, tuple(m + f for m in cls.mirrors), md5) for f, md5 in cls.resources)
    return downloads, {}


def resolve_downloads(spec: DatasetSpec) -> tuple[Download, ...]:
    """The downloadable files of ``spec`` (its own ``downloads``, else torchvision's)."""
    return spec.downloads if spec.downloads is not None else _from_torchvision(spec.torchvision_class)[0]


def default_checksums(spec: DatasetSpec) -> dict[str, str]:
    """File name → md5: downloaded files (torchvision) and known decompressed contents."""
    sums = {d.filename: d.md5 for d in resolve_downloads(spec) if d.md5}
    if spec.downloads is None:
        sums.update(_from_torchvision(spec.torchvision_class)[1])
    sums.update(KNOWN_MD5.get(spec.name, {}))
    return sums
