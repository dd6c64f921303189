"""Kernels: the parts of a loss that a backend may compute faster, overridable by name.

A loss is shared preparation and validation, then one or more kernels, then
:func:`~losskit.core.reduction.reduce_loss`.  A kernel is a plain array-API function
that takes the namespace as ``xp=`` (keyword-only); :func:`kernel` makes it
overridable.  A backend registers a faster implementation of the same signature with
:func:`override`; the override may return ``NotImplemented`` for arguments it does not
cover (a traced hyper-parameter, an unusual layout), and the generic kernel runs.
Signatures, defaults, option checks and reductions stay with the loss: an override
never re-declares them.  A kernel may take ``reduction`` (the loss passes
:func:`~losskit.core.reduction.kernel_reduction`): the generic kernel ignores it and
returns the unreduced loss, an override may return that reduction as a 0-d array
computed by the backend's fused operation, and ``reduce_loss`` passes it through.
An override whose formula is not finite where the generic kernel takes a limit
registers with ``generic_if_not_finite=True`` (see :func:`override`).

:func:`generic_kernels` turns the overrides off inside a block: the reference the
agreement tests compare every override with.

Overrides of a backend live in one module, imported on the first call with that
backend's arrays (or up front: ``import losskit.torch`` does, so that
``torch.compile`` never traces an import).
"""

from __future__ import annotations

import contextlib
import functools
import importlib
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import array_api_compat

from losskit.core.namespace import is_tensorflow_namespace, is_torch_namespace, is_traced
from losskit.core.validation import reads_values

__all__ = [
    "backend_name",
    "generic_kernels",
    "kernel",
    "load_overrides",
    "override",
    "overrides",
]

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
#: False inside generic_kernels()
_use_overrides = True


def backend_name(xp: Any) -> str:
    """``"torch"``, ``"jax"``, ``"numpy"``, ... for an array namespace."""
    if is_torch_namespace(xp):  # first, and without array-api-compat's cached test
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
        impl = _OVERRIDES.get((name, backend)) if _use_overrides else None
        if impl is not None:
            out = impl(*args, xp=xp, **kwargs)
            if out is not NotImplemented:
                return out
        return fn(*args, xp=xp, **kwargs)

    dispatch.generic = fn  # type: ignore[attr-defined]
    dispatch.kernel_name = name  # type: ignore[attr-defined]
    _KERNELS[name] = dispatch
    return dispatch  # type: ignore[return-value]


def override(
    target: Callable[..., Any], backend: str, *, generic_if_not_finite: bool = False
) -> Callable[[F], F]:
    """Register the decorated function as ``backend``'s implementation of kernel ``target``.

    ``generic_if_not_finite``: the override's formula gives inf or NaN where the generic
    kernel takes a finite limit (a backend's loss computes 0 * inf = NaN where losskit's
    primitives give a term of weight 0 nothing: :func:`~losskit.core.primitives.weighted_log`
    at an infinite logit).  When its result holds inf or NaN, the generic kernel runs
    instead, and gives the limit (or the same inf or NaN).  The result is looked at only
    where the value checks read data (:func:`~losskit.core.validation.reads_values`): a
    traced call keeps the override's value.
    """
    name = getattr(target, "kernel_name", None)
    if name is None:
        raise TypeError(f"{target!r} is not a kernel: decorate it with losskit.core.kernels.kernel")

    def decorate(impl: F) -> F:
        _OVERRIDES[(name, backend)] = _finite_or_generic(impl) if generic_if_not_finite else impl
        return impl

    return decorate


def _finite_or_generic(impl: Callable[..., Any]) -> Callable[..., Any]:
    """``impl``, returning ``NotImplemented`` (so the generic kernel runs) where its
    result holds inf or NaN."""

    @functools.wraps(impl)
    def run(*args: Any, xp: Any, **kwargs: Any) -> Any:
        out = impl(*args, xp=xp, **kwargs)
        if out is NotImplemented:
            return out
        arrays = out if isinstance(out, tuple) else (out,)
        if any(_looks_not_finite(a, xp) for a in arrays):
            return NotImplemented
        return out

    return run


def _looks_not_finite(x: Any, xp: Any) -> bool:
    """Whether ``x`` holds inf or NaN, read only where the value checks read data."""
    if not reads_values(x):
        return False
    finite = xp.all(xp.isfinite(x))
    # Inside jax.jit or tf.function even operations on concrete arrays are staged.
    return not is_traced(finite) and not bool(finite)


def overrides(backend: str | None = None) -> dict[str, Callable[..., Any]]:
    """The overridden kernels (name -> backend implementation) of ``backend`` (or of all
    backends, keyed ``name@backend``): what the agreement tests walk."""
    if backend is not None:
        load_overrides(backend)
        return {name: impl for (name, b), impl in _OVERRIDES.items() if b == backend}
    return {f"{name}@{b}": impl for (name, b), impl in _OVERRIDES.items()}


@contextlib.contextmanager
def generic_kernels() -> Iterator[None]:
    """Run the generic implementation of every kernel inside the block (overrides off);
    also a decorator: ``generic_kernels()(fn)``."""
    global _use_overrides
    previous, _use_overrides = _use_overrides, False
    try:
        yield
    finally:
        _use_overrides = previous
