"""Argument and value checks, with messages that name the argument.

Two kinds of checks:

- *static* checks (shapes, dtypes, option values) always run: they cost nothing and
  never look at array data, so they are safe under ``jax.jit`` and ``torch.compile``;
- *value* checks (probabilities in [0, 1], labels in range, NaN targets) read the data,
  which forces a device sync.  They run only on concrete arrays (they are skipped
  while tracing) and can be switched off for speed with :func:`set_value_checks`,
  the :func:`value_checks` context manager or the environment variable
  ``LOSSKIT_VALUE_CHECKS=0``.

Most value checks are range checks (:func:`check_range`): they read the smallest and
the largest value, in one pass over the data for PyTorch (``aminmax``), and a NaN fails
them because min and max propagate it.  Only when a check fails is the data read again
to say why (a NaN, or a label that ``ignore_index`` allows).
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator, Sequence
from typing import Any

from losskit.core.namespace import (
    is_tensorflow_namespace,
    is_torch_namespace,
    is_traced,
    namespace,
    stop_gradient,
)
from losskit.errors import LossInputError

__all__ = [
    "check_broadcastable",
    "check_in_interval",
    "check_labels",
    "check_no_nan",
    "check_nonnegative",
    "check_normalized_axis",
    "check_option",
    "check_probabilities",
    "check_range",
    "check_same_shape",
    "check_shape",
    "check_values",
    "reads_nan_off_loss",
    "reads_values",
    "set_value_checks",
    "value_checks",
    "value_checks_enabled",
    "value_range",
]

Array = Any

_value_checks = os.environ.get("LOSSKIT_VALUE_CHECKS", "1").lower() not in ("0", "false", "no")


def set_value_checks(enabled: bool) -> None:
    """Turn the data-dependent checks on or off globally (they are on by default)."""
    global _value_checks
    _value_checks = bool(enabled)


def value_checks_enabled() -> bool:
    """Whether data-dependent checks run."""
    return _value_checks


@contextlib.contextmanager
def value_checks(enabled: bool) -> Iterator[None]:
    """Context manager that turns the data-dependent checks on or off inside a block."""
    previous = _value_checks
    set_value_checks(enabled)
    try:
        yield
    finally:
        set_value_checks(previous)


# ---------------------------------------------------------------------------- static


def check_option(name: str, value: Any, allowed: Sequence[Any]) -> None:
    """Raise unless ``value`` is one of ``allowed``."""
    if value not in allowed:
        choices = ", ".join(repr(a) for a in allowed)
        raise LossInputError(f"{name} must be one of {choices}; got {value!r}")


def check_flag(name: str, value: Any) -> None:
    """Raise unless ``value`` is exactly True or False: a string such as ``"False"`` is
    truthy and would silently select the other branch."""
    if not isinstance(value, bool):
        raise LossInputError(f"{name} must be True or False; got {value!r}")


def check_ignore_index(ignore_index: Any, *, optional: bool = True) -> None:
    """Raise unless ``ignore_index`` is an int (a bool is not), or None when ``optional``."""
    if optional and ignore_index is None:
        return
    if not isinstance(ignore_index, int) or isinstance(ignore_index, bool):
        expected = "an int or None" if optional else "an int"
        raise LossInputError(f"ignore_index must be {expected}; got {ignore_index!r}")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_in_interval(
    name: str,
    value: Any,
    low: float = -math.inf,
    high: float = math.inf,
    *,
    closed: str = "both",
) -> None:
    """Raise unless ``value`` (a Python number, or every element of an array) lies in the
    interval.

    ``closed`` is ``"both"``, ``"left"``, ``"right"`` or ``"neither"``.  An array given as
    a hyper-parameter is checked like the data: element by element when it is concrete
    and value checks are on, not at all while it is traced.
    """
    if not _is_number(value):
        if not hasattr(value, "shape"):
            raise LossInputError(f"{name} must be a number; got {type(value).__name__}")
        ends = value_range(value, namespace(**{name: value}))
        if ends is None:
            return
        low_value, high_value = ends
        # NaN propagates through min and max, so one of the two ends fails below
        _check_interval(name, low_value, low, high, closed)
        _check_interval(name, high_value, low, high, closed)
        return
    _check_interval(name, value, low, high, closed)


def _check_interval(name: str, value: float, low: float, high: float, closed: str) -> None:
    ok_low = value >= low if closed in ("both", "left") else value > low
    ok_high = value <= high if closed in ("both", "right") else value < high
    # value == value is False only for NaN; unlike math.isnan it also takes the symbolic
    # floats torch.compile passes once an option has taken a second value
    if not (ok_low and ok_high and value == value):
        left = "[" if closed in ("both", "left") else "("
        right = "]" if closed in ("both", "right") else ")"
        raise LossInputError(f"{name} must lie in {left}{low}, {high}{right}; got {value!r}")


def check_same_shape(a: Array, b: Array, names: tuple[str, str] = ("pred", "target")) -> None:
    """Raise unless ``a`` and ``b`` have exactly the same shape (never broadcast).

    Sizes known only at run time (None: TensorFlow inside ``tf.function``) are compared
    when the graph runs, by an assertion (XLA drops assertions: there they go unchecked).
    """
    message = (
        f"{names[1]} must have the same shape as {names[0]} {tuple(a.shape)}; got "
        f"{tuple(b.shape)}. losskit never broadcasts {names[0]} against {names[1]}: "
        "reshape one of them (for example squeeze a trailing axis of size 1)"
    )
    if tuple(a.shape) != tuple(b.shape):
        raise LossInputError(message)
    if None in tuple(a.shape):
        xp = namespace(**dict(zip(names, (a, b), strict=True)))
        if is_tensorflow_namespace(xp):
            xp.assert_same_shape(a, b, message)


def check_shape(x: Array, expected: tuple[int, ...], name: str, why: str) -> None:
    """Raise unless ``x.shape == expected``; ``why`` explains where ``expected`` comes from."""
    if tuple(x.shape) != tuple(expected):
        raise LossInputError(
            f"{name} must have shape {tuple(expected)} ({why}); got {tuple(x.shape)}"
        )


def check_broadcastable(x: Array, shape: tuple[int, ...], name: str, what: str) -> None:
    """Raise unless ``x`` broadcasts to ``shape`` without enlarging it."""
    xshape = tuple(x.shape)
    fits = len(xshape) <= len(shape) and all(
        a in (1, b) for a, b in zip(reversed(xshape), reversed(shape), strict=False)
    )
    if not fits:
        raise LossInputError(
            f"{name} must be broadcastable to {what} {tuple(shape)} without enlarging it; "
            f"got shape {xshape}"
        )


def check_normalized_axis(axis: Any, ndim: int, name: str = "axis") -> int:
    """Return ``axis`` as a non-negative index into an array of ``ndim`` dimensions."""
    if not isinstance(axis, int) or isinstance(axis, bool):
        raise LossInputError(f"{name} must be an int; got {axis!r}")
    if not -ndim <= axis < ndim:
        raise LossInputError(
            f"{name}={axis} is out of range for predictions with {ndim} dimensions"
        )
    return axis % ndim


# ----------------------------------------------------------------------------- value


def reads_values(x: Array) -> bool:
    """Whether the value checks read ``x``'s data: they are on and ``x`` is concrete
    (not traced: not inside ``jax.jit``, ``torch.compile`` or ``tf.function``, with or
    without XLA; see :func:`~losskit.core.namespace.is_traced`)."""
    return _value_checks and not is_traced(x)


def check_values(x: Array, bad: Any, message: str) -> None:
    """Raise ``message`` if any element of the boolean array ``bad(x)`` is true.

    Skipped when value checks are off or ``x`` is being traced.
    """
    if not reads_values(x):
        return
    flag = bad(x)
    # Inside jax.jit or tf.function even operations on concrete arrays are staged:
    # check the result too.
    if is_traced(flag):
        return
    if bool(flag):
        raise LossInputError(message)


def value_range(x: Array, xp: Any) -> tuple[float, float] | None:
    """The smallest and largest value of ``x``, as Python numbers (NaN when ``x`` holds a
    NaN: min and max propagate it); None when value checks do not read ``x`` (they are
    off, ``x`` is traced or empty).

    PyTorch reads both in one pass (``aminmax``), other libraries in two.
    """
    if not reads_values(x) or math.prod(x.shape) == 0:
        return None
    x = stop_gradient(x, xp)  # a check records no graph (and draws no autograd warning)
    if is_torch_namespace(xp):
        low, high = x.aminmax()
    else:
        low, high = xp.min(x), xp.max(x)
    # Inside jax.jit or tf.function even operations on concrete arrays are staged: nothing to read.
    if is_traced(low):
        return None
    number = float if xp.isdtype(x.dtype, "real floating") else int
    return number(low), number(high)


def check_range(
    x: Array,
    low: float | None,
    high: float | None,
    message: str,
    xp: Any,
    *,
    nan_message: str | None = None,
) -> None:
    """Raise ``message`` unless every value of ``x`` lies in ``[low, high]`` (None: no
    bound); a NaN fails too, with ``nan_message`` when given.  One pass over the data
    (:func:`value_range`); skipped like every value check."""
    ends = value_range(x, xp)
    if ends is None:
        return
    smallest, largest = ends
    if smallest != smallest or largest != largest:  # NaN
        raise LossInputError(nan_message or message)
    if (low is not None and smallest < low) or (high is not None and largest > high):
        raise LossInputError(message)


def check_probabilities(p: Array, name: str, xp: Any) -> None:
    """Raise if ``p`` has values outside [0, 1] or NaN."""
    check_range(
        p,
        0.0,
        1.0,
        f"{name} must hold probabilities in [0, 1] (use from_logits=True for logits); "
        "found values outside that range or NaN",
        xp,
    )


def check_nonnegative(x: Array, name: str, xp: Any, *, finite: bool = False) -> None:
    """Raise if ``x`` holds a negative value or NaN (or, with ``finite``, an infinity)."""
    if finite:
        largest = float(xp.finfo(x.dtype).max) if xp.isdtype(x.dtype, "real floating") else None
        check_range(
            x,
            0.0,
            largest,
            f"{name} must be finite and non-negative; found a negative, infinite or NaN value",
            xp,
        )
        return
    check_range(x, 0.0, None, f"{name} must be non-negative; found a negative or NaN value", xp)


def check_no_nan(x: Array, name: str, xp: Any) -> None:
    """Raise if ``x`` holds NaN."""
    check_range(x, None, None, f"{name} must not contain NaN", xp)


def check_no_nan_via(result: Array, x: Array, name: str, xp: Any) -> None:
    """:func:`check_no_nan` of ``x``, read off ``result``: a reduction of a loss that is
    NaN wherever ``x`` is NaN.  A result that is not NaN proves ``x`` has none, so ``x``
    itself is read only when the result is NaN (a NaN prediction does that too)."""
    if not reads_values(result):
        return
    flag = xp.isnan(result)
    if not is_traced(flag) and bool(flag):
        check_no_nan(x, name, xp)


def reads_nan_off_loss(xp: Any) -> bool:
    """Whether the NaN check of a target that makes its loss NaN is read off the reduced
    loss (:func:`check_no_nan_via`) rather than made on the target up front: with
    PyTorch, which then makes no pass over the target; not with other libraries (NumPy
    warns while computing with a NaN)."""
    return is_torch_namespace(xp)


def check_labels(
    labels: Array, num_classes: int, name: str, xp: Any, ignore_index: Any = None
) -> None:
    """Raise if an integer label (other than ``ignore_index``) is outside [0, num_classes).
    Skipped like every value check: while tracing, ``num_classes`` may be unknown."""
    if not reads_values(labels):
        return
    extra = f" (or ignore_index={ignore_index})" if ignore_index is not None else ""
    message = f"{name} must hold class labels in [0, {num_classes}){extra}; found a label outside"
    if ignore_index is None:
        check_range(labels, 0, num_classes - 1, message, xp)
        return
    ends = value_range(labels, xp)
    if ends is None or (ends[0] >= 0 and ends[1] < num_classes):
        return
    # Out of range, or ignored: look at the labels that are not ignored.
    check_values(
        labels,
        lambda v: xp.any(((v < 0) | (v >= num_classes)) & (v != ignore_index)),
        message,
    )
