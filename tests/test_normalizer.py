"""``normalizer=``, the mean's given count, on every loss; and ``sequence_mean``."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import losskit
from array_backends import HAS_JAX, HAS_TORCH
from loss_table.params import rng, sample_params

SAMPLE_PARAMS = sample_params()


def _weights(case, sample):
    shape = np.shape(case.fn(*sample.args, reduction="none", **sample.kwargs))
    return rng(case.name, "normalizer", shape).uniform(0.0, 2.0, size=shape)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("case, sample", SAMPLE_PARAMS)
def test_every_loss_divides_its_weighted_sum_by_the_normalizer(case, sample, weighted):
    """mean with normalizer N = (weighted) sum / N; ctc, whose mean divides each loss by
    its target length, keeps that: N * result = sum of the weights * its mean."""
    weights = _weights(case, sample) if weighted else None
    n = 7.5
    out = case.fn(*sample.args, weights=weights, normalizer=n, **sample.kwargs)
    if "normalizer" in inspect.signature(case.fn.info.generic).parameters:
        mean = case.fn(*sample.args, weights=weights, **sample.kwargs)
        size = np.shape(case.fn(*sample.args, reduction="none", **sample.kwargs))
        total_weight = np.sum(np.broadcast_to(1.0 if weights is None else weights, size))
        expected = mean * total_weight / n
    else:
        expected = case.fn(*sample.args, weights=weights, reduction="sum", **sample.kwargs) / n
    assert np.shape(out) == ()
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-14)


def test_normalizer_checks():
    x, y = np.zeros((3, 2)), np.array([0, 1, 1])
    ce = losskit.sparse_categorical_cross_entropy
    for reduction in ("sum", "none"):
        with pytest.raises(losskit.LossInputError, match=r"normalizer .* reduction='mean'"):
            ce(x, y, from_logits=True, reduction=reduction, normalizer=3)
    with pytest.raises(losskit.LossInputError, match="normalizer must lie in"):
        ce(x, y, from_logits=True, normalizer=-1.0)
    with pytest.raises(losskit.LossInputError, match="normalizer must be a number or a 0-d"):
        ce(x, y, from_logits=True, normalizer=np.array([3.0]))
    with pytest.raises(losskit.LossInputError, match="normalizer must be a number"):
        ce(x, y, from_logits=True, normalizer="3")
    # a normalizer of 0 (no token anywhere): the sum of nothing, 0
    assert ce(x, np.array([-1, -1, -1]), from_logits=True, ignore_index=-1, normalizer=0) == 0.0
    assert "normalizer" in inspect.signature(losskit.mse).parameters


@pytest.mark.skipif(not HAS_TORCH, reason="torch not installed")
def test_micro_batches_with_the_global_count_give_the_full_batch_loss_and_gradient():
    import torch

    from losskit.torch import SparseCategoricalCrossEntropy

    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(12, 7, generator=gen, dtype=torch.float64, requires_grad=True)
    labels = torch.randint(0, 7, (12,), generator=gen)
    labels[[0, 1, 2, 3, 4, 9]] = -100  # micro-batches with 1, 5 and 4 tokens...
    loss_fn = SparseCategoricalCrossEntropy(ignore_index=-100)
    full = loss_fn(logits, labels)
    (full_grad,) = torch.autograd.grad(full, logits)
    parts = [slice(0, 5), slice(5, 9), slice(9, 12)]
    count = int((labels != -100).sum())
    accumulated = sum(loss_fn(logits[p], labels[p], normalizer=count) for p in parts)
    (grad,) = torch.autograd.grad(accumulated, logits)
    torch.testing.assert_close(accumulated, full)
    torch.testing.assert_close(grad, full_grad)
    # ... which the average of the micro-batches' means is not
    averaged = sum(loss_fn(logits[p], labels[p]) for p in parts) / len(parts)
    assert abs((averaged - full).detach().item()) > 1e-3
    # a tensor normalizer, as all-reduced by a data-parallel count
    tensor_count = torch.tensor(count)
    torch.testing.assert_close(
        sum(loss_fn(logits[p], labels[p], normalizer=tensor_count) for p in parts), full
    )


@pytest.mark.skipif(not HAS_TORCH, reason="torch not installed")
def test_float16_sum_over_the_normalizer_does_not_overflow():
    import torch

    pred = torch.full((100_000,), 2.0, dtype=torch.float16)
    out = losskit.mse(pred, torch.zeros_like(pred), normalizer=100_000)
    assert out.dtype == torch.float16 and float(out) == 4.0  # the float16 sum is inf


@pytest.mark.skipif(not HAS_JAX, reason="jax not installed")
def test_normalizer_is_traceable_under_jax_jit():
    import jax
    import jax.numpy as jnp

    x = jnp.asarray(np.random.default_rng(1).normal(size=(5, 3)))
    y = jnp.array([0, 2, -1, 1, 1])

    @jax.jit
    def loss(x, n):
        return losskit.sparse_categorical_cross_entropy(
            x, y, from_logits=True, ignore_index=-1, normalizer=n
        )

    total = losskit.sparse_categorical_cross_entropy(
        x, y, from_logits=True, ignore_index=-1, reduction="sum"
    )
    np.testing.assert_allclose(loss(x, jnp.asarray(3.0)), total / 3.0, rtol=1e-6)
    np.testing.assert_allclose(loss(x, jnp.asarray(0.0)), total, rtol=1e-6)


def test_ctc_honours_the_normalizer_in_its_mean_over_target_lengths():
    rng_ = np.random.default_rng(2)
    log_probs = np.log(rng_.dirichlet(np.ones(4), size=(3, 6)))
    target = np.array([[1, 2, 0], [3, 0, 0], [1, 1, 2]])
    target_lengths = np.array([2, 1, 3])
    args = (log_probs, target, np.array([6, 5, 6]), target_lengths)
    per_sequence = losskit.ctc(*args, reduction="none")
    np.testing.assert_allclose(
        losskit.ctc(*args, normalizer=10), np.sum(per_sequence / target_lengths) / 10
    )
    with pytest.raises(losskit.LossInputError, match="normalizer"):
        losskit.ctc(*args, reduction="sum", normalizer=10)


# ------------------------------------------------------------------ sequence_mean


def test_sequence_mean_weighs_each_sequence_once():
    rng_ = np.random.default_rng(3)
    loss = rng_.uniform(0, 3, (4, 5))
    lengths = np.array([5, 1, 0, 3])
    mask = np.arange(5)[None, :] < lengths[:, None]
    loss[~mask] = np.inf  # padding never reaches the result, even inf
    # reference: a loop over the sequences that have tokens
    means = [loss[b, : lengths[b]].mean() for b in range(4) if lengths[b]]
    np.testing.assert_allclose(losskit.sequence_mean(loss, mask), np.mean(means))
    np.testing.assert_allclose(losskit.sequence_mean(loss, mask, normalizer=6), np.sum(means) / 6)
    token_mean = loss[mask].mean()
    assert abs(token_mean - np.mean(means)) > 1e-3
    # weights instead of a mask, and a mask broadcast over a trailing axis
    w = mask * 2.0
    np.testing.assert_allclose(losskit.sequence_mean(loss, w), np.mean(means))
    cube = np.repeat(np.where(mask, loss, 0.0)[:, :, None], 2, axis=2)
    np.testing.assert_allclose(losskit.sequence_mean(cube, mask[:, :, None]), np.mean(means))
    # nothing to average
    assert losskit.sequence_mean(loss, np.zeros_like(mask)) == 0.0


def test_sequence_mean_checks():
    with pytest.raises(losskit.LossInputError, match="sequences on axis 0"):
        losskit.sequence_mean(np.array(1.0), np.array(True))
    with pytest.raises(losskit.LossInputError, match="mask must"):
        losskit.sequence_mean(np.ones((2, 3)), np.ones(3))
    with pytest.raises(losskit.LossInputError, match="mask must"):
        losskit.sequence_mean(np.ones((2, 3)), -np.ones((2, 3)))


@pytest.mark.skipif(not HAS_TORCH, reason="torch not installed")
def test_sequence_mean_gradient_and_float16_in_torch():
    import torch

    loss = torch.tensor([[1.0, 3.0, 7.0], [4.0, 9.0, 9.0]], requires_grad=True)
    mask = torch.tensor([[True, True, False], [True, False, False]])
    out = losskit.sequence_mean(loss, mask)
    out.backward()
    assert float(out) == 3.0
    torch.testing.assert_close(loss.grad, torch.tensor([[0.25, 0.25, 0.0], [0.5, 0.0, 0.0]]))
    half = losskit.sequence_mean(loss.detach().half(), mask)
    assert half.dtype == torch.float16 and float(half) == 3.0


def test_composites_pass_the_normalizer_to_every_part():
    rng_ = np.random.default_rng(4)
    logits, labels = rng_.normal(size=(6, 3)), np.array([0, 1, -1, 2, -1, 0])
    combo = losskit.combine(
        {"sparse_categorical_cross_entropy": 1.0, "sparse_categorical_focal": 0.5},
        from_logits=True,
        ignore_index=-1,
    )
    expected = combo(logits, labels, reduction="sum") / 10
    np.testing.assert_allclose(combo(logits, labels, normalizer=10), expected)
    with pytest.raises(losskit.LossInputError, match="normalizer"):
        combo(logits, labels, reduction="sum", normalizer=10)


@pytest.mark.skipif(not HAS_TORCH, reason="torch not installed")
def test_tensor_normalizer_under_torch_compile():
    import torch

    import losskit.torch  # the kernel overrides, loaded before tracing

    logits = torch.randn(6, 4, dtype=torch.float64)
    labels = torch.tensor([0, 1, -100, 3, 2, -100])

    def loss(x, n):
        return losskit.sparse_categorical_cross_entropy(
            x, labels, from_logits=True, ignore_index=-100, normalizer=n
        )

    torch._dynamo.reset()
    compiled = torch.compile(loss, fullgraph=True, backend="eager")
    total = losskit.sparse_categorical_cross_entropy(
        logits, labels, from_logits=True, ignore_index=-100, reduction="sum"
    )
    torch.testing.assert_close(compiled(logits, torch.tensor(8)), total / 8)


def test_tensorflow_normalizer_inside_tf_function():
    tf = pytest.importorskip("tensorflow")
    logits = tf.constant(np.random.default_rng(5).normal(size=(6, 4)))
    labels = tf.constant([0, 1, -100, 3, 2, -100])

    @tf.function(jit_compile=True)
    def loss(x, n):
        return losskit.sparse_categorical_cross_entropy(
            x, labels, from_logits=True, ignore_index=-100, normalizer=n
        )

    total = losskit.sparse_categorical_cross_entropy(
        logits, labels, from_logits=True, ignore_index=-100, reduction="sum"
    )
    np.testing.assert_allclose(loss(logits, tf.constant(8, tf.int32)).numpy(), total.numpy() / 8)
