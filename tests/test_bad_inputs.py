"""Bad and extreme input at random, over every registered loss (hypothesis).

Each example draws a built-in loss from the registry, one of its samples in the test
table (``tests/loss_table``), a backend, a dtype and a bad or extreme value, and checks
the promise of issue 14: the loss either raises :class:`losskit.LossInputError` whose
message names the argument, or returns a finite value with a finite gradient that
agrees, within the dtype's tolerance, with float64 on the same (rounded) inputs, on
NumPy, PyTorch, JAX and TensorFlow alike (the extreme-value test draws one backend per
example).  A loss added later is drawn as soon as it has a table
entry, which ``test_every_registered_loss_is_drawn`` requires.

By default each test runs a few dozen examples with a fixed seed, so ``make test`` is
quick and reproducible; ``LOSSKIT_HYPOTHESIS_EXAMPLES`` sets the count for every test and
draws at random, e.g. ``LOSSKIT_HYPOTHESIS_EXAMPLES=20000 pytest tests/test_bad_inputs.py``.
"""

from __future__ import annotations

import dataclasses
import os
import zlib
from typing import Any

import numpy as np
from hypothesis import HealthCheck, assume, given, note, settings
from hypothesis import strategies as st

import losskit
from array_backends import AVAILABLE, HAS_JAX, HAS_TORCH, get_backend
from loss_table import CASES_BY_NAME, Sample

_EXAMPLES = os.environ.get("LOSSKIT_HYPOTHESIS_EXAMPLES")


def _settings(default_examples: int) -> settings:
    """``default_examples`` with a fixed seed, or LOSSKIT_HYPOTHESIS_EXAMPLES at random."""
    return settings(
        max_examples=default_examples if _EXAMPLES is None else int(_EXAMPLES),
        deadline=None,
        derandomize=_EXAMPLES is None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        database=None,
    )


LOSSES = sorted(n for n in losskit.available() if losskit.get_loss(n).builtin)
BACKENDS = ["numpy"] + [
    n
    for n, ok in (("torch", HAS_TORCH), ("jax", HAS_JAX), ("tensorflow", AVAILABLE["tensorflow"]))
    if ok
]
FLOAT_DTYPES = ("float64", "float32", "float16") + (("bfloat16",) if HAS_TORCH else ())


def _samples(name: str) -> list[Sample]:
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    return list(CASES_BY_NAME[name].samples(rng)) if name in CASES_BY_NAME else []


SAMPLES = {name: _samples(name) for name in LOSSES}


def test_every_registered_loss_is_drawn():
    """Every built-in loss has table samples, so the tests below draw it."""
    missing = [name for name, samples in SAMPLES.items() if not samples]
    assert not missing, f"add a tests/loss_table entry with samples for {missing}"


# ---------------------------------------------------------------- conversions


def _convert(backend_name: str, value: Any, dtype: str | None = None) -> Any:
    """A float64/int NumPy array as ``backend_name``'s array, floats in ``dtype``."""
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "fiub":
        return value
    if dtype is None or value.dtype.kind != "f":
        return get_backend(backend_name).asarray(value)
    if backend_name == "torch":
        import torch

        return torch.tensor(value, dtype=getattr(torch, dtype))
    if backend_name == "jax":
        import jax.numpy as jnp

        return jnp.asarray(value, dtype=getattr(jnp, dtype))
    if backend_name == "tensorflow":
        import tensorflow as tf

        return tf.constant(value, dtype=getattr(tf, dtype))
    return value.astype(dtype)


def _float64(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):
        return x.detach().double().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


def _rounded(value: Any, dtype: str) -> Any:
    """``value`` rounded to ``dtype`` and back to float64 (float arrays only)."""
    if not isinstance(value, np.ndarray) or value.dtype.kind != "f":
        return value
    if dtype == "bfloat16":
        import torch

        return torch.tensor(value, dtype=torch.bfloat16).double().numpy()
    with np.errstate(over="ignore"):  # a scaled input may overflow the dtype: then inf
        return value.astype(dtype).astype(np.float64)


@dataclasses.dataclass
class Outcome:
    """What one call gave: an error, or a float64 value and gradients (None on NumPy)."""

    error: Exception | None = None
    value: np.ndarray | None = None
    grads: list[np.ndarray] | None = None


def _evaluate(name: str, backend_name: str, args, kwargs, grad_args, dtype: str | None) -> Outcome:
    """Call loss ``name`` on ``backend_name`` arrays (floats in ``dtype``); the gradient of
    the summed result w.r.t. ``args[grad_args]`` on torch and JAX."""
    fn = losskit.get_loss(name).fn
    arrays = [_convert(backend_name, a, dtype) for a in args]
    options = {k: _convert(backend_name, v, dtype) for k, v in kwargs.items()}
    grad_args = [i for i in grad_args if np.size(args[i]) > 0]
    try:
        if not grad_args or backend_name == "numpy":
            # NumPy warns where a 16-bit loss overflows to inf (the right answer there) or
            # an input that overflowed the dtype meets another inf; the checks judge results
            with np.errstate(all="ignore"):
                return Outcome(value=_float64(fn(*arrays, **options)))
        if backend_name == "torch":
            import torch

            for i in grad_args:
                arrays[i].requires_grad_()
            out = fn(*arrays, **options)
            grads = torch.autograd.grad(out.sum(), [arrays[i] for i in grad_args])
            return Outcome(value=_float64(out), grads=[_float64(g) for g in grads])
        if backend_name == "jax":
            import jax
            import jax.numpy as jnp

            # eagerly first: under jax.grad the arrays are tracers, whose values are not
            # checked (losskit skips value checks while tracing)
            value = _float64(fn(*arrays, **options))

            def summed(*diff):
                full = list(arrays)
                for i, d in zip(grad_args, diff, strict=True):
                    full[i] = d
                return jnp.sum(fn(*full, **options))

            grads = jax.grad(summed, argnums=tuple(range(len(grad_args))))(
                *[arrays[i] for i in grad_args]
            )
            return Outcome(value=value, grads=[_float64(g) for g in grads])
        if backend_name == "tensorflow":
            import tensorflow as tf

            with tf.GradientTape() as tape:
                for i in grad_args:
                    tape.watch(arrays[i])
                out = fn(*arrays, **options)
                total = tf.reduce_sum(out)
            grads = tape.gradient(total, [arrays[i] for i in grad_args])
            return Outcome(value=_float64(out), grads=[_float64(g) for g in grads])
    except losskit.LossInputError as err:
        return Outcome(error=err)


# ------------------------------------------------------- bad arguments: named errors


#: bad values for an array argument, each as a function of the valid array it replaces
BAD_ARRAYS = {
    "None": lambda a: None,
    "a list": lambda a: np.asarray(a).tolist(),
    "a number": lambda a: 1.0,
    "strings": lambda a: np.asarray(a).astype(str),
    "objects": lambda a: np.asarray(a).astype(object),
    "bytes": lambda a: np.full(np.shape(a), b"0"),
    "records": lambda a: np.zeros(np.shape(a), dtype=[("x", "f8")]),
    "complex": lambda a: np.asarray(a) + 1j,
}
#: bad values for an array option (class weights, alpha, pos_weight) and for weights
BAD_VECTORS = {
    "inf": lambda v: _with_one(v, np.inf),
    "-inf": lambda v: _with_one(v, -np.inf),
    "NaN": lambda v: _with_one(v, np.nan),
    "negative": lambda v: _with_one(v, -1.0),
    "None inside": lambda v: [None, *np.ravel(v).tolist()[1:]],
    "strings": lambda v: [str(x) for x in np.ravel(v).tolist()],
    "string array": lambda v: np.asarray(v).astype(str),
}


def _with_one(v: Any, bad: float) -> np.ndarray:
    out = np.array(v, dtype=np.float64)
    out.flat[0] = bad
    return out


def _array_options(sample: Sample) -> list[str]:
    return [
        k
        for k, v in sample.kwargs.items()
        if (isinstance(v, np.ndarray) and v.size) or (isinstance(v, list) and v)
    ]


@_settings(40)
@given(data=st.data())
def test_bad_argument_is_refused_naming_it(data):
    name = data.draw(st.sampled_from(LOSSES), label="loss")
    sample = data.draw(st.sampled_from(SAMPLES[name]), label="sample")
    backend_name = data.draw(st.sampled_from(BACKENDS), label="backend")
    arrays = losskit.get_loss(name).arrays
    args, kwargs = list(sample.args), dict(sample.kwargs)
    where = data.draw(st.sampled_from([*arrays, *_array_options(sample), "weights"]), label="arg")
    if where in arrays:
        position = arrays.index(where)
        kind = data.draw(st.sampled_from(sorted(BAD_ARRAYS)), label="kind")
        if kind == "complex" and sample.args[position].dtype.kind != "f":
            kind = "strings"
        args[position] = BAD_ARRAYS[kind](args[position])
    else:
        kind = data.draw(st.sampled_from(sorted(BAD_VECTORS)), label="kind")
        if where == "weights":
            shape = np.shape(losskit.get_loss(name).fn(*args, reduction="none", **kwargs))
            assume(np.prod(shape) > 0)
            kwargs["weights"] = np.ones(shape)
        kwargs[where] = BAD_VECTORS[kind](kwargs[where])
    note(f"{name}({where} = {kind}) on {backend_name}, sample {sample!r}")
    outcome = _evaluate(name, backend_name, args, kwargs, (), None)
    assert outcome.error is not None, f"{name} accepted {where} = {kind}"
    assert where in str(outcome.error), outcome.error


@_settings(40)
@given(data=st.data())
def test_wrong_shape_is_refused_naming_an_argument(data):
    """An extra trailing axis on one array: refused naming an argument (never broadcast),
    or accepted where the loss takes any shape, with a finite result."""
    name = data.draw(st.sampled_from(LOSSES), label="loss")
    sample = data.draw(st.sampled_from(SAMPLES[name]), label="sample")
    backend_name = data.draw(st.sampled_from(BACKENDS), label="backend")
    arrays = losskit.get_loss(name).arrays
    position = data.draw(st.integers(0, len(arrays) - 1), label="position")
    size = data.draw(st.integers(2, 3), label="size")
    args = list(sample.args)
    args[position] = np.stack([args[position]] * size, axis=-1)
    outcome = _evaluate(name, backend_name, args, sample.kwargs, (), None)
    if outcome.error is not None:
        assert any(a in str(outcome.error) for a in arrays), outcome.error
    else:
        assert np.isfinite(outcome.value).all()


# -------------------------------------------- extreme values: finite and in agreement


#: a relative tolerance per dtype: 32 units in the last place (at least 1e-9)
RTOL = {d: max(32 * float(np.finfo(d).eps), 1e-9) for d in ("float64", "float32", "float16")}
RTOL["bfloat16"] = 32 * 2.0**-7
MAX = {d: float(np.finfo(d).max) for d in ("float64", "float32", "float16")}
MAX["bfloat16"] = MAX["float32"]


def _class_axis(name: str, sample: Sample) -> int | None:
    info = losskit.get_loss(name)
    if info.class_axis is None:
        return None
    return sample.kwargs.get(info.class_axis, info.options.get(info.class_axis))


def _infinite_logits(name: str, sample: Sample, rng: np.random.Generator):
    """The sample's arrays with logits of -inf where the target is 0 (and +inf where a
    binary target is 1), or None if the sample has no such logits."""
    if not sample.kwargs.get("from_logits") or sample.kwargs.get("label_smoothing"):
        return None
    if len(sample.args) < 2 or sample.args[0].size == 0:
        return None
    pred, target = sample.args[0], sample.args[1]
    axis = _class_axis(name, sample)
    if target.shape == pred.shape and sample.kwargs.get("log_target"):
        # a log-probability target: probability 0 is -inf (a target of 0 is probability 1)
        zero, one = target == -np.inf, np.zeros(pred.shape, bool)
    elif target.shape == pred.shape:
        zero, one = target == 0, (target == 1) & (axis is None)
    elif axis is not None and target.dtype.kind in "iu":
        classes = np.arange(pred.shape[axis]).reshape(
            [-1 if i == axis % pred.ndim else 1 for i in range(pred.ndim)]
        )
        labels = np.expand_dims(target, axis)
        valid = (labels >= 0) & (labels < pred.shape[axis])
        zero, one = (classes != labels) & valid, np.zeros(pred.shape, bool)
    else:
        return None
    pick = rng.random(pred.shape) < 0.6
    if not ((zero | one) & pick).any():
        return None
    pred = pred.copy()
    pred[zero & pick], pred[one & pick] = -np.inf, np.inf
    return (pred, *sample.args[1:])


def _close(got: np.ndarray, expected: np.ndarray, scale: np.ndarray, rtol: float) -> bool:
    return bool(np.all(np.abs(got - expected) <= rtol * (np.abs(expected) + scale)))


@_settings(40)
@given(data=st.data())
def test_extreme_input_is_finite_and_agrees_across_backends(data):
    name = data.draw(st.sampled_from(LOSSES), label="loss")
    sample = data.draw(st.sampled_from(SAMPLES[name]), label="sample")
    dtype = data.draw(st.sampled_from(FLOAT_DTYPES), label="dtype")
    # one backend per example, drawn like the rest: a larger run covers every backend and
    # costs a quarter of evaluating all four (JAX compiles each new shape op by op)
    backends = [b for b in BACKENDS if not (b == "numpy" and dtype == "bfloat16")]
    backend_name = data.draw(st.sampled_from(backends), label="backend")
    reduction = data.draw(st.sampled_from(["none", "mean", "sum"]), label="reduction")
    kind = data.draw(st.sampled_from(["as is", "infinite logits", "scaled"]), label="kind")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    args, reference_args = sample.args, sample.args
    if kind == "infinite logits":
        drawn = _infinite_logits(name, sample, rng)
        if drawn is None:
            kind = "as is"
        else:
            args = reference_args = drawn
    if kind == "scaled":
        scale = data.draw(st.sampled_from([10.0, 100.0, 1e3, 3e4]), label="scale")
        args = reference_args = (sample.args[0] * scale, *sample.args[1:])
    kwargs = dict(sample.kwargs, reduction=reduction)
    if data.draw(st.booleans(), label="weighted"):
        shape = np.shape(losskit.get_loss(name).fn(*sample.args, reduction="none", **sample.kwargs))
        kwargs["weights"] = rng.uniform(0.0, 2.0, size=shape)
    args = [_rounded(a, dtype) for a in args]
    reference_args = [_rounded(a, dtype) for a in reference_args]
    if kind == "infinite logits":
        # the limit, independently: float64 at logits of +-1e300 (exp(-1e300) is 0 and
        # 0 * 1e300 is 0 without any special case)
        reference_args[0] = np.clip(reference_args[0], -1e300, 1e300)
    options = {k: _rounded(v, dtype) for k, v in kwargs.items()}
    note(f"{name}, {kind}, {dtype}, {backend_name}, {reduction}, sample {sample!r}")

    reference_backend = "torch" if HAS_TORCH else "numpy"
    reference = _evaluate(
        name, reference_backend, reference_args, options, sample.grad_args, "float64"
    )
    none = _evaluate(
        name, "numpy", reference_args, dict(options, reduction="none", weights=None), (), "float64"
    )
    outcomes = {backend_name: _evaluate(name, backend_name, args, options, sample.grad_args, dtype)}
    if reference.error is not None:
        for backend_name, outcome in outcomes.items():
            assert outcome.error is not None, (
                f"{backend_name} accepted what float64 refused: {reference.error}"
            )
        return
    for backend_name, outcome in outcomes.items():
        assert outcome.error is None, f"{backend_name} in {dtype}: {outcome.error}"

    # Finite and in agreement wherever float64 says the answer fits the dtype.
    limit = MAX[dtype] / 8
    fits = bool(np.all(np.abs(reference.value) <= limit) and np.all(np.abs(none.value) <= limit))
    assume(fits)  # an overflowing loss or gradient is the right answer in that dtype
    mass = np.abs(none.value)
    scale = 1.0 + (
        mass
        if reduction == "none"
        else mass.sum()
        if reduction == "sum"
        else mass.mean()
        if mass.size
        else 0.0
    )
    if reduction == "none" and "weights" in options:
        scale = 1.0 + mass * options["weights"]
    if "embedding" in losskit.get_loss(name).tasks:
        # an embedding loss is a difference of distances or similarities of the inputs'
        # size: in a dtype it is known to the spacing of numbers of that size, whatever
        # the implementation (triplet_margin in float32 with an anchor x1000: distances near
        # 2000 are spaced 1.2e-4 apart; losskit and F.triplet_margin_loss agree to the bit)
        sizes = [np.abs(np.asarray(a, dtype=np.float64)) for a in reference_args]
        scale = scale + max(float(np.max(x[np.isfinite(x)], initial=0.0)) for x in sizes)
    rtol = RTOL[dtype]
    for backend_name, outcome in outcomes.items():
        assert np.isfinite(outcome.value).all(), (backend_name, outcome.value)
        assert _close(outcome.value, reference.value, scale, rtol), (
            backend_name,
            outcome.value,
            reference.value,
        )
    if reference.grads is None:
        return
    grads_fit = all(np.all(np.abs(g) <= limit) for g in reference.grads)
    for backend_name, outcome in outcomes.items():
        if outcome.grads is None:
            continue
        for got, expected in zip(outcome.grads, reference.grads, strict=True):
            if grads_fit:
                assert np.isfinite(got).all(), (backend_name, got)
            peak = np.max(np.abs(expected), initial=0.0)
            # The floor: gradients are built from O(1) quantities (probabilities), whose
            # differences carry an error of about one eps of the dtype, as the frameworks'
            # own log_softmax backward (g - p sum g) does.  0.05 * 4 * rtol is a few eps:
            # a gradient whose entries are all near eps (lovasz_softmax at logits scaled by
            # 1000 in float32: 1.8e-7 against 8.3e-8) agrees to that resolution.
            assert _close(got, expected, peak + 0.05, 4 * rtol) or not grads_fit, (
                backend_name,
                got,
                expected,
            )
