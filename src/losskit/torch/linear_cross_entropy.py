"""Cross-entropy of a linear layer's output that never builds the whole logits matrix.

A language model's last layer turns ``T`` hidden states of width ``H`` into ``T x V``
logits, and ``V`` (the vocabulary) is large: the logits, their softmax and their
gradient dwarf everything else.  :func:`linear_cross_entropy` processes the tokens in
chunks inside one :class:`torch.autograd.Function`; each chunk's logits live only while
that chunk is processed, and the chunk's contribution to the gradients with respect to
``hidden``, ``weight`` and ``bias`` is computed right away, so backward only scales
them.  Peak memory is the gradients plus one chunk, whatever the number of tokens.
"""

from __future__ import annotations

from typing import Any

import array_api_compat.torch as torch_xp
import torch
from torch import nn

from losskit.core.linear_head import check_head_inputs, check_head_options, check_token_weights
from losskit.core.reduction import Reduction
from losskit.core.validation import check_labels
from losskit.errors import LossInputError
from losskit.torch.fast.logit_blocks import cross_entropy_block

__all__ = ["LinearCrossEntropy", "linear_cross_entropy"]

#: Fewest tokens per automatic chunk: smaller matrix products run far below peak speed.
MIN_CHUNK = 128


def _auto_chunk(hidden_size: int) -> int:
    """H / 2 tokens: a chunk's [V, tokens] logits take half the memory of the [V, H] weight
    gradient, and the weight gradient, updated once per chunk, is read and written once
    per H / 2 tokens, which keeps its memory traffic small next to the products."""
    return max(MIN_CHUNK, hidden_size // 2)


def _accumulation_dtype(dtype: torch.dtype) -> torch.dtype:
    """float32 for half-precision inputs, the input dtype otherwise (float32, float64)."""
    return torch.promote_types(dtype, torch.float32)


def _chunk_loss_and_grad(
    h: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    y: torch.Tensor,
    *,
    label_smoothing: float,
    z_loss: float,
    softcap: float | None,
    want_grad: bool,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Per-token loss and its gradient with respect to the transposed logits ``[V, tokens]``
    for one chunk, in float32 (float64 for float64 inputs): the logits' product, then
    :func:`~losskit.torch.fast.logit_blocks.cross_entropy_block` (the math is there).

    The chunk's logits are the only ``[V, tokens]`` buffer (two with a softcap); every
    step after the matrix product works in place on it.
    """
    # The chunk's logits are kept transposed, [V, tokens] = W hᵀ: on CPU these products
    # (and g h, gᵀ W below) run faster than h Wᵀ, and reductions over V are as fast.
    logits = torch.mm(weight, h.t()) if bias is None else torch.addmm(bias[:, None], weight, h.t())
    # Half-precision products are taken to float32 before the softmax (the half-precision
    # product is freed at once); otherwise a no-op.
    x = logits.to(_accumulation_dtype(logits.dtype))
    del logits
    return cross_entropy_block(
        x,
        y,
        label_smoothing=label_smoothing,
        z_loss=z_loss,
        softcap=softcap,
        want_grad=want_grad,
    )


class _Gradients:
    """Gradients of a chunked loss with respect to hidden, weight and bias (those wanted).

    The weight and bias gradients are sums over chunks, accumulated in float32 even for
    half-precision inputs; the hidden gradient is written chunk by chunk.
    """

    def __init__(
        self,
        hidden: torch.Tensor,
        weight: torch.Tensor,
        bias: torch.Tensor | None,
        needs: tuple[bool, ...],
    ) -> None:
        need_h, need_w, need_b = needs[:3]
        self.dtype = hidden.dtype
        self.accumulation_dtype = acc = _accumulation_dtype(hidden.dtype)
        self.hidden = torch.empty_like(hidden) if need_h else None
        self.weight = torch.zeros(weight.shape, dtype=acc, device=weight.device) if need_w else None
        self.bias = None
        if need_b and bias is not None:
            self.bias = torch.zeros(bias.shape, dtype=acc, device=bias.device)
        self.wanted = need_h or need_w or self.bias is not None

    def add_chunk(
        self,
        hidden: torch.Tensor,
        weight: torch.Tensor,
        bias: torch.Tensor | None,
        target: torch.Tensor,
        rows: slice,
        scale: float | torch.Tensor,
        options: dict[str, Any],
    ) -> torch.Tensor:
        """Add the gradients of ``scale * loss`` over the tokens ``rows``; return their losses.

        With g = d loss / d logitsᵀ ([V, tokens]): d/dh = gᵀ W, d/dW += g h and
        d/db += Σ_tokens g.  The chunk's gradient is local here, so it is freed before the
        next chunk starts.
        """
        h = hidden[rows]
        loss, grad = _chunk_loss_and_grad(
            h, weight, bias, target[rows], want_grad=self.wanted, **options
        )
        if grad is None:
            return loss
        grad.mul_(scale)
        if self.hidden is not None:
            torch.mm(grad.to(self.dtype).t(), weight, out=self.hidden[rows])
        if self.weight is not None:
            self.weight.addmm_(grad, h.to(self.accumulation_dtype))
        if self.bias is not None:
            self.bias += grad.sum(dim=1)
        return loss

    def scale(self, factor: torch.Tensor) -> None:
        for grad in (self.hidden, self.weight, self.bias):
            if grad is not None:
                grad.mul_(factor)

    def result(self) -> tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor | None]:
        weight = None if self.weight is None else self.weight.to(self.dtype)
        bias = None if self.bias is None else self.bias.to(self.dtype)
        return self.hidden, weight, bias


class _LinearCrossEntropyFunction(torch.autograd.Function):
    """Chunked loss over tokens that are all kept (ignored ones were dropped before).

    ``per_token=False``: returns ``sum(scale * loss)`` and computes the gradients during
    forward; backward multiplies them by ``grad_output`` in place.  ``scale`` is a number
    (1, or 1 / count for the mean) or a ``[tokens]`` tensor (per-token weights, divided
    by their sum for the mean).  ``per_token=True``:
    returns the per-token losses and recomputes each chunk in backward, because a
    per-token ``grad_output`` cannot be applied to an already summed weight gradient.
    """

    @staticmethod
    def forward(
        ctx: Any,
        hidden: torch.Tensor,
        weight: torch.Tensor,
        bias: torch.Tensor | None,
        target: torch.Tensor,
        options: dict[str, Any],
        chunk_size: int,
        scale: float | torch.Tensor,
        per_token: bool,
    ) -> torch.Tensor:
        ctx.options, ctx.chunk_size, ctx.per_token = options, chunk_size, per_token
        chunks = [slice(i, i + chunk_size) for i in range(0, hidden.shape[0], chunk_size)]
        if per_token:
            ctx.save_for_backward(hidden, weight, bias, target)
            no_grads = _Gradients(hidden, weight, bias, (False, False, False))
            losses = [
                no_grads.add_chunk(hidden, weight, bias, target, rows, 1.0, options)
                for rows in chunks
            ]
            return (
                torch.cat(losses)
                if losses
                else hidden.new_zeros(0, dtype=no_grads.accumulation_dtype)
            )
        grads = _Gradients(hidden, weight, bias, ctx.needs_input_grad)
        total = torch.zeros((), dtype=grads.accumulation_dtype, device=hidden.device)
        for rows in chunks:
            s = scale[rows] if isinstance(scale, torch.Tensor) else scale
            total += (grads.add_chunk(hidden, weight, bias, target, rows, s, options) * s).sum()
        ctx.grads = grads
        return total

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        nones = (None,) * 5
        if ctx.per_token:
            hidden, weight, bias, target = ctx.saved_tensors
            grads = _Gradients(hidden, weight, bias, ctx.needs_input_grad)
            grad_output = grad_output.to(grads.accumulation_dtype)
            for i in range(0, hidden.shape[0], ctx.chunk_size):
                rows = slice(i, i + ctx.chunk_size)
                grads.add_chunk(hidden, weight, bias, target, rows, grad_output[rows], ctx.options)
            return (*grads.result(), *nones)
        grads = ctx.grads
        if grads is None:
            raise RuntimeError(
                "linear_cross_entropy's gradients were already handed out: its backward "
                "runs once per forward (retain_graph=True is not supported)"
            )
        # The gradients are scaled in place and handed over, so memory holds one copy.
        ctx.grads = None
        grads.scale(grad_output.to(grads.accumulation_dtype))
        return (*grads.result(), *nones)


def _check_tensors(hidden: Any, weight: Any, target: Any, bias: Any, weights: Any) -> None:
    """The shared head checks (:mod:`losskit.core.linear_head`), and per-token weights
    that do not ask for a gradient."""
    check_head_inputs(
        hidden, weight, target, bias, xp=torch_xp, array_type=torch.Tensor, type_name="torch.Tensor"
    )
    check_token_weights(
        weights, target, xp=torch_xp, array_type=torch.Tensor, type_name="torch.Tensor", values=True
    )
    if weights is not None and weights.requires_grad and torch.is_grad_enabled():
        raise LossInputError(
            "weights must not require grad: linear_cross_entropy takes per-token weights as "
            "constants and computes no gradient for them; pass weights.detach()"
        )


def linear_cross_entropy(
    hidden: torch.Tensor,
    weight: torch.Tensor,
    target: torch.Tensor,
    *,
    bias: torch.Tensor | None = None,
    weights: torch.Tensor | None = None,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    z_loss: float = 0.0,
    softcap: float | None = None,
    reduction: Reduction = "mean",
    chunk_size: int | None = None,
) -> torch.Tensor:
    r"""Cross-entropy of the logits :math:`h W^T + b` without materialising them.

    For a token with hidden state :math:`h`, label :math:`y` and logits
    :math:`x = \operatorname{softcap}(h W^T + b)` over :math:`V` classes, with
    :math:`\lambda = \log \sum_c e^{x_c}`:

    .. math::
        \ell = \lambda - (1 - s)\, x_y - \frac{s}{V} \sum_c x_c + z\, \lambda^2

    where :math:`s` is the label smoothing, :math:`z` the z-loss weight (PaLM's auxiliary
    loss that keeps :math:`\lambda` near 0) and :math:`\operatorname{softcap}(x) =
    c \tanh(x / c)` (Gemma 2's logit soft-capping) or the identity.  With :math:`z = 0`
    and no softcap this is ``F.cross_entropy(hidden @ weight.T + bias, target,
    ignore_index=..., label_smoothing=...)``.  ``"mean"`` divides by the number of tokens
    whose label is not ``ignore_index`` (so the z-loss term is PaLM's mean of
    :math:`\lambda^2` over those tokens) and is 0, with zero gradients, when every
    label is ignored; ignored tokens contribute 0 to ``"none"`` and ``"sum"``.

    With per-token ``weights`` :math:`w_i` (as in the rest of losskit), ``"none"``
    returns :math:`w_i \ell_i`, ``"sum"`` :math:`\sum_i w_i \ell_i` and ``"mean"``
    :math:`\sum_i w_i \ell_i / \sum_i w_i` over the tokens not ignored, 0 with zero
    gradients when that sum is 0.  A token of weight 0 is dropped like an ignored one
    (no logits are computed for it), so it contributes exactly 0 whatever its loss.

    Tokens are processed ``chunk_size`` at a time; only one chunk's ``[chunk_size, V]``
    logits exist at once, and their gradients with respect to ``hidden``, ``weight`` and
    ``bias`` are computed in the forward pass (for ``"none"`` they are recomputed in
    backward, which then costs one more matrix product).  Backward runs once per
    forward.  Half-precision inputs are multiplied in their own dtype; softmax,
    log-sum-exp, the loss and the weight and bias gradients accumulate in float32.

    Args:
        hidden: ``[..., H]`` floating hidden states.
        weight: ``[V, H]`` output-layer weight, ``hidden``'s dtype.
        target: integer labels of shape ``hidden.shape[:-1]``, in ``[0, V)`` or
            ``ignore_index``.
        bias: optional ``[V]`` output-layer bias.
        weights: optional finite, non-negative per-token weights of ``target``'s shape
            (floating; constants: no gradient is computed for them).
        ignore_index: label whose tokens are left out of the loss.
        label_smoothing: :math:`s \in [0, 1)`.
        z_loss: :math:`z \ge 0`.
        softcap: :math:`c > 0`, or None for no soft-capping.
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
        chunk_size: tokens per chunk; None picks :math:`H / 2` (at least 128), so one
            chunk's float32 logits take half the memory of the weight gradient.

    Returns:
        A 0-d tensor, or the per-token loss of ``target``'s shape for ``"none"``, in
        ``hidden``'s dtype.

    Examples:
        >>> import torch
        >>> from losskit.torch.linear_cross_entropy import linear_cross_entropy
        >>> hidden = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
        >>> weight = torch.tensor([[2.0, 0.0], [0.0, 0.0], [0.0, 0.0]])
        >>> round(float(linear_cross_entropy(hidden, weight, torch.tensor([0, -100]))), 4)
        0.2395

    References:
        Wijmans et al., *Cut Your Losses in Large-Vocabulary Language Models*, 2024
        (arXiv:2411.09009); Chowdhery et al., *PaLM*, 2022 (z-loss); Gemma Team,
        *Gemma 2*, 2024 (soft-capping).
    """
    options = check_head_options(
        ignore_index, label_smoothing, z_loss, softcap, reduction, chunk_size
    )
    _check_tensors(hidden, weight, target, bias, weights)
    check_labels(target, weight.shape[0], "target", torch_xp, ignore_index=ignore_index)
    h = hidden.reshape(-1, hidden.shape[-1])
    y = target.reshape(-1).long()  # uint8 would index as a mask, int8/int16 not at all
    w = None if weights is None else weights.reshape(-1).to(_accumulation_dtype(hidden.dtype))
    kept_index = None
    keep = y != ignore_index
    if w is not None:
        keep &= w != 0
    if not bool(keep.all()):
        # Ignored tokens (and tokens of weight 0) are dropped before any work: no logits
        # are computed for them, so they add exactly 0, even where their loss would be inf.
        kept_index = keep.nonzero().squeeze(1)
        h, y = h.index_select(0, kept_index), y.index_select(0, kept_index)
        w = None if w is None else w.index_select(0, kept_index)
    size = chunk_size if chunk_size is not None else _auto_chunk(hidden.shape[-1])
    fn = _LinearCrossEntropyFunction.apply
    if reduction == "none":
        loss = fn(h, weight, bias, y, options, size, 1.0, True)
        if w is not None:
            loss = loss * w  # autograd carries w into the per-token backward
        if kept_index is not None:
            loss = loss.new_zeros(target.numel()).index_copy(0, kept_index, loss)
        return loss.reshape(target.shape).to(hidden.dtype)
    # The mean's 1 / count (or w / sum(w)) is folded into the float32 gradients during
    # forward; an all-ignored batch has count 0, a sum of nothing, and divides by 1.
    scale: float | torch.Tensor
    if w is None:
        scale = 1.0 / max(y.shape[0], 1) if reduction == "mean" else 1.0
    else:
        # every kept weight is > 0: the sum is 0 only when nothing is kept (w is empty)
        scale = w / w.sum() if reduction == "mean" else w
    return fn(h, weight, bias, y, options, size, scale, False).to(hidden.dtype)


class LinearCrossEntropy(nn.Module):
    """Module form of :func:`linear_cross_entropy`: holds the options, takes the arrays.

    ``forward(hidden, weight, target, bias=None, weights=None)``; the weight is an argument rather than
    a parameter so that it can be the model's own (tied) output layer.

    Examples:
        >>> from losskit.torch.linear_cross_entropy import LinearCrossEntropy
        >>> LinearCrossEntropy(label_smoothing=0.1, softcap=30.0)
        LinearCrossEntropy(ignore_index=-100, label_smoothing=0.1, z_loss=0.0, softcap=30.0, reduction='mean', chunk_size=None)
    """

    def __init__(
        self,
        *,
        ignore_index: int = -100,
        label_smoothing: float = 0.0,
        z_loss: float = 0.0,
        softcap: float | None = None,
        reduction: Reduction = "mean",
        chunk_size: int | None = None,
    ) -> None:
        super().__init__()
        check_head_options(ignore_index, label_smoothing, z_loss, softcap, reduction, chunk_size)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing
        self.z_loss = z_loss
        self.softcap = softcap
        self.reduction = reduction
        self.chunk_size = chunk_size

    def forward(
        self,
        hidden: torch.Tensor,
        weight: torch.Tensor,
        target: torch.Tensor,
        bias: torch.Tensor | None = None,
        weights: torch.Tensor | None = None,
    ) -> torch.Tensor:
        return linear_cross_entropy(
            hidden,
            weight,
            target,
            bias=bias,
            weights=weights,
            ignore_index=self.ignore_index,
            label_smoothing=self.label_smoothing,
            z_loss=self.z_loss,
            softcap=self.softcap,
            reduction=self.reduction,
            chunk_size=self.chunk_size,
        )

    def extra_repr(self) -> str:
        return (
            f"ignore_index={self.ignore_index}, label_smoothing={self.label_smoothing}, "
            f"z_loss={self.z_loss}, softcap={self.softcap}, reduction={self.reduction!r}, "
            f"chunk_size={self.chunk_size}"
        )
