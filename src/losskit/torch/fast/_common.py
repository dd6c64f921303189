"""Helpers shared by the PyTorch kernels: compute dtype, fused reductions, double
backward, screened value checks, the scaled sigmoid.

The value checks, the dtype policy (autocast included) and the reductions are the
core's (:mod:`losskit.core.validation`, :mod:`losskit.core.inputs`,
:mod:`losskit.core.reduction`); a kernel override only computes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import array_api_compat.torch as xp
import torch

from losskit.core.reduction import reduce_loss
from losskit.core.validation import value_range

__all__ = [
    "compute_dtype",
    "fused_reduction",
    "generic_backward",
    "reduced_generic",
    "scaled_sigmoid",
    "screen",
    "xp",
]

Tensor = torch.Tensor
LOW_PRECISION = (torch.float16, torch.bfloat16)


def compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """float32 for float16/bfloat16 inputs of the fused kernels, the input dtype otherwise."""
    return torch.float32 if dtype in LOW_PRECISION else dtype


def scaled_sigmoid(scale: Tensor, x: Tensor, beta: float, *, out: Tensor | None = None) -> Tensor:
    """``scale * sigmoid(beta * x)`` in one vectorised pass (``softplus_backward``, the
    derivative of ``softplus``), in ``out`` when given (which may be ``x``); ``scale`` is
    any tensor that broadcasts to ``x``.

    Above ``beta * x = 40`` the result is ``scale`` itself: the dropped factor
    1 - exp(-40) differs from 1 by 4e-18, below float64 resolution, and exp(40) still fits
    float32 (16-bit inputs are computed in float32 inside the kernel).
    """
    scale = scale.expand_as(x)
    if out is None:
        return torch.ops.aten.softplus_backward(scale, x, beta, 40.0)
    return torch.ops.aten.softplus_backward.grad_input(scale, x, beta, 40.0, grad_input=out)


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
