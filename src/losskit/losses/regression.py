"""Regression losses: the error e = pred - target, element by element.

The per-element losses of MSE, MAE, Huber and log-cosh are kernels
(:mod:`losskit.core.kernels`) that a backend may compute faster.  A NaN target makes
these losses NaN, so its check can be read off the reduced loss
(``elementwise_inputs(..., nan_check="loss")``).
"""

from __future__ import annotations

import math
from typing import Any

from losskit.core.inputs import elementwise_inputs
from losskit.core.kernels import kernel
from losskit.core.namespace import (
    as_array,
    as_float,
    finfo_sqrt_tiny,
    is_static_number,
    namespace,
    stop_gradient,
)
from losskit.core.options import flag, real
from losskit.core.primitives import log_cosh as stable_log_cosh
from losskit.core.primitives import safe_log, weighted_log
from losskit.core.reduction import Reduction, kernel_reduction, reduce_loss
from losskit.core.registry import register_loss
from losskit.core.validation import check_broadcastable, check_nonnegative, check_range

__all__ = [
    "gaussian_nll",
    "huber",
    "log_cosh",
    "mae",
    "mape",
    "mse",
    "msle",
    "poisson_nll",
    "pseudo_huber",
    "quantile",
    "smooth_l1",
]

Array = Any


# --------------------------------------------------------------------------- kernels
# Each takes the reduction the loss applies next (see losskit.core.kernels): the generic
# kernels return the unreduced loss.


@kernel
def squared_error(pred: Array, target: Array, *, reduction: str, xp: Any) -> Array:
    """(pred - target)^2."""
    return (pred - target) ** 2


@kernel
def absolute_error(pred: Array, target: Array, *, reduction: str, xp: Any) -> Array:
    """|pred - target|."""
    return xp.abs(pred - target)


@kernel
def huber_error(pred: Array, target: Array, *, delta: Any, reduction: str, xp: Any) -> Array:
    """The Huber loss of each error."""
    error = xp.abs(pred - target)
    return xp.where(error <= delta, 0.5 * error**2, delta * (error - 0.5 * delta))


@kernel
def log_cosh_error(pred: Array, target: Array, *, reduction: str, xp: Any) -> Array:
    """log cosh(pred - target), stable at every error (:func:`~losskit.core.primitives.log_cosh`)."""
    return stable_log_cosh(pred - target, xp=xp)


# ---------------------------------------------------------------------------- losses


@register_loss(
    tasks="regression",
    summary="Mean squared error: the squared difference between prediction and target.",
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
    xp, pred, target = elementwise_inputs(pred, target, nan_check="loss")
    loss = squared_error(pred, target, reduction=kernel_reduction(reduction, weights), xp=xp)
    return reduce_loss(loss, reduction=reduction, weights=weights, xp=xp, unchecked_target=target)


@register_loss(
    tasks="regression",
    summary="Mean absolute error: the absolute difference between prediction and target.",
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
    xp, pred, target = elementwise_inputs(pred, target, nan_check="loss")
    loss = absolute_error(pred, target, reduction=kernel_reduction(reduction, weights), xp=xp)
    return reduce_loss(loss, reduction=reduction, weights=weights, xp=xp, unchecked_target=target)


@register_loss(
    tasks="regression",
    summary="Huber loss: quadratic for small errors, linear beyond delta.",
    options=(
        real(
            "delta",
            (
                "error at which the loss turns from quadratic to linear, > 0, in target units; errors "
                "above it are treated as outliers. Usual: 1.0 on standardised targets (Huber's 1.345 "
                "noise standard deviations keeps 95% efficiency on Gaussian noise)."
            ),
            0.0,
            closed="neither",
        ),
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
    xp, pred, target = elementwise_inputs(pred, target, nan_check="loss")
    fused = kernel_reduction(reduction, weights)
    loss = huber_error(pred, target, delta=delta, reduction=fused, xp=xp)
    return reduce_loss(loss, reduction=reduction, weights=weights, xp=xp, unchecked_target=target)


@register_loss(
    tasks=("regression", "detection"),  # Fast R-CNN's box-offset loss
    summary="Smooth L1 loss: Huber divided by beta, so the linear part has slope 1.",
    options=(
        real(
            "beta",
            (
                "error at which the loss turns from quadratic to linear, >= 0; 0 gives the plain "
                "absolute error. Usual: 1.0 (Fast R-CNN); detectors often use 1/9 or smaller for box "
                "deltas."
            ),
            0.0,
        ),
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
    xp, pred, target = elementwise_inputs(pred, target, nan_check="loss")
    error = xp.abs(pred - target)
    beta = beta if is_static_number(beta) else as_array(beta, pred, "beta", xp)
    # With m = min(|e|, beta) the loss is 0.5 m^2 / beta + (|e| - m): quadratic below beta,
    # linear above.  At beta = 0, m = 0 and any positive divisor gives the L1 loss; a
    # divisor of 1 there keeps 0/0 out of the value and its gradient.
    quadratic = (
        xp.minimum(error, beta) if not is_static_number(beta) else xp.clip(error, None, beta)
    )
    divisor = xp.where(beta > 0, beta, 1.0) if not is_static_number(beta) else (beta or 1.0)
    loss = 0.5 * quadratic * quadratic / divisor + (error - quadratic)
    return reduce_loss(loss, reduction=reduction, weights=weights, xp=xp, unchecked_target=target)


@register_loss(
    tasks="regression",
    summary="Log-cosh loss: log(cosh(error)), close to e^2/2 for small errors and |e| for large ones.",
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
    xp, pred, target = elementwise_inputs(pred, target, nan_check="loss")
    loss = log_cosh_error(pred, target, reduction=kernel_reduction(reduction, weights), xp=xp)
    return reduce_loss(loss, reduction=reduction, weights=weights, xp=xp, unchecked_target=target)


@register_loss(
    tasks="regression",
    summary="Quantile (pinball) loss: asymmetric absolute error whose minimiser is the q-quantile.",
    options=(
        real(
            "q",
            (
                "the quantile to predict, in (0, 1): 0.5 is the median; 0.05 and 0.95 bound a 90% "
                "interval; 0.9 for a value exceeded only 10% of the time."
            ),
            0.0,
            1.0,
            closed="neither",
        ),
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
    xp, pred, target = elementwise_inputs(pred, target, nan_check="loss")
    error = target - pred
    loss = xp.maximum(q * error, (q - 1.0) * error)
    return reduce_loss(loss, reduction=reduction, weights=weights, xp=xp, unchecked_target=target)


@register_loss(
    tasks="regression",
    summary="Poisson negative log-likelihood for count targets.",
    options=(
        flag(
            "log_input",
            (
                "True (default) when pred is the log of the rate, an unconstrained network output; "
                "False when pred is the rate itself, which must be >= 0."
            ),
        ),
        flag(
            "full",
            (
                "add Stirling's approximation of log(target!) so the value is the full negative "
                "log-likelihood; it does not change the gradient with respect to pred. Default False."
            ),
        ),
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
    xp, pred, target = elementwise_inputs(pred, target, nan_check="range")
    check_range(
        target,
        0.0,
        None,
        "target must hold non-negative counts; found a negative value",
        xp,
        nan_message="target must not contain NaN",
    )
    if log_input:
        # y log(rate): a count of 0 contributes 0 even at a log-rate of -inf (rate 0)
        loss = xp.exp(pred) - weighted_log(target, pred, xp=xp)
    else:
        check_range(pred, 0.0, None, "pred must hold non-negative rates when log_input=False", xp)
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
    options=(
        flag(
            "full",
            (
                "add the constant 0.5 log(2 pi) so the value is the full negative log-likelihood; it "
                "does not change the gradient. Default False."
            ),
        ),
        real(
            "eps",
            (
                "lower clamp of the variance, > 0. Default 1e-6; raise it (to 1e-3, say) if training "
                "diverges when predicted variances collapse."
            ),
            0.0,
            closed="neither",
        ),
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
    xp, pred, target = elementwise_inputs(pred, target, nan_check="loss")
    namespace(pred=pred, var=var)
    var = as_float(var, pred, "var", xp)
    check_broadcastable(var, tuple(pred.shape), "var", "pred's shape")
    check_nonnegative(var, "var", xp)
    # max(var, eps) with the clamp outside the gradient: var + stop_grad(max(var, eps) - var).
    # eps is raised to the smallest v whose square the dtype holds (7.8e-3 in float16):
    # the gradient divides by v^2, which would underflow to 0 below it. Two clips, not
    # max(eps, floor): eps may be a traced array.
    clamped = xp.clip(xp.clip(var, eps, None), finfo_sqrt_tiny(pred, xp), None)
    var = var + stop_gradient(clamped - var, xp)
    loss = 0.5 * (xp.log(var) + (pred - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return reduce_loss(loss, reduction=reduction, weights=weights, xp=xp, unchecked_target=target)


@register_loss(
    tasks="regression",
    summary="Pseudo-Huber (Charbonnier) loss: a smooth Huber, quadratic near 0 and linear far out.",
    options=(
        real(
            "delta",
            "scale of the error where the loss turns from quadratic to linear, > 0, in target "
            "units; the gradient never exceeds delta. Usual: 1.0 on standardised targets.",
            0.0,
            closed="neither",
        ),
    ),
)
def pseudo_huber(
    pred: Array,
    target: Array,
    *,
    delta: float = 1.0,
    reduction: Reduction = "mean",
    weights: Array | None = None,
) -> Array:
    r"""Pseudo-Huber loss, smooth everywhere (Charbonnier's penalty for ``delta = 1``).

    .. math:: \ell_i = \delta^2\Bigl(\sqrt{1 + (e_i / \delta)^2} - 1\Bigr),\qquad e_i = \hat y_i - y_i

    Close to :math:`e^2/2` for :math:`|e| \ll \delta` and to :math:`\delta(|e| - \delta)`
    for :math:`|e| \gg \delta`; its gradient :math:`e / \sqrt{1 + (e/\delta)^2}` is
    bounded by :math:`\delta` and has no kink, unlike Huber's second derivative.

    Args:
        pred: predictions :math:`\hat y`, any shape, real floating.
        target: targets :math:`y`, the same shape as ``pred``.
        delta: :math:`\delta > 0`, the scale of the transition.
        {reduction}

    Returns:
        The reduced loss, or the per-element loss of ``pred``'s shape for ``"none"``.

    Examples:
        >>> import numpy as np, losskit
        >>> round(float(losskit.pseudo_huber(np.array([0.1, 100.0]), np.zeros(2))), 4)
        49.505
    """
    xp, pred, target = elementwise_inputs(pred, target)
    x = (pred - target) / delta
    # sqrt(1 + x^2) - 1, with hypot so that x^2 never overflows: as x^2 / (hypot + 1) for
    # |x| <= 1 (no cancellation), as hypot - 1 beyond (no quotient, whose derivative
    # divides by (hypot + 1)^2 and overflows in float16 from |x| ~ 255). Both are finite
    # everywhere, with finite derivatives, so the unused branch does not harm the gradient.
    h = xp.hypot(xp.ones_like(x), x)
    loss = delta**2 * xp.where(xp.abs(x) <= 1.0, x * (x / (h + 1.0)), h - 1.0)
    return reduce_loss(loss, reduction=reduction, weights=weights, xp=xp)


@register_loss(
    tasks="regression",
    summary="Mean squared logarithmic error: the squared difference of log(1 + pred) and log(1 + target).",
)
def msle(
    pred: Array, target: Array, *, reduction: Reduction = "mean", weights: Array | None = None
) -> Array:
    r"""Mean squared logarithmic error, for non-negative targets spanning orders of magnitude.

    .. math:: \ell_i = \bigl(\log(1 + \max(\hat y_i, 0)) - \log(1 + y_i)\bigr)^2

    A relative error: predicting 110 for 100 costs about as much as 1.1 for 1.  As in
    Keras's ``MeanSquaredLogarithmicError``, a negative prediction is clipped at 0, so the
    loss stays finite, and its gradient there is 0: give the model a non-negative output
    (softplus, exp) rather than rely on the clip.  A negative target is an error (Keras
    clips it silently).

    Args:
        pred: predictions :math:`\hat y`, any shape, real floating.
        target: non-negative targets :math:`y`, the same shape as ``pred``.
        {reduction}

    Returns:
        The reduced loss, or the per-element loss of ``pred``'s shape for ``"none"``.

    Examples:
        >>> import numpy as np, losskit
        >>> round(float(losskit.msle(np.array([np.e - 1.0]), np.array([0.0]))), 4)
        1.0
    """
    xp, pred, target = elementwise_inputs(pred, target, nan_check="range")
    check_range(
        target,
        0.0,
        None,
        "target must be non-negative for msle; found a negative value (shift or use mse)",
        xp,
        nan_message="target must not contain NaN",
    )
    # log1p: exact for small values, where log(1 + x) would round 1 + x first
    loss = (xp.log1p(xp.clip(pred, 0.0, None)) - xp.log1p(target)) ** 2
    return reduce_loss(loss, reduction=reduction, weights=weights, xp=xp)


@register_loss(
    tasks="regression",
    summary="Mean absolute percentage error: 100 |pred - target| / |target|, floored near 0.",
    options=(
        real(
            "epsilon",
            (
                "floor of |target| in the denominator, > 0, so a target of 0 gives a large finite "
                "loss. Default 1e-7 (Keras's); raise it to the smallest target that matters, and "
                "above about 1e-2 in float16, where 100 |pred| / 1e-7 overflows."
            ),
            0.0,
            closed="neither",
        ),
    ),
)
def mape(
    pred: Array,
    target: Array,
    *,
    epsilon: float = 1e-7,
    reduction: Reduction = "mean",
    weights: Array | None = None,
) -> Array:
    r"""Mean absolute percentage error, as Keras's ``MeanAbsolutePercentageError``.

    .. math:: \ell_i = 100\,\frac{|\hat y_i - y_i|}{\max(|y_i|, \epsilon)}

    A target of 0 has no percentage error: the denominator is floored at
    :math:`\epsilon`, so it gives the large finite loss :math:`100 |\hat y_i| / \epsilon`
    (:math:`10^9 |\hat y_i|` with the default) and a gradient of the same size, which
    dominates a mean.  Leave such targets out with ``weights`` (weight 0) or raise
    ``epsilon`` to the smallest target that matters.  Over-prediction costs without
    bound and under-prediction at most 100, so the loss favours low predictions.

    Args:
        pred: predictions :math:`\hat y`, any shape, real floating.
        target: targets :math:`y`, the same shape as ``pred``.
        epsilon: floor :math:`\epsilon > 0` of :math:`|y_i|`.
        {reduction}

    Returns:
        The reduced loss, in percent, or the per-element loss of ``pred``'s shape for ``"none"``.

    Examples:
        >>> import numpy as np, losskit
        >>> float(losskit.mape(np.array([110.0, 1.0]), np.array([100.0, 2.0])))
        30.0
    """
    xp, pred, target = elementwise_inputs(pred, target)
    # epsilon may be a traced value: clip, not Python max
    loss = 100.0 * xp.abs(pred - target) / xp.clip(xp.abs(target), epsilon, None)
    return reduce_loss(loss, reduction=reduction, weights=weights, xp=xp)
