"""The fast training engine: the paper's models computed from the connections that exist, several
seeds of one configuration trained at once.

The reference form of a model is :class:`dendritic.models.DendriticNet`: every layer a dense
``nn.Linear`` whose weight is multiplied by a 0/1 mask. That is faithful and short, but a dANN-R with
D = 64, S = 512 then multiplies a 784 × 32,768 and a 32,768 × 512 matrix of which 98 % and 99.8 % are
zeros. :class:`FastNet` computes the same function (Methods: LeakyReLU(0.1) hidden nodes, dropout
after every hidden activation, logits out) with one layer type per kind of connectivity:

- **input → dendrites, R / LRF / GRF** (and any other sparse mask, e.g. random dendrites → somata):
  :class:`SparseLinear`, the weight a sparse matrix in CSR form built from the mask's index list.
  Forward is a sparse × dense product; the weight gradient is wanted only at existing connections,
  which is a *sampled* dense × dense product (SDDMM); the input gradient is a product with the
  transposed CSR matrix. Work ∝ connections, not ∝ matrix size.
- **dendrites → somata, structured** (block diagonal): :class:`BlockLinear`, soma j takes the dot
  product of its D weights with its own D dendrites: weights (S, D) against activations viewed as
  (S, D, batch), a batch of S tiny matrix products. No S × D·S matrix at all.
- **F, dense and output layers**: :class:`DenseLinear`, plain (batched) matrix products.

Replicas. A :class:`FastNet` holds R independent copies ("replicas") of one architecture, each
with its own masks and weights (built from R ``DendriticNet`` of different seeds), as one set of
tensors with a leading replica dimension: dense weights (R, out, in) go through one batched matrix
product, and the R sparse matrices are stacked into one block-diagonal CSR matrix, so R seeds cost
one pass of kernels instead of R. Replicas never mix: every operation is per replica (or per block
of the block-diagonal matrix), the loss is the sum of the replicas' mean losses, and Adam is
elementwise, so each replica follows exactly the gradient it would follow alone.

:func:`train_replicas` is the training loop for a FastNet: the same protocol as
:func:`dendritic.training.train_run` (Adam, batch order, validation, early stopping, divergence;
see there), per replica, with the same bookkeeping (one :class:`dendritic.training.RunTracker`
per replica). Every replica draws its batch order, dropout masks and (noise experiment)
noise from its own seed's streams, the same streams the reference loop uses, so a replica sees the
very batches and dropout masks it would see alone.

Numerics. The fast and the reference forms sum the same products in a different order, so they
agree to float32 rounding (about 1e-7 relative per operation), not bit for bit; over a few epochs of
training the histories agree to ~1e-5 relative (tests/test_engine.py checks rtol 1e-4 on losses).
Batched replicas and single runs of the fast engine agree to the same tolerance.

What makes it fast, each marked ``trick:`` below: activations kept feature-major,
(R, features, batch); int32 CSR indices; the bias folded into the sparse product; LeakyReLU and
its derivative in place; Adam's fused kernel; the images stored once and batches gathered by
index; evaluation chunks sized to the layer widths. Measurements: benchmarks/README.md.

Length: about 600 lines, over the ~450 the package aims at, because it is one idea (the same
network computed from its connections, batched over seeds): the layers, their kernels, the
replica model, its data and its loop need each other and nothing else.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from dendritic import optim
from dendritic.connectivity import structured
from dendritic.models import LEAKY_SLOPE, DendriticNet
from dendritic.training import (
    CONTINUE,
    EVAL_BATCH,
    RunResult,
    RunTracker,
    adam,
    batch_slices,
    class_blocks,
    compact_state,
    dropout_seed,
    evaluate,
    generator,
    split_and_corrupt,
)

# torch.sparse CSR is "beta" and says so once per process: let it say so here, silenced.
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    torch.sparse_csr_tensor(torch.tensor([0, 1]), torch.tensor([0]), torch.ones(1), (1, 1))

#: Elements of one hidden activation tensor during evaluation (sets the evaluation chunk size).
EVAL_ELEMENTS = 2**25
#: Activations with at least this many elements take the in-place custom kernels below; smaller
#: ones torch's built-in (C++) autograd, whose lower per-call overhead wins there (measured).
BIG = 2**16


# --------------------------------------------------------------------------------------------
# Layers. Inputs and outputs are feature-major: (R, features, batch).
# trick: a sparse × dense product W @ X wants the features as rows of X. Keeping every activation
# as (R, features, batch) makes every layer a left multiplication, with no transposes in between.
# --------------------------------------------------------------------------------------------


class DenseLinear(nn.Module):
    """A fully connected layer for R replicas: weight (R, out, in), bias (R, out, 1).

    Every layer maps (R, in, B) to its output in whatever shape its kernel produces (R·out·B
    numbers in the order of (R, out, B)); :class:`FastNet` reshapes after the activation."""

    def __init__(self, linears: Sequence[nn.Linear]):
        super().__init__()
        self.weight = nn.Parameter(torch.stack([lin.weight.detach() for lin in linears]).clone())
        self.bias = nn.Parameter(torch.stack([lin.bias.detach() for lin in linears])[..., None].clone())

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return torch.baddbmm(self.bias, self.weight, h)

    def export(self, r: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """(dense weight (out, in), bias (out,), mask or None) of replica ``r``."""
        return self.weight[r].detach().clone(), self.bias[r, :, 0].detach().clone(), None


class BlockLinear(nn.Module):
    """Structured dendrites → somata: soma j sums dendrites [D·j, D·(j+1)) with its D weights.

    weight (R, S, D), bias (R, S, 1). The activations (R, D·S, B) are viewed as (R·S, D, B) and
    each soma is a (1, D) @ (D, B) product: one batched matrix product for all somata and replicas.
    """

    def __init__(self, linears: Sequence[nn.Linear], D: int, S: int):
        super().__init__()
        block = torch.as_tensor(structured(D, S))
        for lin in linears:
            if not torch.equal(lin.mask.cpu(), block):
                raise ValueError("BlockLinear needs the structured (block-diagonal) mask")
        # weight[j, D*j + d] of the dense form is weight[j, d] here
        dense = torch.stack([lin.weight.detach() for lin in linears])  # (R, S, D*S)
        self.D, self.S = D, S
        self.weight = nn.Parameter(
            dense.view(len(linears), S, S, D).diagonal(dim1=1, dim2=2).permute(0, 2, 1).contiguous()
        )
        self.bias = nn.Parameter(torch.stack([lin.bias.detach() for lin in linears])[..., None].clone())

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        R, _, B = h.shape
        args = (
            h.reshape(R * self.S, self.D, B),
            self.weight.view(R * self.S, 1, self.D),
            self.bias.view(R * self.S, 1, 1),
        )
        if h.numel() >= BIG:
            return _BlockFn.apply(*args)  # (R·S, 1, B)
        return torch.baddbmm(args[2], args[1], args[0])

    def export(self, r: int):
        D, S = self.D, self.S
        w = torch.zeros(S, S, D, dtype=self.weight.dtype, device=self.weight.device)
        w.diagonal(dim1=0, dim2=1).copy_(self.weight[r].detach().t())
        mask = torch.as_tensor(structured(D, S), device=w.device)
        return w.view(S, S * D), self.bias[r, :, 0].detach().clone(), mask


class _BlockFn(torch.autograd.Function):
    """Soma j: y_j = w_j · h_j + b_j with h_j its (D, B) dendrites; all somata as one batched
    (1, D) @ (D, B) product. Backward: dL/dh_j = w_jᵀ (dL/dy_j) as a broadcast product, and
    dL/dw_j = (dL/dy_j) h_jᵀ (measured faster than autograd's batched outer products)."""

    @staticmethod
    def forward(ctx, h, weight, bias):
        ctx.save_for_backward(h, weight)
        return torch.baddbmm(bias, weight, h)

    @staticmethod
    def backward(ctx, grad):
        h, weight = ctx.saved_tensors
        grad_h = weight.transpose(1, 2) * grad if ctx.needs_input_grad[0] else None
        return grad_h, torch.bmm(grad, h.transpose(1, 2)), grad.sum(-1, keepdim=True)


class _LeakyReLU(torch.autograd.Function):
    """LeakyReLU(0.1) in place, and its backward in place on the incoming gradient.

    trick: the activations of D·S dendrites are the largest tensors of a step; applying the
    activation and its derivative in place saves a fresh allocation and a memory stream each
    (measured ~15 % of a dANN step at D = 64, S = 512). The incoming gradient is always a fresh
    tensor made by the next layer's backward; a non-contiguous one is left alone.
    """

    @staticmethod
    def forward(ctx, z):
        F.leaky_relu_(z, LEAKY_SLOPE)
        ctx.mark_dirty(z)
        ctx.save_for_backward(z)
        return z

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        out = grad if grad.is_contiguous() else torch.empty_like(a)
        return torch.ops.aten.leaky_relu_backward.grad_input(grad, a, LEAKY_SLOPE, True, grad_input=out)


def leaky_relu(z: torch.Tensor) -> torch.Tensor:
    """LeakyReLU(0.1) of a layer's fresh output, in place."""
    return _LeakyReLU.apply(z) if z.numel() >= BIG else F.leaky_relu_(z, LEAKY_SLOPE)


class _CSRStructure(nn.Module):
    """Index lists of a block-diagonal CSR matrix (R·out, R·in) and of its transpose, as buffers.

    trick: int32 indices. MKL (CPU) and cuSPARSE (GPU) work on 32-bit indices; int64 ones are
    converted on every call (3× slower on CPU at D = 64, S = 512).
    """

    def __init__(self, rows: torch.Tensor, cols: torch.Tensor, n_out: int, n_in: int):
        super().__init__()
        R, nnz = rows.shape
        offset = torch.arange(R)[:, None]
        row = (rows + offset * n_out).reshape(-1)  # global row / column in the block-diagonal form
        col = (cols + offset * n_in).reshape(-1)
        if not bool((row[1:] * R * n_in + col[1:] > row[:-1] * R * n_in + col[:-1]).all()):
            raise ValueError("CSR entries must be sorted by (row, column) and distinct")
        self.size, self.size_t = (R * n_out, R * n_in), (R * n_in, R * n_out)
        idx = torch.int32 if max(R * n_out, R * n_in, R * nnz) < 2**31 else torch.int64
        counts = torch.bincount(row, minlength=R * n_out)
        self.register_buffer("crow", torch.cat([counts.new_zeros(1), counts.cumsum(0)]).to(idx))
        self.register_buffer("col", col.to(idx))
        # the transpose: entries re-sorted by (column, row); perm maps its entries to ours
        perm = torch.argsort(col * (R * n_out) + row)
        counts_t = torch.bincount(col, minlength=R * n_in)
        self.register_buffer("crow_t", torch.cat([counts_t.new_zeros(1), counts_t.cumsum(0)]).to(idx))
        self.register_buffer("col_t", row[perm].to(idx))
        self.register_buffer("perm_t", perm)

    def matrix(self, values: torch.Tensor) -> torch.Tensor:
        return torch.sparse_csr_tensor(self.crow, self.col, values, self.size, check_invariants=False)

    def matrix_t(self, values: torch.Tensor) -> torch.Tensor:
        return torch.sparse_csr_tensor(
            self.crow_t, self.col_t, values[self.perm_t], self.size_t, check_invariants=False
        )


class _SparseLinearFn(torch.autograd.Function):
    """y = W x + b for a CSR matrix W given by its ``values``. The gradients, too, only touch W's
    entries: dL/dW_ij = (dL/dy_i) · x_j at the stored (i, j) only (SDDMM), dL/dx = Wᵀ dL/dy.

    trick: the bias is the ``input`` of the sparse addmm (no separate pass over y to add it).
    """

    @staticmethod
    def forward(ctx, values, bias, x, structure):
        ctx.structure = structure
        ctx.save_for_backward(values, x)
        return torch.addmm(bias.expand(bias.shape[0], x.shape[1]), structure.matrix(values), x)

    @staticmethod
    def backward(ctx, grad):
        values, x = ctx.saved_tensors
        s = ctx.structure
        grad_values = grad_bias = grad_x = None
        if ctx.needs_input_grad[0]:
            grad_values = torch.sparse.sampled_addmm(s.matrix(values), grad, x.t(), beta=0.0).values()
        if ctx.needs_input_grad[1]:
            grad_bias = grad.sum(1, keepdim=True)
        if ctx.needs_input_grad[2]:
            grad_x = s.matrix_t(values) @ grad
        return grad_values, grad_bias, grad_x, None


class SparseLinear(nn.Module):
    """A layer with an arbitrary sparse mask, from its index list: the existing connections'
    weights ``values`` (R, nnz), in row-major order of the mask, and bias (R, out, 1)."""

    def __init__(self, linears: Sequence[nn.Linear]):
        super().__init__()
        n_out, n_in = linears[0].weight.shape
        rows, cols, values = [], [], []
        for lin in linears:
            r, c = lin.mask.nonzero(as_tuple=True)  # row-major order
            rows.append(r.cpu())
            cols.append(c.cpu())
            values.append(lin.weight.detach()[r, c])
        if len({len(r) for r in rows}) != 1:
            raise ValueError("every replica of a SparseLinear needs the same number of connections")
        self.n_out, self.n_in = n_out, n_in
        self.register_buffer("rows", torch.stack(rows))
        self.register_buffer("cols", torch.stack(cols))
        self.structure = _CSRStructure(self.rows, self.cols, n_out, n_in)
        self.weight = nn.Parameter(torch.stack(values))
        self.bias = nn.Parameter(torch.stack([lin.bias.detach() for lin in linears])[..., None].clone())

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        R, _, B = h.shape
        # the sparse kernels want x row-major; a transposed batch (the input layer) is copied
        # here, by torch's fastest transposing copy (4× faster than inside the sparse addmm)
        x = h.reshape(R * self.n_in, B).contiguous()
        return _SparseLinearFn.apply(self.weight.view(-1), self.bias.view(-1, 1), x, self.structure)  # (R·out, B)

    def export(self, r: int):
        w = torch.zeros(self.n_out, self.n_in, dtype=self.weight.dtype, device=self.weight.device)
        w[self.rows[r], self.cols[r]] = self.weight[r].detach()
        mask = torch.zeros(self.n_out, self.n_in, dtype=torch.bool, device=w.device)
        mask[self.rows[r], self.cols[r]] = True
        return w, self.bias[r, :, 0].detach().clone(), mask


# --------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------


class FastNet(nn.Module):
    """R replicas of one DendriticNet architecture (same model, D, S, L, dropout; each its own
    masks and weights), computed with the layer types above. ``forward`` maps inputs
    (R, features, batch) to logits (R, n_classes, batch)."""

    def __init__(self, nets: Sequence[DendriticNet]):
        super().__init__()
        ref = nets[0]
        for net in nets[1:]:
            if (net.name, net.image_shape, net.n_classes, net.D, net.S, net.L, net.dropout) != (
                ref.name,
                ref.image_shape,
                ref.n_classes,
                ref.D,
                ref.S,
                ref.L,
                ref.dropout,
            ):
                raise ValueError("the replicas of a FastNet must share one architecture")
        self.name, self.image_shape, self.n_classes = ref.name, ref.image_shape, ref.n_classes
        self.D, self.S, self.L, self.dropout, self.kinds = ref.D, ref.S, ref.L, ref.dropout, ref.kinds
        self.replicas = len(nets)
        self._n_params = ref.n_params()
        layers = []
        for i, kind in enumerate(ref.kinds):
            linears = [net.layers[i] for net in nets]
            if linears[0].mask is None:
                layers.append(DenseLinear(linears))
            elif kind == "structured":
                layers.append(BlockLinear(linears, ref.D, ref.S))
            else:
                layers.append(SparseLinear(linears))
        self.layers = nn.ModuleList(layers)
        #: one generator per replica for the dropout masks (set by the trainer; None: no dropout)
        self.dropout_generators: list[torch.Generator] | None = None

    def n_params(self) -> int:
        """Trainable parameters of one replica (non-zero-mask weights + biases)."""
        return self._n_params

    @property
    def widths(self) -> list[int]:
        return [self.D * self.S, self.S] * self.L + [self.n_classes]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        R, _, B = x.shape
        for layer in self.layers[:-1]:
            # LeakyReLU in place on the layer's own output, *then* the (free) reshape to
            # (R, width, B): in place on a reshaped view would make autograd copy the gradient.
            x = leaky_relu(layer(x)).view(R, -1, B)
            if self.training and self.dropout > 0:
                x = x * self._dropout_noise(x)
        return self.layers[-1](x).view(R, -1, B)

    def hidden(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Post-activation hidden layers [dendrites₁, somata₁, …], (R, width, batch), no dropout."""
        R, _, B = x.shape
        out = []
        for layer in self.layers[:-1]:
            x = F.leaky_relu(layer(x), LEAKY_SLOPE).view(R, -1, B)
            out.append(x)
        return out

    def _dropout_noise(self, h: torch.Tensor) -> torch.Tensor:
        """Inverted-dropout noise (R, n, B) = Bernoulli(1 - p) / (1 - p), each replica from its own
        generator, drawn as a (B, n) tensor: the very numbers ``nn.Dropout`` of the reference form
        draws for a (B, n) activation from a generator in the same state."""
        if self.dropout_generators is None or len(self.dropout_generators) != h.shape[0]:
            raise RuntimeError("dropout needs one generator per replica (FastNet.dropout_generators)")
        R, n, B = h.shape
        keep = 1.0 - self.dropout
        noise = torch.empty(R, B, n, device=h.device, dtype=h.dtype)
        for r, gen in enumerate(self.dropout_generators):
            noise[r].bernoulli_(keep, generator=gen)
        return noise.div_(keep).transpose(1, 2)

    # ---------------------------------------------------------------------- replica states

    def replica_state(self, r: int) -> list[torch.Tensor]:
        """A copy of replica ``r``'s parameters (for best weights and final states)."""
        return [p[r].detach().clone() for p in self.parameters()]

    @torch.no_grad()
    def load_replica_state(self, r: int, state: list[torch.Tensor]) -> None:
        for p, v in zip(self.parameters(), state):
            p[r].copy_(v)

    @torch.no_grad()
    def zero_replica_(self, r: int) -> None:
        for p in self.parameters():
            p[r].zero_()

    @torch.no_grad()
    def export_state(self, r: int) -> dict[str, torch.Tensor]:
        """Replica ``r`` as a :class:`DendriticNet` state dict (dense weights, zeros where the mask
        is off, bool masks for the masked layers): the one format weights are saved in."""
        state = {}
        for i, layer in enumerate(self.layers):
            w, b, mask = layer.export(r)
            state[f"layers.{i}.weight"], state[f"layers.{i}.bias"] = w, b
            if mask is not None:
                state[f"layers.{i}.mask"] = mask
        return state

    def to_dendritic_net(self, r: int = 0) -> DendriticNet:
        """Replica ``r`` as a DendriticNet (the reference form), on the device of this net."""
        state = self.export_state(r)
        masks = [state.get(f"layers.{i}.mask") for i in range(len(self.layers))]  # None: dense layer
        masks = [None if m is None else m.cpu().numpy() for m in masks]
        net = DendriticNet(
            self.name, self.image_shape, self.n_classes, self.D, self.S, self.L, self.dropout, masks=masks
        ).to(self.layers[0].weight.device)
        net.load_state_dict(state)
        return net


# --------------------------------------------------------------------------------------------
# Data of R runs
# --------------------------------------------------------------------------------------------


@dataclass
class ReplicaData:
    """The data of R runs as row indices into one copy of the images.

    trick: the R runs differ only in which rows are train / validation and in their order, so the
    float images are stored once and every batch is gathered by index: R runs cost the memory of
    one. Only with noise (drawn per run) does each replica keep its own noisy copy (Rx = R).
    """

    x: torch.Tensor  # (Rx, N, features) float training images; Rx = 1 (shared) or R
    y: torch.Tensor  # (N,)
    train: torch.Tensor  # (R, N_train) each replica's training rows (class-ordered if sequential)
    val: torch.Tensor  # (R, N_val)
    x_test: torch.Tensor  # (Rx, N_test, features)
    y_test: torch.Tensor  # (N_test,)
    class_blocks: list[tuple[int, int]] | None = None

    @property
    def replicas(self) -> int:
        return self.train.shape[0]

    @staticmethod
    def gather(x: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        """Images of rows (R, n), replica r taking ``x[r or 0][rows[r]]``, as a feature-major
        (R, features, n) *view* of the gathered (R, n, features): a dense first layer multiplies it
        as it is (BLAS takes transposed operands), a sparse one copies it into its layout."""
        R, n = rows.shape
        if x.shape[0] > 1:
            rows = rows + torch.arange(R, device=rows.device)[:, None] * x.shape[1]
        return x.view(-1, x.shape[-1]).index_select(0, rows.reshape(-1)).view(R, n, -1).transpose(1, 2)

    @staticmethod
    def images(x: torch.Tensor, r: int) -> torch.Tensor:
        """Replica r's images (N, features) of a (Rx, N, features) store."""
        return x[r if x.shape[0] > 1 else 0]


def replica_data(x_train, y_train, x_test, y_test, cell, seeds: Sequence[int]) -> ReplicaData:
    """The splits (and noise) of ``cell``'s runs for ``seeds``, exactly as
    :func:`dendritic.training.run_data` makes them one seed at a time.

    ``x_*``: float (N, features) images in [0, 1] on the training device (``training.to_float``).
    """
    parts = [split_and_corrupt(x_train, y_train, x_test, cell, seed) for seed in seeds]
    train = torch.stack([p[0] for p in parts])
    val = torch.stack([p[1] for p in parts])
    if cell.sigma:
        x, xt = torch.stack([p[2] for p in parts]), torch.stack([p[3] for p in parts])
    else:
        x, xt = x_train[None], x_test[None]
    blocks = None
    if cell.sequential:
        blocks = class_blocks(y_train[train[0]])
        for r in range(1, len(seeds)):
            if not torch.equal(y_train[train[r]], y_train[train[0]]):
                raise ValueError("sequential replicas need the same class blocks")
    return ReplicaData(x, y_train, train, val, xt, y_test, blocks)


# --------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------


def eval_chunk(net: FastNet) -> int:
    """Evaluation chunk: as many samples as keep one hidden activation under EVAL_ELEMENTS.

    trick: the reference evaluates 8192 samples at a time, which for D·S = 32,768 is a 1 GB
    activation per replica; the chunk size does not change the numbers beyond float rounding.
    """
    return int(max(128, min(EVAL_BATCH, EVAL_ELEMENTS // (net.replicas * max(net.widths)))))


@torch.inference_mode()
def evaluate_replicas(
    net: FastNet, x: torch.Tensor, rows: torch.Tensor, y: torch.Tensor
) -> tuple[list[float], list[float]]:
    """Per replica: mean cross-entropy and accuracy over the rows (R, n) of images x / labels y."""
    was_training = net.training
    net.eval()
    R, n = rows.shape
    loss = torch.zeros(R, device=rows.device, dtype=torch.float64)
    correct = torch.zeros(R, device=rows.device, dtype=torch.int64)
    step = eval_chunk(net)
    for i in range(0, n, step):
        idx = rows[:, i : i + step]
        logits = net(ReplicaData.gather(x, idx))  # (R, C, b)
        yb = y[idx]
        loss += F.cross_entropy(logits, yb, reduction="none").sum(1).double()
        correct += (logits.argmax(1) == yb).sum(1)
    net.train(was_training)
    n = max(n, 1)
    return (loss / n).tolist(), (correct.double() / n).tolist()


def make_optimizer(net: FastNet, lr: float, optimizer: str = "adam") -> torch.optim.Optimizer:
    """The protocol's Adam (:func:`dendritic.optim.adam`), or the cell's other learning rule
    (``eg_adam``: :class:`dendritic.optim.EGAdam`, the same code as the reference loop's; the
    replicas' weights are the parameters' slices, so EG acts on each replica's own weights).

    trick: Adam's fused kernel where torch has one for the device; it computes the same update as
    the reference loop's implementation.
    """
    if optimizer == "adam":
        return adam(net.parameters(), lr, fused=True)
    return optim.make_optimizer(net.named_parameters(), optimizer, lr)


def run_batches(
    net: FastNet,
    opt: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    order: torch.Tensor,
    slices: Sequence[slice],
    weight: torch.Tensor | None = None,
):
    """One optimisation step per batch: replica r's batch i is rows ``order[r, slices[i]]`` of
    the image store x (:class:`ReplicaData`) and labels y, minimising
    Σ_r weight_r · (mean loss of replica r) (weight None: all 1). Returns the per-replica sums of
    the training loss and of the correct predictions, as device tensors (no host sync per batch)."""
    R = order.shape[0]
    loss_sum = torch.zeros(R, device=order.device)
    correct = torch.zeros(R, device=order.device, dtype=torch.int64)
    for sl in slices:
        rows = order[:, sl]
        xb, yb = ReplicaData.gather(x, rows), y[rows]
        logits = net(xb)  # (R, C, b)
        losses = F.cross_entropy(logits, yb, reduction="none").mean(1)  # (R,)
        opt.zero_grad(set_to_none=True)
        (losses.sum() if weight is None else (losses * weight).sum()).backward()
        opt.step()
        loss_sum += losses.detach() * yb.shape[1]
        correct += (logits.detach().argmax(1) == yb).sum(1)
    return loss_sum, correct


def train_replicas(net: FastNet, data: ReplicaData, cell, seeds: Sequence[int]) -> list[RunResult]:
    """Train the R replicas of ``net`` (replica r = run of ``seeds[r]``) on ``data`` following
    ``cell``'s protocol; one :class:`dendritic.training.RunResult` per replica.

    A replica that diverges or stops early is *frozen*: its final weights (what its
    :class:`~dendritic.training.RunTracker` keeps, else its current ones) are kept aside, its live
    weights and Adam moments are zeroed and its loss gets weight 0, so from then on its gradient
    and its Adam update are exactly zero and it cannot disturb anything (the others never depended
    on it). The loop ends when every replica is frozen or after ``cell.epochs``; a replica still
    running then keeps its last weights, as in the reference loop. The wall time of the batch (and
    of every epoch) is shared equally.
    """
    t0 = time.perf_counter()
    R = net.replicas
    if R != len(seeds) or data.replicas != R:
        raise ValueError(f"{R} replicas, {len(seeds)} seeds, {data.replicas} data splits")
    dev = data.x.device
    opt = make_optimizer(net, cell.lr, cell.optimizer)
    if net.dropout > 0:  # the seed's dropout stream, on the device (on the CPU: the reference's)
        net.dropout_generators = [torch.Generator(device=dev).manual_seed(dropout_seed(seed)) for seed in seeds]
    g_batches = [generator(seed, "batches") for seed in seeds]
    n = data.train.shape[1]
    slices = batch_slices(n, cell.batch_size, data.class_blocks)
    n_params = net.n_params()
    tracks = [RunTracker(cell, s, n_params, lambda r=r: net.replica_state(r)) for r, s in enumerate(seeds)]
    active = [True] * R
    weight = torch.ones(R, device=dev)  # loss weight per replica: 1 active, 0 frozen
    final_state: list[list[torch.Tensor] | None] = [None] * R

    def freeze(r: int) -> None:
        kept = tracks[r].kept_weights()
        final_state[r] = kept if kept is not None else net.replica_state(r)
        active[r] = False
        weight[r] = 0.0
        net.zero_replica_(r)
        for p in net.parameters():
            for key in ("exp_avg", "exp_avg_sq"):
                opt.state[p][key][r].zero_()

    net.train()
    for epoch in range(cell.epochs):
        te = time.perf_counter()
        if data.class_blocks is None:  # every replica reshuffles from its own stream
            order = torch.stack(
                [data.train[r][torch.randperm(n, generator=g).to(dev)] for r, g in enumerate(g_batches)]
            )
        else:
            order = data.train
        loss_sum, correct = run_batches(net, opt, data.x, data.y, order, slices, None if all(active) else weight)
        train_loss = (loss_sum / n).tolist()
        train_acc = (correct.double() / n).tolist()
        val_loss, val_acc = evaluate_replicas(net, data.x, data.val, data.y)
        dt = (time.perf_counter() - te) / R
        for r in range(R):
            if (
                active[r]
                and tracks[r].epoch(epoch, train_loss[r], train_acc[r], val_loss[r], val_acc[r], dt) != CONTINUE
            ):
                freeze(r)
        if not any(active):
            break

    # Test metrics come from each replica's saved form (a DendriticNet, evaluated by the reference
    # code), so that what is reported is exactly what the saved weights give (load_run).
    results = []
    for r, track in enumerate(tracks):
        if final_state[r] is None:  # ran to the epoch limit: its last weights, as the reference
            final_state[r] = net.replica_state(r)
        net.load_replica_state(r, final_state[r])
        ref, x_test = net.to_dendritic_net(r), ReplicaData.images(data.x_test, r)
        res = track.finish(lambda ref=ref, x_test=x_test: evaluate(ref, x_test, data.y_test))
        res.state = compact_state(ref.state_dict())
        results.append(res)
        del ref
    wall = (time.perf_counter() - t0) / R
    for res in results:
        res.wall_s = wall
    net.dropout_generators = None
    return results
