"""Generic tests: every entry of the loss table, on every backend.

Each test walks the table (``loss_table.CASES``, parameters from ``loss_table.params``);
adding a loss adds its entry and these tests cover it.  Known gaps are data
(``LossCase.gaps``), turned into marks on the tests they name by ``tests/conftest.py``.
"""

from __future__ import annotations

import re

import array_api_compat
import numpy as np
import pytest

import losskit
from array_backends import AVAILABLE, HAS_JAX, HAS_TORCH, backend_params, get_backend
from loss_table import REDUCTIONS, LossCase, Sample
from loss_table.params import (
    extreme_params,
    invalid_params,
    peer_params,
    rng,
    sample_params,
)

SAMPLE_PARAMS = sample_params()


def _call(case: LossCase, sample: Sample, backend, **extra):
    args = [backend.convert(a) for a in sample.args]
    kwargs = {k: backend.convert(v) for k, v in {**sample.kwargs, **extra}.items()}
    return case.fn(*args, **kwargs)


def _weights_for(case: LossCase, sample: Sample) -> np.ndarray:
    shape = np.shape(case.reference(*sample.args, reduction="none", **sample.kwargs))
    return rng(case.name, "weights", shape).uniform(0.0, 2.0, size=shape)


# ------------------------------------------------------------------------ values


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("case, sample", SAMPLE_PARAMS)
def test_matches_reference(case, sample, reduction, weighted, backend):
    """Agreement with the float64 NumPy reference, to float64 precision."""
    weights = _weights_for(case, sample) if weighted else None
    expected = case.reference(*sample.args, reduction=reduction, weights=weights, **sample.kwargs)
    extra = {"reduction": reduction} | ({"weights": weights} if weighted else {})
    out = _call(case, sample, backend, **extra)
    assert array_api_compat.array_namespace(out).__name__.endswith(backend.namespace_name), (
        array_api_compat.array_namespace(out)
    )
    got = backend.to_numpy(out)
    assert got.shape == np.shape(expected)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("case, sample", SAMPLE_PARAMS)
def test_reductions_are_consistent(case, sample):
    """sum(none) == sum and, where the mean is plain, mean(none) == mean."""
    none = np.asarray(case.fn(*sample.args, reduction="none", **sample.kwargs))
    total = np.asarray(case.fn(*sample.args, reduction="sum", **sample.kwargs))
    mean = np.asarray(case.fn(*sample.args, reduction="mean", **sample.kwargs))
    np.testing.assert_allclose(none.sum(), total, rtol=1e-12, atol=1e-12)
    if sample.plain_mean:
        expected = none.mean() if none.size else 0.0
        np.testing.assert_allclose(expected, mean, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case, peer, sample", peer_params())
def test_matches_peer(case, peer, sample, reduction):
    """Agreement with PyTorch / optax / Keras wherever their convention is losskit's."""
    expected = peer.fn(sample, reduction)
    if expected is None:
        pytest.skip(f"{peer.name} has no equivalent of this sample")
    got = case.fn(*sample.args, reduction=reduction, **sample.kwargs)
    np.testing.assert_allclose(
        np.asarray(got), np.asarray(expected, dtype=np.float64), rtol=peer.rtol, atol=1e-10
    )


# ----------------------------------------------------------------------- dtypes


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case, sample", SAMPLE_PARAMS)
def test_keeps_dtype_and_namespace(case, sample, dtype, backend):
    """Floating inputs keep their dtype (no silent float64); integer labels stay integer."""
    xp = array_api_compat.array_namespace(backend.asarray(np.zeros(1)))
    target_dtype = getattr(xp, dtype)
    args = [
        xp.astype(backend.asarray(a), target_dtype) if a.dtype.kind == "f" else backend.asarray(a)
        for a in sample.args
    ]
    kwargs = {k: backend.convert(v) for k, v in sample.kwargs.items()}
    for reduction in REDUCTIONS:
        out = case.fn(*args, reduction=reduction, **kwargs)
        assert out.dtype == target_dtype, (reduction, out.dtype)
        assert array_api_compat.array_namespace(out) is array_api_compat.array_namespace(args[0])
        expected = case.reference(*sample.args, reduction=reduction, **sample.kwargs)
        tol = 1e-4 if dtype == "float32" else 1e-10
        np.testing.assert_allclose(backend.to_numpy(out), expected, rtol=tol, atol=tol)


# -------------------------------------------------------------------- gradients


@pytest.mark.skipif(not HAS_TORCH, reason="torch not installed")
@pytest.mark.parametrize("case, sample", SAMPLE_PARAMS)
def test_torch_gradcheck(case, sample):
    """Analytic gradients (and second derivatives) agree with finite differences."""
    import torch

    if sample.has_empty_grad_arg:
        pytest.skip("empty input")
    args = [torch.from_numpy(np.ascontiguousarray(a)) for a in sample.args]
    kwargs = {
        k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v for k, v in sample.kwargs.items()
    }
    inputs = tuple(args[i].requires_grad_() for i in sample.grad_args)

    def f(*diff):
        full = list(args)
        for i, d in zip(sample.grad_args, diff, strict=True):
            full[i] = d
        return case.fn(*full, reduction="sum", **kwargs)

    assert torch.autograd.gradcheck(f, inputs, eps=1e-6, atol=1e-5, rtol=1e-4)


@pytest.mark.skipif(not HAS_JAX, reason="jax not installed")
@pytest.mark.parametrize("case, sample", SAMPLE_PARAMS)
def test_jax_check_grads(case, sample):
    import jax
    import jax.numpy as jnp
    from jax.test_util import check_grads

    if sample.has_empty_grad_arg:
        pytest.skip("empty input")
    args = [jnp.asarray(a) for a in sample.args]
    kwargs = {
        k: jnp.asarray(v) if isinstance(v, np.ndarray) else v for k, v in sample.kwargs.items()
    }

    def f(*diff):
        full = list(args)
        for i, d in zip(sample.grad_args, diff, strict=True):
            full[i] = jnp.asarray(d)  # check_grads perturbs with NumPy arrays
        return case.fn(*full, reduction="mean", **kwargs)

    # Under jit the many finite-difference evaluations reuse one compilation.
    check_grads(
        jax.jit(f), tuple(args[i] for i in sample.grad_args), order=1, modes=["rev"], eps=1e-6
    )


@pytest.mark.skipif(not HAS_JAX, reason="jax not installed")
@pytest.mark.parametrize("case, sample", SAMPLE_PARAMS)
def test_under_jax_jit(case, sample):
    """Every loss traces under jax.jit and gives the eager result."""
    import jax
    import jax.numpy as jnp

    args = [jnp.asarray(a) for a in sample.args]
    kwargs = {
        k: jnp.asarray(v) if isinstance(v, np.ndarray) else v for k, v in sample.kwargs.items()
    }
    for reduction in REDUCTIONS:
        jitted = jax.jit(lambda *a, r=reduction: case.fn(*a, reduction=r, **kwargs))
        np.testing.assert_allclose(
            np.asarray(jitted(*args)),
            np.asarray(case.fn(*args, reduction=reduction, **kwargs)),
            rtol=1e-12,
            atol=1e-12,
        )


# --------------------------------------------------------------------- extremes


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
@pytest.mark.parametrize("backend_name", backend_params(("torch", "jax")))
@pytest.mark.parametrize("case, sample", extreme_params())
def test_finite_at_extremes(case, sample, backend_name, dtype):
    """Loss and gradient stay finite for huge logits, probabilities 0 and 1, low precision."""
    if backend_name == "torch":
        import torch

        dt = getattr(torch, dtype)
        args = [
            torch.tensor(a, dtype=dt) if a.dtype.kind == "f" else torch.from_numpy(a)
            for a in sample.args
        ]
        for i in sample.grad_args:
            args[i].requires_grad_()
        kwargs = {
            k: torch.tensor(v, dtype=dt) if isinstance(v, np.ndarray) else v
            for k, v in sample.kwargs.items()
        }
        for reduction in ("mean", "sum"):
            out = case.fn(*args, reduction=reduction, **kwargs)
            assert out.dtype == dt
            grads = torch.autograd.grad(out, [args[i] for i in sample.grad_args])
            assert torch.isfinite(out.float()).all(), out
            for g in grads:
                assert torch.isfinite(g.float()).all(), g
    else:
        import jax
        import jax.numpy as jnp

        dt = getattr(jnp, dtype)
        args = [
            jnp.asarray(a, dtype=dt) if a.dtype.kind == "f" else jnp.asarray(a) for a in sample.args
        ]
        kwargs = {
            k: jnp.asarray(v, dtype=dt) if isinstance(v, np.ndarray) else v
            for k, v in sample.kwargs.items()
        }

        def f(*diff):
            full = list(args)
            for i, d in zip(sample.grad_args, diff, strict=True):
                full[i] = d
            return case.fn(*full, reduction="mean", **kwargs)

        value, grads = jax.jit(jax.value_and_grad(f, argnums=tuple(range(len(sample.grad_args)))))(
            *[args[i] for i in sample.grad_args]
        )
        assert value.dtype == dt
        assert np.isfinite(np.asarray(value, dtype=np.float64)).all(), value
        for g in grads:
            assert np.isfinite(np.asarray(g, dtype=np.float64)).all(), g


# ------------------------------------------------------------------ validation


INVALID_PARAMS = invalid_params()
VALUE_CHECKS = invalid_params(lambda case, bad: bad.value_check)
STATIC_CHECKS = invalid_params(lambda case, bad: not bad.value_check)


@pytest.mark.parametrize("case, bad", INVALID_PARAMS)
def test_rejects_invalid_input(case, bad, backend):
    args = [backend.convert(a) for a in bad.args]
    kwargs = {k: backend.convert(v) for k, v in bad.kwargs.items()}
    with pytest.raises(losskit.LossInputError, match=re.escape(bad.match)):
        case.fn(*args, **kwargs)


@pytest.mark.skipif(not (AVAILABLE["torch"]), reason="torch not installed")
@pytest.mark.parametrize("case, sample", SAMPLE_PARAMS)
def test_rejects_mixed_libraries(case, sample):
    """Arrays from two different libraries raise, naming the arguments."""
    if len(sample.args) < 2:
        pytest.skip("a loss of one array cannot mix libraries")
    backend = get_backend("torch")
    args = [backend.asarray(a) for a in sample.args]
    args[1] = sample.args[1]  # NumPy target, torch prediction
    with pytest.raises(losskit.LossInputError, match="different libraries"):
        case.fn(*args, **sample.kwargs)


@pytest.mark.skipif(not HAS_JAX, reason="jax not installed")
@pytest.mark.parametrize("case, bad", VALUE_CHECKS)
def test_value_checks_are_skipped_while_tracing(case, bad):
    """Data-dependent checks never break jax.jit: they are skipped on tracers."""
    import jax
    import jax.numpy as jnp

    # Array options are traced too, like the inputs: a check on their values is skipped.
    arrays = {k: jnp.asarray(v) for k, v in bad.kwargs.items() if isinstance(v, np.ndarray)}
    options = {k: v for k, v in bad.kwargs.items() if k not in arrays}
    traced = jax.jit(lambda args, array_options: case.fn(*args, **array_options, **options))
    traced([jnp.asarray(a) for a in bad.args], arrays)


@pytest.mark.parametrize("case, bad", VALUE_CHECKS)
def test_value_checks_can_be_switched_off(case, bad):
    with losskit.value_checks(False):
        try:
            case.fn(*bad.args, **bad.kwargs)
        except losskit.LossInputError:
            raise
        except Exception:
            pass  # unchecked bad data may fail inside the backend (out-of-range gather): allowed
    with pytest.raises(losskit.LossInputError, match=re.escape(bad.match)):
        case.fn(*bad.args, **bad.kwargs)


@pytest.mark.parametrize("case, bad", STATIC_CHECKS)
def test_static_checks_run_with_value_checks_off(case, bad):
    """Shapes, dtypes and options are checked even with ``value_checks(False)``."""
    with (
        losskit.value_checks(False),
        pytest.raises(losskit.LossInputError, match=re.escape(bad.match)),
    ):
        case.fn(*bad.args, **bad.kwargs)
