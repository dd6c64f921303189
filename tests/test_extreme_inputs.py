"""Bad and extreme inputs, cause by cause (issue 14), on every backend.

Each test pins one root cause in the shared machinery: non-arrays and non-numeric
arrays refused by namespace resolution, per-class vectors refused when infinite,
16-bit sums accumulated in float32, a variance floor float16 can square, and
``weighted_log``, which gives a target of 0 no weight even at an infinite logit.
``tests/test_bad_inputs.py`` draws the same kinds of input at random over every loss.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import losskit
from array_backends import AVAILABLE, HAS_JAX, HAS_TORCH, backend_params, get_backend
from loss_table import CASES_BY_NAME

LOSSES = [n for n in losskit.available() if losskit.get_loss(n).builtin]
LOGIT_BACKENDS = backend_params(("numpy", "torch", "jax", "tensorflow"))
#: the backends with automatic differentiation
GRAD_BACKENDS = [
    n
    for n, ok in (("torch", HAS_TORCH), ("jax", HAS_JAX), ("tensorflow", AVAILABLE["tensorflow"]))
    if ok
]


def _first_sample(name: str):
    return next(iter(CASES_BY_NAME[name].samples(np.random.default_rng(0))))


def _value_and_grad(backend_name: str, fn, args: list[np.ndarray], wrt: int = 0, **kwargs):
    """(value, gradient w.r.t. args[wrt]) as float64 NumPy; no gradient on NumPy."""
    if backend_name == "torch":
        import torch

        tensors = [torch.from_numpy(np.ascontiguousarray(a)) for a in args]
        tensors[wrt].requires_grad_()
        out = fn(*tensors, **kwargs)
        (grad,) = torch.autograd.grad(out.sum(), tensors[wrt])
        return out.detach().double().numpy(), grad.double().numpy()
    if backend_name == "jax":
        import jax
        import jax.numpy as jnp

        arrays = [jnp.asarray(a) for a in args]

        def scalar(x):
            full = list(arrays)
            full[wrt] = x
            return jnp.sum(fn(*full, **kwargs))

        grad = jax.grad(scalar)(arrays[wrt])
        return np.asarray(fn(*arrays, **kwargs), dtype=np.float64), np.asarray(grad, np.float64)
    if backend_name == "tensorflow":
        import tensorflow as tf

        tensors = [tf.constant(a) for a in args]
        with tf.GradientTape() as tape:
            tape.watch(tensors[wrt])
            out = fn(*tensors, **kwargs)
            total = tf.reduce_sum(out)
        grad = tape.gradient(total, tensors[wrt])
        return out.numpy().astype(np.float64), grad.numpy().astype(np.float64)
    return np.asarray(fn(*args, **kwargs), dtype=np.float64), None


# ------------------------------------------------- 1, 2: what is not an array of numbers


@pytest.mark.parametrize("name", LOSSES)
def test_none_as_any_array_names_the_argument(name, backend):
    sample = _first_sample(name)
    info = losskit.get_loss(name)
    for position, arg_name in enumerate(info.arrays):
        args = [backend.convert(a) for a in sample.args]
        args[position] = None
        kwargs = {k: backend.convert(v) for k, v in sample.kwargs.items()}
        if "None" in str(info.signature.parameters[arg_name].annotation):
            # an optional array (distillation's labels, typed `Array | None`): None is accepted
            assert info.fn(*args, **kwargs) is not None
            continue
        with pytest.raises(losskit.LossInputError, match=f"^{arg_name} must be an array.*got None"):
            info.fn(*args, **kwargs)


def test_gan_generator_of_none_names_fake_pred():
    with pytest.raises(losskit.LossInputError, match=r"fake_pred must be an array.*got None"):
        losskit.gan_generator(None)


NON_NUMERIC = {
    "strings": lambda shape: np.full(shape, "0.5"),
    "bytes": lambda shape: np.full(shape, b"1"),
    "objects": lambda shape: np.full(shape, 0.5, dtype=object),
    "records": lambda shape: np.zeros(shape, dtype=[("x", "f8")]),
}


@pytest.mark.parametrize("kind", NON_NUMERIC)
@pytest.mark.parametrize("name", LOSSES)
def test_non_numeric_numpy_arrays_are_refused_naming_the_argument(name, kind):
    sample = _first_sample(name)
    for position, arg_name in enumerate(losskit.get_loss(name).arrays):
        args = list(sample.args)
        args[position] = NON_NUMERIC[kind](np.shape(args[position]))
        with pytest.raises(losskit.LossInputError, match=f"^{arg_name} must hold numbers"):
            losskit.get_loss(name).fn(*args, **sample.kwargs)


def test_strings_are_never_parsed_into_numbers():
    # once silently 0.833: the strings were parsed by NumPy's cast
    with pytest.raises(losskit.LossInputError, match=r"target must hold numbers; got .*<U3"):
        losskit.mse(np.zeros(3), np.array(["0", "1", "1.5"]))
    with pytest.raises(losskit.LossInputError, match="target must hold numbers"):
        losskit.mse(np.zeros(3), np.array(["abc", "1", "1.5"]))  # once NumPy's ValueError
    with pytest.raises(losskit.LossInputError, match="weights must hold numbers"):
        losskit.mse(np.zeros(3), np.zeros(3), weights=np.array(["1", "1", "1"]))


@pytest.mark.parametrize(
    "value", [["1", "1", "1"], [1.0, None, 1.0], "111", [1.0, [1.0, "a"]], {"a": 1}]
)
def test_per_class_options_hold_only_numbers(value):
    probs = np.full((2, 3), 1 / 3)
    with pytest.raises(
        losskit.LossInputError,
        match=r"class_weights must be (an array, a sequence|a per-class array|finite and non-negative)",
    ):
        losskit.categorical_cross_entropy(probs, np.eye(3)[[0, 1]], class_weights=value)


# ----------------------------------------------------- 3: per-class vectors at call time


CLASS_VECTOR_CALLS = [
    ("categorical_cross_entropy", "class_weights", "probabilities"),
    ("sparse_categorical_cross_entropy", "class_weights", "labels"),
    ("categorical_focal", "alpha", "probabilities"),
    ("sparse_categorical_focal", "alpha", "labels"),
    ("dice", "class_weights", "labels"),
    ("lovasz_softmax", "class_weights", "labels"),
]


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan, -1.0])
@pytest.mark.parametrize("name, option, targets", CLASS_VECTOR_CALLS)
def test_per_class_vectors_must_be_finite_and_non_negative(name, option, targets, bad, backend):
    rng = np.random.default_rng(1)
    pred = rng.normal(size=(4, 3))
    labels = np.array([0, 1, 2, 1])
    target = labels if targets == "labels" else np.eye(3)[labels]
    vector = np.array([1.0, bad, 1.0])
    kwargs = {option: backend.convert(vector), "from_logits": True, "axis": -1}
    args = [backend.convert(pred), backend.convert(target)]
    with pytest.raises(
        losskit.LossInputError,
        match=f"{option} must be (non-negative and finite|finite and non-negative)",
    ):
        losskit.get_loss(name).fn(*args, **kwargs)
    kwargs[option] = list(vector)  # a list goes through the same check
    with pytest.raises(
        losskit.LossInputError,
        match=f"{option} must be (non-negative and finite|finite and non-negative)",
    ):
        losskit.get_loss(name).fn(*args, **kwargs)


@pytest.mark.parametrize("bad", [np.inf, np.nan, -1.0])
def test_pos_weight_must_be_finite_and_non_negative(bad, backend):
    pred, target = backend.convert(np.zeros(3)), backend.convert(np.array([0.0, 1.0, 1.0]))
    with pytest.raises(losskit.LossInputError, match="pos_weight must be finite and non-negative"):
        losskit.binary_cross_entropy(
            pred, target, from_logits=True, pos_weight=backend.convert(np.array([1.0, bad, 1.0]))
        )


# ------------------------------------------------------- 4: 16-bit sums in float32


def _low_precision_backends():
    names = ["numpy", *GRAD_BACKENDS]
    return [
        (n, d) for n in names for d in ("float16", "bfloat16") if (n, d) != ("numpy", "bfloat16")
    ]


def _cast(backend_name: str, a: Any, dtype: str):
    if not isinstance(a, np.ndarray):
        return a
    if a.dtype.kind != "f":
        return get_backend(backend_name).asarray(a)
    if backend_name == "torch":
        import torch

        return torch.tensor(a, dtype=getattr(torch, dtype))
    if backend_name == "jax":
        import jax.numpy as jnp

        return jnp.asarray(a, dtype=getattr(jnp, dtype))
    if backend_name == "tensorflow":
        import tensorflow as tf

        return tf.constant(a, dtype=getattr(tf, dtype))
    return a.astype(dtype)


def _float64(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):
        return x.detach().double().numpy()
    return np.asarray(x, dtype=np.float64)


@pytest.mark.parametrize("backend_name, dtype", _low_precision_backends())
def test_16_bit_mean_is_accumulated_in_float32(backend_name, dtype):
    big, zeros = np.full(16, 64.0), np.zeros(16)
    out = losskit.mse(_cast(backend_name, big, dtype), _cast(backend_name, zeros, dtype))
    assert str(getattr(out.dtype, "name", out.dtype)).endswith(dtype)  # tf.float16.name
    assert float(out) == 4096.0  # the sum, 65536, is beyond float16's 65504
    # every reduction path: internal norms (class weights, ignored labels) and weights
    logits = np.zeros((4096, 3))
    logits[:, 0] = -30.0
    labels = np.zeros(4096, dtype=np.int64)
    ignored = labels.copy()
    ignored[0] = -1
    for options, target in (
        ({}, labels),
        ({"class_weights": np.ones(3)}, labels),
        ({"ignore_index": -1}, ignored),
    ):
        args = (_cast(backend_name, logits, dtype), _cast(backend_name, target, dtype))
        options = {k: _cast(backend_name, v, dtype) for k, v in options.items()}
        fn = losskit.sparse_categorical_cross_entropy
        none = fn(*args, from_logits=True, reduction="none", **options)
        mean = fn(*args, from_logits=True, **options)
        assert np.isfinite(_float64(none)).all()
        np.testing.assert_allclose(float(mean), 30.69, rtol=1e-2)  # log 2 + 30, in float16
    weighted = losskit.mse(
        _cast(backend_name, big, dtype),
        _cast(backend_name, zeros, dtype),
        weights=_cast(backend_name, np.full(16, 2.0), dtype),
    )
    assert float(weighted) == 4096.0


# ------------------------------------------------ 5: gaussian_nll's floor in float16


@pytest.mark.parametrize("backend_name", GRAD_BACKENDS)
@pytest.mark.parametrize("var", [0.0, 1e-7, 1e-6, 1e-4])
def test_gaussian_nll_in_float16_has_finite_gradients_at_small_variance(backend_name, var):
    pred, target = np.array([0.0, 0.5, 1.0]), np.array([0.0, 0.0, 0.5])
    variance = np.full(3, var)
    for wrt in (0, 2):
        args = [_cast(backend_name, a, "float16") for a in (pred, target, variance)]
        value, grad = _float16_value_and_grad(backend_name, args, wrt)
        assert np.isfinite(value) and np.isfinite(grad).all(), (value, grad)
    # the floor is the smallest v whose square float16 holds, sqrt(6.1e-5) = 7.8e-3
    floor = np.sqrt(np.finfo(np.float16).smallest_normal)
    expected = losskit.gaussian_nll(pred, target, np.maximum(variance, floor))
    np.testing.assert_allclose(value, expected, rtol=2e-3)


def _float16_value_and_grad(backend_name, args, wrt):
    if backend_name == "torch":
        import torch

        args[wrt].requires_grad_()
        out = losskit.gaussian_nll(*args)
        (grad,) = torch.autograd.grad(out, args[wrt])
        return float(out.detach()), grad.float().numpy()
    if backend_name == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            tape.watch(args[wrt])
            out = losskit.gaussian_nll(*args)
        return float(out), tape.gradient(out, args[wrt]).numpy().astype(np.float64)
    import jax

    def f(x):
        full = list(args)
        full[wrt] = x
        return losskit.gaussian_nll(*full)

    value, grad = jax.value_and_grad(f)(args[wrt])
    return float(value), np.asarray(grad, dtype=np.float64)


# ------------------------------------------ 6: a target of 0 at an infinite logit


@pytest.mark.parametrize("backend_name", LOGIT_BACKENDS)
@pytest.mark.parametrize(
    "name, expected",
    [
        ("categorical_cross_entropy", np.log(2.0)),
        ("categorical_focal", 0.25 * np.log(2.0)),  # (1 - 1/2)^2 log 2
        ("kl_divergence", 0.0),
    ],
)
def test_minus_infinite_logit_of_a_zero_target_contributes_nothing(backend_name, name, expected):
    logits = np.array([[-np.inf, 0.0, 0.0], [1.0, -np.inf, 2.0]])
    target = np.array([[0.0, 0.5, 0.5], [0.3, 0.0, 0.7]])
    fn = losskit.get_loss(name).fn
    value, grad = _value_and_grad(
        backend_name, fn, [logits, target], from_logits=True, reduction="none"
    )
    # the second row: the loss of the same row without its forbidden class
    without = fn(logits[1:, [0, 2]], target[1:, [0, 2]], from_logits=True, reduction="none")
    np.testing.assert_allclose(value, [expected, float(without[0])], rtol=1e-12, atol=1e-15)
    if grad is not None:
        assert np.isfinite(grad).all(), grad
        assert grad[0, 0] == 0.0 and grad[1, 1] == 0.0
        if name != "categorical_focal":  # softmax(x) - q
            np.testing.assert_allclose(grad[0], [0.0, 0.0, 0.0], atol=1e-15)


@pytest.mark.parametrize("backend_name", LOGIT_BACKENDS)
def test_binary_cross_entropy_at_infinite_logits_is_its_limit(backend_name):
    logits = np.array([np.inf, -np.inf, np.inf, -np.inf, np.inf])
    target = np.array([1.0, 0.0, 0.0, 1.0, 0.5])
    fn = losskit.binary_cross_entropy
    for reduction in ("none", "mean"):
        value, grad = _value_and_grad(
            backend_name, fn, [logits[:2], target[:2]], from_logits=True, reduction=reduction
        )
        np.testing.assert_array_equal(value, 0.0)
        if grad is not None:
            np.testing.assert_array_equal(grad, [0.0, 0.0])  # sigmoid(x) - t
    value, grad = _value_and_grad(
        backend_name, fn, [logits, target], from_logits=True, reduction="none"
    )
    np.testing.assert_array_equal(value, [0.0, 0.0, np.inf, np.inf, np.inf])
    if grad is not None:
        np.testing.assert_array_equal(grad, [0.0, 0.0, 1.0, -1.0, 0.5])
    for name in ("binary_focal",):
        value, grad = _value_and_grad(
            backend_name, losskit.get_loss(name).fn, [logits[:2], target[:2]], from_logits=True
        )
        assert value == 0.0 and (grad is None or np.all(grad == 0.0))


@pytest.mark.parametrize("backend_name", LOGIT_BACKENDS)
def test_poisson_nll_of_a_zero_count_at_rate_zero_is_zero(backend_name):
    value, grad = _value_and_grad(
        backend_name,
        losskit.poisson_nll,
        [np.array([-np.inf, 0.0]), np.array([0.0, 1.0])],
        reduction="none",
    )
    np.testing.assert_array_equal(value, [0.0, 1.0])
    if grad is not None:
        np.testing.assert_array_equal(grad, [0.0, 0.0])


# ------------------------ 7: divergences and focal losses compute 16-bit in float32


def _large_float16_logit_cases():
    """(loss, arrays, options): student logits near 1e4, which float16 holds, whose
    log-probabilities (about -2e4) times a probability, or the gradients of the
    divergences' logarithms, pass float16's 65504."""
    rng = np.random.default_rng(7)
    logits = np.clip(rng.normal(size=(3, 5, 2)), -3.0, 3.0)
    labels = rng.integers(0, 5, (3, 2))
    labels[1, 0] = -100
    teacher = rng.normal(size=(3, 5, 2))
    kd = {"axis": 1, "temperature": 3.0, "ignore_index": -100}
    target = rng.dirichlet(np.ones(5), 6)
    one_hot = np.eye(5)[rng.integers(0, 5, 6)]
    flat = np.clip(rng.normal(size=(6, 5)), -3.0, 3.0)
    for beta in (0.2, 0.5, 1.0):
        options = {**kd, "beta": beta}
        yield pytest.param(
            "distillation", (logits * 1e4, labels, teacher), options, id=f"kd-{beta}"
        )
    logits_options = {"from_logits": True}
    yield pytest.param("jensen_shannon", (flat * 2e4, target), logits_options, id="js")
    reverse = {"from_logits": True, "direction": "reverse"}
    yield pytest.param("kl_divergence", (flat * 2e4, target), reverse, id="reverse-kl")
    yield pytest.param("categorical_focal", (flat * 2e4, one_hot), logits_options, id="focal")
    binary = (flat * 2e4, rng.integers(0, 2, (6, 5)).astype(np.float64))
    yield pytest.param("binary_focal", binary, logits_options, id="binary-focal")


@pytest.mark.parametrize("backend_name", GRAD_BACKENDS)
@pytest.mark.parametrize(
    "name, args, options",
    list(_large_float16_logit_cases()),
)
def test_float16_losses_at_large_logits_have_finite_gradients(backend_name, name, args, options):
    """The value fits float16 and used to be right; the gradient was NaN (an intermediate
    passed 65504, then inf times a probability of 0).  Computed in float32 and returned
    in float16, both agree with float64 on the same float16 inputs."""
    fn = losskit.get_loss(name).fn
    args = [a.astype(np.float16) if a.dtype.kind == "f" else a for a in args]
    value, grad = _value_and_grad(backend_name, fn, args, reduction="none", **options)
    wide = [a.astype(np.float64) if a.dtype.kind == "f" else a for a in args]
    expected, expected_grad = _value_and_grad("torch", fn, wide, reduction="none", **options)
    assert np.isfinite(value).all() and np.isfinite(grad).all(), (value, grad)
    # errors of a few float16 eps of the largest entry (a saturated softmax's gradients
    # are about 1e-80 in float64 and 0 in float16)
    np.testing.assert_allclose(value, expected, rtol=2e-3, atol=1e-3 * (1 + np.abs(expected).max()))
    atol = 1e-2 * (1 + np.abs(expected_grad).max())
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-2, atol=atol)


def test_float16_losses_computed_in_float32_return_float16():
    """Computed in float32, returned in the prediction's dtype, whether the arrays are
    given by position or by name."""
    name, args, options = next(_large_float16_logit_cases()).values
    fn = losskit.get_loss(name).fn
    pred, labels, teacher = (a.astype(np.float16) if a.dtype.kind == "f" else a for a in args)
    by_position = fn(pred, labels, teacher, reduction="none", **options)
    by_name = fn(pred=pred, target=labels, teacher=teacher, reduction="none", **options)
    assert by_position.dtype == by_name.dtype == np.float16
    np.testing.assert_array_equal(by_name, by_position)


@pytest.mark.skipif(not HAS_TORCH, reason="torch not installed")
def test_float16_arrays_given_by_name_have_finite_gradients():
    import torch

    name, args, options = next(_large_float16_logit_cases()).values
    pred, labels, teacher = (torch.from_numpy(np.asarray(a)) for a in args)
    pred = pred.to(torch.float16).requires_grad_()
    out = losskit.get_loss(name).fn(
        pred=pred, target=labels, teacher=teacher.to(torch.float16), **options
    )
    out.backward()
    assert out.dtype == torch.float16 and torch.isfinite(pred.grad).all()


@pytest.mark.skipif(not HAS_TORCH, reason="torch not installed")
def test_16_bit_losses_computed_in_float32_return_float32_under_autocast():
    import torch

    name, args, options = next(_large_float16_logit_cases()).values
    pred, labels, teacher = (torch.from_numpy(np.asarray(a)) for a in args)
    pred, teacher = pred.to(torch.bfloat16), teacher.to(torch.bfloat16)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert losskit.get_loss(name).fn(pred, labels, teacher, **options).dtype == torch.float32
    assert losskit.get_loss(name).fn(pred, labels, teacher, **options).dtype == torch.bfloat16


# ------------------------------------- accuracy: log-cosh of small errors (neighbour of 8)

#: errors from 1e-15 to 100, both signs: log cosh e ~ e^2 / 2 near 0, |e| - log 2 far out
LOG_COSH_ERRORS = np.array(
    [1e-15, 1e-8, 1e-4, 1e-3, 0.01, 0.1, 0.3, 0.49, 0.5, 0.51, 1.0, 3.0, 10.0, 30.0, 100.0]
)
LOG_COSH_ERRORS = np.concatenate([LOG_COSH_ERRORS, -LOG_COSH_ERRORS[::2]])


def _log_cosh_float64(error: np.ndarray) -> np.ndarray:
    """log cosh e = log1p(2 sinh^2(e / 2)) in float64: no cancellation at any e here."""
    return np.log1p(2.0 * np.sinh(error / 2.0) ** 2)


@pytest.mark.parametrize("backend_name", LOGIT_BACKENDS)
def test_log_cosh_keeps_its_precision_at_small_errors(backend_name):
    """logaddexp(e, -e) - log 2 (Keras's and optax's form) is off by 10% at e = 1e-3 in
    float32 and by 100% at 1e-4: every element, the mean and the gradient tanh(e) within
    a few float32 units of rounding here."""
    eps = np.finfo(np.float32).eps
    error = LOG_COSH_ERRORS.astype(np.float32)
    expected = _log_cosh_float64(error.astype(np.float64))
    zeros = np.zeros_like(error)
    value, grad = _value_and_grad(backend_name, losskit.log_cosh, [error, zeros], reduction="none")
    np.testing.assert_allclose(value, expected, rtol=4 * eps, atol=0)
    if grad is not None:
        np.testing.assert_allclose(grad, np.tanh(error.astype(np.float64)), rtol=4 * eps, atol=0)
    for scale in (1e-3, 1.0):  # a small mean (errors ~1e-3) and a large one
        small = (scale * error[np.abs(error) <= 1]).astype(np.float32)
        mean, _ = _value_and_grad(backend_name, losskit.log_cosh, [small, np.zeros_like(small)])
        expected_mean = _log_cosh_float64(small.astype(np.float64)).mean()
        np.testing.assert_allclose(mean, expected_mean, rtol=8 * eps, atol=0)


def test_log_cosh_in_float64_keeps_its_precision():
    eps = np.finfo(np.float64).eps
    value = losskit.log_cosh(LOG_COSH_ERRORS, np.zeros_like(LOG_COSH_ERRORS), reduction="none")
    np.testing.assert_allclose(value, _log_cosh_float64(LOG_COSH_ERRORS), rtol=8 * eps, atol=0)


@pytest.mark.parametrize("backend_name", GRAD_BACKENDS)
def test_log_cosh_gradient_in_float16_is_tanh(backend_name):
    """Differentiated in float16, log1p(e^2 / (2 + 2e)) passes (2 + 2e)^-2 = 2e-5, a
    subnormal, and the gradient was 4% off tanh at 4.5 (found by the seeded run, JAX);
    16-bit errors are computed in float32, so it is tanh to float16's rounding."""
    errors = np.linspace(-8.0, 8.0, 161).astype(np.float16)
    _, grad = _value_and_grad(
        backend_name, losskit.log_cosh, [errors, np.zeros_like(errors)], reduction="none"
    )
    expected = np.tanh(errors.astype(np.float64))
    np.testing.assert_allclose(grad, expected, rtol=0, atol=2 * float(np.finfo(np.float16).eps))


# --------------------- accuracy: SSIM's variances of smooth images (found by the run)


def _smooth_images() -> list[np.ndarray]:
    """Two 1 x 1 x 48 x 48 images of mean about 0.9 and spread about 0.03: a window's
    E[x^2] - E[x]^2 subtracts 0.81 to keep about 1e-3."""
    rng = np.random.default_rng(11)
    rows, cols = np.meshgrid(np.linspace(0, 3, 48), np.linspace(0, 2, 48), indexing="ij")
    base = 0.9 + 0.03 * np.sin(rows) * np.cos(cols)
    return [(base + 0.01 * rng.normal(size=base.shape))[None, None] for _ in range(2)]


@pytest.mark.parametrize("backend_name", LOGIT_BACKENDS)
@pytest.mark.parametrize("name, options", [("ssim", {}), ("ms_ssim", {"window_size": 3})])
def test_ssim_of_smooth_images_keeps_float32_precision(backend_name, name, options):
    """The (co)variances are computed on images shifted by their means: float32 is
    within a few eps of float64 on the same inputs (without the shift, 20 to 40 eps of
    MS-SSIM and 100 of SSIM here)."""
    fn = losskit.get_loss(name).fn
    images = [a.astype(np.float32) for a in _smooth_images()]
    value, grad = _value_and_grad(backend_name, fn, images, **options)
    expected, expected_grad = _value_and_grad(
        "torch", fn, [a.astype(np.float64) for a in images], **options
    )
    eps = float(np.finfo(np.float32).eps)
    assert abs(float(value) - float(expected)) <= 4 * eps
    if grad is not None:  # a sum of many such terms: to the property test's tolerance
        peak = np.abs(expected_grad).max()
        np.testing.assert_allclose(grad, expected_grad, rtol=0, atol=128 * eps * peak)


# ------------- accuracy: log-probabilities of likely classes at large logits (found by the run)

#: logits whose likely class has p = 0.967 (log p = -0.033), of a size where the spacing
#: of the dtype (0.25 in float16 at 259, 0.002 in float32 at 25880) exceeds |log p|
LARGE_LOGITS = {
    "float16": np.array([[-210.0, 255.4, 258.8], [-3.0, 250.0, 246.6]]),
    "float32": np.array([[-21000.0, 25876.6, 25880.0], [-3.0, 25000.0, 24996.6]]),
}


@pytest.mark.parametrize("backend_name", LOGIT_BACKENDS)
@pytest.mark.parametrize("dtype", ["float16", "float32"])
@pytest.mark.parametrize(
    "name, options",
    [
        ("sparse_categorical_cross_entropy", {}),
        ("categorical_cross_entropy", {}),
        ("categorical_cross_entropy", {"label_smoothing": 0.1}),
        ("sparse_categorical_cross_entropy", {"label_smoothing": 0.1}),
        ("generalized_cross_entropy", {}),
    ],
)
def test_log_probability_of_a_likely_class_at_large_logits(backend_name, dtype, name, options):
    """logsumexp = m + log s rounds log s to the spacing of m, so x_y - logsumexp lost
    the log-probability of a likely class (GCE gave 0 for 0.033 in float16: the seeded
    run).  The log-probability is (x_y - m) - log s: float16 and float32 keep their
    precision."""
    logits = LARGE_LOGITS[dtype].astype(dtype)
    labels = np.array([2, 1])
    target = labels if name != "categorical_cross_entropy" else np.eye(3, dtype=dtype)[labels]
    fn = losskit.get_loss(name).fn
    kwargs = dict(options, from_logits=True, reduction="none")
    value, _ = _value_and_grad(backend_name, fn, [logits, target], **kwargs)
    wide = target.astype(np.float64) if target.dtype.kind == "f" else target
    expected, _ = _value_and_grad("numpy", fn, [logits.astype(np.float64), wide], **kwargs)
    assert expected.min() > 0.03  # the regime of the cause
    np.testing.assert_allclose(value, expected, rtol=4 * float(np.finfo(dtype).eps))


# ----------------------------- accuracy: CTC's posteriors at a large loss (found by the run)


def _confident_ctc_inputs() -> list[np.ndarray]:
    """Logits of spread 100 over 12 frames: a loss of several hundred on some paths.
    The first sequence has as many frames as labels (one path), the second many paths."""
    rng = np.random.default_rng(5)
    logits = 100 * rng.normal(size=(2, 12, 5))
    target = np.array([[1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4], [1, 3, 2, 4, 0, 0, 0, 0, 0, 0, 0, 0]])
    return [logits, target, np.array([12, 12]), np.array([12, 4])]


@pytest.mark.parametrize("backend_name", GRAD_BACKENDS)
def test_ctc_gradient_keeps_float32_precision_at_a_large_loss(backend_name):
    """A posterior is e^(alpha + beta - log p), three numbers of the loss's size: computed
    so in float32 (PyTorch's CTC backward) it is off by eps times the loss, 6e-5 at a loss
    of 800 (512 eps; 9.2e-5 here).  The gradient in float32 stays within 32 eps of
    float64's: the generic recursion's error is the rounding of the log-sum-exp weights
    along the frames where paths mix (10 eps here on JAX and TensorFlow), not the loss."""
    logits, *rest = _confident_ctc_inputs()
    rounded = logits.astype(np.float32)
    value, grad = _value_and_grad(
        backend_name, losskit.ctc, [rounded, *rest], from_logits=True, reduction="none"
    )
    expected, expected_grad = _value_and_grad(
        "torch",
        losskit.ctc,
        [rounded.astype(np.float64), *rest],
        from_logits=True,
        reduction="none",
    )
    assert expected.max() > 500  # the regime of the cause
    eps = float(np.finfo(np.float32).eps)
    np.testing.assert_allclose(value, expected, rtol=4 * eps)
    np.testing.assert_allclose(grad, expected_grad, rtol=0, atol=32 * eps)


# ------------------------------------------------------------- 8: the documented claim


@pytest.mark.skipif(not HAS_TORCH, reason="torch not installed")
def test_class_weighted_mean_matches_pytorch_for_integer_labels_only():
    """docs/conventions.md: PyTorch's class-weighted mean divides by the summed weights for
    integer labels, by the count for probability targets; losskit divides by the summed
    weights for both."""
    import torch
    import torch.nn.functional as F

    rng = np.random.default_rng(3)
    logits, labels = rng.normal(size=(5, 3)), np.array([0, 1, 2, 2, 2])
    weights, one_hot = np.array([1.0, 2.0, 4.0]), np.eye(3)[labels]
    x, w = torch.from_numpy(logits), torch.from_numpy(weights)
    by_labels = F.cross_entropy(x, torch.from_numpy(labels), weight=w).item()
    by_one_hot = F.cross_entropy(x, torch.from_numpy(one_hot), weight=w).item()
    ours = float(
        losskit.categorical_cross_entropy(logits, one_hot, from_logits=True, class_weights=weights)
    )
    assert ours == pytest.approx(by_labels, rel=1e-12)
    assert by_one_hot == pytest.approx(by_labels * weights[labels].sum() / len(labels), rel=1e-12)
