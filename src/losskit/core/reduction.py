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

``normalizer``: a count given by the caller that ``"mean"`` divides the weighted sum by
instead of :math:`\\sum_i w_i n_i`.  Gradient accumulation needs it: the mean over every
token of a global batch split into micro-batches (and ranks) is
:math:`\\sum_k S_k / N`, with :math:`S_k` each micro-batch's weighted sum and :math:`N`
the global count, not the average of the micro-batches' means.  Every registered loss
takes it (:mod:`losskit.core.registry` asks the loss for its unreduced loss and reduces
it here), so no loss has code of its own for it; a loss whose mean is not the weighted
sum over a count (``ctc``'s mean over target lengths) takes ``normalizer`` itself and
passes it to :func:`reduce_loss`.

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
from losskit.core.options import real
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
    "NORMALIZER",
    "REDUCTIONS",
    "REDUCTION_DOC",
    "Reduction",
    "check_normalizer",
    "check_reduction",
    "kernel_reduction",
    "reduce_loss",
    "sequence_mean",
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
            enlarging it (per-sample weights of a ``[B, C]`` loss have shape ``[B, 1]``).
        normalizer: optional count, a number or a 0-d array >= 0 (traceable), that
            ``"mean"`` divides :math:`\\sum_i w_i \\ell_i` by instead of :math:`\\sum_i w_i`:
            the global number of tokens when a batch is split into micro-batches or
            ranks (gradient accumulation).  A normalizer of 0 divides by 1 (the sum is
            then 0: nothing to average).  Only with ``reduction="mean"``."""

#: The declaration of ``normalizer``, an argument of every loss beside ``reduction`` and
#: ``weights`` (checked by :func:`check_normalizer`).
NORMALIZER = real(
    "normalizer",
    (
        "a count >= 0 (number or 0-d array, traceable) that the mean divides the weighted "
        "sum by instead of the sum of the weights: the global token count for gradient "
        "accumulation; None (default) for the batch's own."
    ),
    0.0,
    optional=True,
)


def check_reduction(reduction: Any) -> None:
    """Raise unless ``reduction`` is ``"none"``, ``"mean"`` or ``"sum"``."""
    check_option("reduction", reduction, REDUCTIONS)


def check_normalizer(normalizer: Any, reduction: Any) -> None:
    """Raise unless ``normalizer`` is None or a count >= 0 (a number or a 0-d array; a
    traced one is not read) given with ``reduction="mean"``."""
    if normalizer is None:
        return
    check_reduction(reduction)
    if reduction != "mean":
        raise LossInputError(
            f"normalizer divides the mean: it needs reduction='mean'; got "
            f"reduction={reduction!r} (a sum needs no normalizer, and 'none' is not reduced)"
        )
    if is_array(normalizer) and normalizer.ndim != 0:
        raise LossInputError(
            f"normalizer must be a number or a 0-d array; got shape {tuple(normalizer.shape)}"
        )
    NORMALIZER.check(normalizer)


def kernel_reduction(reduction: str, weights: Any = None, norm: Array | None = None) -> str:
    """The reduction a kernel may apply itself: ``reduction`` when it is all there is to
    do (no weights, no ``norm``), else ``"none"``.  Checks ``reduction`` first, so a
    kernel only ever sees a valid one."""
    check_reduction(reduction)
    return reduction if weights is None and norm is None else "none"


def _weights_array(weights: Any, loss: Array, xp: Any, name: str = "weights") -> Array:
    if not is_array(weights):
        raise LossInputError(f"{name} must be an array or None; got {type(weights).__name__}")
    namespace(**{name: weights}, pred=loss)
    w = as_float(weights, loss, name, xp)
    # A scalar or as many axes as the loss: broadcasting [B] weights against a [B, C] loss
    # would line them up with C, silently, whenever B == C.
    if w.ndim not in (0, loss.ndim):
        if loss.ndim == 0:
            raise LossInputError(
                f"{name} must be a scalar for a loss with no axes; got shape {tuple(w.shape)}"
            )
        ones = (1,) * (loss.ndim - 1)
        raise LossInputError(
            f"{name} must be a scalar or have as many axes as the unreduced loss of shape "
            f"{tuple(loss.shape)}; got shape {tuple(w.shape)}. Give the size-1 axes "
            f"explicitly: per-sample weights of shape {(loss.shape[0], *ones)}, weights "
            f"along the last axis of shape {(*ones, loss.shape[-1])}"
        )
    check_broadcastable(w, tuple(loss.shape), name, "the unreduced loss of shape")
    # an infinite weight would make the weighted mean inf / inf = NaN
    check_nonnegative(w, name, xp, finite=True)
    return w


def reduce_loss(
    loss: Array,
    *,
    reduction: str,
    weights: Any = None,
    norm: Array | None = None,
    normalizer: Any = None,
    xp: Any,
    unchecked_target: Array | None = None,
) -> Array:
    """Apply user ``weights`` and ``reduction`` to an unreduced ``loss``.

    ``norm``, when given, holds internal weights already folded into ``loss``
    (class weights; 0 for ignored targets) that the mean divides by.  ``normalizer``,
    when given (``"mean"`` only), replaces that denominator.
    ``unchecked_target`` is a target whose NaN check the loss left to this point
    (``elementwise_inputs(..., nan_check="loss")``) because a NaN target makes the loss
    NaN: a reduced loss that is not NaN proves the target has none, so the target is
    read only when the result is NaN (and for ``"none"``).
    """
    check_normalizer(normalizer, reduction)
    if normalizer is not None:
        out = _reduce(loss, "sum", weights, None, xp, keep_accumulation=True)
        out = _as_dtype(out / _safe_count(normalizer, out, xp), loss.dtype, xp)
    else:
        out = _reduce(loss, reduction, weights, norm, xp)
    if unchecked_target is not None and reads_nan_off_loss(xp):
        if reduction == "none":
            check_no_nan(unchecked_target, "target", xp)
        else:
            check_no_nan_via(out, unchecked_target, "target", xp)
    return out


def _safe_count(count: Any, like: Array, xp: Any) -> Array:
    """``count`` (a number or a 0-d array of any dtype) in ``like``'s dtype and device, 1
    where it is 0: a sum of nothing over a count of nothing is 0, with a zero gradient."""
    c = xp.asarray(count, device=device(like))
    c = xp.astype(c, like.dtype) if c.dtype != like.dtype else c
    return xp.where(c == 0, xp.ones_like(c), c)


def _reduce(
    loss: Array,
    reduction: str,
    weights: Any,
    norm: Array | None,
    xp: Any,
    keep_accumulation: bool = False,
) -> Array:
    check_reduction(reduction)
    if weights is None and norm is None and loss.ndim == 0:
        if keep_accumulation:
            return xp.astype(loss, accumulation_dtype(loss, xp))
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
        # the normalised mean divides the float32 sum of a 16-bit loss before casting back
        return total if keep_accumulation else _as_dtype(total, loss.dtype, xp)
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


def sequence_mean(loss: Array, mask: Array, *, normalizer: Any = None) -> Array:
    r"""The mean over the tokens of each sequence, then over the sequences.

    For an unreduced loss :math:`\ell_{bt}` (axis 0 the sequences, the other axes their
    tokens) and a mask or non-negative token weights :math:`m_{bt}`:

    .. math::
        \bar\ell_b = \frac{\sum_t m_{bt} \ell_{bt}}{\sum_t m_{bt}},\qquad
        \text{result} = \frac{1}{|\{b : \textstyle\sum_t m_{bt} > 0\}|}\sum_b \bar\ell_b

    so every sequence counts once whatever its length (fairseq's *sentence average*),
    where the token mean (``reduction="mean"``) lets long sequences dominate.  Sequences
    with no token (all padding) are left out; with none at all the result is 0 with a
    zero gradient.  ``normalizer`` replaces the number of sequences (the global number
    when sequences are split into micro-batches or ranks), as in ``reduction="mean"``.

    A helper rather than a reduction: it reads the mask, which ``reduction="none"`` has
    already applied (ignored tokens are 0 there) but does not return.  Pass the loss's
    unreduced values without ``weights`` and the mask here: tokens with a mask of 0 are
    dropped even where their loss is inf.

    Args:
        loss: the unreduced loss ``[B, T, ...]`` (``reduction="none"``), floating.
        mask: boolean mask or non-negative weights with as many axes as ``loss`` that
            broadcast to it without enlarging it (``labels != ignore_index``).
        normalizer: optional count of sequences, a number or a 0-d array (traceable).

    Returns:
        A 0-d array in ``loss``'s dtype.

    Examples:
        >>> import numpy as np, losskit
        >>> loss = np.array([[1.0, 3.0, 0.0], [4.0, 0.0, 0.0]])
        >>> mask = np.array([[True, True, False], [True, False, False]])
        >>> float(losskit.sequence_mean(loss, mask))  # (2 + 4) / 2, the token mean is 8 / 3
        3.0
    """
    check_normalizer(normalizer, "mean")
    xp = namespace(loss=loss, mask=mask)
    if not is_array(loss) or loss.ndim < 1 or not xp.isdtype(loss.dtype, "real floating"):
        raise LossInputError(
            "loss must be a floating array with the sequences on axis 0 (the unreduced loss "
            f"of reduction='none'); got {getattr(loss, 'shape', type(loss).__name__)}"
        )
    if is_array(mask) and mask.dtype == xp.bool:
        mask = xp.astype(mask, loss.dtype)
    w = _weights_array(mask, loss, xp, "mask")
    w = xp.broadcast_to(w, shape(loss))
    acc = accumulation_dtype(loss, xp)
    tokens = tuple(range(1, loss.ndim))
    # a 0 in the mask drops its token even where the loss is inf
    total = xp.sum(weighted_log(w, loss, xp=xp), axis=tokens, dtype=acc)
    count = xp.sum(w, axis=tokens, dtype=acc)
    has_tokens = count > 0
    one = xp.ones_like(count)
    per_sequence = total / xp.where(has_tokens, count, one)
    summed = xp.sum(per_sequence)
    if normalizer is None:
        normalizer = xp.sum(xp.astype(has_tokens, acc))
    return _as_dtype(summed / _safe_count(normalizer, summed, xp), loss.dtype, xp)


def _as_dtype(x: Array, dtype: Any, xp: Any) -> Array:
    return x if x.dtype == dtype else xp.astype(x, dtype)
