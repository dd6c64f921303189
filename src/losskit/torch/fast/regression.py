"""PyTorch kernels of the regression losses (overrides of :mod:`losskit.losses.regression`).

MSE and Huber run PyTorch's own fused kernels, reduction included; MAE (which PyTorch
composes of three operations for autograd) and log-cosh (which PyTorch lacks) are
autograd Functions with an analytic backward.  Each is here because a benchmark row
(``benchmarks/README.md``) shows it faster than the generic kernel.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from losskit.core.kernels import override
from losskit.core.namespace import is_static_number, is_traced
from losskit.core.primitives import LOG2
from losskit.losses.regression import absolute_error, huber_error, log_cosh_error, squared_error
from losskit.torch.fast._common import (
    compute_dtype,
    fused_reduction,
    generic_backward,
    reduced_generic,
    scaled_sigmoid,
)

Tensor = torch.Tensor


@override(squared_error, "torch")
def _squared_error(pred: Tensor, target: Tensor, *, reduction: str, xp: Any) -> Tensor:
    return F.mse_loss(pred, target, reduction=fused_reduction(reduction, pred))


@override(huber_error, "torch")
def _huber_error(pred: Tensor, target: Tensor, *, delta: Any, reduction: str, xp: Any) -> Any:
    if not is_static_number(delta):
        return NotImplemented  # a traced delta
    return F.huber_loss(
        pred, target, delta=float(delta), reduction=fused_reduction(reduction, pred)
    )


# ------------------------------------------------- fused losses of the error e = pred - target


def _error(pred: Tensor, target: Tensor) -> Tensor:
    """``pred - target`` in the compute dtype (float32 for 16-bit inputs): a new tensor."""
    dtype = compute_dtype(pred.dtype)
    return torch.sub(pred.to(dtype), target.to(dtype))


def _reduce_error_loss(loss: Tensor, reduction: str) -> Tensor:
    """The kernel's own reduction of a loss of the error: a plain sum or mean."""
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.sum() / max(loss.numel(), 1)


def _error_backward(
    ctx: Any,
    grad_output: Tensor,
    kernel: Callable[..., Any],
    gradient: Callable[[Tensor, Tensor], Tensor],
) -> tuple[Tensor | None, ...]:
    """``backward`` of a fused Function of the error :math:`e` whose forward hands ``e``
    over in ``ctx.error``: the gradient is ``gradient(e, g)``, the loss's derivative at
    ``e`` times the upstream gradient ``g`` (free to reuse ``e``'s memory), and its
    negative for the target.  A second
    backward (``retain_graph=True``) recomputes ``e``; ``create_graph=True`` asks for a
    differentiable gradient, which comes from ``kernel``'s generic implementation.
    """
    pred, target = ctx.saved_tensors
    if torch.is_grad_enabled():
        grads = generic_backward(
            reduced_generic(kernel),
            (pred, target),
            ctx.needs_input_grad,
            grad_output,
            reduction=ctx.reduction,
        )
        return (*grads, None)
    error, ctx.error = ctx.error, None
    if error is None:
        error = _error(pred, target)
    grad_output = grad_output.to(error.dtype)
    if ctx.reduction == "mean":
        grad_output = grad_output / max(error.numel(), 1)
    grad = gradient(error, grad_output)
    grad_pred = grad.to(pred.dtype) if ctx.needs_input_grad[0] else None
    grad_target = (-grad).to(target.dtype) if ctx.needs_input_grad[1] else None
    return grad_pred, grad_target, None


class _AbsoluteError(torch.autograd.Function):
    r"""|pred - target|, unreduced, summed or averaged, with an analytic backward.

    ``F.l1_loss`` is composed of ``sub``, ``abs`` and ``mean`` for autograd, which keeps
    the difference and builds its sign and the product with the upstream gradient in
    backward.  Here forward hands the difference :math:`e` to backward, which turns it
    into the gradient :math:`\operatorname{sign}(e)\, g` in place (0 where :math:`e = 0`,
    as PyTorch's); a second backward, with ``retain_graph``, recomputes it.
    """

    @staticmethod
    def forward(ctx: Any, pred: Tensor, target: Tensor, reduction: str) -> Tensor:
        error = _error(pred, target)
        out = _reduce_error_loss(error.abs(), reduction)
        ctx.reduction, ctx.error = reduction, error
        ctx.save_for_backward(pred, target)
        return out.to(pred.dtype)

    @staticmethod
    def backward(ctx: Any, grad_output: Tensor) -> tuple[Tensor | None, ...]:
        return _error_backward(ctx, grad_output, absolute_error, lambda e, g: e.sign_().mul_(g))


@override(absolute_error, "torch")
def _absolute_error(pred: Tensor, target: Tensor, *, reduction: str, xp: Any) -> Tensor:
    return _AbsoluteError.apply(pred, target, reduction)


#: The mean log-cosh above which the fused sums are kept.  Each of sum |e|, N log 2 and
#: sum log sigma(2|e|) carries a rounding error of a few u times itself, and together they
#: are at most 2 (L + N log 2) (as |e| <= log cosh e + log 2): relative to the loss L, a few u
#: times 2 (1 + log 2 / mean) <= 10 from this mean up.  Below it (errors mostly under
#: ~0.5) the generic kernel's series runs.
FAST_LOG_COSH_MIN_MEAN = LOG2 / 4
#: elements per product of sigmoids in the fused log-cosh: each factor is at least 1/2
_PRODUCT_BLOCK = 64


class _LogCosh(torch.autograd.Function):
    r"""Sum or mean of log cosh(pred - target), with an analytic backward.

    Forward, with :math:`e = \hat y - y`: :math:`\log\cosh e = |e| - \log 2 - \log
    \sigma(2|e|)`, and :math:`\sigma(2|e|) \in [\tfrac12, 1)` comes from one vectorised
    pass (:func:`~losskit.torch.fast._common.scaled_sigmoid`).  Its
    logarithms are summed as the logarithms of products of 64 (at least :math:`2^{-64}`:
    no underflow; the rounding of a product of 64 costs about as much as 64 rounded
    logarithms), so the only logarithms taken are one per 64 elements: the loss costs
    no more than a sigmoid.  Backward: :math:`\partial/\partial e = \tanh e = 2\sigma(2e)
    - 1`, from ``e``, which forward hands over, written into forward's buffer (a second
    backward, with ``retain_graph``, recomputes ``e`` and takes a new buffer).  Two
    full-size allocations, against five temporaries for the composed expression.

    The sums cancel where the errors are small (:math:`|e| - \log 2` against
    :math:`\log 2 - |e| + e^2/2`): the caller keeps the result only where the mean loss is
    large enough for that to cost a few units of rounding (:data:`FAST_LOG_COSH_MIN_MEAN`).
    """

    @staticmethod
    def forward(ctx: Any, pred: Tensor, target: Tensor, reduction: str) -> Tensor:
        error = _error(pred, target)
        count = error.numel()
        work = torch.abs(error)
        abs_sum = work.sum()
        scaled_sigmoid(torch.ones((), dtype=work.dtype), work, 2.0, out=work)  # sigma(2|e|)
        whole = count - count % _PRODUCT_BLOCK
        log_sigmoid_sum = torch.log(
            work[:whole].view(-1, _PRODUCT_BLOCK).prod(dim=1)
        ).sum() + torch.log(work[whole:].prod())
        out = abs_sum - count * LOG2 - log_sigmoid_sum
        if reduction == "mean":
            out = out / count
        ctx.buffer, ctx.reduction, ctx.error = work, reduction, error
        ctx.save_for_backward(pred, target)
        return out.to(pred.dtype)

    @staticmethod
    def backward(ctx: Any, grad_output: Tensor) -> tuple[Tensor | None, ...]:
        buffer, ctx.buffer = ctx.buffer, None

        def gradient(error: Tensor, grad_output: Tensor) -> Tensor:
            return _log_cosh_gradient(error, grad_output, buffer)

        return _error_backward(ctx, grad_output, log_cosh_error, gradient)


def _log_cosh_gradient(error: Tensor, grad_output: Tensor, out: Tensor | None) -> Tensor:
    """``tanh(e) g`` as ``2 g sigma(2e) - g``, in ``out`` when given: the scaled sigmoid
    is one vectorised pass, where CPU ``tanh`` costs about five times as much."""
    return scaled_sigmoid(2.0 * grad_output, error, 2.0, out=out).sub_(grad_output)


@override(log_cosh_error, "torch")
def _log_cosh_error(pred: Tensor, target: Tensor, *, reduction: str, xp: Any) -> Any:
    # Reduced losses only, and only where the sums' cancellation is known to be small,
    # which takes the value: not inside torch.compile or a functorch transform.
    if reduction == "none" or pred.numel() == 0 or is_traced(pred):
        return NotImplemented
    out = _LogCosh.apply(pred, target, reduction)
    mean = out if reduction == "mean" else out / pred.numel()
    return out if bool(mean >= FAST_LOG_COSH_MIN_MEAN) else NotImplemented
