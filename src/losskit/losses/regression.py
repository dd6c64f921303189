"""Regression losses: the error e = pred - target, element by element."""

from __future__ import annotations

import math
from typing import Any

from losskit.core.inputs import elementwise_inputs
from losskit.core.namespace import as_float, namespace, stop_gradient
from losskit.core.primitives import LOG2, safe_log, softplus
from losskit.core.reduction import Reduction, reduce_loss
from losskit.core.registry import register_loss
from losskit.core.validation import check_in_interval, check_values
from losskit.errors import LossInputError

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
    tasks="regression",
    summary="Smooth L1 loss: Huber divided by beta, so the linear part has slope 1.",
    formula=r"\ell_i = \begin{cases} \tfrac{1}{2\beta} e_i^2 & |e_i| < \beta \\ |e_i| - \tfrac12\beta & \text{otherwise} \end{cases}",
    formula_text="l = 0.5 e^2 / beta if |e| < beta else |e| - 0.5 beta, e = pred - target",
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
)
def log_cosh(
    pred: Array, target: Array, *, reduction: Reduction = "mean", weights: Array | None = None
) -> Array:
    r"""Log-cosh loss.

    .. math:: \ell_i = \log\cosh(e_i), \qquad e_i = \hat y_i - y_i

    Evaluated as :math:`|e| + \operatorname{softplus}(-2|e|) - \log 2`, which is exact
    and never overflows (``cosh`` alone overflows for |e| > 89 in float32).

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
    error = xp.abs(pred - target)
    # log(cosh(e)) = log((e^|e| (1 + e^-2|e|)) / 2) = |e| + softplus(-2|e|) - log 2
    loss = error + softplus(-2.0 * error, xp=xp) - LOG2
    return reduce_loss(loss, reduction=reduction, weights=weights, xp=xp)


@register_loss(
    tasks="regression",
    summary="Quantile (pinball) loss: asymmetric absolute error whose minimiser is the q-quantile.",
    formula=r"\ell_i = \max(q\,(y_i - \hat y_i),\ (q - 1)(y_i - \hat y_i))",
    formula_text="l = max(q (target - pred), (q - 1)(target - pred))",
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
        loss = xp.exp(pred) - target * pred
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
        eps: lower clamp of the variance, > 0.
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
    if var.ndim > pred.ndim or any(
        v not in (1, p) for v, p in zip(reversed(var.shape), reversed(pred.shape), strict=False)
    ):
        raise LossInputError(
            f"var must have pred's shape {tuple(pred.shape)} or be broadcastable to it without "
            f"enlarging it; got {tuple(var.shape)}"
        )
    check_values(
        var,
        lambda v: xp.any(~(v >= 0)),
        "var must be non-negative and not NaN; found a negative or NaN value",
    )
    # max(var, eps) with the clamp outside the gradient: var + stop_grad(max(var, eps) - var).
    clamped = xp.clip(var, eps, None)
    var = var + stop_gradient(clamped - var, xp)
    loss = 0.5 * (xp.log(var) + (pred - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return reduce_loss(loss, reduction=reduction, weights=weights, xp=xp)
