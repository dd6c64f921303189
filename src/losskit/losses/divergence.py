"""Divergences between class distributions, and knowledge distillation.

Kullback-Leibler in both directions, the Jensen-Shannon divergence generalised by
``beta`` (its two ends are the two KLs), total variation, and the distillation loss of
a student's logits against a teacher's at a temperature.  Every one reads the
predicted distribution as probabilities or logits (``from_logits``) and, except
distillation, the target as probabilities or log-probabilities (``log_target``).

A distribution is carried as a pair (log q, q).  Logits go through log-softmax, exact
for any finite logit; probabilities through :func:`~losskit.core.primitives.safe_log`,
so a probability of 0 gives a large finite log, never -inf.  Terms weighted by a
probability of 0 are exactly 0 (``0 log 0 = 0``) with finite gradients.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from losskit.core.inputs import check_distributions, class_inputs
from losskit.core.kernels import kernel
from losskit.core.namespace import (
    as_float,
    autocast_to_float32,
    computed_in_float32,
    constant,
    finfo_tiny,
    is_static_number,
    namespace,
    require_floating,
    require_integer,
    scalar_option,
)
from losskit.core.options import choice, flag, real
from losskit.core.primitives import log_softmax, safe_log, weighted_log, xlogy
from losskit.core.reduction import Reduction, reduce_loss
from losskit.core.registry import register_loss
from losskit.core.validation import (
    check_normalized_axis,
    check_probabilities,
    check_shape,
    check_values,
)
from losskit.errors import LossInputError
from losskit.losses.classification import _check_targets_in_unit_interval
from losskit.losses.shared_options import CLASS_AXIS, IGNORE_INDEX

__all__ = ["distillation", "jensen_shannon", "kl_divergence", "total_variation"]

Array = Any

PRED_FROM_LOGITS = flag(
    "from_logits",
    (
        "True when pred holds logits or log-probabilities (log-softmax is applied); False "
        "(default) for probabilities."
    ),
)

LOG_TARGET = flag(
    "log_target",
    (
        "True when target holds log-probabilities (a log-softmax output, as torch's kl_div "
        "with log_target=True): exact where a probability underflows to 0; False (default) "
        "for probabilities."
    ),
)

BETA = real(
    "beta",
    (
        "the mixture's weight on the target: 0 is KL(target || pred) (forward), 1 "
        "is KL(pred || target) (reverse), 0.5 (default) the symmetric Jensen-Shannon "
        "divergence."
    ),
    0.0,
    1.0,
)


# ------------------------------------------------------------------ private kernels


class _Distribution:
    """A distribution along the class axis: its log-probabilities, its probabilities,
    and sum-ready ``p log p`` (0 where p = 0, with a finite gradient)."""

    def __init__(self, log_p: Array, p: Array, p_log_p: Array) -> None:
        self.log_p, self.p, self.p_log_p = log_p, p, p_log_p


def _from_log_probs(log_p: Array, *, xp: Any) -> _Distribution:
    """From log-probabilities (a log-softmax output; -inf for a class of probability 0)."""
    p = xp.exp(log_p)
    return _Distribution(log_p, p, weighted_log(p, log_p, xp=xp))


def _from_probs(p: Array, *, xp: Any) -> _Distribution:
    """From probabilities; log 0 is clipped to log(tiny), a large finite value."""
    return _Distribution(safe_log(p, xp=xp), p, xlogy(p, p, xp=xp))


def _pred_distribution(pred: Array, from_logits: bool, axis: int, *, xp: Any) -> _Distribution:
    if from_logits:
        return _from_log_probs(log_softmax(pred, axis=axis, xp=xp), xp=xp)
    check_probabilities(pred, "pred", xp)
    return _from_probs(pred, xp=xp)


def _target_distribution(target: Array, log_target: bool, axis: int, *, xp: Any) -> _Distribution:
    if not log_target:
        _check_targets_in_unit_interval(target, xp)
        check_distributions(target, axis, xp)
        return _from_probs(target, xp=xp)
    tolerance = 1e-2 + target.shape[axis] * float(xp.finfo(target.dtype).eps)
    check_values(
        target,
        lambda t: xp.any(t > 0) | xp.any(xp.abs(xp.sum(xp.exp(t), axis=axis) - 1.0) > tolerance),
        f"target must hold log-probabilities with log_target=True: values <= 0 whose "
        f"exponentials sum to 1 along axis {axis} (within {tolerance:.2g}); found a row that "
        "does not. Apply log_softmax to logits first, or use losskit.distillation for a "
        "teacher's logits",
    )
    return _from_log_probs(target, xp=xp)


def _class_inputs(
    pred: Array, target: Array, axis: int, log_target: bool
) -> tuple[Any, Array, Array, int]:
    """:func:`class_inputs`; a probability target's NaN check is left to its range check
    (one pass over the target), a log-probability target, which has none, is checked here."""
    return class_inputs(pred, target, axis, nan_check="now" if log_target else "range")


def _floored_log(d: _Distribution, *, xp: Any) -> Array:
    """log p no smaller than log(tiny): the log of the distribution a divergence is taken
    *against*, where a class of probability 0 but positive weight would make it inf (as
    :func:`safe_log` does for probabilities; no effect on probabilities above tiny)."""
    # a 0-d array, not a Python float: torch.compile cannot trace a scalar's result_type
    return xp.maximum(d.log_p, constant(math.log(finfo_tiny(d.log_p, xp)), d.log_p, xp))


def _kl(a: _Distribution, b: _Distribution, axis: int, *, floor: bool, xp: Any) -> Array:
    """KL(a || b) = sum_c a_c (log a_c - log b_c), 0 log 0 = 0, summed over ``axis``.

    ``floor`` floors log b at log(tiny) (see :func:`_floored_log`); without it a class
    that b gives probability 0 (a logit of -inf) and a gives some is +inf, its true value.
    """
    log_b = _floored_log(b, xp=xp) if floor else b.log_p
    return xp.sum(a.p_log_p - weighted_log(a.p, log_b, xp=xp), axis=axis)


def _mixture_js(p: _Distribution, q: _Distribution, beta: Any, axis: int, *, xp: Any) -> Array:
    """beta KL(p || m) + (1 - beta) KL(q || m), m = beta p + (1 - beta) q, for 0 < beta < 1.

    With m's log taken from m itself, the sum is
    sum_c beta p log p + (1 - beta) q log q - m log m: one log per class, and exactly 0
    where both p and q are 0.
    """
    m = beta * p.p + (1.0 - beta) * q.p
    m_log_m = xlogy(m, m, xp=xp)
    return xp.sum(beta * p.p_log_p + (1.0 - beta) * q.p_log_p - m_log_m, axis=axis)


def _generalised_js(p: _Distribution, q: _Distribution, beta: Any, axis: int, *, xp: Any) -> Array:
    """The generalised Jensen-Shannon divergence of target p and prediction q, with its
    ends defined as the KLs: KL(p || q) at beta = 0, KL(q || p) at beta = 1.

    A Python beta picks its branch; a traced one (an array, under ``jax.jit``) computes
    the three and selects, so no Python branch reads its value.
    """
    if not is_static_number(beta):
        return _traced_js(p, q, beta, axis, xp=xp)
    if beta == 0:
        return _kl(p, q, axis, floor=False, xp=xp)
    if beta == 1:
        return _kl(q, p, axis, floor=True, xp=xp)
    return _mixture_js(p, q, beta, axis, xp=xp)


def _traced_js(p: _Distribution, q: _Distribution, beta: Any, axis: int, *, xp: Any) -> Array:
    """:func:`generalised_js` for a beta given as an array: the three branches, selected
    by ``where`` (each with finite gradients, so the unused ones poison nothing)."""
    beta = scalar_option(beta, q.p, "beta", xp)
    forward = _kl(p, q, axis, floor=True, xp=xp)
    reverse = _kl(q, p, axis, floor=True, xp=xp)
    return xp.where(
        beta == 0,
        forward,
        xp.where(beta == 1, reverse, _mixture_js(p, q, beta, axis, xp=xp)),
    )


@kernel
def softened_kl(student: Array, teacher: Array, temperature: Any, axis: int, *, xp: Any) -> Array:
    """KL(softmax(teacher / T) || softmax(student / T)) along ``axis``, one value per
    position: distillation's divergence at beta = 0, Hinton's (without the T^2)."""
    q = _from_log_probs(log_softmax(student / temperature, axis=axis, xp=xp), xp=xp)
    p = _from_log_probs(log_softmax(teacher / temperature, axis=axis, xp=xp), xp=xp)
    return _kl(p, q, axis, floor=False, xp=xp)


# ----------------------------------------------------------------------- losses


@register_loss(
    tasks=("multi-class", "generative", "distillation"),
    summary="Kullback-Leibler divergence between class distributions, forward or reverse.",
    class_axis="axis",
    options=(
        PRED_FROM_LOGITS,
        LOG_TARGET,
        choice(
            "direction",
            ("forward", "reverse"),
            (
                "'forward' (default): KL(target || pred), mass-covering, the cross-entropy's "
                "and distillation's; 'reverse': KL(pred || target), mode-seeking, the "
                "prediction is pushed away from classes the target rules out."
            ),
        ),
        CLASS_AXIS,
    ),
)
@computed_in_float32
def kl_divergence(
    pred: Array,
    target: Array,
    *,
    from_logits: bool = False,
    log_target: bool = False,
    direction: Literal["forward", "reverse"] = "forward",
    axis: int = -1,
    reduction: Reduction = "mean",
    weights: Array | None = None,
) -> Array:
    r"""Kullback-Leibler divergence along the class axis, :math:`\mathrm{KL}(y \,\|\, p)`
    (forward, default) or :math:`\mathrm{KL}(p \,\|\, y)` (reverse).

    .. math::
        \ell_i = \sum_c y_{ic} \bigl(\log y_{ic} - \log p_{ic}\bigr)\ \text{(forward)},\qquad
        \ell_i = \sum_c p_{ic} \bigl(\log p_{ic} - \log y_{ic}\bigr)\ \text{(reverse)},
        \qquad 0 \log 0 = 0

    ``"mean"`` averages over samples (PyTorch's ``kl_div(..., reduction="batchmean")``
    for 2-D inputs; Keras's ``KLDivergence``).  A class the target gives 0 and the
    prediction does not counts, in the reverse direction, as :math:`\log y =` log of the
    dtype's smallest normal number (about -708 in float64, -87 in float32 and in the
    16-bit floats, which are computed in float32): large and finite where the exact
    value is infinite.

    Args:
        pred: predicted probabilities, or logits / log-probabilities with
            ``from_logits=True`` (log-softmax is applied); classes on ``axis``.
        target: target probabilities, or log-probabilities with ``log_target=True``; the
            same shape as ``pred``, each row a distribution along ``axis`` (checked,
            within ``1e-2 + C eps``).
        from_logits: whether ``pred`` holds logits.
        log_target: whether ``target`` holds log-probabilities.
        direction: ``"forward"`` for KL(target || pred), ``"reverse"`` for KL(pred || target).
        axis: the class axis.
        {reduction}

    Returns:
        The reduced loss, or the per-sample loss (``pred``'s shape without ``axis``) for ``"none"``.

    Examples:
        >>> import numpy as np, losskit
        >>> float(losskit.kl_divergence(np.array([[0.5, 0.5]]), np.array([[0.5, 0.5]])))
        0.0
        >>> p, y = np.array([[0.8, 0.2]]), np.array([[0.5, 0.5]])
        >>> round(float(losskit.kl_divergence(p, y)), 4), round(float(
        ...     losskit.kl_divergence(p, y, direction="reverse")), 4)
        (0.2231, 0.1927)
    """
    xp, pred, target, axis = _class_inputs(pred, target, axis, log_target)
    q = _pred_distribution(pred, from_logits, axis, xp=xp)
    y = _target_distribution(target, log_target, axis, xp=xp)
    if direction == "forward":
        loss = _kl(y, q, axis, floor=False, xp=xp)
    else:
        loss = _kl(q, y, axis, floor=True, xp=xp)
    return reduce_loss(loss, reduction=reduction, weights=weights, xp=xp)


@register_loss(
    tasks=("multi-class", "distillation"),
    summary="Jensen-Shannon divergence generalised by beta: bounded, and the two KLs at its ends.",
    class_axis="axis",
    options=(BETA, PRED_FROM_LOGITS, LOG_TARGET, CLASS_AXIS),
)
@computed_in_float32
def jensen_shannon(
    pred: Array,
    target: Array,
    *,
    beta: float = 0.5,
    from_logits: bool = False,
    log_target: bool = False,
    axis: int = -1,
    reduction: Reduction = "mean",
    weights: Array | None = None,
) -> Array:
    r"""Generalised Jensen-Shannon divergence of the target :math:`y` and the prediction
    :math:`p` along the class axis.

    .. math::
        \ell_i = \beta\,\mathrm{KL}(y_i \,\|\, m_i) + (1 - \beta)\,\mathrm{KL}(p_i \,\|\, m_i),
        \qquad m_i = \beta\, y_i + (1 - \beta)\, p_i,\quad 0 < \beta < 1;\qquad
        \ell_i = \mathrm{KL}(y_i \,\|\, p_i)\ (\beta = 0),\quad
        \ell_i = \mathrm{KL}(p_i \,\|\, y_i)\ (\beta = 1)

    At :math:`\beta = 1/2` it is the Jensen-Shannon divergence, symmetric and at most
    :math:`\log 2`.  The ends are the forward and reverse KL by definition, as in
    Liger-Kernel's ``LigerJSD`` and the generalised JSD of GKD (Agarwal et al., 2024):
    the mixture formula itself tends to 0 there, :math:`\ell \approx
    \beta\,\mathrm{KL}(y \| p)` for small :math:`\beta`, so the loss jumps at
    :math:`\beta = 0` and :math:`\beta = 1`.  Unlike the KLs, the mixture is finite
    wherever one distribution has a class of probability 0.

    Args:
        pred: predicted probabilities, or logits with ``from_logits=True``; classes on ``axis``.
        target: target probabilities, or log-probabilities with ``log_target=True``; the
            same shape as ``pred``, each row a distribution along ``axis``.
        beta: :math:`\beta \in [0, 1]`, the mixture's weight on the target (a number or a
            0-d array).
        from_logits: whether ``pred`` holds logits.
        log_target: whether ``target`` holds log-probabilities.
        axis: the class axis.
        {reduction}

    Returns:
        The reduced loss, or the per-sample loss (``pred``'s shape without ``axis``) for ``"none"``.

    Examples:
        >>> import numpy as np, losskit
        >>> p, y = np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]])
        >>> round(float(losskit.jensen_shannon(p, y)), 4)  # disjoint: log 2
        0.6931
    """
    xp, pred, target, axis = _class_inputs(pred, target, axis, log_target)
    q = _pred_distribution(pred, from_logits, axis, xp=xp)
    y = _target_distribution(target, log_target, axis, xp=xp)
    loss = _generalised_js(y, q, beta, axis, xp=xp)
    return reduce_loss(loss, reduction=reduction, weights=weights, xp=xp)


@register_loss(
    tasks=("multi-class", "distillation"),
    summary="Total variation distance: half the L1 distance between two class distributions.",
    class_axis="axis",
    options=(PRED_FROM_LOGITS, LOG_TARGET, CLASS_AXIS),
)
@computed_in_float32
def total_variation(
    pred: Array,
    target: Array,
    *,
    from_logits: bool = False,
    log_target: bool = False,
    axis: int = -1,
    reduction: Reduction = "mean",
    weights: Array | None = None,
) -> Array:
    r"""Total variation distance between the prediction :math:`p` and the target
    :math:`y` along the class axis.

    .. math:: \ell_i = \tfrac12 \sum_c \lvert p_{ic} - y_{ic} \rvert

    The largest difference of the probabilities the two give any set of classes: in
    [0, 1], symmetric, 1 for disjoint supports.  Its gradient has a constant size, so it
    keeps pulling where the KL's would vanish and never explodes where the KL's would.

    Args:
        pred: predicted probabilities, or logits with ``from_logits=True``; classes on ``axis``.
        target: target probabilities, or log-probabilities with ``log_target=True``; the
            same shape as ``pred``, each row a distribution along ``axis``.
        from_logits: whether ``pred`` holds logits.
        log_target: whether ``target`` holds log-probabilities.
        axis: the class axis.
        {reduction}

    Returns:
        The reduced loss, or the per-sample loss (``pred``'s shape without ``axis``) for ``"none"``.

    Examples:
        >>> import numpy as np, losskit
        >>> float(losskit.total_variation(np.array([[0.7, 0.3]]), np.array([[0.2, 0.8]])))
        0.5
    """
    xp, pred, target, axis = _class_inputs(pred, target, axis, log_target)
    d = _pred_distribution(pred, from_logits, axis, xp=xp).p
    d = d - _target_distribution(target, log_target, axis, xp=xp).p
    # |d| as max(d, -d): a tie splits the gradient, so the slope at 0 is 0 on every backend
    loss = 0.5 * xp.sum(xp.maximum(d, -d), axis=axis)
    return reduce_loss(loss, reduction=reduction, weights=weights, xp=xp)


@register_loss(
    tasks="distillation",
    summary="Knowledge distillation: the student's softened logits matched to the teacher's, times T^2.",
    class_axis="axis",
    options=(
        real(
            "temperature",
            (
                "T > 0 softens both distributions (logits / T); the loss is multiplied by T^2 so "
                "its gradients keep their size. 1 (default) is the plain divergence; 2 to 4 is "
                "usual for classifiers (Hinton et al.), 1 for language models."
            ),
            0.0,
            closed="neither",
        ),
        real(
            "beta",
            (
                "the divergence: 0 (default) is KL(teacher || student), Hinton's; 1 "
                "is KL(student || teacher), mode-seeking; in between the generalised "
                "Jensen-Shannon divergence (GKD)."
            ),
            0.0,
            1.0,
        ),
        IGNORE_INDEX,
        CLASS_AXIS,
    ),
)
@computed_in_float32
def distillation(
    pred: Array,
    target: Array | None,
    teacher: Array,
    *,
    temperature: float = 1.0,
    beta: float = 0.0,
    ignore_index: int | None = None,
    axis: int = -1,
    reduction: Reduction = "mean",
    weights: Array | None = None,
) -> Array:
    r"""Knowledge distillation (Hinton et al., 2015): the student's distribution at
    temperature :math:`T` matched to the teacher's, scaled by :math:`T^2`.

    .. math::
        \ell_i = T^2\, D_\beta\bigl(\operatorname{softmax}(t_i / T) \,\big\|\,
        \operatorname{softmax}(s_i / T)\bigr)

    :math:`s` are the student's logits (``pred``), :math:`t` the teacher's, and
    :math:`D_\beta` is :func:`jensen_shannon`'s divergence: KL(teacher || student) at
    :math:`\beta = 0` (default), KL(student || teacher) at 1.  The gradient of
    :math:`\mathrm{KL}` with respect to :math:`s` shrinks as :math:`1/T^2`; the factor
    :math:`T^2` keeps it comparable across temperatures and to the hard-label loss.

    ``target`` holds the hard labels, used here only to leave out positions equal to
    ``ignore_index`` (padding tokens): the mean is over the kept positions, and 0 when
    none is kept.  Mixing in the hard-label loss is a composite over the same arrays,
    since ``sparse_categorical_cross_entropy`` takes ``(pred, target)``, the first two::

        kd = losskit.combine(
            {"distillation": 0.9, "sparse_categorical_cross_entropy": 0.1},
            from_logits=True, ignore_index=-100,  # shared by the parts that have them
        )
        loss = kd(student_logits, labels, teacher_logits)  # distillation at temperature=1

    (``functools.partial(losskit.distillation, temperature=4.0)`` sets the temperature of
    that part alone.)  The teacher is differentiated like the student: detach it
    (``teacher.detach()``, ``jax.lax.stop_gradient``) unless both are trained.

    Args:
        pred: the student's logits, classes on ``axis``.
        target: integer labels, ``pred``'s shape without ``axis``, or None; only the
            positions equal to ``ignore_index`` are read.
        teacher: the teacher's logits, ``pred``'s shape.
        temperature: :math:`T > 0` (a number or a 0-d array).
        beta: :math:`\beta \in [0, 1]`, the divergence (a number or a 0-d array).
        ignore_index: a label value whose positions are left out (needs ``target``).
        axis: the class axis.
        {reduction}

    Returns:
        The reduced loss, or the per-position loss (``pred``'s shape without ``axis``)
        for ``"none"`` (0 at ignored positions).

    Examples:
        >>> import numpy as np, losskit
        >>> s, t = np.array([[2.0, 0.0, -1.0]]), np.array([[1.0, 0.5, -1.0]])
        >>> d = losskit.distillation(s, None, t, temperature=2.0)
        >>> bool(np.isclose(d, 4 * losskit.kl_divergence(s / 2, np.exp(t / 2) / np.exp(t / 2).sum(),
        ...     from_logits=True)))
        True
    """
    xp = (
        namespace(pred=pred, teacher=teacher)
        if target is None
        else namespace(pred=pred, target=target, teacher=teacher)
    )
    require_floating(pred, "pred", xp)
    require_floating(teacher, "teacher", xp)
    if pred.ndim == 0:
        raise LossInputError("pred must have a class axis; got a 0-d array")
    axis = check_normalized_axis(axis, pred.ndim)
    check_shape(teacher, tuple(pred.shape), "teacher", "pred's shape (one logit per class)")
    pred = autocast_to_float32(pred, xp)  # the teacher follows the student's dtype
    teacher = as_float(teacher, pred, "teacher", xp)
    keep = None
    if target is not None:
        require_integer(target, "target", xp)
        expected = tuple(s for i, s in enumerate(pred.shape) if i != axis)
        check_shape(
            target, expected, "target", f"pred's shape {tuple(pred.shape)} without axis {axis}"
        )
        if ignore_index is not None:
            keep = target != ignore_index
    elif ignore_index is not None:
        raise LossInputError(
            "target must hold the labels when ignore_index is given (the positions to leave "
            "out are those whose label is ignore_index); got None"
        )
    if not is_static_number(temperature):
        temperature = scalar_option(temperature, pred, "temperature", xp)
    if is_static_number(beta) and beta == 0:
        divergence = softened_kl(pred, teacher, temperature, axis, xp=xp)
    else:
        q = _from_log_probs(log_softmax(pred / temperature, axis=axis, xp=xp), xp=xp)
        p = _from_log_probs(log_softmax(teacher / temperature, axis=axis, xp=xp), xp=xp)
        divergence = _generalised_js(p, q, beta, axis, xp=xp)
    loss = temperature**2 * divergence
    norm = None
    if keep is not None:
        loss = xp.where(keep, loss, xp.zeros_like(loss))
        norm = xp.astype(keep, loss.dtype)
    return reduce_loss(loss, reduction=reduction, weights=weights, norm=norm, xp=xp)
