"""Array namespace, dtype policy and backend-specific hooks.

The public entry of every loss asks for the namespace once (``xp = namespace(...)``)
and passes ``xp`` on.  The core never imports torch, jax or tensorflow at module level:
backend hooks look them up in ``sys.modules``, so importing losskit costs nothing extra.

Dtype policy, in one place:

- predictions must be real floating; the loss keeps their dtype (no upcast to float64);
- floating and boolean/integer targets are cast to the prediction's dtype;
- integer class labels stay integer;
- 16-bit floats are summed in float32 and the result is returned in their own dtype
  (:func:`accumulation_dtype`), on every backend;
- constants are built in the prediction's dtype and on its device;
- under PyTorch's autocast, float16/bfloat16 predictions are computed in float32
  (:func:`autocast_to_float32`), as PyTorch computes its own losses;
- losses whose intermediates leave float16's range at logits it holds (products of
  log-probabilities of -1e4 with probabilities, and their gradients) compute 16-bit
  inputs in float32 and return the prediction's dtype (:func:`computed_in_float32`).
"""

from __future__ import annotations

import functools
import importlib
import inspect
import math
import numbers
import sys
from typing import Any

import array_api_compat
from array_api_compat import array_namespace, device, is_array_api_obj

from losskit.errors import LossInputError

__all__ = [
    "accumulation_dtype",
    "as_array",
    "as_float",
    "autocast_to_float32",
    "computed_in_float32",
    "constant",
    "device",
    "finfo_sqrt_tiny",
    "finfo_tiny",
    "is_array",
    "is_tensorflow_namespace",
    "is_torch_namespace",
    "is_traced",
    "namespace",
    "outside_autograph",
    "require_floating",
    "require_integer",
    "require_numeric",
    "scalar_option",
    "scan",
    "shape",
    "stop_gradient",
]

Array = Any


def _library_name(x: object) -> str:
    return type(x).__module__.split(".")[0]


#: losskit's array-API namespace for TensorFlow tensors (they have none of their own)
_TENSORFLOW_NAMESPACE = "losskit.core.tensorflow_namespace"


def _is_tensorflow_tensor(x: object) -> bool:
    tf = sys.modules.get("tensorflow")
    return tf is not None and isinstance(x, tf.Tensor)


def is_array(x: object) -> bool:
    """An array losskit computes on: an array-API array or a TensorFlow tensor."""
    return is_array_api_obj(x) or _is_tensorflow_tensor(x)


def is_tensorflow_namespace(xp: Any) -> bool:
    return getattr(xp, "__name__", None) == _TENSORFLOW_NAMESPACE


#: names of PyTorch's namespaces: torch itself and array-api-compat's wrapper
_TORCH_NAMESPACES = frozenset({"torch", f"{array_api_compat.__name__}.torch"})


def is_torch_namespace(xp: Any) -> bool:
    """Whether ``xp`` is PyTorch's namespace (array-api-compat's test, without its cache,
    which ``torch.compile`` warns about)."""
    return xp.__name__ in _TORCH_NAMESPACES


def namespace(**arrays: Array) -> Any:
    """Return the array namespace shared by the given named arrays.

    Raises :class:`LossInputError` naming the argument when one is not an array (``None``,
    a list, a string) or holds no numbers (NumPy string, bytes, object or structured
    arrays: converting them would silently parse text), and when the arrays come from
    different libraries.
    """
    torch = sys.modules.get("torch")
    compat_torch = sys.modules.get(f"{array_api_compat.__name__}.torch")
    if (
        torch is not None
        and compat_torch is not None
        and arrays
        and all(isinstance(a, torch.Tensor) for a in arrays.values())
    ):
        # All tensors (which always hold numbers): PyTorch's namespace, without the
        # general lookup (which costs more than a small loss, and which torch.compile
        # warns about).
        return compat_torch
    for name, a in arrays.items():
        if not is_array(a):
            got = "None" if a is None else type(a).__name__
            hint = (
                ": pass tf.convert_to_tensor(variable)"
                if _library_name(a) == "tensorflow" and "Variable" in type(a).__name__
                else ""
            )
            raise LossInputError(
                f"{name} must be an array (NumPy, PyTorch, JAX, TensorFlow, CuPy or another "
                f"array-API library); got {got}{hint}"
            )
    tensorflow = [_is_tensorflow_tensor(a) for a in arrays.values()]
    try:
        if tensorflow and all(tensorflow):
            xp = importlib.import_module(_TENSORFLOW_NAMESPACE)
        elif any(tensorflow):
            raise TypeError("TensorFlow tensors with other arrays")
        else:
            xp = array_namespace(*arrays.values())
    except TypeError:
        kinds = ", ".join(f"{n}: {_library_name(a)}" for n, a in arrays.items())
        raise LossInputError(
            f"arrays come from different libraries ({kinds}); convert them all to one "
            "library, on one device, before calling the loss"
        ) from None
    for name, a in arrays.items():
        require_numeric(a, name, xp)
    return xp


def require_numeric(x: Array, name: str, xp: Any) -> None:
    """Raise unless ``x`` holds numbers (boolean, integer, real or complex floating)."""
    if not xp.isdtype(x.dtype, ("bool", "numeric")):
        raise LossInputError(
            f"{name} must hold numbers; got an array of dtype {x.dtype} (strings, bytes, "
            f"objects or records are not converted). Convert it first, e.g. "
            f"{name}.astype(float32)"
        )


def shape(x: Array) -> tuple[Any, ...]:
    """``x.shape``, with each size unknown until run time (``None`` in ``x.shape``:
    TensorFlow inside ``tf.function``, such as Keras's batch axis) as a 0-d integer
    array; ``reshape``, ``broadcast_to`` and arithmetic take either."""
    dims = tuple(x.shape)
    if None not in dims:
        return dims
    return importlib.import_module(_TENSORFLOW_NAMESPACE).dynamic_shape(x)


def require_floating(x: Array, name: str, xp: Any) -> None:
    """Raise unless ``x`` has a real floating dtype."""
    if not xp.isdtype(x.dtype, "real floating"):
        raise LossInputError(
            f"{name} must have a real floating dtype (float16, bfloat16, float32 or "
            f"float64); got {x.dtype}. Cast it, e.g. pred.astype(float32)"
        )


def require_integer(x: Array, name: str, xp: Any) -> None:
    """Raise unless ``x`` holds integer class labels."""
    if not xp.isdtype(x.dtype, "integral"):
        raise LossInputError(
            f"{name} must hold integer class labels; got dtype {x.dtype}. For one-hot or "
            "probability targets use the non-sparse loss"
        )


def autocast_to_float32(x: Array, xp: Any) -> Array:
    """``x`` in float32 when it is a float16 or bfloat16 tensor and PyTorch's autocast is
    on for its device; ``x`` otherwise.

    PyTorch's losses are on autocast's float32 list: under autocast they compute in
    float32 and return float32.  losskit's losses do the same by casting the predictions
    here, at input preparation (targets, weights and options follow the prediction's
    dtype); the gradient flows back through the cast in the prediction's own dtype.
    """
    return x.float() if _autocast_widens(x, xp) else x


def _autocast_widens(x: Array, xp: Any) -> bool:
    """Whether ``x`` is a 16-bit PyTorch tensor under autocast for its device."""
    if not is_torch_namespace(xp):
        return False
    torch = sys.modules["torch"]
    return x.dtype in (torch.float16, torch.bfloat16) and torch.is_autocast_enabled(x.device.type)


def _sixteen_bit_namespace(x: object) -> Any:
    """The namespace of ``x`` when it is a float16 or bfloat16 array, else None (anything
    else, arrays or not, is left to the loss's own checks)."""
    if not is_array(x):
        return None
    try:
        xp = namespace(array=x)
    except LossInputError:
        return None
    if xp.isdtype(x.dtype, "real floating") and xp.finfo(x.dtype).bits < 32:
        return xp
    return None


def computed_in_float32(loss: Any) -> Any:
    """Run ``loss`` on float32 copies of its float16 and bfloat16 array arguments and
    return its result in the prediction's (the first argument's) dtype.

    For losses whose intermediates a 16-bit dtype cannot hold although its inputs and
    result fit: at logits of 1e4, a log-probability of -2e4 times a probability, or the
    gradient of a divergence's logarithms, passes float16's 65504, and the gradient turns
    NaN where the value is right.  The cast back is differentiable, so gradients arrive
    in each input's own dtype.  Under PyTorch's autocast the result stays float32, as
    :func:`autocast_to_float32` does.
    """

    parameters = inspect.signature(loss).parameters.values()
    array_names = [p.name for p in parameters if p.kind == p.POSITIONAL_OR_KEYWORD]

    def widened(x: Any) -> Any:
        xp = _sixteen_bit_namespace(x)
        return x if xp is None else xp.astype(x, xp.float32)

    @functools.wraps(loss)
    def wrapped(*arrays: Any, **options: Any) -> Any:
        # the arrays may be passed by name too (pred=..., target=...)
        pred = arrays[0] if arrays else options.get(array_names[0])
        out = loss(
            *(widened(x) for x in arrays),
            **{k: widened(v) if k in array_names else v for k, v in options.items()},
        )
        xp = _sixteen_bit_namespace(pred)
        if xp is None or _autocast_widens(pred, xp):
            return out
        if isinstance(out, tuple):
            return tuple(xp.astype(o, pred.dtype) for o in out)
        return xp.astype(out, pred.dtype)

    return wrapped


def as_float(x: Array, like: Array, name: str, xp: Any) -> Array:
    """Cast a target or weight to the dtype of ``like`` (complex inputs are refused)."""
    if xp.isdtype(x.dtype, "complex floating"):
        raise LossInputError(f"{name} must be real; got dtype {x.dtype}")
    if x.dtype == like.dtype:
        return x
    return xp.astype(x, like.dtype)


def as_array(value: Any, like: Array, name: str, xp: Any) -> Array:
    """Turn an option given as an array, a sequence or a number into an array like ``like``.

    Arrays must come from the same library as ``like``; sequences and numbers are
    converted in ``like``'s dtype and on its device.
    """
    if is_array(value):
        namespace(**{name: value, "pred": like})
        return as_float(value, like, name, xp)
    if not _holds_only_numbers(value):
        # asarray would parse "1.5" into 1.5 and turn None into NaN: refuse both.
        raise LossInputError(
            f"{name} must be an array, a sequence of numbers or a number; got {value!r}"
        )
    try:
        return xp.asarray(value, dtype=like.dtype, device=device(like))
    except (TypeError, ValueError, OverflowError) as err:
        raise LossInputError(
            f"{name} must be an array, a sequence of numbers or a number; got {value!r}"
        ) from err


def _holds_only_numbers(value: Any) -> bool:
    """A real number, or a (nested) list or tuple of them; arrays inside are left to asarray."""
    if isinstance(value, (list, tuple)):
        return all(_holds_only_numbers(v) for v in value)
    return isinstance(value, numbers.Real) or (
        is_array_api_obj(value) and array_namespace(value).isdtype(value.dtype, "numeric")
    )


def constant(value: float, like: Array, xp: Any) -> Array:
    """A 0-d array holding ``value`` in ``like``'s dtype and on its device."""
    return xp.asarray(value, dtype=like.dtype, device=device(like))


def scalar_option(value: Any, like: Array, name: str, xp: Any) -> Any:
    """A float option as it enters the arithmetic: a Python float for a number (a NumPy
    scalar counts), else a 0-d array in ``like``'s dtype, so that a learnable or traced
    option keeps its gradient and ``like`` is not promoted to the option's dtype
    (TensorFlow refuses to mix them).  An array of any other shape is refused."""
    if isinstance(value, numbers.Number) or not is_array(value):  # NumPy scalars are Numbers
        return float(value)
    array = as_array(value, like, name, xp)
    if array.ndim != 0:
        raise LossInputError(
            f"{name} must be a number or a 0-d array; got shape {tuple(array.shape)}"
        )
    return array


def is_static_number(value: Any) -> bool:
    """A Python number (not a bool): its value is known even while tracing, so a loss may
    branch on it.  A traceable option given as an array takes the general path instead."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def accumulation_dtype(x: Array, xp: Any) -> Any:
    """The dtype sums over ``x`` are accumulated in: float32 for float16 and bfloat16
    (a float16 sum overflows at 65504 long before its mean does), else ``x``'s own."""
    return xp.float32 if xp.finfo(x.dtype).bits < 32 else x.dtype


def finfo_tiny(x: Array, xp: Any) -> float:
    """Smallest positive normal number of ``x``'s floating dtype."""
    return float(xp.finfo(x.dtype).smallest_normal)


def finfo_sqrt_tiny(x: Array, xp: Any) -> float:
    """Smallest positive number whose square is a normal number of ``x``'s dtype: about
    7.8e-3 in float16, 1.1e-19 in float32 and bfloat16, 1.5e-154 in float64.

    A floor for a quantity divided by (so differentiated through its square): above it,
    the 1/v^2 of the gradient neither underflows nor overflows."""
    return math.sqrt(finfo_tiny(x, xp))


def stop_gradient(x: Array, xp: Any) -> Array:
    """``x`` as a value that autodiff treats as a constant.

    The array API standard has no such operation, so each backend gets its own:
    ``detach`` for PyTorch, ``jax.lax.stop_gradient`` for JAX, ``tf.stop_gradient`` for
    TensorFlow, identity elsewhere.
    """
    if is_torch_namespace(xp):
        return x.detach()
    if array_api_compat.is_jax_namespace(xp):
        return sys.modules["jax"].lax.stop_gradient(x)
    if is_tensorflow_namespace(xp):
        return xp.stop_gradient(x)
    return x


def scan(step: Any, carry: Array, xs: tuple[Array, ...], xp: Any) -> Array:
    """The carry after ``carry = step(carry, (x[i] for x in xs))`` for each i along the
    leading axis of ``xs``: a recurrence over time, written once.

    Under JAX it is ``jax.lax.scan``, which traces ``step`` once, so ``jax.jit``'s compile
    time does not grow with the length (a Python loop would trace every step); elsewhere
    a Python loop, which eager PyTorch and ``torch.compile`` handle as they come.
    """
    if array_api_compat.is_jax_namespace(xp):
        lax = sys.modules["jax"].lax
        return lax.scan(lambda c, x: (step(c, x), None), carry, xs)[0]
    for i in range(xs[0].shape[0]):
        carry = step(carry, tuple(x[i, ...] for x in xs))
    return carry


def outside_autograph(fn: Any) -> Any:
    """Mark ``fn`` so that TensorFlow's AutoGraph runs it as written inside ``tf.function``.

    AutoGraph rewrites the source of every function a ``tf.function`` calls (branches
    on tensors become ``tf.cond``...) unless it carries the mark that
    ``tf.autograph.experimental.do_not_convert`` sets.  losskit's code has no Python
    control flow on array values (it traces under ``jax.jit`` too), so a rewrite would
    only cost time (tens of seconds for the first trace of a loss) and stage its imports
    as graph calls.  Setting the mark needs no TensorFlow import.
    """
    fn.autograph_info__ = None
    return fn


def is_traced(x: Array) -> bool:
    """True when ``x`` has no concrete value: inside ``jax.jit``, ``torch.compile``,
    ``torch.func`` transforms or tracing, ``tf.function`` (also with ``jit_compile``).
    Value checks are skipped for such arrays."""
    if _is_tensorflow_tensor(x):
        return bool(sys.modules["tensorflow"].is_symbolic_tensor(x))
    jax = sys.modules.get("jax")
    if jax is not None and isinstance(x, jax.core.Tracer):
        return True
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(x, torch.Tensor):
        if torch.compiler.is_compiling() or torch.jit.is_tracing():
            return True
        if torch._C._functorch.is_functorch_wrapped_tensor(x):
            return True
        # FakeTensor and FunctionalTensor carry shapes but no data (export, compile).
        return type(x).__name__ in ("FakeTensor", "FunctionalTensor")
    return False
