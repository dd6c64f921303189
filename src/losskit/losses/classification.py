"""Classification losses: binary, multi-label and multi-class; probabilities or logits.

Probability inputs go through :func:`~losskit.core.primitives.safe_log`, so a
probability of exactly 0 or 1 gives a large finite loss, never inf or NaN.  Logit
inputs go through log-sigmoid and log-softmax, which are exact for any finite logit.

Binary cross-entropy of logits and the per-position sparse cross-entropy and focal
loss are kernels (:mod:`losskit.core.kernels`) that a backend may compute faster.
"""

from __future__ import annotations

from typing import Any

from array_api_compat import device

from losskit.core.inputs import (
    class_inputs,
    class_vector,
    elementwise_inputs,
    label_inputs,
)
from losskit.core.kernels import kernel
from losskit.core.namespace import (
    as_array,
    computed_in_float32,
    constant,
    is_array,
    is_static_number,
    shape,
)
from losskit.core.options import array_option, choice, flag, real
from losskit.core.primitives import (
    gather_classes,
    log_sigmoid,
    log_softmax,
    logsumexp_parts,
    safe_log,
    sigmoid,
    softplus,
    weighted_log,
)
from losskit.core.reduction import Reduction, kernel_reduction, reduce_loss
from losskit.core.registry import register_loss
from losskit.core.validation import (
    check_broadcastable,
    check_nonnegative,
    check_probabilities,
    check_range,
    check_values,
)
from losskit.errors import LossInputError
from losskit.losses.shared_options import (
    CLASS_AXIS,
    CLASS_WEIGHTS,
    FOCAL_CLASS_ALPHA,
    FOCAL_GAMMA,
    FROM_LOGITS,
    IGNORE_INDEX,
    LABEL_SMOOTHING,
    POLY_EPSILON,
)

__all__ = [
    "asymmetric_focal",
    "binary_cross_entropy",
    "binary_focal",
    "categorical_cross_entropy",
    "categorical_focal",
    "generalized_cross_entropy",
    "hinge",
    "multiclass_hinge",
    "nll",
    "sparse_categorical_cross_entropy",
    "sparse_categorical_focal",
    "squared_hinge",
]

Array = Any


# ------------------------------------------------------------------ private kernels


def _binary_log_probs(pred: Array, from_logits: bool, *, xp: Any) -> tuple[Array, Array]:
    """(log p, log(1 - p)) for probabilities or logits."""
    if from_logits:
        # log(1 - sigmoid(x)) = log_sigmoid(-x)
        return log_sigmoid(pred, xp=xp), log_sigmoid(-pred, xp=xp)
    check_probabilities(pred, "pred", xp)
    return safe_log(pred, xp=xp), safe_log(1.0 - pred, xp=xp)


@kernel
def binary_cross_entropy_of_logits(
    x: Array, target: Array, weighted_target: Array | None, *, reduction: str, xp: Any
) -> Array:
    """-(w y log sigmoid(x) + (1 - y) log sigmoid(-x)); ``weighted_target`` is w y, or
    None for w = 1.  ``reduction``: see :mod:`losskit.core.kernels`.

    With -log sigmoid(+-x) = softplus(-+x) = max(-+x, 0) + softplus(-|x|) the loss is
    w y max(-x, 0) + (1 - y) max(x, 0) + (w y + 1 - y) softplus(-|x|): one exp and one
    log1p per element, and no large terms cancel, so a confident right answer keeps its
    tiny loss.  An infinite logit takes the loss's limit and the gradient's, sigmoid(x)
    (w y + 1 - y) - w y: inf where the side it points away from has weight, else 0 (not
    0 * inf = NaN).  The formula runs on x with its infinities replaced by 0 and one
    mask of x picks the limit; a mask per weighted term instead tripled the temporaries
    of XLA's compiled gradient (91.6 MiB against optax's 30.5 at 8M float32).
    """
    positive = target if weighted_target is None else weighted_target
    negative = 1.0 - target
    infinite = xp.isinf(x)  # NaN is not: it propagates through the formula
    zero = constant(0.0, x, xp)  # not 0.0: see softplus
    finite_x = xp.where(infinite, zero, x)
    # -|x| as min(x, -x): a tie splits the gradient, so its slope at 0 is 0 in every
    # backend (the slope of abs at 0 is +1 in JAX) and the gradient at 0 is exact.
    tail = softplus(xp.minimum(finite_x, -finite_x), xp=xp)
    loss = (
        positive * xp.maximum(-finite_x, zero)
        + negative * xp.maximum(finite_x, zero)
        + (positive + negative) * tail
    )
    # At x = +inf the negative term grows without bound, at -inf the positive one: its
    # weight times |x|, which is inf with the limit's slope (+weight or -weight), or an
    # exact 0 with a zero gradient where the weight is 0 (the where keeps 0 * inf out).
    unbounded = xp.where(x > 0, negative, positive)
    at_infinity = unbounded * xp.where(unbounded > 0, xp.abs(x), zero)
    return xp.where(infinite, at_infinity, loss)


def _class_log_probs(pred: Array, from_logits: bool, axis: int, *, xp: Any) -> Array:
    """log p over the class axis, for probabilities or logits."""
    if from_logits:
        return log_softmax(pred, axis=axis, xp=xp)
    check_probabilities(pred, "pred", xp)
    return safe_log(pred, xp=xp)


def _class_value(vector: Array, labels: Array, *, xp: Any) -> Array:
    """vector[labels]: the per-class option (class weight, alpha) of each label."""
    flat = xp.reshape(vector, (-1,))
    return xp.reshape(xp.take(flat, xp.reshape(labels, (-1,)), axis=0), shape(labels))


def _true_class_log_probs(
    pred: Array, labels: Array, from_logits: bool, axis: int, *, xp: Any
) -> tuple[Array, Any]:
    """log p of each label's class, and a function giving (1/C) sum_c w_c log p_c.

    For logits, log p_y = (x_y - m) - log s with logsumexp(x) = m + log s (kept apart:
    :func:`~losskit.core.primitives.logsumexp_parts`): the gathered logit minus the
    normaliser, so no log-softmax array of the predictions' size is built.
    """
    log_p_true, mean_log_p, _ = _true_class_log_probs_and_lse(
        pred, labels, from_logits, axis, xp=xp
    )
    return log_p_true, mean_log_p


def _true_class_log_probs_and_lse(
    pred: Array, labels: Array, from_logits: bool, axis: int, *, xp: Any
) -> tuple[Array, Any, Array | None]:
    """:func:`_true_class_log_probs` and the log-sum-exp of the logits (None for
    probabilities)."""
    num_classes = pred.shape[axis]
    lse = None
    if from_logits:
        m, log_s = logsumexp_parts(pred, axis=axis, xp=xp)
        lse = m + log_s
        log_p_true = (gather_classes(pred, labels, axis=axis, xp=xp) - m) - log_s

        def mean_log_p(w: Array | None) -> Array:
            shifted = pred - xp.expand_dims(m, axis=axis)
            if w is None:
                return xp.mean(shifted, axis=axis) - log_s
            return (xp.sum(w * shifted, axis=axis) - xp.sum(w) * log_s) / num_classes

    else:
        check_probabilities(pred, "pred", xp)
        log_p_true = safe_log(gather_classes(pred, labels, axis=axis, xp=xp), xp=xp)

        def mean_log_p(w: Array | None) -> Array:
            log_p = safe_log(pred, xp=xp)
            return xp.mean(log_p if w is None else w * log_p, axis=axis)

    return log_p_true, mean_log_p, lse


def _is_zero(option: Any) -> bool:
    """Whether an option is the number 0, known without reading an array: a traced or
    array-valued option takes the general path (which is exact at 0 too)."""
    return is_static_number(option) and option == 0


def _focal_modulator(one_minus_p: Array, gamma: float, *, xp: Any) -> Array:
    """(1 - p)^gamma.  The base is clipped at the smallest normal number so the
    gradient of x^gamma stays finite at x = 0 when gamma < 1; for a known gamma >= 1 it
    is finite unclipped, and the clip (a pass over the data) is left out."""
    if is_static_number(gamma) and gamma >= 1:
        return one_minus_p**gamma
    return xp.clip(one_minus_p, float(xp.finfo(one_minus_p.dtype).smallest_normal), None) ** gamma


def _check_targets_in_unit_interval(target: Array, xp: Any) -> None:
    """Targets in [0, 1]; also the NaN check that input preparation left here
    (``nan_check="range"``): one pass over the target."""
    check_range(
        target,
        0.0,
        1.0,
        "target must hold labels or probabilities in [0, 1]; found a value outside",
        xp,
        nan_message="target must not contain NaN",
    )


def _ignore_mask(target: Array, ignore_index: int | None, *, xp: Any) -> tuple[Array, Array | None]:
    """(labels with ignored entries replaced by 0, mask of kept entries or None)."""
    if ignore_index is None:
        return target, None
    keep = target != ignore_index
    return xp.where(keep, target, xp.zeros_like(target)), keep


@kernel
def sparse_cross_entropy(
    pred: Array,
    labels: Array,
    class_weights: Array | None,
    *,
    from_logits: bool,
    axis: int,
    label_smoothing: Any,
    poly_epsilon: Any,
    z_loss: Any = 0.0,
    softcap: Any = None,
    return_lse: bool = False,
    reduction: str,
    xp: Any,
) -> Array | tuple[Array, Array]:
    """-(1 - s) w_y log p_y - (s / C) sum_c w_c log p_c + epsilon w_y (1 - p_y)
    + z w_y lse^2 for each label y in [0, C) (w = 1 when ``class_weights`` is None;
    epsilon is the Poly-1 weight, z the z-loss weight, lse the log-sum-exp of the
    logits), the logits first soft-capped to c tanh(x / c) when ``softcap`` is c.
    ``return_lse``: returns (loss, lse), the loss unreduced.  ``reduction``: see
    :mod:`losskit.core.kernels`."""
    if softcap is not None:
        # Gemma 2's soft-capping: c tanh(x / c), near x for |x| << c, within (-c, c)
        pred = softcap * xp.tanh(pred / softcap)
    log_p_true, mean_log_p, lse = _true_class_log_probs_and_lse(
        pred, labels, from_logits, axis, xp=xp
    )
    loss = -log_p_true
    w_true = None if class_weights is None else _class_value(class_weights, labels, xp=xp)
    if w_true is not None:
        loss = w_true * loss
    if not _is_zero(label_smoothing):
        # the uniform part of the smoothed target: -(1/C) sum_c w_c log p_c
        uniform = -mean_log_p(class_weights)
        loss = (1.0 - label_smoothing) * loss + label_smoothing * uniform
    if not _is_zero(poly_epsilon):
        # the Poly-1 term w_y (1 - p_y), 1 - p_y = -expm1(log p_y): exact near p_y = 1
        poly = -xp.expm1(log_p_true)
        loss = loss + poly_epsilon * (poly if w_true is None else w_true * poly)
    if lse is not None and not _is_zero(z_loss):
        # PaLM's z-loss z lse^2, which keeps the softmax normaliser near 1
        z_term = z_loss * lse * lse
        loss = loss + (z_term if w_true is None else w_true * z_term)
    return (loss, lse) if return_lse else loss


@kernel
def sparse_focal(
    pred: Array,
    labels: Array,
    alpha: Array | None,
    *,
    gamma: Any,
    from_logits: bool,
    axis: int,
    poly_epsilon: Any,
    reduction: str,
    xp: Any,
) -> Array:
    """-a_y (1 - p_y)^gamma log p_y + epsilon a_y (1 - p_y)^(gamma + 1) for each label y in
    [0, C) (a = 1 when ``alpha`` is None; epsilon is the Poly-1 weight).  ``reduction``:
    see :mod:`losskit.core.kernels`."""
    log_p_true, _ = _true_class_log_probs(pred, labels, from_logits, axis, xp=xp)
    p_true = xp.exp(log_p_true) if from_logits else gather_classes(pred, labels, axis=axis, xp=xp)
    modulator = _focal_modulator(1.0 - p_true, gamma, xp=xp)
    loss = -modulator * log_p_true
    if not _is_zero(poly_epsilon):
        loss = loss + poly_epsilon * (1.0 - p_true) * modulator  # (1 - p_y)^(gamma + 1)
    if alpha is not None:
        loss = _class_value(alpha, labels, xp=xp) * loss
    return loss


def _negative_log_likelihood(
    pred: Array, labels: Array, class_weights: Array | None, *, axis: int, reduction: str, xp: Any
) -> Array:
    """-w_y log p_y for each label y in [0, C), with ``pred`` holding log p (w = 1 when
    ``class_weights`` is None); ``reduction`` is ignored (the unreduced loss)."""
    loss = -gather_classes(pred, labels, axis=axis, xp=xp)
    if class_weights is not None:
        loss = _class_value(class_weights, labels, xp=xp) * loss
    return loss


def _generalized_cross_entropy(
    pred: Array, labels: Array, *, q: Any, from_logits: bool, axis: int, reduction: str, xp: Any
) -> Array:
    """(1 - p_y^q) / q for each label y in [0, C); ``reduction`` is ignored (the
    unreduced loss)."""
    log_p_true, _ = _true_class_log_probs(pred, labels, from_logits, axis, xp=xp)
    # (1 - p^q) / q = -expm1(q log p) / q: no cancellation when p^q is near 1
    return -xp.expm1(q * log_p_true) / q


def _label_loss(
    label_kernel: Any,
    pred: Array,
    target: Array,
    *,
    ignore_index: int | None,
    mean_weights: Array | None,
    reduction: str,
    weights: Array | None,
    xp: Any,
    **options: Any,
) -> Array:
    """The loss of each label of ``target`` by ``label_kernel`` (a kernel or per-label
    function above, given the labels and ``options``), 0 where the label is
    ``ignore_index``, reduced.  ``"mean"`` divides by the ``mean_weights`` (per class;
    None: 1 each) of the labels not ignored."""
    labels, keep = _ignore_mask(target, ignore_index, xp=xp)
    norm = None if mean_weights is None else _class_value(mean_weights, labels, xp=xp)
    if keep is not None:
        keep_f = xp.astype(keep, pred.dtype)
        norm = keep_f if norm is None else norm * keep_f
    fused = kernel_reduction(reduction, weights, norm)
    out = label_kernel(pred, labels, reduction=fused, xp=xp, **options)
    # a kernel asked for its log-sum-exp returns (loss, lse), the loss unreduced
    loss, extra = (out[0], out[1:]) if isinstance(out, tuple) else (out, ())
    if keep is not None:
        loss = xp.where(keep, loss, constant(0.0, loss, xp))
    reduced = reduce_loss(loss, reduction=reduction, weights=weights, norm=norm, xp=xp)
    return (reduced, *extra) if extra else reduced


# ------------------------------------------------------------------------ binary


@register_loss(
    tasks=("binary", "multi-label", "segmentation"),  # per pixel, alone or beside Dice
    summary="Binary cross-entropy for binary and multi-label targets, from probabilities or logits.",
    options=(
        FROM_LOGITS,
        array_option(
            "pos_weight",
            (
                "weight of the positive term, >= 0, a number or one value per label; set it to "
                "negatives / positives (50 for a 1:50 imbalance) to balance rare positives. Default "
                "None (1)."
            ),
        ),
        LABEL_SMOOTHING,
        IGNORE_INDEX,
    ),
)
def binary_cross_entropy(
    pred: Array,
    target: Array,
    *,
    from_logits: bool = False,
    pos_weight: Array | float | None = None,
    label_smoothing: float = 0.0,
    ignore_index: int | None = None,
    reduction: Reduction = "mean",
    weights: Array | None = None,
) -> Array:
    r"""Binary cross-entropy, element by element (binary and multi-label).

    .. math::
        \ell_i = -\bigl(w_+\, \tilde y_i \log p_i + (1 - \tilde y_i)\log(1 - p_i)\bigr),
        \qquad \tilde y_i = (1 - s)\,y_i + s/2

    with :math:`p = \sigma(\hat y)` for logits (computed through softplus, exact for any
    logit), :math:`w_+` the ``pos_weight`` and :math:`s` the ``label_smoothing``.

    Args:
        pred: probabilities in [0, 1], or logits with ``from_logits=True``; any shape.
        target: labels or probabilities in [0, 1], the same shape as ``pred``.
        from_logits: whether ``pred`` holds logits.
        pos_weight: weight :math:`w_+ \ge 0` of the positive term, a number or an array
            broadcastable to ``pred`` (one per label in the multi-label case).  Use the
            ratio negatives / positives to balance rare positives.
        label_smoothing: :math:`s \in [0, 1)`; targets move towards 1/2.
        ignore_index: a target value (such as -100, outside [0, 1]) whose elements are
            left out: they contribute 0 to ``"none"`` and ``"sum"``, and ``"mean"``
            divides by the number of the others (0 when every target is ignored).
            Unknown labels of a multi-label target, for instance.
        {reduction}

    Returns:
        The reduced loss, or the per-element loss of ``pred``'s shape for ``"none"``.

    Examples:
        >>> import numpy as np, losskit
        >>> round(float(losskit.binary_cross_entropy(np.array([0.0]), np.array([1.0]), from_logits=True)), 4)
        0.6931
        >>> float(losskit.binary_cross_entropy(np.array([0.5, 0.9]), np.array([1.0, -100.0]),
        ...     ignore_index=-100)) == float(np.log(2.0))
        True
    """
    xp, pred, target = elementwise_inputs(pred, target, nan_check="range")
    # ignored targets become 0 (a NaN stays, for the range check), their loss is set to 0
    # below and the mean divides by the number of the others
    target, keep = _ignore_mask(target, ignore_index, xp=xp)
    norm = None if keep is None else xp.astype(keep, pred.dtype)
    _check_targets_in_unit_interval(target, xp)
    if not from_logits:
        check_probabilities(pred, "pred", xp)
    if not _is_zero(label_smoothing):
        target = target * (1.0 - label_smoothing) + 0.5 * label_smoothing
    positive = target
    if pos_weight is not None:
        w = as_array(pos_weight, pred, "pos_weight", xp)
        check_broadcastable(w, tuple(pred.shape), "pos_weight", "pred's shape")
        check_nonnegative(w, "pos_weight", xp, finite=True)  # inf * a target of 0 is NaN
        positive = w * target
    if from_logits:
        weighted_target = None if pos_weight is None else positive
        fused = kernel_reduction(reduction, weights, norm)
        loss = binary_cross_entropy_of_logits(pred, target, weighted_target, reduction=fused, xp=xp)
    else:
        loss = -(positive * safe_log(pred, xp=xp) + (1.0 - target) * safe_log(1.0 - pred, xp=xp))
    if keep is not None:
        loss = xp.where(keep, loss, constant(0.0, loss, xp))
    return reduce_loss(loss, reduction=reduction, weights=weights, norm=norm, xp=xp)


@register_loss(
    tasks=("binary", "multi-label", "detection"),  # RetinaNet's classification loss
    summary="Binary focal loss: cross-entropy scaled down on easy, well-classified examples.",
    options=(
        FOCAL_GAMMA,
        real(
            "alpha",
            (
                "weight of the positive class in [0, 1] (negatives get 1 - alpha), or None (default) "
                "for no weighting. Lin et al. used 0.25 with gamma = 2; the inverse-frequency value "
                "negatives / total is the other common start."
            ),
            0.0,
            1.0,
            optional=True,
        ),
        FROM_LOGITS,
    ),
)
@computed_in_float32
def binary_focal(
    pred: Array,
    target: Array,
    *,
    gamma: float = 2.0,
    alpha: float | None = None,
    from_logits: bool = False,
    reduction: Reduction = "mean",
    weights: Array | None = None,
) -> Array:
    r"""Binary focal loss (Lin et al., 2017), element by element.

    .. math::
        \ell_i = \alpha_t\,(1 - p_t)^\gamma\,\mathrm{BCE}(p_i, y_i),\qquad
        p_t = y\,p + (1 - y)(1 - p),\qquad \alpha_t = y\,\alpha + (1 - y)(1 - \alpha)

    For hard labels this is :math:`-\alpha_t (1-p_t)^\gamma \log p_t`.  Soft labels enter
    :math:`p_t` and :math:`\alpha_t` linearly, as in torchvision and optax.
    ``alpha`` weights the positive class (``alpha=0.25`` is the paper's setting);
    ``alpha=None`` weights both classes by 1.  It multiplies the loss; it is not a
    normaliser of the mean.

    Args:
        pred: probabilities in [0, 1], or logits with ``from_logits=True``; any shape.
        target: labels or probabilities in [0, 1], the same shape as ``pred``.
        gamma: focusing parameter :math:`\gamma \ge 0`; 0 gives (alpha-weighted) BCE.
        alpha: weight of the positive class in [0, 1], or None.
        from_logits: whether ``pred`` holds logits.
        {reduction}

    Returns:
        The reduced loss, or the per-element loss of ``pred``'s shape for ``"none"``.

    Examples:
        >>> import numpy as np, losskit
        >>> round(float(losskit.binary_focal(np.array([0.0]), np.array([1.0]), from_logits=True)), 4)
        0.1733
    """
    xp, pred, target = elementwise_inputs(pred, target, nan_check="range")
    _check_targets_in_unit_interval(target, xp)
    log_p, log_not_p = _binary_log_probs(pred, from_logits, xp=xp)
    cross_entropy = -(
        weighted_log(target, log_p, xp=xp) + weighted_log(1.0 - target, log_not_p, xp=xp)
    )
    # 1 - p_t = y (1 - p) + (1 - y) p, from the log-probabilities: no cancellation.
    one_minus_pt = target * xp.exp(log_not_p) + (1.0 - target) * xp.exp(log_p)
    loss = _focal_modulator(one_minus_pt, gamma, xp=xp) * cross_entropy
    if alpha is not None:
        loss = (alpha * target + (1.0 - alpha) * (1.0 - target)) * loss
    return reduce_loss(loss, reduction=reduction, weights=weights, xp=xp)


# ------------------------------------------------------------------- multi-class


@register_loss(
    tasks=("multi-class", "segmentation"),
    summary="Categorical cross-entropy with one-hot or probability targets.",
    class_axis="axis",
    options=(
        FROM_LOGITS,
        CLASS_AXIS,
        CLASS_WEIGHTS,
        LABEL_SMOOTHING,
        POLY_EPSILON,
    ),
)
def categorical_cross_entropy(
    pred: Array,
    target: Array,
    *,
    from_logits: bool = False,
    axis: int = -1,
    class_weights: Array | None = None,
    label_smoothing: float = 0.0,
    poly_epsilon: float = 0.0,
    reduction: Reduction = "mean",
    weights: Array | None = None,
) -> Array:
    r"""Categorical cross-entropy against one-hot or probability targets.

    .. math::
        \ell_i = -\sum_c w_c\, \tilde y_{ic} \log p_{ic},\qquad
        \tilde y_{ic} = (1 - s)\,y_{ic} + s / C

    with :math:`p = \operatorname{softmax}(\hat y)` along ``axis`` for logits (computed
    as log-softmax), :math:`w_c` the class weights (1 by default) and :math:`s` the
    label smoothing.  With class weights, ``"mean"`` divides by
    :math:`\sum_i \sum_c w_c y_{ic}` (the weight of each sample's true class for one-hot
    targets), so one-hot targets give exactly the result of
    :func:`sparse_categorical_cross_entropy` and of PyTorch's ``cross_entropy`` with the
    integer labels (given the one-hot targets themselves, PyTorch divides by the count).

    Args:
        pred: probabilities (summing to 1 along ``axis``), or logits with
            ``from_logits=True``; shape ``[..., C, ...]``.
        target: one-hot labels or class probabilities, the same shape as ``pred``.
        from_logits: whether ``pred`` holds logits.
        axis: the class axis.
        class_weights: optional non-negative weight per class, length C.
        label_smoothing: :math:`s \in [0, 1)`.
        poly_epsilon: :math:`\epsilon \ge -1`, the weight of the Poly-1 term
            :math:`\epsilon \sum_c w_c y_{ic} (1 - p_{ic})` added to :math:`\ell_i` (Leng et
            al., 2022), with the targets before smoothing: without class weights or
            smoothing, optax's ``poly_loss_cross_entropy``.  For targets that sum to 1
            the term is :math:`\epsilon (1 - p_t)`, :math:`p_t = \sum_c y_{ic} p_{ic}`.
        {reduction}

    Returns:
        The reduced loss, or the per-sample loss (``pred``'s shape without ``axis``) for ``"none"``.

    Examples:
        >>> import numpy as np, losskit
        >>> round(float(losskit.categorical_cross_entropy(np.array([[0.5, 0.5]]), np.array([[1.0, 0.0]]))), 4)
        0.6931
    """
    xp, pred, target, axis = class_inputs(pred, target, axis, nan_check="range")
    _check_targets_in_unit_interval(target, xp)
    smoothed = target
    if not _is_zero(label_smoothing):
        smoothed = target * (1.0 - label_smoothing) + label_smoothing / pred.shape[axis]
    norm = None
    if class_weights is not None:
        w = class_vector(class_weights, "class_weights", pred, axis, xp)
        smoothed = w * smoothed
        norm = xp.sum(w * target, axis=axis)
    if from_logits:
        # -sum_c q_c log_softmax(x)_c = sum_c q_c (log s - (x_c - m)): no log-softmax
        # array is built, and m stays apart from log s (logsumexp_parts).  q_c (x_c - m)
        # is a target-weighted log: 0 for q_c = 0 even at x_c = -inf.
        m, log_s = logsumexp_parts(pred, axis=axis, keepdims=True, xp=xp)
        loss = xp.squeeze(log_s, axis=axis) * xp.sum(smoothed, axis=axis) - xp.sum(
            weighted_log(smoothed, pred - m, xp=xp), axis=axis
        )
    else:
        check_probabilities(pred, "pred", xp)
        loss = -xp.sum(smoothed * safe_log(pred, xp=xp), axis=axis)
    if not _is_zero(poly_epsilon):
        # sum_c w_c y_c (1 - p_c), with 1 - p = -expm1(log p) from the logits
        one_minus_p = -xp.expm1(log_softmax(pred, axis=axis, xp=xp)) if from_logits else 1.0 - pred
        w_target = target if class_weights is None else w * target
        loss = loss + poly_epsilon * xp.sum(w_target * one_minus_p, axis=axis)
    return reduce_loss(loss, reduction=reduction, weights=weights, norm=norm, xp=xp)


Z_LOSS = real(
    "z_loss",
    (
        "weight z >= 0 of PaLM's z-loss, z lse^2 per token, which keeps the softmax's "
        "log-normaliser lse near 0 (PaLM used 1e-4); default 0. Logits only."
    ),
    0.0,
)

SOFTCAP = real(
    "softcap",
    (
        "c > 0: the logits are soft-capped to c tanh(x / c) before the softmax (Gemma 2 "
        "capped its final logits at 30); None (default) leaves them. Logits only."
    ),
    0.0,
    closed="neither",
    optional=True,
)

RETURN_LSE = flag(
    "return_lse",
    (
        "True: return (loss, lse), lse the log-sum-exp of the (soft-capped) logits at "
        "every position, unreduced, to log or to reuse; default False. Logits only."
    ),
)


def _logit_options_need_logits(values: Any) -> None:
    """z_loss, softcap and return_lse are about logits: refused for probabilities."""
    if values["from_logits"]:
        return
    used = [
        name
        for name, on in (
            ("z_loss", not _is_zero(values["z_loss"])),
            ("softcap", values["softcap"] is not None),
            ("return_lse", values["return_lse"] is True),
        )
        if on
    ]
    if used:
        raise LossInputError(
            f"{', '.join(used)} act on logits: pass from_logits=True (probabilities have "
            "no log-sum-exp to penalise, cap or return)"
        )


def _scalar_option(value: Any, like: Array, name: str, xp: Any) -> Any:
    """A float option as it enters the arithmetic: a Python float for a number, a 0-d
    array in ``like``'s dtype and on its device for an array (never promoting ``like``)."""
    if value is None or is_static_number(value):
        return value if value is None else float(value)
    if is_array(value) and value.ndim != 0:
        raise LossInputError(
            f"{name} must be a number or a 0-d array; got shape {tuple(value.shape)}"
        )
    return as_array(value, like, name, xp)


@register_loss(
    tasks=("multi-class", "segmentation"),  # per pixel, alone or beside Dice
    summary="Categorical cross-entropy with integer class labels (no one-hot needed).",
    class_axis="axis",
    options=(
        FROM_LOGITS,
        CLASS_AXIS,
        CLASS_WEIGHTS,
        IGNORE_INDEX,
        LABEL_SMOOTHING,
        POLY_EPSILON,
        Z_LOSS,
        SOFTCAP,
        RETURN_LSE,
    ),
    constraints=(_logit_options_need_logits,),
)
def sparse_categorical_cross_entropy(
    pred: Array,
    target: Array,
    *,
    from_logits: bool = False,
    axis: int = -1,
    class_weights: Array | None = None,
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
    poly_epsilon: float = 0.0,
    z_loss: float = 0.0,
    softcap: float | None = None,
    return_lse: bool = False,
    reduction: Reduction = "mean",
    weights: Array | None = None,
) -> Array:
    r"""Cross-entropy against integer class labels.

    .. math::
        \ell_i = -(1 - s)\, w_{y_i} \log p_{i y_i} - \frac{s}{C}\sum_c w_c \log p_{ic}

    with :math:`p = \operatorname{softmax}(\hat y)` along ``axis`` for logits,
    :math:`w_c` the class weights (1 by default) and :math:`s` the label smoothing.
    ``"mean"`` divides by :math:`\sum_i w_{y_i}` over the targets that are not ignored,
    as PyTorch's ``cross_entropy`` does; when every target is ignored the mean is 0,
    not NaN.  Ignored positions contribute 0 to ``"none"`` and ``"sum"``.

    Language-model options (logits only), as
    :func:`losskit.torch.linear_cross_entropy.linear_cross_entropy` has them: ``softcap``
    :math:`c` replaces the logits by :math:`c \tanh(\hat y / c)` first (Gemma 2), and
    ``z_loss`` :math:`z` adds :math:`z\, w_{y_i} \lambda_i^2` to :math:`\ell_i`, with
    :math:`\lambda_i = \log \sum_c e^{\hat y_{ic}}` (PaLM's auxiliary loss; the class
    weight as for the rest of the token's loss, so the mean stays a weighted mean of whole
    token losses).  Ignored positions get no z-loss either.  ``return_lse=True`` returns
    ``(loss, lse)``: :math:`\lambda` at every position (ignored ones included),
    ``target``'s shape, differentiable.

    Args:
        pred: probabilities or logits (``from_logits=True``) with the classes on ``axis``.
        target: integer labels in [0, C), ``pred``'s shape without ``axis``.
        from_logits: whether ``pred`` holds logits.
        axis: the class axis of ``pred``.
        class_weights: optional non-negative weight per class, length C.
        ignore_index: a label value whose positions are left out of the loss.
        label_smoothing: :math:`s \in [0, 1)`.
        poly_epsilon: :math:`\epsilon \ge -1`, the weight of the Poly-1 term
            :math:`\epsilon\, w_{y_i} (1 - p_{i y_i})` added to :math:`\ell_i` (Leng et
            al., 2022; optax's ``poly_loss_cross_entropy`` without class weights or
            smoothing).
        z_loss: :math:`z \ge 0`, the z-loss weight (number or 0-d array, traceable).
        softcap: :math:`c > 0` or None (number or 0-d array, traceable).
        return_lse: also return the log-sum-exp :math:`\lambda`.
        {reduction}

    Returns:
        The reduced loss, or the per-sample loss (``target``'s shape) for ``"none"``;
        with ``return_lse=True`` the pair ``(loss, lse)``.

    Examples:
        >>> import numpy as np, losskit
        >>> logits = np.array([[2.0, 0.0], [0.0, 0.0]])
        >>> round(float(losskit.sparse_categorical_cross_entropy(logits, np.array([0, -1]),
        ...     from_logits=True, ignore_index=-1)), 4)
        0.1269
        >>> loss, lse = losskit.sparse_categorical_cross_entropy(logits, np.array([0, 1]),
        ...     from_logits=True, z_loss=1e-4, softcap=30.0, return_lse=True)
        >>> lse.round(4).tolist()
        [2.1243, 0.6931]
    """
    xp, pred, target, axis = label_inputs(pred, target, axis, ignore_index)
    z_loss = _scalar_option(z_loss, pred, "z_loss", xp)
    softcap = _scalar_option(softcap, pred, "softcap", xp)
    w = (
        None
        if class_weights is None
        else class_vector(class_weights, "class_weights", pred, axis, xp)
    )
    return _label_loss(
        sparse_cross_entropy,
        pred,
        target,
        ignore_index=ignore_index,
        mean_weights=w,  # "mean" divides by the class weights of the labels
        reduction=reduction,
        weights=weights,
        xp=xp,
        class_weights=w,
        from_logits=from_logits,
        axis=axis,
        label_smoothing=label_smoothing,
        poly_epsilon=poly_epsilon,
        z_loss=z_loss,
        softcap=softcap,
        return_lse=return_lse,
    )


@register_loss(
    tasks="multi-class",
    summary="Multi-class focal loss with one-hot or probability targets.",
    class_axis="axis",
    options=(
        FOCAL_GAMMA,
        FOCAL_CLASS_ALPHA,
        FROM_LOGITS,
        CLASS_AXIS,
        POLY_EPSILON,
    ),
)
@computed_in_float32
def categorical_focal(
    pred: Array,
    target: Array,
    *,
    gamma: float = 2.0,
    alpha: Array | None = None,
    from_logits: bool = False,
    axis: int = -1,
    poly_epsilon: float = 0.0,
    reduction: Reduction = "mean",
    weights: Array | None = None,
) -> Array:
    r"""Multi-class focal loss against one-hot or probability targets.

    .. math:: \ell_i = -\sum_c \alpha_c\, y_{ic}\, (1 - p_{ic})^\gamma \log p_{ic}

    ``alpha`` is a per-class vector (None means all ones).  It multiplies the loss; it
    is not a normaliser of the mean.

    Args:
        pred: probabilities, or logits with ``from_logits=True``; classes on ``axis``.
        target: one-hot labels or class probabilities, the same shape as ``pred``.
        gamma: focusing parameter :math:`\gamma \ge 0`; 0 gives cross-entropy.
        alpha: optional non-negative weight per class, length C.
        from_logits: whether ``pred`` holds logits.
        axis: the class axis.
        poly_epsilon: :math:`\epsilon \ge -1`, the weight of the Poly-1 term
            :math:`\epsilon \sum_c \alpha_c y_{ic} (1 - p_{ic})^{\gamma + 1}` added to
            :math:`\ell_i` (Leng et al., 2022).
        {reduction}

    Returns:
        The reduced loss, or the per-sample loss (``pred``'s shape without ``axis``) for ``"none"``.

    Examples:
        >>> import numpy as np, losskit
        >>> round(float(losskit.categorical_focal(np.array([[0.5, 0.5]]), np.array([[1.0, 0.0]]))), 4)
        0.1733
    """
    xp, pred, target, axis = class_inputs(pred, target, axis, nan_check="range")
    _check_targets_in_unit_interval(target, xp)
    log_p = _class_log_probs(pred, from_logits, axis, xp=xp)
    p = xp.exp(log_p) if from_logits else pred
    modulator = _focal_modulator(1.0 - p, gamma, xp=xp)
    terms = modulator * weighted_log(target, log_p, xp=xp)
    if not _is_zero(poly_epsilon):
        # the Poly-1 term y (1 - p)^(gamma + 1), subtracted as terms are negated below
        terms = terms - poly_epsilon * target * (1.0 - p) * modulator
    if alpha is not None:
        terms = class_vector(alpha, "alpha", pred, axis, xp) * terms
    loss = -xp.sum(terms, axis=axis)
    return reduce_loss(loss, reduction=reduction, weights=weights, xp=xp)


@register_loss(
    tasks="multi-class",
    summary="Multi-class focal loss with integer class labels.",
    class_axis="axis",
    options=(
        FOCAL_GAMMA,
        FOCAL_CLASS_ALPHA,
        FROM_LOGITS,
        CLASS_AXIS,
        IGNORE_INDEX,
        POLY_EPSILON,
    ),
)
def sparse_categorical_focal(
    pred: Array,
    target: Array,
    *,
    gamma: float = 2.0,
    alpha: Array | None = None,
    from_logits: bool = False,
    axis: int = -1,
    ignore_index: int | None = None,
    poly_epsilon: float = 0.0,
    reduction: Reduction = "mean",
    weights: Array | None = None,
) -> Array:
    r"""Multi-class focal loss against integer class labels.

    .. math:: \ell_i = -\alpha_{y_i}\, (1 - p_{i y_i})^\gamma \log p_{i y_i}

    ``alpha`` is a per-class vector (None means all ones); it multiplies the loss and
    is not a normaliser of the mean.  ``"mean"`` averages over targets that are not
    ignored, and is 0 when every target is ignored.

    Args:
        pred: probabilities, or logits with ``from_logits=True``; classes on ``axis``.
        target: integer labels in [0, C), ``pred``'s shape without ``axis``.
        gamma: focusing parameter :math:`\gamma \ge 0`; 0 gives cross-entropy.
        alpha: optional non-negative weight per class, length C.
        from_logits: whether ``pred`` holds logits.
        axis: the class axis of ``pred``.
        ignore_index: a label value whose positions are left out of the loss.
        poly_epsilon: :math:`\epsilon \ge -1`, the weight of the Poly-1 term
            :math:`\epsilon\, \alpha_{y_i} (1 - p_{i y_i})^{\gamma + 1}` added to
            :math:`\ell_i` (Leng et al., 2022).
        {reduction}

    Returns:
        The reduced loss, or the per-sample loss (``target``'s shape) for ``"none"``.

    Examples:
        >>> import numpy as np, losskit
        >>> round(float(losskit.sparse_categorical_focal(np.array([[0.5, 0.5]]), np.array([0]))), 4)
        0.1733
    """
    xp, pred, target, axis = label_inputs(pred, target, axis, ignore_index)
    a = None if alpha is None else class_vector(alpha, "alpha", pred, axis, xp)
    return _label_loss(
        sparse_focal,
        pred,
        target,
        ignore_index=ignore_index,
        mean_weights=None,  # alpha weighs the loss, not the mean
        reduction=reduction,
        weights=weights,
        xp=xp,
        alpha=a,
        gamma=gamma,
        from_logits=from_logits,
        axis=axis,
        poly_epsilon=poly_epsilon,
    )


def _check_sign_labels(target: Array, xp: Any) -> None:
    check_values(
        target,
        lambda t: xp.any((t != 1) & (t != -1)),
        "target must hold labels -1 or 1; for 0/1 labels pass 2 * target - 1",
    )


@register_loss(
    tasks="binary",
    summary="Hinge loss for -1/+1 labels and real-valued scores (SVM margin loss).",
)
def hinge(
    pred: Array, target: Array, *, reduction: Reduction = "mean", weights: Array | None = None
) -> Array:
    r"""Hinge loss.

    .. math:: \ell_i = \max(0,\ 1 - y_i\,\hat y_i),\qquad y_i \in \{-1, 1\}

    Args:
        pred: real-valued scores (not probabilities), any shape.
        target: labels -1 or 1, the same shape as ``pred``.
        {reduction}

    Returns:
        The reduced loss, or the per-element loss of ``pred``'s shape for ``"none"``.

    Examples:
        >>> import numpy as np, losskit
        >>> float(losskit.hinge(np.array([0.5, 2.0]), np.array([1.0, -1.0])))
        1.75
    """
    xp, pred, target = elementwise_inputs(pred, target)
    _check_sign_labels(target, xp)
    loss = xp.maximum(1.0 - target * pred, constant(0.0, pred, xp))  # not 0.0: see softplus
    return reduce_loss(loss, reduction=reduction, weights=weights, xp=xp)


@register_loss(
    tasks="binary",
    summary="Squared hinge loss for -1/+1 labels: a smooth, stronger-penalty hinge.",
)
def squared_hinge(
    pred: Array, target: Array, *, reduction: Reduction = "mean", weights: Array | None = None
) -> Array:
    r"""Squared hinge loss.

    .. math:: \ell_i = \max(0,\ 1 - y_i\,\hat y_i)^2,\qquad y_i \in \{-1, 1\}

    Args:
        pred: real-valued scores (not probabilities), any shape.
        target: labels -1 or 1, the same shape as ``pred``.
        {reduction}

    Returns:
        The reduced loss, or the per-element loss of ``pred``'s shape for ``"none"``.

    Examples:
        >>> import numpy as np, losskit
        >>> float(losskit.squared_hinge(np.array([0.5, 2.0]), np.array([1.0, -1.0])))
        4.625
    """
    xp, pred, target = elementwise_inputs(pred, target)
    _check_sign_labels(target, xp)
    loss = xp.maximum(1.0 - target * pred, constant(0.0, pred, xp)) ** 2
    return reduce_loss(loss, reduction=reduction, weights=weights, xp=xp)


@register_loss(
    tasks=("multi-class", "segmentation"),
    summary="Negative log-likelihood of integer labels given log-probabilities (PyTorch's NLLLoss).",
    class_axis="axis",
    options=(
        CLASS_AXIS,
        CLASS_WEIGHTS,
        IGNORE_INDEX,
    ),
)
def nll(
    pred: Array,
    target: Array,
    *,
    axis: int = -1,
    class_weights: Array | None = None,
    ignore_index: int | None = None,
    reduction: Reduction = "mean",
    weights: Array | None = None,
) -> Array:
    r"""Negative log-likelihood of integer labels, given log-probabilities.

    .. math:: \ell_i = -w_{y_i}\, \log p_{i y_i}

    ``pred`` already holds :math:`\log p` (a log-softmax output, or the log-likelihood of
    any model): nothing is normalised here, as in PyTorch's ``NLLLoss``.  ``"mean"``
    divides by :math:`\sum_i w_{y_i}` over the targets that are not ignored, as PyTorch
    does; when every target is ignored the mean is 0, not NaN.  Ignored positions
    contribute 0 to ``"none"`` and ``"sum"``.  On log-softmax outputs it equals
    :func:`sparse_categorical_cross_entropy` with ``from_logits=True`` on the logits.

    Args:
        pred: log-probabilities (:math:`\le 0`, checked) with the classes on ``axis``.
        target: integer labels in [0, C), ``pred``'s shape without ``axis``.
        axis: the class axis of ``pred`` (PyTorch's ``NLLLoss`` reads dim 1, as the
            PyTorch module does).
        class_weights: optional non-negative weight per class, length C.
        ignore_index: a label value whose positions are left out of the loss.
        {reduction}

    Returns:
        The reduced loss, or the per-sample loss (``target``'s shape) for ``"none"``.

    Examples:
        >>> import numpy as np, losskit
        >>> log_p = np.log(np.array([[0.5, 0.5], [0.25, 0.75]]))
        >>> round(float(losskit.nll(log_p, np.array([0, -100]), ignore_index=-100)), 4)
        0.6931
    """
    xp, pred, target, axis = label_inputs(pred, target, axis, ignore_index)
    check_values(
        pred,
        lambda p: xp.any(p > 0),
        "pred must hold log-probabilities (<= 0); found a positive value. For probabilities "
        "or logits use sparse_categorical_cross_entropy",
    )
    w = (
        None
        if class_weights is None
        else class_vector(class_weights, "class_weights", pred, axis, xp)
    )
    return _label_loss(
        _negative_log_likelihood,
        pred,
        target,
        ignore_index=ignore_index,
        mean_weights=w,  # "mean" divides by the class weights of the labels, as PyTorch
        reduction=reduction,
        weights=weights,
        xp=xp,
        class_weights=w,
        axis=axis,
    )


@register_loss(
    tasks="multi-class",
    summary="Multi-class hinge (SVM) loss on class scores: Crammer-Singer or Weston-Watkins.",
    class_axis="axis",
    options=(
        real(
            "margin",
            (
                "the score gap, >= 0, by which the true class must beat every other class. "
                "Default 1.0 (every peer's)."
            ),
            0.0,
        ),
        choice(
            "form",
            ("crammer_singer", "weston_watkins"),
            (
                "'crammer_singer' (default): the worst violating class only, as optax's "
                "multiclass_hinge_loss and Keras's CategoricalHinge; 'weston_watkins': the "
                "violations of every class summed and divided by C, as PyTorch's "
                "MultiMarginLoss."
            ),
        ),
        flag(
            "squared",
            "square each violation (PyTorch's p=2): smooth at the margin, harsher far from it.",
        ),
        CLASS_AXIS,
    ),
)
def multiclass_hinge(
    pred: Array,
    target: Array,
    *,
    margin: float = 1.0,
    form: str = "crammer_singer",
    squared: bool = False,
    axis: int = -1,
    reduction: Reduction = "mean",
    weights: Array | None = None,
) -> Array:
    r"""Multi-class hinge loss on real-valued class scores and integer labels.

    .. math::
        h_{ic} = \max(0,\ m + s_{ic} - s_{i y_i})^{k},\qquad
        \ell_i = \max_{c \ne y_i} h_{ic}\ \text{(Crammer-Singer)}\quad\text{or}\quad
        \ell_i = \frac{1}{C}\sum_{c \ne y_i} h_{ic}\ \text{(Weston-Watkins)}

    with :math:`m` the margin and :math:`k = 2` when ``squared`` (1 otherwise).  The
    Crammer-Singer form is optax's ``multiclass_hinge_loss``; the Weston-Watkins form,
    divided by C, is PyTorch's ``MultiMarginLoss`` (its ``p=2`` is ``squared=True``).
    Keras's ``CategoricalHinge`` takes one-hot targets and writes the largest wrong-class
    score as :math:`\max_c (1 - y_{ic}) s_{ic}`, which reads the true class as a score of
    0: it is this loss (``target = argmax`` of the one-hot array) whenever some wrong
    class scores :math:`\ge 0`, and larger otherwise.  For PyTorch's per-class ``weight``
    pass ``weights=class_weights[target]`` (the mean then divides by the weights' sum,
    where PyTorch divides by N).

    Args:
        pred: real-valued class scores (not probabilities) with the classes on ``axis``.
        target: integer labels in [0, C), ``pred``'s shape without ``axis``.
        margin: :math:`m \ge 0`.
        form: ``"crammer_singer"`` or ``"weston_watkins"``.
        squared: square each violation.
        axis: the class axis of ``pred``.
        {reduction}

    Returns:
        The reduced loss, or the per-sample loss (``target``'s shape) for ``"none"``.

    Examples:
        >>> import numpy as np, losskit
        >>> scores = np.array([[2.0, 1.5, -1.0]])
        >>> float(losskit.multiclass_hinge(scores, np.array([0])))
        0.5
        >>> float(losskit.multiclass_hinge(scores, np.array([0]), form="weston_watkins"))
        0.16666666666666666
    """
    xp, pred, target, axis = label_inputs(pred, target, axis)
    num_classes = pred.shape[axis]
    true = xp.expand_dims(gather_classes(pred, target, axis=axis, xp=xp), axis=axis)
    shape = [1] * pred.ndim
    shape[axis] = num_classes
    classes = xp.reshape(
        xp.arange(num_classes, dtype=target.dtype, device=device(pred)), tuple(shape)
    )
    is_true = classes == xp.expand_dims(target, axis=axis)
    # the true class's own term would be max(0, m): it is no violation, so it is set to 0
    violation = xp.clip((pred - true) + margin, 0.0, None)
    violation = xp.where(is_true, xp.zeros_like(violation), violation)
    if squared:
        violation = violation * violation
    if form == "crammer_singer":
        loss = xp.max(violation, axis=axis)
    else:
        loss = xp.sum(violation, axis=axis) / num_classes
    return reduce_loss(loss, reduction=reduction, weights=weights, xp=xp)


@register_loss(
    tasks=("multi-label", "binary"),
    summary=(
        "Asymmetric loss (ASL) for multi-label classification: focal terms with their own "
        "gamma for positives and negatives, and a probability margin that drops easy negatives."
    ),
    options=(
        real(
            "gamma_pos",
            "focusing parameter of the positive term, >= 0. Default 0 (the paper's); timm uses 1.",
            0.0,
        ),
        real(
            "gamma_neg",
            (
                "focusing parameter of the negative term, >= 0, larger than gamma_pos to play "
                "down the many easy negatives. Default 4 (the paper's and timm's)."
            ),
            0.0,
        ),
        real(
            "clip",
            (
                "probability margin m in [0, 1): a negative predicted below m costs nothing, and "
                "mislabelled negatives predicted very high are played down. Default 0.05; 0 "
                "turns it off."
            ),
            0.0,
            1.0,
            closed="left",
        ),
        FROM_LOGITS,
    ),
)
def asymmetric_focal(
    pred: Array,
    target: Array,
    *,
    gamma_pos: float = 0.0,
    gamma_neg: float = 4.0,
    clip: float = 0.05,
    from_logits: bool = False,
    reduction: Reduction = "mean",
    weights: Array | None = None,
) -> Array:
    r"""Asymmetric loss (ASL, Ridnik et al., 2021), element by element.

    .. math::
        \ell_i = -y_i\,(1 - p_i)^{\gamma_+}\log p_i
        - (1 - y_i)\,p_{m,i}^{\gamma_-}\log(1 - p_{m,i}),\qquad
        p_{m,i} = \max(p_i - m, 0)

    with :math:`p = \sigma(\hat y)` for logits, :math:`\gamma_\pm` the ``gamma_pos`` and
    ``gamma_neg`` and :math:`m` the ``clip`` (probability margin).  With
    :math:`\gamma_+ = \gamma_- = \gamma` and :math:`m = 0` it is the binary focal loss.
    For 0/1 labels it is timm's ``AsymmetricLossMultiLabel`` without its clamp of
    :math:`p` at 1e-8 (which caps the loss of a confident miss near 18.4) and with
    ``"mean"`` where timm sums; for soft labels each term keeps its own modulator, where
    timm mixes the two exponents.  Computed from log-sigmoid for logits, so it is exact
    for any logit.

    Args:
        pred: probabilities in [0, 1], or logits with ``from_logits=True``; any shape,
            typically ``[B, labels]``.
        target: labels or probabilities in [0, 1], the same shape as ``pred``.
        gamma_pos: :math:`\gamma_+ \ge 0`.
        gamma_neg: :math:`\gamma_- \ge 0`.
        clip: the margin :math:`m \in [0, 1)`.
        from_logits: whether ``pred`` holds logits.
        {reduction}

    Returns:
        The reduced loss, or the per-element loss of ``pred``'s shape for ``"none"``.

    Examples:
        >>> import numpy as np, losskit
        >>> p, y = np.array([0.9, 0.5]), np.array([1.0, 0.0])
        >>> losskit.asymmetric_focal(p, y, reduction="none").round(4)
        array([0.1054, 0.0245])
    """
    xp, pred, target = elementwise_inputs(pred, target)
    _check_targets_in_unit_interval(target, xp)
    log_p, log_not_p = _binary_log_probs(pred, from_logits, xp=xp)
    p = sigmoid(pred, xp=xp) if from_logits else pred
    not_p = sigmoid(-pred, xp=xp) if from_logits else 1.0 - pred
    if _is_zero(clip):
        shifted, log_not_shifted = p, log_not_p
    else:
        # p_m = max(p - m, 0) and 1 - p_m = min(1 - p + m, 1): 1 - p comes from
        # sigmoid(-x) for logits, with no cancellation near p = 1
        shifted = xp.clip(p - clip, 0.0, None)
        log_not_shifted = xp.log(xp.clip(not_p + clip, None, 1.0))
    positive = _focal_modulator(not_p, gamma_pos, xp=xp) * weighted_log(target, log_p, xp=xp)
    negative = _focal_modulator(shifted, gamma_neg, xp=xp) * weighted_log(
        1.0 - target, log_not_shifted, xp=xp
    )
    return reduce_loss(-(positive + negative), reduction=reduction, weights=weights, xp=xp)


@register_loss(
    tasks="multi-class",
    summary=(
        "Generalized cross-entropy (Lq) for noisy labels: between cross-entropy (q -> 0) and "
        "the mean absolute error of the probabilities (q = 1)."
    ),
    class_axis="axis",
    options=(
        real(
            "q",
            (
                "in (0, 1]: towards 0 it is cross-entropy (fast to train, hurt by wrong labels), "
                "at 1 the bounded, noise-robust MAE. Default 0.7 (Zhang & Sabuncu's)."
            ),
            0.0,
            1.0,
            closed="right",
        ),
        FROM_LOGITS,
        CLASS_AXIS,
        IGNORE_INDEX,
    ),
)
def generalized_cross_entropy(
    pred: Array,
    target: Array,
    *,
    q: float = 0.7,
    from_logits: bool = False,
    axis: int = -1,
    ignore_index: int | None = None,
    reduction: Reduction = "mean",
    weights: Array | None = None,
) -> Array:
    r"""Generalized cross-entropy, the :math:`L_q` loss of Zhang & Sabuncu (2018).

    .. math:: \ell_i = \frac{1 - p_{i y_i}^{\,q}}{q}

    with :math:`p = \operatorname{softmax}(\hat y)` along ``axis`` for logits.  As
    :math:`q \to 0` it tends to cross-entropy :math:`-\log p_{i y_i}`; at :math:`q = 1`
    it is :math:`1 - p_{i y_i}`, the mean absolute error of the probabilities, which is
    bounded by 1 and so robust to mislabelled examples.  Computed as
    :math:`-\operatorname{expm1}(q \log p)/q`, accurate for small q and exact for any
    logit.  ``"mean"`` averages over targets that are not ignored, and is 0 when every
    target is ignored.

    Args:
        pred: probabilities, or logits with ``from_logits=True``; classes on ``axis``.
        target: integer labels in [0, C), ``pred``'s shape without ``axis``.
        q: :math:`q \in (0, 1]`.
        from_logits: whether ``pred`` holds logits.
        axis: the class axis of ``pred``.
        ignore_index: a label value whose positions are left out of the loss.
        {reduction}

    Returns:
        The reduced loss, or the per-sample loss (``target``'s shape) for ``"none"``.

    Examples:
        >>> import numpy as np, losskit
        >>> float(losskit.generalized_cross_entropy(np.array([[0.25, 0.75]]), np.array([0]), q=1.0))
        0.75
    """
    xp, pred, target, axis = label_inputs(pred, target, axis, ignore_index)
    return _label_loss(
        _generalized_cross_entropy,
        pred,
        target,
        ignore_index=ignore_index,
        mean_weights=None,
        reduction=reduction,
        weights=weights,
        xp=xp,
        q=q,
        from_logits=from_logits,
        axis=axis,
    )
