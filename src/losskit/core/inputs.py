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
    check_normalized_axis,
    check_range,
    check_same_shape,
    check_shape,
    reads_nan_off_loss,
)
from losskit.errors import LossInputError

__all__ = [
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
    broadcast along ``axis`` of ``pred``."""
    vector = as_array(value, pred, name, xp)
    num_classes = pred.shape[axis]
    check_shape(
        vector,
        (num_classes,),
        name,
        f"one value per class: pred has {num_classes} classes on axis {axis}",
    )
    check_range(
        vector,
        0.0,
        None,
        f"{name} must be non-negative; found a negative value",
        xp,
        nan_message=f"{name} must not contain NaN",
    )
    shape = [1] * pred.ndim
    shape[axis] = num_classes
    return xp.reshape(vector, tuple(shape))
