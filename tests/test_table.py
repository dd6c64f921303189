"""Generic tests: every entry of the loss table, on every backend.

Each test walks the table (``loss_table.CASES``, parameters from ``loss_table.params``);
adding a loss adds its entry and these tests cover it.  Known gaps are data
(``LossCase.gaps``), turned into marks on the tests they name by ``tests/conftest.py``.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import losskit
from array_backends import AVAILABLE, HAS_JAX, HAS_TORCH, backend_params, get_backend
from loss_table import CASES, REDUCTIONS, LossCase, Sample
from loss_table.params import (
    extreme_params,
    invalid_params,
    peer_params,
    rng,
    sample_params,
    samples_of,
)
from losskit.core.namespace import namespace

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
    assert namespace(out=out).__name__.endswith(backend.namespace_name), namespace(out=out)
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
    xp = namespace(x=backend.asarray(np.zeros(1)))
    target_dtype = getattr(xp, dtype)
    args = [
        xp.astype(backend.asarray(a), target_dtype) if a.dtype.kind == "f" else backend.asarray(a)
        for a in sample.args
    ]
    kwargs = {k: backend.convert(v) for k, v in sample.kwargs.items()}
    for reduction in REDUCTIONS:
        out = case.fn(*args, reduction=reduction, **kwargs)
        assert out.dtype == target_dtype, (reduction, out.dtype)
        assert namespace(out=out) is namespace(pred=args[0])
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


# -------------------------------------------------------------------- TensorFlow


def _option_features(sample: Sample) -> set[tuple[object, ...]]:
    """What a sample exercises: each option (with its value when it is a choice or a
    flag) and the dtype kind and rank of each array."""
    features: set[tuple[object, ...]] = set()
    for key, value in sample.kwargs.items():
        choice = isinstance(value, (str, bool)) or value is None
        features.add((key, value) if choice else (key,))
    return features | {("array", i, a.dtype.kind, a.ndim) for i, a in enumerate(sample.args)}


def _covering_samples(case: LossCase) -> list[int]:
    """Indices of a few samples of ``case`` that together exercise all that its samples
    do (greedily, the sample adding the most): the compiled tests run these."""
    remaining = dict(enumerate(samples_of(case)))
    seen: set[tuple[object, ...]] = set()
    chosen = []
    while remaining:
        index = max(remaining, key=lambda i: len(_option_features(remaining[i]) - seen))
        new = _option_features(remaining.pop(index)) - seen
        if not new:
            break
        chosen.append(index)
        seen |= new
    return sorted(chosen)


TF_COMPILED_PARAMS = [
    pytest.param(case, sample, id=f"{case.name}-{i}-{sample.desc}")
    for case in CASES
    for i, sample in enumerate(samples_of(case))
    if i in _covering_samples(case)
]
needs_tensorflow = pytest.mark.skipif(
    not AVAILABLE["tensorflow"], reason="tensorflow not installed"
)


def _tf_inputs(case: LossCase, sample: Sample):
    import tensorflow as tf

    args = [tf.constant(a) for a in sample.args]
    kwargs = {
        k: tf.constant(v) if isinstance(v, np.ndarray) else v for k, v in sample.kwargs.items()
    }
    return args, kwargs


def _tf_value_and_grads(case: LossCase, sample: Sample, args, kwargs):
    """Every reduction's value and the gradient of the mean, by tf.GradientTape."""
    import tensorflow as tf

    with tf.GradientTape() as tape:
        for i in sample.grad_args:
            tape.watch(args[i])
        values = [case.fn(*args, reduction=r, **kwargs) for r in REDUCTIONS]
    grads = tape.gradient(values[REDUCTIONS.index("mean")], [args[i] for i in sample.grad_args])
    return values, grads


@needs_tensorflow
@pytest.mark.skipif(not HAS_TORCH, reason="torch not installed (the reference gradients)")
@pytest.mark.parametrize("case, sample", SAMPLE_PARAMS)
def test_tensorflow_gradients_match_torch(case, sample):
    """tf.GradientTape's gradients are PyTorch's (float64), which test_torch_gradcheck
    compares with finite differences; at a kink (a tie in maximum) both split the
    gradient in halves."""
    import torch

    if any(sample.args[i].size == 0 for i in sample.grad_args):
        pytest.skip("empty input")
    args, kwargs = _tf_inputs(case, sample)
    _, grads = _tf_value_and_grads(case, sample, args, kwargs)

    torch_args = [torch.from_numpy(np.ascontiguousarray(a)) for a in sample.args]
    torch_kwargs = {
        k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v for k, v in sample.kwargs.items()
    }
    inputs = [torch_args[i].requires_grad_() for i in sample.grad_args]
    expected = torch.autograd.grad(case.fn(*torch_args, reduction="mean", **torch_kwargs), inputs)
    for got, want in zip(grads, expected, strict=True):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-9, atol=1e-12)


@needs_tensorflow
@pytest.mark.parametrize("jit_compile", [False, True], ids=["tf.function", "xla"])
@pytest.mark.parametrize("case, sample", TF_COMPILED_PARAMS)
def test_under_tf_function(case, sample, jit_compile):
    """Inside tf.function, with and without XLA, with the batch size unknown while
    tracing (as Keras traces): the eager values and gradients."""
    import tensorflow as tf

    args, kwargs = _tf_inputs(case, sample)
    signature = [
        tf.TensorSpec((None, *a.shape[1:]) if a.ndim else (), tf.as_dtype(a.dtype))
        for a in sample.args
    ]
    compiled = tf.function(
        lambda *a: _tf_value_and_grads(case, sample, list(a), kwargs),
        input_signature=signature,
        jit_compile=jit_compile,
    )
    values, grads = compiled(*args)
    eager_values, eager_grads = _tf_value_and_grads(case, sample, args, kwargs)
    for got, want in zip(values, eager_values, strict=True):
        assert got.shape == want.shape
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-10, atol=1e-12)
    for got, want in zip(grads, eager_grads, strict=True):
        if want is None:  # no path from this input (an empty one)
            assert got is None
            continue
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-10, atol=1e-12)


# --------------------------------------------------------------------- extremes


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
@pytest.mark.parametrize("backend_name", backend_params(("torch", "jax", "tensorflow")))
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
    elif backend_name == "tensorflow":
        import tensorflow as tf

        dt = tf.as_dtype(dtype)
        args = [
            tf.constant(a, dtype=dt) if a.dtype.kind == "f" else tf.constant(a) for a in sample.args
        ]
        kwargs = {
            k: tf.constant(v, dtype=dt) if isinstance(v, np.ndarray) else v
            for k, v in sample.kwargs.items()
        }
        for reduction in ("mean", "sum"):
            with tf.GradientTape() as tape:
                for i in sample.grad_args:
                    tape.watch(args[i])
                out = case.fn(*args, reduction=reduction, **kwargs)
            grads = tape.gradient(out, [args[i] for i in sample.grad_args])
            assert out.dtype == dt
            assert np.isfinite(np.asarray(out.numpy(), dtype=np.float64)).all(), out
            for g in grads:
                assert np.isfinite(np.asarray(g.numpy(), dtype=np.float64)).all(), g
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


@needs_tensorflow
@pytest.mark.parametrize("case, bad", VALUE_CHECKS)
def test_value_checks_are_skipped_inside_tf_function(case, bad):
    """Data-dependent checks run eagerly and never break tf.function (or XLA)."""
    import tensorflow as tf

    args = [tf.constant(a) for a in bad.args]
    # Array options are traced too, like the inputs: a check on their values is skipped.
    arrays = {k: tf.constant(v) for k, v in bad.kwargs.items() if isinstance(v, np.ndarray)}
    options = {k: v for k, v in bad.kwargs.items() if k not in arrays}
    with pytest.raises(losskit.LossInputError, match=re.escape(bad.match)):
        case.fn(*args, **arrays, **options)  # eager: checked
    traced = tf.function(
        lambda args, array_options: case.fn(*args, **array_options, **options),
        jit_compile=True,
    )
    try:
        traced(args, arrays)
    except tf.errors.InvalidArgumentError:
        pass  # unchecked bad data may fail inside TensorFlow (out-of-range gather): allowed


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
