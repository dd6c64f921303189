"""Kernels: the parts of a loss that a backend may compute faster, overridable by name.

A loss is shared preparation and validation, then one or more kernels, then
:func:`~losskit.core.reduction.reduce_loss`.  A kernel is a plain array-API function
that takes the namespace as ``xp=`` (keyword-only); :func:`kernel` makes it
overridable.  A backend registers a faster implementation of the same signature with
:func:`override`; the override may return ``NotImplemented`` for arguments it does not
cover (a traced hyper-parameter, an unusual layout), and the generic kernel runs.
Signatures, defaults, option checks and reductions stay with the loss: an override
never re-declares them.

Overrides of a backend live in one module, imported on the first call with that
backend's arrays (or up front: ``import losskit.torch`` does, so that
``torch.compile`` never traces an import).
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from typing import Any, TypeVar

import array_api_compat

from losskit.core.namespace import is_tensorflow_namespace

__all__ = ["backend_name", "kernel", "load_overrides", "override", "overrides"]

F = TypeVar("F", bound=Callable[..., Any])

#: kernel name -> the overridable kernel
_KERNELS: dict[str, Callable[..., Any]] = {}
#: (kernel name, backend) -> the backend's implementation
_OVERRIDES: dict[tuple[str, str], Callable[..., Any]] = {}
#: backend -> module that registers its overrides
_OVERRIDE_MODULES: dict[str, str] = {
    "torch": "losskit.torch.fast",
    "tensorflow": "losskit.tensorflow.kernels",
}
_loaded: set[str] = set()


def backend_name(xp: Any) -> str:
    """``"torch"``, ``"jax"``, ``"numpy"``, ... for an array namespace."""
    if array_api_compat.is_torch_namespace(xp):
        return "torch"
    if array_api_compat.is_jax_namespace(xp):
        return "jax"
    if array_api_compat.is_numpy_namespace(xp):
        return "numpy"
    if is_tensorflow_namespace(xp):
        return "tensorflow"
    return xp.__name__.split(".")[-1]


def load_overrides(backend: str) -> None:
    """Import the module holding ``backend``'s overrides (a no-op for a backend with none)."""
    _loaded.add(backend)
    module = _OVERRIDE_MODULES.get(backend)
    if module is not None:
        importlib.import_module(module)


def kernel(fn: F) -> F:
    """Make ``fn`` (a kernel taking ``xp=``) overridable per backend."""
    name = f"{fn.__module__}.{fn.__qualname__}"

    @functools.wraps(fn)
    def dispatch(*args: Any, xp: Any, **kwargs: Any) -> Any:
        backend = backend_name(xp)
        if backend not in _loaded:
            load_overrides(backend)
        impl = _OVERRIDES.get((name, backend))
        if impl is not None:
            out = impl(*args, xp=xp, **kwargs)
            if out is not NotImplemented:
                return out
        return fn(*args, xp=xp, **kwargs)

    dispatch.generic = fn  # type: ignore[attr-defined]
    dispatch.kernel_name = name  # type: ignore[attr-defined]
    _KERNELS[name] = dispatch
    return dispatch  # type: ignore[return-value]


def override(target: Callable[..., Any], backend: str) -> Callable[[F], F]:
    """Register the decorated function as ``backend``'s implementation of kernel ``target``."""
    name = getattr(target, "kernel_name", None)
    if name is None:
        raise TypeError(f"{target!r} is not a kernel: decorate it with losskit.core.kernels.kernel")

    def decorate(impl: F) -> F:
        _OVERRIDES[(name, backend)] = impl
        return impl

    return decorate


def overrides(backend: str | None = None) -> dict[str, Callable[..., Any]]:
    """The overridden kernels (name -> backend implementation) of ``backend`` (or of all
    backends, keyed ``name@backend``): what the agreement tests walk."""
    if backend is not None:
        load_overrides(backend)
        return {name: impl for (name, b), impl in _OVERRIDES.items() if b == backend}
    return {f"{name}@{b}": impl for (name, b), impl in _OVERRIDES.items()}
