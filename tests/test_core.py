"""The shared helpers: reduction and weights, primitives, registry, namespace policy."""

from __future__ import annotations

import inspect
import subprocess
import sys

import numpy as np
import pytest

import losskit
from array_backends import HAS_JAX, HAS_TORCH, backend_params
from losskit.core import kernels, primitives
from losskit.core.namespace import is_traced, stop_gradient
from losskit.core.reduction import reduce_loss

# ------------------------------------------------------------- reduction, weights


def test_weighted_mean_is_sum_of_weighted_losses_over_sum_of_weights():
    loss = np.array([1.0, 2.0, 3.0, 4.0])
    w = np.array([0.0, 1.0, 3.0, 0.5])
    out = reduce_loss(loss, reduction="mean", weights=w, xp=np)
    assert out == pytest.approx((2 + 9 + 2) / 4.5)


def test_weights_broadcast_without_enlarging():
    loss = np.arange(6.0).reshape(2, 3)
    out = reduce_loss(loss, reduction="none", weights=np.array([[1.0], [2.0]]), xp=np)
    np.testing.assert_array_equal(out, loss * np.array([[1.0], [2.0]]))
    with pytest.raises(losskit.LossInputError, match="weights must be broadcastable"):
        reduce_loss(loss, reduction="mean", weights=np.ones((2, 6)), xp=np)
    for too_many_axes_or_too_few in (np.ones((3, 2, 3)), np.ones(3)):
        with pytest.raises(losskit.LossInputError, match="as many axes as the unreduced loss"):
            reduce_loss(loss, reduction="mean", weights=too_many_axes_or_too_few, xp=np)
    assert reduce_loss(loss, reduction="sum", weights=np.array(2.0), xp=np) == 2 * loss.sum()
    with pytest.raises(losskit.LossInputError, match="scalar for a loss with no axes"):
        reduce_loss(np.array(1.0), reduction="sum", weights=np.ones(1), xp=np)


def test_per_sample_weights_are_never_lined_up_with_the_class_axis():
    # [B] weights against a [B, C] loss with B == C would weight the classes
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(3), size=(3, 4)).transpose(0, 2, 1)  # [3, 3, 4]
    labels = rng.integers(0, 3, (3, 4))
    with pytest.raises(losskit.LossInputError, match="per-sample weights of shape \\(3, 1\\)"):
        losskit.dice(probs, labels, axis=1, weights=np.array([1.0, 0.0, 0.0]))
    first_only = losskit.dice(probs, labels, axis=1, weights=np.array([[1.0], [0.0], [0.0]]))
    np.testing.assert_allclose(first_only, losskit.dice(probs[:1], labels[:1], axis=1))


@pytest.mark.skipif(not HAS_TORCH, reason="torch not installed")
def test_all_zero_weights_mean_is_zero_with_zero_gradient():
    import torch

    pred = torch.randn(5, requires_grad=True)
    out = losskit.mse(pred, torch.zeros(5), weights=torch.zeros(5))
    out.backward()
    assert out.item() == 0.0
    assert torch.equal(pred.grad, torch.zeros(5))


@pytest.mark.skipif(not HAS_TORCH, reason="torch not installed")
def test_all_ignored_mean_is_zero_with_zero_gradient():
    import torch

    logits = torch.randn(4, 3, requires_grad=True)
    out = losskit.sparse_categorical_cross_entropy(
        logits,
        torch.full((4,), -100),
        from_logits=True,
        ignore_index=-100,
        class_weights=torch.ones(3),
    )
    out.backward()
    assert out.item() == 0.0 and not torch.isnan(out)
    assert torch.equal(logits.grad, torch.zeros(4, 3))


@pytest.mark.skipif(not HAS_JAX, reason="jax not installed")
def test_all_ignored_mean_is_zero_under_jit_with_zero_gradient():
    import jax
    import jax.numpy as jnp

    def f(x):
        return losskit.sparse_categorical_focal(
            x, jnp.full((4,), -1), from_logits=True, ignore_index=-1
        )

    value, grad = jax.jit(jax.value_and_grad(f))(jnp.ones((4, 3)))
    assert float(value) == 0.0
    assert np.all(np.asarray(grad) == 0)


def test_empty_input_mean_is_zero():
    assert float(losskit.huber(np.zeros((0,)), np.zeros((0,)))) == 0.0


# --------------------------------------------------------------------- primitives


def test_logsumexp_matches_scipy_and_handles_huge_and_all_minus_inf():
    from scipy.special import logsumexp

    x = np.array([[1e4, 1e4 - 1, -1e4], [-np.inf, -np.inf, -np.inf]])
    with np.errstate(divide="ignore"):  # log(0) for the all -inf row is the point
        out = primitives.logsumexp(x, axis=-1, xp=np)
    np.testing.assert_allclose(out[0], logsumexp(x[0]))
    assert out[1] == -np.inf


def test_softplus_and_sigmoid_are_exact_for_huge_inputs():
    x = np.array([-1e4, -50.0, 0.0, 50.0, 1e4])
    np.testing.assert_allclose(primitives.softplus(x, xp=np), np.logaddexp(0, x))
    from scipy.special import expit

    np.testing.assert_allclose(primitives.sigmoid(x, xp=np), expit(x))


def _generic_gradient(backend_name: str, fn, x: np.ndarray, *args: np.ndarray, **kwargs):
    """d(sum of fn(x, *args))/dx with torch or jax autodiff, as a float64 NumPy array."""
    if backend_name == "torch":
        import torch

        xt = torch.tensor(x, requires_grad=True)
        fn(xt, *(torch.tensor(a) for a in args), **kwargs).sum().backward()
        return xt.grad.numpy()
    import jax
    import jax.numpy as jnp

    rest = [jnp.asarray(a) for a in args]
    return np.asarray(jax.jit(jax.grad(lambda v: jnp.sum(fn(v, *rest, **kwargs))))(x))


@pytest.mark.parametrize("backend_name", backend_params(("torch", "jax")))
def test_softplus_gradients_are_exact_at_zero_and_finite_at_infinity(backend_name):
    """At a logit or error of exactly 0 (a zero-initialised output layer) the gradient has
    no kink of max or abs to pick a side of: sigmoid(0) = 1/2, tanh(0) = 0."""
    from array_api_compat import array_namespace

    def softplus(x):
        return primitives.softplus(x, xp=array_namespace(x))

    x = np.array([0.0, np.inf, -np.inf, 1e4, -1e4])
    np.testing.assert_array_equal(
        _generic_gradient(backend_name, softplus, x), [0.5, 1.0, 0.0, 1.0, 0.0]
    )
    zero = np.zeros(3)
    y = np.array([1.0, 0.0, 0.25])

    # The generic kernels (with torch tensors the losses may run torch overrides).
    bce = kernels.generic_kernels()(losskit.binary_cross_entropy)
    log_cosh = kernels.generic_kernels()(losskit.log_cosh)
    np.testing.assert_allclose(
        _generic_gradient(backend_name, bce, zero, y, from_logits=True, reduction="none"),
        0.5 - y,
    )
    # d/dx -(w y log sigmoid(x) + (1 - y) log sigmoid(-x)) = -w y / 2 + (1 - y) / 2 at 0
    np.testing.assert_allclose(
        _generic_gradient(
            backend_name, bce, zero, y, from_logits=True, pos_weight=3.0, reduction="none"
        ),
        -1.5 * y + 0.5 * (1.0 - y),
    )
    np.testing.assert_array_equal(
        _generic_gradient(backend_name, log_cosh, zero, zero, reduction="none"), zero
    )


def test_binary_cross_entropy_keeps_tiny_losses_of_confident_logits():
    """A confident right answer's loss softplus(-|x|) is not lost to cancellation."""
    x = np.array([30.0, -30.0, 40.0])
    y = np.array([1.0, 0.0, 1.0])
    expected = np.log1p(np.exp(-np.abs(x)))
    for pos_weight in (None, 2.0):
        out = losskit.binary_cross_entropy(
            x, y, from_logits=True, pos_weight=pos_weight, reduction="none"
        )
        weight = 1.0 if pos_weight is None else np.where(y == 1, pos_weight, 1.0)
        np.testing.assert_allclose(out, weight * expected, rtol=1e-12)


@pytest.mark.skipif(not HAS_TORCH, reason="torch not installed")
def test_xlogy_has_finite_gradient_at_zero():
    import torch

    x = torch.tensor([0.0, 0.5], dtype=torch.float64, requires_grad=True)
    out = primitives.xlogy(x, x, xp=losskit.core.namespace.array_namespace(x)).sum()
    out.backward()
    assert torch.isfinite(x.grad).all()


@pytest.mark.skipif(not HAS_TORCH, reason="torch not installed")
def test_stop_gradient_detaches_in_torch():
    import torch
    from array_api_compat import array_namespace

    x = torch.ones(2, requires_grad=True)
    assert not stop_gradient(x * 2, array_namespace(x)).requires_grad


@pytest.mark.skipif(not HAS_JAX, reason="jax not installed")
def test_stop_gradient_and_tracing_in_jax():
    import jax
    import jax.numpy as jnp

    seen = []

    def f(x):
        seen.append(is_traced(x))
        return jnp.sum(stop_gradient(x, jnp) * x)

    grad = jax.grad(f)(jnp.ones(3))
    np.testing.assert_array_equal(
        np.asarray(grad), np.ones(3)
    )  # d/dx (c * x) with c = x held constant
    assert seen == [True]
    assert not is_traced(jnp.ones(1))


# ------------------------------------------------------------------------- kernels


@kernels.kernel
def _twice(x, *, xp):
    return 2.0 * x


def test_an_override_not_finite_where_the_generic_kernel_is_hands_over_to_it(monkeypatch):
    """``generic_if_not_finite``: a result holding inf or NaN is the generic kernel's."""
    monkeypatch.setattr(kernels, "_OVERRIDES", dict(kernels._OVERRIDES))

    @kernels.override(_twice, "numpy", generic_if_not_finite=True)
    def _twice_or_nan(x, *, xp):
        # 2x where finite, NaN at an infinite x (where the generic kernel gives +-inf)
        return xp.where(xp.isfinite(x), 2.0 * x + 0.5, xp.nan)

    finite = np.array([1.0, -3.0])
    np.testing.assert_array_equal(_twice(finite, xp=np), [2.5, -5.5])  # the override's
    infinite = np.array([1.0, -np.inf])
    np.testing.assert_array_equal(_twice(infinite, xp=np), [2.0, -np.inf])  # the generic's
    with losskit.value_checks(False):  # the result is not read: the override's value stays
        assert np.isnan(_twice(infinite, xp=np)[1])


# ------------------------------------------------------------------------ registry


def test_every_loss_is_registered_with_its_signature():
    names = losskit.available()
    for name in names:
        info = losskit.get_loss(name)
        if info.builtin:  # user-defined losses are registered, not added to the package
            assert getattr(losskit, name) is info.fn
        # Predictions first: (pred, target, ...), or for GAN losses only predictions, the
        # discriminator's outputs (real_pred, fake_pred); for embedding losses the model's
        # embeddings or scores first; for preference losses the policy's log-probabilities;
        # boundary_loss takes its target as the target's distance map.
        assert (
            info.arrays[:2] in (("pred", "target"), ("pred", "distance"))
            or ("generative" in info.tasks and all(a.endswith("_pred") for a in info.arrays))
            or (
                "embedding" in info.tasks
                and info.arrays[0] in ("embeddings", "query", "anchor", "x1", "score1")
            )
            or (
                "preference" in info.tasks
                and info.arrays[0] in ("policy_chosen_logps", "chosen_avg_logps", "policy_logps")
            )
        )
        assert "{reduction}" not in info.fn.__doc__
        assert "reduction:" in info.fn.__doc__ and "weights:" in info.fn.__doc__
        # the API docs read the innermost function of a decorated loss
        inner = inspect.unwrap(info.fn)
        assert inner is not info.fn and inner.__doc__ == info.fn.__doc__


def test_available_filters_by_task_and_rejects_unknown_tasks():
    assert "huber" in losskit.available("regression")
    assert "huber" not in losskit.available("binary")
    with pytest.raises(losskit.LossInputError, match="task must be one of"):
        losskit.available("clustering")


def test_get_loss_names_the_unknown_loss():
    with pytest.raises(losskit.LossInputError, match="'hubber'"):
        losskit.get_loss("hubber")


def test_options_are_keyword_only():
    with pytest.raises(TypeError):
        losskit.huber(np.ones(2), np.ones(2), 1.0)


def test_scalar_option_arrays_from_lists():
    out = losskit.categorical_cross_entropy(
        np.array([[0.2, 0.8]]), np.array([[0.0, 1.0]]), class_weights=[1.0, 2.0], reduction="sum"
    )
    assert float(out) == pytest.approx(-2 * np.log(0.8))


def test_import_needs_no_torch_or_jax():
    code = (
        "import sys; sys.modules['torch'] = None; sys.modules['jax'] = None\n"
        "import losskit, numpy as np\n"
        "assert float(losskit.mse(np.ones(2), np.zeros(2))) == 1.0\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize(
    ("loss", "option", "value"),
    [("huber", "delta", -1.0), ("quantile", "q", 2.0), ("huber", "delta", float("nan"))],
)
@pytest.mark.parametrize("backend", backend_params(("numpy", "torch")), indirect=True)
def test_hyperparameters_given_as_concrete_arrays_are_range_checked(backend, loss, option, value):
    make_array = backend.asarray
    pred, target = make_array([3.0]), make_array([0.0])
    with pytest.raises(losskit.LossInputError, match=f"{option} must lie in"):
        getattr(losskit, loss)(pred, target, **{option: make_array(value)})
    with losskit.value_checks(False):  # an array option is data: its check is a value check
        getattr(losskit, loss)(pred, target, **{option: make_array(value)})


def test_hyperparameters_given_as_traced_arrays_are_not_read():
    jax = pytest.importorskip("jax")
    huber = jax.jit(
        lambda d: losskit.huber(jax.numpy.array([3.0]), jax.numpy.array([0.0]), delta=d)
    )
    assert float(huber(2.0)) == pytest.approx(4.0)


def _flag_options():
    import inspect

    for name in losskit.available():
        for param in inspect.signature(losskit.get_loss(name).generic).parameters.values():
            if isinstance(param.default, bool):
                yield pytest.param(name, param.name, id=f"{name}-{param.name}")


@pytest.mark.parametrize(("name", "flag"), list(_flag_options()))
@pytest.mark.parametrize("value", ["False", 1, None])
def test_true_false_options_refuse_other_values(name, flag, value):
    # "False" is truthy: accepted, it would silently pick the other branch of the loss.
    with pytest.raises(losskit.LossInputError, match=f"{flag} must be True or False"):
        losskit.get_loss(name).fn(np.zeros((2, 2)), np.zeros((2, 2)), **{flag: value})


def _losses_with_flags():
    import inspect

    for name in losskit.available():
        params = inspect.signature(losskit.get_loss(name).generic).parameters.values()
        for p in params:
            if isinstance(p.default, bool):
                yield name, p.name


@pytest.mark.parametrize(("name", "flag"), list(_losses_with_flags()))
def test_true_false_options_take_exactly_a_bool_before_any_data(name, flag):
    # the check behind the PyTorch modules' and Keras losses' construction
    info = losskit.get_loss(name)
    with pytest.raises(losskit.LossInputError, match=f"{flag} must be True or False"):
        info.check_options({flag: "False"})
    info.check_options({flag: False})
