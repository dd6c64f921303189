"""Regression losses: the error e = pred - target, element by element."""

from __future__ import annotations

import math
from typing import Any

from losskit.core.inputs import elementwise_inputs
from losskit.core.namespace import as_float, finfo_sqrt_tiny, namespace, stop_gradient
from losskit.core.primitives import LOG2, safe_log, weighted_log
from losskit.core.reduction import Reduction, reduce_loss
from losskit.core.registry import register_loss
from losskit.core.validation import (
    check_broadcastable,
    check_in_interval,
    check_nonnegative,
    check_values,
)

__all__ = [
    "gaussian_nll",
    "huber",
    "log_cosh",
    "mae",
    "mse",
    "poisson_nll",
    "quantile",
    "smooth_l1",
]

Array = Any


@register_loss(
    tasks="regression",
    summary="Mean squared error: the squared difference between prediction and target.",
    formula=r"\ell_i = (\hat y_i - y_i)^2",
    formula_text="l = (pred - target)^2",
    explanation=(
        "Squares every error and averages them. Large mistakes cost far more than small ones: "
        "an error of 10 costs a hundred times an error of 1. The prediction that minimises it "
        "is the mean of the target given the inputs, which is right when the noise is roughly "
        "Gaussian. Its gradient is proportional to the error, so the model moves fast when it "
        "is far off and slows down near the answer."
    ),
    good_for=(
        "regression with roughly Gaussian noise",
        "predicting the conditional mean of the target",
        "smooth gradients that shrink as predictions improve",
    ),
    not_good_for=(
        "data with outliers or heavy-tailed noise: a few large errors dominate training",
        "targets whose scale varies a lot between samples, unless they are normalised",
        "predicting a median or a prediction interval",
    ),
    outlier_sensitivity=(
        "high: the penalty grows with the square of the error, so a few large residuals "
        "dominate both the loss and its gradient"
    ),
    imbalance_sensitivity=(
        "not applicable: there are no classes; rare extreme targets still pull the "
        "prediction towards them"
    ),
    input_forms=("real values",),
    hyperparameters={},
    references=(
        "Legendre, A.-M. (1805). Nouvelles méthodes pour la détermination des orbites des "
        "comètes. Paris: Firmin Didot (the method of least squares).",
        "Hastie, T., Tibshirani, R. & Friedman, J. (2009). The Elements of Statistical "
        "Learning, 2nd ed., Springer, section 2.4.",
    ),
)
def mse(
    pred: Array, target: Array, *, reduction: Reduction = "mean", weights: Array | None = None
) -> Array:
    r"""Mean squared error.

    .. math:: \ell_i = (\hat y_i - y_i)^2

    Args:
        pred: predictions :math:`\hat y`, any shape, real floating.
        target: targets :math:`y`, the same shape as ``pred``.
        {reduction}

    Returns:
        The reduced loss, or the per-element loss of ``pred``'s shape for ``"none"``.

    Examples:
        >>> import numpy as np, losskit
        >>> float(losskit.mse(np.array([1.0, 2.0]), np.array([1.0, 4.0])))
        2.0
    """
    xp, pred, target = elementwise_inputs(pred, target)
    return reduce_loss((pred - target) ** 2, reduction=reduction, weights=weights, xp=xp)


@register_loss(
    tasks="regression",
    summary="Mean absolute error: the absolute difference between prediction and target.",
    formula=r"\ell_i = |\hat y_i - y_i|",
    formula_text="l = |pred - target|",
    explanation=(
        "Takes the absolute value of every error and averages them. Every unit of error costs "
        "the same, however large the error already is, so one wild target cannot take over "
        "training. The prediction that minimises it is the median of the target given the "
        "inputs. Its gradient has the same size everywhere (only its sign changes), so it does "
        "not slow down near the answer; a decaying learning rate helps it settle."
    ),
    good_for=(
        "regression with outliers or heavy-tailed noise",
        "predicting the conditional median",
        "errors that should be penalised in proportion to their size (costs in money, minutes)",
    ),
    not_good_for=(
        "fine convergence: the gradient does not shrink near the optimum",
        "second-order optimisers: the loss has no curvature and a kink at zero error",
        "predicting the mean when the noise is skewed",
    ),
    outlier_sensitivity=(
        "low: an outlier adds its error linearly and its gradient is bounded, so it cannot "
        "dominate the others"
    ),
    imbalance_sensitivity="not applicable: there are no classes",
    input_forms=("real values",),
    hyperparameters={},
    references=(
        "Hastie, T., Tibshirani, R. & Friedman, J. (2009). The Elements of Statistical "
        "Learning, 2nd ed., Springer, section 2.4 (L1 loss and the conditional median).",
        "Huber, P. J. & Ronchetti, E. M. (2009). Robust Statistics, 2nd ed., Wiley.",
    ),
)
def mae(
    pred: Array, target: Array, *, reduction: Reduction = "mean", weights: Array | None = None
) -> Array:
    r"""Mean absolute error (L1 loss).

    .. math:: \ell_i = |\hat y_i - y_i|

    Args:
        pred: predictions :math:`\hat y`, any shape, real floating.
        target: targets :math:`y`, the same shape as ``pred``.
        {reduction}

    Returns:
        The reduced loss, or the per-element loss of ``pred``'s shape for ``"none"``.

    Examples:
        >>> import numpy as np, losskit
        >>> float(losskit.mae(np.array([1.0, 2.0]), np.array([1.0, 4.0])))
        1.0
    """
    xp, pred, target = elementwise_inputs(pred, target)
    return reduce_loss(xp.abs(pred - target), reduction=reduction, weights=weights, xp=xp)


@register_loss(
    tasks="regression",
    summary="Huber loss: quadratic for small errors, linear beyond delta.",
    formula=r"\ell_i = \begin{cases} \tfrac12 e_i^2 & |e_i| \le \delta \\ \delta(|e_i| - \tfrac12\delta) & \text{otherwise} \end{cases},\ e_i = \hat y_i - y_i",
    formula_text="l = 0.5 e^2 if |e| <= delta else delta (|e| - 0.5 delta), e = pred - target",
    explanation=(
        "Behaves like mean squared error for small errors and like absolute error for large "
        "ones, switching at delta. Errors smaller than delta are treated as ordinary noise and "
        "get a gradient proportional to their size; larger errors are treated as possible "
        "outliers, and their gradient is capped at delta. You get MSE's smooth convergence "
        "without letting a few bad targets take over."
    ),
    good_for=(
        "regression with occasional outliers",
        "a robust default when you are not sure how clean the targets are",
        "bounded gradients: training stays stable when some errors are huge",
    ),
    not_good_for=(
        "unnormalised targets: delta is in target units and must match their scale",
        "predicting quantiles or intervals",
        "second-order methods that need a continuous second derivative (use log_cosh)",
    ),
    outlier_sensitivity=(
        "low: beyond delta the loss grows linearly and the gradient is capped at delta"
    ),
    imbalance_sensitivity="not applicable: there are no classes",
    input_forms=("real values",),
    hyperparameters={
        "delta": (
            "error at which the loss turns from quadratic to linear, > 0, in target units; "
            "errors above it are treated as outliers. Usual: 1.0 on standardised targets "
            "(Huber's 1.345 noise standard deviations keeps 95% efficiency on Gaussian noise)."
        ),
    },
    references=(
        "Huber, P. J. (1964). Robust Estimation of a Location Parameter. The Annals of "
        "Mathematical Statistics 35(1), 73-101.",
        "Huber, P. J. & Ronchetti, E. M. (2009). Robust Statistics, 2nd ed., Wiley.",
    ),
)
def huber(
    pred: Array,
    target: Array,
    *,
    delta: float = 1.0,
    reduction: Reduction = "mean",
    weights: Array | None = None,
) -> Array:
    r"""Huber loss.

    .. math::
        \ell_i = \begin{cases} \tfrac12 e_i^2 & |e_i| \le \delta \\
        \delta\,(|e_i| - \tfrac12\delta) & \text{otherwise} \end{cases},
        \qquad e_i = \hat y_i - y_i

    Args:
        pred: predictions :math:`\hat y`, any shape, real floating.
        target: targets :math:`y`, the same shape as ``pred``.
        delta: the error :math:`\delta > 0` where the loss turns from quadratic to linear.
        {reduction}

    Returns:
        The reduced loss, or the per-element loss of ``pred``'s shape for ``"none"``.

    Examples:
        >>> import numpy as np, losskit
        >>> float(losskit.huber(np.array([0.5, 3.0]), np.zeros(2), delta=1.0))
        1.3125
    """
    check_in_interval("delta", delta, 0.0, closed="neither")
    xp, pred, target = elementwise_inputs(pred, target)
    error = xp.abs(pred - target)
    loss = xp.where(error <= delta, 0.5 * error**2, delta * (error - 0.5 * delta))
    return reduce_loss(loss, reduction=reduction, weights=weights, xp=xp)


@register_loss(
    tasks=("regression", "detection"),  # Fast R-CNN's box-offset loss
    summary="Smooth L1 loss: Huber divided by beta, so the linear part has slope 1.",
    formula=r"\ell_i = \begin{cases} \tfrac{1}{2\beta} e_i^2 & |e_i| < \beta \\ |e_i| - \tfrac12\beta & \text{otherwise} \end{cases}",
    formula_text="l = 0.5 e^2 / beta if |e| < beta else |e| - 0.5 beta, e = pred - target",
    explanation=(
        "The Huber loss divided by beta: quadratic for errors below beta, then exactly the "
        "absolute error minus a constant. Dividing by beta keeps the slope of the linear part "
        "at 1 whatever beta is, so the size of the gradient for large errors never depends on "
        "beta. It is the form used for bounding-box regression in the R-CNN family of object "
        "detectors."
    ),
    good_for=(
        "bounding-box regression in object detectors",
        "regression with outliers where an L1-like loss with a smooth minimum is wanted",
        "matching PyTorch's smooth_l1_loss",
    ),
    not_good_for=(
        "comparing values across different beta: the quadratic part is scaled by 1/beta",
        "predicting quantiles or intervals",
        "box losses that should reflect overlap rather than coordinate error (use an IoU loss)",
    ),
    outlier_sensitivity=(
        "low: beyond beta the loss is linear with slope 1, so large errors have bounded gradients"
    ),
    imbalance_sensitivity="not applicable: there are no classes",
    input_forms=("real values",),
    hyperparameters={
        "beta": (
            "error at which the loss turns from quadratic to linear, >= 0; 0 gives the plain "
            "absolute error. Usual: 1.0 (Fast R-CNN); detectors often use 1/9 or smaller for "
            "box deltas."
        ),
    },
    references=(
        "Girshick, R. (2015). Fast R-CNN. IEEE International Conference on Computer Vision "
        "(ICCV), 1440-1448.",
    ),
)
def smooth_l1(
    pred: Array,
    target: Array,
    *,
    beta: float = 1.0,
    reduction: Reduction = "mean",
    weights: Array | None = None,
) -> Array:
    r"""Smooth L1 loss (Huber scaled by :math:`1/\beta`; :math:`\beta = 0` is the L1 loss).

    .. math::
        \ell_i = \begin{cases} \tfrac{1}{2\beta} e_i^2 & |e_i| < \beta \\
        |e_i| - \tfrac12\beta & \text{otherwise} \end{cases},
        \qquad e_i = \hat y_i - y_i

    Args:
        pred: predictions :math:`\hat y`, any shape, real floating.
        target: targets :math:`y`, the same shape as ``pred``.
        beta: the error :math:`\beta \ge 0` where the loss turns from quadratic to linear.
        {reduction}

    Returns:
        The reduced loss, or the per-element loss of ``pred``'s shape for ``"none"``.

    Examples:
        >>> import numpy as np, losskit
        >>> float(losskit.smooth_l1(np.array([0.5, 3.0]), np.zeros(2), beta=1.0))
        1.3125
    """
    check_in_interval("beta", beta, 0.0)
    xp, pred, target = elementwise_inputs(pred, target)
    error = xp.abs(pred - target)
    if beta == 0:
        loss = error
    else:
        loss = xp.where(error < beta, (0.5 / beta) * error**2, error - 0.5 * beta)
    return reduce_loss(loss, reduction=reduction, weights=weights, xp=xp)


@register_loss(
    tasks="regression",
    summary="Log-cosh loss: log(cosh(error)), close to e^2/2 for small errors and |e| for large ones.",
    formula=r"\ell_i = \log\cosh(\hat y_i - y_i)",
    formula_text="l = log(cosh(pred - target))",
    explanation=(
        "The logarithm of the hyperbolic cosine of the error. For small errors it is almost "
        "e^2/2, like mean squared error; for large errors it is almost |e| - log 2, like "
        "absolute error. Unlike Huber it has no switch point to tune and is smooth everywhere, "
        "with a gradient tanh(e) that never exceeds 1 in size."
    ),
    good_for=(
        "regression with some outliers when you want no hyperparameter to tune",
        "optimisers that use second derivatives: it is smooth everywhere",
        "bounded gradients in training",
    ),
    not_good_for=(
        "targets on a very large or very small scale: the switch from quadratic to linear is "
        "fixed near an error of 1, so normalise targets first",
        "predicting quantiles or intervals",
        "cases where the transition point must be chosen (use huber)",
    ),
    outlier_sensitivity=(
        "low: the loss grows linearly for large errors and the gradient tanh(e) is bounded by 1"
    ),
    imbalance_sensitivity="not applicable: there are no classes",
    input_forms=("real values",),
    hyperparameters={},
    references=(
        "Saleh, R. A. & Saleh, A. K. Md. E. (2022). Statistical Properties of the log-cosh "
        "Loss Function Used in Machine Learning. arXiv:2208.04564.",
        "Chen, P., Chen, G. & Zhang, S. (2019). Log Hyperbolic Cosine Loss Improves "
        "Variational Auto-Encoder. OpenReview (ICLR 2019 submission).",
    ),
)
def log_cosh(
    pred: Array, target: Array, *, reduction: Reduction = "mean", weights: Array | None = None
) -> Array:
    r"""Log-cosh loss.

    .. math:: \ell_i = \log\cosh(e_i), \qquad e_i = \hat y_i - y_i

    Evaluated as :math:`\operatorname{logaddexp}(e, -e) - \log 2`, which is exact and
    never overflows (``cosh`` alone overflows for |e| > 89 in float32).

    Args:
        pred: predictions :math:`\hat y`, any shape, real floating.
        target: targets :math:`y`, the same shape as ``pred``.
        {reduction}

    Returns:
        The reduced loss, or the per-element loss of ``pred``'s shape for ``"none"``.

    Examples:
        >>> import numpy as np, losskit
        >>> round(float(losskit.log_cosh(np.array([1000.0]), np.array([0.0]))), 4)
        999.3069
    """
    xp, pred, target = elementwise_inputs(pred, target)
    error = pred - target
    # log(cosh(e)) = log((e^e + e^-e) / 2) = logaddexp(e, -e) - log 2, evaluated as
    # |e| + log1p(e^-2|e|) - log 2.  Its gradient tanh(e) is 0 at e = 0 with no kink of
    # |e| to differentiate, and JAX's custom derivative of logaddexp makes it cheap.
    loss = xp.logaddexp(error, -error) - LOG2
    return reduce_loss(loss, reduction=reduction, weights=weights, xp=xp)


@register_loss(
    tasks="regression",
    summary="Quantile (pinball) loss: asymmetric absolute error whose minimiser is the q-quantile.",
    formula=r"\ell_i = \max(q\,(y_i - \hat y_i),\ (q - 1)(y_i - \hat y_i))",
    formula_text="l = max(q (target - pred), (q - 1)(target - pred))",
    explanation=(
        "An absolute error that charges under- and over-predictions differently: a prediction "
        "below the target costs q per unit, one above costs 1 - q. The best constant "
        "prediction is then the q-quantile of the targets, so with q = 0.9 the model learns "
        "a value that the target stays below 90% of the time. Train one output per quantile "
        "(say 0.05 and 0.95) to get a prediction interval."
    ),
    good_for=(
        "prediction intervals: one output per quantile",
        "asymmetric costs, where under-predicting is worse than over-predicting or the reverse",
        "predicting the median with q = 0.5",
    ),
    not_good_for=(
        "predicting the mean",
        "fine convergence: like absolute error, its gradient does not shrink near the optimum",
        "several quantiles trained separately can cross; check or sort them",
    ),
    outlier_sensitivity=(
        "low: the loss is linear in the error, so an outlier adds at most q or 1 - q per unit"
    ),
    imbalance_sensitivity="not applicable: there are no classes",
    input_forms=("real values",),
    hyperparameters={
        "q": (
            "the quantile to predict, in (0, 1): 0.5 is the median; 0.05 and 0.95 bound a 90% "
            "interval; 0.9 for a value exceeded only 10% of the time."
        ),
    },
    references=(
        "Koenker, R. & Bassett, G. (1978). Regression Quantiles. Econometrica 46(1), 33-50.",
        "Koenker, R. (2005). Quantile Regression. Cambridge University Press.",
    ),
)
def quantile(
    pred: Array,
    target: Array,
    *,
    q: float = 0.5,
    reduction: Reduction = "mean",
    weights: Array | None = None,
) -> Array:
    r"""Quantile (pinball) loss; ``q=0.5`` is half the absolute error.

    .. math:: \ell_i = \max\bigl(q\,(y_i - \hat y_i),\ (q - 1)(y_i - \hat y_i)\bigr)

    Under-predictions cost :math:`q` per unit and over-predictions :math:`1 - q`, so the
    minimiser is the :math:`q`-quantile of the target distribution.

    Args:
        pred: predictions :math:`\hat y`, any shape, real floating.
        target: targets :math:`y`, the same shape as ``pred``.
        q: the quantile, in (0, 1).
        {reduction}

    Returns:
        The reduced loss, or the per-element loss of ``pred``'s shape for ``"none"``.

    Examples:
        >>> import numpy as np, losskit
        >>> float(losskit.quantile(np.array([0.0, 0.0]), np.array([1.0, -1.0]), q=0.9))
        0.5
    """
    check_in_interval("q", q, 0.0, 1.0, closed="neither")
    xp, pred, target = elementwise_inputs(pred, target)
    error = target - pred
    loss = xp.maximum(q * error, (q - 1.0) * error)
    return reduce_loss(loss, reduction=reduction, weights=weights, xp=xp)


@register_loss(
    tasks="regression",
    summary="Poisson negative log-likelihood for count targets.",
    formula=r"\ell_i = e^{\hat y_i} - y_i \hat y_i \ \text{(log input)},\quad \hat y_i - y_i \log \hat y_i \ \text{(rate input)}",
    formula_text="l = exp(pred) - target * pred (log_input) or pred - target * log(pred)",
    explanation=(
        "The negative log-likelihood of a Poisson distribution, for targets that are counts "
        "(visits, clicks, events per hour). The model predicts a rate; the loss rewards rates "
        "that make the observed counts likely. Predicting the log of the rate "
        "(log_input=True) keeps the rate positive without any constraint on the network's "
        "output. Under this loss the variance of a count is expected to grow with its mean."
    ),
    good_for=(
        "count targets: non-negative integers such as events per interval",
        "targets whose spread grows with their mean",
        "generalised linear models with a log link",
    ),
    not_good_for=(
        "negative or continuous targets with constant noise (use mse)",
        "over-dispersed counts, whose variance is much larger than their mean (a negative "
        "binomial model fits better)",
        "rate inputs near zero when the count is positive: the loss becomes very large",
    ),
    outlier_sensitivity=(
        "medium: a very large count increases the loss linearly in the log-rate, but a "
        "predicted rate far too high grows exponentially with log_input=True"
    ),
    imbalance_sensitivity=(
        "not applicable: there are no classes; with many zero counts the model is pulled "
        "towards low rates, as the likelihood says it should be"
    ),
    input_forms=("log-rates", "rates", "counts"),
    hyperparameters={
        "log_input": (
            "True (default) when pred is the log of the rate, an unconstrained network "
            "output; False when pred is the rate itself, which must be >= 0."
        ),
        "full": (
            "add Stirling's approximation of log(target!) so the value is the full negative "
            "log-likelihood; it does not change the gradient with respect to pred. Default "
            "False."
        ),
    },
    references=(
        "McCullagh, P. & Nelder, J. A. (1989). Generalized Linear Models, 2nd ed., Chapman "
        "and Hall.",
        "Cameron, A. C. & Trivedi, P. K. (2013). Regression Analysis of Count Data, 2nd ed., "
        "Cambridge University Press.",
    ),
)
def poisson_nll(
    pred: Array,
    target: Array,
    *,
    log_input: bool = True,
    full: bool = False,
    reduction: Reduction = "mean",
    weights: Array | None = None,
) -> Array:
    r"""Poisson negative log-likelihood, up to the constant :math:`\log(y!)`.

    .. math::
        \ell_i = e^{\hat y_i} - y_i\,\hat y_i \ \ (\text{log_input}),\qquad
        \ell_i = \lambda_i - y_i \log\lambda_i \ \ (\lambda_i = \hat y_i > 0)

    With ``full=True`` the Stirling approximation of :math:`\log(y!)`,
    :math:`y\log y - y + \tfrac12\log(2\pi y)`, is added for :math:`y > 1` (as PyTorch does).
    For rate inputs, :math:`\log\lambda` is clipped at the smallest normal number so a
    rate of exactly 0 gives a large finite loss.

    Args:
        pred: log-rates (``log_input=True``) or rates :math:`\lambda \ge 0`.
        target: non-negative counts, the same shape as ``pred``.
        log_input: whether ``pred`` is the log of the rate.
        full: add the Stirling term so the loss is the full negative log-likelihood.
        {reduction}

    Returns:
        The reduced loss, or the per-element loss of ``pred``'s shape for ``"none"``.

    Examples:
        >>> import numpy as np, losskit
        >>> float(losskit.poisson_nll(np.array([0.0]), np.array([2.0])))
        1.0
    """
    xp, pred, target = elementwise_inputs(pred, target)
    check_values(
        target,
        lambda t: xp.any(t < 0),
        "target must hold non-negative counts; found a negative value",
    )
    if log_input:
        # y log(rate): a count of 0 contributes 0 even at a log-rate of -inf (rate 0)
        loss = xp.exp(pred) - weighted_log(target, pred, xp=xp)
    else:
        check_values(
            pred,
            lambda p: xp.any(~(p >= 0)),
            "pred must hold non-negative rates when log_input=False",
        )
        loss = pred - target * safe_log(pred, xp=xp)
    if full:
        safe_target = xp.where(target > 1, target, 1.0)
        stirling = (
            safe_target * xp.log(safe_target)
            - safe_target
            + 0.5 * xp.log(2 * math.pi * safe_target)
        )
        loss = loss + xp.where(target > 1, stirling, 0.0)
    return reduce_loss(loss, reduction=reduction, weights=weights, xp=xp)


@register_loss(
    tasks="regression",
    summary="Gaussian negative log-likelihood with a predicted variance.",
    formula=r"\ell_i = \tfrac12\bigl(\log\max(\sigma_i^2, \epsilon) + (\hat y_i - y_i)^2 / \max(\sigma_i^2, \epsilon)\bigr)",
    formula_text="l = 0.5 (log(max(var, eps)) + (pred - target)^2 / max(var, eps))",
    explanation=(
        "The model predicts both a value and how uncertain it is (a variance). The loss is "
        "the negative log-likelihood of the target under a normal distribution with that "
        "mean and variance: a large error is forgiven if the model said it was unsure, but "
        "claiming uncertainty has a price, the log-variance term. The model learns to say "
        "where its predictions are reliable."
    ),
    good_for=(
        "regression with noise whose size varies from sample to sample",
        "uncertainty estimates: the predicted variance is a per-sample error bar",
        "down-weighting hard samples automatically, through their predicted variance",
    ),
    not_good_for=(
        "models without a variance output (use mse: a fixed variance gives the same optimum)",
        "training from scratch when the variance can collapse: keep eps, or warm up the mean "
        "with mse first",
        "heavy-tailed noise: a Gaussian likelihood is not robust to outliers",
    ),
    outlier_sensitivity=(
        "high: the error is squared as in mse, and the model can only soften it by inflating "
        "the predicted variance"
    ),
    imbalance_sensitivity="not applicable: there are no classes",
    input_forms=("real values", "variances"),
    hyperparameters={
        "full": (
            "add the constant 0.5 log(2 pi) so the value is the full negative log-likelihood; "
            "it does not change the gradient. Default False."
        ),
        "eps": (
            "lower clamp of the variance, > 0. Default 1e-6; raise it (to 1e-3, say) if "
            "training diverges when predicted variances collapse."
        ),
    },
    references=(
        "Nix, D. A. & Weigend, A. S. (1994). Estimating the Mean and Variance of the Target "
        "Probability Distribution. IEEE International Conference on Neural Networks, 55-60.",
        "Kendall, A. & Gal, Y. (2017). What Uncertainties Do We Need in Bayesian Deep Learning "
        "for Computer Vision? Advances in Neural Information Processing Systems 30.",
    ),
)
def gaussian_nll(
    pred: Array,
    target: Array,
    var: Array,
    *,
    full: bool = False,
    eps: float = 1e-6,
    reduction: Reduction = "mean",
    weights: Array | None = None,
) -> Array:
    r"""Gaussian negative log-likelihood of ``target`` under :math:`\mathcal N(\hat y, \sigma^2)`.

    .. math::
        \ell_i = \tfrac12\Bigl(\log v_i + \frac{(\hat y_i - y_i)^2}{v_i}\Bigr)
        \ (+\tfrac12\log 2\pi \text{ if full}),\qquad v_i = \max(\sigma^2_i, \epsilon)

    As in PyTorch, the clamp at :math:`\epsilon` is excluded from the gradient of the variance.

    Args:
        pred: predicted means :math:`\hat y`, any shape, real floating.
        target: targets :math:`y`, the same shape as ``pred``.
        var: predicted variances :math:`\sigma^2 \ge 0`, the shape of ``pred`` or
            broadcastable to it without enlarging it (one shared variance per row, say).
        full: add the constant :math:`\tfrac12\log 2\pi`.
        eps: lower clamp of the variance, > 0.  It is raised to the smallest value whose
            square is a normal number of the dtype (about 7.8e-3 in float16, 1e-19 in
            float32), so the gradient stays finite.
        {reduction}

    Returns:
        The reduced loss, or the per-element loss of ``pred``'s shape for ``"none"``.

    Examples:
        >>> import numpy as np, losskit
        >>> float(losskit.gaussian_nll(np.array([0.0]), np.array([2.0]), np.array([1.0])))
        2.0
    """
    check_in_interval("eps", eps, 0.0, closed="neither")
    xp, pred, target = elementwise_inputs(pred, target)
    namespace(pred=pred, var=var)
    var = as_float(var, pred, "var", xp)
    check_broadcastable(var, tuple(pred.shape), "var", "pred's shape")
    check_nonnegative(var, "var", xp)
    # max(var, eps) with the clamp outside the gradient: var + stop_grad(max(var, eps) - var).
    # eps is raised to the smallest v whose square the dtype holds (7.8e-3 in float16):
    # the gradient divides by v^2, which would underflow to 0 below it.
    clamped = xp.clip(var, max(eps, finfo_sqrt_tiny(pred, xp)), None)
    var = var + stop_gradient(clamped - var, xp)
    loss = 0.5 * (xp.log(var) + (pred - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return reduce_loss(loss, reduction=reduction, weights=weights, xp=xp)
