"""pytest parameters built from the loss table, and its known gaps as marks.

Every harness that walks the table (``tests/test_table.py``, ``tests/torch/test_modules.py``,
``tests/torch/test_kernel_overrides.py``, ``tests/keras/backend_checks.py``) takes its
parameters from here: the same samples from the same seeds under the same ids.  The
entries' known gaps (:class:`~loss_table.spec.Gap`) become marks at collection, in
:func:`mark_known_gaps`, on the items of the tests they name, whichever harness holds them.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.util
import zlib
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pytest

from . import CASES, CASES_BY_NAME
from .spec import Gap, Invalid, LossCase, Sample

#: the parameter names under which the harnesses pass a backend, a dtype and a sample
BACKEND_PARAMS = ("backend", "backend_name")
DTYPE_PARAMS = ("dtype",)
SAMPLE_PARAMS = ("sample", "bad")


def rng(*keys: object) -> np.random.Generator:
    """A generator seeded from ``keys``: the same data in every module and process."""
    return np.random.default_rng(zlib.crc32(repr(keys).encode()))


@functools.cache
def _samples_named(name: str) -> tuple[Sample, ...]:
    return tuple(CASES_BY_NAME[name].samples(rng(name)))


def samples_of(case: LossCase) -> tuple[Sample, ...]:
    """The entry's samples, drawn once from a generator seeded by its name."""
    return _samples_named(case.name)


@dataclasses.dataclass(frozen=True, eq=False)
class SampleRow:
    """One sample of one entry, with its position among the entry's samples."""

    case: LossCase
    index: int
    sample: Sample

    @property
    def id(self) -> str:
        return f"{self.case.name}-{self.index}-{self.sample.desc}"

    def param(self) -> Any:
        return pytest.param(self.case, self.sample, id=self.id)


def sample_rows(select: Callable[[LossCase, Sample], bool] | None = None) -> list[SampleRow]:
    """Every (entry, sample) of the table, in table order, those ``select`` keeps."""
    return [
        SampleRow(case, i, sample)
        for case in CASES
        for i, sample in enumerate(samples_of(case))
        if select is None or select(case, sample)
    ]


def sample_params(select: Callable[[LossCase, Sample], bool] | None = None) -> list[Any]:
    """``(case, sample)`` parameters with ids ``name-index-description``."""
    return [row.param() for row in sample_rows(select)]


def extreme_params() -> list[Any]:
    """``(case, sample)`` parameters for the extreme inputs of every entry."""
    return [
        pytest.param(case, sample, id=f"{case.name}-{sample.desc}")
        for case in CASES
        for sample in case.extremes()
    ]


def invalid_params(select: Callable[[LossCase, Invalid], bool] | None = None) -> list[Any]:
    """``(case, bad)`` parameters for the invalid inputs ``select`` keeps."""
    return [
        pytest.param(case, bad, id=f"{case.name}-{bad.desc or bad.match}")
        for case in CASES
        for bad in case.invalid()
        if select is None or select(case, bad)
    ]


def case_params() -> list[Any]:
    """One ``case`` parameter per entry."""
    return [pytest.param(case, id=case.name) for case in CASES]


def peer_params() -> list[Any]:
    """``(case, peer, sample)`` for every peer of every entry, skipped where the peer's
    library is not installed."""
    return [
        pytest.param(
            row.case,
            peer,
            row.sample,
            id=f"{row.case.name}-{peer.name}-{row.index}-{row.sample.desc}",
            marks=pytest.mark.skipif(
                importlib.util.find_spec(peer.requires) is None,
                reason=f"{peer.requires} not installed",
            ),
        )
        for row in sample_rows()
        for peer in row.case.peers
    ]


# ------------------------------------------------------------------ known gaps


def _first(params: dict[str, Any], names: Iterable[str]) -> Any:
    return next((params[n] for n in names if n in params), None)


def _dtype_name(dtype: Any) -> str:
    # torch.float16 prints as "torch.float16"; strings and NumPy dtypes as "float16"
    return str(dtype).removeprefix("torch.")


def gap_applies(gap: Gap, test: str, params: dict[str, Any]) -> bool:
    """Whether ``gap`` covers the item of test function ``test`` with these parameters."""
    if gap.test != test:
        return False
    if gap.backends and _first(params, BACKEND_PARAMS) not in gap.backends:
        return False
    if gap.dtypes:
        dtype = _first(params, DTYPE_PARAMS)
        if dtype is None or _dtype_name(dtype) not in gap.dtypes:
            return False
    if gap.samples is not None:
        sample = _first(params, SAMPLE_PARAMS)
        if sample is None or not gap.samples(sample):
            return False
    return True


def known_gap(test: str, params: dict[str, Any]) -> Gap | None:
    """The gap of the entry in ``params["case"]`` that covers this item, if any."""
    case = params.get("case")
    if not isinstance(case, LossCase):
        return None
    return next((g for g in case.gaps if gap_applies(g, test, params)), None)


def gap_mark(gap: Gap) -> pytest.MarkDecorator:
    if gap.expected_failure:
        return pytest.mark.xfail(strict=True, reason=gap.reason)
    return pytest.mark.skip(reason=gap.reason)


def mark_known_gaps(items: Iterable[pytest.Item]) -> None:
    """Mark every collected item that a table entry records as a known gap
    (call from ``pytest_collection_modifyitems``)."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is None:
            continue
        gap = known_gap(getattr(item, "originalname", item.name), callspec.params)
        if gap is not None:
            item.add_marker(gap_mark(gap))
