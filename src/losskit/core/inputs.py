"""Input preparation shared by the losses: namespace, dtype policy and shape checks.

Each helper returns the namespace and the arrays ready for the math, or raises
:class:`~losskit.errors.LossInputError` naming the faulty argument.
"""

from __future__ import annotations

from typing import Any, Literal

from losskit.core.namespace import (
    as_array,
    as_float,
    autocast_to_float32,
    namespace,
    require_floating,
    require_integer,
)
from losskit.core.validation import (
    check_labels,
    check_no_nan,
    check_nonnegative,
    check_normalized_axis,
    check_same_shape,
    check_shape,
    check_values,
    reads_nan_off_loss,
)
from losskit.errors import LossInputError

__all__ = [
    "check_distributions",
    "class_inputs",
    "class_vector",
    "elementwise_inputs",
    "label_inputs",
    "require_classes",
]

Array = Any
NanCheck = Literal["now", "range", "loss"]


def elementwise_inputs(
    pred: Array, target: Array, *, nan_check: NanCheck = "now"
) -> tuple[Any, Array, Array]:
    """Predictions and targets of the same shape; the target is cast to pred's dtype.

    ``nan_check`` says where the target is checked for NaN: ``"now"``, here; ``"range"``,
    by the loss's range check of the target
    (:func:`~losskit.core.validation.check_range`, which fails on NaN), so the data is
    read once; ``"loss"``, for a loss that a NaN target makes NaN, off the reduced loss
    where the backend allows it (PyTorch: ``reduce_loss(..., unchecked_target=target)``,
    no pass over the target), here otherwise.
    """
    xp = namespace(pred=pred, target=target)
    require_floating(pred, "pred", xp)
    check_same_shape(pred, target)
    pred = autocast_to_float32(pred, xp)
    target = as_float(target, pred, "target", xp)
    if nan_check == "now" or (nan_check == "loss" and not reads_nan_off_loss(xp)):
        check_no_nan(target, "target", xp)
    return xp, pred, target


def class_inputs(
    pred: Array, target: Array, axis: int, *, nan_check: NanCheck = "now"
) -> tuple[Any, Array, Array, int]:
    """Class scores and one-hot or probability targets of the same shape, classes on ``axis``
    (``nan_check`` as for :func:`elementwise_inputs`)."""
    xp, pred, target = elementwise_inputs(pred, target, nan_check=nan_check)
    if pred.ndim == 0:
        raise LossInputError("pred must have a class axis; got a 0-d array")
    axis = check_normalized_axis(axis, pred.ndim)
    require_classes(pred, axis)
    return xp, pred, target, axis


def check_distributions(target: Array, axis: int, xp: Any) -> None:
    """Targets of a softmax loss must be distributions along the class axis: each row
    sums to 1 within ``1e-2 + C eps`` (rounding a distribution to bfloat16 moves its sum
    by at most 2^-8, and the sum itself rounds by about C eps).

    The PyTorch modules check this before calling a softmax loss, so that a target is
    never misread along the class axis their defaults choose: a ``[B, H, W]`` binary
    mask given to a module that reads classes on dim 1 is not a distribution along H,
    and is refused.
    """
    if not xp.isdtype(target.dtype, "real floating"):
        target = xp.astype(target, xp.float32)  # integer or boolean masks
    tolerance = 1e-2 + target.shape[axis] * float(xp.finfo(target.dtype).eps)
    check_values(
        target,
        lambda t: xp.any(xp.abs(xp.sum(t, axis=axis) - 1.0) > tolerance),
        f"target must hold distributions: every row must sum to 1 along axis {axis} "
        f"(within {tolerance:.2g}); found one that does not. To leave a row out, give it "
        "weight 0 with weights; binary or multi-label masks go to a sigmoid loss (or "
        "axis=None), integer labels to the sparse losses",
    )


def label_inputs(
    pred: Array, target: Array, axis: int, ignore_index: Any = None
) -> tuple[Any, Array, Array, int]:
    """Class scores and integer labels: ``target`` has pred's shape without ``axis``."""
    xp = namespace(pred=pred, target=target)
    require_floating(pred, "pred", xp)
    require_integer(target, "target", xp)
    if pred.ndim == 0:
        raise LossInputError("pred must have a class axis; got a 0-d array")
    axis = check_normalized_axis(axis, pred.ndim)
    require_classes(pred, axis)
    expected = tuple(s for i, s in enumerate(pred.shape) if i != axis)
    check_shape(target, expected, "target", f"pred's shape {tuple(pred.shape)} without axis {axis}")
    check_labels(target, pred.shape[axis], "target", xp, ignore_index=ignore_index)
    return xp, autocast_to_float32(pred, xp), target, axis


def require_classes(pred: Array, axis: int) -> None:
    """A distribution over no classes has no loss: an empty class axis is an error (an
    empty batch is not)."""
    if pred.shape[axis] == 0:
        raise LossInputError(
            f"pred must have at least one class on axis {axis}; got shape {tuple(pred.shape)}"
        )


def class_vector(value: Any, name: str, pred: Array, axis: int, xp: Any) -> Array:
    """A per-class vector option (class weights, alpha) as an array of length C, shaped to
    broadcast along ``axis`` of ``pred``; its values must be finite and non-negative."""
    vector = as_array(value, pred, name, xp)
    num_classes = pred.shape[axis]
    check_shape(
        vector,
        (num_classes,),
        name,
        f"one value per class: pred has {num_classes} classes on axis {axis}",
    )
    # An infinite weight makes its class's loss inf and the weighted mean inf / inf = NaN.
    check_nonnegative(vector, name, xp, finite=True)
    shape = [1] * pred.ndim
    shape[axis] = num_classes
    return xp.reshape(vector, tuple(shape))
