"""Options as data: one declaration per keyword option of a loss.

A loss declares each of its options once (:class:`Option`): its kind, its domain and
its description.  The default is the function's own (read from its signature, never
written twice).  From the declaration come

- the checks of every call, run once by the public function before any math;
- the checks when a PyTorch module or a Keras loss is built, without calling the loss;
- the parsing of ``name:option=value`` specs on the command line;
- the option tables of the docs and the CLI.

Float options are *traceable*: they may be a 0-d array, a ``jax.jit`` tracer or a
``torch.compile`` symbolic value.  A concrete value is range-checked; a traced one is
not read (that would force a device sync or fail under tracing).
"""

from __future__ import annotations

import ast
import dataclasses
import math
from collections.abc import Iterable, Mapping
from typing import Any, Literal

import numpy as np

from losskit.core.namespace import is_array, namespace
from losskit.core.validation import (
    check_flag,
    check_in_interval,
    check_option,
    check_values,
)
from losskit.errors import LossInputError

__all__ = [
    "Interval",
    "Option",
    "OptionKind",
    "array_option",
    "check_options",
    "choice",
    "flag",
    "infer_option",
    "integer",
    "real",
]

OptionKind = Literal["real", "integer", "flag", "choice", "array", "any"]
Closed = Literal["both", "left", "right", "neither"]


@dataclasses.dataclass(frozen=True)
class Interval:
    """The numbers between ``low`` and ``high``; ``closed`` says which ends belong."""

    low: float = -math.inf
    high: float = math.inf
    closed: Closed = "both"

    def __str__(self) -> str:
        left = "[" if self.closed in ("both", "left") else "("
        right = "]" if self.closed in ("both", "right") else ")"
        return f"{left}{_number(self.low)}, {_number(self.high)}{right}"


def _number(x: float) -> str:
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return repr(int(x)) if float(x).is_integer() else repr(x)


@dataclasses.dataclass(frozen=True)
class Option:
    """The declaration of one keyword option of a loss.

    ``kind`` is one of

    - ``"real"``: a number in ``domain``; traceable (an array or a traced value also
      works, checked element by element when concrete);
    - ``"integer"``: a Python int in ``domain`` (a bool is not an int here);
    - ``"flag"``: exactly True or False (a string such as ``"False"`` is truthy);
    - ``"choice"``: one of ``choices``;
    - ``"array"``: an array of non-negative finite numbers (a list, a tuple or an array
      of any library); ``per_class`` arrays hold one value per class, are 1-D and are
      stored as buffers by the PyTorch modules;
    - ``"any"``: not checked (options of user-defined losses whose default says nothing).

    ``optional`` admits None.  ``doc`` is the one-line description shown in docstrings,
    the docs' option tables and ``losskit explain``.
    """

    name: str
    kind: OptionKind
    doc: str
    domain: Interval = Interval()
    choices: tuple[Any, ...] = ()
    optional: bool = False
    per_class: bool = False
    #: advice appended to the error for a refused value (where to go instead)
    hint: str = ""

    @property
    def traceable(self) -> bool:
        """Whether the option may be a traced value under ``jax.jit``/``torch.compile``."""
        return self.kind in ("real", "array")

    @property
    def is_array(self) -> bool:
        return self.kind == "array"

    def describe(self) -> str:
        """The option's type and domain in a few words: ``a number in (0, inf)``."""
        kinds = {
            "real": f"a number in {self.domain}",
            "integer": "an int" if self.domain == Interval() else f"an int in {self.domain}",
            "flag": "True or False",
            "choice": "one of " + ", ".join(repr(c) for c in self.choices),
            "array": ("a per-class array" if self.per_class else "an array")
            + " of finite values >= 0",
            "any": "any value",
        }
        text = kinds[self.kind]
        return f"{text} or None" if self.optional else text

    def check(self, value: Any) -> None:
        """Raise :class:`LossInputError` naming the option unless ``value`` is valid."""
        try:
            if value is None:
                if not self.optional:
                    raise LossInputError(f"{self.name} must be {self.describe()}; got None")
                return
            _CHECKS[self.kind](self, value)
        except LossInputError as err:
            if not self.hint:
                raise
            raise LossInputError(f"{err}. {self.hint}") from None

    def parse(self, text: str) -> Any:
        """The value written as ``text`` on the command line (``2``, ``true``, ``giou``,
        ``[1, 2]``, ``none``), checked.  Literals only: nothing is evaluated."""
        text = text.strip()
        keywords = {"true": True, "false": False, "none": None, "null": None}
        if text.lower() in keywords:
            value: Any = keywords[text.lower()]
        elif self.kind == "choice" and text in {str(c) for c in self.choices}:
            value = next(c for c in self.choices if str(c) == text)
        else:
            try:
                # ast.literal_eval only builds literals: it never runs code.
                value = ast.literal_eval(text)
            except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                if self.kind not in ("choice", "any"):
                    raise LossInputError(
                        f"{self.name} must be {self.describe()}; got {text!r}"
                    ) from None
                value = text  # a bare word: a name, checked against the choices below
        if isinstance(value, tuple):
            value = list(value)
        self.check(value)
        return value


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _check_real(option: Option, value: Any) -> None:
    if isinstance(value, (bool, np.bool_)):
        raise LossInputError(f"{option.name} must be a number; got {value!r}")
    if isinstance(value, np.generic):
        value = value.item()
    if not isinstance(value, (int, float)) and not is_array(value):
        # numbers from other libraries (a symbolic float under torch.compile) convert
        if not _is_symbolic_number(value):
            raise LossInputError(f"{option.name} must be a number; got {value!r}")
        return
    domain = option.domain
    check_in_interval(option.name, value, domain.low, domain.high, closed=domain.closed)


def _is_symbolic_number(value: Any) -> bool:
    """A number PyTorch's compiler passes for a Python float (``torch.SymFloat``)."""
    return type(value).__name__ in ("SymFloat", "SymInt")


def _check_integer(option: Option, value: Any) -> None:
    if not (_is_int(value) or _is_symbolic_number(value)):
        raise LossInputError(f"{option.name} must be {option.describe()}; got {value!r}")
    if option.domain != Interval() and not _is_symbolic_number(value):
        domain = option.domain
        check_in_interval(option.name, int(value), domain.low, domain.high, closed=domain.closed)


def _check_flag(option: Option, value: Any) -> None:
    check_flag(option.name, value)


def _check_choice(option: Option, value: Any) -> None:
    check_option(option.name, value, option.choices)


def _check_array(option: Option, value: Any) -> None:
    """A list, tuple or array of finite non-negative numbers; per-class arrays are 1-D.

    The values of a concrete array are read (when value checks are on); a traced one is
    only checked for its shape.
    """
    if is_array(value):
        if option.per_class and value.ndim != 1:
            raise LossInputError(
                f"{option.name} must be a 1-D array with one value per class; got shape "
                f"{tuple(value.shape)}"
            )
        xp = namespace(**{option.name: value})
        if not (xp.isdtype(value.dtype, ("real floating", "integral"))):
            raise LossInputError(
                f"{option.name} must hold real numbers; got an array of dtype {value.dtype}"
            )
        # a value check: skipped while tracing (also when jax.jit stages a concrete array)
        check_values(
            value,
            lambda v: ~xp.all(xp.isfinite(v) & (v >= 0)),
            _NOT_FINITE.format(option.name),
        )
        return
    elif isinstance(value, (list, tuple)) or _is_int(value) or isinstance(value, float):
        try:
            values = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise LossInputError(
                f"{option.name} must be {option.describe()}; got {value!r}"
            ) from None
        if option.per_class and values.ndim != 1:
            raise LossInputError(
                f"{option.name} must be a list with one value per class; got {value!r}"
            )
    else:
        raise LossInputError(f"{option.name} must be {option.describe()}; got {value!r}")
    if values.size and not (np.all(np.isfinite(values)) and np.all(values >= 0)):
        raise LossInputError(_NOT_FINITE.format(option.name))


_NOT_FINITE = "{} must be finite and non-negative; found a negative, infinite or NaN value"


_CHECKS = {
    "real": _check_real,
    "integer": _check_integer,
    "flag": _check_flag,
    "choice": _check_choice,
    "array": _check_array,
    "any": lambda option, value: None,
}


def check_options(declared: Mapping[str, Option], values: Mapping[str, Any]) -> None:
    """Check every value of ``values`` whose option is declared in ``declared``."""
    for name, value in values.items():
        option = declared.get(name)
        if option is not None:
            option.check(value)


# ------------------------------------------------------------------- constructors


def real(
    name: str,
    doc: str,
    low: float = -math.inf,
    high: float = math.inf,
    *,
    closed: Closed = "both",
    optional: bool = False,
) -> Option:
    """A float option in ``[low, high]`` (ends as ``closed`` says); traceable."""
    return Option(name, "real", doc, Interval(low, high, closed), optional=optional)


def integer(
    name: str,
    doc: str,
    low: float = -math.inf,
    high: float = math.inf,
    *,
    optional: bool = False,
    hint: str = "",
) -> Option:
    """An int option (``optional``: or None)."""
    return Option(name, "integer", doc, Interval(low, high), optional=optional, hint=hint)


def flag(name: str, doc: str) -> Option:
    """A True/False option."""
    return Option(name, "flag", doc)


def choice(name: str, choices: Iterable[Any], doc: str) -> Option:
    """An option taking one of ``choices``."""
    return Option(name, "choice", doc, choices=tuple(choices))


def array_option(name: str, doc: str, *, per_class: bool = False) -> Option:
    """An optional array of non-negative finite numbers (None by default)."""
    return Option(name, "array", doc, optional=True, per_class=per_class)


def infer_option(name: str, default: Any) -> Option:
    """The declaration of an undeclared option of a user-defined loss, from its default:
    a bool is a flag, a number a real number; anything else is unchecked."""
    if isinstance(default, bool):
        return flag(name, "")
    if isinstance(default, (int, float)):
        return real(name, "")
    return Option(name, "any", "", optional=True)
