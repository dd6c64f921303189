"""losskit.jax.linear_cross_entropy against the unfused jnp computation, in float64,
eagerly and under jax.jit, and its memory under jax.jit against the unfused step."""

from __future__ import annotations

import pytest

jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)  # as tests/array_backends.py does for the suite

import jax.numpy as jnp  # noqa: E402

from losskit.errors import LossInputError  # noqa: E402
from losskit.jax.linear_cross_entropy import linear_cross_entropy  # noqa: E402

TOKENS, WIDTH, VOCAB = 23, 10, 31
IGNORE = -100


def make_inputs(*, dtype=jnp.float64, shape=(TOKENS,), seed=0):
    keys = jax.random.split(jax.random.key(seed), 5)
    hidden = jax.random.normal(keys[0], (*shape, WIDTH), dtype)
    weight = jax.random.normal(keys[1], (VOCAB, WIDTH), dtype)
    bias = jax.random.normal(keys[2], (VOCAB,), dtype)
    target = jax.random.randint(keys[3], shape, 0, VOCAB)
    target = target.reshape(-1).at[::5].set(IGNORE).reshape(shape)
    weights = 2 * jax.random.uniform(keys[4], shape, dtype)
    weights = weights.reshape(-1).at[1::4].set(0.0).reshape(shape)
    return hidden, weight, bias, target, weights


def unfused(
    hidden,
    weight,
    bias,
    target,
    weights=None,
    *,
    reduction="mean",
    label_smoothing=0.0,
    z_loss=0.0,
    softcap=None,
):
    """The [N, V] logits, log-softmax, PaLM's z-loss and losskit's weighted reduction."""
    logits = (hidden @ weight.T + (0.0 if bias is None else bias)).reshape(-1, VOCAB)
    if softcap is not None:
        logits = softcap * jnp.tanh(logits / softcap)
    y = target.reshape(-1)
    keep = y != IGNORE
    log_p = jax.nn.log_softmax(logits, axis=1)
    nll = -jnp.take_along_axis(log_p, jnp.where(keep, y, 0)[:, None], axis=1)[:, 0]
    loss = (1 - label_smoothing) * nll - label_smoothing * jnp.mean(log_p, axis=1)
    loss = loss + z_loss * jnp.square(jax.nn.logsumexp(logits, axis=1))
    w = keep.astype(loss.dtype)
    if weights is not None:
        w = w * weights.reshape(-1)
    loss = jnp.where(w == 0, 0.0, loss) * w
    if reduction == "none":
        return loss.reshape(target.shape)
    if reduction == "sum":
        return jnp.sum(loss)
    return jnp.sum(loss) / jnp.maximum(jnp.sum(w), 1e-300)


OPTIONS = [
    {},
    {"label_smoothing": 0.1},
    {"z_loss": 1e-2},
    {"softcap": 3.0},
    {"label_smoothing": 0.2, "z_loss": 1e-3, "softcap": 5.0},
]


def value_and_grads(fn, hidden, weight, bias, shape, seed=1):
    """The value and the gradients of <cotangent, fn(...)> for a random cotangent, so
    that "none"'s per-token backward is exercised."""
    cotangent = jax.random.normal(jax.random.key(seed), shape, jnp.float64)

    def scalar(h, w, b):
        out = fn(h, w, b)
        return jnp.sum(out * cotangent.astype(out.dtype)), out

    (_, out), grads = jax.value_and_grad(scalar, argnums=(0, 1, 2), has_aux=True)(
        hidden, weight, bias
    )
    return out, grads


@pytest.mark.parametrize("jit", [True], ids=["jit"])  # the other tests run eagerly
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: ",".join(o) or "plain")
def test_matches_unfused_float64(options, reduction, weighted, jit):
    hidden, weight, bias, target, weights = make_inputs()
    weights = weights if weighted else None
    shape = target.shape if reduction == "none" else ()

    def ours(h, w, b):
        # chunk_size 4 does not divide the 23 tokens: the last chunk is padded
        return linear_cross_entropy(
            h,
            w,
            target,
            bias=b,
            weights=weights,
            reduction=reduction,
            chunk_size=4,
            **options,
        )

    def ref(h, w, b):
        return unfused(h, w, b, target, weights, reduction=reduction, **options)

    if jit:
        ours = jax.jit(ours)
    out, grads = value_and_grads(ours, hidden, weight, bias, shape)
    want, want_grads = value_and_grads(ref, hidden, weight, bias, shape)
    assert out.dtype == jnp.float64 and out.shape == want.shape
    assert jnp.allclose(out, want, rtol=1e-12, atol=1e-12)
    for got, expected in zip(grads, want_grads, strict=True):
        assert got.dtype == jnp.float64
        assert jnp.allclose(got, expected, rtol=1e-10, atol=1e-12)


def test_no_bias_leading_axes_default_chunk_and_float32():
    hidden, weight, _, target, _ = make_inputs(shape=(3, 6), dtype=jnp.float32)
    for reduction in ("mean", "none"):
        out = linear_cross_entropy(hidden, weight, target, reduction=reduction)
        want = unfused(hidden, weight, None, target, reduction=reduction)
        assert out.dtype == jnp.float32 and out.shape == want.shape
        assert jnp.allclose(out, want, rtol=1e-5, atol=1e-6)
    grads = jax.grad(lambda h, w: linear_cross_entropy(h, w, target), argnums=(0, 1))(
        hidden, weight
    )
    want = jax.grad(lambda h, w: unfused(h, w, None, target), argnums=(0, 1))(hidden, weight)
    for got, expected in zip(grads, want, strict=True):
        assert jnp.allclose(got, expected, rtol=1e-4, atol=1e-6)


def test_bfloat16_accumulates_in_float32():
    hidden, weight, bias, target, _ = make_inputs()
    half = [x.astype(jnp.bfloat16) for x in (hidden, weight, bias)]
    out = linear_cross_entropy(*half[:2], target, bias=half[2])
    want = unfused(*[x.astype(jnp.float64) for x in half[:2]], half[2].astype(jnp.float64), target)
    assert out.dtype == jnp.bfloat16
    assert abs(float(out) - float(want)) < 2e-2 * abs(float(want))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_weight_zero_drops_a_token_whose_loss_is_not_finite(reduction):
    hidden, weight, bias, target, weights = make_inputs()
    hidden = hidden.at[3].set(jnp.inf)
    weights = weights.at[3].set(0.0)

    def fn(h, w, b):
        return linear_cross_entropy(
            h, w, target, bias=b, weights=weights, reduction=reduction, chunk_size=4
        )

    shape = target.shape if reduction == "none" else ()
    out, grads = value_and_grads(jax.jit(fn), hidden, weight, bias, shape)
    clean = hidden.at[3].set(0.0)
    want = unfused(clean, weight, bias, target, weights, reduction=reduction)
    assert jnp.allclose(out, want, rtol=1e-12, atol=1e-12)
    for g in grads:
        assert bool(jnp.all(jnp.isfinite(g)))
    assert bool(jnp.all(grads[0][3] == 0))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_every_token_ignored_is_zero_with_zero_gradients(reduction):
    hidden, weight, bias, target, _ = make_inputs()
    target = jnp.full_like(target, IGNORE)

    def fn(h, w, b):
        return linear_cross_entropy(h, w, target, bias=b, reduction=reduction, z_loss=0.1)

    shape = target.shape if reduction == "none" else ()
    out, grads = value_and_grads(fn, hidden, weight, bias, shape)
    assert bool(jnp.all(out == 0))
    for g in grads:
        assert bool(jnp.all(g == 0))


def test_empty_input():
    hidden, weight, _, target, _ = make_inputs(shape=(0,))
    out, grads = jax.value_and_grad(
        lambda h, w: linear_cross_entropy(h, w, target), argnums=(0, 1)
    )(hidden, weight)
    assert float(out) == 0.0
    assert grads[0].shape == (0, WIDTH) and bool(jnp.all(grads[1] == 0))


BAD_INPUTS = [
    ({"hidden": [[1.0]]}, "hidden must be a jax.Array"),
    ({"hidden": jnp.ones((TOKENS, WIDTH), jnp.int32)}, "hidden must be a floating"),
    ({"weight": jnp.ones((VOCAB, WIDTH + 1))}, r"weight must have shape \[num_classes, 10\]"),
    ({"weight": jnp.ones((VOCAB, WIDTH), jnp.float32)}, "weight must have hidden's dtype"),
    ({"bias": jnp.ones(VOCAB + 1)}, r"bias must have shape \(31,\)"),
    ({"target": jnp.zeros(TOKENS)}, "target must hold integer class labels"),
    ({"target": jnp.zeros((TOKENS, 1), jnp.int32)}, r"target must have shape \(23,\)"),
    ({"target": jnp.full((TOKENS,), VOCAB)}, r"target must hold class labels in \[0, 31\)"),
    ({"weights": jnp.ones(TOKENS + 1)}, r"weights must have target's shape \(23,\)"),
    ({"weights": -jnp.ones(TOKENS)}, "weights must be finite and non-negative"),
    ({"weights": jnp.full(TOKENS, jnp.inf)}, "weights must be finite and non-negative"),
    ({"label_smoothing": 1.0}, r"label_smoothing must lie in \[0.0, 1.0\)"),
    ({"z_loss": -1.0}, "z_loss must lie in"),
    ({"softcap": 0.0}, "softcap must lie in"),
    ({"reduction": "avg"}, "reduction must be one of"),
    ({"chunk_size": 0}, "chunk_size must be a positive int"),
    ({"ignore_index": 1.5}, "ignore_index must be an int"),
]


@pytest.mark.parametrize(("change", "message"), BAD_INPUTS, ids=[m for _, m in BAD_INPUTS])
def test_bad_input_names_the_argument(change, message):
    hidden, weight, bias, target, _ = make_inputs()
    args = {"hidden": hidden, "weight": weight, "target": target, "bias": bias, **change}
    with pytest.raises(LossInputError, match=message):
        linear_cross_entropy(**args)


def test_memory_under_jit_is_a_fifth_of_the_unfused_step():
    """XLA's temporaries for the compiled value and gradient (memory_analysis), at
    2048 tokens, hidden 256, vocabulary 16,000, float32: the unfused step holds the
    [N, V] logits and their gradient; the chunked one holds a few chunks of logits."""
    keys = jax.random.split(jax.random.key(0), 3)
    n, width, vocab = 2048, 256, 16_000
    h = jax.random.normal(keys[0], (n, width), jnp.float32)
    w = jax.random.normal(keys[1], (vocab, width), jnp.float32)
    y = jax.random.randint(keys[2], (n,), 0, vocab)

    def unfused_step(h, w, y):
        logits = h @ w.T
        target_logit = jnp.take_along_axis(logits, y[:, None], axis=1)[:, 0]
        return jnp.mean(jax.nn.logsumexp(logits, axis=1) - target_logit)

    def temp_bytes(fn):
        compiled = jax.jit(jax.value_and_grad(fn, argnums=(0, 1))).lower(h, w, y).compile()
        return compiled.memory_analysis().temp_size_in_bytes

    ours = temp_bytes(lambda h, w, y: linear_cross_entropy(h, w, y))
    theirs = temp_bytes(unfused_step)
    assert theirs >= n * vocab * 4  # the unfused step does hold the logits
    assert ours <= 0.2 * theirs
