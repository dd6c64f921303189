"""Options as data: tests generated from every loss's declarations.

- every option of every built-in loss is declared, and the declaration's checks are
  what the function, the PyTorch module and the command line apply;
- a bad value of any option fails when a PyTorch module is built (no placeholder call);
- every float option works as a traced value under ``jax.jit``,
  ``torch.compile(fullgraph=True)`` and ``tf.function(jit_compile=True)``, and gives the
  value of the concrete option.

A new loss is covered by its declaration and its test-table entry alone.
"""

from __future__ import annotations

import math
import zlib

import numpy as np
import pytest

import losskit
from array_backends import HAS_JAX, HAS_TENSORFLOW, HAS_TORCH
from loss_table import CASES, LossCase, Sample
from losskit.core.options import Option

BUILTIN = [n for n in losskit.available() if losskit.get_loss(n).builtin]


def _declared(name: str) -> dict[str, Option]:
    return dict(losskit.get_loss(name).declared_options)


def _bad_values(option: Option) -> list[object]:
    """Values the declaration must refuse: the wrong type, and outside the domain."""
    bad: list[object] = ["not-a-value", object()]
    if option.kind == "real":
        low, high = option.domain.low, option.domain.high
        if math.isfinite(low):
            bad.append(low - 1.0)
        if math.isfinite(high):
            bad.append(high + 1.0)
        if option.domain.closed in ("right", "neither") and math.isfinite(low):
            bad.append(low)
        bad.append(math.nan)
        bad.append(True)
    elif option.kind == "integer":
        bad += [1.5, True]
    elif option.kind == "flag":
        bad += ["False", 1, 0.0]
    elif option.kind == "choice":
        bad += [str(option.choices[0]).upper() + "_", 3]
    elif option.kind == "array":
        bad += [[-1.0, 2.0], [1.0, math.inf], [1.0, math.nan], ["a", "b"]]
    if not option.optional:
        bad.append(None)
    return bad


OPTION_PARAMS = [
    pytest.param(name, option, bad, id=f"{name}-{option.name}-{i}")
    for name in BUILTIN
    for option in _declared(name).values()
    for i, bad in enumerate(_bad_values(option))
]


def test_every_option_of_every_builtin_loss_is_declared():
    for name in BUILTIN:
        info = losskit.get_loss(name)
        assert list(info.declared_options) == list(info.options), name
        for option in info.declared_options.values():
            assert option.doc.strip(), f"{name}.{option.name} has no description"
            option.check(info.options[option.name])  # the default is valid


@pytest.mark.parametrize(("name", "option", "bad"), OPTION_PARAMS)
def test_the_function_refuses_a_bad_option_before_reading_its_arrays(name, option, bad):
    info = losskit.get_loss(name)
    placeholders = [object()] * len(info.arrays)  # never reached: options come first
    with pytest.raises(losskit.LossInputError, match=option.name):
        info.fn(*placeholders, **{option.name: bad})


@pytest.mark.skipif(not HAS_TORCH, reason="torch not installed")
@pytest.mark.parametrize(("name", "option", "bad"), OPTION_PARAMS)
def test_a_module_refuses_a_bad_option_when_it_is_built(name, option, bad):
    import losskit.torch

    module = losskit.torch.module_for(name)
    with pytest.raises(losskit.LossInputError, match=option.name):
        module(**{option.name: bad})


# ------------------------------------------------------------------ traced options


def _first_sample(case: LossCase, option: str | None = None) -> Sample:
    """The case's first sample; with ``option``, when the first refuses a non-default
    value of it (an option of logits only, such as sparse cross-entropy's z_loss, on
    probabilities), the first sample that gives it one."""
    rng = np.random.default_rng(zlib.crc32(case.name.encode()))
    samples = list(case.samples(rng))
    first = samples[0]
    if option is None or option in first.kwargs:
        return first
    given = next((s for s in samples if option in s.kwargs), None)
    if given is None:
        return first
    try:
        case.fn(*first.args, **{**first.kwargs, option: given.kwargs[option]})
    except losskit.LossInputError:
        return given
    return first


def _traced_values(case: LossCase) -> list[tuple[str, float]]:
    """(option, value) for every float option: the sample's value, else the default,
    else (an optional option whose default is None) a value inside the domain."""
    info = losskit.get_loss(case.name)
    pairs = []
    for name, option in info.declared_options.items():
        if option.kind != "real":
            continue
        sample = _first_sample(case, name)
        value = sample.kwargs.get(name, info.options[name])
        if value is None:
            low, high = option.domain.low, option.domain.high
            value = (low + high) / 2 if math.isfinite(high) else low + 1.0
        pairs.append((name, float(value)))
    return pairs


TRACED_PARAMS = [
    pytest.param(case, option, value, id=f"{case.name}-{option}")
    for case in CASES
    for option, value in _traced_values(case)
]


def test_float_options_exist_to_trace():
    assert len(TRACED_PARAMS) >= 15


@pytest.mark.skipif(not HAS_JAX, reason="jax not installed")
@pytest.mark.parametrize(("case", "option", "value"), TRACED_PARAMS)
def test_float_options_are_traceable_under_jax_jit(case, option, value):
    import jax
    import jax.numpy as jnp

    sample = _first_sample(case, option)
    args = [jnp.asarray(a) for a in sample.args]
    kwargs = {
        k: jnp.asarray(v) if isinstance(v, np.ndarray) else v for k, v in sample.kwargs.items()
    }
    kwargs.pop(option, None)

    def loss(*arrays, option_value):
        return case.fn(*arrays, **kwargs, **{option: option_value})

    expected = case.fn(*args, **kwargs, **{option: value})
    traced = jax.jit(loss)(*args, option_value=jnp.asarray(value))
    np.testing.assert_allclose(np.asarray(traced), np.asarray(expected), rtol=1e-10, atol=1e-12)
    # the gradient with respect to the option is finite too
    grad = jax.grad(lambda v: jnp.sum(loss(*args, option_value=v)))(jnp.asarray(value))
    assert np.isfinite(np.asarray(grad))


@pytest.mark.skipif(not HAS_TORCH, reason="torch not installed")
@pytest.mark.parametrize(("case", "option", "value"), TRACED_PARAMS)
def test_float_options_are_traceable_under_torch_compile(case, option, value):
    import torch

    import losskit.torch  # noqa: F401  (loads the kernel overrides before tracing, as users do)

    sample = _first_sample(case, option)
    args = [torch.from_numpy(a) for a in sample.args]
    kwargs = {
        k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v for k, v in sample.kwargs.items()
    }
    kwargs.pop(option, None)

    def loss(*arrays):
        *arrays, option_value = arrays
        return case.fn(*arrays, **kwargs, **{option: option_value})

    torch._dynamo.reset()
    # the "eager" backend captures the whole graph (fullgraph=True fails on any break)
    # without compiling it, which is what this test is about
    compiled = torch.compile(loss, fullgraph=True, backend="eager")
    got = compiled(*args, torch.tensor(value, dtype=torch.float64))
    expected = case.fn(*args, **kwargs, **{option: value})
    torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.skipif(not HAS_TENSORFLOW, reason="tensorflow not installed")
@pytest.mark.parametrize(("case", "option", "value"), TRACED_PARAMS)
def test_float_options_are_traceable_under_tf_function(case, option, value):
    """An option given as a tensor argument of tf.function with XLA (in the arrays'
    dtype: TensorFlow's operators do not promote)."""
    import tensorflow as tf

    sample = _first_sample(case, option)
    args = [tf.constant(a) for a in sample.args]
    kwargs = {
        k: tf.constant(v) if isinstance(v, np.ndarray) else v for k, v in sample.kwargs.items()
    }
    kwargs.pop(option, None)

    @tf.function(jit_compile=True)
    def loss_and_grad(option_value, *arrays):
        with tf.GradientTape() as tape:
            tape.watch(option_value)
            loss = case.fn(*arrays, **kwargs, **{option: option_value})
            total = tf.reduce_sum(loss)
        # zero, as JAX gives, where the option has no path to the loss (gaussian_nll's eps)
        return loss, tape.gradient(total, option_value, unconnected_gradients="zero")

    got, grad = loss_and_grad(tf.constant(value, tf.float64), *args)
    expected = case.fn(*args, **kwargs, **{option: value})
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-10, atol=1e-12)
    # the gradient with respect to the option is finite too
    assert np.isfinite(grad.numpy())
