"""Array backends for the generic tests: each turns float64/int NumPy data into its own arrays.

A plain module (not conftest.py) so tests import it by a name no other folder shares.
"""

from __future__ import annotations

import dataclasses
import importlib.util
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

HAS_TORCH = importlib.util.find_spec("torch") is not None
HAS_JAX = importlib.util.find_spec("jax") is not None
HAS_TENSORFLOW = importlib.util.find_spec("tensorflow") is not None

if HAS_JAX:
    import jax

    # float64 references need float64 JAX arrays.
    jax.config.update("jax_enable_x64", True)


@dataclasses.dataclass(frozen=True)
class Backend:
    name: str
    asarray: Callable[[Any], Any]
    to_numpy: Callable[[Any], np.ndarray]
    namespace_name: str

    def convert(self, value: Any) -> Any:
        """Turn NumPy arrays (also inside kwargs) into this backend's arrays."""
        if isinstance(value, np.ndarray):
            return self.asarray(value)
        return value

    def __repr__(self) -> str:
        return self.name


def _numpy_backend() -> Backend:
    return Backend("numpy", lambda a: np.asarray(a), np.asarray, "numpy")


def _strict_backend() -> Backend:
    import array_api_strict as xps

    return Backend("array_api_strict", xps.asarray, lambda a: np.asarray(a), "array_api_strict")


def _torch_backend() -> Backend:
    import torch

    return Backend(
        "torch",
        # ascontiguousarray turns a 0-d array into a 1-d one: keep the shape.
        lambda a: torch.from_numpy(np.ascontiguousarray(a).reshape(np.shape(a))),
        lambda a: (
            a.detach().cpu().float().numpy()
            if a.dtype == torch.bfloat16
            else a.detach().cpu().numpy()
        ),
        "torch",
    )


def _jax_backend() -> Backend:
    import jax.numpy as jnp

    return Backend(
        "jax",
        jnp.asarray,
        lambda a: np.asarray(a, dtype=np.float64) if a.dtype == jnp.bfloat16 else np.asarray(a),
        "jax.numpy",
    )


def _tensorflow_backend() -> Backend:
    import tensorflow as tf

    return Backend(
        "tensorflow",
        tf.constant,  # keeps float64 and int64
        lambda a: np.asarray(a.numpy(), dtype=np.float64) if a.dtype == tf.bfloat16 else a.numpy(),
        "tensorflow_namespace",
    )


BACKEND_FACTORIES: dict[str, Callable[[], Backend]] = {
    "numpy": _numpy_backend,
    "array_api_strict": _strict_backend,
    "torch": _torch_backend,
    "jax": _jax_backend,
    "tensorflow": _tensorflow_backend,
}
AVAILABLE = {
    "numpy": True,
    "array_api_strict": importlib.util.find_spec("array_api_strict") is not None,
    "torch": HAS_TORCH,
    "jax": HAS_JAX,
    "tensorflow": HAS_TENSORFLOW,
}


def backend_params(names: tuple[str, ...] = tuple(BACKEND_FACTORIES)) -> list[Any]:
    return [
        pytest.param(
            n, marks=pytest.mark.skipif(not AVAILABLE[n], reason=f"{n} not installed"), id=n
        )
        for n in names
    ]


def get_backend(name: str) -> Backend:
    return BACKEND_FACTORIES[name]()
