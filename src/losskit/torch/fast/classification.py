"""PyTorch fast paths for the classification losses.

Cross-entropy (binary, categorical, sparse) and KL divergence run PyTorch's kernels,
except binary cross-entropy of logits with a mean or sum and no ``pos_weight``, which is
PyTorch's formula in a fused Function with fewer passes over memory; the focal losses,
which PyTorch lacks, are :class:`torch.autograd.Function` s with an
analytic backward that never build a one-hot target; the hinge losses are two
PyTorch operations.  Probability inputs (``from_logits=False``) follow losskit's
clipped-log convention, which differs from PyTorch's at probabilities of exactly 0 or 1,
so they use PyTorch's kernel only where the two provably agree.

A soft target that itself requires a gradient goes to the generic implementation.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from losskit.core.inputs import check_distributions, class_vector, require_classes
from losskit.core.namespace import (
    as_array,
    finfo_tiny,
    is_traced,
    require_floating,
    require_integer,
)
from losskit.core.reduction import check_reduction
from losskit.core.validation import (
    check_broadcastable,
    check_labels,
    check_no_nan,
    check_nonnegative,
    check_normalized_axis,
    check_probabilities,
    check_shape,
)
from losskit.errors import LossInputError
from losskit.losses.classification import (
    _check_sign_labels,
    _check_targets_in_unit_interval,
)
from losskit.torch.fast._common import (
    compute_dtype,
    elementwise_inputs,
    fast_path,
    generic_backward,
    is_number,
    non_finite,
    reduce,
    screen,
    torch_namespace,
    value_checks_run,
    xp,
)

Tensor = torch.Tensor
#: Probabilities inside [P_LOW, 1 - P_LOW] are where PyTorch's binary_cross_entropy (log
#: clamped at -100, p(1 - p) clamped at 1e-12 in the gradient) equals losskit's loss.
P_LOW = 2e-12
#: ignore_index passed to PyTorch when nothing is ignored (labels are checked to be >= 0).
NO_IGNORE = -100


# -------------------------------------------------------------------------- inputs


def _screen_unit_targets(target: Tensor) -> None:
    def checks() -> None:
        check_no_nan(target, "target", xp)
        _check_targets_in_unit_interval(target, xp)

    screen(target, 0.0, 1.0, checks)


def _screen_probabilities(pred: Tensor) -> None:
    screen(pred, 0.0, 1.0, lambda: check_probabilities(pred, "pred", xp))


def _class_inputs(pred: Any, target: Any, axis: Any) -> tuple[Tensor, Tensor, int]:
    """:func:`losskit.core.inputs.class_inputs`, with the target screened in one pass."""
    pred, target = elementwise_inputs(pred, target, defer_nan_check=True)
    if pred.ndim == 0:
        raise LossInputError("pred must have a class axis; got a 0-d array")
    axis = check_normalized_axis(axis, pred.ndim)
    require_classes(pred, axis)
    _screen_unit_targets(target)
    return pred, target, axis


def _label_inputs(
    pred: Any, target: Any, axis: Any, ignore_index: int | None
) -> tuple[Tensor, Tensor, int]:
    """:func:`losskit.core.inputs.label_inputs`, with the labels screened in one pass."""
    torch_namespace(pred=pred, target=target)
    require_floating(pred, "pred", xp)
    require_integer(target, "target", xp)
    if pred.ndim == 0:
        raise LossInputError("pred must have a class axis; got a 0-d array")
    axis = check_normalized_axis(axis, pred.ndim)
    require_classes(pred, axis)
    expected = tuple(s for i, s in enumerate(pred.shape) if i != axis)
    check_shape(target, expected, "target", f"pred's shape {tuple(pred.shape)} without axis {axis}")
    num_classes = pred.shape[axis]
    if value_checks_run(target) and target.numel() > 0:
        low, high = torch.aminmax(target)
        if not (bool(low >= 0) and bool(high < num_classes)):
            check_labels(target, num_classes, "target", xp, ignore_index=ignore_index)
    return pred, target, axis


def _safe_log(p: Tensor) -> Tensor:
    """log(max(p, tiny)): losskit's clipped log (see losskit.core.primitives.safe_log)."""
    return torch.log(p.clamp_min(finfo_tiny(p, xp)))


def _modulator(one_minus_p: Tensor, gamma: float) -> tuple[Tensor, Tensor]:
    """Focal modulator m = max(1 - p, tiny)^gamma and dm/d(1 - p), 0 where the clip is active
    (the generic path's ``_focal_modulator`` and its autograd gradient, up to values below
    tiny^gamma)."""
    if gamma == 0:
        return torch.ones_like(one_minus_p), torch.zeros_like(one_minus_p)
    if gamma >= 1:
        # The clip only matters below the smallest normal number, where both m and the
        # gradient terms it would change are below tiny^gamma: two operations, not six.
        return one_minus_p**gamma, gamma * one_minus_p ** (gamma - 1.0)
    tiny = finfo_tiny(one_minus_p, xp)
    clipped = one_minus_p.clamp_min(tiny)
    slope = torch.where(one_minus_p >= tiny, gamma * clipped ** (gamma - 1.0), 0.0)
    return clipped**gamma, slope


def _needs_target_grad(target: Any) -> bool:
    return isinstance(target, Tensor) and target.requires_grad


def _logits_backward(
    ctx: Any,
    grad_output: Tensor,
    loss: Callable[..., Any],
    arrays: tuple[Tensor, Tensor],
    analytic: Callable[[], Tensor],
    **options: Any,
) -> tuple[Tensor | None, ...]:
    """``backward`` of a fused Function of logits (BCE, the focal losses): gradients of
    ``arrays``, None for the options.

    The gradient of ``pred`` is ``analytic()``, the fused kernel's, which is not itself
    differentiable; when ``create_graph=True`` asks for a differentiable gradient, the
    gradients are those of ``loss``'s generic implementation with ``options`` (see
    :func:`~losskit.torch.fast._common.generic_backward`).
    """
    pred = arrays[0]
    nones = (None,) * (len(ctx.needs_input_grad) - len(arrays))
    if torch.is_grad_enabled():
        grads = generic_backward(
            loss.generic,  # type: ignore[attr-defined]
            arrays,
            ctx.needs_input_grad,
            grad_output,
            from_logits=True,
            **options,
        )
        return (*grads, *nones)
    return analytic().to(pred.dtype), None, *nones


# -------------------------------------------------------------------------- binary


@fast_path("binary_cross_entropy")
def binary_cross_entropy(
    pred: Any,
    target: Any,
    *,
    from_logits: bool = False,
    pos_weight: Any = None,
    label_smoothing: float = 0.0,
    ignore_index: int | None = None,
    reduction: str = "mean",
    weights: Any = None,
) -> Tensor:
    if not is_number(label_smoothing):
        return NotImplemented  # a traced label smoothing takes the generic path
    check_reduction(reduction)
    pred, target = elementwise_inputs(pred, target, defer_nan_check=True)
    keep = None
    if ignore_index is not None:
        # ignored targets become 0, their losses 0, and the mean counts the others
        keep = target != ignore_index
        target = torch.where(keep, target, torch.zeros_like(target))
    _screen_unit_targets(target)
    inside = False
    if not from_logits:
        inside = _probabilities_inside(pred)
    w = None
    if pos_weight is not None:
        w = as_array(pos_weight, pred, "pos_weight", xp)
        check_broadcastable(w, tuple(pred.shape), "pos_weight", "pred's shape")
        high = torch.finfo(w.dtype).max  # inf fails the screen
        screen(w, 0.0, high, lambda: check_nonnegative(w, "pos_weight", xp, finite=True))
    if label_smoothing:
        target = target * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        kernel = F.binary_cross_entropy_with_logits
        options: dict[str, Any] = {"pos_weight": w}
    elif inside and w is None:
        kernel, options = F.binary_cross_entropy, {}
    else:
        positive = target * _safe_log(pred)
        if w is not None:
            positive = w * positive
        loss = -(positive + (1.0 - target) * _safe_log(1.0 - pred))
        return _reduce_kept(loss, keep, reduction, weights)
    if keep is not None:
        out = _reduce_kept(
            kernel(pred, target, reduction="none", **options), keep, reduction, weights
        )
    elif weights is None and reduction != "none" and pred.numel() > 0:
        if from_logits and w is None and not target.requires_grad:
            out = _BinaryCrossEntropyLogits.apply(pred, target, reduction)
        else:
            out = kernel(pred, target, reduction=reduction, **options)
    else:
        out = reduce(kernel(pred, target, reduction="none", **options), reduction, weights)
    # (1 - t) x - log sigmoid(x) is inf - inf at an infinite logit: the generic limit
    return NotImplemented if from_logits and non_finite(out) else out


def _reduce_kept(loss: Tensor, keep: Tensor | None, reduction: str, weights: Any) -> Tensor:
    """``reduce`` with the ignored elements (``keep`` False) left out of the loss and the mean."""
    if keep is None:
        return reduce(loss, reduction, weights)
    loss = torch.where(keep, loss, torch.zeros_like(loss))
    return reduce(loss, reduction, weights, keep.to(loss.dtype))


class _BinaryCrossEntropyLogits(torch.autograd.Function):
    r"""Mean or sum of the binary cross-entropy of logits :math:`x` against targets
    :math:`t \in [0, 1]`, :math:`\ell = (1 - t)\,x - \log\sigma(x)`, with gradient
    :math:`\sigma(x) - t`.

    PyTorch's loss, in fewer passes over memory: :math:`x - t x` in one ``addcmul`` and
    :math:`\log\sigma(x)` as ``softplus(x, beta=-1)``, which needs no negated copy of x and
    no buffer for backward; backward is ``sigmoid``, then two in-place operations.
    """

    @staticmethod
    def forward(ctx: Any, pred: Tensor, target: Tensor, reduction: str) -> Tensor:
        loss = torch.addcmul(pred, pred, target, value=-1.0)
        loss.sub_(F.softplus(pred, beta=-1.0))  # softplus with beta -1 is log(sigmoid)
        ctx.reduction = reduction
        ctx.save_for_backward(pred, target)
        return loss.mean() if reduction == "mean" else loss.sum()

    @staticmethod
    def backward(ctx: Any, grad_output: Tensor) -> tuple[Tensor | None, ...]:
        pred, target = ctx.saved_tensors
        scale = grad_output / pred.numel() if ctx.reduction == "mean" else grad_output

        def analytic() -> Tensor:
            return torch.sigmoid(pred).sub_(target).mul_(scale)

        return _logits_backward(
            ctx,
            grad_output,
            binary_cross_entropy,
            (pred, target),
            analytic,
            reduction=ctx.reduction,
        )


def _probabilities_inside(pred: Tensor) -> bool:
    """Check that ``pred`` holds probabilities (raising the core's error if not) and say
    whether they all lie in [P_LOW, 1 - P_LOW]; False when the values are not read."""
    if not value_checks_run(pred) or pred.numel() == 0:
        return False
    low, high = (float(v) for v in torch.aminmax(pred.detach()))
    if not (low >= 0 and high <= 1):
        check_probabilities(pred, "pred", xp)
    # float16/bfloat16 cannot hold P_LOW's margin: they always take the composed path.
    return pred.dtype in (torch.float32, torch.float64) and low >= P_LOW and high <= 1 - P_LOW


class _BinaryFocalLogits(torch.autograd.Function):
    r"""Binary focal loss of logits :math:`x` against targets :math:`t \in [0, 1]`.

    With :math:`p = \sigma(x)`, :math:`q = 1 - p`, the cross-entropy
    :math:`c = -(t \log p + (1 - t)\log q)` and :math:`b = 1 - p_t = t q + (1 - t) p`:
    :math:`\ell = a_t\, m(b)\, c` and

    .. math:: \partial\ell/\partial x = a_t\,\bigl(m'(b)\, p q (1 - 2t)\, c + m(b)(p - t)\bigr)

    (:math:`dc/dx = p - t`, :math:`db/dx = pq(1 - 2t)`).  The gradient is computed in
    forward; only it and the inputs are kept for backward.
    """

    @staticmethod
    def forward(
        ctx: Any,
        pred: Tensor,
        target: Tensor,
        gamma: float,
        alpha: float | None,
        reduction: str,
    ) -> Tensor:
        dtype = compute_dtype(pred.dtype)
        x, t = pred.to(dtype), target.to(dtype)
        log_p, log_q = F.logsigmoid(x), F.logsigmoid(-x)
        p, q = torch.exp(log_p), torch.exp(log_q)
        cross_entropy = -(t * log_p + (1.0 - t) * log_q)
        modulator, slope = _modulator(t * q + (1.0 - t) * p, gamma)
        loss = modulator * cross_entropy
        grad = slope * (p * q * (1.0 - 2.0 * t)) * cross_entropy + modulator * (p - t)
        if alpha is not None:
            alpha_t = alpha * t + (1.0 - alpha) * (1.0 - t)
            loss, grad = alpha_t * loss, alpha_t * grad
        out = loss if reduction == "none" else loss.sum()
        if reduction == "mean":
            out = out / max(loss.numel(), 1)
            grad = grad / max(loss.numel(), 1)
        ctx.options = {"gamma": gamma, "alpha": alpha, "reduction": reduction}
        ctx.save_for_backward(pred, target, grad)
        return out.to(pred.dtype)

    @staticmethod
    def backward(ctx: Any, grad_output: Tensor) -> tuple[Tensor | None, ...]:
        pred, target, grad = ctx.saved_tensors
        return _logits_backward(
            ctx,
            grad_output,
            binary_focal,
            (pred, target),
            lambda: grad * grad_output,
            **ctx.options,
        )


@fast_path("binary_focal")
def binary_focal(
    pred: Any,
    target: Any,
    *,
    gamma: float = 2.0,
    alpha: float | None = None,
    from_logits: bool = False,
    reduction: str = "mean",
    weights: Any = None,
) -> Tensor:
    check_reduction(reduction)
    if not is_number(gamma) or not (alpha is None or is_number(alpha)):
        return NotImplemented
    if _needs_target_grad(target):
        return NotImplemented
    pred, target = elementwise_inputs(pred, target, defer_nan_check=True)
    _screen_unit_targets(target)
    if from_logits:
        if weights is None:
            out = _BinaryFocalLogits.apply(pred, target, float(gamma), alpha, reduction)
        else:
            loss = _BinaryFocalLogits.apply(pred, target, float(gamma), alpha, "none")
            out = reduce(loss, reduction, weights)
        # 0 * log sigmoid(x) is NaN at an infinite logit x here, 0 in the generic code
        return NotImplemented if non_finite(out) else out
    _screen_probabilities(pred)
    # Probabilities: the generic formula in PyTorch operations (its clips included).
    log_p, log_not_p = _safe_log(pred), _safe_log(1.0 - pred)
    cross_entropy = -(target * log_p + (1.0 - target) * log_not_p)
    one_minus_pt = target * torch.exp(log_not_p) + (1.0 - target) * torch.exp(log_p)
    loss = cross_entropy if gamma == 0 else _clipped_power(one_minus_pt, gamma) * cross_entropy
    if alpha is not None:
        loss = (alpha * target + (1.0 - alpha) * (1.0 - target)) * loss
    return reduce(loss, reduction, weights)


def _clipped_power(base: Tensor, gamma: float) -> Tensor:
    return base.clamp_min(finfo_tiny(base, xp)) ** gamma


# ---------------------------------------------------------------------- multi-class


def _classes_to_dim1(pred: Tensor, axis: int) -> Tensor:
    """``pred`` with its class axis moved to 1 (PyTorch's layout); a view."""
    return pred if axis == 1 else torch.movedim(pred, axis, 1)


@fast_path("categorical_cross_entropy")
def categorical_cross_entropy(
    pred: Any,
    target: Any,
    *,
    from_logits: bool = False,
    axis: int = -1,
    class_weights: Any = None,
    label_smoothing: float = 0.0,
    poly_epsilon: float = 0.0,
    reduction: str = "mean",
    weights: Any = None,
) -> Tensor:
    if not is_number(label_smoothing) or not is_number(poly_epsilon) or poly_epsilon:
        return NotImplemented  # traced options, or the Poly-1 term: the generic path
    check_reduction(reduction)
    pred, target, axis = _class_inputs(pred, target, axis)
    if not from_logits:
        _screen_probabilities(pred)
    w = (
        None
        if class_weights is None
        else class_vector(class_weights, "class_weights", pred, axis, xp)
    )
    if from_logits and pred.ndim >= 2:
        # PyTorch's cross_entropy takes probability targets on its class dimension 1.
        loss = F.cross_entropy(
            _classes_to_dim1(pred, axis),
            _classes_to_dim1(target, axis),
            weight=None if w is None else w.reshape(-1),
            label_smoothing=label_smoothing,
            reduction="none",
        )
    else:
        log_p = torch.log_softmax(pred, axis) if from_logits else _safe_log(pred)
        smoothed = target
        if label_smoothing:
            smoothed = target * (1.0 - label_smoothing) + label_smoothing / pred.shape[axis]
        if w is not None:
            smoothed = w * smoothed
        loss = -(smoothed * log_p).sum(axis)
    # With class weights the mean divides by the weight of the (unsmoothed) targets.
    norm = None if w is None else (w * target).sum(axis)
    out = reduce(loss, reduction, weights, norm)
    # a logit of -inf where the target is 0: 0 * -inf in PyTorch's sum, 0 in the generic one
    return NotImplemented if from_logits and non_finite(out) else out


@fast_path("sparse_categorical_cross_entropy")
def sparse_categorical_cross_entropy(
    pred: Any,
    target: Any,
    *,
    from_logits: bool = False,
    axis: int = -1,
    class_weights: Any = None,
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
    poly_epsilon: float = 0.0,
    reduction: str = "mean",
    weights: Any = None,
) -> Tensor:
    if not is_number(label_smoothing) or not is_number(poly_epsilon) or poly_epsilon:
        return NotImplemented  # traced options, or the Poly-1 term: the generic path
    check_reduction(reduction)
    pred, target, axis = _label_inputs(pred, target, axis, ignore_index)
    if not from_logits:
        _screen_probabilities(pred)
    w = (
        None
        if class_weights is None
        else class_vector(class_weights, "class_weights", pred, axis, xp)
    )
    class_weight = None if w is None else w.reshape(-1)
    x = _classes_to_dim1(pred, axis) if pred.ndim >= 2 else pred
    labels = target.long()
    ignore = NO_IGNORE if ignore_index is None else ignore_index
    # no class weights, nothing ignored, no 16-bit input (PyTorch sums those in their dtype)
    plain = w is None and ignore_index is None and compute_dtype(pred.dtype) == pred.dtype
    if from_logits and plain and weights is None and reduction != "none" and target.numel() > 0:
        # PyTorch's mean is losskit's here.
        return F.cross_entropy(x, labels, label_smoothing=label_smoothing, reduction=reduction)
    if from_logits:
        loss = F.cross_entropy(
            x,
            labels,
            weight=class_weight,
            ignore_index=ignore,
            label_smoothing=label_smoothing,
            reduction="none",
        )
    else:
        # contiguous: nll_loss's backward refuses a channels-last gradient
        log_p = _safe_log(x).contiguous()
        loss = F.nll_loss(log_p, labels, weight=class_weight, ignore_index=ignore, reduction="none")
        if label_smoothing:
            weighted = log_p if class_weight is None else log_p * w.reshape(-1, *[1] * (x.ndim - 2))
            uniform = -weighted.mean(1 if x.ndim >= 2 else 0)
            if ignore_index is not None:
                uniform = torch.where(labels != ignore_index, uniform, 0.0)
            loss = (1.0 - label_smoothing) * loss + label_smoothing * uniform
    norm = _label_norm(labels, class_weight, ignore_index, loss.dtype)
    return reduce(loss, reduction, weights, norm)


def _label_norm(
    labels: Tensor, class_weight: Tensor | None, ignore_index: int | None, dtype: torch.dtype
) -> Tensor | None:
    """What "mean" divides by, per label: its class weight, 0 where ignored (None: 1 each)."""
    if ignore_index is None:
        return None if class_weight is None else class_weight[labels]
    keep = labels != ignore_index
    if class_weight is None:
        return keep.to(dtype)
    return torch.where(keep, class_weight[torch.where(keep, labels, 0)], 0.0)


class _CategoricalFocalLogits(torch.autograd.Function):
    r"""Focal loss of logits against one-hot or probability targets along ``axis``.

    With :math:`\log p = \operatorname{log\_softmax}(x)`, :math:`m_c = m(1 - p_c)`,
    :math:`\ell = -\sum_c a_c t_c m_c \log p_c` and
    :math:`g_c = \partial\ell/\partial\log p_c = -a_c t_c (m_c - p_c \log p_c\, m'_c)`,
    the gradient through the softmax is :math:`g - p \sum_c g_c`, computed in forward.
    """

    @staticmethod
    def forward(
        ctx: Any,
        pred: Tensor,
        target: Tensor,
        alpha: Tensor | None,
        gamma: float,
        axis: int,
        reduction: str,
    ) -> Tensor:
        dtype = compute_dtype(pred.dtype)
        log_p = torch.log_softmax(pred.to(dtype), axis)
        p = torch.exp(log_p)
        modulator, slope = _modulator(1.0 - p, gamma)
        weight = target.to(dtype) if alpha is None else alpha.to(dtype) * target.to(dtype)
        loss = -(weight * modulator * log_p).sum(axis)
        per_class = -weight * (modulator - p * log_p * slope)
        grad = per_class - p * per_class.sum(axis, keepdim=True)
        out = loss if reduction == "none" else loss.sum()
        if reduction == "mean":
            out = out / max(loss.numel(), 1)
            grad = grad / max(loss.numel(), 1)
        ctx.axis, ctx.reduction, ctx.gamma = axis, reduction, gamma
        ctx.save_for_backward(pred, target, alpha, grad)
        return out.to(pred.dtype)

    @staticmethod
    def backward(ctx: Any, grad_output: Tensor) -> tuple[Tensor | None, ...]:
        pred, target, alpha, grad = ctx.saved_tensors

        def analytic() -> Tensor:
            upstream = grad_output.unsqueeze(ctx.axis) if ctx.reduction == "none" else grad_output
            return grad * upstream

        return _logits_backward(
            ctx,
            grad_output,
            categorical_focal,
            (pred, target),
            analytic,
            gamma=ctx.gamma,
            alpha=None if alpha is None else alpha.reshape(-1),
            axis=ctx.axis,
            reduction=ctx.reduction,
        )


@fast_path("categorical_focal")
def categorical_focal(
    pred: Any,
    target: Any,
    *,
    gamma: float = 2.0,
    alpha: Any = None,
    from_logits: bool = False,
    axis: int = -1,
    poly_epsilon: float = 0.0,
    reduction: str = "mean",
    weights: Any = None,
) -> Tensor:
    check_reduction(reduction)
    if (
        not is_number(gamma)
        or _needs_target_grad(target)
        or _needs_target_grad(alpha)
        or not is_number(poly_epsilon)
        or poly_epsilon
    ):
        return NotImplemented  # traced options or the Poly-1 term: the generic path
    pred, target, axis = _class_inputs(pred, target, axis)
    a = None if alpha is None else class_vector(alpha, "alpha", pred, axis, xp)
    if from_logits:
        fused_reduction = reduction if weights is None else "none"
        loss = _CategoricalFocalLogits.apply(pred, target, a, float(gamma), axis, fused_reduction)
        out = loss if weights is None else reduce(loss, reduction, weights)
        # a logit of -inf where the target is 0: 0 * -inf here, 0 in the generic code
        return NotImplemented if non_finite(out) else out
    _screen_probabilities(pred)
    terms = target * _safe_log(pred)
    if gamma != 0:
        terms = _clipped_power(1.0 - pred, gamma) * terms
    if a is not None:
        terms = a * terms
    return reduce(-terms.sum(axis), reduction, weights)


class _SparseFocalLogits(torch.autograd.Function):
    r"""Focal loss of logits ``[N, C, ...]`` (classes on dimension 1) against integer labels.

    Only the true class's log-probability enters the loss: with
    :math:`\lambda = \log p_y`, :math:`\ell = -a_y\, m(1 - p_y)\, \lambda`,
    :math:`k = \partial\ell/\partial\lambda = -a_y (m - p_y \lambda\, m')` and
    :math:`\partial\ell/\partial x = k\,(e_y - \operatorname{softmax}(x))`.

    No one-hot tensor: :math:`x_y` and :math:`a_y` are gathered by label in forward, and
    backward adds :math:`k` at the labels with one ``scatter_add``: few, large operations,
    since on a busy machine each parallel operation waits for a thread to wake up.
    :math:`\log p_y` is the log of the gathered softmax, exact also where :math:`p_y`
    underflows (see ``_log_true_class``).  The softmax computed in forward is handed to
    the first backward, which turns it into the gradient in place.
    """

    @staticmethod
    def forward(
        ctx: Any,
        pred: Tensor,
        labels: Tensor,
        alpha: Tensor | None,
        gamma: float,
        ignore_index: int | None,
        reduction: str,
    ) -> Tensor:
        dtype = compute_dtype(pred.dtype)
        batch_size, num_classes = pred.shape[:2]
        positions = math.prod(pred.shape[2:])  # not -1: ambiguous for an empty batch
        x = pred.to(dtype).reshape(batch_size, num_classes, positions)
        index = labels.reshape(batch_size, positions)
        keep = None if ignore_index is None else index != ignore_index
        if keep is not None:
            index = torch.where(keep, index, 0)
        prob = torch.softmax(x, 1)
        p_true = prob.gather(1, index.unsqueeze(1)).squeeze(1)
        log_p_true = _log_true_class(x, prob, p_true, index)
        alpha_true = None if alpha is None else alpha.to(dtype)[index]
        modulator, slope = _modulator(1.0 - p_true, gamma)
        loss = modulator * log_p_true
        k = p_true.mul_(log_p_true).mul_(slope).sub_(modulator)  # in p_true's buffer
        if alpha_true is not None:
            loss, k = alpha_true * loss, alpha_true * k
        loss = -loss
        if keep is not None:  # ignored positions: garbage above (even NaN), zeroed here
            loss, k = torch.where(keep, loss, 0.0), torch.where(keep, k, 0.0)
        if reduction == "none":
            out = loss.reshape(labels.shape)
        else:
            out = loss.sum()
            if reduction == "mean":
                count = max(labels.numel(), 1) if keep is None else keep.sum().clamp_min(1)
                out, k = out / count, k / count
        ctx.reduction, ctx.prob = reduction, prob
        ctx.options = {"gamma": gamma, "alpha": alpha, "ignore_index": ignore_index}
        ctx.save_for_backward(pred, labels, index, k)
        return out.to(pred.dtype)

    @staticmethod
    def backward(ctx: Any, grad_output: Tensor) -> tuple[Tensor | None, ...]:
        pred, labels, index, k = ctx.saved_tensors

        def analytic() -> Tensor:
            prob, ctx.prob = ctx.prob, None
            if prob is None:  # a second backward (retain_graph=True): recompute
                shape = (*pred.shape[:2], index.shape[1])  # [B, C, positions]
                prob = torch.softmax(pred.to(k.dtype).reshape(shape), 1)
            upstream = grad_output.to(k.dtype)
            scale = k * (upstream.reshape(k.shape) if ctx.reduction == "none" else upstream)
            # k (e_y - p): -k p everywhere, then + k on each element's true class
            scale = scale.unsqueeze(1)
            grad = prob.mul_(-scale).scatter_add_(1, index.unsqueeze(1), scale)
            return grad.reshape(pred.shape)

        return _logits_backward(
            ctx,
            grad_output,
            sparse_categorical_focal,
            (pred, labels),
            analytic,
            axis=1,
            reduction=ctx.reduction,
            **ctx.options,
        )


def _log_true_class(x: Tensor, prob: Tensor, p_true: Tensor, index: Tensor) -> Tensor:
    """log p_y from the softmax; exact also where p_y underflowed to below tiny.

    There, log p_y = x_y - lse(x) with lse = max_c x_c - log(max_c p_c): the largest
    probability is at least 1/C, so its log is accurate.  Computed only when needed
    (always while tracing, where the data cannot be looked at).
    """
    log_p = torch.log(p_true)
    tiny = finfo_tiny(p_true, xp)
    if is_traced(p_true) or bool((p_true < tiny).any()):
        x_true = x.gather(1, index.unsqueeze(1)).squeeze(1)
        exact = x_true.sub_(x.amax(1)).add_(torch.log(prob.amax(1)))
        log_p = torch.where(p_true < tiny, exact, log_p)
    return log_p


@fast_path("sparse_categorical_focal")
def sparse_categorical_focal(
    pred: Any,
    target: Any,
    *,
    gamma: float = 2.0,
    alpha: Any = None,
    from_logits: bool = False,
    axis: int = -1,
    ignore_index: int | None = None,
    poly_epsilon: float = 0.0,
    reduction: str = "mean",
    weights: Any = None,
) -> Tensor:
    check_reduction(reduction)
    if (
        not is_number(gamma)
        or _needs_target_grad(alpha)
        or not is_number(poly_epsilon)
        or poly_epsilon
    ):
        return NotImplemented  # traced options or the Poly-1 term: the generic path
    pred, target, axis = _label_inputs(pred, target, axis, ignore_index)
    a = None if alpha is None else class_vector(alpha, "alpha", pred, axis, xp).reshape(-1)
    labels = target.long()
    if from_logits:
        # PyTorch's layout: classes on dimension 1 (a 1-D pred is one sample).
        x = _classes_to_dim1(pred, axis) if pred.ndim >= 2 else pred.unsqueeze(0)
        y = labels if pred.ndim >= 2 else labels.unsqueeze(0)
        fused_reduction = reduction if weights is None else "none"
        loss = _SparseFocalLogits.apply(x, y, a, float(gamma), ignore_index, fused_reduction)
        if pred.ndim == 1 and fused_reduction == "none":
            loss = loss.squeeze(0)
        if weights is None:
            return loss
    else:
        _screen_probabilities(pred)
        x = _classes_to_dim1(pred, axis) if pred.ndim >= 2 else pred.unsqueeze(0)
        y = labels if pred.ndim >= 2 else labels.unsqueeze(0)
        keep = None if ignore_index is None else y != ignore_index
        safe = y if keep is None else torch.where(keep, y, 0)
        p_true = x.gather(1, safe.unsqueeze(1)).squeeze(1)
        loss = -_safe_log(p_true)
        if gamma != 0:
            loss = _clipped_power(1.0 - p_true, gamma) * loss
        if a is not None:
            loss = a[safe] * loss
        if keep is not None:
            loss = torch.where(keep, loss, 0.0)
        if pred.ndim == 1:
            loss = loss.squeeze(0)
    norm = None if ignore_index is None else (labels != ignore_index).to(loss.dtype)
    return reduce(loss, reduction, weights, norm)


@fast_path("kl_divergence")
def kl_divergence(
    pred: Any,
    target: Any,
    *,
    from_logits: bool = False,
    axis: int = -1,
    reduction: str = "mean",
    weights: Any = None,
) -> Tensor:
    check_reduction(reduction)
    if _needs_target_grad(target):
        # PyTorch zeroes the target's gradient where the target is 0; losskit's is -log p.
        return NotImplemented
    pred, target, axis = _class_inputs(pred, target, axis)
    check_distributions(target, axis, xp)
    if from_logits:
        log_p = torch.log_softmax(pred, axis)
    else:
        _screen_probabilities(pred)
        log_p = _safe_log(pred)
    # 16-bit inputs take the unreduced kernel: PyTorch sums them in their own dtype
    fused = weights is None and reduction != "none" and compute_dtype(pred.dtype) == pred.dtype
    if fused and pred.numel() > 0:
        total = F.kl_div(log_p, target, reduction="sum")
        # "mean" averages over samples: every element but the class axis.
        count = max(pred.numel() // pred.shape[axis], 1)
        out = total if reduction == "sum" else total / count
    else:
        out = reduce(F.kl_div(log_p, target, reduction="none").sum(axis), reduction, weights)
    # a logit of -inf where the target is 0: 0 * -inf in PyTorch's kl_div, 0 in the generic
    return NotImplemented if from_logits and non_finite(out) else out


# -------------------------------------------------------------------------- hinge


def _hinge_margin(pred: Any, target: Any) -> Tensor:
    pred, target = elementwise_inputs(pred, target)
    _check_sign_labels(target, xp)
    # maximum (not clamp) so a margin of exactly 0 splits the gradient as on the generic path
    return torch.maximum(1.0 - target * pred, torch.zeros((), dtype=pred.dtype, device=pred.device))


@fast_path("hinge")
def hinge(pred: Any, target: Any, *, reduction: str = "mean", weights: Any = None) -> Tensor:
    check_reduction(reduction)
    return reduce(_hinge_margin(pred, target), reduction, weights)


@fast_path("squared_hinge")
def squared_hinge(
    pred: Any, target: Any, *, reduction: str = "mean", weights: Any = None
) -> Tensor:
    check_reduction(reduction)
    return reduce(_hinge_margin(pred, target) ** 2, reduction, weights)
