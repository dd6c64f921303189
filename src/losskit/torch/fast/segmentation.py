"""PyTorch fast paths for the soft overlap losses: Dice, Jaccard (soft IoU) and Tversky.

All three are ratios of the same three statistics per sample and class, the soft
intersection :math:`I = \\sum p t`, the prediction mass :math:`P = \\sum p` and the target
mass :math:`T = \\sum t`, so one :class:`torch.autograd.Function` computes them and its
analytic backward.  With integer labels on CPU and numba installed, the statistics and
the gradient through the softmax are one compiled pass each
(:mod:`~losskit.torch.fast._overlap_kernels`).  Otherwise no one-hot tensor is built
either: I and T are sums of each position's own probability and of ones by label
(``scatter_add`` into per-chunk partial sums), and the gradient is written into the
probabilities in place, one class slice at a time, with its label term added by one
``scatter_add``.  Class weights, ``batch``, the reduction and user weights act on the
small ``[B, C]`` loss outside the function, through the generic code.

Focal Tversky and the Lovász losses run the generic implementation.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from losskit.core.validation import check_labels
from losskit.losses.segmentation import (
    _check_inputs,
    _class_weights,
    _finish,
    _Masks,
)
from losskit.torch.fast import _overlap_kernels
from losskit.torch.fast._common import (
    compute_dtype,
    fast_path,
    generic_backward,
    is_number,
    screen,
    torch_namespace,
    value_checks_run,
    xp,
)

Tensor = torch.Tensor
#: (numerator, denominator) of a loss's ratio from (I, P, T), and the constant partial
#: derivatives (d numerator/dI, d denominator/dI, d denominator/dP).
Ratio = tuple[Callable[[Tensor, Tensor, Tensor], tuple[Tensor, Tensor]], float, float, float]


def _dice_ratio(smooth: float) -> Ratio:
    return (lambda i, p, t: (2.0 * i + smooth, p + t + smooth)), 2.0, 0.0, 1.0


def _jaccard_ratio(smooth: float) -> Ratio:
    return (lambda i, p, t: (i + smooth, p + t - i + smooth)), 1.0, -1.0, 1.0


def _tversky_ratio(alpha: float, beta: float, smooth: float) -> Ratio:
    # P - I counts the false positives, T - I the false negatives.
    def ratio(i: Tensor, p: Tensor, t: Tensor) -> tuple[Tensor, Tensor]:
        return i + smooth, i + alpha * (p - i) + beta * (t - i) + smooth

    return ratio, 1.0, 1.0 - alpha - beta, alpha


class _Overlap(torch.autograd.Function):
    r"""``1 - numerator / denominator`` of the statistics, per sample and class.

    Inputs are laid out as ``[B, C, N]`` (scores) and ``[B, C, N]`` (masks) or ``[B, N]``
    (int64 labels, 0 where ``keep``, the mask of positions not ignored, is False).  Backward: with upstream gradient
    :math:`g` and :math:`r` the ratio, :math:`G_I = -g\,(n_I - r d_I)/d` and
    :math:`G_P = g\, r\, d_P / d` per sample and class, the gradient with respect to the
    probabilities is :math:`a = G_P\,\mathrm{keep} + G_I\, t`; through a softmax over the
    classes it is :math:`p\,(a - \sum_c p\, a)`, through a sigmoid :math:`a\, p (1 - p)`.
    A ratio whose denominator is 0 (empty masks, no smoothing) scores 0 with no gradient.

    The probabilities computed in forward are handed to the first backward, which
    overwrites them with the gradient; a second backward (``retain_graph``) recomputes them.
    """

    @staticmethod
    def forward(
        ctx: Any,
        scores: Tensor,
        target: Tensor,
        keep: Tensor | None,
        ratio: Ratio,
        activation: str | None,
        batch: bool,
        recompute: Callable[[Tensor, Tensor], Tensor],
    ) -> Tensor:
        dtype = compute_dtype(scores.dtype)
        prob = _activate(scores, activation, dtype)
        p_true = None
        # integer labels on CPU: compiled kernels when numba is installed
        ctx.native = not target.is_floating_point() and _overlap_kernels.usable(prob)
        if ctx.native:
            inter, p_sum, t_sum = _overlap_kernels.label_statistics(prob, target, keep).unbind(1)
        elif not target.is_floating_point():
            inter, p_sum, t_sum, p_true = _label_statistics(prob, target, keep)
        else:
            t = target.to(dtype)
            # (p * t).sum(-1) as batched dot products: no [B, C, N] product is built.
            inter = torch.einsum("bcn,bcn->bc", prob, t)
            p_sum, t_sum = prob.sum(-1), t.sum(-1)
        if batch:
            inter, p_sum, t_sum = inter.sum(0), p_sum.sum(0), t_sum.sum(0)
        numerator, denominator = ratio[0](inter, p_sum, t_sum)
        empty = denominator == 0
        safe = torch.where(empty, 1.0, denominator)
        ratio_value = torch.where(empty, 1.0, numerator / safe)
        ctx.ratio, ctx.activation, ctx.batch = ratio, activation, batch
        # Handed to the first backward, which overwrites them; a second one recomputes them.
        ctx.prob, ctx.p_true = prob, p_true
        ctx.recompute = recompute
        ctx.save_for_backward(scores, target, keep, ratio_value, safe, empty)
        return 1.0 - ratio_value

    @staticmethod
    def backward(ctx: Any, grad_output: Tensor) -> tuple[Tensor | None, ...]:
        scores, target, keep, ratio_value, denominator, empty = ctx.saved_tensors
        nones = (None,) * 6
        if torch.is_grad_enabled():  # create_graph=True: a differentiable gradient
            needs = (ctx.needs_input_grad[0], False)
            (grad,) = generic_backward(ctx.recompute, (scores, target), needs, grad_output)[:1]
            return grad, *nones
        _, d_numerator, d_denominator_i, d_denominator_p = ctx.ratio
        dtype = ratio_value.dtype
        g = torch.where(empty, 0.0, grad_output.to(dtype) / denominator)
        grad_inter = -g * (d_numerator - ratio_value * d_denominator_i)
        grad_psum = g * ratio_value * d_denominator_p
        if ctx.batch:
            batch_size = scores.shape[0]
            grad_inter = grad_inter.expand(batch_size, -1)
            grad_psum = grad_psum.expand(batch_size, -1)
        prob, p_true, ctx.prob, ctx.p_true = ctx.prob, ctx.p_true, None, None
        labels = not target.is_floating_point()
        native = ctx.native and ctx.activation == "softmax"
        if prob is None:  # a second backward (retain_graph=True): recompute
            prob = _activate(scores, ctx.activation, dtype)
            if labels and not native:
                p_true = _true_class(prob, target, keep)
        if native:
            _overlap_kernels.softmax_gradient_(prob, target, keep, grad_psum, grad_inter)
            grad = prob
        elif labels:
            grad = _label_gradient(
                prob, p_true, target, keep, grad_inter, grad_psum, ctx.activation
            )
        else:
            grad = _mask_gradient(prob, target.to(dtype), grad_inter, grad_psum, ctx.activation)
        return grad.to(scores.dtype), *nones


def _activate(scores: Tensor, activation: str | None, dtype: torch.dtype) -> Tensor:
    """Probabilities in ``dtype``: a new tensor after an activation (backward may overwrite
    it), the scores themselves without one (backward then only reads them)."""
    x = scores.to(dtype)
    if activation == "softmax":
        return torch.softmax(x, 1)
    if activation == "sigmoid":
        return torch.sigmoid(x)
    return x


def _true_class(prob: Tensor, labels: Tensor, keep: Tensor | None) -> Tensor:
    """The probability of each element's own class, ``[B, N]``, 0 where ignored.

    ``gather`` raises on a label out of range: this is the fast path's label check."""
    p_true = prob.gather(1, labels.unsqueeze(1)).squeeze(1)
    return p_true if keep is None else p_true.mul_(keep)


def _label_statistics(
    prob: Tensor, labels: Tensor, keep: Tensor | None
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """I, P, T per sample and class from int64 labels ``[B, N]`` (0 where ignored), and the
    probability of each element's own class (for backward).

    I_c is the sum of ``p_true`` over class c's positions (``p_true = p_c`` there) and T_c
    their count: both are sums by label, :func:`_sums_by_label`.
    """
    num_classes = prob.shape[1]
    p_true = _true_class(prob, labels, keep)
    if keep is None:
        p_sum = prob.sum(-1)
        counted = prob.new_ones(()).expand(labels.shape)
    else:
        counted = keep.to(prob.dtype)
        # sum of p over the kept positions, per class: batched matrix-vector products
        p_sum = torch.bmm(prob, counted.unsqueeze(-1)).squeeze(-1)
    inter = _sums_by_label(p_true, labels, num_classes)
    t_sum = _sums_by_label(counted, labels, num_classes)
    return inter, p_sum, t_sum, p_true


#: positions per partial sum in :func:`_sums_by_label`
CHUNK = 1024


def _sums_by_label(values: Tensor, labels: Tensor, num_classes: int) -> Tensor:
    """``out[b, c] = sum of values[b, n] over the n with labels[b, n] == c``: ``[B, N] ->
    [B, C]``, with no one-hot tensor.

    One ``scatter_add`` into per-chunk partial sums of :data:`CHUNK` positions, then a
    (pairwise) ``sum`` of the partials: each float32 accumulation runs over at most
    CHUNK terms, so the result is as accurate as ``torch.sum``, where one scatter_add per
    row would stop adding small terms once the sum is large; and the chunks run in
    parallel.
    """
    batch, positions = labels.shape
    head = positions - positions % CHUNK
    parts = [values.new_zeros(batch, 1, num_classes)]  # also the result when N = 0
    if head:
        shape = (batch, head // CHUNK, CHUNK)
        partial = values.new_zeros(batch, head // CHUNK, num_classes)
        partial.scatter_add_(2, labels[:, :head].reshape(shape), values[:, :head].reshape(shape))
        parts.append(partial)
    if head < positions:
        parts[0].scatter_add_(2, labels[:, None, head:], values[:, None, head:])
    return torch.cat(parts, 1).sum(1)


def _label_gradient(
    prob: Tensor,
    p_true: Tensor,
    labels: Tensor,
    keep: Tensor | None,
    grad_inter: Tensor,
    grad_psum: Tensor,
    activation: str | None,
) -> Tensor:
    """Gradient with respect to the scores, from int64 labels, written into ``prob``.

    With :math:`a_c = G_P[c]\\,\\mathrm{keep} + G_I[c]\\,[y = c]` (the gradient with
    respect to :math:`p_c`), the softmax gradient is :math:`p_c (G_P[c]\\,\\mathrm{keep}
    - s) + [y = c]\\, L` with :math:`L = p_y G_I[y]` and :math:`s = \\mathrm{keep} \\sum_c
    p_c G_P[c] + L`: one class at a time in place, then :math:`L` added at the labels.
    Few, large operations: each one costs a thread wake-up on a busy machine.
    """
    kept = None if keep is None else keep.to(prob.dtype)
    index = labels.unsqueeze(1)
    if activation != "softmax":  # probabilities given directly: the gradient is a itself
        grad = grad_psum.unsqueeze(-1).expand_as(prob)
        grad = grad * kept.unsqueeze(1) if kept is not None else grad.clone()
        direct = grad_inter.gather(1, labels)
        if kept is not None:
            direct.mul_(kept)
        return grad.scatter_add_(1, index, direct.unsqueeze(1))
    label_term = p_true.mul_(grad_inter.gather(1, labels))  # L, in p_true's buffer
    # -s = -(sum_c p_c G_P[c]) keep - L (batched vector-matrix products)
    factor = torch.bmm(grad_psum.neg().unsqueeze(1), prob).squeeze(1)
    if kept is not None:
        factor.mul_(kept)
    factor.sub_(label_term)
    # Class c's factor G_P[c] keep - s: one buffer, moved on by G_P[c] - G_P[c - 1] per class.
    previous = torch.zeros_like(grad_psum[:, :1])
    for c in range(prob.shape[1]):
        shift = grad_psum[:, c : c + 1]
        if kept is None:
            factor.add_(shift - previous)
        else:
            factor.addcmul_(kept, shift - previous)
        prob[:, c].mul_(factor)
        previous = shift
    return prob.scatter_add_(1, index, label_term.unsqueeze(1))


def _mask_gradient(
    prob: Tensor,
    target: Tensor,
    grad_inter: Tensor,
    grad_psum: Tensor,
    activation: str | None,
) -> Tensor:
    """Gradient with respect to the scores for floating target masks."""
    grad = target * grad_inter.unsqueeze(-1) + grad_psum.unsqueeze(-1)
    if activation == "softmax":
        s = (prob * grad).sum(1, keepdim=True)
        return prob.mul_(grad - s)
    if activation == "sigmoid":
        return grad.mul_(prob * (1.0 - prob))
    return grad


# ---------------------------------------------------------------------------- inputs


def _overlap(
    pred: Any,
    target: Any,
    ratio: Ratio,
    generic: Callable[..., Any],
    *,
    from_logits: bool,
    axis: Any,
    batch: bool,
    class_weights: Any,
    exclude_class: Any,
    ignore_index: Any,
    reduction: str,
    weights: Any,
    options: dict[str, Any],
) -> Tensor:
    """The generic code's checks (:func:`~losskit.losses.segmentation._check_inputs`),
    with value checks screened by one pass and the label range left to the gather, then
    the fused statistics on ``[B, C, N]`` scores."""
    torch_namespace(pred=pred, target=target)
    if isinstance(target, Tensor) and target.requires_grad:
        return NotImplemented
    target, axis, kind = _check_inputs(
        pred,
        target,
        axis=axis,
        from_logits=from_logits,
        ignore_index=ignore_index,
        xp=xp,
        screen=screen,
        check_label_range=False,
    )
    keep = None
    binary = kind == "binary"
    if binary:
        num_classes = 1
        scores = pred.reshape(pred.shape[0], 1, math.prod(pred.shape[1:]))
        layout = target.reshape(scores.shape)
    else:
        num_classes = pred.shape[axis]
        moved = pred if axis == 1 else torch.movedim(pred, axis, 1)
        # the sizes are spelled out: -1 is ambiguous for an empty batch
        positions = math.prod(moved.shape[2:])
        scores = moved.reshape(pred.shape[0], num_classes, positions)
        if kind == "masks":
            moved_target = target if axis == 1 else torch.movedim(target, axis, 1)
            layout = moved_target.reshape(scores.shape)
        else:
            layout = target.reshape(pred.shape[0], positions).long()
            if ignore_index is not None:
                keep = layout != ignore_index
                layout = torch.where(keep, layout, 0)
    # _class_weights and _finish read the mode, the class count and the dtypes off _Masks.
    empty = scores.new_empty((0,), dtype=compute_dtype(pred.dtype))
    masks = _Masks(xp, empty, None, None, keep, pred.dtype, binary, num_classes)
    w = _class_weights(masks, class_weights, exclude_class, pred, axis)
    activation = ("sigmoid" if binary else "softmax") if from_logits else None

    def recompute(scores: Tensor, layout: Tensor) -> Tensor:
        """The function's output through the generic implementation (double backward)."""
        common = {"from_logits": from_logits, "batch": batch, "reduction": "none", **options}
        if binary:
            return generic(scores[:, 0], layout[:, 0], axis=None, **common).unsqueeze(-1)
        if not layout.is_floating_point():  # the caller's labels, ignored ones included
            layout = target.reshape(pred.shape[0], scores.shape[2])
        return generic(scores, layout, axis=1, ignore_index=ignore_index, **common)

    arguments = (scores, layout, keep, ratio, activation, batch, recompute)
    if layout.is_floating_point() or not value_checks_run(layout):
        loss = _Overlap.apply(*arguments)
    else:
        # The label range is checked by the gather of each position's own class, which
        # raises on an index out of range: no separate pass over the labels.  Its error
        # is replaced by the core check's message.
        try:
            loss = _Overlap.apply(*arguments)
        except (RuntimeError, IndexError):
            check_labels(target, num_classes, "target", xp, ignore_index=ignore_index)
            raise
    return _finish(loss, masks, w, reduction, weights)


def _overlap_fast_path(
    name: str, make_ratio: Callable[..., Ratio], **ratio_defaults: float
) -> Callable[..., Any]:
    """The fast path of one overlap loss: its own option checks, then :func:`_overlap`.

    ``ratio_defaults`` are the loss's extra options (Tversky's ``alpha`` and ``beta``).
    """

    @fast_path(name)
    def loss(
        pred: Any,
        target: Any,
        *,
        from_logits: bool = False,
        axis: Any = None,
        batch: bool = False,
        smooth: Any = 1.0,
        class_weights: Any = None,
        exclude_class: Any = None,
        ignore_index: Any = None,
        reduction: str = "mean",
        weights: Any = None,
        **ratio_options: Any,
    ) -> Tensor:
        if not set(ratio_options) <= set(ratio_defaults):
            return NotImplemented  # the generic function raises its TypeError
        ratio_options = {**ratio_defaults, **ratio_options}
        if not all(is_number(v) for v in (smooth, *ratio_options.values())):
            return NotImplemented
        options = {"smooth": smooth, **ratio_options}
        return _overlap(
            pred,
            target,
            make_ratio(**{k: float(v) for k, v in options.items()}),
            loss.generic,  # type: ignore[attr-defined]
            from_logits=from_logits,
            axis=axis,
            batch=batch,
            class_weights=class_weights,
            exclude_class=exclude_class,
            ignore_index=ignore_index,
            reduction=reduction,
            weights=weights,
            options=options,
        )

    return loss


dice = _overlap_fast_path("dice", _dice_ratio)
jaccard = _overlap_fast_path("jaccard", _jaccard_ratio)
tversky = _overlap_fast_path("tversky", _tversky_ratio, alpha=0.5, beta=0.5)
