"""Helpers shared by the PyTorch kernels: compute dtype, reductions, double backward.

The value checks, the dtype policy (autocast included) and the reductions are the
core's (:mod:`losskit.core.validation`, :mod:`losskit.core.inputs`,
:mod:`losskit.core.reduction`); a kernel override only computes.

:func:`fast_path`, :func:`screen`, :func:`torch_namespace`, :func:`value_checks_run`
and ``is_number`` serve the whole-loss fast paths of the segmentation family until it
is converted to kernels.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import array_api_compat.torch as xp
import torch

from losskit.core.namespace import is_static_number as is_number
from losskit.core.namespace import is_traced, namespace
from losskit.core.reduction import reduce_loss
from losskit.core.registry import get_loss, register_fast_path
from losskit.core.validation import value_checks_enabled, value_range

__all__ = [
    "compute_dtype",
    "fast_path",
    "fused_reduction",
    "generic_backward",
    "is_number",
    "non_finite",
    "reduced_generic",
    "screen",
    "torch_namespace",
    "value_checks_run",
    "xp",
]

Tensor = torch.Tensor
LOW_PRECISION = (torch.float16, torch.bfloat16)


def compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """float32 for float16/bfloat16 inputs of the fused kernels, the input dtype otherwise."""
    return torch.float32 if dtype in LOW_PRECISION else dtype


def fused_reduction(reduction: str, x: Tensor) -> str:
    """The ``reduction`` to hand PyTorch's fused loss kernels for an input ``x``: the
    kernel's own, except ``"none"`` for an empty input (PyTorch's empty mean is NaN;
    ``reduce_loss`` makes it 0)."""
    return reduction if x.numel() > 0 else "none"


def reduced_generic(kernel: Callable[..., Any]) -> Callable[..., Tensor]:
    """``kernel``'s generic implementation followed by its reduction: the function a fused
    :class:`torch.autograd.Function` differentiates for a second derivative."""

    def run(*arrays: Tensor, reduction: str, **options: Any) -> Tensor:
        loss = kernel.generic(*arrays, reduction=reduction, xp=xp, **options)  # type: ignore[attr-defined]
        return reduce_loss(loss, reduction=reduction, xp=xp)

    return run


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


# ------------------------------------------- whole-loss fast paths (segmentation family)


def torch_namespace(**arrays: Any) -> Any:
    """The PyTorch array namespace when every given array is a tensor.

    Anything else (a NumPy target next to a torch prediction, a list, None) goes through
    the core's :func:`~losskit.core.namespace.namespace`, which raises its usual error.
    """
    if all(isinstance(a, Tensor) for a in arrays.values()):
        return xp
    return namespace(**arrays)


def value_checks_run(x: Tensor) -> bool:
    """Whether the data-dependent checks read ``x`` (on, and ``x`` not traced)."""
    return value_checks_enabled() and not is_traced(x)


def screen(x: Tensor, low: float | None, high: float | None, checks: Callable[[], None]) -> None:
    """Run ``checks`` (the core's value checks, which raise) only if ``x`` may hold a value
    outside ``[low, high]`` or NaN, read in one pass
    (:func:`~losskit.core.validation.value_range`)."""
    ends = value_range(x, xp)
    if ends is None:
        return
    smallest, largest = ends
    inside = smallest == smallest and largest == largest  # no NaN
    inside = inside and (low is None or smallest >= low) and (high is None or largest <= high)
    if not inside:
        checks()


def non_finite(out: Tensor) -> bool:
    """Whether ``out`` holds inf or NaN; read only while value checks run (one value for
    a reduced loss).

    PyTorch's formulas take 0 * inf = NaN where losskit's primitives
    (:func:`~losskit.core.primitives.weighted_log`) give a target of 0 no weight: at a
    logit of -inf for a class of target 0, at a binary logit of +-inf.  An override
    returns ``NotImplemented`` then, and the generic kernel gives the limit.
    """
    return value_checks_run(out) and not bool(torch.isfinite(out).all())


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
