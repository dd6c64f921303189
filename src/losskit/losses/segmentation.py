"""Segmentation losses: soft overlap (Dice, Jaccard, Tversky, focal Tversky) and Lovász.

Every loss here compares a predicted mask with a target mask through set statistics
rather than pixel by pixel.  One convention runs through all of them:

- **Mode.** ``axis=None`` means binary or multi-label masks compared element by
  element (``from_logits=True`` applies a sigmoid); an integer ``axis`` names the class
  axis of multi-class predictions (``from_logits=True`` applies a softmax over it), and
  the target is then either one-hot / probabilities of ``pred``'s shape or integer labels
  of ``pred``'s shape without ``axis``.  Integer labels are compared with each class
  index on the fly (a boolean mask); no floating one-hot array is built.
- **Batch.** Axis 0 is the batch.  The statistics are summed over every other axis but
  the class axis, per sample (``batch=False``) or over the whole batch (``batch=True``).
- **Unreduced loss.** ``reduction="none"`` returns one loss per sample and class,
  ``[B, C]`` (``[C]`` with ``batch=True``); with ``axis=None`` one per sample, ``[B]``
  (0-d with ``batch=True``).
- **Empty masks.** A class absent from both the prediction and the target scores 0.
  With ``smooth > 0`` a prediction that is not empty on an empty target still gets a
  gradient that pushes its false positives down.
- **Precision.** float16 and bfloat16 inputs are summed in float32 (a mask of more
  than 65504 pixels overflows float16) and the loss is returned in the input's dtype.

The overlap losses (Dice, Jaccard, Tversky, focal Tversky) share one body,
:func:`overlap_loss`: the statistics I, P, T of each sample and class from one kernel,
:func:`overlap_statistics` (a backend may override it:
:mod:`losskit.torch.fast.segmentation`), summed by a *pool* (per sample, over the batch,
or over the batch and every rank in :mod:`losskit.torch.distributed`), then the loss's
own function of the statistics (:func:`dice_from_statistics`, ...), the class weights
and the reduction.  A new overlap loss is one more function of (I, P, T) and a public
function that hands it to :func:`overlap_loss`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from typing import Any

from losskit.core.inputs import class_vector, elementwise_inputs
from losskit.core.kernels import kernel
from losskit.core.namespace import (
    accumulation_dtype,
    as_float,
    device,
    namespace,
    require_floating,
    require_integer,
    shape,
)
from losskit.core.options import flag, integer, real
from losskit.core.primitives import sigmoid, softmax
from losskit.core.reduction import Reduction, reduce_loss
from losskit.core.registry import register_loss
from losskit.core.validation import (
    check_labels,
    check_normalized_axis,
    check_probabilities,
    check_same_shape,
    check_values,
)
from losskit.errors import LossInputError
from losskit.losses.shared_options import (
    EXCLUDE_CLASS,
    OVERLAP_AXIS,
    OVERLAP_BATCH,
    OVERLAP_FROM_LOGITS,
    SEGMENTATION_CLASS_WEIGHTS,
    SEGMENTATION_IGNORE_INDEX,
    SMOOTH,
    TVERSKY_ALPHA,
    TVERSKY_BETA,
)

__all__ = [
    "boundary_loss",
    "dice",
    "focal_tversky",
    "generalized_dice",
    "hausdorff_dt",
    "jaccard",
    "lovasz_hinge",
    "lovasz_softmax",
    "matthews_correlation",
    "tversky",
]

Array = Any


# ------------------------------------------------------------------ inputs


@dataclasses.dataclass(frozen=True)
class _Masks:
    """Predictions and targets in ``pred``'s own layout, classes on ``class_axis``.

    Binary masks (``axis=None``) get a class axis of size 1 at axis 1, and a ``[B, C]``
    input a trailing position axis of size 1, so there are always a batch axis, a class
    axis and at least one position axis.  The statistics sum over the position axes
    (:meth:`positions`) wherever the class axis is: channels-last volumes are never
    transposed.
    """

    xp: Any
    #: probabilities in the compute dtype
    prob: Array
    #: floating target masks (one-hot or probabilities) of prob's shape; None for labels
    target: Array | None
    #: integer labels, prob's shape without the class axis; None for floating targets
    labels: Array | None
    #: positions that are not ignored (boolean, the labels' shape); None without ignore_index
    keep: Array | None
    num_classes: int
    class_axis: int = 1

    def positions(self) -> tuple[int, ...]:
        """The axes of prob summed by the statistics: all but the batch and the classes."""
        return tuple(i for i in range(1, self.prob.ndim) if i != self.class_axis)

    def with_class_axis(self, x: Array) -> Array:
        """An array of the labels' shape with a class axis of size 1 inserted."""
        return self.xp.expand_dims(x, axis=self.class_axis)

    def foreground(self) -> Array:
        """Boolean, prob's shape: where each class is present in the target (labels only)."""
        xp = self.xp
        classes = xp.arange(self.num_classes, dtype=self.labels.dtype, device=device(self.labels))
        shape = [1] * self.prob.ndim
        shape[self.class_axis] = self.num_classes
        hit = self.with_class_axis(self.labels) == xp.reshape(classes, tuple(shape))
        if self.keep is not None:
            hit = hit & self.with_class_axis(self.keep)
        return hit

    def by_class(self, x: Array) -> Array:
        """prob's layout -> [B, C, N]: each class's positions along the last axis."""
        xp = self.xp
        if self.class_axis != 1:
            x = xp.moveaxis(x, self.class_axis, 1)
        sizes = shape(x)
        return xp.reshape(x, (sizes[0], sizes[1], math.prod(sizes[2:])))


def _with_position_axis(x: Array, xp: Any) -> Array:
    """[B, C] -> [B, C, 1]; arrays with position axes are unchanged."""
    return xp.expand_dims(x, axis=-1) if x.ndim <= 2 else x


def _check_inputs(
    pred: Array,
    target: Array,
    *,
    axis: int | None,
    from_logits: bool,
    ignore_index: int | None,
    xp: Any,
) -> tuple[Array, int | None]:
    """The checks of a segmentation loss's inputs that read no value: dtypes, shapes and
    how they fit ``axis``, ``from_logits`` and ``ignore_index`` (the values are checked
    by :func:`check_input_values` where they are read).

    Returns the target, masks cast to ``pred``'s dtype or integer labels as given (the
    target is labels exactly when it has fewer axes than ``pred``), and the class axis,
    normalised, or None for binary masks.
    """
    require_floating(pred, "pred", xp)
    if axis is None:
        if pred.ndim == 0:
            raise LossInputError("pred must have a batch axis (axis 0); got a 0-d array")
        check_same_shape(pred, target)
        return as_float(target, pred, "target", xp), None
    if pred.ndim < 2:
        raise LossInputError(
            f"pred must have a batch axis and a class axis when axis={axis} is given; got "
            f"shape {tuple(pred.shape)}. For binary masks use axis=None"
        )
    axis = check_normalized_axis(axis, pred.ndim)
    if axis == 0:
        raise LossInputError(
            "axis=0 is the batch axis; the class axis must be another axis (1 for [B, C, ...], "
            "-1 for [B, ..., C])"
        )
    if from_logits and pred.shape[axis] < 2:
        raise LossInputError(
            f"from_logits=True takes a softmax over axis {axis}, which needs at least 2 classes; "
            f"pred has {pred.shape[axis]}. For one-channel binary masks use axis=None (sigmoid)"
        )
    if tuple(target.shape) == tuple(pred.shape):
        if ignore_index is not None:
            raise LossInputError(
                "ignore_index applies to integer labels; target has pred's shape (one-hot or "
                "probabilities). Pass integer labels, or zero the ignored positions with weights"
            )
        return as_float(target, pred, "target", xp), axis
    label_shape = tuple(s for i, s in enumerate(pred.shape) if i != axis)
    if tuple(target.shape) != label_shape:
        raise LossInputError(
            f"target must have pred's shape {tuple(pred.shape)} (one-hot or probabilities) or "
            f"pred's shape without axis {axis}, {label_shape} (integer labels); got "
            f"{tuple(target.shape)}"
        )
    require_integer(target, "target", xp)
    return target, axis


#: A value check: ``screen(x, low, high, checks)`` runs ``checks`` (which raise) when ``x``
#: may hold a value outside ``[low, high]``.  The generic code always runs them; the
#: PyTorch kernel first screens with one cheap pass.
Screen = Callable[[Array, float, float, Callable[[], None]], None]


def _always_check(x: Array, low: float, high: float, checks: Callable[[], None]) -> None:
    checks()


def check_input_values(
    pred: Array,
    target: Array,
    *,
    classes: int,
    from_logits: bool,
    ignore_index: int | None,
    xp: Any,
    screen: Screen = _always_check,
    check_label_range: bool = True,
    binary_target: bool = False,
) -> None:
    """The checks that read the values of inputs that passed :func:`_check_inputs`:
    probabilities in [0, 1] (unless ``from_logits``), masks in [0, 1] (exactly 0 or 1
    with ``binary_target``: Lovász compares sets), labels in ``[0, classes)`` or
    ``ignore_index``.  A backend may screen them (``screen``) or find out-of-range
    labels as it reads them (``check_label_range=False``), with the same messages.
    """
    if not from_logits:
        screen(pred, 0.0, 1.0, lambda: check_probabilities(pred, "pred", xp))
    if target.ndim == pred.ndim:
        screen(target, 0.0, 1.0, lambda: _check_target_values(target, binary_target, xp))
    elif check_label_range:
        check_labels(target, classes, "target", xp, ignore_index=ignore_index)


def _check_target_values(target: Array, binary: bool, xp: Any) -> None:
    if binary:
        check_values(
            target,
            lambda t: xp.any((t != 0) & (t != 1)),
            "target must hold binary labels 0 or 1 (Lovász losses compare sets); found another "
            "value",
        )
    else:
        check_values(
            target,
            lambda t: xp.any(~((t >= 0) & (t <= 1))),
            "target must hold mask values in [0, 1]; found a value outside that range or NaN",
        )


def _masks(
    pred: Array,
    target: Array,
    *,
    axis: int | None,
    from_logits: bool,
    ignore_index: int | None,
    xp: Any,
) -> _Masks:
    """Probabilities and targets of checked inputs, laid out as :class:`_Masks` says."""
    compute = accumulation_dtype(pred, xp)
    x = xp.astype(pred, compute)
    if axis is None:
        prob = sigmoid(x, xp=xp) if from_logits else x

        def one_class(v: Array) -> Array:
            return _with_position_axis(xp.expand_dims(v, axis=1), xp)

        t = one_class(xp.astype(target, compute))
        return _Masks(xp, one_class(prob), t, None, None, 1)
    classes = pred.shape[axis]
    prob = softmax(x, axis=axis, xp=xp) if from_logits else x
    prob = _with_position_axis(prob, xp)
    if target.ndim == pred.ndim:
        t = _with_position_axis(xp.astype(target, compute), xp)
        return _Masks(xp, prob, t, None, None, classes, axis)
    labels = xp.reshape(target, tuple(s for i, s in enumerate(shape(prob)) if i != axis))
    keep = None if ignore_index is None else labels != ignore_index
    return _Masks(xp, prob, None, labels, keep, classes, axis)


def _class_weights(
    class_weights: Any, exclude_class: Any, pred: Array, axis: int | None, xp: Any
) -> Array | None:
    """Per-class weights [C] combining ``class_weights`` and ``exclude_class`` (or None),
    in the compute dtype.  Binary masks have none (the options need a class axis)."""
    if axis is None:
        return None
    classes = pred.shape[axis]
    if exclude_class is not None and not 0 <= exclude_class < classes:
        raise LossInputError(
            f"exclude_class must be a class index in [0, {classes}) or None; got {exclude_class!r}"
        )
    if class_weights is None and exclude_class is None:
        return None
    dtype = accumulation_dtype(pred, xp)
    if class_weights is None:
        w = xp.ones((classes,), dtype=dtype, device=device(pred))
    else:
        w = class_vector(class_weights, "class_weights", pred, axis, xp)
        w = xp.astype(xp.reshape(w, (classes,)), dtype)
    if exclude_class is not None:
        w = xp.where(xp.arange(classes, device=device(w)) == exclude_class, xp.zeros_like(w), w)
    return w


def _finish(
    loss: Array,
    class_weights: Array | None,
    *,
    binary: bool,
    dtype: Any,
    reduction: Reduction,
    weights: Any,
    xp: Any,
) -> Array:
    """Drop the class axis of binary losses, apply class weights, reduce, cast to ``dtype``."""
    norm = None
    if binary:
        loss = loss[..., 0]
    elif class_weights is not None:
        loss = class_weights * loss
        norm = xp.broadcast_to(class_weights, shape(loss))
    out = reduce_loss(loss, reduction=reduction, weights=weights, norm=norm, xp=xp)
    return out if out.dtype == dtype else xp.astype(out, dtype)


# ---------------------------------------------------------------- overlap losses

#: The soft intersection, prediction mass and target mass (I, P, T).
Statistics = tuple[Array, Array, Array]


@kernel
def overlap_statistics(
    pred: Array,
    target: Array,
    *,
    axis: int | None,
    from_logits: bool,
    ignore_index: int | None,
    xp: Any,
) -> Statistics:
    r"""The statistics of every overlap loss, per sample :math:`b` and class :math:`c`:
    :math:`I = \sum p\,t`, :math:`P = \sum p` and :math:`T = \sum t` over the positions
    (every axis but the batch and the classes), each ``[B, C]`` (``C = 1`` for binary
    masks), in the compute dtype (float32 for 16-bit inputs).

    ``pred`` and ``target`` have passed :func:`_check_inputs` (``axis`` normalised, None
    for binary masks); their values are checked here (:func:`check_input_values`), where they
    are read.  Integer labels are compared with each class on the fly, and positions
    labelled ``ignore_index`` leave every statistic.
    """
    check_input_values(
        pred,
        target,
        classes=1 if axis is None else pred.shape[axis],
        from_logits=from_logits,
        ignore_index=ignore_index,
        xp=xp,
    )
    masks = _masks(
        pred, target, axis=axis, from_logits=from_logits, ignore_index=ignore_index, xp=xp
    )
    p = masks.prob
    positions = masks.positions()
    if masks.labels is None:
        t = masks.target
        inter = xp.sum(p * t, axis=positions)
        t_sum = xp.sum(t, axis=positions)
    else:
        hit = masks.foreground()
        if masks.keep is not None:
            # Ignored positions leave every statistic: their probabilities are zeroed.
            p = xp.where(masks.with_class_axis(masks.keep), p, xp.zeros_like(p))
        inter = xp.sum(xp.where(hit, p, xp.zeros_like(p)), axis=positions)
        t_sum = xp.sum(xp.astype(hit, p.dtype), axis=positions)
    return inter, xp.sum(p, axis=positions), t_sum


#: How the statistics [B, C] of each sample are summed before the ratio is taken:
#: ``pool(statistics, xp)``.
Pool = Callable[[Statistics, Any], Statistics]


def per_sample(statistics: Statistics, xp: Any) -> Statistics:
    """``batch=False``: one ratio per sample and class, [B, C]."""
    return statistics


def over_batch(statistics: Statistics, xp: Any) -> Statistics:
    """``batch=True``: the statistics summed over the batch, one ratio per class, [C]
    (every statistic handed over: I, P, T and, for :func:`matthews_correlation`, N)."""
    return tuple([xp.sum(s, axis=0) for s in statistics])  # type: ignore[return-value]


def _position_count(
    statistics: Statistics, pred: Array, target: Array, axis: int | None, xp: Any
) -> Array:
    """N, the number of positions each statistic counts, ``[B, C]`` like the statistics.

    With integer labels every counted position holds exactly one class (the labels'
    range is checked), so N is the sum of T over the classes: ignored positions leave it
    as they leave every statistic.  Masks count every position: N comes from the shape.
    """
    t_sum = statistics[2]
    if target.ndim < pred.ndim:
        return xp.broadcast_to(xp.sum(t_sum, axis=-1, keepdims=True), shape(t_sum))
    sizes = shape(pred)
    n = math.prod([s for i, s in enumerate(sizes) if i != 0 and i != axis])
    if not isinstance(n, int):  # a size known only at run time (tf.function)
        n = xp.astype(n, t_sum.dtype)
    return xp.zeros_like(t_sum) + n


def overlap_loss(
    per_class: Callable[..., Array],
    pred: Array,
    target: Array,
    *,
    pool: Pool,
    from_logits: bool,
    axis: int | None,
    class_weights: Array | None,
    exclude_class: int | None,
    ignore_index: int | None,
    reduction: Reduction,
    weights: Array | None,
    count: bool = False,
    across_classes: bool = False,
    **loss_options: Any,
) -> Array:
    """The body of every overlap loss: check the inputs, take the statistics I, P, T
    (:func:`overlap_statistics`), sum them with ``pool``; then
    ``per_class(I, P, T, xp=xp, **loss_options)`` gives the loss of each sample (or of the
    batch) and class, which is weighted by class and reduced.

    ``count=True`` hands ``per_class`` a fourth statistic, the number of positions N
    (:func:`_position_count`), pooled like the others.  ``across_classes=True`` is for a
    loss that sums over the classes itself (:func:`generalized_dice`): ``per_class`` gets
    the class weights (``class_weights=``, None without any) and returns one loss per
    sample ``[B]`` (0-d once pooled over the batch).

    The options have been checked against the loss's declarations by its caller.
    """
    xp = namespace(pred=pred, target=target)
    target, axis = _check_inputs(
        pred, target, axis=axis, from_logits=from_logits, ignore_index=ignore_index, xp=xp
    )
    w = _class_weights(class_weights, exclude_class, pred, axis, xp)
    statistics = overlap_statistics(
        pred, target, axis=axis, from_logits=from_logits, ignore_index=ignore_index, xp=xp
    )
    if count:
        statistics = (*statistics, _position_count(statistics, pred, target, axis, xp))
    pooled = pool(statistics, xp)
    if across_classes:
        loss = per_class(*pooled, xp=xp, class_weights=w, **loss_options)
        w = None
    else:
        loss = per_class(*pooled, xp=xp, **loss_options)
    return _finish(
        loss,
        w,
        binary=axis is None and not across_classes,
        dtype=pred.dtype,
        reduction=reduction,
        weights=weights,
        xp=xp,
    )


def _one_minus_ratio(numerator: Array, denominator: Array, xp: Any) -> Array:
    """1 - numerator / denominator, with 0 / 0 (both masks empty, smooth = 0) scored as a
    perfect 1.  Double where: the unused branch divides by 1, so its gradient is finite."""
    empty = denominator == 0
    safe = xp.where(empty, xp.ones_like(denominator), denominator)
    return 1.0 - xp.where(empty, xp.ones_like(numerator), numerator / safe)


# The losses of the statistics, one per overlap loss: a new overlap loss is one such
# function and a public function that hands it to overlap_loss.


def dice_from_statistics(
    inter: Array, p_sum: Array, t_sum: Array, *, smooth: Any, xp: Any
) -> Array:
    """:func:`dice`'s loss of the statistics."""
    return _one_minus_ratio(2.0 * inter + smooth, p_sum + t_sum + smooth, xp)


def jaccard_from_statistics(
    inter: Array, p_sum: Array, t_sum: Array, *, smooth: Any, xp: Any
) -> Array:
    """:func:`jaccard`'s loss of the statistics; the soft union is P + T - I."""
    return _one_minus_ratio(inter + smooth, p_sum + t_sum - inter + smooth, xp)


def tversky_from_statistics(
    inter: Array, p_sum: Array, t_sum: Array, *, alpha: Any, beta: Any, smooth: Any, xp: Any
) -> Array:
    """:func:`tversky`'s loss of the statistics."""
    # P - I counts the false positives, T - I the false negatives.
    denominator = inter + alpha * (p_sum - inter) + beta * (t_sum - inter) + smooth
    return _one_minus_ratio(inter + smooth, denominator, xp)


def focal_tversky_from_statistics(
    inter: Array,
    p_sum: Array,
    t_sum: Array,
    *,
    gamma: Any,
    alpha: Any,
    beta: Any,
    smooth: Any,
    xp: Any,
) -> Array:
    """:func:`focal_tversky`'s loss of the statistics."""
    base = tversky_from_statistics(
        inter, p_sum, t_sum, alpha=alpha, beta=beta, smooth=smooth, xp=xp
    )
    # x^gamma has an infinite slope at 0 for gamma < 1. Double where: a perfect score
    # (base exactly 0) takes the constant branch, and the power only ever sees base > 0.
    positive = base > 0
    safe_base = xp.where(positive, base, xp.ones_like(base))
    return xp.where(positive, safe_base**gamma, xp.zeros_like(base))


def generalized_dice_from_statistics(
    inter: Array,
    p_sum: Array,
    t_sum: Array,
    *,
    power: Any,
    smooth: Any,
    class_weights: Array | None,
    xp: Any,
) -> Array:
    """:func:`generalized_dice`'s loss of the statistics ``[..., C]``: one value per
    sample ``[B]`` (0-d pooled).  ``class_weights`` is 0 for an excluded class."""
    present = t_sum > 0
    if class_weights is not None:  # an excluded class is not a present class
        present = present & (class_weights > 0)
    # The volume weights (T_min / T_c)^p: Sudre et al.'s 1 / T_c^p up to the factor
    # T_min^p common to every class, which the ratio cancels; the smallest present class
    # weighs 1, so ``smooth`` counts its voxels.  A class absent from the target weighs
    # 1 too, the largest weight, as MONAI's GeneralizedDiceLoss gives it.  Double where:
    # the unused branches divide by 1, so the gradient (in T, for soft targets) is finite.
    inf = xp.full_like(t_sum, math.inf)
    smallest = xp.min(xp.where(present, t_sum, inf), axis=-1, keepdims=True)
    smallest = xp.where(smallest < inf, smallest, xp.ones_like(smallest))  # none present
    ratio = smallest / xp.where(present, t_sum, xp.ones_like(t_sum))
    w = xp.where(present, ratio**power, xp.ones_like(ratio))
    if class_weights is not None:
        w = w * class_weights
    numerator = 2.0 * xp.sum(w * inter, axis=-1) + smooth
    denominator = xp.sum(w * (p_sum + t_sum), axis=-1) + smooth
    return _one_minus_ratio(numerator, denominator, xp)


def matthews_from_statistics(
    inter: Array, p_sum: Array, t_sum: Array, count: Array, *, smooth: Any, xp: Any
) -> Array:
    """:func:`matthews_correlation`'s loss of the statistics and the position count N."""
    # s pseudo-counts of true positives and of true negatives: TP + s, TN + s.
    inter, p_sum, t_sum, count = inter + smooth, p_sum + smooth, t_sum + smooth, count + 2 * smooth
    # TP TN - FP FN = N I - P T (expand TN = N - P - T + I); every term divided by N^2
    # (fractions of N) so that no product of four counts overflows float32.
    nonempty = count > 0
    n = xp.where(nonempty, count, xp.ones_like(count))
    i, p, t = inter / n, p_sum / n, t_sum / n
    q, u = (count - p_sum) / n, (count - t_sum) / n  # 1 - p and 1 - t, without cancellation
    numerator = i - p * t
    pq, tu = p * q, t * u
    # A factor 0 (nothing predicted or everything, class absent or everywhere; only with
    # smooth = 0) leaves MCC undefined: 1 without an error (FP = FN = 0), else 0, as
    # scikit-learn scores it.  Double where: the unused branch takes sqrt(1).
    defined = (pq > 0) & (tu > 0)
    one = xp.ones_like(pq)
    denominator = xp.sqrt(xp.where(defined, pq, one)) * xp.sqrt(xp.where(defined, tu, one))
    errors = (p_sum - inter) + (t_sum - inter)
    undefined = xp.where(errors == 0, xp.ones_like(errors), xp.zeros_like(errors))
    return 1.0 - xp.where(defined, numerator / denominator, undefined)


def _class_options_need_an_axis(options: Mapping[str, Any]) -> None:
    """class_weights, exclude_class and ignore_index name classes: they need ``axis``."""
    if options["axis"] is not None:
        return
    if options.get("ignore_index") is not None:
        raise LossInputError(
            "ignore_index applies to integer labels, which need a class axis; with "
            "axis=None the target is a mask of pred's shape. Give the class axis, or zero "
            "the ignored positions with weights"
        )
    for name in ("class_weights", "exclude_class"):
        if options.get(name) is not None:
            raise LossInputError(
                f"{name} needs a class axis; with axis=None the masks are compared element "
                "by element. Give the class axis (for example axis=1)"
            )


#: What every overlap loss declares: its tasks, and the options after its own.
_OVERLAP_TASKS = ("segmentation", "binary", "multi-class", "multi-label")
_OVERLAP_OPTIONS = (
    OVERLAP_FROM_LOGITS,
    OVERLAP_AXIS,
    OVERLAP_BATCH,
    SMOOTH,
    SEGMENTATION_CLASS_WEIGHTS,
    EXCLUDE_CLASS,
    SEGMENTATION_IGNORE_INDEX,
)

_MODE_DOC = r"""
    Statistics per sample :math:`b` and class :math:`c`, summed over every axis but the
    batch and the class axis (and over the batch too with ``batch=True``):
    :math:`I = \sum p\,t` (soft intersection), :math:`P = \sum p`, :math:`T = \sum t`.
    Targets are masks of ``pred``'s shape (binary, multi-label, one-hot or soft, in [0, 1])
    or, with an integer ``axis``, integer labels of ``pred``'s shape without ``axis``.
    A class absent from both prediction and target scores 0; with ``smooth > 0`` a
    non-empty prediction on an empty target keeps a gradient that pushes it towards empty.
    For per-class (multi-label) scores of sigmoid outputs, pass the probabilities with
    ``from_logits=False`` and the label axis as ``axis``.
"""

_ARGS_DOC = r"""pred: probabilities in [0, 1], or logits with ``from_logits=True``; shape
            ``[B, ...]`` (axis 0 is the batch), classes on ``axis`` if given.
        target: masks in [0, 1] of ``pred``'s shape, or (with ``axis``) integer labels of
            ``pred``'s shape without ``axis``.
        from_logits: apply a sigmoid (``axis=None``) or a softmax over ``axis`` first."""

_OPTIONS_DOC = r"""axis: None for binary or multi-label masks compared element by element; an
            int names the class axis of multi-class predictions (not 0, the batch).
        batch: False (default) for one score per sample; True to pool the statistics of
            the whole batch before the ratio (one score per class).
        smooth: :math:`s \ge 0` added to numerator and denominator (formula above);
            keeps empty masks defined and their gradients alive.
        class_weights: optional non-negative weight per class (needs ``axis``); ``"mean"``
            divides by the summed weights, so uniform weights change nothing.
        exclude_class: a class index left out of the loss (weight 0), such as a background
            class 0 (needs ``axis``).
        ignore_index: a label whose positions leave every statistic (integer labels only)."""


def _overlap_doc(fn: Any) -> Any:
    fn.__doc__ = (
        fn.__doc__.replace("{mode}", _MODE_DOC)
        .replace("{args}", _ARGS_DOC)
        .replace("{options}", _OPTIONS_DOC)
    )
    return fn


@register_loss(
    tasks=_OVERLAP_TASKS,
    summary="Soft Dice loss: one minus the soft Dice overlap of predicted and target masks.",
    class_axis="axis",
    options=_OVERLAP_OPTIONS,
    constraints=(_class_options_need_an_axis,),
)
@_overlap_doc
def dice(
    pred: Array,
    target: Array,
    *,
    from_logits: bool = False,
    axis: int | None = None,
    batch: bool = False,
    smooth: float = 1.0,
    class_weights: Array | None = None,
    exclude_class: int | None = None,
    ignore_index: int | None = None,
    reduction: Reduction = "mean",
    weights: Array | None = None,
) -> Array:
    r"""Soft Dice loss.

    .. math:: \ell_{bc} = 1 - \frac{2 I_{bc} + s}{P_{bc} + T_{bc} + s}
    {mode}
    Args:
        {args}
        {options}
        {reduction}

    Returns:
        The reduced loss; for ``"none"`` one loss per sample and class ``[B, C]``
        (``[C]`` with ``batch=True``), or per sample ``[B]`` (0-d) with ``axis=None``.

    Examples:
        >>> import numpy as np, losskit
        >>> pred = np.array([[0.9, 0.8, 0.1, 0.0]])
        >>> round(float(losskit.dice(pred, np.array([[1.0, 1.0, 0.0, 0.0]]), smooth=0.0)), 4)
        0.1053
        >>> float(losskit.dice(np.zeros((1, 4)), np.zeros((1, 4))))  # empty on empty
        0.0
    """
    return overlap_loss(
        dice_from_statistics,
        pred,
        target,
        pool=over_batch if batch else per_sample,
        smooth=smooth,
        from_logits=from_logits,
        axis=axis,
        class_weights=class_weights,
        exclude_class=exclude_class,
        ignore_index=ignore_index,
        reduction=reduction,
        weights=weights,
    )


@register_loss(
    tasks=_OVERLAP_TASKS,
    summary="Soft Jaccard (IoU) loss: one minus the soft intersection over union of the masks.",
    class_axis="axis",
    options=_OVERLAP_OPTIONS,
    constraints=(_class_options_need_an_axis,),
)
@_overlap_doc
def jaccard(
    pred: Array,
    target: Array,
    *,
    from_logits: bool = False,
    axis: int | None = None,
    batch: bool = False,
    smooth: float = 1.0,
    class_weights: Array | None = None,
    exclude_class: int | None = None,
    ignore_index: int | None = None,
    reduction: Reduction = "mean",
    weights: Array | None = None,
) -> Array:
    r"""Soft Jaccard (IoU) loss; the soft union is :math:`P + T - I`.

    .. math:: \ell_{bc} = 1 - \frac{I_{bc} + s}{P_{bc} + T_{bc} - I_{bc} + s}
    {mode}
    Args:
        {args}
        {options}
        {reduction}

    Returns:
        The reduced loss; for ``"none"`` one loss per sample and class ``[B, C]``
        (``[C]`` with ``batch=True``), or per sample ``[B]`` (0-d) with ``axis=None``.

    Examples:
        >>> import numpy as np, losskit
        >>> pred = np.array([[0.9, 0.8, 0.1, 0.0]])
        >>> round(float(losskit.jaccard(pred, np.array([[1.0, 1.0, 0.0, 0.0]]), smooth=0.0)), 4)
        0.1905
    """
    return overlap_loss(
        jaccard_from_statistics,
        pred,
        target,
        pool=over_batch if batch else per_sample,
        smooth=smooth,
        from_logits=from_logits,
        axis=axis,
        class_weights=class_weights,
        exclude_class=exclude_class,
        ignore_index=ignore_index,
        reduction=reduction,
        weights=weights,
    )


@register_loss(
    tasks=_OVERLAP_TASKS,
    summary="Tversky loss: a Dice loss that weights false positives and false negatives apart.",
    class_axis="axis",
    options=(
        TVERSKY_ALPHA,
        TVERSKY_BETA,
        *_OVERLAP_OPTIONS,
    ),
    constraints=(_class_options_need_an_axis,),
)
@_overlap_doc
def tversky(
    pred: Array,
    target: Array,
    *,
    alpha: float = 0.5,
    beta: float = 0.5,
    from_logits: bool = False,
    axis: int | None = None,
    batch: bool = False,
    smooth: float = 1.0,
    class_weights: Array | None = None,
    exclude_class: int | None = None,
    ignore_index: int | None = None,
    reduction: Reduction = "mean",
    weights: Array | None = None,
) -> Array:
    r"""Tversky loss (Salehi et al., 2017).

    .. math::
        \ell_{bc} = 1 - \frac{I + s}{I + \alpha\,(P - I) + \beta\,(T - I) + s}

    :math:`P - I` is the soft count of false positives and :math:`T - I` of false
    negatives; :math:`\alpha = \beta = 1/2` gives :func:`dice`, :math:`\alpha = \beta = 1`
    gives :func:`jaccard`.
    {mode}
    Args:
        {args}
        alpha: weight :math:`\alpha \ge 0` of the false positives.
        beta: weight :math:`\beta \ge 0` of the false negatives.
        {options}
        {reduction}

    Returns:
        The reduced loss; for ``"none"`` one loss per sample and class ``[B, C]``
        (``[C]`` with ``batch=True``), or per sample ``[B]`` (0-d) with ``axis=None``.

    Examples:
        >>> import numpy as np, losskit
        >>> pred, target = np.array([[0.9, 0.8, 0.1, 0.0]]), np.array([[1.0, 1.0, 0.0, 0.0]])
        >>> round(float(losskit.tversky(pred, target, alpha=0.3, beta=0.7, smooth=0.0)), 4)
        0.1237
    """
    return overlap_loss(
        tversky_from_statistics,
        pred,
        target,
        pool=over_batch if batch else per_sample,
        alpha=alpha,
        beta=beta,
        smooth=smooth,
        from_logits=from_logits,
        axis=axis,
        class_weights=class_weights,
        exclude_class=exclude_class,
        ignore_index=ignore_index,
        reduction=reduction,
        weights=weights,
    )


@register_loss(
    tasks=_OVERLAP_TASKS,
    summary="Focal Tversky loss: the Tversky loss raised to a power gamma, per sample and class.",
    class_axis="axis",
    options=(
        real(
            "gamma",
            (
                "exponent > 0 applied to each sample's and class's Tversky loss. 1 is tversky; the "
                "paper writes the exponent as 1/gamma with gamma = 4/3, which is 0.75 here (default); "
                "values in [0.5, 1] are usual."
            ),
            0.0,
            closed="neither",
        ),
        TVERSKY_ALPHA,
        TVERSKY_BETA,
        *_OVERLAP_OPTIONS,
    ),
    constraints=(_class_options_need_an_axis,),
)
@_overlap_doc
def focal_tversky(
    pred: Array,
    target: Array,
    *,
    gamma: float = 0.75,
    alpha: float = 0.5,
    beta: float = 0.5,
    from_logits: bool = False,
    axis: int | None = None,
    batch: bool = False,
    smooth: float = 1.0,
    class_weights: Array | None = None,
    exclude_class: int | None = None,
    ignore_index: int | None = None,
    reduction: Reduction = "mean",
    weights: Array | None = None,
) -> Array:
    r"""Focal Tversky loss (Abraham & Khan, 2019): the :func:`tversky` loss of each sample
    and class raised to the power :math:`\gamma`.

    .. math::
        \ell_{bc} = \Bigl(1 - \frac{I + s}{I + \alpha\,(P - I) + \beta\,(T - I) + s}\Bigr)^{\gamma}

    ``gamma`` is the exponent itself: the paper writes it as :math:`1/\gamma` with
    :math:`\gamma = 4/3`, which is ``gamma=0.75`` here.  The power is taken per sample and
    class, before any averaging.  A perfect score (Tversky loss exactly 0) has loss 0
    and a zero gradient, where the slope of :math:`x^\gamma` would be infinite for
    ``gamma < 1``; near it the gradient is steep but finite.
    {mode}
    Args:
        {args}
        gamma: exponent :math:`\gamma > 0`; 1 gives :func:`tversky`.
        alpha: weight :math:`\alpha \ge 0` of the false positives.
        beta: weight :math:`\beta \ge 0` of the false negatives.
        {options}
        {reduction}

    Returns:
        The reduced loss; for ``"none"`` one loss per sample and class ``[B, C]``
        (``[C]`` with ``batch=True``), or per sample ``[B]`` (0-d) with ``axis=None``.

    Examples:
        >>> import numpy as np, losskit
        >>> pred, target = np.array([[0.9, 0.8, 0.1, 0.0]]), np.array([[1.0, 1.0, 0.0, 0.0]])
        >>> round(float(losskit.focal_tversky(pred, target, gamma=0.5, smooth=0.0)), 4)
        0.3244
    """
    return overlap_loss(
        focal_tversky_from_statistics,
        pred,
        target,
        pool=over_batch if batch else per_sample,
        gamma=gamma,
        alpha=alpha,
        beta=beta,
        smooth=smooth,
        from_logits=from_logits,
        axis=axis,
        class_weights=class_weights,
        exclude_class=exclude_class,
        ignore_index=ignore_index,
        reduction=reduction,
        weights=weights,
    )


_CLASS_AXIS = integer(
    "axis",
    (
        "the class axis: -1 (default) for channels last, 1 for [B, C, ...] (the PyTorch "
        "modules' default)."
    ),
    hint="axis must be the class axis; for binary masks use dice (one class: the same loss)",
)


@register_loss(
    tasks=("segmentation", "multi-class", "multi-label"),
    summary=(
        "Generalised Dice loss: one Dice over all classes, each weighted by the inverse of its "
        "target volume to the power p."
    ),
    class_axis="axis",
    options=(
        real(
            "power",
            (
                "exponent p >= 0 of the volume weights 1 / T_c^p: 2 (default; Sudre et al., MONAI's "
                'w_type="square"), 1 ("simple"), 0 for equal weights.'
            ),
            0.0,
        ),
        OVERLAP_FROM_LOGITS,
        _CLASS_AXIS,
        flag(
            "batch",
            (
                "False (default): one score and one set of weights per sample; True: statistics "
                "and volumes pooled over the whole batch (MONAI's batch=True)."
            ),
        ),
        real(
            "smooth",
            (
                "added to numerator and denominator, >= 0, in voxels of the smallest class "
                "present (the weights are scaled so that it weighs 1). Default 1.0; 0 for the "
                "exact ratio."
            ),
            0.0,
        ),
        EXCLUDE_CLASS,
        SEGMENTATION_IGNORE_INDEX,
    ),
)
def generalized_dice(
    pred: Array,
    target: Array,
    *,
    power: float = 2.0,
    from_logits: bool = False,
    axis: int = -1,
    batch: bool = False,
    smooth: float = 1.0,
    exclude_class: int | None = None,
    ignore_index: int | None = None,
    reduction: Reduction = "mean",
    weights: Array | None = None,
) -> Array:
    r"""Generalised Dice loss (Sudre et al., 2017): one Dice ratio over all the classes of a
    sample, each class weighted by the inverse of its target volume to the power ``power``,
    so that small structures count as much as large ones.

    .. math::
        \ell_b = 1 - \frac{2 \sum_c w_c I_c + s}{\sum_c w_c (P_c + T_c) + s},
        \qquad w_c = \Bigl(\frac{\min_{k:\,T_k > 0} T_k}{T_c}\Bigr)^{p}

    with the statistics of :func:`dice` (:math:`I = \sum p\,t`, :math:`P = \sum p`,
    :math:`T = \sum t`, per sample, or over the batch with ``batch=True``).  The weights
    are Sudre et al.'s :math:`1 / T_c^p` multiplied by :math:`T_{\min}^p`, the smallest
    present volume's, which the ratio cancels: the smallest present class weighs 1, so
    ``smooth`` is in its voxels, and no weight overflows or underflows whatever the
    volumes.  **A class absent from the target** (:math:`T_c = 0`, where :math:`1/T_c^p`
    is infinite) weighs 1, the largest weight, as in MONAI's ``GeneralizedDiceLoss``: its
    false positives are penalised as those of the rarest present class.  With every class
    absent all weigh 1: an empty prediction scores 0 and a non-empty one is pushed
    towards empty (``smooth > 0``).  Value and gradient are finite in every case.

    Args:
        pred: probabilities in [0, 1], or logits with ``from_logits=True``; shape
            ``[B, ...]`` (axis 0 is the batch), classes on ``axis``.
        target: one-hot masks or probabilities of ``pred``'s shape, or integer labels of
            ``pred``'s shape without ``axis``.
        power: exponent :math:`p \ge 0` of the volume weights.
        from_logits: apply a softmax over ``axis`` first.
        axis: the class axis (not 0, the batch).
        batch: pool the statistics (and the volumes) of the whole batch: one loss.
        smooth: :math:`s \ge 0` added to numerator and denominator.
        exclude_class: a class index left out (weight 0), such as a background class 0.
        ignore_index: a label whose positions leave every statistic (integer labels only).
        {reduction}

    Returns:
        The reduced loss; for ``"none"`` one loss per sample ``[B]`` (0-d with
        ``batch=True``).

    Examples:
        >>> import numpy as np, losskit
        >>> probs = np.array([[[0.9, 0.1], [0.2, 0.8], [0.7, 0.3], [0.6, 0.4]]])  # [B, N, C]
        >>> labels = np.array([[0, 1, 0, 0]])  # class 1 is small: it weighs 9 times class 0
        >>> round(float(losskit.generalized_dice(probs, labels, smooth=0.0)), 4)
        0.3472
        >>> round(float(losskit.dice(probs, labels, axis=-1, smooth=0.0)), 4)
        0.2849
    """
    return overlap_loss(
        generalized_dice_from_statistics,
        pred,
        target,
        pool=over_batch if batch else per_sample,
        power=power,
        smooth=smooth,
        from_logits=from_logits,
        axis=axis,
        class_weights=None,
        exclude_class=exclude_class,
        ignore_index=ignore_index,
        reduction=reduction,
        weights=weights,
        across_classes=True,
    )


@register_loss(
    tasks=_OVERLAP_TASKS,
    summary=("Matthews-correlation loss: one minus the soft MCC, which counts true negatives too."),
    class_axis="axis",
    options=(
        OVERLAP_FROM_LOGITS,
        OVERLAP_AXIS,
        OVERLAP_BATCH,
        real(
            "smooth",
            (
                "s >= 0 pseudo-counts added to the true positives and to the true negatives. "
                "Default 1.0: an empty prediction on an empty target scores 0 and a spurious "
                "one keeps a gradient; 0 for the exact coefficient."
            ),
            0.0,
        ),
        SEGMENTATION_CLASS_WEIGHTS,
        EXCLUDE_CLASS,
        SEGMENTATION_IGNORE_INDEX,
    ),
    constraints=(_class_options_need_an_axis,),
)
@_overlap_doc
def matthews_correlation(
    pred: Array,
    target: Array,
    *,
    from_logits: bool = False,
    axis: int | None = None,
    batch: bool = False,
    smooth: float = 1.0,
    class_weights: Array | None = None,
    exclude_class: int | None = None,
    ignore_index: int | None = None,
    reduction: Reduction = "mean",
    weights: Array | None = None,
) -> Array:
    r"""Matthews-correlation loss (Abhishek & Hamarneh, 2021): one minus the Matthews
    correlation coefficient of the soft confusion matrix, in [0, 2].

    .. math::
        \ell_{bc} = 1 - \frac{TP \cdot TN - FP \cdot FN}
        {\sqrt{(TP + FP)(TP + FN)(TN + FP)(TN + FN)}}

    with :math:`TP = I + s`, :math:`FP = P - I`, :math:`FN = T - I` and
    :math:`TN = N - P - T + I + s`, where :math:`N` counts the positions (those not
    ignored).  Unlike Dice it rewards the true negatives, and it is symmetric in the
    foreground and the background.  ``smooth`` adds :math:`s` pseudo-counts to the true
    positives and the true negatives: every factor of the denominator is then at least
    :math:`s`, an empty prediction on an empty target scores 0, and a spurious one keeps a
    gradient towards empty.  With ``smooth=0`` a vanishing factor (class absent or
    everywhere, nothing or everything predicted) scores 0 without an error and 1
    otherwise, scikit-learn's convention.
    {mode}
    Args:
        {args}
        {options}
        {reduction}

    Returns:
        The reduced loss; for ``"none"`` one loss per sample and class ``[B, C]``
        (``[C]`` with ``batch=True``), or per sample ``[B]`` (0-d) with ``axis=None``.

    Examples:
        >>> import numpy as np, losskit
        >>> pred = np.array([[0.9, 0.8, 0.1, 0.0]])
        >>> target = np.array([[1.0, 1.0, 0.0, 0.0]])
        >>> round(float(losskit.matthews_correlation(pred, target, smooth=0.0)), 4)
        0.196
    """
    return overlap_loss(
        matthews_from_statistics,
        pred,
        target,
        pool=over_batch if batch else per_sample,
        smooth=smooth,
        from_logits=from_logits,
        axis=axis,
        class_weights=class_weights,
        exclude_class=exclude_class,
        ignore_index=ignore_index,
        reduction=reduction,
        weights=weights,
        count=True,
    )


# -------------------------------------------------------------- distance losses


def _check_distance(pred: Array, distance: Array, *, nonnegative: bool, xp: Any) -> Array:
    """``distance`` (a map per position of ``pred``, as :func:`losskit.distance_maps`
    gives) checked and cast to ``pred``'s dtype."""
    if pred.ndim < 2:
        raise LossInputError(
            f"pred must have a batch axis and positions; got shape {tuple(pred.shape)}"
        )
    check_same_shape(pred, distance, ("pred", "distance"))
    distance = as_float(distance, pred, "distance", xp)
    if nonnegative:
        check_values(
            distance,
            lambda d: xp.any(~((d >= 0) & (d < math.inf))),
            "distance must hold finite distances >= 0 (losskit.distance_maps(target, "
            "signed=False)); found a negative, infinite or NaN value",
        )
    else:
        check_values(
            distance,
            lambda d: xp.any(~xp.isfinite(d)),
            "distance must hold finite signed distances (losskit.distance_maps(target)); "
            "found an infinite or NaN value",
        )
    return distance


def _position_mean(x: Array, masks: _Masks) -> Array:
    """The mean over the positions, per sample and class: ``[B, C]``."""
    return masks.xp.mean(x, axis=masks.positions())


_DISTANCE_OPTIONS = (
    OVERLAP_FROM_LOGITS,
    OVERLAP_AXIS,
    EXCLUDE_CLASS,
)


@register_loss(
    tasks=("segmentation", "binary", "multi-class", "multi-label"),
    summary=(
        "Boundary loss: the predicted probabilities weighted by the signed distance to the "
        "target's boundary."
    ),
    class_axis="axis",
    options=_DISTANCE_OPTIONS,
    constraints=(_class_options_need_an_axis,),
)
def boundary_loss(
    pred: Array,
    distance: Array,
    *,
    from_logits: bool = False,
    axis: int | None = None,
    exclude_class: int | None = None,
    reduction: Reduction = "mean",
    weights: Array | None = None,
) -> Array:
    r"""Boundary loss (Kervadec et al., 2019): the mean over the positions of each class's
    predicted probability times the signed distance :math:`\phi` to the class's boundary
    in the target.

    .. math:: \ell_{bc} = \frac{1}{N} \sum_{n} p_{bcn}\, \phi_{bcn}

    :math:`\phi` is negative inside the target mask and positive outside
    (:func:`losskit.distance_maps`), so the loss falls as probability moves into the
    mask and out of the regions far from it; its minimum is the target mask itself, and
    it is negative there (it is not zero at a perfect prediction).  It is a distance to
    the boundary integrated over the regions between the two contours, differentiable
    and linear in the probabilities.  The paper pairs it with a regional loss,
    :math:`\alpha\,` :func:`generalized_dice` :math:`+ (1 - \alpha)` boundary loss, the
    weight of the boundary term raised during training; alone, it tends to collapse to
    an empty prediction.  A class absent from a sample (map 0) contributes 0.

    The maps depend on the target only: compute them once per sample in the data
    pipeline, ``losskit.distance_maps(labels, classes=C, axis=1)``, and pass them here.

    Args:
        pred: probabilities in [0, 1], or logits with ``from_logits=True``; shape
            ``[B, ...]`` (axis 0 is the batch), classes on ``axis`` if given.
        distance: the signed distance maps of the target, ``pred``'s shape.
        from_logits: apply a sigmoid (``axis=None``) or a softmax over ``axis`` first.
        axis: None for binary or multi-label masks; the class axis of multi-class
            predictions (not 0, the batch).
        exclude_class: a class index left out of the loss (weight 0), such as a
            background class 0 (Kervadec et al. use the foreground classes only).
        {reduction}

    Returns:
        The reduced loss; for ``"none"`` one loss per sample and class ``[B, C]``, or per
        sample ``[B]`` with ``axis=None``.

    Examples:
        >>> import numpy as np, losskit
        >>> target = np.array([[0.0, 0.0, 1.0, 1.0, 1.0, 0.0]])
        >>> phi = losskit.distance_maps(target)  # [[2, 1, 0, -1, 0, 1]]
        >>> float(losskit.boundary_loss(target, phi))  # the target itself: the minimum
        -0.16666666666666666
        >>> float(losskit.boundary_loss(np.full((1, 6), 0.5), phi))
        0.25
    """
    xp = namespace(pred=pred, distance=distance)
    distance = _check_distance(pred, distance, nonnegative=False, xp=xp)
    distance, axis = _check_inputs(
        pred, distance, axis=axis, from_logits=from_logits, ignore_index=None, xp=xp
    )
    w = _class_weights(None, exclude_class, pred, axis, xp)
    if not from_logits:
        check_probabilities(pred, "pred", xp)
    masks = _masks(pred, distance, axis=axis, from_logits=from_logits, ignore_index=None, xp=xp)
    loss = _position_mean(masks.prob * masks.target, masks)
    return _finish(
        loss, w, binary=axis is None, dtype=pred.dtype, reduction=reduction, weights=weights, xp=xp
    )


@register_loss(
    tasks=("segmentation", "binary", "multi-class", "multi-label"),
    summary=(
        "Distance-transform Hausdorff loss: squared errors weighted by the distance to the "
        "target's boundary to the power alpha."
    ),
    class_axis="axis",
    options=(
        real(
            "alpha",
            (
                "exponent alpha >= 0 of the distances: larger values put more weight on errors "
                "far from the boundary, the ones that set the Hausdorff distance. Default 2.0, "
                "as Karimi & Salcudean and MONAI."
            ),
            0.0,
        ),
        *_DISTANCE_OPTIONS,
    ),
    constraints=(_class_options_need_an_axis,),
)
def hausdorff_dt(
    pred: Array,
    target: Array,
    distance: Array,
    *,
    alpha: float = 2.0,
    from_logits: bool = False,
    axis: int | None = None,
    exclude_class: int | None = None,
    reduction: Reduction = "mean",
    weights: Array | None = None,
) -> Array:
    r"""Distance-transform Hausdorff loss (Karimi & Salcudean, 2019): squared errors
    weighted by the distance to the boundary, to the power :math:`\alpha`, averaged over
    the positions of each sample and class.

    .. math:: \ell_{bc} = \frac{1}{N} \sum_{n} (p_{bcn} - t_{bcn})^2\, d_{bcn}^{\alpha}

    An error far from the target's boundary weighs more: those are the errors that make
    the Hausdorff distance large.  ``distance`` is :math:`d`, the unsigned distance map
    of the target, ``losskit.distance_maps(target, signed=False)``, computed once in the
    data pipeline.  Karimi & Salcudean (and MONAI's ``HausdorffDTLoss``) also weight by
    the distance map :math:`d_p` of the thresholded *prediction*, recomputed at every
    step (without a gradient), :math:`d_t^\alpha + d_p^\alpha`: pass
    ``distance = (d_t**alpha + d_p**alpha) ** (1 / alpha)`` with ``d_p =
    losskit.distance_maps(pred > 0.5, signed=False)`` for exactly that weight.  Computing
    :math:`d_p` inside the loss would tie it to the CPU and to SciPy, and break
    ``jax.jit``, ``tf.function`` and ``torch.compile``.

    Args:
        pred: probabilities in [0, 1], or logits with ``from_logits=True``; shape
            ``[B, ...]`` (axis 0 is the batch), classes on ``axis`` if given.
        target: masks in [0, 1] of ``pred``'s shape, or (with ``axis``) integer labels of
            ``pred``'s shape without ``axis``.
        distance: the unsigned distance maps (>= 0), ``pred``'s shape.
        alpha: exponent :math:`\alpha \ge 0` of the distances.
        from_logits: apply a sigmoid (``axis=None``) or a softmax over ``axis`` first.
        axis: None for binary or multi-label masks; the class axis of multi-class
            predictions (not 0, the batch).
        exclude_class: a class index left out (weight 0), such as background (MONAI's
            default ``include_background=False``).
        {reduction}

    Returns:
        The reduced loss; for ``"none"`` one loss per sample and class ``[B, C]``, or per
        sample ``[B]`` with ``axis=None``.

    Examples:
        >>> import numpy as np, losskit
        >>> target = np.array([[0.0, 0.0, 1.0, 1.0, 1.0, 0.0]])
        >>> d = losskit.distance_maps(target, signed=False)  # [[2, 1, 1, 2, 1, 1]]
        >>> pred = np.array([[0.5, 0.0, 1.0, 1.0, 1.0, 0.0]])  # 0.5 off, two voxels out
        >>> float(losskit.hausdorff_dt(pred, target, d))  # 0.25 * 2^2 / 6
        0.16666666666666666
    """
    xp = namespace(pred=pred, target=target, distance=distance)
    distance = _check_distance(pred, distance, nonnegative=True, xp=xp)
    target, axis = _check_inputs(
        pred, target, axis=axis, from_logits=from_logits, ignore_index=None, xp=xp
    )
    w = _class_weights(None, exclude_class, pred, axis, xp)
    check_input_values(
        pred,
        target,
        classes=1 if axis is None else pred.shape[axis],
        from_logits=from_logits,
        ignore_index=None,
        xp=xp,
    )
    masks = _masks(pred, target, axis=axis, from_logits=from_logits, ignore_index=None, xp=xp)
    t = masks.target if masks.labels is None else xp.astype(masks.foreground(), masks.prob.dtype)
    d = xp.astype(distance, masks.prob.dtype)  # in the layout of masks.prob
    d = _with_position_axis(xp.expand_dims(d, axis=1) if axis is None else d, xp)
    # d^alpha, 0 where d = 0 for every alpha (0^0 = 1 would weigh the voxels of an empty
    # map). Double where: the power only sees d > 0, so a traced alpha's gradient is finite.
    positive = d > 0
    weight = xp.where(positive, xp.where(positive, d, xp.ones_like(d)) ** alpha, xp.zeros_like(d))
    loss = _position_mean((masks.prob - t) ** 2 * weight, masks)
    return _finish(
        loss, w, binary=axis is None, dtype=pred.dtype, reduction=reduction, weights=weights, xp=xp
    )


# ----------------------------------------------------------------------- Lovász


def _lovasz_extension(errors: Array, foreground: Array, keep: Array | None, xp: Any) -> Array:
    r"""The Lovász extension of the Jaccard loss evaluated at ``errors``, along the last axis.

    Sort the errors in decreasing order, :math:`e_{(1)} \ge e_{(2)} \ge \dots`, and let
    :math:`J_k` be the Jaccard loss of the set of the first :math:`k` pixels (those
    predicted worst); the extension is :math:`\sum_k e_{(k)} (J_k - J_{k-1})`.  It is
    piecewise linear in the errors, so autodiff through the sort gives its gradient.
    ``foreground`` (0/1 floats) says where the class is present; positions where ``keep``
    is False are sorted last (error -1) and contribute nothing.
    """
    if keep is not None:
        errors = xp.where(keep, errors, -xp.ones_like(errors))
    order = xp.argsort(errors, axis=-1, descending=True, stable=True)
    errors_sorted = xp.take_along_axis(errors, order, axis=-1)
    fg_sorted = xp.take_along_axis(foreground, order, axis=-1)
    positives = xp.sum(fg_sorted, axis=-1, keepdims=True)
    # After k pixels: the intersection still to be covered and the union so far.  The
    # union is >= 1 from the first pixel on, so the division is always defined.
    intersection = positives - xp.cumulative_sum(fg_sorted, axis=-1)
    union = positives + xp.cumulative_sum(1.0 - fg_sorted, axis=-1)
    jaccard_k = 1.0 - intersection / union
    increments = xp.concat([jaccard_k[..., :1], jaccard_k[..., 1:] - jaccard_k[..., :-1]], axis=-1)
    if keep is not None:
        increments = increments * xp.astype(xp.take_along_axis(keep, order, axis=-1), errors.dtype)
    return xp.sum(errors_sorted * increments, axis=-1)


def _flatten_batch(x: Array, batch: bool, xp: Any) -> Array:
    """[B, C, N] -> [B, C, N], or [C, B * N] with ``batch`` (the batch pooled)."""
    if not batch:
        return x
    b, c, n = shape(x)
    return xp.reshape(xp.permute_dims(x, (1, 0, 2)), (c, b * n))


@register_loss(
    tasks=("segmentation", "binary"),
    summary="Lovász hinge loss: a convex surrogate of the binary Jaccard (IoU) loss on scores.",
    options=(
        flag(
            "batch",
            (
                "False (default): one IoU per image, averaged (Berman et al.'s per_image=True); True: "
                "one IoU for the pixels of the whole batch."
            ),
        ),
    ),
)
def lovasz_hinge(
    pred: Array,
    target: Array,
    *,
    batch: bool = False,
    reduction: Reduction = "mean",
    weights: Array | None = None,
) -> Array:
    r"""Lovász hinge loss (Berman et al., 2018) for binary masks.

    With hinge errors :math:`e_i = \max(0,\ 1 - \hat y_i\,(2 y_i - 1))` of the scores
    :math:`\hat y` (logits, not probabilities) and the labels :math:`y \in \{0, 1\}`, the
    loss of a sample is the Lovász extension of its Jaccard loss at :math:`e`:

    .. math::
        \ell_b = \sum_k e_{(k)}\,\bigl(J_k - J_{k-1}\bigr)

    where :math:`e_{(1)} \ge e_{(2)} \ge \dots` are the sorted errors and :math:`J_k` is
    the Jaccard loss when the first :math:`k` of them are the mistakes.  Scores on the
    right side of the margin (:math:`|\hat y| \ge 1`) give 0.  An empty target with every
    score below -1 scores 0; a score above -1 there is a false positive and is pushed down.

    Args:
        pred: real-valued scores (logits), ``[B, ...]``; axis 0 is the batch.
        target: binary labels 0 or 1 of ``pred``'s shape.
        batch: False (default) for one loss per sample; True for one loss over all the
            pixels of the batch.
        {reduction}

    Returns:
        The reduced loss, or for ``"none"`` the per-sample losses ``[B]`` (0-d with
        ``batch=True``).

    Examples:
        >>> import numpy as np, losskit
        >>> scores, labels = np.array([[2.0, -0.5, -3.0]]), np.array([[1.0, 1.0, 0.0]])
        >>> float(losskit.lovasz_hinge(scores, labels))
        0.75
    """
    xp, pred, target = elementwise_inputs(pred, target)
    if pred.ndim == 0:
        raise LossInputError("pred must have a batch axis (axis 0); got a 0-d array")
    _check_target_values(target, True, xp)
    compute = accumulation_dtype(pred, xp)

    def sorted_layout(x: Array) -> Array:
        """[B, ...] -> [B, 1, N] (one class), or [1, B N] with ``batch``."""
        sizes = shape(x)
        flat = xp.reshape(xp.astype(x, compute), (sizes[0], 1, math.prod(sizes[1:])))
        return _flatten_batch(flat, batch, xp)

    scores, labels = sorted_layout(pred), sorted_layout(target)
    # Hinge errors; the negative ones (margin met) are clipped to 0 and contribute nothing.
    errors = xp.clip(1.0 - scores * (2.0 * labels - 1.0), 0.0, None)
    loss = _lovasz_extension(errors, labels, None, xp)[..., 0]
    out = reduce_loss(loss, reduction=reduction, weights=weights, xp=xp)
    return out if out.dtype == pred.dtype else xp.astype(out, pred.dtype)


@register_loss(
    tasks=("segmentation", "multi-class"),
    summary="Lovász-softmax loss: a convex surrogate of the per-class Jaccard (IoU) loss.",
    class_axis="axis",
    options=(
        flag(
            "from_logits",
            (
                "True when pred holds raw scores (a softmax over axis is applied); False (default) "
                "for probabilities."
            ),
        ),
        integer(
            "axis",
            "the class axis: -1 (default) for channels last, 1 for [B, C, H, W].",
            hint="axis must be the class axis of lovasz_softmax; for binary masks use lovasz_hinge",
        ),
        flag(
            "batch",
            (
                "False (default): one IoU per image and class (Berman et al.'s per_image=True); True: "
                "one IoU per class over the whole batch."
            ),
        ),
        SEGMENTATION_CLASS_WEIGHTS,
        EXCLUDE_CLASS,
        SEGMENTATION_IGNORE_INDEX,
    ),
    constraints=(_class_options_need_an_axis,),
)
def lovasz_softmax(
    pred: Array,
    target: Array,
    *,
    from_logits: bool = False,
    axis: int = -1,
    batch: bool = False,
    class_weights: Array | None = None,
    exclude_class: int | None = None,
    ignore_index: int | None = None,
    reduction: Reduction = "mean",
    weights: Array | None = None,
) -> Array:
    r"""Lovász-softmax loss (Berman et al., 2018).

    For each sample :math:`b` and class :math:`c`, the errors :math:`e_i = |[y_i = c] - p_{ic}|`
    are sorted in decreasing order and weighted by the increments of the class's Jaccard
    loss :math:`J_k` when the first :math:`k` pixels are the mistakes:

    .. math:: \ell_{bc} = \sum_k e_{(k)}\,\bigl(J_k - J_{k-1}\bigr)

    Every class counts, present or not (Berman et al.'s ``classes="all"``): a class absent
    from the target scores its largest predicted probability, 0 for an empty prediction,
    and that false positive is pushed down.  Use ``exclude_class`` or ``class_weights`` to
    leave classes out.

    Args:
        pred: probabilities, or logits with ``from_logits=True``; classes on ``axis``,
            axis 0 is the batch.
        target: one-hot labels (0 or 1) of ``pred``'s shape, or integer labels of
            ``pred``'s shape without ``axis``.
        from_logits: apply a softmax over ``axis`` first.
        axis: the class axis (not 0, the batch).
        batch: False (default) for one loss per sample and class; True to pool the pixels
            of the whole batch (one loss per class).
        class_weights: optional non-negative weight per class; ``"mean"`` divides by the
            summed weights.
        exclude_class: a class index left out of the loss (weight 0), such as background.
        ignore_index: a label whose positions are left out (integer labels only).
        {reduction}

    Returns:
        The reduced loss, or for ``"none"`` one loss per sample and class ``[B, C]``
        (``[C]`` with ``batch=True``).

    Examples:
        >>> import numpy as np, losskit
        >>> probs = np.array([[[0.8, 0.2], [0.4, 0.6], [0.3, 0.7]]])  # [B=1, N=3, C=2]
        >>> round(float(losskit.lovasz_softmax(probs, np.array([[0, 1, 1]]))), 4)
        0.3333
    """
    xp = namespace(pred=pred, target=target)  # axis is an int: its declaration refuses None
    target, axis = _check_inputs(
        pred, target, axis=axis, from_logits=from_logits, ignore_index=ignore_index, xp=xp
    )
    w = _class_weights(class_weights, exclude_class, pred, axis, xp)
    check_input_values(
        pred,
        target,
        classes=pred.shape[axis],
        from_logits=from_logits,
        ignore_index=ignore_index,
        xp=xp,
        binary_target=True,
    )
    masks = _masks(
        pred, target, axis=axis, from_logits=from_logits, ignore_index=ignore_index, xp=xp
    )
    p = masks.prob
    if masks.labels is None:
        foreground = masks.target
        errors = xp.abs(foreground - p)
        keep = None
    else:
        hit = masks.foreground()
        foreground = xp.astype(hit, p.dtype)
        # |[y = c] - p| = 1 - p on the class's pixels, p elsewhere (p is in [0, 1]).
        errors = xp.where(hit, 1.0 - p, p)
        keep = (
            None
            if masks.keep is None
            else xp.broadcast_to(masks.with_class_axis(masks.keep), shape(p))
        )

    def sorted_layout(x: Array) -> Array:
        return _flatten_batch(masks.by_class(x), batch, xp)

    errors, foreground = sorted_layout(errors), sorted_layout(foreground)
    if keep is not None:
        keep = sorted_layout(keep)
    loss = _lovasz_extension(errors, foreground, keep, xp)
    return _finish(
        loss, w, binary=False, dtype=pred.dtype, reduction=reduction, weights=weights, xp=xp
    )
