"""User-defined losses (losskit.custom_loss) and composite losses (losskit.combine)."""

from __future__ import annotations

import functools

import numpy as np
import pytest

import losskit
from array_backends import HAS_JAX, HAS_TENSORFLOW, HAS_TORCH, backend_params, get_backend
from losskit.core import registry
from losskit.core.namespace import namespace

needs_torch = pytest.mark.skipif(not HAS_TORCH, reason="torch not installed")
needs_jax = pytest.mark.skipif(not HAS_JAX, reason="jax not installed")
needs_tensorflow = pytest.mark.skipif(not HAS_TENSORFLOW, reason="tensorflow not installed")


@pytest.fixture
def user_losses():
    """Registers the test's user-defined losses and removes them afterwards, so the
    registry other tests see holds the built-in losses only."""
    before = set(registry._REGISTRY)
    yield
    for name in set(registry._REGISTRY) - before:
        del registry._REGISTRY[name]


def _squared_log_error():
    # The three-line user loss of the issue.
    @losskit.custom_loss(name="squared_log_error", task="regression")
    def squared_log_error(pred, target, *, xp):
        return (xp.log1p(pred) - xp.log1p(target)) ** 2

    return squared_log_error


def _reference(pred, target):
    return (np.log1p(pred) - np.log1p(target)) ** 2


RNG = np.random.default_rng(0)
PRED = RNG.uniform(0, 3, (4, 5))
TARGET = RNG.uniform(0, 3, (4, 5))
WEIGHTS = RNG.uniform(0, 2, (4, 1))


# ------------------------------------------------------------------ custom losses


@pytest.mark.parametrize("backend_name", backend_params())
def test_custom_loss_gets_reductions_weights_and_backends(user_losses, backend_name):
    loss = _squared_log_error()
    backend = get_backend(backend_name)
    pred, target, w = (backend.asarray(a) for a in (PRED, TARGET, WEIGHTS))
    ref = _reference(PRED, TARGET)
    expected = {
        "none": ref,
        "sum": ref.sum(),
        "mean": ref.mean(),
    }
    for reduction, value in expected.items():
        out = loss(pred, target, reduction=reduction)
        assert namespace(out=out) is namespace(pred=pred)
        np.testing.assert_allclose(backend.to_numpy(out), value, rtol=1e-12)
    weighted = loss(pred, target, weights=w)
    np.testing.assert_allclose(
        backend.to_numpy(weighted),
        (WEIGHTS * ref).sum() / np.broadcast_to(WEIGHTS, ref.shape).sum(),
    )


def test_custom_loss_is_listed_and_documented(user_losses):
    loss = _squared_log_error()
    assert "squared_log_error" in losskit.available()
    assert "squared_log_error" in losskit.available("regression")
    info = losskit.get_loss("squared_log_error")
    assert info.fn is loss and not info.builtin
    assert info.arrays == ("pred", "target") and info.options == {}
    assert "reduction:" in loss.__doc__ and "weights:" in loss.__doc__
    assert "{reduction}" not in loss.__doc__


def test_custom_loss_validates_like_a_built_in(user_losses):
    loss = _squared_log_error()
    with pytest.raises(losskit.LossInputError, match="target must have the same shape"):
        loss(PRED, TARGET[:, :1])
    with pytest.raises(losskit.LossInputError, match="pred must have a real floating dtype"):
        loss(np.ones((2, 2), dtype=np.int64), np.ones((2, 2)))
    with pytest.raises(losskit.LossInputError, match="target must not contain NaN"):
        loss(PRED, TARGET * np.nan)
    with pytest.raises(losskit.LossInputError, match="reduction must be one of"):
        loss(PRED, TARGET, reduction="batchmean")
    with pytest.raises(losskit.LossInputError, match="weights must be broadcastable"):
        loss(PRED, TARGET, weights=np.ones((3, 5)))
    with pytest.raises(TypeError):
        loss(PRED, TARGET, delta=1.0)


def test_custom_loss_keeps_the_dtype(user_losses):
    loss = _squared_log_error()
    out = loss(PRED.astype(np.float32), TARGET)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, _reference(PRED, TARGET).mean(), rtol=1e-5)


def test_custom_loss_options_and_plain_operators(user_losses):
    @losskit.custom_loss(summary="Scaled squared error.", formula=r"\ell = s (\hat y - y)^2")
    def scaled_error(pred, target, scale=2.0):
        return scale * (pred - target) ** 2

    assert losskit.get_loss("scaled_error").options == {"scale": 2.0}
    assert losskit.get_loss("scaled_error").tasks == ("custom",)
    assert "scaled_error" in losskit.available("custom")
    np.testing.assert_allclose(scaled_error(PRED, TARGET), 2 * ((PRED - TARGET) ** 2).mean())
    np.testing.assert_allclose(
        scaled_error(PRED, TARGET, scale=0.5, reduction="sum"), 0.5 * ((PRED - TARGET) ** 2).sum()
    )
    with pytest.raises(TypeError):
        scaled_error(PRED, TARGET, 0.5)  # options are keyword-only


def test_custom_loss_must_return_one_value_per_element(user_losses):
    @losskit.custom_loss
    def already_reduced(pred, target, *, xp):
        return xp.mean((pred - target) ** 2)

    with pytest.raises(losskit.LossInputError, match="must return one value per element"):
        already_reduced(PRED, TARGET)

    @losskit.custom_loss
    def boolean_loss(pred, target):
        return pred > target

    with pytest.raises(losskit.LossInputError, match="must return real floating values"):
        boolean_loss(PRED, TARGET)


def test_custom_loss_names_and_signatures_are_checked(user_losses):
    with pytest.raises(losskit.LossInputError, match="'mse' is a built-in loss"):
        losskit.custom_loss(name="mse")(lambda pred, target: pred - target)
    with pytest.raises(losskit.LossInputError, match="name must be a Python identifier"):
        losskit.custom_loss(name="my loss")(lambda pred, target: pred - target)
    with pytest.raises(losskit.LossInputError, match="must take \\(pred, target\\)"):
        losskit.custom_loss(name="one_array")(lambda pred: pred)
    with pytest.raises(losskit.LossInputError, match="an option with a default"):
        losskit.custom_loss(name="no_default")(lambda pred, target, scale: pred)
    with pytest.raises(losskit.LossInputError, match="'weights' is added by losskit"):
        losskit.custom_loss(name="own_weights")(lambda pred, target, weights=None: pred)
    with pytest.raises(losskit.LossInputError, match=r"task must be one of .* got 'clustering'"):
        losskit.custom_loss(name="bad_task", task="clustering")(lambda pred, target: pred)
    with pytest.raises(losskit.LossInputError, match=r"task must be one of .* got 'poetry'"):
        losskit.custom_loss(name="bad_tasks", task=("regression", "poetry"))


def test_registering_a_custom_name_again_replaces_it(user_losses):
    first = losskit.custom_loss(name="again")(lambda pred, target: (pred - target) ** 2)
    second = losskit.custom_loss(name="again")(lambda pred, target: abs(pred - target))
    assert losskit.get_loss("again").fn is second and first is not second
    np.testing.assert_allclose(second(PRED, TARGET), np.abs(PRED - TARGET).mean())


@needs_torch
def test_custom_loss_has_a_torch_module_and_torch_gradients(user_losses):
    import torch

    import losskit.torch

    loss = _squared_log_error()
    module = losskit.torch.SquaredLogError(reduction="sum")
    x = torch.tensor(PRED, requires_grad=True)
    value = module(x, torch.tensor(TARGET))
    assert torch.equal(value, loss(x, torch.tensor(TARGET), reduction="sum"))
    value.backward()
    analytic = 2 * (np.log1p(PRED) - np.log1p(TARGET)) / (1 + PRED)
    np.testing.assert_allclose(x.grad.numpy(), analytic, rtol=1e-12)
    assert "SquaredLogError" in dir(losskit.torch)


@needs_jax
def test_custom_loss_under_jax_jit_and_grad(user_losses):
    import jax
    import jax.numpy as jnp

    loss = _squared_log_error()
    f = jax.jit(jax.value_and_grad(lambda p, t: loss(p, t, reduction="sum")))
    value, grad = f(jnp.asarray(PRED), jnp.asarray(TARGET))
    np.testing.assert_allclose(float(value), _reference(PRED, TARGET).sum(), rtol=1e-12)
    analytic = 2 * (np.log1p(PRED) - np.log1p(TARGET)) / (1 + PRED)
    np.testing.assert_allclose(np.asarray(grad), analytic, rtol=1e-12)


@needs_tensorflow
@pytest.mark.parametrize("jit_compile", [False, True], ids=["tf.function", "xla"])
def test_custom_loss_on_tensorflow(user_losses, jit_compile):
    """A user's loss on tf.Tensor: eager, inside tf.function (with XLA), with
    tf.GradientTape's gradients."""
    import tensorflow as tf

    loss = _squared_log_error()

    def value_and_grad(p, t):
        with tf.GradientTape() as tape:
            tape.watch(p)
            value = loss(p, t, reduction="sum")
        return value, tape.gradient(value, p)

    pred, target = tf.constant(PRED), tf.constant(TARGET)
    analytic = 2 * (np.log1p(PRED) - np.log1p(TARGET)) / (1 + PRED)
    for fn in (value_and_grad, tf.function(value_and_grad, jit_compile=jit_compile)):
        value, grad = fn(pred, target)
        np.testing.assert_allclose(float(value), _reference(PRED, TARGET).sum(), rtol=1e-12)
        np.testing.assert_allclose(grad.numpy(), analytic, rtol=1e-12)
    with pytest.raises(losskit.LossInputError, match="same shape"):
        tf.function(loss)(pred, target[:2])  # static checks still raise while tracing


# --------------------------------------------------------------------- composites

LOGITS = RNG.normal(size=(3, 2, 4)) * 2
MASKS = RNG.integers(0, 2, (3, 2, 4)).astype(float)


def test_composite_reports_its_parts_and_sums_them():
    seg = losskit.combine({"dice": 0.5, losskit.binary_cross_entropy: 0.5}, from_logits=True)
    assert [p.label for p in seg.parts] == ["dice", "binary_cross_entropy"]
    assert [p.weight for p in seg.parts] == [0.5, 0.5]
    assert all(p.options == {"from_logits": True} for p in seg.parts)
    total, parts = seg.evaluate(LOGITS, MASKS)
    dice = losskit.dice(LOGITS, MASKS, from_logits=True)
    bce = losskit.binary_cross_entropy(LOGITS, MASKS, from_logits=True)
    assert parts == {"dice": dice, "binary_cross_entropy": bce}
    assert total == pytest.approx(0.5 * dice + 0.5 * bce, rel=1e-15)
    assert seg(LOGITS, MASKS) == total
    assert seg(LOGITS, MASKS, reduction="sum") == pytest.approx(
        0.5 * losskit.dice(LOGITS, MASKS, from_logits=True, reduction="sum")
        + 0.5 * losskit.binary_cross_entropy(LOGITS, MASKS, from_logits=True, reduction="sum")
    )


def test_composite_forwards_per_part_options():
    seg = losskit.combine(
        {
            functools.partial(losskit.dice, smooth=0.1): 1.0,
            functools.partial(losskit.binary_cross_entropy, pos_weight=3.0): 2.0,
        },
        from_logits=True,
    )
    assert seg.parts[0].options == {"from_logits": True, "smooth": 0.1}
    assert seg.parts[1].options == {"from_logits": True, "pos_weight": 3.0}
    expected = losskit.dice(
        LOGITS, MASKS, from_logits=True, smooth=0.1
    ) + 2 * losskit.binary_cross_entropy(LOGITS, MASKS, from_logits=True, pos_weight=3.0)
    assert seg(LOGITS, MASKS) == pytest.approx(expected, rel=1e-15)
    # A part's own option wins over a shared one.
    own = losskit.combine([functools.partial(losskit.dice, smooth=0.0), "jaccard"], smooth=2.0)
    assert own.parts[0].options == {"smooth": 0.0} and own.parts[1].options == {"smooth": 2.0}


def test_arithmetic_builds_the_same_composite():
    by_mapping = losskit.combine({"dice": 0.5, "binary_cross_entropy": 0.5}, from_logits=True)
    by_arithmetic = (
        0.5 * losskit.combine("dice", from_logits=True)
        + losskit.combine("binary_cross_entropy", from_logits=True) / 2
    )
    assert repr(by_arithmetic) == repr(by_mapping)
    assert by_arithmetic(LOGITS, MASKS) == pytest.approx(by_mapping(LOGITS, MASKS), rel=1e-15)
    with_function = losskit.combine("mse") + losskit.mae
    assert [p.label for p in with_function.parts] == ["mse", "mae"]
    summed = sum([losskit.combine("mse"), losskit.combine("mae")])
    assert repr(summed) == repr(with_function)
    twice = losskit.combine("mse") + losskit.combine("mse", "mae")
    assert [p.label for p in twice.parts] == ["mse", "mse_2", "mae"]


def test_composite_errors_are_clear():
    with pytest.raises(losskit.LossInputError, match=r"options \['delta'\] are not options of any"):
        losskit.combine("dice", "binary_cross_entropy", delta=1.0)
    with pytest.raises(losskit.LossInputError, match="take the same arrays"):
        losskit.combine("dice", "gan_generator")
    with pytest.raises(losskit.LossInputError, match="must be registered losses"):
        losskit.combine(np.mean)
    with pytest.raises(losskit.LossInputError, match="must be a finite number"):
        losskit.combine({"mse": float("nan")})
    with pytest.raises(losskit.LossInputError, match=r"not options of 'mse'"):
        losskit.combine(functools.partial(losskit.mse, delta=1.0))
    seg = losskit.combine("dice", "binary_cross_entropy")
    with pytest.raises(losskit.LossInputError, match="unreduced losses have one shape"):
        seg(special_sigmoid(LOGITS), MASKS, reduction="none")
    with pytest.raises(losskit.LossInputError, match="takes pred, target; got 1 arrays"):
        seg(MASKS)
    elementwise = losskit.combine({"mse": 1.0, "mae": 3.0})
    np.testing.assert_allclose(
        elementwise(LOGITS, MASKS, reduction="none"),
        (LOGITS - MASKS) ** 2 + 3 * np.abs(LOGITS - MASKS),
    )


def special_sigmoid(x):
    return 1 / (1 + np.exp(-x))


@needs_torch
def test_composite_gradient_is_the_weighted_sum_of_the_parts_gradients(user_losses):
    import torch

    _squared_log_error()
    combo = losskit.combine({"squared_log_error": 0.3, "huber": 1.5}, delta=0.5)
    pred, target = torch.tensor(PRED, requires_grad=True), torch.tensor(TARGET)
    combo(pred, target).backward()
    parts = []
    for part in combo.parts:
        p = torch.tensor(PRED, requires_grad=True)
        part.loss(p, target, **part.options).backward()
        parts.append(part.weight * p.grad)
    torch.testing.assert_close(pred.grad, parts[0] + parts[1], rtol=1e-12, atol=1e-15)


@needs_jax
def test_composite_under_jax_jit_and_grad():
    import jax
    import jax.numpy as jnp

    seg = losskit.combine({"dice": 0.5, "binary_cross_entropy": 0.5}, from_logits=True)
    value, grad = jax.jit(jax.value_and_grad(lambda x: seg(x, jnp.asarray(MASKS))))(
        jnp.asarray(LOGITS)
    )
    dice_grad = jax.grad(lambda x: losskit.dice(x, jnp.asarray(MASKS), from_logits=True))(
        jnp.asarray(LOGITS)
    )
    bce_grad = jax.grad(
        lambda x: losskit.binary_cross_entropy(x, jnp.asarray(MASKS), from_logits=True)
    )(jnp.asarray(LOGITS))
    np.testing.assert_allclose(float(value), float(seg(LOGITS, MASKS)), rtol=1e-12)
    np.testing.assert_allclose(
        np.asarray(grad), 0.5 * np.asarray(dice_grad) + 0.5 * np.asarray(bce_grad), rtol=1e-12
    )


@needs_tensorflow
def test_composite_on_tensorflow_under_xla():
    import tensorflow as tf

    seg = losskit.combine({"dice": 0.5, "binary_cross_entropy": 0.5}, from_logits=True)

    @tf.function(jit_compile=True)
    def value_and_grad(x, masks):
        with tf.GradientTape() as tape:
            tape.watch(x)
            value = seg(x, masks)
        return value, tape.gradient(value, x)

    value, grad = value_and_grad(tf.constant(LOGITS), tf.constant(MASKS))
    np.testing.assert_allclose(float(value), float(seg(LOGITS, MASKS)), rtol=1e-12)
    with tf.GradientTape() as tape:
        x = tf.constant(LOGITS)
        tape.watch(x)
        dice = losskit.dice(x, tf.constant(MASKS), from_logits=True)
        bce = losskit.binary_cross_entropy(x, tf.constant(MASKS), from_logits=True)
        parts = 0.5 * dice + 0.5 * bce
    np.testing.assert_allclose(grad.numpy(), tape.gradient(parts, x).numpy(), rtol=1e-12)
