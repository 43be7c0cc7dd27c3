"""Active-dendrite networks for continual learning (Iyer et al. 2022, Front. Neurorobot. 16:846219;
Bain 2022, arXiv 2209.04425, §3 Eq. (1) and §4.2), next to the house models without context.

The unit (Bain Eq. (1); Iyer et al. 2022, §3): a point neuron whose feed-forward drive is gated by
its best-matching dendritic segment,

    y_i = (w_iᵀx + b_i) · σ(u_{i,j*}ᵀc),   j* = argmax_j |u_{i,j}ᵀc|,

with ``segments`` segments u_{i,j} (no segment bias) per unit reading a context vector c. The sign of
the chosen segment's response is kept, as in the absolute-max gate of the numenta code. Then

* **k-WTA** (``kwta``): per sample, the k = round(n · 0.05) largest outputs of a layer are kept and
  the others set to 0 (no boosting; ties broken by ``torch.topk``);
* **weight sparsity**: each unit keeps a fixed random round(0.5 · fan-in) of its inputs (every
  feed-forward layer, the output layer too, as Iyer's configuration); the masked weights are zero at
  init and a gradient hook keeps them zero (the house convention, :class:`dendritic.models.MaskedLinear`).

Models (:data:`ADN_MODELS`), each 784 → h → h → 10 (one shared head):

* ``ADN``: gate + k-WTA + weight sparsity (segments = number of tasks T);
* ``ADN-ReLU``, "active dendrites only" (Iyer et al. 2022, ablation): the k-WTA replaced by a ReLU,
  everything else (gate, 50 % weight sparsity) unchanged - one factor removed at a time;
* ``kWTA-MLP``, "sparse representations only": k-WTA + weight sparsity, no segments, no context.

Initialisation (Iyer's configuration): weights U(±1/√(input density · weight density · fan-in)),
the input density 1 for the first layer and the k-WTA fraction after a k-WTA layer; segments
U(±1/√(0.1 · context dim)) (their ``context_percent_on`` 0.1); biases zero. Randomness from the
house streams ``SeedSequence([seed, MASK_STREAM])`` and ``[seed, INIT_STREAM]``.

House models (``vANN``, ``dANN-R``, ``sANN``, ...) run without context through :class:`HouseNet`,
the fast engine's form of :func:`dendritic.models.build_model`.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from dendritic.engine import FastNet
from dendritic.models import INIT_STREAM, MASK_STREAM, MaskedLinear, build_model
from dendritic.wiring import ADN_SEGMENTS, MODEL_NAMES, adn_params  # noqa: F401  (adn_params: the closed form)

#: The active-dendrite family, as Iyer et al. 2022 name them (ablations in their own words' short form).
ADN_MODELS = ("ADN", "ADN-ReLU", "kWTA-MLP")
#: Which of them have dendritic segments (and so read a context).
HAS_SEGMENTS = ADN_SEGMENTS
USES_KWTA = {"ADN": True, "ADN-ReLU": False, "kWTA-MLP": True}

KWTA_PERCENT_ON = 0.05
WEIGHT_SPARSITY = 0.5
CONTEXT_PERCENT_ON = 0.1  # segment init only (Iyer/Bain configuration)
N_INPUTS, N_CLASSES = 784, 10


def n_kept(fan_in: int, sparsity: float = WEIGHT_SPARSITY) -> int:
    """Inputs each unit keeps: round((1 - sparsity) · fan-in), at least 1."""
    return max(1, int(round((1.0 - sparsity) * fan_in)))


def n_winners(n: int, percent_on: float = KWTA_PERCENT_ON) -> int:
    """k of the k-WTA: round(n · percent_on), at least 1."""
    return max(1, int(round(n * percent_on)))


def fan_in_mask(rng: np.random.Generator, n_out: int, n_in: int, sparsity: float = WEIGHT_SPARSITY) -> np.ndarray:
    """(n_out, n_in) boolean mask: every row keeps exactly :func:`n_kept` random inputs."""
    keep = n_kept(n_in, sparsity)
    mask = np.zeros((n_out, n_in), dtype=bool)
    for i in range(n_out):
        mask[i, rng.choice(n_in, size=keep, replace=False)] = True
    return mask


def kwta(z: torch.Tensor, k: int) -> torch.Tensor:
    """Keep the k largest entries of each row of ``z`` (N, n), zero the rest."""
    if k >= z.shape[1]:
        return z
    idx = z.topk(k, dim=1).indices
    keep = torch.zeros_like(z, dtype=torch.bool).scatter_(1, idx, True)
    return z * keep


def absolute_max_gate(drive: torch.Tensor, segments: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
    """drive (N, n) · σ(u_{j*}ᵀc) with j* = argmax_j |u_jᵀc|; segments (n, m, d_c), context (N, d_c)."""
    resp = torch.einsum("nd,umd->num", context, segments)  # (N, n, m)
    j = resp.abs().argmax(dim=2, keepdim=True)
    return drive * torch.sigmoid(resp.gather(2, j).squeeze(2))


class ADNet(nn.Module):
    """784 → h → h → 10 with active dendrites and/or k-WTA (see the module docstring).
    ``forward(x, c)``: logits from flat inputs x (N, 784) in [0, 1] and contexts c (N, d_c)."""

    def __init__(self, model: str, hidden: int, segments: int, context_dim: int, masks: list[np.ndarray]):
        super().__init__()
        if model not in ADN_MODELS:
            raise ValueError(f"unknown model {model!r}; valid: {', '.join(ADN_MODELS)}")
        self.name, self.hidden_size, self.n_segments, self.context_dim = model, hidden, segments, context_dim
        sizes = [N_INPUTS, hidden, hidden, N_CLASSES]
        self.layers = nn.ModuleList(MaskedLinear(a, b, m) for a, b, m in zip(sizes[:-1], sizes[1:], masks))
        self.segments = nn.ParameterList(
            nn.Parameter(torch.zeros(hidden, segments, context_dim)) for _ in range(2 if HAS_SEGMENTS[model] else 0)
        )
        self.k = n_winners(hidden)

    @property
    def masks(self) -> list[torch.Tensor]:
        return [layer.mask for layer in self.layers]

    @torch.no_grad()
    def init_weights(self, seed: int = 0) -> None:
        children = np.random.SeedSequence([seed, INIT_STREAM]).spawn(len(self.layers) + len(self.segments))
        gens = [torch.Generator().manual_seed(int(c.generate_state(1, np.uint64)[0])) for c in children]
        density = 1.0
        for layer, g in zip(self.layers, gens):
            bound = 1.0 / np.sqrt(density * (1.0 - WEIGHT_SPARSITY) * layer.in_features)
            layer.weight.uniform_(-bound, bound, generator=g)
            layer.bias.zero_()
            layer.apply_mask_()
            density = KWTA_PERCENT_ON if USES_KWTA[self.name] else 1.0
        for seg, g in zip(self.segments, gens[len(self.layers) :]):
            bound = 1.0 / np.sqrt(CONTEXT_PERCENT_ON * self.context_dim)
            seg.uniform_(-bound, bound, generator=g)

    def _activate(self, z: torch.Tensor, i: int, context: torch.Tensor) -> torch.Tensor:
        if HAS_SEGMENTS[self.name]:
            z = absolute_max_gate(z, self.segments[i], context)
        return kwta(z, self.k) if USES_KWTA[self.name] else torch.relu(z)

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        x = x.flatten(1)
        if HAS_SEGMENTS[self.name] and context is None:
            raise ValueError(f"{self.name} needs a context")
        for i, layer in enumerate(self.layers[:-1]):
            x = self._activate(layer(x), i, context)
        return self.layers[-1](x)

    def n_params(self) -> int:
        """Non-zero-mask weights + biases + segment weights."""
        return sum(layer.n_params() for layer in self.layers) + sum(s.numel() for s in self.segments)


def build_adn(model: str, hidden: int, segments: int, context_dim: int, seed: int = 0) -> ADNet:
    """An ADN-family model with masks and initial weights fixed by ``seed`` (CPU)."""
    rngs = [np.random.default_rng(c) for c in np.random.SeedSequence([seed, MASK_STREAM]).spawn(3)]
    sizes = [N_INPUTS, hidden, hidden, N_CLASSES]
    masks = [fan_in_mask(r, b, a) for r, a, b in zip(rngs, sizes[:-1], sizes[1:])]
    net = ADNet(model, hidden, segments, context_dim, masks)
    net.init_weights(seed)
    return net


class HouseNet(nn.Module):
    """A house model (:func:`dendritic.models.build_model`, one hidden layer pair) in the fast
    engine's form, with the (N, 784) → (N, 10) interface of :class:`ADNet`; the context is ignored."""

    def __init__(self, model: str, D: int, S: int, seed: int = 0):
        super().__init__()
        self.name = model
        self.net = FastNet([build_model(model, (1, 28, 28), N_CLASSES, D, S, seed=seed)])

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(x.flatten(1).t().unsqueeze(0))[0].t()

    def n_params(self) -> int:
        return self.net.n_params()


def is_house_model(model: str) -> bool:
    return model in MODEL_NAMES
