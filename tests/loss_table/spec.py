"""The shape of a test-table entry, in the spirit of PyTorch's OpInfo.

One :class:`LossCase` per loss: the function, an independent float64 NumPy reference,
sample inputs covering every option, peers that share losskit's convention, extreme
inputs, invalid inputs with the error they must raise, properties, and known gaps
recorded as data with reasons.  The generic tests in ``tests/test_table.py`` walk
every entry across backends, dtypes and reductions.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

REDUCTIONS = ("none", "mean", "sum")


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
    #: known gaps of this sample only: test name -> reason (see LossCase.skips)
    skips: dict[str, str] = dataclasses.field(default_factory=dict)

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
    #: known gaps: test name -> reason (the test is skipped with that reason)
    skips: dict[str, str] = dataclasses.field(default_factory=dict)

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
