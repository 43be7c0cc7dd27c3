"""Connectivity masks of the dendritic networks (paper.md §1, "Connectivity").

Every mask is a boolean numpy array laid out like the weight of the ``nn.Linear`` it gates,
``(n_out, n_in)``: ``mask[i, j]`` is True when input ``j`` feeds node ``i``.

Input → dendrites, shape ``(D*S, C*H*W)``; images are flattened C-major, i.e. the input index of
channel ``c``, row ``y``, column ``x`` is ``c*H*W + y*W + x`` (``x.reshape(N, -1)`` of an
``(N, C, H, W)`` tensor). Dendrite ``i`` belongs to soma ``i // D``.

- **R**   (:func:`random_inputs`): each dendrite takes exactly ``k`` distinct inputs, drawn uniformly
  over all ``C*H*W`` inputs.
- **LRF** (:func:`lrf_pixels`): one centre per dendrite, uniform over the ``H×W`` image; the dendrite
  takes the ``k`` pixels nearest to it (:func:`nearest_pixels`).
- **GRF** (:func:`grf_pixels`): one centre per soma, uniform over the image; the soma's ``D`` dendrite
  centres are the ``D`` pixels nearest to the soma centre, and each dendrite then takes the ``k``
  pixels nearest to its own centre.
- **F**   (:func:`full`): every dendrite sees every input.

LRF and GRF dendrites take their pixels in all ``C`` channels (``C*k`` weights, 48 on CIFAR-10).

"Nearest" uses Chebyshev shells: the 3×3 neighbourhood of a centre, then the ring of radius 2, then
radius 3, …, counting in-image pixels only. Whole shells are taken while they fit; the shell where the
count runs out contributes a uniformly random subset. For k = 16 an interior centre thus gets its 3×3
block plus 7 random pixels of ring 2, and a corner centre its 4 + 5 pixels of radii ≤ 2 plus all 7
in-image pixels of ring 3. For the GRF centres with D < 9 this is a random subset of the 3×3 block.

Dendrites → somata, shape ``(S, D*S)``:

- **structured** (:func:`structured`): block diagonal, dendrites ``[D*j, D*(j+1))`` feed soma ``j``.
- **dense** (:func:`dense`): all ones.
- **random** (:func:`random_sparse`): exactly ``D*S`` ones placed uniformly without replacement.

Deeper networks (L > 1) sample the next dendritic layer from the previous ``S`` somata laid out as a
``(1, h, w)`` image, ``(h, w) = grid_shape(S)``; soma ``j`` sits at row ``j // w``, column ``j % w``.

All random choices come from the ``numpy.random.Generator`` passed in; the same generator state
gives the same mask. Functions accept a Generator or anything ``numpy.random.default_rng`` accepts.
"""

from __future__ import annotations

import math

import numpy as np

INPUT_KINDS = ("R", "LRF", "GRF", "F")
SOMA_KINDS = ("structured", "dense", "random")


def as_rng(seed_or_rng) -> np.random.Generator:
    """A Generator from a Generator (returned as is), an int, a SeedSequence or None."""
    if isinstance(seed_or_rng, np.random.Generator):
        return seed_or_rng
    return np.random.default_rng(seed_or_rng)


def grid_shape(n: int) -> tuple[int, int]:
    """Near-square grid ``(h, w)`` for ``n`` nodes: ``w`` is the largest divisor of ``n`` with
    ``w <= sqrt(n)`` and ``h = n // w`` (so ``h >= w``, ``h * w == n``).

    256 → (16, 16), 512 → (32, 16), 128 → (16, 8), 32 → (8, 4); a prime n gives (n, 1).
    """
    if n < 1:
        raise ValueError(f"grid_shape needs n >= 1, got {n}")
    w = next(d for d in range(math.isqrt(n), 0, -1) if n % d == 0)
    return n // w, w


# --------------------------------------------------------------------------- pixel sampling


def _shell_offsets(H: int, W: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Offsets (dy, dx) of a window around a centre large enough to hold ``n`` in-image pixels
    for any centre (a corner is the worst case), and the shell index of each offset
    (0 = 3×3 block, 1 = ring of radius 2, 2 = ring of radius 3, …)."""
    if not 1 <= n <= H * W:
        raise ValueError(f"cannot pick {n} distinct pixels in a {H}x{W} image")
    R = 1
    while min(R + 1, H) * min(R + 1, W) < n:
        R += 1
    dy, dx = np.meshgrid(np.arange(-R, R + 1), np.arange(-R, R + 1), indexing="ij")
    dy, dx = dy.ravel(), dx.ravel()
    shell = np.maximum(np.maximum(np.abs(dy), np.abs(dx)), 1) - 1
    return dy, dx, shell


def nearest_pixels(rng, centres, H: int, W: int, n: int) -> np.ndarray:
    """The ``n`` in-image pixels nearest to each centre, by Chebyshev shells (see module doc).

    ``centres``: flat pixel indices ``y*W + x``, shape (m,). Returns flat indices, shape (m, n),
    distinct within each row. Ties inside the last shell needed are broken uniformly at random.
    """
    rng = as_rng(rng)
    centres = np.asarray(centres, dtype=np.int64)
    dy, dx, shell = _shell_offsets(H, W, n)
    y = centres[:, None] // W + dy[None, :]
    x = centres[:, None] % W + dx[None, :]
    inside = (y >= 0) & (y < H) & (x >= 0) & (x < W)
    # sort key: shell index + U(0,1) → whole inner shells first, random order within a shell
    key = shell[None, :] + rng.random(y.shape)
    key[~inside] = np.inf
    pick = np.argsort(key, axis=1, kind="stable")[:, :n]
    return np.take_along_axis(y * W + x, pick, axis=1)


def lrf_pixels(rng, n_dendrites: int, H: int, W: int, k: int = 16):
    """LRF: one centre per dendrite, uniform over the image; the ``k`` pixels nearest to it.

    Returns ``(pixels (n_dendrites, k), centres (n_dendrites,))``, flat pixel indices.
    """
    rng = as_rng(rng)
    centres = rng.integers(0, H * W, size=n_dendrites)
    return nearest_pixels(rng, centres, H, W, k), centres


def grf_pixels(rng, D: int, S: int, H: int, W: int, k: int = 16):
    """GRF: one centre per soma, uniform over the image; the soma's ``D`` dendrite centres are the
    ``D`` distinct pixels nearest to it; each dendrite takes the ``k`` pixels nearest to its centre.

    Returns ``(pixels (D*S, k), dendrite_centres (D*S,), soma_centres (S,))``; dendrite ``i``
    belongs to soma ``i // D``.
    """
    rng = as_rng(rng)
    soma_centres = rng.integers(0, H * W, size=S)
    dendrite_centres = nearest_pixels(rng, soma_centres, H, W, D).ravel()
    return nearest_pixels(rng, dendrite_centres, H, W, k), dendrite_centres, soma_centres


def pixels_to_mask(pixels: np.ndarray, image_shape) -> np.ndarray:
    """Mask (m, C*H*W) from per-dendrite flat pixel indices (m, k): each pixel in all C channels."""
    C, H, W = image_shape
    mask = np.zeros((len(pixels), C * H * W), dtype=bool)
    rows = np.arange(len(pixels))[:, None]
    for c in range(C):
        mask[rows, c * H * W + pixels] = True
    return mask


# --------------------------------------------------------------------------- input → dendrites


def random_inputs(rng, n_dendrites: int, n_inputs: int, k: int = 16) -> np.ndarray:
    """R: each dendrite gets exactly ``k`` distinct inputs drawn uniformly from ``n_inputs``."""
    rng = as_rng(rng)
    if not 1 <= k <= n_inputs:
        raise ValueError(f"cannot pick {k} distinct inputs out of {n_inputs}")
    mask = np.zeros((n_dendrites, n_inputs), dtype=bool)
    for i in range(n_dendrites):
        mask[i, rng.choice(n_inputs, size=k, replace=False)] = True
    return mask


def full(n_dendrites: int, n_inputs: int) -> np.ndarray:
    """F: every dendrite sees every input."""
    return np.ones((n_dendrites, n_inputs), dtype=bool)


def input_mask(kind: str, rng, image_shape, D: int, S: int, k: int = 16) -> np.ndarray:
    """Input → dendrites mask, shape (D*S, C*H*W), for ``kind`` in R, LRF, GRF, F."""
    C, H, W = image_shape
    n_dendrites, n_inputs = D * S, C * H * W
    if kind == "R":
        return random_inputs(rng, n_dendrites, n_inputs, k)
    if kind == "LRF":
        return pixels_to_mask(lrf_pixels(rng, n_dendrites, H, W, k)[0], image_shape)
    if kind == "GRF":
        return pixels_to_mask(grf_pixels(rng, D, S, H, W, k)[0], image_shape)
    if kind == "F":
        return full(n_dendrites, n_inputs)
    raise ValueError(f"unknown input sampling {kind!r}; valid: {', '.join(INPUT_KINDS)}")


# --------------------------------------------------------------------------- dendrites → somata


def structured(D: int, S: int) -> np.ndarray:
    """Block diagonal (S, D*S): dendrites [D*j, D*(j+1)) feed soma j only."""
    return np.repeat(np.eye(S, dtype=bool), D, axis=1)


def dense(D: int, S: int) -> np.ndarray:
    """Every dendrite feeds every soma, (S, D*S)."""
    return np.ones((S, D * S), dtype=bool)


def random_sparse(rng, D: int, S: int) -> np.ndarray:
    """Exactly D*S connections placed uniformly at random, without replacement, in (S, D*S)."""
    rng = as_rng(rng)
    mask = np.zeros((S, D * S), dtype=bool)
    mask.flat[rng.choice(mask.size, size=D * S, replace=False)] = True
    return mask


def soma_mask(kind: str, rng, D: int, S: int) -> np.ndarray:
    """Dendrites → somata mask, shape (S, D*S), for ``kind`` in structured, dense, random."""
    if kind == "structured":
        return structured(D, S)
    if kind == "dense":
        return dense(D, S)
    if kind == "random":
        return random_sparse(rng, D, S)
    raise ValueError(f"unknown soma wiring {kind!r}; valid: {', '.join(SOMA_KINDS)}")
