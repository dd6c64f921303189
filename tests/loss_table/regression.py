"""Table entries for the regression losses."""

from __future__ import annotations

import math

import numpy as np

import losskit

from .spec import Invalid, LossCase, Peer, Sample, reference_reduce


def _torch_peer(fn_name: str, **option_map: str) -> Peer:
    """A torch.nn.functional peer taking (input, target, reduction=...) plus mapped options."""

    def run(sample: Sample, reduction: str):
        import torch
        import torch.nn.functional as F

        args = [torch.from_numpy(a) for a in sample.args]
        kwargs = {option_map.get(k, k): v for k, v in sample.kwargs.items()}
        if reduction == "mean" and args[0].numel() == 0:
            return None  # torch's empty mean is NaN; losskit's is 0
        return getattr(F, fn_name)(*args, reduction=reduction, **kwargs).numpy()

    return Peer(f"torch.nn.functional.{fn_name}", "torch", run)


def _optax_elementwise_peer(fn_name: str) -> Peer:
    """optax's element-wise loss, reduced with losskit's convention."""

    def run(sample: Sample, reduction: str):
        import jax.numpy as jnp
        import optax

        pred, target = (jnp.asarray(a) for a in sample.args)
        return reference_reduce(np.asarray(getattr(optax, fn_name)(pred, target)), reduction)

    return Peer(f"optax.{fn_name}", "optax", run)


def _regression_samples(**option_grid):
    """Samples over several shapes, each option value, and zero-size input."""

    def samples(rng: np.random.Generator):
        shapes = [(7,), (3, 4), (2, 3, 4)]
        for shape in shapes:
            yield Sample(
                (rng.normal(size=shape) * 2, rng.normal(size=shape) * 2), desc=f"shape{shape}"
            )
        for name, values in option_grid.items():
            for v in values:
                yield Sample(
                    (rng.normal(size=(5, 3)) * 3, rng.normal(size=(5, 3))),
                    {name: v},
                    desc=f"{name}={v}",
                )
        yield Sample((np.zeros((0, 3)), np.zeros((0, 3))), desc="empty")

    return samples


def _regression_extremes():
    # errors of 100: squares of 1e4 still fit float16 (max 65504)
    yield Sample(
        (np.array([-50.0, 0.0, 50.0, 1e-3]), np.array([50.0, 0.0, -50.0, 0.0])), desc="large errors"
    )


def _common_invalid():
    yield Invalid(
        (np.ones((4, 1)), np.ones(4)), {}, "target must have the same shape", "[N,1] vs [N]"
    )
    yield Invalid(
        (np.ones(4, dtype=np.int64), np.ones(4)),
        {},
        "pred must have a real floating dtype",
        "int pred",
    )
    yield Invalid(
        (np.ones(4), np.ones(4)), {"reduction": "avg"}, "reduction must be one of", "bad reduction"
    )
    yield Invalid(
        (np.ones(4), np.array([1.0, np.nan, 0.0, 0.0])),
        {},
        "target must not contain NaN",
        "NaN target",
        value_check=True,
    )
    yield Invalid(
        (np.ones(4), np.ones(4)),
        {"weights": np.ones(5)},
        "weights must be broadcastable",
        "weights shape",
    )
    yield Invalid(
        (np.ones(4), np.ones(4)),
        {"weights": -np.ones(4)},
        "weights must be finite and non-negative",
        "negative weights",
        value_check=True,
    )
    yield Invalid(
        (np.ones(4), np.ones(4)),
        {"weights": np.array([1.0, np.inf, 1.0, 1.0])},
        "weights must be finite and non-negative",
        "infinite weight",
        value_check=True,
    )


def _perfect(sample: Sample) -> Sample:
    return Sample((sample.args[1].copy(), sample.args[1]), dict(sample.kwargs))


def _ref(elementwise):
    def reference(pred, target, *, reduction="mean", weights=None, **options):
        return reference_reduce(elementwise(pred - target, **options), reduction, weights)

    return reference


def _huber_ref(e, delta=1.0):
    a = np.abs(e)
    return np.where(a <= delta, 0.5 * e * e, delta * (a - 0.5 * delta))


def _pseudo_huber_ref(e, delta=1.0):
    return delta**2 * (np.sqrt(1.0 + (e / delta) ** 2) - 1.0)


def _smooth_l1_ref(e, beta=1.0):
    a = np.abs(e)
    if beta == 0:
        return a
    return np.where(a < beta, 0.5 * e * e / beta, a - 0.5 * beta)


def _quantile_ref(pred, target, *, q=0.5, reduction="mean", weights=None):
    d = target - pred
    return reference_reduce(np.where(d >= 0, q * d, (q - 1) * d), reduction, weights)


def _poisson_ref(pred, target, *, log_input=True, full=False, reduction="mean", weights=None):
    loss = np.exp(pred) - target * pred if log_input else pred - target * np.log(pred)
    if full:
        t = np.maximum(target, 1.0)
        loss = loss + np.where(target > 1, t * np.log(t) - t + 0.5 * np.log(2 * np.pi * t), 0.0)
    return reference_reduce(loss, reduction, weights)


def _poisson_samples(rng):
    for shape in [(6,), (3, 4)]:
        yield Sample(
            (rng.normal(size=shape), rng.poisson(3.0, size=shape).astype(float)),
            desc=f"log {shape}",
        )
    yield Sample(
        (rng.uniform(0.1, 4, size=(8,)), rng.poisson(2.0, size=8).astype(float)),
        {"log_input": False},
        desc="rate",
    )
    yield Sample(
        (rng.normal(size=(8,)), rng.poisson(3.0, size=8).astype(float)), {"full": True}, desc="full"
    )


def _gaussian_ref(pred, target, var, *, full=False, eps=1e-6, reduction="mean", weights=None):
    v = np.maximum(np.broadcast_to(var, pred.shape), eps)
    loss = 0.5 * (np.log(v) + (pred - target) ** 2 / v)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return reference_reduce(loss, reduction, weights)


def _gaussian_samples(rng):
    yield Sample(
        (rng.normal(size=(5, 3)), rng.normal(size=(5, 3)), rng.uniform(0.2, 2, size=(5, 3))),
        grad_args=(0, 2),
        desc="heteroscedastic",
    )
    yield Sample(
        (rng.normal(size=(5, 3)), rng.normal(size=(5, 3)), rng.uniform(0.2, 2, size=(5, 1))),
        grad_args=(0, 2),
        desc="per-row var",
    )
    yield Sample(
        (rng.normal(size=(6,)), rng.normal(size=(6,)), rng.uniform(0.2, 2, size=(6,))),
        {"full": True, "eps": 1e-3},
        grad_args=(0, 2),
        desc="full",
    )


def _gaussian_peer(sample: Sample, reduction: str):
    import torch
    import torch.nn.functional as F

    pred, target, var = (torch.from_numpy(a) for a in sample.args)
    return F.gaussian_nll_loss(pred, target, var, reduction=reduction, **sample.kwargs).numpy()


def _keras_mean_peer(fn_name: str, usable=lambda sample: True) -> Peer:
    """A Keras loss function, which averages over the last axis: it is compared for
    ``"mean"`` (the mean of equal-size row means is the mean), and where ``usable``.
    Keras's epsilon is a float32 constant: with it, parts of the float64 computation
    round to float32 (relative differences up to 1e-7 measured), hence rtol 1e-6."""

    def run(sample: Sample, reduction: str):
        import keras

        pred, target = sample.args
        if reduction != "mean" or pred.size == 0 or not usable(sample):
            return None
        out = getattr(keras.losses, fn_name)(target, pred, **sample.kwargs)
        return np.mean(keras.ops.convert_to_numpy(out))

    return Peer(f"keras.losses.{fn_name}", "keras", run, rtol=1e-6)


def _msle_ref(pred, target, *, reduction="mean", weights=None):
    return reference_reduce(
        (np.log(1 + np.maximum(pred, 0.0)) - np.log(1 + target)) ** 2, reduction, weights
    )


def _msle_samples(rng: np.random.Generator):
    for shape in [(7,), (3, 4), (2, 3, 4)]:
        yield Sample(
            (np.exp(rng.normal(size=shape) * 2), np.exp(rng.normal(size=shape) * 2)),
            desc=f"positive {shape}",
        )
    target = rng.uniform(0, 3, size=(4, 3))
    target[0] = 0.0
    pred = rng.normal(size=(4, 3))  # negative predictions are clipped at 0
    yield Sample((pred, target), desc="negative predictions, zero targets")
    yield Sample((np.zeros((0, 3)), np.zeros((0, 3))), desc="empty")


def _no_tiny_predictions(sample: Sample) -> bool:
    # Keras clips predictions at 1e-7, losskit at 0
    return bool(np.all(sample.args[0] >= 1e-6))


def _mape_ref(pred, target, *, epsilon=1e-7, reduction="mean", weights=None):
    return reference_reduce(
        100.0 * np.abs(pred - target) / np.maximum(np.abs(target), epsilon), reduction, weights
    )


def _mape_samples(rng: np.random.Generator):
    for shape in [(7,), (3, 4), (2, 3, 4)]:
        target = rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.5, 20, size=shape)
        yield Sample((target + rng.normal(size=shape) * 2, target), desc=f"shape{shape}")
    # all targets 0 in one sample: beside losses of 1e9, finite differences of losses of
    # 10 would drown in rounding
    yield Sample((rng.normal(size=(2, 3)), np.zeros((2, 3))), desc="zero targets")
    target = rng.uniform(0.5, 5, size=(3, 4))
    target[:, 0] = 0.0
    yield Sample(
        (rng.normal(size=(3, 4)), target), {"epsilon": 0.5}, desc="zero targets epsilon=0.5"
    )
    yield Sample((np.zeros((0, 3)), np.zeros((0, 3))), desc="empty")


CASES = [
    LossCase(
        "mse",
        losskit.mse,
        _ref(lambda e: e * e),
        _regression_samples(),
        extremes=_regression_extremes,
        invalid=_common_invalid,
        peers=(_torch_peer("mse_loss"), _optax_elementwise_peer("squared_error")),
        perfect=_perfect,
    ),
    LossCase(
        "mae",
        losskit.mae,
        _ref(np.abs),
        _regression_samples(),
        extremes=_regression_extremes,
        invalid=_common_invalid,
        peers=(_torch_peer("l1_loss"),),
        perfect=_perfect,
    ),
    LossCase(
        "huber",
        losskit.huber,
        _ref(_huber_ref),
        _regression_samples(delta=[0.5, 1.0, 3.0]),
        extremes=_regression_extremes,
        invalid=lambda: [
            *_common_invalid(),
            Invalid(
                (np.ones(3), np.ones(3)), {"delta": -1.0}, "delta must lie in", "negative delta"
            ),
            Invalid((np.ones(3), np.ones(3)), {"delta": 0.0}, "delta must lie in", "zero delta"),
        ],
        peers=(_torch_peer("huber_loss"),),
        perfect=_perfect,
    ),
    LossCase(
        "pseudo_huber",
        losskit.pseudo_huber,
        _ref(_pseudo_huber_ref),
        _regression_samples(delta=[0.1, 1.0, 3.0]),
        extremes=_regression_extremes,
        invalid=lambda: [
            *_common_invalid(),
            Invalid((np.ones(3), np.ones(3)), {"delta": 0.0}, "delta must lie in", "zero delta"),
        ],
        perfect=_perfect,
    ),
    LossCase(
        "smooth_l1",
        losskit.smooth_l1,
        _ref(_smooth_l1_ref),
        _regression_samples(beta=[0.0, 0.5, 2.0]),
        extremes=_regression_extremes,
        invalid=lambda: [
            *_common_invalid(),
            Invalid((np.ones(3), np.ones(3)), {"beta": -0.5}, "beta must lie in"),
        ],
        peers=(_torch_peer("smooth_l1_loss"),),
        perfect=_perfect,
    ),
    LossCase(
        "log_cosh",
        losskit.log_cosh,
        _ref(lambda e: np.log(np.cosh(e))),
        _regression_samples(),
        extremes=lambda: [
            Sample(
                (np.array([-1e4, 0.0, 1e4, 50.0]), np.array([1e4, 0.0, -1e4, -50.0])),
                desc="huge errors",
            )
        ],
        invalid=_common_invalid,
        peers=(_optax_elementwise_peer("log_cosh"),),
        perfect=_perfect,
    ),
    LossCase(
        "quantile",
        losskit.quantile,
        _quantile_ref,
        _regression_samples(q=[0.1, 0.5, 0.9]),
        extremes=_regression_extremes,
        invalid=lambda: [
            *_common_invalid(),
            Invalid((np.ones(3), np.ones(3)), {"q": 1.0}, "q must lie in (0.0, 1.0)", "q = 1"),
            Invalid((np.ones(3), np.ones(3)), {"q": -0.2}, "q must lie in", "q < 0"),
        ],
        perfect=_perfect,
    ),
    LossCase(
        "poisson_nll",
        losskit.poisson_nll,
        _poisson_ref,
        _poisson_samples,
        extremes=lambda: [
            Sample(
                (np.array([-30.0, 0.0, 8.0]), np.array([0.0, 1.0, 3.0])), desc="extreme log-rates"
            ),
            Sample(
                (np.array([0.0, 1.0, 0.5]), np.array([0.0, 2.0, 1.0])),
                {"log_input": False},
                desc="zero rate",
            ),
        ],
        invalid=lambda: [
            *_common_invalid(),
            Invalid(
                (np.ones(3), -np.ones(3)),
                {},
                "target must hold non-negative counts",
                value_check=True,
            ),
            Invalid(
                (-np.ones(3), np.ones(3)),
                {"log_input": False},
                "pred must hold non-negative rates",
                value_check=True,
            ),
        ],
        peers=(
            Peer(
                "torch.nn.functional.poisson_nll_loss",
                "torch",
                lambda s, r: _torch_peer("poisson_nll_loss").fn(s, r),
                rtol=1e-6,
            ),
        ),
        nonnegative=False,
    ),
    LossCase(
        "gaussian_nll",
        losskit.gaussian_nll,
        _gaussian_ref,
        _gaussian_samples,
        extremes=lambda: [
            Sample(
                (np.array([0.0, 5.0]), np.array([0.0, -5.0]), np.array([0.0, 1.0])),
                grad_args=(0, 2),
                desc="zero var",
            )
        ],
        invalid=lambda: [
            Invalid(
                (np.ones(3), np.ones(3), -np.ones(3)),
                {},
                "var must be non-negative",
                value_check=True,
            ),
            Invalid(
                (np.ones(3), np.ones(3), np.ones(4)),
                {},
                "var must be broadcastable to pred's shape",
            ),
            Invalid((np.ones(3), np.ones(3), np.ones(3)), {"eps": 0.0}, "eps must lie in"),
            Invalid(
                (np.ones((3, 1)), np.ones(3), np.ones(3)), {}, "target must have the same shape"
            ),
        ],
        peers=(Peer("torch.nn.functional.gaussian_nll_loss", "torch", _gaussian_peer),),
        nonnegative=False,
    ),
    LossCase(
        "msle",
        losskit.msle,
        _msle_ref,
        _msle_samples,
        extremes=lambda: [
            Sample(
                (np.array([-5.0, 0.0, 1e4, 1e-3]), np.array([0.0, 1e4, 0.0, 1e4])),
                desc="negative, zero and 1e4",
            )
        ],
        invalid=lambda: [
            *_common_invalid(),
            Invalid(
                (np.ones(3), np.array([1.0, -0.5, 2.0])),
                {},
                "target must be non-negative for msle",
                "negative target",
                value_check=True,
            ),
        ],
        peers=(_keras_mean_peer("mean_squared_logarithmic_error", _no_tiny_predictions),),
        perfect=lambda sample: Sample((sample.args[1].copy(), sample.args[1])),
    ),
    LossCase(
        "mape",
        losskit.mape,
        _mape_ref,
        _mape_samples,
        extremes=lambda: [
            Sample(
                (np.array([-50.0, 0.0, 50.0, 1e-2, 3.0]), np.array([50.0, 0.0, -50.0, 0.0, 1e-3])),
                {"epsilon": 1e-1},
                desc="zero and tiny targets",
            )
        ],
        invalid=lambda: [
            *_common_invalid(),
            Invalid((np.ones(3), np.ones(3)), {"epsilon": 0.0}, "epsilon must lie in", "zero eps"),
        ],
        peers=(
            _keras_mean_peer(
                "mean_absolute_percentage_error",
                lambda sample: "epsilon" not in sample.kwargs,
            ),
        ),
        perfect=_perfect,
    ),
]
