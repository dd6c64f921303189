"""PyTorch fast paths for the regression losses.

MSE, Huber, smooth L1 and the Poisson NLL with log-rates run PyTorch's own kernels;
MAE (which PyTorch composes of three operations for autograd) and log-cosh (which PyTorch
lacks) are fused autograd Functions; quantile
and the Gaussian NLL are short compositions of PyTorch operations.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from losskit.core.namespace import as_float, finfo_sqrt_tiny, finfo_tiny
from losskit.core.primitives import LOG2
from losskit.core.reduction import check_reduction
from losskit.core.validation import (
    check_broadcastable,
    check_no_nan,
    check_nonnegative,
    check_values,
)
from losskit.torch.fast._common import (
    compute_dtype,
    elementwise_inputs,
    fast_path,
    finish,
    generic_backward,
    is_number,
    non_finite,
    reduce,
    screen,
    torch_namespace,
    xp,
)

Tensor = torch.Tensor


def _pointwise(
    pred: Any,
    target: Any,
    reduction: str,
    weights: Any,
    kernel: Callable[..., Tensor],
    **options: Any,
) -> Tensor:
    """A loss that PyTorch computes element by element as ``kernel(pred, target, reduction=)``."""
    check_reduction(reduction)
    pred, target = elementwise_inputs(pred, target, defer_nan_check=reduction != "none")
    return finish(_run(pred, target, reduction, weights, kernel, **options), target, reduction)


def _run(
    pred: Tensor,
    target: Tensor,
    reduction: str,
    weights: Any,
    kernel: Callable[..., Tensor],
    **options: Any,
) -> Tensor:
    if weights is None and reduction != "none" and pred.numel() > 0:
        out = kernel(pred, target, reduction=reduction, **options)
    else:
        # Weighted, unreduced or empty (PyTorch's empty mean is NaN, losskit's is 0).
        out = reduce(kernel(pred, target, reduction="none", **options), reduction, weights)
    return out


@fast_path("mse")
def mse(pred: Any, target: Any, *, reduction: str = "mean", weights: Any = None) -> Tensor:
    return _pointwise(pred, target, reduction, weights, F.mse_loss)


# ------------------------------------------------- fused losses of the error e = pred - target


def _error(pred: Tensor, target: Tensor) -> Tensor:
    """``pred - target`` in the compute dtype (float32 for 16-bit inputs): a new tensor."""
    dtype = compute_dtype(pred.dtype)
    return torch.sub(pred.to(dtype), target.to(dtype))


def _error_backward(
    ctx: Any,
    grad_output: Tensor,
    loss: Callable[..., Any],
    derivative_: Callable[[Tensor], Tensor],
) -> tuple[Tensor | None, ...]:
    """``backward`` of a fused Function of the error :math:`e` whose forward hands ``e``
    over in ``ctx.error``: the gradient is ``derivative_(e)`` (computed in place in
    ``e``) times the upstream gradient, and its negative for the target.  A second
    backward (``retain_graph=True``) recomputes ``e``; ``create_graph=True`` asks for a
    differentiable gradient, which comes from ``loss``'s generic implementation.
    """
    pred, target = ctx.saved_tensors
    if torch.is_grad_enabled():
        generic = loss.generic  # type: ignore[attr-defined]
        grads = generic_backward(
            generic, (pred, target), ctx.needs_input_grad, grad_output, reduction=ctx.reduction
        )
        return (*grads, None)
    error, ctx.error = ctx.error, None
    if error is None:
        error = _error(pred, target)
    grad_output = grad_output.to(error.dtype)
    if ctx.reduction == "mean":
        grad_output = grad_output / max(error.numel(), 1)
    grad = derivative_(error).mul_(grad_output)
    grad_pred = grad.to(pred.dtype) if ctx.needs_input_grad[0] else None
    grad_target = (-grad).to(target.dtype) if ctx.needs_input_grad[1] else None
    return grad_pred, grad_target, None


def _fused_error_loss(
    function: type[torch.autograd.Function],
    pred: Any,
    target: Any,
    reduction: str,
    weights: Any,
) -> Tensor:
    """The checks, then ``function`` (reducing itself, or unreduced when weighted)."""
    check_reduction(reduction)
    pred, target = elementwise_inputs(pred, target, defer_nan_check=reduction != "none")
    if weights is None:
        out = function.apply(pred, target, reduction)
    else:
        out = reduce(function.apply(pred, target, "none"), reduction, weights)
    return finish(out, target, reduction)


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
        out = error.abs()
        if reduction != "none":
            out = out.sum() if reduction == "sum" else out.sum() / max(error.numel(), 1)
        ctx.reduction, ctx.error = reduction, error
        ctx.save_for_backward(pred, target)
        return out.to(pred.dtype)

    @staticmethod
    def backward(ctx: Any, grad_output: Tensor) -> tuple[Tensor | None, ...]:
        return _error_backward(ctx, grad_output, mae, torch.Tensor.sign_)


@fast_path("mae")
def mae(pred: Any, target: Any, *, reduction: str = "mean", weights: Any = None) -> Tensor:
    return _fused_error_loss(_AbsoluteError, pred, target, reduction, weights)


@fast_path("huber")
def huber(
    pred: Any, target: Any, *, delta: Any = 1.0, reduction: str = "mean", weights: Any = None
) -> Tensor:
    if not is_number(delta):
        return NotImplemented
    return _pointwise(pred, target, reduction, weights, F.huber_loss, delta=float(delta))


@fast_path("smooth_l1")
def smooth_l1(
    pred: Any, target: Any, *, beta: Any = 1.0, reduction: str = "mean", weights: Any = None
) -> Tensor:
    if not is_number(beta):
        return NotImplemented
    return _pointwise(pred, target, reduction, weights, F.smooth_l1_loss, beta=float(beta))


@fast_path("quantile")
def quantile(
    pred: Any, target: Any, *, q: Any = 0.5, reduction: str = "mean", weights: Any = None
) -> Tensor:
    check_reduction(reduction)
    pred, target = elementwise_inputs(pred, target, defer_nan_check=reduction != "none")
    error = target - pred
    loss = torch.maximum(q * error, (q - 1.0) * error)
    return finish(reduce(loss, reduction, weights), target, reduction)


# ------------------------------------------------------------------------- log-cosh


class _LogCosh(torch.autograd.Function):
    r"""log cosh(pred - target), unreduced, summed or averaged, with an analytic backward.

    Forward, with :math:`e = \hat y - y` and :math:`\operatorname{sp}_2(e) = \tfrac12
    \log(1 + e^{2e})` (``F.softplus`` with ``beta=2``, one fused kernel):
    :math:`\log\cosh e = 2\operatorname{sp}_2(e) - e - \log 2`, so the reduced loss is
    two sums over ``sp_2(e)`` and ``e``.  Backward: :math:`\partial/\partial e = \tanh e`,
    computed in place in ``e``, which forward hands over (a second backward, with
    ``retain_graph``, recomputes it).  Two full-size temporaries and six passes, against
    five temporaries and about ten passes for the composed expression.
    """

    @staticmethod
    def forward(ctx: Any, pred: Tensor, target: Tensor, reduction: str) -> Tensor:
        error = _error(pred, target)
        # softplus switches to the identity above `threshold` (in units of 2e); at 40 the
        # dropped term log1p(exp(-40)) ~ 4e-18 is below float64 resolution, and exp(40)
        # still fits float32 (float16 inputs are computed in float32).
        soft = F.softplus(error, beta=2.0, threshold=40.0)
        if reduction == "none":
            out = soft.mul_(2.0).sub_(error).sub_(LOG2)
        else:
            count = error.numel()
            out = 2.0 * soft.sum() - error.sum() - count * LOG2
            if reduction == "mean":
                out = out / max(count, 1)
        ctx.reduction, ctx.error = reduction, error
        ctx.save_for_backward(pred, target)
        return out.to(pred.dtype)

    @staticmethod
    def backward(ctx: Any, grad_output: Tensor) -> tuple[Tensor | None, ...]:
        # d/de log cosh(e) = tanh(e)
        return _error_backward(ctx, grad_output, log_cosh, torch.tanh_)


@fast_path("log_cosh")
def log_cosh(pred: Any, target: Any, *, reduction: str = "mean", weights: Any = None) -> Tensor:
    return _fused_error_loss(_LogCosh, pred, target, reduction, weights)


# ----------------------------------------------------------------- likelihoods


def _stirling(target: Tensor) -> Tensor:
    """log(y!) ~ y log y - y + log(2 pi y) / 2 for y > 1, else 0 (PyTorch's convention)."""
    safe = torch.where(target > 1, target, 1.0)
    term = safe * torch.log(safe) - safe + 0.5 * torch.log(2 * math.pi * safe)
    return torch.where(target > 1, term, 0.0)


@fast_path("poisson_nll")
def poisson_nll(
    pred: Any,
    target: Any,
    *,
    log_input: bool = True,
    full: bool = False,
    reduction: str = "mean",
    weights: Any = None,
) -> Tensor:
    check_reduction(reduction)
    pred, target = elementwise_inputs(pred, target, defer_nan_check=True)

    def target_checks() -> None:
        check_no_nan(target, "target", xp)
        check_values(
            target,
            lambda t: xp.any(t < 0),
            "target must hold non-negative counts; found a negative value",
        )

    screen(target, 0.0, None, target_checks)
    if log_input:
        if full and target.requires_grad:
            # PyTorch's Stirling term gives a NaN target gradient at 0 (y log y is masked
            # after it is computed); this one routes its gradient around y <= 1.
            loss = F.poisson_nll_loss(pred, target, log_input=True, reduction="none")
            out = reduce(loss + _stirling(target), reduction, weights)
        else:
            kernel = F.poisson_nll_loss
            out = _run(pred, target, reduction, weights, kernel, log_input=True, full=full)
        # a count of 0 at a log-rate of -inf: 0 * -inf in PyTorch's y x, 0 in the generic
        return NotImplemented if non_finite(out) else out
    screen(
        pred,
        0.0,
        None,
        lambda: check_values(
            pred,
            lambda p: xp.any(~(p >= 0)),
            "pred must hold non-negative rates when log_input=False",
        ),
    )
    # PyTorch adds eps=1e-8 inside the log; losskit clips the rate at the smallest
    # normal number instead, so the rate loss is composed here.
    loss = pred - target * torch.log(pred.clamp_min(finfo_tiny(pred, xp)))
    if full:
        loss = loss + _stirling(target)
    return reduce(loss, reduction, weights)


@fast_path("gaussian_nll")
def gaussian_nll(
    pred: Any,
    target: Any,
    var: Any,
    *,
    full: bool = False,
    eps: float = 1e-6,
    reduction: str = "mean",
    weights: Any = None,
) -> Tensor:
    check_reduction(reduction)
    pred, target = elementwise_inputs(pred, target, defer_nan_check=reduction != "none")
    torch_namespace(pred=pred, var=var)
    var = as_float(var, pred, "var", xp)
    check_broadcastable(var, tuple(pred.shape), "var", "pred's shape")
    screen(var, 0.0, None, lambda: check_nonnegative(var, "var", xp))
    # max(var, eps) with the clamp left out of the gradient, as in PyTorch: clamping a
    # copy in place without recording it makes the clamp an identity for autograd.
    clamped = var.clone()
    with torch.no_grad():
        clamped.clamp_(min=max(eps, finfo_sqrt_tiny(pred, xp)))  # the generic path's floor
    loss = 0.5 * (torch.log(clamped) + (pred - target) ** 2 / clamped)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return finish(reduce(loss, reduction, weights), target, reduction)
