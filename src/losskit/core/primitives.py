"""Numerically stable building blocks, written once on the array API.

Each primitive states the identity it relies on.  All of them have gradients that
stay finite wherever their value is finite: no ``where`` whose unused branch has an
inf or NaN derivative (that would poison the gradient), only clipped, shifted or
replaced arguments.  (``array_api_extra.apply_where`` is not used for this: under JAX it
evaluates the unused branch and its gradient, so 1/d at d = 0 turns the gradient into
NaN, and under ``torch.compile(fullgraph=True)`` its boolean indexing breaks the graph.)
"""

from __future__ import annotations

import math
from typing import Any

from losskit.core.kernels import kernel
from losskit.core.namespace import accumulation_dtype, constant, finfo_tiny, stop_gradient

__all__ = [
    "gather_classes",
    "log1mexp",
    "log_cosh",
    "log_sigmoid",
    "log_softmax",
    "logsumexp",
    "logsumexp_parts",
    "safe_log",
    "sigmoid",
    "softmax",
    "softplus",
    "weighted_log",
    "xlogy",
]

Array = Any
LOG2 = math.log(2.0)


def softplus(x: Array, *, xp: Any) -> Array:
    """log(1 + exp(x)) = logaddexp(x, 0).

    Backends evaluate ``logaddexp`` as max(a, b) + log1p(exp(-|a - b|)): no overflow
    for large |x|, full precision for tiny values (x << 0).  Its gradient sigmoid(x) is
    finite at +-inf and 1/2 at 0 in every backend (composing max and abs by hand gives
    a kink-dependent slope there), and JAX differentiates it with one exp.
    """
    # 0 as a 0-d array: a Python scalar makes array-api-compat's torch wrapper look up a
    # result type, which torch.compile(fullgraph=True) cannot trace
    return xp.logaddexp(x, constant(0.0, x, xp))


def log_sigmoid(x: Array, *, xp: Any) -> Array:
    """log(sigmoid(x)) = -softplus(-x)."""
    return -softplus(-x, xp=xp)


def log1mexp(x: Array, *, xp: Any) -> Array:
    """log(1 - exp(x)) for x < 0 (the log of 1 - p from log p), finite up to x = 0.

    Two forms, each accurate where the other cancels (Maechler, 2012): log(-expm1(x))
    for x > -log 2, log1p(-exp(x)) below.  Double-where: each form is fed an argument
    in its own range (-1 for the other's points), so the unused branch and its gradient
    stay finite.  x is clipped at minus the smallest normal number first, so that x = 0
    (p = 1) gives a large finite value, about log(tiny), instead of -inf; the gradient
    is zero above the clip.
    """
    x = xp.clip(x, None, -finfo_tiny(x, xp))
    near_zero = x > -LOG2
    small = xp.where(near_zero, x, -1.0)
    large = xp.where(near_zero, -1.0, x)
    return xp.where(near_zero, xp.log(-xp.expm1(small)), xp.log1p(-xp.exp(large)))


def _log_cosh_bound(x: Array, xp: Any) -> float:
    """The |x| beyond which log cosh x = |x| - log 2 in ``x``'s dtype: there the rest,
    log1p(exp(-2|x|)) < exp(-2|x|), is under a quarter of the rounding unit.  Below it
    expm1(|x|)^2 stays finite, even in float16 (about 4.7 there, 9.2 in float32, 19.2 in
    float64)."""
    return 0.5 * math.log(4.0 / float(xp.finfo(x.dtype).eps)) + 0.5


@kernel
def log_cosh(x: Array, *, xp: Any) -> Array:
    """log(cosh(x)) to a few units of rounding at every x.

    ``logaddexp(x, -x) - log 2`` never overflows, but near 0 it subtracts log 2 from
    log 2 + x^2 / 2: a relative error of about u / x^2, 10% at x = 1e-3 in float32 (the
    form of Keras and optax).  Here, with e = expm1(|x|),
    cosh x - 1 = e^2 / (2 (1 + e)) has no cancellation, so log cosh x = log1p of it is
    exact to a few units at every x (e^2 / 2 ~ x^2 / 2 near 0); beyond the bound of
    :func:`_log_cosh_bound` it is |x| - log 2, and |x| is clipped there first so that
    neither branch nor its gradient overflows.  Its derivative, through these, is tanh x.
    16-bit x is computed in float32: autodiff's (2 + 2e)^-2 is subnormal in float16
    (2e-5 at x = 4.65), and the gradient came out 1.04 where tanh x is 0.9998.
    """
    dtype = x.dtype
    wide = accumulation_dtype(x, xp)
    if wide != dtype:
        x = xp.astype(x, wide)
    a = xp.abs(x)
    bound = _log_cosh_bound(x, xp)
    e = xp.expm1(xp.clip(a, None, bound))
    out = xp.where(a > bound, a - LOG2, xp.log1p(e * e / (2.0 + 2.0 * e)))
    return out if wide == dtype else xp.astype(out, dtype)


def sigmoid(x: Array, *, xp: Any) -> Array:
    """1 / (1 + exp(-x)), evaluated through z = exp(-|x|) <= 1 so neither branch overflows:
    sigmoid(x) = 1 / (1 + z) for x >= 0 and z / (1 + z) for x < 0."""
    z = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))


def logsumexp_parts(x: Array, *, axis: int, keepdims: bool = False, xp: Any) -> tuple[Array, Array]:
    """(m, log s), whose sum is log(sum(exp(x))): m = max(x) and s = sum(exp(x - m)).

    Kept apart because m + log s rounds log s to the spacing of m: at logits of a few
    hundred in float16 (spacing 0.25) or 3e4 in float32 (0.002), more than the
    log-probability of a likely class (log 0.97 = -0.03 came out 0).  A log-probability
    is (x - m) - log s, with x - m exact near the maximum and log s in [0, log n].
    The shift m cancels exactly, so it is excluded from the gradient (stop_gradient):
    differentiating through ``max`` would only add work.  A non-finite m (an inf along
    the axis, or all -inf) is replaced by 0, so an all -inf axis gives -inf, not NaN.
    """
    m = stop_gradient(xp.max(x, axis=axis, keepdims=True), xp)
    m = xp.where(xp.isfinite(m), m, 0.0)
    log_s = xp.log(xp.sum(xp.exp(x - m), axis=axis, keepdims=True))
    if keepdims:
        return m, log_s
    return xp.squeeze(m, axis=axis), xp.squeeze(log_s, axis=axis)


def logsumexp(x: Array, *, axis: int, keepdims: bool = False, xp: Any) -> Array:
    """log(sum(exp(x))) = m + log(sum(exp(x - m))) with m = max(x) (see
    :func:`logsumexp_parts`; subtract a logit from the parts, not from this sum)."""
    m, log_s = logsumexp_parts(x, axis=axis, keepdims=keepdims, xp=xp)
    return m + log_s


def log_softmax(x: Array, *, axis: int, xp: Any) -> Array:
    """log(softmax(x)) = (x - m) - log(sum(exp(x - m))), m = max(x): from the parts of
    :func:`logsumexp_parts`, not x - logsumexp(x), which loses the log-probabilities
    of likely classes at large logits."""
    m, log_s = logsumexp_parts(x, axis=axis, keepdims=True, xp=xp)
    return (x - m) - log_s


@kernel
def softmax(x: Array, *, axis: int, xp: Any) -> Array:
    """exp(x) / sum(exp(x)) = exp(log_softmax(x)).

    Through the log-softmax, so that no intermediate overflows; XLA compiles it (under
    ``jax.jit``) with less memory than e / sum(e).  A kernel: TensorFlow's fused
    ``tf.nn.softmax`` is faster there (:mod:`losskit.tensorflow.kernels`).
    """
    return xp.exp(log_softmax(x, axis=axis, xp=xp))


def safe_log(p: Array, *, xp: Any) -> Array:
    """log(max(p, tiny)), tiny the smallest normal number of p's dtype.

    Probabilities of exactly 0 give a large finite value (about -87 in float32, -708
    in float64) instead of -inf, with a zero gradient where the clip is active.
    """
    return xp.log(xp.clip(p, finfo_tiny(p, xp), None))


def weighted_log(weight: Array, log_value: Array, *, xp: Any) -> Array:
    """weight * log_value, exactly 0 wherever weight is 0, whatever log_value holds.

    The target-weighted log-probability of the cross-entropies: 0 * log 0 = 0, so a class
    of target 0 contributes nothing even where its log-probability is -inf (a logit of
    -inf forbids a class) or its logit is +-inf.  A non-finite log_value of weight 0 is
    replaced by 0 *before* the product: the product's gradients, log_value for the
    weight and the weight for log_value, stay finite (0 there), where masking after the
    product would still send 0 * inf = NaN into the gradient.  log_value's own gradient
    must be finite there (a logit, log-softmax, log-sigmoid); for log p of a probability
    p that may be 0, use :func:`xlogy` or :func:`safe_log`.
    """
    unused = (weight == 0) & ~xp.isfinite(log_value)
    return weight * xp.where(unused, 0.0, log_value)


def xlogy(x: Array, y: Array, *, xp: Any) -> Array:
    """x * log(y) with 0 * log(0) = 0.

    Double-where: y is replaced by 1 where x == 0 *before* the log, so the unused
    branch holds log(1) = 0 and its gradient stays finite.
    """
    x_is_zero = x == 0
    y_safe = xp.where(x_is_zero, 1.0, y)
    return xp.where(x_is_zero, 0.0, x * safe_log(y_safe, xp=xp))


def gather_classes(x: Array, labels: Array, *, axis: int, xp: Any) -> Array:
    """x[..., labels, ...] along ``axis``: the per-element value of each label's class.

    ``labels`` has x's shape without ``axis``; no one-hot array is built.
    """
    # The namespace's default index dtype: int64 for torch (gather needs it), int32 for
    # JAX without x64; no cast when the labels already have it.
    index_dtype = xp.__array_namespace_info__().default_dtypes()["indexing"]
    if labels.dtype != index_dtype:
        labels = xp.astype(labels, index_dtype)
    index = xp.expand_dims(labels, axis=axis)
    return xp.squeeze(xp.take_along_axis(x, index, axis=axis), axis=axis)
