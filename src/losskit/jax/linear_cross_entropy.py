r"""Cross-entropy of a linear layer's output for JAX, without materialising the logits.

The JAX counterpart of :func:`losskit.torch.linear_cross_entropy` (same options, same
math; see :mod:`losskit.torch.fast.logit_blocks` for the loss and its gradient).  The
tokens are processed in chunks by ``jax.lax.scan`` inside a ``jax.custom_vjp``: each
chunk's ``[chunk, V]`` logits live only inside one step of the loop, so under
``jax.jit`` XLA holds one chunk of logits at a time instead of the ``[N, V]`` logits,
their softmax and their gradient that autodiff of the unfused ``h @ W.T`` keeps.

For ``"mean"`` and ``"sum"`` the gradients with respect to ``hidden``, ``weight`` and
``bias`` are computed during the forward scan (the loss is a sum of per-token terms
whose coefficients are known then), and the backward pass only scales them by the
cotangent: one product for the logits and two for the gradients per chunk.  For
``"none"`` the cotangent is per token, so the backward pass recomputes each chunk's
logits (one more product).
"""

from __future__ import annotations

import functools
import math
from typing import Any

import jax
import jax.numpy as jnp

from losskit.core.linear_head import check_head_inputs, check_head_options, check_token_weights
from losskit.core.reduction import Reduction
from losskit.core.validation import check_labels
from losskit.errors import LossInputError

__all__ = ["linear_cross_entropy"]

#: Fewest tokens per automatic chunk: smaller matrix products run far below peak speed.
MIN_CHUNK = 128

Array = Any


def _auto_chunk(hidden_size: int) -> int:
    """H / 4 tokens (at least 128): a chunk's float32 logits take a quarter of the memory
    of the [V, H] weight gradient; XLA keeps about three such [chunk, V] buffers alive in
    a step of the loop (logits, exponentials, gradient)."""
    return max(MIN_CHUNK, hidden_size // 4)


def _accumulation_dtype(dtype: Any) -> Any:
    """float32 for half-precision inputs, the input dtype otherwise (float32, float64)."""
    return jnp.promote_types(dtype, jnp.float32)


def _chunk(
    h: Array, weight: Array, bias: Array, y: Array, options: tuple, want_grad: bool
) -> tuple[Array, Array | None]:
    """Per-token losses ``[C]`` of one chunk and, if wanted, their gradient with respect
    to the raw logits ``[C, V]``, in the accumulation dtype.

    With ``x = softcap(r)``, ``r = h Wᵀ + b`` and ``λ = logsumexp(x)``:
    ``ℓ = λ - (1 - s) x_y - (s / V) Σ_c x_c + z λ²`` and
    ``∂ℓ/∂r = [(1 + 2 z λ) softmax(x) - (1 - s) e_y - s / V] ⊙ softcap'(r)``.
    """
    label_smoothing, z_loss, softcap = options
    acc = _accumulation_dtype(h.dtype)
    num_classes = weight.shape[0]
    r = jnp.matmul(h, weight.T, preferred_element_type=acc) + bias.astype(acc)
    if softcap is not None:
        # softcap(r) = c tanh(r / c), whose derivative is 1 - tanh²(r / c)
        t = jnp.tanh(r / softcap)
        x = softcap * t
    else:
        x = r
    # lse = m + log Σ exp(x - m), m the row's max: no overflow
    m = jax.lax.stop_gradient(jnp.max(x, axis=1, keepdims=True))
    e = jnp.exp(x - m)
    sum_e = jnp.sum(e, axis=1)
    log_sum = jnp.log(sum_e)
    lse = m[:, 0] + log_sum
    target_logit = jnp.take_along_axis(x, y[:, None], axis=1)[:, 0]
    # λ - (1 - s) x_y - s mean(x) as log Σ + (1 - s)(m - x_y) + s (m - mean(x)): m + log Σ
    # would round log Σ to the spacing of m (losskit.core.primitives.logsumexp_parts)
    loss = (
        log_sum
        + (1.0 - label_smoothing) * (m[:, 0] - target_logit)
        + label_smoothing * (m[:, 0] - jnp.sum(x, axis=1) / num_classes)
        + z_loss * jnp.square(lse)
    )
    if not want_grad:
        return loss, None
    # d(z λ²)/dx = 2 z λ softmax(x): folds into the softmax term
    grad = e * ((1.0 + 2.0 * z_loss * lse) / sum_e)[:, None] - label_smoothing / num_classes
    grad = grad.at[jnp.arange(y.shape[0]), y].add(-(1.0 - label_smoothing))
    if softcap is not None:
        grad = grad * (1.0 - jnp.square(t))
    return loss, grad


def _chunks(x: Array, size: int) -> Array:
    """``[N, ...]`` as ``[N / size, size, ...]`` (N is a multiple of size)."""
    return x.reshape(x.shape[0] // size, size, *x.shape[1:])


def _scan_gradients(
    h: Array, weight: Array, bias: Array, y: Array, scale: Array, options: tuple, size: int
) -> tuple[Array, Array, Array, Array]:
    """``Σ_i scale_i ℓ_i`` and its gradients with respect to h, weight and bias, one
    chunk per step.  A token of scale 0 contributes exactly 0 (its loss and gradient
    are masked, not multiplied: 0 · inf would be NaN)."""
    acc = _accumulation_dtype(h.dtype)

    def step(carry: tuple, chunk: tuple) -> tuple[tuple, Array]:
        total, d_weight, d_bias = carry
        h_c, y_c, s_c = chunk
        loss, grad = _chunk(h_c, weight, bias, y_c, options, want_grad=True)
        used = s_c != 0
        total = total + jnp.sum(jnp.where(used, s_c * loss, 0.0))
        g = jnp.where(used[:, None], s_c[:, None] * grad, 0.0).astype(h.dtype)
        # d/dh = g W, d/dW += gᵀ h, d/db += Σ_tokens g
        d_h = jnp.matmul(g, weight, preferred_element_type=acc).astype(h.dtype)
        d_weight = d_weight + jnp.matmul(g.T, h_c, preferred_element_type=acc)
        d_bias = d_bias + jnp.sum(g, axis=0, dtype=acc)
        return (total, d_weight, d_bias), d_h

    init = (
        jnp.zeros((), acc),
        jnp.zeros(weight.shape, acc),
        jnp.zeros(bias.shape, acc),
    )
    xs = (_chunks(h, size), _chunks(y, size), _chunks(scale.astype(acc), size))
    (total, d_weight, d_bias), d_h = jax.lax.scan(step, init, xs)
    return total, d_h.reshape(h.shape), d_weight, d_bias


def _scan_losses(
    h: Array, weight: Array, bias: Array, y: Array, options: tuple, size: int
) -> Array:
    def one(chunk: tuple) -> Array:
        return _chunk(chunk[0], weight, bias, chunk[1], options, want_grad=False)[0]

    return jax.lax.map(one, (_chunks(h, size), _chunks(y, size))).reshape(-1)


def _zero_cotangent(x: Array) -> Array:
    if jnp.issubdtype(x.dtype, jnp.integer):
        return jnp.zeros(x.shape, jax.dtypes.float0)
    return jnp.zeros_like(x)


# --- "mean" and "sum": Σ_i scale_i ℓ_i, gradients computed in the forward scan ---------


@functools.partial(jax.custom_vjp, nondiff_argnums=(5, 6))
def _weighted_sum(h, weight, bias, y, scale, options, size):
    return _scan_gradients(h, weight, bias, y, scale, options, size)[0]


def _weighted_sum_fwd(h, weight, bias, y, scale, options, size):
    total, d_h, d_weight, d_bias = _scan_gradients(h, weight, bias, y, scale, options, size)
    return total, (d_h, d_weight, d_bias, y, scale)


def _weighted_sum_bwd(options, size, residuals, g):
    d_h, d_weight, d_bias, y, scale = residuals
    # scale holds constants (the weights and the mean's 1 / Σ w are not differentiated)
    return (
        (g * d_h).astype(d_h.dtype),
        (g * d_weight).astype(d_h.dtype),
        (g * d_bias).astype(d_h.dtype),
        _zero_cotangent(y),
        jnp.zeros_like(scale),
    )


_weighted_sum.defvjp(_weighted_sum_fwd, _weighted_sum_bwd)


# --- "none": per-token losses, each chunk recomputed in backward ---------------------


@functools.partial(jax.custom_vjp, nondiff_argnums=(4, 5))
def _token_losses(h, weight, bias, y, options, size):
    return _scan_losses(h, weight, bias, y, options, size)


def _token_losses_fwd(h, weight, bias, y, options, size):
    return _scan_losses(h, weight, bias, y, options, size), (h, weight, bias, y)


def _token_losses_bwd(options, size, residuals, g):
    h, weight, bias, y = residuals
    _, d_h, d_weight, d_bias = _scan_gradients(h, weight, bias, y, g, options, size)
    return d_h, d_weight.astype(h.dtype), d_bias.astype(h.dtype), _zero_cotangent(y)


_token_losses.defvjp(_token_losses_fwd, _token_losses_bwd)


# --- the public function --------------------------------------------------------------


def linear_cross_entropy(
    hidden: Array,
    weight: Array,
    target: Array,
    *,
    bias: Array | None = None,
    weights: Array | None = None,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    z_loss: float = 0.0,
    softcap: float | None = None,
    reduction: Reduction = "mean",
    chunk_size: int | None = None,
) -> Array:
    r"""Cross-entropy of the logits :math:`h W^T + b` without materialising them (JAX).

    The loss of :func:`losskit.torch.linear_cross_entropy`, with the same options: for a
    token with logits :math:`x = \operatorname{softcap}(h W^T + b)` and
    :math:`\lambda = \log \sum_c e^{x_c}`,
    :math:`\ell = \lambda - (1 - s)\, x_y - \frac{s}{V} \sum_c x_c + z\, \lambda^2`.
    ``"none"`` returns :math:`w_i \ell_i` (0 for ignored tokens), ``"sum"``
    :math:`\sum_i w_i \ell_i` and ``"mean"`` :math:`\sum_i w_i \ell_i / \sum_i w_i` over
    the tokens not ignored (:math:`w_i = 1` without ``weights``), 0 with zero gradients
    when nothing is left.  A token of weight 0 or ignored contributes exactly 0, even
    where its loss would not be finite.

    The tokens are processed ``chunk_size`` at a time by ``jax.lax.scan`` inside a
    ``jax.custom_vjp``, so under ``jax.jit`` only one chunk's ``[chunk_size, V]``
    logits exist at once.  Half-precision inputs are multiplied in their own dtype with
    float32 accumulation; softmax, log-sum-exp, the loss and the weight and bias
    gradients are float32.  ``weights`` are constants: no gradient flows to them.
    ``label_smoothing``, ``z_loss`` and ``softcap`` must be Python numbers (they are
    fixed when the function is traced); ``softcap=None`` means no cap.

    Args:
        hidden: ``[..., H]`` floating hidden states.
        weight: ``[V, H]`` output-layer weight, ``hidden``'s dtype.
        target: integer labels of shape ``hidden.shape[:-1]``, in ``[0, V)`` or
            ``ignore_index``.
        bias: optional ``[V]`` output-layer bias.
        weights: optional finite, non-negative per-token weights of ``target``'s shape.
        ignore_index: label whose tokens are left out of the loss.
        label_smoothing: :math:`s \in [0, 1)`.
        z_loss: :math:`z \ge 0` (PaLM's auxiliary loss).
        softcap: :math:`c > 0` (Gemma 2's soft-capping), or None.
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"``.
        chunk_size: tokens per chunk; None picks :math:`H / 4` (at least 128).

    Returns:
        A 0-d array, or the per-token loss of ``target``'s shape for ``"none"``, in
        ``hidden``'s dtype.

    Examples:
        >>> import jax.numpy as jnp
        >>> from losskit.jax.linear_cross_entropy import linear_cross_entropy
        >>> hidden = jnp.array([[1.0, 0.0], [0.0, 1.0]])
        >>> weight = jnp.array([[2.0, 0.0], [0.0, 0.0], [0.0, 0.0]])
        >>> round(float(linear_cross_entropy(hidden, weight, jnp.array([0, -100]))), 4)
        0.2395

    References:
        Wijmans et al., *Cut Your Losses in Large-Vocabulary Language Models*, 2024
        (arXiv:2411.09009); Chowdhery et al., *PaLM*, 2022 (z-loss); Gemma Team,
        *Gemma 2*, 2024 (soft-capping).
    """
    check_head_options(ignore_index, label_smoothing, z_loss, softcap, reduction, chunk_size)
    # the options shape the traced program (static), so they are Python numbers
    for name, value in (
        ("label_smoothing", label_smoothing),
        ("z_loss", z_loss),
        ("softcap", softcap),
    ):
        if value is None and name == "softcap":
            continue
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise LossInputError(f"{name} must be a Python number; got {type(value).__name__}")
    xp = jnp  # the array-API namespace of jax.Array
    check_head_inputs(
        hidden, weight, target, bias, xp=xp, array_type=jax.Array, type_name="jax.Array"
    )
    # the value checks read concrete arrays only: skipped under jax.jit
    check_token_weights(
        weights, target, xp=xp, array_type=jax.Array, type_name="jax.Array", values=True
    )
    check_labels(target, weight.shape[0], "target", xp, ignore_index=ignore_index)
    options = (
        float(label_smoothing),
        float(z_loss),
        None if softcap is None else float(softcap),
    )
    size = chunk_size if chunk_size is not None else _auto_chunk(hidden.shape[-1])
    return _compute(
        hidden,
        weight,
        bias,
        target,
        weights,
        ignore_index=ignore_index,
        options=options,
        size=max(1, min(size, math.prod(target.shape))),
        reduction=reduction,
    )


@functools.partial(jax.jit, static_argnames=("ignore_index", "options", "size", "reduction"))
def _compute(hidden, weight, bias, target, weights, *, ignore_index, options, size, reduction):
    """The checked computation, compiled once per shape and options (eagerly too: one
    XLA program instead of one dispatch per operation)."""
    num_classes = weight.shape[0]
    dtype = hidden.dtype
    acc = _accumulation_dtype(dtype)
    h = hidden.reshape(-1, hidden.shape[-1])
    y = target.reshape(-1)
    n = y.shape[0]
    padded = -(-n // size) * size
    valid = y != ignore_index
    # per-token coefficient: the weight, 0 for ignored (and padding) tokens
    coef = valid.astype(acc)
    if weights is not None:
        coef = coef * jax.lax.stop_gradient(weights.reshape(-1).astype(acc))
    # ignored tokens get a valid row for the gathers; their coefficient 0 masks them.
    # Dropped tokens' hidden states are zeroed too: their gradient rows are 0, and an
    # inf there would still turn 0 · inf into NaN in the weight gradient's product.
    y = jnp.where(valid, y, 0).astype(jnp.int32)
    h = jnp.where((coef != 0)[:, None], h, jnp.zeros((), h.dtype))
    if padded != n:
        h = jnp.pad(h, ((0, padded - n), (0, 0)))
        y = jnp.pad(y, (0, padded - n))
        coef = jnp.pad(coef, (0, padded - n))
    b = jnp.zeros((num_classes,), dtype) if bias is None else bias
    if reduction == "none":
        losses = _token_losses(h, weight, b, y, options, size)
        # where, not a product: 0 for a dropped token even where its loss is inf or NaN
        out = jnp.where(coef == 0, 0.0, coef * losses)[:n]
        return out.reshape(target.shape).astype(dtype)
    scale = coef
    if reduction == "mean":
        total = jnp.sum(coef)
        # nothing left to average: a sum of nothing, divided by 1
        scale = coef / jnp.where(total == 0, 1.0, total)
    return _weighted_sum(h, weight, b, y, scale, options, size).astype(dtype)
