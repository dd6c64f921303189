"""The checks of the linear cross-entropy losses (an output layer fused with its loss),
shared by PyTorch's and JAX's kernels and the vocabulary-parallel loss.

The kernels take ``hidden [..., H]``, ``weight [V, H]``, an optional ``bias [V]``,
integer labels of hidden's shape without its last axis and optional per-token
``weights``; each framework passes its array type and name so that a message says
``torch.Tensor`` or ``jax.Array``.
"""

from __future__ import annotations

import math
from typing import Any

from array_api_compat import device

from losskit.core.reduction import check_reduction
from losskit.core.validation import check_ignore_index, check_in_interval, check_nonnegative
from losskit.errors import LossInputError

__all__ = ["check_head_inputs", "check_head_options", "check_logit_options", "check_token_weights"]


def check_logit_options(label_smoothing: Any, z_loss: Any, softcap: Any) -> dict[str, float | None]:
    """Raise unless the cross-entropy kernel's options are valid; return them as its
    keyword arguments, Python floats."""
    check_in_interval("label_smoothing", label_smoothing, 0.0, 1.0, closed="left")
    check_in_interval("z_loss", z_loss, 0.0, math.inf, closed="left")
    if softcap is not None:
        check_in_interval("softcap", softcap, 0.0, math.inf, closed="neither")
    return {
        "label_smoothing": float(label_smoothing),
        "z_loss": float(z_loss),
        "softcap": None if softcap is None else float(softcap),
    }


def check_head_options(
    ignore_index: Any,
    label_smoothing: Any,
    z_loss: Any,
    softcap: Any,
    reduction: Any,
    chunk_size: Any,
) -> dict[str, float | None]:
    """Raise unless every option is valid; return the kernel's (see
    :func:`check_logit_options`)."""
    check_ignore_index(ignore_index, optional=False)
    options = check_logit_options(label_smoothing, z_loss, softcap)
    check_reduction(reduction)
    if chunk_size is not None and (
        not isinstance(chunk_size, int) or isinstance(chunk_size, bool) or chunk_size < 1
    ):
        raise LossInputError(f"chunk_size must be a positive int or None; got {chunk_size!r}")
    return options


def _check_type(x: Any, name: str, array_type: type, type_name: str) -> None:
    if not isinstance(x, array_type):
        raise LossInputError(f"{name} must be a {type_name}; got {type(x).__name__}")


def _same_device(a: Any, b: Any) -> bool:
    """Whether two arrays are on one device (a traced JAX array has none: not checked)."""
    first, second = device(a), device(b)
    return first is None or second is None or first == second


def check_head_inputs(
    hidden: Any,
    weight: Any,
    target: Any,
    bias: Any,
    *,
    xp: Any,
    array_type: type,
    type_name: str,
    weight_block: bool = False,
) -> None:
    """Raise unless hidden ``[..., H]``, weight ``[V, H]``, bias ``[V]`` and integer labels
    of hidden's shape without its last axis fit together (dtype and device included).

    ``weight_block``: weight is one rank's block of rows of the output layer (the
    vocabulary-parallel loss), which must not be empty.
    """
    for name, x in (("hidden", hidden), ("weight", weight), ("target", target)):
        _check_type(x, name, array_type, type_name)
    if not xp.isdtype(hidden.dtype, "real floating") or hidden.ndim == 0:
        raise LossInputError(
            f"hidden must be a floating {type_name} of shape [..., hidden_size]; "
            f"got dtype {hidden.dtype} and shape {tuple(hidden.shape)}"
        )
    width = hidden.shape[-1]
    if weight_block and (weight.ndim != 2 or weight.shape[1] != width or weight.shape[0] == 0):
        raise LossInputError(
            f"weight must be this rank's non-empty block [V_r, {width}] of the output weight; "
            f"got shape {tuple(weight.shape)}"
        )
    if weight.ndim != 2 or weight.shape[1] != width:
        raise LossInputError(
            f"weight must have shape [num_classes, {width}] (hidden_size = hidden.shape[-1]); "
            f"got {tuple(weight.shape)}"
        )
    if bias is not None:
        _check_type(bias, "bias", array_type, type_name)
        if tuple(bias.shape) != (weight.shape[0],):
            raise LossInputError(
                f"bias must have shape ({weight.shape[0]},) (one value per row of weight); "
                f"got {tuple(bias.shape)}"
            )
    if not xp.isdtype(target.dtype, "integral"):
        raise LossInputError(f"target must hold integer class labels; got dtype {target.dtype}")
    if tuple(target.shape) != tuple(hidden.shape[:-1]):
        raise LossInputError(
            f"target must have shape {tuple(hidden.shape[:-1])} (hidden's shape without its "
            f"last axis); got {tuple(target.shape)}"
        )
    # weight and bias in hidden's dtype, and everything on hidden's device
    for name, x in (("weight", weight), ("bias", bias)):
        if x is not None and x.dtype != hidden.dtype:
            raise LossInputError(f"{name} must have hidden's dtype {hidden.dtype}; got {x.dtype}")
    for name, x in (("weight", weight), ("target", target), ("bias", bias)):
        if x is not None and not _same_device(x, hidden):
            raise LossInputError(
                f"{name} must be on hidden's device {device(hidden)}; got {device(x)}"
            )


def check_token_weights(
    weights: Any, target: Any, *, xp: Any, array_type: type, type_name: str, values: bool
) -> None:
    """Raise unless ``weights`` is None or floating per-token weights of ``target``'s
    shape on its device; with ``values``, also finite and non-negative (an infinite
    weight would make the weighted mean inf / inf = NaN)."""
    if weights is None:
        return
    _check_type(weights, "weights", array_type, type_name)
    if not xp.isdtype(weights.dtype, "real floating"):
        raise LossInputError(f"weights must be a floating {type_name}; got dtype {weights.dtype}")
    if tuple(weights.shape) != tuple(target.shape):
        raise LossInputError(
            f"weights must have target's shape {tuple(target.shape)} (one weight per token); "
            f"got {tuple(weights.shape)}"
        )
    if not _same_device(weights, target):
        raise LossInputError(
            f"weights must be on target's device {device(target)}; got {device(weights)}"
        )
    if values:
        check_nonnegative(weights, "weights", xp, finite=True)
