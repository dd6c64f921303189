"""The loss table itself: one entry per built-in loss, and known gaps that name real tests.

The generic tests trust the table; these tests keep the table honest.  A built-in loss
without an entry would go untested, and a gap (:class:`~loss_table.Gap`) naming a test
that was renamed or deleted would mark nothing while still reading as a known gap.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

import losskit
from array_backends import BACKEND_FACTORIES
from loss_table import CASES, CASES_BY_NAME, Gap, LossCase, Sample, Tag
from loss_table.params import (
    BACKEND_PARAMS,
    DTYPE_PARAMS,
    SAMPLE_PARAMS,
    gap_mark,
    known_gap,
    sample_rows,
    samples_of,
)

TESTS = Path(__file__).resolve().parent
FLOATING_DTYPES = ("float16", "bfloat16", "float32", "float64")

# ---------------------------------------------------------------------- entries


def test_every_builtin_loss_has_a_table_entry():
    builtins = {name for name in losskit.available() if losskit.get_loss(name).builtin}
    missing = sorted(builtins - set(CASES_BY_NAME))
    assert not missing, f"built-in losses without a table entry: {missing}"


def test_every_table_entry_is_a_registered_builtin_loss():
    names = [case.name for case in CASES]
    assert len(names) == len(set(names)), "two table entries share a name"
    registered = set(losskit.available())
    unknown = sorted(set(names) - registered)
    assert not unknown, f"table entries naming no registered loss: {unknown}"
    for case in CASES:
        info = losskit.get_loss(case.name)
        assert info.builtin, f"{case.name} is a user-defined loss"
        assert case.fn is info.fn, f"{case.name}'s entry tests another function"


@pytest.mark.parametrize("tag", list(Tag), ids=lambda tag: tag.name)
def test_every_tag_marks_a_sample(tag):
    assert any(tag in row.sample.tags for row in sample_rows()), f"no sample is tagged {tag}"


# ------------------------------------------------------------------ known gaps


def _table_tests() -> dict[str, list[tuple[Path, frozenset[str]]]]:
    """Test functions that take a table entry (an argument named ``case``), by name:
    where each is defined and the names of its arguments.

    Read from the source, so the Keras checks, which only run in subprocesses, count too.
    """
    tests = defaultdict(list)
    for path in sorted(TESTS.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test"):
                arguments = frozenset(a.arg for a in node.args.args)
                if "case" in arguments:
                    tests[node.name].append((path.relative_to(TESTS), arguments))
    return tests


TABLE_TESTS = _table_tests()
GAPS = [
    pytest.param(case, gap, id=f"{case.name}-{gap.test}") for case in CASES for gap in case.gaps
]


def test_table_tests_are_found():
    """The scan sees the harnesses (a broken scan would make every gap check vacuous)."""
    for name in (
        "test_matches_reference",  # tests/test_table.py
        "test_module_agrees_with_function",  # tests/torch/test_modules.py
        "test_float64_agrees_with_generic",  # tests/torch/test_kernel_overrides.py
        "test_agrees_with_function",  # tests/keras/backend_checks.py
    ):
        assert name in TABLE_TESTS, name


def test_table_test_names_are_unique():
    """A gap names its test by function name alone: no two table tests may share one."""
    shared = {name: [str(p) for p, _ in places] for name, places in TABLE_TESTS.items()}
    shared = {name: files for name, files in shared.items() if len(files) > 1}
    assert not shared, f"table tests defined more than once: {shared}"


@pytest.mark.parametrize("case, gap", GAPS)
def test_gap_names_a_table_test(case: LossCase, gap: Gap):
    assert gap.test in TABLE_TESTS, (
        f"{case.name}: gap for {gap.test!r}, which is no test walking the table "
        f"(renamed or deleted?)"
    )
    assert gap.reason.strip(), "a gap gives its reason"
    ((_, arguments),) = TABLE_TESTS[gap.test]
    if gap.backends:
        assert arguments & set(BACKEND_PARAMS), f"{gap.test} takes no backend"
        assert set(gap.backends) <= set(BACKEND_FACTORIES), gap.backends
    if gap.dtypes:
        assert arguments & set(DTYPE_PARAMS), f"{gap.test} takes no dtype"
        assert set(gap.dtypes) <= set(FLOATING_DTYPES), gap.dtypes
    if gap.samples is not None:
        assert arguments & set(SAMPLE_PARAMS), f"{gap.test} takes no sample"
        candidates = [*samples_of(case), *case.extremes(), *case.invalid()]
        assert any(gap.samples(s) for s in candidates), "the gap's sample filter keeps nothing"


def _synthetic_case(*gaps: Gap) -> LossCase:
    return LossCase("synthetic", losskit.mse, lambda *a, **k: None, lambda rng: (), gaps=gaps)


def test_a_gap_covers_the_items_it_names():
    wide = Sample((np.ones(3), np.ones(3)), {"variant": "wide"})
    narrow = Sample((np.ones(3), np.ones(3)), {"variant": "narrow"})
    fails = Gap(
        "test_x",
        "fails in float16 on torch, wide samples",
        backends=("torch",),
        dtypes=("float16",),
        samples=lambda s: s.kwargs["variant"] == "wide",
    )
    case = _synthetic_case(fails)
    item = {"case": case, "sample": wide, "backend": "torch", "dtype": "float16"}
    assert known_gap("test_x", item) is fails
    assert known_gap("test_y", item) is None
    assert known_gap("test_x", {**item, "sample": narrow}) is None
    assert known_gap("test_x", {**item, "dtype": "float32"}) is None
    assert known_gap("test_x", {**item, "backend": "jax"}) is None
    # the extremes test names its backend parameter backend_name; torch dtypes print "torch.*"
    torch = pytest.importorskip("torch")
    item = {"case": case, "sample": wide, "backend_name": "torch", "dtype": torch.float16}
    assert known_gap("test_x", item) is fails
    # a parameter the gap narrows on that the item lacks: not covered
    assert known_gap("test_x", {"case": case, "sample": wide, "dtype": "float16"}) is None


def test_a_known_failure_is_a_strict_xfail_and_a_gap_that_does_not_apply_a_skip():
    xfail = gap_mark(Gap("test_x", "known failure"))
    assert xfail.name == "xfail" and xfail.kwargs == {"strict": True, "reason": "known failure"}
    skip = gap_mark(Gap("test_x", "does not apply", expected_failure=False))
    assert skip.name == "skip" and skip.kwargs == {"reason": "does not apply"}
    assert known_gap("test_x", {"case": "not a table entry"}) is None
