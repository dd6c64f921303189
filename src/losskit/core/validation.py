"""Argument and value checks, with messages that name the argument.

Two kinds of checks:

- *static* checks (shapes, dtypes, option values) always run: they cost nothing and
  never look at array data, so they are safe under ``jax.jit`` and ``torch.compile``;
- *value* checks (probabilities in [0, 1], labels in range, NaN targets) read the data,
  which forces a device sync.  They run only on concrete arrays (they are skipped
  while tracing) and can be switched off for speed with :func:`set_value_checks`,
  the :func:`value_checks` context manager or the environment variable
  ``LOSSKIT_VALUE_CHECKS=0``.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator, Sequence
from typing import Any

import array_api_compat

from losskit.core.namespace import is_traced
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
    "check_same_shape",
    "check_shape",
    "check_values",
    "set_value_checks",
    "value_checks",
    "value_checks_enabled",
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
        if is_traced(value) or not value_checks_enabled() or math.prod(value.shape) == 0:
            return
        xp = array_api_compat.array_namespace(value)
        smallest, largest = xp.min(value), xp.max(value)
        # Inside jax.jit even operations on a concrete array are staged: no value to read.
        if is_traced(smallest):
            return
        low_value, high_value = float(smallest), float(largest)
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
    """Raise unless ``a`` and ``b`` have exactly the same shape (never broadcast)."""
    if tuple(a.shape) != tuple(b.shape):
        raise LossInputError(
            f"{names[1]} must have the same shape as {names[0]} {tuple(a.shape)}; got "
            f"{tuple(b.shape)}. losskit never broadcasts {names[0]} against {names[1]}: "
            "reshape one of them (for example squeeze a trailing axis of size 1)"
        )


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


def check_values(x: Array, bad: Any, message: str) -> None:
    """Raise ``message`` if any element of the boolean array ``bad(x)`` is true.

    Skipped when value checks are off or ``x`` is being traced.
    """
    if not _value_checks or is_traced(x):
        return
    flag = bad(x)
    # Inside jax.jit even operations on concrete arrays are staged: check the result too.
    if is_traced(flag):
        return
    if bool(flag):
        raise LossInputError(message)


def check_probabilities(p: Array, name: str, xp: Any) -> None:
    """Raise if ``p`` has values outside [0, 1] or NaN."""
    check_values(
        p,
        lambda v: xp.any(~((v >= 0) & (v <= 1))),
        f"{name} must hold probabilities in [0, 1] (use from_logits=True for logits); "
        "found values outside that range or NaN",
    )


def check_nonnegative(x: Array, name: str, xp: Any, *, finite: bool = False) -> None:
    """Raise if ``x`` holds a negative value or NaN (or, with ``finite``, an infinity)."""
    if finite:
        check_values(
            x,
            lambda v: xp.any(~((v >= 0) & xp.isfinite(v))),
            f"{name} must be finite and non-negative; found a negative, infinite or NaN value",
        )
        return
    check_values(
        x,
        lambda v: xp.any(~(v >= 0)),
        f"{name} must be non-negative; found a negative or NaN value",
    )


def check_no_nan(x: Array, name: str, xp: Any) -> None:
    """Raise if ``x`` holds NaN."""
    check_values(x, lambda v: xp.any(xp.isnan(v)), f"{name} must not contain NaN")


def check_labels(
    labels: Array, num_classes: int, name: str, xp: Any, ignore_index: Any = None
) -> None:
    """Raise if an integer label (other than ``ignore_index``) is outside [0, num_classes)."""

    def bad(v: Array) -> Array:
        out_of_range = (v < 0) | (v >= num_classes)
        if ignore_index is not None:
            out_of_range = out_of_range & (v != ignore_index)
        return xp.any(out_of_range)

    extra = f" (or ignore_index={ignore_index})" if ignore_index is not None else ""
    check_values(
        labels,
        bad,
        f"{name} must hold class labels in [0, {num_classes}){extra}; found a label outside",
    )
