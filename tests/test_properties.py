"""Properties that hold for every loss in the table, checked with hypothesis."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import losskit
from loss_table import CASES


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), scale=st.floats(0.01, 100.0))
@pytest.mark.parametrize("case", [c for c in CASES if c.nonnegative], ids=lambda c: c.name)
def test_nonnegative(case, seed, scale):
    """The unreduced loss is >= 0 on random valid inputs of any scale."""
    rng = np.random.default_rng(seed)
    for sample in case.samples(rng):
        args = list(sample.args)
        if sample.kwargs.get("from_logits") or case.name in (
            "mse",
            "mae",
            "huber",
            "log_cosh",
            "hinge",
            "quantile",
            "smooth_l1",
        ):
            args[0] = args[0] * scale
        out = np.asarray(case.fn(*args, reduction="none", **sample.kwargs))
        assert np.all(out >= -1e-12), (sample, out.min())


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
@pytest.mark.parametrize("case", [c for c in CASES if c.perfect is not None], ids=lambda c: c.name)
def test_zero_at_perfect_prediction(case, seed):
    rng = np.random.default_rng(seed)
    for sample in case.samples(rng):
        perfect = case.perfect(sample)
        out = np.asarray(case.fn(*perfect.args, reduction="none", **perfect.kwargs))
        np.testing.assert_allclose(out, 0.0, atol=1e-12)


@settings(max_examples=50, deadline=None)
@given(
    logits=st.lists(st.floats(-1e4, 1e4), min_size=1, max_size=8),
    labels=st.lists(st.integers(0, 1), min_size=8, max_size=8),
)
def test_logit_and_probability_paths_agree(logits, labels):
    """BCE from logits equals BCE from sigmoid probabilities wherever the latter is exact."""
    x = np.asarray(logits)
    y = np.asarray(labels[: len(logits)], dtype=float)
    from_logits = losskit.binary_cross_entropy(x, y, from_logits=True, reduction="none")
    p = 1 / (1 + np.exp(-np.clip(x, -30, 30)))
    exact = np.abs(x) < 30
    from_probs = losskit.binary_cross_entropy(p, y, reduction="none")
    np.testing.assert_allclose(from_logits[exact], from_probs[exact], rtol=1e-6, atol=1e-9)
    assert np.all(np.isfinite(from_logits))
