"""The paper's models (the paper, Methods, "Architecture" and Fig. 1).

Every model is a multilayer perceptron

    input (C*H*W) → [dendritic layer (D*S) → somatic layer (S)] × L → output (n_classes)

with LeakyReLU(0.1) on the hidden nodes, optional dropout after every hidden activation, and logits
out (the softmax lives in the cross-entropy loss). The models differ only in their connectivity:
how dendrites sample their inputs (R, LRF, GRF, F; see :mod:`dendritic.connectivity`) and how
dendrites are wired to somata (structured, dense, random); the table is :data:`MODEL_SPECS`. The
output layer is always dense. For L > 1 the next dendritic layer samples the previous S somata laid
out on the grid ``connectivity.grid_shape(S)`` with the same rule as the first layer.

Weights are Glorot-uniform on the full dense shape of each layer, biases zero, and the weights are
then multiplied by the layer's mask. A gradient hook multiplies every weight gradient by the mask
(as the authors do), so with Adam and no weight decay the masked weights stay exactly zero. The dense
masked weight matrix is the reference representation (:mod:`dendritic.engine` computes the same
function from the connections that exist).

Randomness. The seed fixes the masks and the initial weights through two independent streams,
``SeedSequence([seed, MASK_STREAM])`` and ``SeedSequence([seed, INIT_STREAM])``; each is spawned
into one child per layer (masks: one per hidden layer, in order; init: one per ``nn.Linear``, the
output layer last), so the first layers of an L = 1 and an L = 2 model with the same seed coincide.
The tags are fixed non-zero words, so these streams never equal ``SeedSequence(seed)`` or its
spawned children. The models never touch the global torch or numpy random state: dropout at
training time draws from torch's global generator, which the reference training loop seeds from
the run's dropout stream (:func:`dendritic.training.generator`).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from dendritic.connectivity import grid_shape, input_mask, soma_mask
from dendritic.optim import INITS, lognormal_
from dendritic.wiring import (  # noqa: F401
    ALL_MODELS,
    DAC_LAYERS,
    DAC_MODELS,
    MODEL_NAMES,
    MODEL_SPECS,
    Wiring,
    formula_params,
    model_label,
    model_spec,
)

MASK_STREAM = 0x6D61736B  # ASCII "mask"
INIT_STREAM = 0x696E6974  # ASCII "init"

LEAKY_SLOPE = 0.1


_FULL_KINDS = ("F", "dense")  # kinds whose mask is all ones: such layers are plain dense layers


def _is_full(kind: str, mask) -> bool:
    """Whether a layer is a plain dense layer: no mask, or an F / dense layer whose mask is all
    ones. A mask with zeros on such a layer (a pruned ticket, :mod:`dendritic.pruning`) gates it."""
    return mask is None or (kind in _FULL_KINDS and bool(np.asarray(mask).all()))


def _check_sizes(D: int, S: int, L: int) -> None:
    for label, v in (("D", D), ("S", S), ("L", L)):
        if int(v) != v or v < 1:
            raise ValueError(f"{label} must be a positive integer, got {v!r}")


def layer_kinds(name: str, L: int = 1) -> list[str]:
    """Connectivity kind of each ``nn.Linear``, in order: [sampling, wiring] × L + ["dense"]."""
    spec = model_spec(name)
    return [spec.sampling, spec.somata] * L + ["dense"]


def build_masks(name: str, image_shape, D: int, S: int, L: int = 1, k: int = 16, seed: int = 0) -> list[np.ndarray]:
    """The 2L boolean masks of the hidden layers, shaped like their weights (out, in):
    [input→dendrites (D*S, C*H*W), dendrites→somata (S, D*S), somata→dendrites (D*S, S), …].

    F and dense layers get all-ones masks. Deterministic in ``seed`` (stream ``MASK_STREAM``).
    """
    spec = model_spec(name)
    _check_sizes(D, S, L)
    children = np.random.SeedSequence([seed, MASK_STREAM]).spawn(2 * L)
    shape = tuple(image_shape)
    masks = []
    for layer in range(L):
        rng_in, rng_soma = (np.random.default_rng(c) for c in children[2 * layer : 2 * layer + 2])
        masks.append(input_mask(spec.sampling, rng_in, shape, D, S, k))
        masks.append(soma_mask(spec.somata, rng_soma, D, S))
        shape = (1, *grid_shape(S))  # the next dendrites sample the somata as an image
    return masks


def count_params(name: str, image_shape, n_classes: int, D: int, S: int, L: int = 1, k: int = 16) -> int:
    """Trainable parameters counted from the masks (no weights allocated): non-zero-mask weights
    + biases of every layer + the dense output layer. The same for every seed.

    DAC models: one bias per existing connection of each DAC layer, and no unit bias on the
    senders of a DAC layer (absorbed into the connections' biases; :class:`DACNet`)."""
    masks = build_masks(name, image_shape, D, S, L, k, seed=0)
    weights = sum(int(m.sum()) for m in masks) + S * n_classes
    dac = model_spec(name).dac
    if not dac:
        return weights + L * (D * S + S) + n_classes
    _check_dac_depth(L)
    per_layer = [int(m.sum()) for m in masks] + [S * n_classes]
    keeps = _keeps_bias(dac)
    unit_biases = sum(n for n, keep in zip([D * S, S, n_classes], keeps) if keep)
    return weights + unit_biases + sum(n for layer, n in zip(DAC_LAYERS, per_layer) if layer in dac)


def _check_dac_depth(L: int) -> None:
    if L != 1:
        raise ValueError(f"DAC models have one dendrite → soma pair (L = 1), got L = {L}")


def _keeps_bias(dac: tuple[str, ...]) -> list[bool]:
    """Whether each ``nn.Linear`` of a DAC model (L = 1) keeps its unit bias: not when the next
    layer is a DAC layer, whose per-connection biases absorb it (the output layer always keeps it)."""
    return [DAC_LAYERS[i + 1] not in dac for i in range(2)] + [True]


class MaskedLinear(nn.Linear):
    """``nn.Linear`` whose weight is gated by a fixed boolean ``mask`` buffer (None: dense layer).

    The masked-out weights are zeroed at init and their gradients are multiplied by the mask by a
    hook, so they stay exactly zero under optimisers without weight decay.
    """

    def __init__(self, in_features: int, out_features: int, mask=None, bias: bool = True):
        super().__init__(in_features, out_features, bias=bias)
        if mask is not None:
            mask = torch.tensor(np.asarray(mask), dtype=torch.bool)
            if tuple(mask.shape) != (out_features, in_features):
                raise ValueError(f"mask shape {tuple(mask.shape)} != ({out_features}, {in_features})")
        self.register_buffer("mask", mask)
        self._ensure_mask_hook()

    def reset_parameters(self) -> None:
        """Zeros: no draw from the global torch generator; :meth:`glorot_` is the real init."""
        nn.init.zeros_(self.weight)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    @torch.no_grad()
    def glorot_(self, generator: torch.Generator) -> None:
        """Glorot-uniform on the full (out, in) shape, zero bias, then multiply by the mask."""
        nn.init.xavier_uniform_(self.weight, generator=generator)
        if self.bias is not None:
            self.bias.zero_()
        self.apply_mask_()

    @torch.no_grad()
    def apply_mask_(self) -> None:
        """Zero the masked-out weights (e.g. after loading weights from elsewhere)."""
        if self.mask is not None:
            self.weight.masked_fill_(~self.mask, 0.0)

    def _mask_grad(self, grad: torch.Tensor) -> torch.Tensor:
        return grad * self.mask

    def _ensure_mask_hook(self) -> None:
        # The hook lives on the Parameter object. deepcopy keeps it, but a new Parameter (pickling,
        # load_state_dict(assign=True), ...) arrives without it: hence the check here and in forward.
        if self.mask is None:
            return
        hooks = self.weight._backward_hooks or {}
        if not any(getattr(hook, "__self__", None) is self for hook in hooks.values()):
            self.weight.register_hook(self._mask_grad)

    def __setstate__(self, state) -> None:
        super().__setstate__(state)
        self._ensure_mask_hook()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._ensure_mask_hook()
        return super().forward(x)

    def n_params(self) -> int:
        """Non-zero-mask weights + biases."""
        n_weights = self.weight.numel() if self.mask is None else int(self.mask.sum())
        return n_weights + (self.bias.numel() if self.bias is not None else 0)


class DendriticNet(nn.Module):
    """input → [dendrites (D*S) → somata (S)] × L → output (n_classes); see the module docstring.

    ``layers`` holds the 2L + 1 ``MaskedLinear`` layers in order, ``kinds`` their connectivity
    kinds and ``masks`` their masks (None for F, dense and output layers). The argument ``masks``
    gives the 2L hidden layers' masks (:func:`build_masks`), optionally a (2L+1)-th for the output
    layer; an F, dense or output layer takes its mask only when it has zeros (a pruned ticket).
    """

    def __init__(
        self,
        name: str,
        image_shape,
        n_classes: int,
        D: int,
        S: int,
        L: int = 1,
        dropout: float = 0.0,
        k: int = 16,
        masks: list[np.ndarray] | None = None,
    ):
        super().__init__()
        _check_sizes(D, S, L)
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.name, self.image_shape, self.n_classes = name, tuple(image_shape), n_classes
        self.D, self.S, self.L, self.dropout, self.k = D, S, L, dropout, k
        self.kinds = layer_kinds(name, L)
        if masks is None:
            masks = build_masks(name, image_shape, D, S, L, k)
        n_inputs = int(np.prod(image_shape))
        sizes = [n_inputs] + [D * S, S] * L + [n_classes]
        masks = list(masks) + [None] * (len(self.kinds) - len(masks))  # the output layer: dense unless given
        self.layers = nn.ModuleList(
            MaskedLinear(n_in, n_out, None if _is_full(kind, mask) else mask)
            for n_in, n_out, kind, mask in zip(sizes[:-1], sizes[1:], self.kinds, masks)
        )
        self.act = nn.LeakyReLU(LEAKY_SLOPE)
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    @property
    def label(self) -> str:
        return model_label(self.name, self.dropout)

    @property
    def masks(self) -> list[torch.Tensor | None]:
        """One entry per ``nn.Linear`` in ``layers``: its bool mask, or None for a dense layer."""
        return [layer.mask for layer in self.layers]

    def init_weights(self, seed: int = 0, init: str = "glorot") -> None:
        """Init of every layer from the stream ``SeedSequence([seed, INIT_STREAM])``: Glorot-uniform
        (``init="glorot"``, the paper's), or signed lognormal weights with zero biases
        (``lognormal``, ``lognormal_dale``: one sign per presynaptic hidden unit;
        :func:`dendritic.optim.lognormal_`)."""
        if init not in INITS:
            raise ValueError(f"unknown init {init!r}; valid: {', '.join(INITS)}")
        children = np.random.SeedSequence([seed, INIT_STREAM]).spawn(len(self.layers))
        for i, (layer, child) in enumerate(zip(self.layers, children)):
            generator = torch.Generator().manual_seed(int(child.generate_state(1, np.uint64)[0]))
            if init == "glorot":
                layer.glorot_(generator)
            else:  # layer 0 is fed by pixels: signs per weight; the others by hidden units
                lognormal_(layer.weight, layer.mask, generator, per_column_sign=init == "lognormal_dale" and i > 0)
                with torch.no_grad():
                    layer.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (N, n_classes) from flat inputs (N, C*H*W) (an (N, C, H, W) batch is flattened)."""
        x = x.flatten(1)
        for layer in self.layers[:-1]:
            x = self.drop(self.act(layer(x)))
        return self.layers[-1](x)

    def hidden(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Post-activation hidden layers [dendrites₁, somata₁, dendrites₂, …], without dropout."""
        x, out = x.flatten(1), []
        for layer in self.layers[:-1]:
            x = self.act(layer(x))
            out.append(x)
        return out

    def n_params(self) -> int:
        """Trainable parameters: non-zero-mask weights + all biases (dense layers in full)."""
        return sum(layer.n_params() for layer in self.layers)

    def extra_repr(self) -> str:
        return f"name={self.label!r}, D={self.D}, S={self.S}, L={self.L}, kinds={self.kinds}"


def make_net(
    name: str,
    image_shape,
    n_classes: int,
    D: int,
    S: int,
    L: int = 1,
    dropout: float = 0.0,
    k: int = 16,
    masks: list[np.ndarray] | None = None,
) -> DendriticNet:
    """An uninitialised network of model ``name``: a :class:`DACNet` for the DAC models, else a
    :class:`DendriticNet` (the one place that picks the class; :func:`dendritic.cells.load_run`
    rebuilds trained networks with it)."""
    cls = DACNet if model_spec(name).dac else DendriticNet
    return cls(name, image_shape, n_classes, D, S, L, dropout, k, masks)


def build_model(
    name: str,
    image_shape,
    n_classes: int,
    D: int,
    S: int,
    L: int = 1,
    dropout: float = 0.0,
    seed: int = 0,
    k: int = 16,
    init: str = "glorot",
) -> DendriticNet:
    """A model with masks and initial weights fixed by ``seed`` (on the CPU). A DAC model and
    its base model (:func:`dendritic.wiring.base_model`) with the same seed share masks and
    weights, and compute the same function at initialisation. ``init``: see
    :meth:`DendriticNet.init_weights`."""
    masks = build_masks(name, image_shape, D, S, L, k, seed)
    model = make_net(name, image_shape, n_classes, D, S, L, dropout, k, masks)
    model.init_weights(seed, init)
    return model


# --------------------------------------------------------------------------------------------
# DAC models (Metta et al., WACV 2024, arXiv 2301.00924): beyond the paper
# --------------------------------------------------------------------------------------------


def _edge_sum(z: torch.Tensor, bias: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Σ_j w_ij · φ(b_ij + z_j) for a layer given as (out, in) ``bias`` and ``weight`` (masked
    weights are zero, so their connections add nothing): z (B, in) → (B, out), through a
    B × out × in tensor."""
    y = F.leaky_relu_(z.unsqueeze(1) + bias, LEAKY_SLOPE)  # in place: autograd keeps one B × out × in tensor
    return torch.einsum("boi,oi->bo", y, weight)


#: Floats of one B × connections tensor at evaluation (128 MB): sets a DAC model's evaluation batch.
DAC_EVAL_FLOATS = 2**25


class DACNet(DendriticNet):
    """A model with dendrite-activated connections (DAC; Metta et al. 2024; L = 1).

    Units pass on their pre-activation z_j, and every connection j → i of a DAC layer (named in
    ``model_spec(name).dac``) computes y_ij = φ(b_ij + z_j) before the weighted sum, φ the house
    LeakyReLU(0.1); a unit whose outgoing layer is DAC has no bias of its own (its children's
    b_ij absorb it). The weights are the base model's ``MaskedLinear`` layers (same masks, same
    init); the DAC biases start at 0, so that at initialisation the network computes its base
    model's function exactly (pixels are ≥ 0, and φ(x) = x there).

    DAC biases (``dac_bias``, one entry per DAC layer): the input layer's as (D·S, k), one per
    sampled pixel of each dendrite, whose pixel indices are the buffer ``dac_index``: the forward
    gathers each dendrite's k pixels into a B × D·S × k tensor (full fan-in, as pdANN or vANN
    would need, is not offered); a dense layer's as (out, in), a B × out × in tensor per batch.
    No sparse product can hold the per-connection nonlinearity: DAC models train on the
    reference path only (:func:`dendritic.cells.engine_for`).

    ``hidden(x)`` returns what each hidden layer passes on: φ of its pre-activation for a standard
    layer, the pre-activation itself for a sender of a DAC layer.
    """

    def __init__(self, name, image_shape, n_classes, D, S, L=1, dropout=0.0, k=16, masks=None):
        _check_dac_depth(L)
        if dropout:
            raise ValueError(f"{name}: DAC models take no dropout, got {dropout}")
        super().__init__(name, image_shape, n_classes, D, S, L, dropout, k, masks)
        self.dac = model_spec(name).dac
        for layer, keep in zip(self.layers, _keeps_bias(self.dac)):
            if not keep:
                layer.bias = None  # absorbed into the next layer's per-connection biases
        biases = {}
        if "input" in self.dac:
            mask = self.layers[0].mask
            if mask is None:
                raise ValueError(f"{name}: DAC on a fully connected input layer is not offered")
            per_row = mask.sum(1)
            if not bool((per_row == per_row[0]).all()):
                raise ValueError(f"{name}: DAC input layer needs the same fan-in on every dendrite")
            index = mask.nonzero()[:, 1].reshape(mask.shape[0], int(per_row[0]))
            self.register_buffer("dac_index", index)
            biases["0"] = nn.Parameter(torch.zeros(index.shape))
        for i, layer in enumerate(DAC_LAYERS[1:], start=1):
            if layer in self.dac:
                biases[str(i)] = nn.Parameter(torch.zeros_like(self.layers[i].weight))
        self.dac_bias = nn.ParameterDict(biases)
        #: evaluation batch (:func:`dendritic.training.evaluate`): B × DAC connections ≤ 2^25 floats
        self.eval_batch = max(256, min(8192, DAC_EVAL_FLOATS // max(self.dac_connections(), 1)))

    def dac_connections(self) -> int:
        """Connections with a DAC bias: the B × connections tensors of one batch."""
        return sum(int(b.numel()) for b in self.dac_bias.values())

    def _layer(self, i: int, x: torch.Tensor) -> torch.Tensor:
        """Pre-activation of layer ``i``'s receivers from what its senders pass on."""
        lin = self.layers[i]
        if DAC_LAYERS[i] not in self.dac:
            return lin(x)
        lin._ensure_mask_hook()
        if i == 0:
            index = self.dac_index
            xg = x.index_select(1, index.flatten()).view(len(x), *index.shape) + self.dac_bias["0"]
            z = torch.einsum("bdk,dk->bd", F.leaky_relu_(xg, LEAKY_SLOPE), lin.weight.gather(1, index))
        else:
            z = _edge_sum(x, self.dac_bias[str(i)], lin.weight)
        return z if lin.bias is None else z + lin.bias

    def _passes(self, x: torch.Tensor) -> list[torch.Tensor]:
        x, out = x.flatten(1), []
        for i in range(len(self.layers)):
            x = self._layer(i, x)
            if i + 1 < len(self.layers) and DAC_LAYERS[i + 1] not in self.dac:
                x = self.act(x)
            out.append(x)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._passes(x)[-1]

    def hidden(self, x: torch.Tensor) -> list[torch.Tensor]:
        return self._passes(x)[:-1]

    def n_params(self) -> int:
        """Weights and unit biases as :class:`DendriticNet`, plus one DAC bias per existing
        connection of each DAC layer."""
        n = super().n_params()
        for key, b in self.dac_bias.items():
            mask = self.layers[int(key)].mask if key != "0" else None
            n += b.numel() if mask is None else int(mask.sum())
        return n
