"""PyTorch kernels of the classification losses (overrides of
:mod:`losskit.losses.classification`).

Sparse cross-entropy of logits runs PyTorch's ``cross_entropy``, reduction included;
binary cross-entropy of logits (mean or sum, no ``pos_weight``) is the generic kernel's
stable formula in a fused Function with fewer passes over memory than PyTorch's loss; the sparse focal loss of logits, which
PyTorch lacks, is a Function with an analytic backward that never builds a one-hot
target.  Each is here because a benchmark row (``benchmarks/README.md``) shows it faster
than the generic kernel; other arguments return ``NotImplemented`` and run the generic
kernel.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from losskit.core.kernels import override
from losskit.core.namespace import finfo_tiny, is_static_number, is_traced
from losskit.losses.classification import (
    _focal_modulator,
    _is_zero,
    binary_cross_entropy_of_logits,
    sparse_cross_entropy,
    sparse_focal,
)
from losskit.torch.fast._common import (
    compute_dtype,
    fused_reduction,
    generic_backward,
    reduced_generic,
    scaled_sigmoid,
    xp,
)

Tensor = torch.Tensor


def _classes_to_dim1(pred: Tensor, axis: int) -> Tensor:
    """``pred`` with its class axis moved to 1 (PyTorch's layout); a view."""
    return pred if axis == 1 else torch.movedim(pred, axis, 1)


def _logits_backward(
    ctx: Any,
    grad_output: Tensor,
    kernel: Callable[..., Any],
    arrays: tuple[Tensor, Tensor],
    analytic: Callable[[], Tensor],
    **options: Any,
) -> tuple[Tensor | None, ...]:
    """``backward`` of a fused Function of logits: gradients of ``arrays`` (the logits
    and the target), None for the Function's other arguments.

    The gradient of the logits is ``analytic()``, the fused kernel's, which is not itself
    differentiable; when ``create_graph=True`` asks for a differentiable gradient, the
    gradients are those of ``kernel``'s generic implementation with ``options`` (see
    :func:`~losskit.torch.fast._common.generic_backward`).
    """
    pred = arrays[0]
    nones = (None,) * (len(ctx.needs_input_grad) - len(arrays))
    if torch.is_grad_enabled():
        grads = generic_backward(
            reduced_generic(kernel), arrays, ctx.needs_input_grad, grad_output, **options
        )
        return (*grads, *nones)
    return analytic().to(pred.dtype), None, *nones


# -------------------------------------------------------------------------- binary


class _BinaryCrossEntropyLogits(torch.autograd.Function):
    r"""Mean or sum of the binary cross-entropy of logits :math:`x` against targets
    :math:`t \in [0, 1]`, :math:`\ell = \max(x, 0) - t x + \log(1 + e^{-|x|})`, with
    gradient :math:`\sigma(x) - t`.

    The generic kernel's stable form (no large terms cancel, so a small loss keeps its
    relative precision; PyTorch's :math:`(1 - t)\,x - \log\sigma(x)` loses it for
    :math:`x \ll 0`, :math:`t = 0`: a relative error of 3e-5 at :math:`x = -5.13` in
    float32), in few passes over memory and one full-size buffer: the two non-negative
    parts :math:`\max(x, 0) - t x` and :math:`\log(1 + e^{-|x|})` are summed apart, one
    after the other in the same buffer (sums of non-negative terms: nothing cancels).
    Nothing is kept for backward but the inputs, and backward is two passes: the scaled
    sigmoid, then the scaled target subtracted in place.
    """

    @staticmethod
    def forward(ctx: Any, pred: Tensor, target: Tensor, reduction: str) -> Tensor:
        accumulate = compute_dtype(pred.dtype)  # 16-bit sums in float32
        work = torch.clamp(pred, min=0.0).addcmul_(pred, target, value=-1.0)
        linear_part = work.sum(dtype=accumulate)
        # log(1 + exp(-|x|)) in the same buffer, as minus softplus(|x|) with beta = -1:
        # log1p(exp(-|x|)) / -1 in one fused pass (the threshold, beta |x| > 20, never
        # applies), where abs, neg, exp and log1p took four
        torch.abs(pred, out=work)
        tail = torch.ops.aten.softplus.out(work, -1.0, 20.0, out=work).sum(dtype=accumulate)
        ctx.reduction = reduction
        ctx.save_for_backward(pred, target)
        total = linear_part - tail
        return (total / pred.numel() if reduction == "mean" else total).to(pred.dtype)

    @staticmethod
    def backward(ctx: Any, grad_output: Tensor) -> tuple[Tensor | None, ...]:
        pred, target = ctx.saved_tensors
        scale = grad_output / pred.numel() if ctx.reduction == "mean" else grad_output

        def analytic() -> Tensor:
            # scale sigma(x) in one pass, then scale t subtracted in place
            return scaled_sigmoid(scale, pred, 1.0).addcmul_(target, scale, value=-1.0)

        return _logits_backward(
            ctx,
            grad_output,
            binary_cross_entropy_of_logits,
            (pred, target),
            analytic,
            weighted_target=None,
            reduction=ctx.reduction,
        )


# (1 - t) x - log sigmoid(x) is inf - inf = NaN at an infinite logit, where the generic
# kernel gives the limit (0 or inf): the generic kernel runs for a result that is not finite
@override(binary_cross_entropy_of_logits, "torch", generic_if_not_finite=True)
def _binary_cross_entropy_of_logits(
    x: Tensor, target: Tensor, weighted_target: Tensor | None, *, reduction: str, xp: Any
) -> Any:
    # The Function reduces, takes no pos_weight and gives the target no gradient.
    if weighted_target is not None or reduction == "none" or x.numel() == 0:
        return NotImplemented
    if target.requires_grad:
        return NotImplemented
    return _BinaryCrossEntropyLogits.apply(x, target, reduction)


# ---------------------------------------------------------------------- multi-class


@override(sparse_cross_entropy, "torch")
def _sparse_cross_entropy(
    pred: Tensor,
    labels: Tensor,
    class_weights: Tensor | None,
    *,
    from_logits: bool,
    axis: int,
    label_smoothing: Any,
    poly_epsilon: Any,
    z_loss: Any = 0.0,
    softcap: Any = None,
    return_lse: bool = False,
    reduction: str,
    xp: Any,
) -> Any:
    if not from_logits or class_weights is not None or not _is_zero(label_smoothing):
        return NotImplemented
    if not _is_zero(poly_epsilon):
        return NotImplemented  # PyTorch's cross_entropy has no Poly-1 term
    if softcap is not None or not _is_zero(z_loss) or return_lse:
        # nor soft-capping, a z-loss or its log-sum-exp: the generic kernel computes the
        # log-sum-exp once and reuses it for all three
        return NotImplemented
    # PyTorch's layout: classes on dimension 1 (a 1-D pred is one sample)
    x = _classes_to_dim1(pred, axis) if pred.ndim >= 2 else pred
    # PyTorch sums a 16-bit loss in its own dtype: reduce_loss sums it in float32
    fused = fused_reduction(reduction, labels) if compute_dtype(x.dtype) == x.dtype else "none"
    return F.cross_entropy(x, labels.long(), reduction=fused)


def _modulator_slope(one_minus_p: Tensor, gamma: float) -> Tensor:
    """d m / d(1 - p) of the focal modulator m
    (:func:`~losskit.losses.classification._focal_modulator`): gamma (1 - p)^(gamma - 1),
    and 0 where the modulator clips 1 - p (gamma < 1), as the generic kernel's gradient."""
    if gamma >= 1:
        return gamma * one_minus_p ** (gamma - 1.0)
    tiny = finfo_tiny(one_minus_p, xp)
    slope = gamma * one_minus_p.clamp_min(tiny) ** (gamma - 1.0)
    return torch.where(one_minus_p >= tiny, slope, 0.0)


class _SparseFocalLogits(torch.autograd.Function):
    r"""Focal loss of logits ``[N, C, ...]`` (classes on dimension 1) against integer labels.

    Only the true class's log-probability enters the loss: with
    :math:`\lambda = \log p_y`, :math:`\ell = -a_y\, m(1 - p_y)\, \lambda`,
    :math:`k = \partial\ell/\partial\lambda = -a_y (m - p_y \lambda\, m')` and
    :math:`\partial\ell/\partial x = k\,(e_y - \operatorname{softmax}(x))`.

    No one-hot tensor: :math:`x_y` and :math:`a_y` are gathered by label in forward, and
    backward adds :math:`k` at the labels with one ``scatter_add``: few, large operations,
    since on a busy machine each parallel operation waits for a thread to wake up.
    :math:`\log p_y` is the log of the gathered softmax, exact also where :math:`p_y`
    underflows (see ``_log_true_class``).  The softmax computed in forward is handed to
    the first backward, which turns it into the gradient in place.
    """

    @staticmethod
    def forward(
        ctx: Any,
        pred: Tensor,
        labels: Tensor,
        alpha: Tensor | None,
        gamma: float,
        reduction: str,
    ) -> Tensor:
        dtype = compute_dtype(pred.dtype)
        batch_size, num_classes = pred.shape[:2]
        positions = math.prod(pred.shape[2:])  # not -1: ambiguous for an empty batch
        x = pred.to(dtype).reshape(batch_size, num_classes, positions)
        index = labels.reshape(batch_size, positions)
        prob = torch.softmax(x, 1)
        p_true = prob.gather(1, index.unsqueeze(1)).squeeze(1)
        log_p_true = _log_true_class(x, prob, p_true, index)
        one_minus_p = 1.0 - p_true
        modulator = _focal_modulator(one_minus_p, gamma, xp=xp)
        slope = _modulator_slope(one_minus_p, gamma)
        loss = modulator * log_p_true
        k = p_true.mul_(log_p_true).mul_(slope).sub_(modulator)  # in p_true's buffer
        if alpha is not None:
            alpha_true = alpha.to(dtype)[index]
            loss, k = alpha_true * loss, alpha_true * k
        loss = -loss
        if reduction == "none":
            out = loss.reshape(labels.shape)
        else:
            out = loss.sum()
            if reduction == "mean":
                count = max(labels.numel(), 1)
                out, k = out / count, k / count
        ctx.reduction, ctx.prob = reduction, prob
        ctx.options = {"alpha": alpha, "gamma": gamma, "poly_epsilon": 0.0}
        ctx.save_for_backward(pred, labels, index, k)
        return out.to(pred.dtype)

    @staticmethod
    def backward(ctx: Any, grad_output: Tensor) -> tuple[Tensor | None, ...]:
        pred, labels, index, k = ctx.saved_tensors

        def analytic() -> Tensor:
            prob, ctx.prob = ctx.prob, None
            if prob is None:  # a second backward (retain_graph=True): recompute
                shape = (*pred.shape[:2], index.shape[1])  # [B, C, positions]
                prob = torch.softmax(pred.to(k.dtype).reshape(shape), 1)
            upstream = grad_output.to(k.dtype)
            scale = k * (upstream.reshape(k.shape) if ctx.reduction == "none" else upstream)
            # k (e_y - p): -k p everywhere, then + k on each element's true class
            scale = scale.unsqueeze(1)
            grad = prob.mul_(-scale).scatter_add_(1, index.unsqueeze(1), scale)
            return grad.reshape(pred.shape)

        return _logits_backward(
            ctx,
            grad_output,
            sparse_focal,
            (pred, labels),
            analytic,
            from_logits=True,
            axis=1,
            reduction=ctx.reduction,
            **ctx.options,
        )


def _log_true_class(x: Tensor, prob: Tensor, p_true: Tensor, index: Tensor) -> Tensor:
    """log p_y from the softmax; exact also where p_y underflowed to below tiny.

    There, log p_y = x_y - lse(x) with lse = max_c x_c - log(max_c p_c): the largest
    probability is at least 1/C, so its log is accurate.  Computed only when needed
    (always while tracing, where the data cannot be looked at).
    """
    log_p = torch.log(p_true)
    tiny = finfo_tiny(p_true, xp)
    if is_traced(p_true) or bool((p_true < tiny).any()):
        x_true = x.gather(1, index.unsqueeze(1)).squeeze(1)
        exact = x_true.sub_(x.amax(1)).add_(torch.log(prob.amax(1)))
        log_p = torch.where(p_true < tiny, exact, log_p)
    return log_p


@override(sparse_focal, "torch")
def _sparse_focal(
    pred: Tensor,
    labels: Tensor,
    alpha: Tensor | None,
    *,
    gamma: Any,
    from_logits: bool,
    axis: int,
    poly_epsilon: Any,
    reduction: str,
    xp: Any,
) -> Any:
    if not from_logits or not is_static_number(gamma) or not _is_zero(poly_epsilon):
        return NotImplemented  # the Function computes no Poly-1 term
    if alpha is not None and alpha.requires_grad:
        return NotImplemented  # the Function gives alpha no gradient
    # PyTorch's layout: classes on dimension 1 (a 1-D pred is one sample)
    x = _classes_to_dim1(pred, axis) if pred.ndim >= 2 else pred.unsqueeze(0)
    y = labels if pred.ndim >= 2 else labels.unsqueeze(0)
    a = None if alpha is None else alpha.reshape(-1)
    loss = _SparseFocalLogits.apply(x, y.long(), a, float(gamma), reduction)
    return loss.squeeze(0) if pred.ndim == 1 and reduction == "none" else loss
