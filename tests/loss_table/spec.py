"""The shape of a test-table entry, in the spirit of PyTorch's OpInfo.

One :class:`LossCase` per loss: the function, an independent float64 NumPy reference,
sample inputs covering every option, peers that share losskit's convention, extreme
inputs, invalid inputs with the error they must raise, properties, and known gaps
recorded as data (:class:`Gap`, after OpInfo's ``DecorateInfo``).  The generic tests
in ``tests/test_table.py`` walk every entry across backends, dtypes and reductions;
``loss_table.params`` builds the parameters of every harness that walks the table.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

REDUCTIONS = ("none", "mean", "sum")


class Tag(enum.Enum):
    """What a sample is, for the table entries and tests that select samples."""

    #: a mode of the input handling all overlap losses share (binary soft targets,
    #: all-background labels, ignore_index naming a class): only dice walks these
    SHARED_OVERLAP_MODE = enum.auto()
    #: boxes with inverted corners or zero area
    DEGENERATE_BOXES = enum.auto()


@dataclasses.dataclass
class Sample:
    """One call: positional arrays (float64 or int64 NumPy) and keyword options.

    NumPy arrays inside ``kwargs`` (class weights, pos_weight) are converted to the
    backend under test like the positional arrays.
    """

    args: tuple[np.ndarray, ...]
    kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    desc: str = ""
    #: positions of the arguments to differentiate
    grad_args: tuple[int, ...] = (0,)
    #: whether "mean" is the plain mean of "none" (False when the loss normalises by
    #: internal weights: class weights, ignored targets)
    plain_mean: bool = True
    tags: frozenset[Tag] = frozenset()

    @property
    def has_empty_grad_arg(self) -> bool:
        """Whether an argument to differentiate has no elements."""
        return any(self.args[i].size == 0 for i in self.grad_args)

    def __repr__(self) -> str:
        return self.desc or f"Sample({', '.join(str(a.shape) for a in self.args)}, {self.kwargs})"


@dataclasses.dataclass
class Peer:
    """Another library's implementation of the same convention.

    ``fn(sample, reduction)`` returns the peer's value as a float64 NumPy array, or
    None when the peer has no equivalent for that sample (it is then skipped).
    """

    name: str
    requires: str  # module that must be importable
    fn: Callable[[Sample, str], Any]
    rtol: float = 1e-10


@dataclasses.dataclass
class Invalid:
    """An input that must raise ``LossInputError`` whose message contains ``match``."""

    args: tuple[np.ndarray, ...]
    kwargs: dict[str, Any]
    match: str
    desc: str = ""
    #: the check reads array values (a label out of range, a probability above 1, a
    #: negative weight): it is skipped while tracing and by ``losskit.value_checks(False)``;
    #: every other check (shapes, dtypes, options) always runs
    value_check: bool = False


@dataclasses.dataclass(frozen=True)
class Gap:
    """A known gap of one table entry in one test that walks the table.

    ``test`` is the name of the test function; ``tests/test_table_entries.py`` checks that
    it exists and walks the table, so renaming or deleting the test fails there.  The gap
    covers that test's items for the entry, narrowed to ``backends``, ``dtypes`` (names
    such as ``"float16"``) and the samples for which ``samples(sample)`` is true.

    A known failure (``expected_failure=True``, the default) runs as
    ``xfail(strict=True)``: the suite fails once the gap closes and the entry must drop
    it.  A test that does not apply (``expected_failure=False``) is skipped.
    """

    test: str
    reason: str
    expected_failure: bool = True
    backends: tuple[str, ...] = ()
    dtypes: tuple[str, ...] = ()
    samples: Callable[[Sample], bool] | None = None


@dataclasses.dataclass
class LossCase:
    name: str
    fn: Callable[..., Any]
    #: reference(*args, reduction=..., weights=..., **kwargs) -> float64 NumPy value
    reference: Callable[..., Any]
    samples: Callable[[np.random.Generator], Iterable[Sample]]
    #: finite inputs at the edge of the domain (huge logits, probabilities 0 and 1);
    #: loss and gradients must stay finite in every floating dtype
    extremes: Callable[[], Iterable[Sample]] = lambda: ()
    invalid: Callable[[], Iterable[Invalid]] = lambda: ()
    peers: tuple[Peer, ...] = ()
    #: given a sample, a prediction for which the loss is exactly zero (or None)
    perfect: Callable[[Sample], Sample] | None = None
    nonnegative: bool = True
    gaps: tuple[Gap, ...] = ()

    def __repr__(self) -> str:
        return self.name


# ------------------------------------------------------------------ reference helpers


def reference_reduce(
    loss: np.ndarray,
    reduction: str,
    weights: np.ndarray | None = None,
    norm: np.ndarray | None = None,
) -> np.ndarray:
    """losskit's documented reduction, written out in plain NumPy float64."""
    loss = np.asarray(loss, dtype=np.float64)
    w = np.ones_like(loss) if weights is None else np.broadcast_to(weights, loss.shape)
    n = np.ones_like(loss) if norm is None else np.broadcast_to(norm, loss.shape)
    if reduction == "none":
        return w * loss
    if reduction == "sum":
        return np.sum(w * loss)
    denominator = np.sum(w * n)
    return np.float64(0.0) if denominator == 0 else np.sum(w * loss) / denominator


def rng_probs(rng: np.random.Generator, shape: tuple[int, ...], axis: int = -1) -> np.ndarray:
    """Random probability vectors along ``axis``."""
    x = rng.uniform(0.05, 1.0, size=shape)
    return x / x.sum(axis=axis, keepdims=True)


def one_hot(labels: np.ndarray, num_classes: int, axis: int = -1) -> np.ndarray:
    out = np.eye(num_classes)[labels]
    return np.moveaxis(out, -1, axis)
