"""Learning rules and initialisations beyond the paper's Adam: exponentiated-gradient Adam
(EG-Adam) and lognormal weight initialisation, an option of *any* model (``training.optimizer``,
``training.init``; ``Cell.optimizer``, ``Cell.init``).

Stand-in for the sign-preserving, sparse, lognormal learning rule of Inoue, Röhrbein & Knoblauch
(arXiv 2603.03234), whose rule is not available: exponentiated gradients (Cornford et al. 2024,
bioRxiv 10.1101/2024.10.25.620272; code linclab/EG_optimiser, ``optim_eg/adamw_eg.py``,
``optim_eg/init_tools.py``). See ``docs/neighbours/eg.md``.

* **EG-Adam** (:class:`EGAdam`): Adam's moments m̂, v̂ as usual, but the weight update is
  multiplicative, ``w ← w ⊙ exp(−η_t · sign(w) ⊙ m̂ / (√v̂ + ε))``; house settings lr from the cell,
  betas 0.9/0.999, eps 1e-7, no weight decay. A weight never changes sign and a weight at 0 stays
  0, so masked weights stay exactly zero without any hook.
* **Biases** (decision): updated additively with Adam (the same moments, ``b ← b − η_t·m̂/(√v̂+ε)``),
  so they start at 0 and can cross 0. The EG code splits each bias into b⁺ ≥ 0 and b⁻ ≤ 0 updated
  by EG; the additive update serves the same purpose (a bias that can change sign) without changing
  the parameter count or the saved weights' format.
* **Lognormal init** (:func:`lognormal_`): |w| ~ LogNormal with mean/std ratio 1.5 and, for the
  signed weight, std = gain/√fan (the EG code's ``lognormal_``), a random ±1 sign per weight,
  then multiplied by the mask. ``fan`` is the layer's *effective* fan-in (mean number of existing
  connections per unit, from the mask), gain that of LeakyReLU(0.1), ≈ 1.41 (decision: a
  dendrite with 16 pixels gets weights of the size its 16 inputs need).
* **lognormal_dale**: the same magnitudes, but one sign per *presynaptic hidden unit* (a column of
  the weight matrix of every layer fed by dendrites or somata); the pixel → dendrite layer keeps
  random signs per weight (a pixel is not a neuron).

Plain torch; imported by :mod:`dendritic.models` (init) and by the training loops (optimiser).
"""

from __future__ import annotations

import math
from typing import Iterable

import torch

#: ``training.optimizer`` values.
OPTIMIZERS = ("adam", "eg_adam")
#: ``training.init`` values.
INITS = ("glorot", "lognormal", "lognormal_dale")
#: The house Adam settings (Keras' values; :func:`adam`).
BETAS, EPS = (0.9, 0.999), 1e-7
#: EG init: mean / std of |w| (the EG code's default).
MEAN_STD_RATIO = 1.5
#: Gain of LeakyReLU(0.1), the house nonlinearity.
GAIN = math.sqrt(2.0 / (1.0 + 0.1**2))


class EGAdam(torch.optim.Optimizer):
    """Adam with exponentiated-gradient (multiplicative, sign-preserving) updates for the
    parameter groups with ``eg=True`` and the usual additive Adam update for the others
    (see the module docstring). State keys ``step``, ``exp_avg``, ``exp_avg_sq`` as torch's Adam,
    so a loop that resets a replica's moments works with both."""

    def __init__(self, params, lr: float = 1e-3, betas=BETAS, eps: float = EPS):
        if lr <= 0:
            raise ValueError(f"lr must be > 0, got {lr}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, eg=True))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            b1, b2 = group["betas"]
            lr, eps, eg = group["lr"], group["eps"], group["eg"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                state["step"] += 1
                t = state["step"]
                m, v = state["exp_avg"], state["exp_avg_sq"]
                m.lerp_(g, 1 - b1)
                v.mul_(b2).addcmul_(g, g, value=1 - b2)
                step_size = lr / (1 - b1**t)
                denom = (v.sqrt() / math.sqrt(1 - b2**t)).add_(eps)
                if eg:
                    update = (m / denom).mul_(p.sign()).mul_(-step_size).exp_()
                    p.mul_(update)
                else:
                    p.addcdiv_(m, denom, value=-step_size)
        return loss


def is_weight(name: str) -> bool:
    """Whether a parameter (by name) is a weight (EG-updated) rather than a bias."""
    return name.endswith("weight")


def adam(params: Iterable[torch.nn.Parameter], lr: float, fused: bool = False) -> torch.optim.Adam:
    """Adam as the paper trains (lr from the cell; betas 0.9/0.999 and eps 1e-7, Keras' values).

    ``fused``: torch's fused kernel (one pass over parameter, gradient and both moments) where
    there is one for the device and dtype, else the plain implementation; both compute the same
    update.
    """
    params, kw = list(params), dict(lr=lr, betas=BETAS, eps=EPS)
    if fused:
        try:
            return torch.optim.Adam(params, fused=True, **kw)
        except (RuntimeError, ValueError):  # no fused Adam for this device / dtype
            pass
    return torch.optim.Adam(params, **kw)


def make_optimizer(
    named_params: Iterable[tuple[str, torch.nn.Parameter]], optimizer: str, lr: float, fused: bool = False
) -> torch.optim.Optimizer:
    """The optimiser of a cell: ``adam`` (the house Adam, :func:`adam`; ``fused`` where torch has
    the kernel) or ``eg_adam`` (:class:`EGAdam`: weights by
    EG, biases by Adam)."""
    named = list(named_params)
    if optimizer == "adam":
        return adam((p for _, p in named), lr, fused)
    if optimizer == "eg_adam":
        weights = [p for n, p in named if is_weight(n)]
        biases = [p for n, p in named if not is_weight(n)]
        groups = [{"params": weights, "eg": True}] + ([{"params": biases, "eg": False}] if biases else [])
        return EGAdam(groups, lr=lr)
    raise ValueError(f"unknown optimizer {optimizer!r}; valid: {', '.join(OPTIMIZERS)}")


@torch.no_grad()
def lognormal_(
    weight: torch.Tensor,
    mask: torch.Tensor | None,
    generator: torch.Generator,
    per_column_sign: bool = False,
    gain: float = GAIN,
    mean_std_ratio: float = MEAN_STD_RATIO,
) -> torch.Tensor:
    """Fill ``weight`` (out, in) in place with signed lognormal weights (module docstring), zero
    outside ``mask``. ``per_column_sign``: one sign per input unit (column), Dale's law."""
    out_f, in_f = weight.shape
    fan = float(mask.sum(1).float().mean()) if mask is not None else float(in_f)
    std = gain / math.sqrt(max(fan, 1.0))
    std /= math.sqrt(1 + mean_std_ratio**2)  # |w| has std `std` and mean ratio·std: E[w²] = (gain²/fan)
    mean = mean_std_ratio * std
    mu = math.log(mean**2 / math.sqrt(mean**2 + std**2))
    sigma = math.sqrt(math.log(1 + std**2 / mean**2))
    mag = torch.empty(out_f, in_f).log_normal_(mu, sigma, generator=generator)
    if per_column_sign:
        sign = torch.bernoulli(torch.full((1, in_f), 0.5), generator=generator) * 2 - 1
    else:
        sign = torch.bernoulli(torch.full((out_f, in_f), 0.5), generator=generator) * 2 - 1
    w = mag * sign
    if mask is not None:
        w.masked_fill_(~mask.cpu(), 0.0)
    weight.copy_(w.to(weight.device, weight.dtype))
    return weight
