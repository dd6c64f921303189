"""Helpers shared by the PyTorch fast paths: registration, input checks, reductions.

The checks are the core's own (:mod:`losskit.core.validation`,
:mod:`losskit.core.namespace`), called with the PyTorch namespace, so a fast path raises
exactly the error the generic implementation raises.  Two things differ in *how* they
run, never in what they accept:

- data-dependent checks are screened with one cheap pass (``aminmax``) or, for NaN
  targets of a reduced loss, read off the result (a NaN target makes the loss NaN);
  only when the screen fails do the core checks run, and they raise the usual message;
- under ``torch.autocast`` a loss computes in float32, as PyTorch's own losses do.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import array_api_compat.torch as xp
import torch

from losskit.core.namespace import as_float, is_traced, namespace, require_floating
from losskit.core.reduction import reduce_loss
from losskit.core.registry import get_loss, register_fast_path
from losskit.core.validation import check_no_nan, check_same_shape, value_checks_enabled

__all__ = [
    "compute_dtype",
    "elementwise_inputs",
    "fast_path",
    "finish",
    "generic_backward",
    "is_number",
    "non_finite",
    "reduce",
    "screen",
    "torch_namespace",
    "value_checks_run",
    "xp",
]

Tensor = torch.Tensor
LOW_PRECISION = (torch.float16, torch.bfloat16)


def torch_namespace(**arrays: Any) -> Any:
    """The PyTorch array namespace when every given array is a tensor.

    Anything else (a NumPy target next to a torch prediction, a list, None) goes through
    the core's :func:`~losskit.core.namespace.namespace`, which raises its usual error.
    """
    if all(isinstance(a, Tensor) for a in arrays.values()):
        return xp
    return namespace(**arrays)


def is_number(value: Any) -> bool:
    """A Python number (hyper-parameters given as tensors go to the generic path)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """float32 for float16/bfloat16 inputs of the fused kernels, the input dtype otherwise."""
    return torch.float32 if dtype in LOW_PRECISION else dtype


def value_checks_run(x: Tensor) -> bool:
    """Whether the data-dependent checks read ``x`` (on, and ``x`` not traced)."""
    return value_checks_enabled() and not is_traced(x)


def screen(x: Tensor, low: float | None, high: float | None, checks: Callable[[], None]) -> None:
    """Run ``checks`` (the core's value checks, which raise) only if ``x`` may hold a value
    outside ``[low, high]`` or NaN.

    One pass (``aminmax``) instead of a comparison, a logical reduction and a NaN test
    each; min and max propagate NaN, so a NaN always fails the screen.
    """
    if not value_checks_run(x) or x.numel() == 0:
        return
    lowest, highest = torch.aminmax(x)
    ok = True
    if low is not None:
        ok = bool(lowest >= low)
    if ok and high is not None:
        ok = bool(highest <= high)
    if ok and low is None and high is None:
        ok = not bool(torch.isnan(lowest))
    if not ok:
        checks()


def elementwise_inputs(
    pred: Any, target: Any, *, defer_nan_check: bool = False
) -> tuple[Tensor, Tensor]:
    """:func:`losskit.core.inputs.elementwise_inputs` for tensors.

    With ``defer_nan_check`` the NaN check of ``target`` is left to :func:`finish`,
    which reads it off a reduced loss instead of making a pass over ``target``.
    """
    torch_namespace(pred=pred, target=target)
    require_floating(pred, "pred", xp)
    check_same_shape(pred, target)
    target = as_float(target, pred, "target", xp)
    if not defer_nan_check:
        check_no_nan(target, "target", xp)
    return pred, target


def non_finite(out: Tensor) -> bool:
    """Whether ``out`` holds inf or NaN; read only while value checks run, like
    :func:`finish` (one value for a reduced loss).

    PyTorch's formulas take 0 * inf = NaN where losskit's primitives
    (:func:`~losskit.core.primitives.weighted_log`) give a target of 0 no weight: at a
    logit of -inf for a class of target 0, at a binary logit of +-inf.  A fast path
    returns ``NotImplemented`` then, and the generic implementation gives the limit.
    """
    return value_checks_run(out) and not bool(torch.isfinite(out).all())


def finish(out: Tensor, target: Tensor, reduction: str) -> Tensor:
    """The deferred NaN check of a reduced loss: a NaN target makes the loss NaN, so the
    target is only examined (by the core check, which raises) when the loss is NaN."""
    if reduction != "none" and value_checks_run(out) and bool(torch.isnan(out)):
        check_no_nan(target, "target", xp)
    return out


def reduce(
    loss: Tensor,
    reduction: str,
    weights: Any = None,
    norm: Tensor | None = None,
) -> Tensor:
    """The core's :func:`~losskit.core.reduction.reduce_loss` on tensors."""
    if weights is None and norm is None:
        # The common case without the namespace machinery (torch.compile traces it cleanly).
        # PyTorch accumulates 16-bit sums in float32 and casts the result back, as the
        # core does; the mean divides before that cast, so it cannot overflow early.
        if reduction == "none":
            return loss
        if reduction == "sum" or loss.numel() == 0:
            return loss.sum()
        return loss.mean()
    return reduce_loss(loss, reduction=reduction, weights=weights, norm=norm, xp=xp)


def _to_float32(value: Any) -> Any:
    if isinstance(value, Tensor) and value.dtype in LOW_PRECISION:
        return value.float()
    return value


def fast_path(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``impl`` as loss ``name``'s PyTorch fast path.

    Under ``torch.autocast`` the float16/bfloat16 tensor arguments are cast to float32
    and the loss runs with autocast off, as PyTorch does for its own losses (they are
    on autocast's float32 list).  The generic implementation is kept on ``impl.generic``.
    """

    def decorate(impl: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(impl)
        def run(*args: Any, **kwargs: Any) -> Any:
            first = args[0]
            if isinstance(first, Tensor) and torch.is_autocast_enabled(first.device.type):
                args = tuple(_to_float32(a) for a in args)
                kwargs = {k: _to_float32(v) for k, v in kwargs.items()}
                with torch.autocast(first.device.type, enabled=False):
                    return impl(*args, **kwargs)
            return impl(*args, **kwargs)

        run.generic = get_loss(name).generic  # type: ignore[attr-defined]
        register_fast_path(name, "torch")(run)
        return run

    return decorate


def generic_backward(
    generic: Callable[..., Tensor],
    arrays: tuple[Tensor, ...],
    needs_grad: tuple[bool, ...],
    grad_output: Tensor,
    **options: Any,
) -> tuple[Tensor | None, ...]:
    """Gradients of the generic implementation, recorded for double backward.

    The fused kernels' backward is analytic and not itself differentiable; when
    ``create_graph=True`` asks for a differentiable gradient, it is computed through
    the generic implementation instead (the arrays saved for backward are the original
    inputs, so the new graph reaches the caller's tensors).
    """
    wanted = [a for a, need in zip(arrays, needs_grad, strict=False) if need]
    with torch.enable_grad():
        out = generic(*arrays, **options)
    grads = iter(torch.autograd.grad(out, wanted, grad_output, create_graph=True))
    return tuple(next(grads) if need else None for need in needs_grad[: len(arrays)])
