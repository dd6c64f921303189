"""Reductions and weights, in one place.

For an unreduced loss :math:`\\ell_i` with per-element weights :math:`w_i`
(all 1 when ``weights=None``):

- ``"none"``: :math:`w_i \\ell_i`, the shape of the unreduced loss;
- ``"sum"``: :math:`\\sum_i w_i \\ell_i`;
- ``"mean"``: :math:`\\sum_i w_i \\ell_i / \\sum_i w_i`, and 0 (with a zero gradient)
  when nothing is left to average: every weight zero, every target ignored or an
  empty input.

Sums of float16 and bfloat16 losses are accumulated in float32, and the result is
returned in the loss's dtype, on every backend.

Some losses fold an internal weight into :math:`\\ell_i` (class weights, ignored
targets); they pass it as ``norm`` so the mean divides by :math:`\\sum_i w_i n_i`.

A kernel (:mod:`losskit.core.kernels`) may apply the reduction itself, with a backend's
fused operation: the loss asks it for :func:`kernel_reduction`, and the kernel returns
the unreduced loss or, for ``"mean"`` and ``"sum"``, that reduction as a 0-d array,
which :func:`reduce_loss` returns as it is (every reduction of one unweighted value is
that value).
"""

from __future__ import annotations

import math
from typing import Any, Literal

from losskit.core.namespace import (
    accumulation_dtype,
    as_float,
    device,
    is_array,
    namespace,
    shape,
)
from losskit.core.primitives import weighted_log
from losskit.core.validation import (
    check_broadcastable,
    check_no_nan,
    check_no_nan_via,
    check_nonnegative,
    check_option,
    reads_nan_off_loss,
)
from losskit.errors import LossInputError

__all__ = [
    "REDUCTIONS",
    "REDUCTION_DOC",
    "Reduction",
    "check_reduction",
    "kernel_reduction",
    "reduce_loss",
]

Array = Any
Reduction = Literal["none", "mean", "sum"]
REDUCTIONS: tuple[str, ...] = ("none", "mean", "sum")

REDUCTION_DOC = """\
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.  With per-element
            weights :math:`w_i` (1 when ``weights`` is None), ``"none"`` returns
            :math:`w_i \\ell_i`, ``"sum"`` returns :math:`\\sum_i w_i \\ell_i` and
            ``"mean"`` returns :math:`\\sum_i w_i \\ell_i / \\sum_i w_i`, which is 0 with a
            zero gradient when nothing is left to average.
        weights: optional non-negative, finite per-element weights: a scalar, or an
            array with as many axes as the unreduced loss that broadcasts to it without
            enlarging it (per-sample weights of a ``[B, C]`` loss have shape ``[B, 1]``)."""


def check_reduction(reduction: Any) -> None:
    """Raise unless ``reduction`` is ``"none"``, ``"mean"`` or ``"sum"``."""
    check_option("reduction", reduction, REDUCTIONS)


def kernel_reduction(reduction: str, weights: Any = None, norm: Array | None = None) -> str:
    """The reduction a kernel may apply itself: ``reduction`` when it is all there is to
    do (no weights, no ``norm``), else ``"none"``.  Checks ``reduction`` first, so a
    kernel only ever sees a valid one."""
    check_reduction(reduction)
    return reduction if weights is None and norm is None else "none"


def _weights_array(weights: Any, loss: Array, xp: Any) -> Array:
    if not is_array(weights):
        raise LossInputError(f"weights must be an array or None; got {type(weights).__name__}")
    namespace(weights=weights, pred=loss)
    w = as_float(weights, loss, "weights", xp)
    # A scalar or as many axes as the loss: broadcasting [B] weights against a [B, C] loss
    # would line them up with C, silently, whenever B == C.
    if w.ndim not in (0, loss.ndim):
        if loss.ndim == 0:
            raise LossInputError(
                f"weights must be a scalar for a loss with no axes; got shape {tuple(w.shape)}"
            )
        ones = (1,) * (loss.ndim - 1)
        raise LossInputError(
            f"weights must be a scalar or have as many axes as the unreduced loss of shape "
            f"{tuple(loss.shape)}; got shape {tuple(w.shape)}. Give the size-1 axes "
            f"explicitly: per-sample weights of shape {(loss.shape[0], *ones)}, weights "
            f"along the last axis of shape {(*ones, loss.shape[-1])}"
        )
    check_broadcastable(w, tuple(loss.shape), "weights", "the unreduced loss of shape")
    # an infinite weight would make the weighted mean inf / inf = NaN
    check_nonnegative(w, "weights", xp, finite=True)
    return w


def reduce_loss(
    loss: Array,
    *,
    reduction: str,
    weights: Any = None,
    norm: Array | None = None,
    xp: Any,
    unchecked_target: Array | None = None,
) -> Array:
    """Apply user ``weights`` and ``reduction`` to an unreduced ``loss``.

    ``norm``, when given, holds internal weights already folded into ``loss``
    (class weights; 0 for ignored targets) that the mean divides by.
    ``unchecked_target`` is a target whose NaN check the loss left to this point
    (``elementwise_inputs(..., nan_check="loss")``) because a NaN target makes the loss
    NaN: a reduced loss that is not NaN proves the target has none, so the target is
    read only when the result is NaN (and for ``"none"``).
    """
    out = _reduce(loss, reduction, weights, norm, xp)
    if unchecked_target is not None and reads_nan_off_loss(xp):
        if reduction == "none":
            check_no_nan(unchecked_target, "target", xp)
        else:
            check_no_nan_via(out, unchecked_target, "target", xp)
    return out


def _reduce(loss: Array, reduction: str, weights: Any, norm: Array | None, xp: Any) -> Array:
    check_reduction(reduction)
    if weights is None and norm is None and loss.ndim == 0:
        return loss  # one value (or a kernel's own reduction): every reduction is itself
    if weights is not None:
        w = _weights_array(weights, loss, xp)
        # a weight of 0 drops its element even where the loss is inf (an impossible CTC
        # alignment, a forbidden class): 0, not 0 * inf = NaN
        loss = weighted_log(w, loss, xp=xp)
        norm = w if norm is None else w * norm
    if reduction == "none":
        return loss
    # 16-bit losses are summed in float32 and the result cast back, so a mean (or a sum)
    # that float16 can hold is not lost to an overflowing partial sum.
    acc = accumulation_dtype(loss, xp)
    total = xp.sum(loss, dtype=acc)
    if reduction == "sum":
        return _as_dtype(total, loss.dtype, xp)
    if norm is None:
        count = math.prod(shape(loss))
        # An empty input averages to 0 (sum of nothing), not 0 / 0.
        if isinstance(count, int):
            return _as_dtype(total / max(count, 1), loss.dtype, xp)
        # a size known only at run time (tf.function): a 0-d integer array
        return _as_dtype(total / xp.astype(xp.maximum(count, 1), acc), loss.dtype, xp)
    denominator = xp.sum(xp.broadcast_to(norm, shape(loss)), dtype=acc)
    # Nothing to average: the numerator is then a sum of zeros, so dividing by 1
    # gives 0 with a zero gradient instead of 0 / 0.
    safe = xp.where(denominator == 0, xp.asarray(1.0, dtype=acc, device=device(loss)), denominator)
    return _as_dtype(total / safe, loss.dtype, xp)


def _as_dtype(x: Array, dtype: Any, xp: Any) -> Array:
    return x if x.dtype == dtype else xp.astype(x, dtype)
