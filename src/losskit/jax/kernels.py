"""JAX implementations of losskit's kernels (see :mod:`losskit.core.kernels`).

Imported on the first call of a kernel with JAX arrays.  Each override computes what the
generic kernel computes and differs only in its derivative rule; values, gradients and
second derivatives are tested against the generic kernel in ``tests/test_jax_kernels.py``.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from losskit.core.kernels import override
from losskit.core.primitives import log_cosh

__all__ = ["log_cosh_tanh_derivative"]


@jax.custom_jvp
def _log_cosh(x: Any) -> Any:
    return log_cosh.generic(x, xp=jnp)


@_log_cosh.defjvp
def _log_cosh_jvp(primals: tuple[Any, ...], tangents: tuple[Any, ...]) -> tuple[Any, Any]:
    (x,), (dx,) = primals, tangents
    return _log_cosh(x), jnp.tanh(x) * dx


@override(log_cosh, "jax")
def log_cosh_tanh_derivative(x: Any, *, xp: Any) -> Any:
    """The generic value (its series near 0), with the derivative tanh(x) as a rule:
    differentiating the generic form costs the select of its two branches and
    ``logaddexp``'s own rule, about 30% more per step under ``jax.jit`` than one tanh.
    The rule is itself differentiable (second derivative 1 - tanh^2, 1 at x = 0)."""
    return _log_cosh(x)
