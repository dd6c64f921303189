"""losskit.keras under one Keras backend.

Keras fixes its backend when it is first imported, so ``test_keras_backends.py`` runs
this module in a fresh pytest process per backend, with ``KERAS_BACKEND`` set (the
file name keeps the main run from collecting it as tests).  Run it by hand with
``LOSSKIT_KERAS_CHECKS=1 KERAS_BACKEND=torch PYTHONPATH=tests python -m pytest
--noconftest -p loss_table.plugin tests/keras/backend_checks.py`` (the plugin marks the
table's known gaps, as ``tests/conftest.py`` does in the main run).  Anywhere else (``--doctest-modules`` imports every
file) it skips itself before importing Keras or registering its user-defined loss.
"""

from __future__ import annotations

import functools
import inspect
import itertools
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

if os.environ.get("LOSSKIT_KERAS_CHECKS") != "1":
    pytest.skip("run by tests/keras/test_keras_backends.py", allow_module_level=True)

import keras

import losskit
import losskit.keras
from losskit.core.inputs import elementwise_inputs
from losskit.core.reduction import reduce_loss
from losskit.core.registry import class_name

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent
sys.path.insert(0, str(TESTS))

from loss_table import CASES_BY_NAME, Sample  # noqa: E402
from loss_table.params import rng as _rng  # noqa: E402
from loss_table.params import sample_rows, samples_of  # noqa: E402

BACKEND = keras.backend.backend()
CAN_TRAIN = BACKEND in ("tensorflow", "jax", "torch")  # Keras's NumPy backend can only evaluate
needs_training = pytest.mark.skipif(not CAN_TRAIN, reason=f"Keras cannot train on {BACKEND}")

# float32 Keras computation against float64 references
RTOL, ATOL = 2e-5, 2e-6


def _numpy(x: Any) -> np.ndarray:
    return np.asarray(keras.ops.convert_to_numpy(x), dtype=np.float64)


def _evaluate(fn: Any, *args: Any) -> tuple[np.ndarray, ...]:
    """``fn(*args)``, a tuple of losses, as NumPy arrays; compiled with ``jax.jit`` on
    JAX, as Keras's trainer runs losses (and much faster than JAX's op-by-op
    compilation, one compilation per test).  TensorFlow runs eagerly here, fast; its
    graphs are the training tests'."""
    if BACKEND == "jax":
        import jax

        fn = jax.jit(fn)
    return tuple(_numpy(value) for value in fn(*args))


# --------------------------------------------------------------- a user-defined loss


def _register_scaled_squared_error(default_scale: float) -> Any:
    @losskit.register_loss(
        tasks="custom",
        summary="Squared error times a constant (a user-defined test loss).",
        formula=r"\ell_i = s (\hat y_i - y_i)^2",
        builtin=False,
    )
    def scaled_squared_error(pred, target, *, scale=default_scale, reduction="mean", weights=None):
        """Squared error times ``scale``."""
        xp, pred, target = elementwise_inputs(pred, target)
        loss = scale * (pred - target) ** 2
        return reduce_loss(loss, reduction=reduction, weights=weights, xp=xp)

    return scaled_squared_error


_register_scaled_squared_error(2.0)
USER_LOSS_SAMPLE = Sample((np.linspace(-1, 1, 12).reshape(4, 3), np.zeros((4, 3))), {"scale": 0.5})


# ------------------------------------------------------------------- table samples


def _keras_samples() -> list[Any]:
    """Samples of every table entry that Keras can express (arrays after the second of
    the first one's shape, to be concatenated on the last axis): the first two and the
    one with the most options, to keep the JAX backend's op-by-op compilation short."""
    expressible = sample_rows(
        lambda case, s: s.args[0].ndim > 0 and all(e.shape == s.args[0].shape for e in s.args[2:])
    )
    params = []
    for _, group in itertools.groupby(expressible, key=lambda row: row.case.name):
        rows = list(group)
        richest = max(rows, key=lambda row: len(row.sample.kwargs))
        chosen = rows[:2] + ([richest] if richest not in rows[:2] else [])
        params += [row.param() for row in chosen]
    return params


def _keras_inputs(sample: Sample) -> tuple[np.ndarray, np.ndarray]:
    """(y_true, y_pred): the second array, and the first with any further arrays
    concatenated on the last axis; a loss of one array gets a y_true it does not use."""
    first, *rest = sample.args
    if not rest:
        return np.full_like(first, np.nan), first
    second, *extras = rest
    return second, np.concatenate([first, *extras], axis=-1) if extras else first


def _per_sample_reference(case: Any, sample: Sample) -> np.ndarray:
    """The documented per-sample loss: the unreduced reference, averaged over the last
    axis when the loss is element-wise."""
    pred = sample.args[0]
    ref = np.asarray(case.reference(*sample.args, reduction="none", **sample.kwargs))
    if ref.shape == pred.shape and pred.ndim >= 2:
        ref = ref.mean(axis=-1)
    return ref


def _kept(case: Any, sample: Sample, shape: tuple[int, ...]) -> np.ndarray:
    """Mask of the positions that count in Keras's "sum_over_batch_size"."""
    ignore_index = sample.kwargs.get("ignore_index")
    if ignore_index is None or sample.args[1].shape != shape:
        return np.ones(shape, dtype=bool)
    return sample.args[1] != ignore_index


def test_known_gaps_are_marked(pytestconfig):
    """The table's gaps reach these tests: the run loaded ``loss_table.plugin``."""
    assert pytestconfig.pluginmanager.has_plugin("loss_table.plugin")


# ------------------------------------------------------------------------- classes


@pytest.mark.parametrize("name", losskit.available())
def test_every_loss_has_a_registered_keras_class(name):
    cls = getattr(losskit.keras, class_name(name))
    assert issubclass(cls, keras.losses.Loss)
    assert cls.loss_info is losskit.get_loss(name)
    assert keras.saving.get_registered_name(cls) == f"losskit>{class_name(name)}"
    assert keras.saving.get_registered_object(f"losskit>{class_name(name)}") is cls
    assert class_name(name) in dir(losskit.keras)
    assert cls().reduction == "sum_over_batch_size"


def _options_for(name: str) -> dict[str, Any]:
    """Non-default options of a loss: those of its richest table sample."""
    if name in CASES_BY_NAME:
        return max((s.kwargs for s in samples_of(CASES_BY_NAME[name])), key=len)
    return {"scale": 0.25} if name == "scaled_squared_error" else {}


@pytest.mark.parametrize("name", losskit.available())
def test_config_round_trip(name):
    cls = losskit.keras.loss_class(name)
    options = _options_for(name)
    loss = cls(reduction="sum", name="my_loss", **options)
    config = loss.get_config()
    info = losskit.get_loss(name)
    assert set(config) == {"name", "reduction", "dtype", *info.options}
    assert config["name"] == "my_loss" and config["reduction"] == "sum"
    for option, value in options.items():
        expected = np.asarray(value).tolist() if option in info.array_options else value
        assert config[option] == expected
    json.dumps(config)  # a .keras file stores it as JSON
    clone = cls.from_config(config)
    assert type(clone) is cls and clone.get_config() == config
    revived = keras.losses.deserialize(keras.losses.serialize(loss))
    assert type(revived) is cls and revived.get_config() == config


@pytest.mark.parametrize("name", losskit.available())
def test_constructor_signature_shows_the_options(name):
    info = losskit.get_loss(name)
    parameters = inspect.signature(losskit.keras.loss_class(name)).parameters
    assert list(parameters) == [*info.options, "reduction", "name", "dtype"]
    for option, default in info.options.items():
        assert parameters[option].kind is inspect.Parameter.KEYWORD_ONLY
        assert parameters[option].default == default
    assert parameters["reduction"].default == "sum_over_batch_size"


def test_keras_lookup_knows_losskit_names_functions_and_composites():
    huber = keras.losses.get("losskit>Huber")
    assert type(huber) is losskit.keras.Huber and huber.delta == 1.0
    revived = keras.losses.get({"class_name": "losskit>Huber", "config": {"delta": 2.0}})
    assert type(revived) is losskit.keras.Huber and revived.delta == 2.0
    assert type(keras.losses.get(losskit.huber)) is losskit.keras.Huber
    partial = keras.losses.get(functools.partial(losskit.huber, delta=0.5))
    assert type(partial) is losskit.keras.Huber and partial.delta == 0.5
    combined = keras.losses.get(losskit.combine("mse", "mae"))
    assert type(combined) is losskit.keras.Combined
    # Keras's own identifiers are left to Keras
    assert keras.losses.get("mse") is keras.losses.get("mean_squared_error")
    with pytest.raises(ValueError, match="Could not interpret"):
        keras.losses.get("losskit>NoSuchLoss")


# ----------------------------------------------------------------------- agreement


@pytest.mark.parametrize(("case", "sample"), _keras_samples())
def test_agrees_with_function(case, sample):
    """loss(y_true, y_pred) is the function's loss(pred, target) under Keras's reduction
    conventions, against the table's float64 reference."""
    cls = losskit.keras.loss_class(case.name)
    y_true, y_pred = _keras_inputs(sample)
    per_sample = _per_sample_reference(case, sample)

    sample_weight = _rng(case.name, "sample_weight").uniform(0.0, 2.0, per_sample.shape)
    unreduced_loss, default_loss = cls(reduction="none", **sample.kwargs), cls(**sample.kwargs)
    unreduced, reduced = _evaluate(
        lambda t, p, w: (unreduced_loss(t, p), default_loss(t, p, sample_weight=w)),
        y_true,
        y_pred,
        sample_weight,
    )
    np.testing.assert_allclose(unreduced, per_sample, rtol=RTOL, atol=ATOL)
    if per_sample.ndim == 0:
        return
    kept = _kept(case, sample, per_sample.shape)
    weighted = np.where(kept, sample_weight * per_sample, 0.0)
    # "sum_over_batch_size": the weighted sum over the number of (kept) values, not
    # over the sum of the weights
    expected = weighted.sum() / max(kept.sum(), 1)
    np.testing.assert_allclose(reduced, expected, rtol=RTOL, atol=ATOL)


def test_user_defined_loss():
    cls = losskit.keras.ScaledSquaredError
    y_true, y_pred = _keras_inputs(USER_LOSS_SAMPLE)
    pred, target = USER_LOSS_SAMPLE.args
    expected = (0.5 * (pred - target) ** 2).mean(axis=-1)
    got = cls(reduction="none", scale=0.5)(y_true, y_pred)
    np.testing.assert_allclose(_numpy(got), expected, rtol=RTOL, atol=ATOL)


def test_user_defined_loss_registered_again_gets_a_new_class():
    old = losskit.keras.ScaledSquaredError
    try:
        _register_scaled_squared_error(3.0)
        new = losskit.keras.ScaledSquaredError
        assert new is not old and new().scale == 3.0
        assert keras.saving.get_registered_object("losskit>ScaledSquaredError") is new
    finally:
        _register_scaled_squared_error(2.0)


# ----------------------------------------------------- Keras's own losses, side by side


def _regression(rng, shape=(16, 3)):
    return rng.normal(size=shape), rng.normal(size=shape)


def _binary(rng, shape=(16, 3)):
    return rng.integers(0, 2, size=shape).astype(float), rng.normal(size=shape)


def _binary_probs(rng, shape=(16, 3)):
    return rng.integers(0, 2, size=shape).astype(float), rng.uniform(0.05, 0.95, size=shape)


def _one_hot_logits(rng, shape=(16, 4)):
    return np.eye(shape[-1])[rng.integers(0, shape[-1], shape[0])], rng.normal(size=shape) * 2


def _labels_logits(rng, shape=(16, 4)):
    return rng.integers(0, shape[-1], shape[0]), rng.normal(size=shape) * 2


def _distributions(rng, shape=(16, 4)):
    def probs():
        x = rng.uniform(0.05, 1.0, size=shape)
        return x / x.sum(axis=-1, keepdims=True)

    return probs(), probs()


def _signs(rng, shape=(16, 3)):
    return rng.choice([-1.0, 1.0], size=shape), rng.normal(size=shape)


def _counts(rng, shape=(16, 3)):
    return rng.poisson(3.0, size=shape).astype(float), rng.uniform(0.5, 5.0, size=shape)


def _positive(rng, shape=(16, 3)):
    return np.exp(rng.normal(size=shape)), np.exp(rng.normal(size=shape))


def _away_from_zero(rng, shape=(16, 3)):
    target = rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.5, 5.0, size=shape)
    return target, target + rng.normal(size=shape)


KERAS_PAIRS = {
    "mse": (lambda: losskit.keras.MSE(), lambda: keras.losses.MeanSquaredError(), _regression),
    "mae": (lambda: losskit.keras.MAE(), lambda: keras.losses.MeanAbsoluteError(), _regression),
    "huber": (
        lambda: losskit.keras.Huber(delta=0.7),
        lambda: keras.losses.Huber(delta=0.7),
        _regression,
    ),
    "smooth_l1": (
        lambda: losskit.keras.SmoothL1(beta=1.0),
        lambda: keras.losses.Huber(delta=1.0),
        _regression,
    ),
    "log_cosh": (lambda: losskit.keras.LogCosh(), lambda: keras.losses.LogCosh(), _regression),
    "msle": (
        lambda: losskit.keras.MSLE(),
        lambda: keras.losses.MeanSquaredLogarithmicError(),
        _positive,
    ),
    "mape": (
        lambda: losskit.keras.MAPE(),
        lambda: keras.losses.MeanAbsolutePercentageError(),
        _away_from_zero,
    ),
    "bce_logits": (
        lambda: losskit.keras.BinaryCrossEntropy(from_logits=True, label_smoothing=0.1),
        lambda: keras.losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1),
        _binary,
    ),
    "bce_probs": (
        lambda: losskit.keras.BinaryCrossEntropy(),
        lambda: keras.losses.BinaryCrossentropy(),
        _binary_probs,
    ),
    "binary_focal": (
        lambda: losskit.keras.BinaryFocal(gamma=2.0, alpha=0.25, from_logits=True),
        lambda: keras.losses.BinaryFocalCrossentropy(
            apply_class_balancing=True, alpha=0.25, gamma=2.0, from_logits=True
        ),
        _binary,
    ),
    "cce": (
        lambda: losskit.keras.CategoricalCrossEntropy(from_logits=True, label_smoothing=0.1),
        lambda: keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1),
        _one_hot_logits,
    ),
    "sparse_cce": (
        lambda: losskit.keras.SparseCategoricalCrossEntropy(from_logits=True),
        lambda: keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        _labels_logits,
    ),
    "sparse_cce_ignore": (
        lambda: losskit.keras.SparseCategoricalCrossEntropy(from_logits=True, ignore_index=2),
        lambda: keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=2),
        _labels_logits,
    ),
    "categorical_focal": (
        lambda: losskit.keras.CategoricalFocal(alpha=[0.25] * 4, gamma=2.0, from_logits=True),
        lambda: keras.losses.CategoricalFocalCrossentropy(alpha=0.25, gamma=2.0, from_logits=True),
        _one_hot_logits,
    ),
    "kl_divergence": (
        lambda: losskit.keras.KLDivergence(),
        lambda: keras.losses.KLDivergence(),
        _distributions,
    ),
    "hinge": (lambda: losskit.keras.Hinge(), lambda: keras.losses.Hinge(), _signs),
    "squared_hinge": (
        lambda: losskit.keras.SquaredHinge(),
        lambda: keras.losses.SquaredHinge(),
        _signs,
    ),
    "poisson": (
        lambda: losskit.keras.PoissonNLL(log_input=False),
        lambda: keras.losses.Poisson(),
        _counts,
    ),
    "cosine_similarity": (
        lambda: losskit.keras.CosineSimilarity(),
        lambda: keras.losses.CosineSimilarity(),
        _regression,
    ),
}


def _compare(ours, theirs, y_true, y_pred, sample_weight):
    """Ours and Keras's, without and with ``sample_weight``."""
    got, expected, weighted, weighted_expected = _evaluate(
        lambda t, p, w: (ours(t, p), theirs(t, p), ours(t, p, w), theirs(t, p, w)),
        y_true,
        y_pred,
        sample_weight,
    )
    # Keras clips probabilities at 1e-7 where losskit clips at float32's tiny
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(weighted, weighted_expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("pair", sorted(KERAS_PAIRS))
def test_matches_keras_loss(pair):
    ours, theirs, data = KERAS_PAIRS[pair]
    y_true, y_pred = data(_rng(pair))
    sample_weight = _rng(pair, "w").uniform(0.0, 2.0, size=y_true.shape[0])
    _compare(ours(), theirs(), y_true, y_pred, sample_weight)


@pytest.mark.parametrize("pair", ["mse", "sparse_cce_ignore"])
@pytest.mark.parametrize("reduction", ["sum", "mean_with_sample_weight", "none"])
def test_matches_keras_reductions(pair, reduction):
    ours, theirs, data = KERAS_PAIRS[pair]
    y_true, y_pred = data(_rng(pair))
    sample_weight = _rng(pair, "w").uniform(0.0, 2.0, size=y_true.shape[0])
    ours, theirs = ours(), theirs()
    ours.reduction = theirs.reduction = reduction
    _compare(ours, theirs, y_true, y_pred, sample_weight)


# -------------------------------------------------------------------------- errors


def test_errors_name_the_argument():
    with pytest.raises(losskit.LossInputError, match=r"unknown option\(s\) \['detla'\]"):
        losskit.keras.Huber(detla=1.0)
    with pytest.raises(losskit.LossInputError, match="reduction must be one of"):
        losskit.keras.MSE(reduction="average")
    with pytest.raises(losskit.LossInputError, match=r"MSE\(y_true, y_pred\): target must have"):
        losskit.keras.MSE()(np.zeros(4), np.zeros((4, 1)))
    with pytest.raises(losskit.LossInputError, match="whole number"):
        losskit.keras.SparseCategoricalCrossEntropy()(np.array([0.5, 1.0]), np.full((2, 3), 1 / 3))
    with pytest.raises(losskit.LossInputError, match="squeeze the trailing axis"):
        losskit.keras.SparseCategoricalCrossEntropy()(np.array([[0], [1]]), np.full((2, 3), 1 / 3))
    with pytest.raises(losskit.LossInputError, match=r"\[pred \| var\] concatenated.*2 parts"):
        losskit.keras.GaussianNLL()(np.zeros((4, 2)), np.ones((4, 3)))


# ------------------------------------------------------------------------ training


def _mlp(inputs: int, outputs: int, activation: str | None = None) -> keras.Model:
    return keras.Sequential(
        [
            keras.Input((inputs,)),
            keras.layers.Dense(16, activation="tanh"),
            keras.layers.Dense(outputs, activation=activation),
        ]
    )


def _regression_data(rng):
    x = rng.normal(size=(128, 4)).astype("float32")
    y = x @ rng.normal(size=(4, 1)) + 0.1 * rng.normal(size=(128, 1))
    y[::16] += 8.0  # outliers, where Huber differs from MSE
    weight = rng.uniform(0.5, 1.5, size=128)
    return x, y.astype("float32"), weight.astype("float32")


def _multiclass_data(rng):
    x = rng.normal(size=(128, 4)).astype("float32")
    y = np.argmax(x @ rng.normal(size=(4, 3)), axis=-1)
    return x, y, None


def _multilabel_data(rng):
    x = rng.normal(size=(128, 4)).astype("float32")
    y = (x @ rng.normal(size=(4, 3)) > 0).astype("float32")
    return x, y, None


TRAINING = {
    "huber_weighted": (
        lambda: losskit.keras.Huber(delta=1.0),
        lambda: keras.losses.Huber(delta=1.0),
        _regression_data,
        1,
    ),
    "sparse_cce": (
        lambda: losskit.keras.SparseCategoricalCrossEntropy(from_logits=True),
        lambda: keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        _multiclass_data,
        3,
    ),
    "bce_multilabel": (
        lambda: losskit.keras.BinaryCrossEntropy(from_logits=True),
        lambda: keras.losses.BinaryCrossentropy(from_logits=True),
        _multilabel_data,
        3,
    ),
}


def _fit(model, loss, x, y, weight, epochs=8):
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss=loss)
    history = model.fit(
        x, y, sample_weight=weight, batch_size=32, epochs=epochs, shuffle=False, verbose=0
    )
    return np.array(history.history["loss"])


@needs_training
@pytest.mark.parametrize("task", sorted(TRAINING))
def test_fit_matches_keras_loss(task):
    """The same model from the same weights, trained with the losskit loss and with
    Keras's own: the loss goes down and both runs follow the same path."""
    ours, theirs, data, outputs = TRAINING[task]
    x, y, weight = data(_rng(task))
    keras.utils.set_random_seed(0)
    model = _mlp(4, outputs)
    twin = _mlp(4, outputs)
    twin.set_weights(model.get_weights())

    history = _fit(model, ours(), x, y, weight)
    keras_history = _fit(twin, theirs(), x, y, weight)

    assert history[-1] < 0.8 * history[0], history
    np.testing.assert_allclose(history, keras_history, rtol=1e-4)
    for w, w_keras in zip(model.get_weights(), twin.get_weights(), strict=True):
        np.testing.assert_allclose(w, w_keras, rtol=1e-4, atol=1e-5)


@needs_training
def test_fit_gaussian_nll_with_predicted_variance():
    """A loss without a Keras equivalent and with an extra array: mean and variance
    heads concatenated on the last axis."""
    rng = _rng("gaussian")
    x = rng.normal(size=(256, 2)).astype("float32")
    noise = 0.1 + 0.9 * (x[:, :1] > 0)  # heteroscedastic
    y = (x[:, :1] - x[:, 1:] + noise * rng.normal(size=(256, 1))).astype("float32")
    keras.utils.set_random_seed(0)
    inputs = keras.Input((2,))
    hidden = keras.layers.Dense(16, activation="tanh")(inputs)
    mean = keras.layers.Dense(1)(hidden)
    var = keras.layers.Dense(1, activation="softplus")(hidden)
    model = keras.Model(inputs, keras.layers.Concatenate()([mean, var]))
    model.compile(optimizer=keras.optimizers.Adam(0.03), loss=losskit.keras.GaussianNLL())
    history = model.fit(x, y, batch_size=64, epochs=40, shuffle=False, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < losses[0] - 0.5, losses
    predicted_var = keras.ops.convert_to_numpy(model(x))[:, 1]
    noisy = x[:, 0] > 0
    # the variance head learned which half is noisier
    assert predicted_var[noisy].mean() > 5 * predicted_var[~noisy].mean()


@needs_training
def test_fit_user_defined_loss():
    x, y, _ = _regression_data(_rng("user"))
    keras.utils.set_random_seed(0)
    model = _mlp(4, 1)
    history = _fit(model, losskit.keras.ScaledSquaredError(scale=0.5), x, y, None)
    assert history[-1] < 0.8 * history[0], history


def _trainable(case: Any, s: Sample) -> bool:
    """A non-empty sample with a batch axis and something past it, whose further arrays
    (joined to y_pred, so trained with it) are floating: labels such as margin_ranking's
    +-1 would drift off their values."""
    first = s.args[0]
    return (
        first.ndim >= 2
        and bool(first.size)
        and all(e.shape == first.shape and e.dtype.kind == "f" for e in s.args[2:])
    )


def _prediction_model(y_pred: np.ndarray) -> keras.Model:
    """A model whose output is a trainable copy of ``y_pred``: one-hot sample indices
    times a weight matrix that starts as the flattened predictions."""
    n = y_pred.shape[0]
    model = keras.Sequential(
        [
            keras.Input((n,)),
            keras.layers.Dense(math.prod(y_pred.shape[1:]), use_bias=False),
            keras.layers.Reshape(y_pred.shape[1:]),
        ]
    )
    model.layers[0].set_weights([y_pred.reshape(n, -1).astype("float32")])
    return model


#: the first trainable sample of each entry
TRAINING_SAMPLES = [
    next(group).param()
    for _, group in itertools.groupby(sample_rows(_trainable), key=lambda row: row.case.name)
]


@needs_training
@pytest.mark.parametrize(("case", "sample"), TRAINING_SAMPLES)
def test_every_loss_trains_saves_and_loads(case, sample, tmp_path):
    """model.fit moves the predictions down the loss (as Keras traces it: on TensorFlow
    a tf.function with an unknown batch size), and the saved model loads with the same
    loss."""
    y_true, y_pred = _keras_inputs(sample)
    model = _prediction_model(y_pred)
    n = y_pred.shape[0]
    x = np.eye(n, dtype="float32")
    loss = losskit.keras.loss_class(case.name)(**sample.kwargs)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.02), loss=loss)
    history = model.fit(x, y_true, batch_size=n, epochs=3, shuffle=False, verbose=0)
    losses = history.history["loss"]
    assert np.isfinite(losses).all(), losses
    assert losses[-1] < losses[0] or losses[0] == 0, losses

    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded.loss) is type(loss) and loaded.loss.get_config() == loss.get_config()
    np.testing.assert_allclose(
        loaded.evaluate(x, y_true, batch_size=n, verbose=0),
        model.evaluate(x, y_true, batch_size=n, verbose=0),
        rtol=1e-6,
    )


SEGMENTATION = losskit.combine({"dice": 0.5, "binary_cross_entropy": 0.5}, from_logits=True)


def _fit_and_check_the_order(loss, y_kind: str) -> tuple[keras.Model, np.ndarray, np.ndarray]:
    """Fit with ``loss`` given to compile and check that the model minimises
    loss(pred=y_pred, target=y_true)."""
    rng = _rng("compile", y_kind)
    x = rng.normal(size=(64, 4)).astype("float32")
    if y_kind == "masks":
        y = (x[:, :3] + 0.3 * rng.normal(size=(64, 3)) > 0).astype("float32")
    else:
        y = rng.poisson(np.exp(0.5 * x[:, :3])).astype("float32")
    keras.utils.set_random_seed(0)
    model = _mlp(4, 3)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss=loss)
    history = model.fit(x, y, batch_size=64, epochs=5, shuffle=False, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    outputs = keras.ops.convert_to_numpy(model(x)).astype(np.float64)
    expected = float(loss(outputs, y.astype(np.float64)))
    assert model.evaluate(x, y, batch_size=64, verbose=0) == pytest.approx(expected, rel=1e-5)
    return model, x, y


@needs_training
def test_a_composite_given_to_compile_gets_kerass_argument_order(tmp_path):
    """Keras calls a plain callable as fn(y_true, y_pred), the reverse of losskit's
    order; a composite given to compile becomes a losskit.keras.Combined instead, and
    the model saves and loads with it."""
    model, x, y = _fit_and_check_the_order(SEGMENTATION, "masks")
    expected = model.evaluate(x, y, batch_size=64, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert repr(loaded.loss) == repr(SEGMENTATION)
    assert loaded.evaluate(x, y, batch_size=64, verbose=0) == pytest.approx(expected, rel=1e-6)


@needs_training
def test_a_loss_function_given_to_compile_gets_kerass_argument_order():
    """Poisson's loss is not symmetric: with its arrays swapped the targets would be
    read as log-rates."""
    _fit_and_check_the_order(losskit.poisson_nll, "counts")


def test_combined_reports_the_weighted_sum_and_round_trips():
    combined = losskit.keras.Combined(SEGMENTATION, reduction="none")
    rng = _rng("combined")
    masks = rng.integers(0, 2, size=(4, 3)).astype(float)
    logits = rng.normal(size=(4, 3))
    dice = losskit.keras.Dice(from_logits=True, reduction="none")(masks, logits)
    bce = losskit.keras.BinaryCrossEntropy(from_logits=True, reduction="none")(masks, logits)
    np.testing.assert_allclose(
        _numpy(combined(masks, logits)), 0.5 * _numpy(dice) + 0.5 * _numpy(bce), rtol=1e-6
    )
    config = combined.get_config()
    json.dumps(config)
    clone = losskit.keras.Combined.from_config(config)
    assert clone.get_config() == config and repr(clone.composite) == repr(SEGMENTATION)
    with pytest.raises(losskit.LossInputError, match="composite must be"):
        losskit.keras.Combined(losskit.mse)


# --------------------------------------------------------------------- save / load


LOAD_SCRIPT = """
import json, sys
import keras, numpy as np
import losskit.keras  # registers the losskit losses with Keras's serialization
model = keras.saving.load_model(sys.argv[1])
data = np.load(sys.argv[2])
loss = model.evaluate(data["x"], data["y"], batch_size=1000, verbose=0)
print(json.dumps({"loss": float(loss), "class": type(model.loss).__name__,
                  "config": model.loss.get_config()}))
"""


@pytest.mark.parametrize(
    "make_loss",
    [
        pytest.param(
            lambda: losskit.keras.SparseCategoricalCrossEntropy(
                from_logits=True, class_weights=[1.0, 2.0, 0.5], label_smoothing=0.1
            ),
            id="sparse_cce",
        ),
        pytest.param(lambda: losskit.keras.ScaledSquaredError(scale=0.5), id="user_defined"),
    ],
)
def test_saved_model_loads_and_computes_the_same_loss(make_loss, tmp_path):
    loss = make_loss()
    x = _rng("save").normal(size=(64, 4)).astype("float32")
    if isinstance(loss, losskit.keras.SparseCategoricalCrossEntropy):
        y, outputs = np.argmax(x[:, :3], axis=-1), 3
    else:
        y, outputs = x[:, :1] * 2.0, 1
    keras.utils.set_random_seed(0)
    model = _mlp(4, outputs)
    model.compile(optimizer="sgd", loss=loss)
    if CAN_TRAIN:
        model.fit(x, y, epochs=1, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    expected = model.evaluate(x, y, batch_size=1000, verbose=0)

    loaded = keras.saving.load_model(path)
    assert type(loaded.loss) is type(loss)
    assert loaded.loss.get_config() == loss.get_config()
    assert loaded.evaluate(x, y, batch_size=1000, verbose=0) == pytest.approx(expected, rel=1e-6)

    if isinstance(loss, losskit.keras.ScaledSquaredError):
        return  # a fresh process does not know the user-defined loss
    # A fresh process: importing losskit.keras is all it takes to load the model.
    np.savez(tmp_path / "data.npz", x=x, y=y)
    out = subprocess.run(
        [sys.executable, "-c", LOAD_SCRIPT, str(path), str(tmp_path / "data.npz")],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "KERAS_BACKEND": BACKEND},
    )
    assert out.returncode == 0, out.stderr[-3000:]
    fresh = json.loads(out.stdout.strip().splitlines()[-1])
    assert fresh["class"] == type(loss).__name__
    assert fresh["config"] == loss.get_config()
    assert fresh["loss"] == pytest.approx(expected, rel=1e-6)


# ---------------------------------------------------------------------------- docs


def _python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.DOTALL)


@needs_training
def test_docs_examples_run():
    blocks = _python_blocks(ROOT / "docs" / "keras.md")
    assert blocks
    for block in blocks:
        exec(compile(block, "docs/keras.md", "exec"), {"__name__": "docs_keras"})


def test_an_option_named_like_a_keras_argument_is_refused():
    @losskit.register_loss(tasks="custom", summary="Clash.", formula="", builtin=False)
    def clashing_loss(pred, target, *, name="x", reduction="mean", weights=None):
        return losskit.mse(pred, target, reduction=reduction, weights=weights)

    with pytest.raises(losskit.LossInputError, match=r"option\(s\) \['name'\], which are Keras"):
        losskit.keras.loss_class("clashing_loss")


def _ctc_batch(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Keras's CTC convention: labels in [1, C) padded with the blank 0, logits [B, T, C]."""
    logits = rng.normal(size=(4, 12, 5)).astype("float32")
    labels = np.zeros((4, 5), dtype="int32")
    for b, length in enumerate([5, 3, 1, 0]):
        labels[b, :length] = rng.integers(1, 5, size=length)
    return labels, logits


def test_ctc_derives_its_lengths_as_keras_does():
    """CTC under compile's (y_true, y_pred): the lengths come from every frame and the
    blank padding, and the per-sample values are Keras's own CTC's."""
    y_true, y_pred = _ctc_batch(_rng("ctc"))
    ours = losskit.keras.CTC(from_logits=True, reduction=None)
    theirs = keras.losses.CTC(reduction=None)
    got, expected = _evaluate(lambda t, p: (ours(t, p), theirs(t, p)), y_true, y_pred)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
    # and they are the lengths losskit would be given directly
    direct = losskit.ctc(
        y_pred.astype("float64"),
        y_true,
        np.full(4, 12),
        np.array([5, 3, 1, 0]),
        from_logits=True,
        reduction="none",
    )
    np.testing.assert_allclose(got, direct, rtol=1e-5)


@needs_training
def test_fit_ctc_with_labels_padded_by_the_blank():
    y_true, y_pred = _ctc_batch(_rng("ctc fit"))
    model = _prediction_model(y_pred)
    n = y_pred.shape[0]
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=0.05),
        loss=losskit.keras.CTC(from_logits=True),
    )
    history = model.fit(np.eye(n, dtype="float32"), y_true, batch_size=n, epochs=5, verbose=0)
    losses = history.history["loss"]
    assert np.isfinite(losses).all() and losses[-1] < losses[0], losses
