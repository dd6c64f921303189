"""JAX kernel overrides against the generic kernels: values, gradients and second
derivatives (``losskit.jax.kernels``)."""

from __future__ import annotations

import numpy as np
import pytest

from losskit.core import kernels, primitives

jax = pytest.importorskip("jax")
jnp = jax.numpy


def test_jax_overrides_are_the_ones_tested_here():
    assert set(kernels.overrides("jax")) == {primitives.log_cosh.kernel_name}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_log_cosh_override_agrees_with_the_generic_kernel(dtype):
    if dtype == "float64" and not jax.config.jax_enable_x64:
        pytest.skip("float64 needs jax_enable_x64")
    fast = kernels.overrides("jax")[primitives.log_cosh.kernel_name]

    def generic(x):
        return primitives.log_cosh.generic(x, xp=jnp)

    def override(x):
        return fast(x, xp=jnp)

    x = jnp.asarray([0.0, 1e-6, -1e-3, 0.3, -0.5, 0.7, 3.0, -30.0, 100.0], dtype=dtype)
    eps = float(jnp.finfo(dtype).eps)
    np.testing.assert_array_equal(override(x), generic(x))
    for order in (1, 2):  # tanh x, then 1 - tanh^2 x (1 at x = 0, where |x| has its kink)
        ours, theirs = override, generic
        for _ in range(order):
            ours, theirs = jax.grad(ours), jax.grad(theirs)
        got = jax.vmap(ours)(x)
        np.testing.assert_allclose(got, jax.vmap(theirs)(x), rtol=8 * eps, atol=8 * eps)
    second = jax.vmap(jax.grad(jax.grad(override)))(x)
    np.testing.assert_allclose(second[0], 1.0, rtol=0, atol=0)
    value, grad = jax.jit(jax.value_and_grad(lambda v: jnp.sum(override(v))))(x)
    np.testing.assert_allclose(grad, np.tanh(np.asarray(x, np.float64)), rtol=8 * eps, atol=0)
    assert np.isfinite(float(value))
