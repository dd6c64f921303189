"""The array API on ``tf.Tensor``: the namespace losskit's functions use for TensorFlow.

TensorFlow's tensors have no ``__array_namespace__`` and array-api-compat has no
TensorFlow wrapper, so this module is one: each function below takes and returns
``tf.Tensor`` and follows the array API standard's semantics where TensorFlow's own
function differs (type promotion between arrays and with Python scalars, ``clip``
with one bound, ``take_along_axis``, ``cumulative_sum``, ``argsort(descending=...)``,
``isdtype``, ``finfo``...).  It covers the functions losskit's losses use and the
element-wise functions a :func:`losskit.custom_loss` is likely to; it is not a
complete array library.

:func:`losskit.core.namespace.namespace` returns this module for TensorFlow tensors;
importing it imports TensorFlow, so nothing imports it before a tensor is seen.
Tensors inside ``tf.function`` (also with ``jit_compile=True``) are symbolic: their
shapes may hold ``None`` for sizes known only at run time (Keras's batch axis), which
:func:`losskit.core.namespace.shape` turns into 0-d tensors.
"""

from __future__ import annotations

import builtins
import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import ml_dtypes
import numpy as np
import tensorflow as tf

Array = Any

# The standard's names shadow Python's builtins here (bool, abs, sum, max, any...):
# this module reaches the builtins through ``builtins``.

# ------------------------------------------------------------------------ dtypes

bool = tf.bool
int8, int16, int32, int64 = tf.int8, tf.int16, tf.int32, tf.int64
uint8, uint16, uint32, uint64 = tf.uint8, tf.uint16, tf.uint32, tf.uint64
float16, bfloat16, float32, float64 = tf.float16, tf.bfloat16, tf.float32, tf.float64
complex64, complex128 = tf.complex64, tf.complex128

e, pi, inf, nan = math.e, math.pi, math.inf, math.nan
newaxis = None

_SIGNED = (int8, int16, int32, int64)
_UNSIGNED = (uint8, uint16, uint32, uint64)
_REAL_FLOATING = (float16, bfloat16, float32, float64)
_COMPLEX = (complex64, complex128)
_KINDS = {
    "bool": (bool,),
    "signed integer": _SIGNED,
    "unsigned integer": _UNSIGNED,
    "integral": _SIGNED + _UNSIGNED,
    "real floating": _REAL_FLOATING,
    "complex floating": _COMPLEX,
    "numeric": _SIGNED + _UNSIGNED + _REAL_FLOATING + _COMPLEX,
}
#: the defaults of ``__array_namespace_info__().default_dtypes()``: TensorFlow's own
#: float32, and 64-bit integers (NumPy's and PyTorch's choice) for labels and indices
_DEFAULT_FLOAT, _DEFAULT_INT = float32, int64


def isdtype(dtype: Any, kind: Any) -> bool:
    """Whether ``dtype`` is ``kind``: a dtype, a kind name or a tuple of them."""
    if isinstance(kind, tuple):
        return builtins.any(isdtype(dtype, k) for k in kind)
    if isinstance(kind, str):
        if kind not in _KINDS:
            raise ValueError(f"unknown dtype kind {kind!r}")
        return tf.as_dtype(dtype) in _KINDS[kind]
    return tf.as_dtype(dtype) == tf.as_dtype(kind)


@dataclasses.dataclass(frozen=True)
class finfo_object:
    bits: int
    eps: float
    max: float
    min: float
    smallest_normal: float
    dtype: Any


@dataclasses.dataclass(frozen=True)
class iinfo_object:
    bits: int
    max: int
    min: int
    dtype: Any


def _dtype_of(type_or_array: Any) -> Any:
    dtype = getattr(type_or_array, "dtype", type_or_array)
    return tf.as_dtype(dtype)


def finfo(type_or_array: Any) -> finfo_object:
    """Machine limits of a floating dtype (bfloat16 included, through ml_dtypes)."""
    dtype = _dtype_of(type_or_array)
    info = ml_dtypes.finfo(dtype.as_numpy_dtype)
    return finfo_object(
        bits=int(info.bits),
        eps=float(info.eps),
        max=float(info.max),
        min=float(info.min),
        smallest_normal=float(info.smallest_normal),
        dtype=dtype,
    )


def iinfo(type_or_array: Any) -> iinfo_object:
    dtype = _dtype_of(type_or_array)
    info = np.iinfo(dtype.as_numpy_dtype)
    return iinfo_object(bits=int(info.bits), max=int(info.max), min=int(info.min), dtype=dtype)


def _numpy_dtype(dtype: Any) -> np.dtype:
    return np.dtype(tf.as_dtype(dtype).as_numpy_dtype)


def result_type(*arrays_and_dtypes: Any) -> Any:
    """The standard's type promotion (as NumPy's for arrays; a Python scalar takes the
    array's dtype).  Mixed 16-bit floats (float16 with bfloat16) give float32."""
    dtypes = [_dtype_of(a) for a in arrays_and_dtypes if not _is_scalar(a)]
    if not dtypes:
        raise TypeError("result_type needs at least one array or dtype")
    out = dtypes[0]
    for d in dtypes[1:]:
        out = _promote(out, d)
    return out


def _promote(a: Any, b: Any) -> Any:
    if a == b:
        return a
    if bfloat16 not in (a, b):
        return tf.as_dtype(np.promote_types(_numpy_dtype(a), _numpy_dtype(b)))
    other = b if a == bfloat16 else a
    if other in _KINDS["integral"] or other == bool:
        return bfloat16
    if other == float16:
        return float32  # no 16-bit float holds both
    return other  # float32, float64, complex


def _is_scalar(value: Any) -> bool:
    """A Python number (or a NumPy scalar): it takes the dtype of the array it meets."""
    return isinstance(value, (int, float, complex, np.number, np.bool_))


def astype(x: Array, dtype: Any, /, *, copy: bool = True, device: Any = None) -> Array:
    x = tf.convert_to_tensor(x)
    return x if x.dtype == dtype else tf.cast(x, dtype)


# ------------------------------------------------------------------ constructors


def _on(device: Any):
    return tf.device(device) if device else _nothing()


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _default_dtype(value: Any) -> Any:
    """The dtype ``asarray`` gives a Python scalar or nested sequence."""
    kind = np.asarray(value).dtype.kind
    if kind == "b":
        return bool
    if kind in "iu":
        return _DEFAULT_INT
    if kind == "c":
        return complex64
    return _DEFAULT_FLOAT


def asarray(
    obj: Any, /, *, dtype: Any = None, device: Any = None, copy: bool | None = None
) -> Array:
    """A tensor from a tensor, a NumPy array, a Python scalar or a nested sequence.

    Python numbers default to float32 and int64; a NumPy array keeps its dtype."""
    if tf.is_tensor(obj):
        return astype(obj, dtype) if dtype is not None else obj
    if dtype is None:
        dtype = (
            tf.as_dtype(obj.dtype) if isinstance(obj, (np.ndarray, np.generic)) else None
        ) or _default_dtype(obj)
    with _on(device):
        return tf.constant(obj, dtype=dtype)


def zeros(shape: Any, *, dtype: Any = None, device: Any = None) -> Array:
    with _on(device):
        return tf.zeros(shape, dtype=dtype or _DEFAULT_FLOAT)


def ones(shape: Any, *, dtype: Any = None, device: Any = None) -> Array:
    with _on(device):
        return tf.ones(shape, dtype=dtype or _DEFAULT_FLOAT)


def full(shape: Any, fill_value: Any, *, dtype: Any = None, device: Any = None) -> Array:
    with _on(device):
        return tf.fill(shape, tf.constant(fill_value, dtype=dtype or _default_dtype(fill_value)))


def zeros_like(x: Array, /, *, dtype: Any = None, device: Any = None) -> Array:
    return tf.zeros_like(x, dtype=dtype)


def ones_like(x: Array, /, *, dtype: Any = None, device: Any = None) -> Array:
    return tf.ones_like(x, dtype=dtype)


def full_like(x: Array, /, fill_value: Any, *, dtype: Any = None, device: Any = None) -> Array:
    dtype = dtype or x.dtype
    return tf.fill(tf.shape(x), tf.constant(fill_value, dtype=dtype))


def arange(
    start: Any, /, stop: Any = None, step: Any = 1, *, dtype: Any = None, device: Any = None
) -> Array:
    if stop is None:
        start, stop = 0, start
    if dtype is None:
        numbers = (start, stop, step)
        dtype = (
            _DEFAULT_INT if builtins.all(isinstance(v, int) for v in numbers) else _DEFAULT_FLOAT
        )
    with _on(device):
        return tf.range(start, stop, step, dtype=dtype)


# ---------------------------------------------------------------- element-wise


def _pair(x1: Any, x2: Any) -> tuple[Array, Array]:
    """Two operands in their promoted dtype; a Python scalar takes the other's dtype."""
    dtype = result_type(x1, x2)
    return asarray(x1, dtype=dtype), asarray(x2, dtype=dtype)


def _unary(tf_fn: Any, name: str, doc: str = "") -> Any:
    def fn(x: Array, /) -> Array:
        return tf_fn(x)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc or f"Element-wise ``{name}`` (``{tf_fn.__module__}.{tf_fn.__name__}``)."
    return fn


abs = _unary(tf.abs, "abs")
exp = _unary(tf.exp, "exp")
expm1 = _unary(tf.math.expm1, "expm1")
log = _unary(tf.math.log, "log")
log1p = _unary(tf.math.log1p, "log1p")
log2 = _unary(lambda x: tf.math.log(x) / math.log(2.0), "log2", "Element-wise base-2 logarithm.")
log10 = _unary(
    lambda x: tf.math.log(x) / math.log(10.0), "log10", "Element-wise base-10 logarithm."
)
sqrt = _unary(tf.sqrt, "sqrt")
square = _unary(tf.square, "square")
sign = _unary(tf.sign, "sign")
negative = _unary(tf.negative, "negative")
positive = _unary(tf.identity, "positive")
sin, cos, tan = _unary(tf.sin, "sin"), _unary(tf.cos, "cos"), _unary(tf.tan, "tan")
asin, acos, atan = _unary(tf.asin, "asin"), _unary(tf.acos, "acos"), _unary(tf.atan, "atan")
sinh, cosh, tanh = _unary(tf.sinh, "sinh"), _unary(tf.cosh, "cosh"), _unary(tf.tanh, "tanh")
asinh, acosh, atanh = (
    _unary(tf.asinh, "asinh"),
    _unary(tf.acosh, "acosh"),
    _unary(tf.atanh, "atanh"),
)
floor, ceil = _unary(tf.floor, "floor"), _unary(tf.math.ceil, "ceil")


def _float_test(tf_fn: Any, name: str, on_integers: builtins.bool) -> Any:
    def fn(x: Array, /) -> Array:
        if x.dtype.is_floating:
            return tf_fn(x)
        return tf.fill(tf.shape(x), on_integers)  # integers and booleans are finite

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Element-wise ``{name}``; constant {on_integers} for integer arrays."
    return fn


isnan = _float_test(tf.math.is_nan, "isnan", False)
isinf = _float_test(tf.math.is_inf, "isinf", False)
isfinite = _float_test(tf.math.is_finite, "isfinite", True)
logical_not = _unary(tf.logical_not, "logical_not")


def round(x: Array, /) -> Array:
    """Rounds half to even, as the standard asks."""
    return x if isdtype(x.dtype, "integral") else tf.round(x)


def trunc(x: Array, /) -> Array:
    return x if isdtype(x.dtype, "integral") else tf.sign(x) * tf.floor(tf.abs(x))


def _binary(tf_fn: Any, name: str) -> Any:
    def fn(x1: Any, x2: Any, /) -> Array:
        return tf_fn(*_pair(x1, x2))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Element-wise ``{name}``, with the standard's type promotion."
    return fn


add, subtract = _binary(tf.add, "add"), _binary(tf.subtract, "subtract")
multiply, divide = _binary(tf.multiply, "multiply"), _binary(tf.truediv, "divide")
pow = _binary(tf.pow, "pow")
atan2 = _binary(tf.atan2, "atan2")
equal, not_equal = _binary(tf.equal, "equal"), _binary(tf.not_equal, "not_equal")
less, less_equal = _binary(tf.less, "less"), _binary(tf.less_equal, "less_equal")
greater, greater_equal = _binary(tf.greater, "greater"), _binary(tf.greater_equal, "greater_equal")
logical_and, logical_or = (
    _binary(tf.logical_and, "logical_and"),
    _binary(tf.logical_or, "logical_or"),
)


def matmul(x1: Array, x2: Array, /) -> Array:
    """Matrix product with the standard's type promotion; stacks of matrices broadcast
    (``tf.linalg.matmul``), a 1-D operand is a vector as in NumPy."""
    a, b = _pair(x1, x2)
    if a.shape.rank == 1 and b.shape.rank == 1:
        return tf.reduce_sum(a * b, axis=-1)
    if a.shape.rank == 1:
        return tf.squeeze(tf.linalg.matmul(a[None, :], b), axis=-2)
    if b.shape.rank == 1:
        return tf.squeeze(tf.linalg.matmul(a, b[:, None]), axis=-1)
    return tf.linalg.matmul(a, b)


def _unbroadcast(grad1: Array, grad2: Array, x1: Array, x2: Array) -> tuple[Array, Array]:
    """Gradients of a broadcasting binary operation, summed back to each operand's shape."""
    shape1, shape2 = tf.shape(x1), tf.shape(x2)
    axes1, axes2 = tf.raw_ops.BroadcastGradientArgs(s0=shape1, s1=shape2)
    return (
        tf.reshape(tf.reduce_sum(grad1, axes1), shape1),
        tf.reshape(tf.reduce_sum(grad2, axes2), shape2),
    )


def _tie_split(x1: Array, x2: Array, first_wins: Array) -> Array:
    """The share of the gradient going to x1 in a choice between x1 and x2: 1 where it
    was chosen, 0 where not, 1/2 each at a tie (as PyTorch and JAX do, where
    TensorFlow's own gives all of it to x1)."""
    one, half, zero = (tf.constant(v, x1.dtype) for v in (1.0, 0.5, 0.0))
    return tf.where(tf.equal(x1, x2), half, tf.where(first_wins, one, zero))


@tf.custom_gradient
def _maximum(x1: Array, x2: Array) -> Any:
    def grad(upstream: Array) -> tuple[Array, Array]:
        share = _tie_split(x1, x2, tf.greater(x1, x2))
        return _unbroadcast(upstream * share, upstream * (1.0 - share), x1, x2)

    return tf.maximum(x1, x2), grad


@tf.custom_gradient
def _minimum(x1: Array, x2: Array) -> Any:
    def grad(upstream: Array) -> tuple[Array, Array]:
        share = _tie_split(x1, x2, tf.less(x1, x2))
        return _unbroadcast(upstream * share, upstream * (1.0 - share), x1, x2)

    return tf.minimum(x1, x2), grad


def maximum(x1: Any, x2: Any, /) -> Array:
    """Element-wise maximum (NaN wins); at a tie each operand gets half the gradient."""
    a, b = _pair(x1, x2)
    return _maximum(a, b) if a.dtype.is_floating else tf.maximum(a, b)


def minimum(x1: Any, x2: Any, /) -> Array:
    """Element-wise minimum (NaN wins); at a tie each operand gets half the gradient."""
    a, b = _pair(x1, x2)
    return _minimum(a, b) if a.dtype.is_floating else tf.minimum(a, b)


@tf.custom_gradient
def _logaddexp(x1: Array, x2: Array) -> Any:
    # log(e^a + e^b) = max(a, b) + log1p(e^-|a - b|): no overflow, full precision for
    # a tiny difference.  a - b is NaN only when a and b are the same infinity: then
    # the result is that infinity, a + b.
    delta = x1 - x2
    out = tf.where(
        tf.math.is_nan(delta),
        x1 + x2,
        tf.maximum(x1, x2) + tf.math.log1p(tf.exp(-tf.abs(delta))),
    )

    def grad(upstream: Array) -> tuple[Array, Array]:
        # d/da = e^a / (e^a + e^b) = sigmoid(a - b): 1/2 at a tie, where the composition
        # above would give 1 and 0 (the kinks of max and |.|), and 1/2 for equal
        # infinities.  Recomputed from the inputs so that second derivatives see it.
        difference = x1 - x2
        half = tf.constant(0.5, difference.dtype)
        share = tf.where(tf.math.is_nan(difference), half, tf.sigmoid(difference))
        return _unbroadcast(upstream * share, upstream * (1.0 - share), x1, x2)

    return out, grad


def logaddexp(x1: Any, x2: Any, /) -> Array:
    """log(exp(x1) + exp(x2)), with the gradient exp(x_k - out) (1/2 each at a tie)."""
    return _logaddexp(*_pair(x1, x2))


def _hypot_value(x1: Array, x2: Array) -> Array:
    # sqrt(a^2 + b^2) = m sqrt(1 + (n / m)^2), m = max(|a|, |b|), n = min(|a|, |b|): the
    # squares never overflow or underflow.  m = 0 gives 0; an infinite operand gives
    # inf, even with a NaN or another infinity (where n / m would be NaN).
    a, b = tf.abs(x1), tf.abs(x2)
    m, n = tf.maximum(a, b), tf.minimum(a, b)
    zero = tf.equal(m, 0.0)
    ratio = n / tf.where(zero, tf.ones_like(m), m)
    out = tf.where(zero, tf.zeros_like(m), m * tf.sqrt(1.0 + ratio * ratio))
    infinite = tf.math.is_inf(a) | tf.math.is_inf(b)
    return tf.where(infinite, tf.constant(math.inf, m.dtype), out)


@tf.custom_gradient
def _hypot(x1: Array, x2: Array) -> Any:
    def grad(upstream: Array) -> tuple[Array, Array]:
        # d/da = a / hypot(a, b); 0 at a = b = 0 (a subgradient, where a / 0 is NaN).
        # Recomputed from the inputs so that second derivatives see it.
        h = _hypot_value(x1, x2)
        zero = tf.equal(h, 0.0)
        safe = tf.where(zero, tf.ones_like(h), h)
        g1 = tf.where(zero, tf.zeros_like(h), x1 / safe)
        g2 = tf.where(zero, tf.zeros_like(h), x2 / safe)
        return _unbroadcast(upstream * g1, upstream * g2, x1, x2)

    return _hypot_value(x1, x2), grad


def hypot(x1: Any, x2: Any, /) -> Array:
    """sqrt(x1^2 + x2^2) without overflow, with the gradient x_k / hypot (0 at the origin)."""
    return _hypot(*_pair(x1, x2))


def clip(x: Array, /, min: Any = None, max: Any = None) -> Array:
    """``x`` limited to [min, max] (either may be None); NaN stays NaN; x's dtype.

    At a bound the gradient passes (as PyTorch's ``clamp``)."""
    out = x
    if min is not None:
        out = tf.maximum(out, asarray(min, dtype=x.dtype))
    if max is not None:
        out = tf.minimum(out, asarray(max, dtype=x.dtype))
    return out


def where(condition: Any, x1: Any, x2: Any, /) -> Array:
    a, b = _pair(x1, x2)
    return tf.where(tf.convert_to_tensor(condition), a, b)


# ------------------------------------------------------------------ reductions


def _axis(axis: Any) -> Any:
    return list(axis) if isinstance(axis, tuple) else axis


def sum(x: Array, /, *, axis: Any = None, dtype: Any = None, keepdims: bool = False) -> Array:
    """Sum; booleans and small integers accumulate in the default integer dtype."""
    if dtype is None and (x.dtype == bool or isdtype(x.dtype, "signed integer")):
        dtype = _DEFAULT_INT
    if dtype is not None:
        x = astype(x, dtype)
    return tf.reduce_sum(x, axis=_axis(axis), keepdims=keepdims)


def prod(x: Array, /, *, axis: Any = None, dtype: Any = None, keepdims: bool = False) -> Array:
    if dtype is not None:
        x = astype(x, dtype)
    return tf.reduce_prod(x, axis=_axis(axis), keepdims=keepdims)


def mean(x: Array, /, *, axis: Any = None, keepdims: bool = False) -> Array:
    return tf.reduce_mean(x, axis=_axis(axis), keepdims=keepdims)


def max(x: Array, /, *, axis: Any = None, keepdims: bool = False) -> Array:
    return tf.reduce_max(x, axis=_axis(axis), keepdims=keepdims)


def min(x: Array, /, *, axis: Any = None, keepdims: bool = False) -> Array:
    return tf.reduce_min(x, axis=_axis(axis), keepdims=keepdims)


def any(x: Array, /, *, axis: Any = None, keepdims: bool = False) -> Array:
    return tf.reduce_any(_as_bool(x), axis=_axis(axis), keepdims=keepdims)


def all(x: Array, /, *, axis: Any = None, keepdims: bool = False) -> Array:
    return tf.reduce_all(_as_bool(x), axis=_axis(axis), keepdims=keepdims)


def _as_bool(x: Array) -> Array:
    x = tf.convert_to_tensor(x)
    return x if x.dtype == bool else tf.not_equal(x, tf.zeros((), dtype=x.dtype))


def cumulative_sum(
    x: Array, /, *, axis: int | None = None, dtype: Any = None, include_initial: bool = False
) -> Array:
    if axis is None:
        if x.ndim != 1:
            raise ValueError("cumulative_sum needs axis for an array of more than one axis")
        axis = 0
    if dtype is not None:
        x = astype(x, dtype)
    out = tf.cumsum(x, axis=axis)
    if include_initial:
        axis %= x.ndim
        padding = [[0, 0]] * x.ndim
        padding[axis] = [1, 0]
        out = tf.pad(out, padding)
    return out


def argmax(x: Array, /, *, axis: int | None = None, keepdims: bool = False) -> Array:
    return _arg_reduce(tf.argmax, x, axis, keepdims)


def argmin(x: Array, /, *, axis: int | None = None, keepdims: bool = False) -> Array:
    return _arg_reduce(tf.argmin, x, axis, keepdims)


def _arg_reduce(tf_fn: Any, x: Array, axis: int | None, keepdims: bool) -> Array:
    if axis is None:
        out = tf_fn(tf.reshape(x, [-1]), axis=0, output_type=_DEFAULT_INT)
        return tf.reshape(out, [1] * x.ndim) if keepdims else out
    out = tf_fn(x, axis=axis, output_type=_DEFAULT_INT)
    return tf.expand_dims(out, axis) if keepdims else out


# ----------------------------------------------------------------- manipulation


def reshape(x: Array, /, shape: Sequence[Any], *, copy: bool | None = None) -> Array:
    """Entries of ``shape`` may be 0-d integer tensors (sizes known at run time)."""
    return tf.reshape(x, list(shape))


def broadcast_to(x: Array, /, shape: Sequence[Any]) -> Array:
    return tf.broadcast_to(x, list(shape))


def expand_dims(x: Array, /, *, axis: int = 0) -> Array:
    return tf.expand_dims(x, axis)


def squeeze(x: Array, /, axis: int | tuple[int, ...]) -> Array:
    return tf.squeeze(x, axis=_axis(axis) if isinstance(axis, tuple) else [axis])


def permute_dims(x: Array, /, axes: Sequence[int]) -> Array:
    return tf.transpose(x, list(axes))


def matrix_transpose(x: Array, /) -> Array:
    """Swap the last two axes (a stack of matrices transposed)."""
    return tf.linalg.matrix_transpose(x)


def moveaxis(x: Array, source: Any, destination: Any, /) -> Array:
    sources = [source] if isinstance(source, int) else list(source)
    destinations = [destination] if isinstance(destination, int) else list(destination)
    ndim = x.ndim
    sources = [s % ndim for s in sources]
    destinations = [d % ndim for d in destinations]
    order = [i for i in range(ndim) if i not in sources]
    for d, s in sorted(zip(destinations, sources, strict=True)):
        order.insert(d, s)
    return tf.transpose(x, order)


def concat(arrays: Sequence[Array], /, *, axis: int | None = 0) -> Array:
    dtype = result_type(*arrays)
    arrays = [astype(a, dtype) for a in arrays]
    if axis is None:
        return tf.concat([tf.reshape(a, [-1]) for a in arrays], axis=0)
    return tf.concat(arrays, axis=axis)


def stack(arrays: Sequence[Array], /, *, axis: int = 0) -> Array:
    dtype = result_type(*arrays)
    return tf.stack([astype(a, dtype) for a in arrays], axis=axis)


def flip(x: Array, /, *, axis: Any = None) -> Array:
    axes = list(range(x.ndim)) if axis is None else [axis] if isinstance(axis, int) else axis
    return tf.reverse(x, list(axes))


# --------------------------------------------------------- indexing and sorting


def take(x: Array, indices: Array, /, *, axis: int | None = None) -> Array:
    if axis is None:
        if x.ndim != 1:
            raise ValueError("take needs axis for an array of more than one axis")
        axis = 0
    return tf.gather(x, indices, axis=axis)


def take_along_axis(x: Array, indices: Array, /, *, axis: int = -1) -> Array:
    """``out[..., j, ...] = x[..., indices[..., j, ...], ...]`` along ``axis``; the other
    axes of ``x`` and ``indices`` broadcast against each other."""
    ndim = x.ndim
    axis %= ndim
    if axis != ndim - 1:
        x = moveaxis(x, axis, -1)
        indices = moveaxis(indices, axis, -1)
    # Every axis but the last is a batch axis of the gather; broadcast them to one shape.
    batch = tf.broadcast_dynamic_shape(tf.shape(x)[:-1], tf.shape(indices)[:-1])
    x = tf.broadcast_to(x, tf.concat([batch, tf.shape(x)[-1:]], axis=0))
    indices = tf.broadcast_to(indices, tf.concat([batch, tf.shape(indices)[-1:]], axis=0))
    out = tf.gather(x, indices, axis=ndim - 1, batch_dims=ndim - 1)
    return out if axis == ndim - 1 else moveaxis(out, -1, axis)


def argsort(x: Array, /, *, axis: int = -1, descending: bool = False, stable: bool = True) -> Array:
    """Indices that sort ``x`` along ``axis``; equal elements keep their order, also
    descending (TensorFlow sorts through ``top_k``, which puts the lower index first)."""
    direction = "DESCENDING" if descending else "ASCENDING"
    return tf.cast(tf.argsort(x, axis=axis, direction=direction, stable=True), _DEFAULT_INT)


def sort(x: Array, /, *, axis: int = -1, descending: bool = False, stable: bool = True) -> Array:
    return tf.sort(x, axis=axis, direction="DESCENDING" if descending else "ASCENDING")


# ----------------------------------------------------------------- information


class _Info:
    """What ``__array_namespace_info__()`` returns."""

    def capabilities(self) -> dict[str, Any]:
        return {"boolean indexing": False, "data-dependent shapes": False}

    def default_device(self) -> str:
        return ""

    def devices(self) -> list[str]:
        return [d.name for d in tf.config.list_logical_devices()]

    def default_dtypes(self, *, device: Any = None) -> dict[str, Any]:
        return {
            "real floating": _DEFAULT_FLOAT,
            "complex floating": complex64,
            "integral": _DEFAULT_INT,
            "indexing": _DEFAULT_INT,
        }

    def dtypes(self, *, device: Any = None, kind: Any = None) -> dict[str, Any]:
        kinds = _KINDS["numeric"] + (bool,)
        chosen = kinds if kind is None else [d for d in kinds if isdtype(d, kind)]
        return {d.name: d for d in chosen}


def __array_namespace_info__() -> _Info:
    return _Info()


# --------------------------------------------------------- losskit's backend hooks


def is_tensor(x: Any) -> bool:
    """A dense ``tf.Tensor``, eager or symbolic (not a variable, sparse or ragged tensor)."""
    return isinstance(x, tf.Tensor)


def is_symbolic(x: Any) -> bool:
    """A tensor without a value: inside ``tf.function`` (with or without XLA)."""
    return isinstance(x, tf.Tensor) and tf.is_symbolic_tensor(x)


def stop_gradient(x: Array) -> Array:
    return tf.stop_gradient(x)


def assert_same_shape(x1: Array, x2: Array, message: str) -> None:
    """Inside ``tf.function``, fail at run time unless the two shapes are equal (sizes
    unknown while tracing); the graph runs the assertion with its other stateful ops."""
    tf.debugging.assert_equal(tf.shape(x1), tf.shape(x2), message=message)


def dynamic_shape(x: Array) -> tuple[Any, ...]:
    """``x``'s shape with each size unknown until run time as a 0-d int32 tensor."""
    sizes = tf.shape(x)
    return tuple(s if s is not None else sizes[i] for i, s in enumerate(x.shape))
