"""The PyTorch kernel of the overlap losses (Dice, soft IoU, Tversky, focal Tversky).

Every overlap loss is a function of three statistics per sample and class, the soft
intersection :math:`I = \\sum p t`, the prediction mass :math:`P = \\sum p` and the
target mass :math:`T = \\sum t` (:func:`losskit.losses.segmentation.overlap_statistics`).
This module overrides that kernel for PyTorch tensors with one
:class:`torch.autograd.Function` and its analytic backward; the ratios, ``batch``, the
all-reduce of :mod:`losskit.torch.distributed`, class weights and the reduction stay the
generic code's, on the small ``[B, C]`` statistics.

With integer labels on CPU and numba installed, the statistics and the gradient through
the softmax are one compiled pass each (:mod:`~losskit.torch.fast._overlap_kernels`).
Otherwise no one-hot tensor is built either: I and T are sums of each position's own
probability and of ones by label (``scatter_add`` into per-chunk partial sums), and the
gradient is written into the probabilities in place, one class slice at a time, with its
label term added by one ``scatter_add``.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from typing import Any

import torch

from losskit.core.kernels import override
from losskit.core.validation import check_labels, reads_values
from losskit.losses.segmentation import check_input_values, overlap_statistics
from losskit.torch.fast import _overlap_kernels
from losskit.torch.fast._common import compute_dtype, generic_backward, screen

Tensor = torch.Tensor


@override(overlap_statistics, "torch")
def _overlap_statistics(
    pred: Tensor,
    target: Tensor,
    *,
    axis: int | None,
    from_logits: bool,
    ignore_index: int | None,
    xp: Any,
) -> Any:
    """The statistics I, P, T ``[B, C]`` of checked inputs, through :class:`_Statistics`.

    The value checks are the generic kernel's, screened by one pass (masks, probabilities)
    or left to the first read of the labels (their range).  A target that itself requires
    a gradient goes to the generic kernel (the analytic backward is for ``pred`` only).
    """
    if target.requires_grad:
        return NotImplemented
    classes = 1 if axis is None else pred.shape[axis]
    check_input_values(
        pred,
        target,
        classes=classes,
        from_logits=from_logits,
        ignore_index=ignore_index,
        xp=xp,
        screen=screen,
        check_label_range=False,
    )
    batch = pred.shape[0]
    keep = None
    if axis is None:
        scores = pred.reshape(batch, 1, math.prod(pred.shape[1:]))
        layout = target.reshape(scores.shape)
    else:
        moved = pred if axis == 1 else torch.movedim(pred, axis, 1)
        # the sizes are spelled out: -1 is ambiguous for an empty batch
        positions = math.prod(moved.shape[2:])
        scores = moved.reshape(batch, classes, positions)
        if target.ndim == pred.ndim:
            moved_target = target if axis == 1 else torch.movedim(target, axis, 1)
            layout = moved_target.reshape(scores.shape)
        else:
            layout = target.reshape(batch, positions).long()
            if ignore_index is not None:
                keep = layout != ignore_index
                layout = torch.where(keep, layout, 0)
    activation = ("sigmoid" if axis is None else "softmax") if from_logits else None

    def recompute(scores: Tensor) -> Tensor:
        """The function's output through the generic kernel (double backward)."""
        options = {"from_logits": from_logits, "ignore_index": ignore_index, "xp": xp}
        if axis is None:
            generic = overlap_statistics.generic(scores[:, 0], layout[:, 0], axis=None, **options)
        else:  # masks, or the caller's labels (ignored ones included)
            labels = layout if layout.is_floating_point() else target.reshape(layout.shape)
            generic = overlap_statistics.generic(scores, labels, axis=1, **options)
        return torch.stack(generic)

    arguments = (scores, layout, keep, activation, recompute)
    with _without_autocast(pred):
        if layout.is_floating_point() or not reads_values(layout):
            statistics = _Statistics.apply(*arguments)
        else:
            # The label range is checked by the first read of the labels (a gather, or the
            # compiled kernel), which raises on a label out of range: no separate pass over
            # the labels.  Its error is replaced by the generic check's message.
            try:
                statistics = _Statistics.apply(*arguments)
            except (RuntimeError, IndexError):
                check_labels(target, classes, "target", xp, ignore_index=ignore_index)
                raise
    return statistics.unbind(0)


def _without_autocast(x: Tensor) -> contextlib.AbstractContextManager[Any]:
    """Autocast off on ``x``'s device: the statistics and their gradient are computed in
    the compute dtype, where autocast would run the batched products in 16 bits."""
    if torch.is_autocast_enabled(x.device.type):
        return torch.autocast(x.device.type, enabled=False)
    return contextlib.nullcontext()


class _Statistics(torch.autograd.Function):
    r"""The statistics ``[3, B, C]`` (I, P, T) of scores ``[B, C, N]`` against masks
    ``[B, C, N]`` or int64 labels ``[B, N]`` (0 where ``keep``, the mask of positions
    not ignored, is False).

    Backward: T does not depend on the scores; with the upstream gradients :math:`G_I`
    and :math:`G_P` of I and P, the gradient with respect to the probabilities is
    :math:`a = G_P\,\mathrm{keep} + G_I\, t`; through a softmax over the classes it is
    :math:`p\,(a - \sum_c p\, a)`, through a sigmoid :math:`a\, p (1 - p)`.

    The probabilities computed in forward are handed to the first backward, which
    overwrites them with the gradient; a second backward (``retain_graph``) recomputes
    them, and a differentiable one (``create_graph``) runs the generic kernel.
    """

    @staticmethod
    def forward(
        ctx: Any,
        scores: Tensor,
        target: Tensor,
        keep: Tensor | None,
        activation: str | None,
        recompute: Callable[[Tensor], Tensor],
    ) -> Tensor:
        dtype = compute_dtype(scores.dtype)
        prob = _activate(scores, activation, dtype)
        p_true = None
        labels = not target.is_floating_point()
        # integer labels on CPU: compiled kernels when numba is installed
        ctx.native = labels and _overlap_kernels.usable(prob)
        if ctx.native:
            statistics = _overlap_kernels.label_statistics(prob, target, keep).movedim(1, 0)
        elif labels:
            inter, p_sum, t_sum, p_true = _label_statistics(prob, target, keep)
            statistics = torch.stack([inter, p_sum, t_sum])
        else:
            t = target.to(dtype)
            # (p * t).sum(-1) as batched dot products: no [B, C, N] product is built.
            inter = torch.einsum("bcn,bcn->bc", prob, t)
            statistics = torch.stack([inter, prob.sum(-1), t.sum(-1)])
        ctx.activation = activation
        # Handed to the first backward, which overwrites them; a second one recomputes them.
        ctx.prob, ctx.p_true = prob, p_true
        ctx.recompute = recompute
        ctx.save_for_backward(scores, target, keep)
        return statistics

    @staticmethod
    def backward(ctx: Any, grad_statistics: Tensor) -> tuple[Tensor | None, ...]:
        scores, target, keep = ctx.saved_tensors
        nones = (None,) * 4
        if torch.is_grad_enabled():  # create_graph=True: a differentiable gradient
            (grad,) = generic_backward(ctx.recompute, (scores,), (True,), grad_statistics)
            return grad, *nones
        with _without_autocast(scores):
            return _Statistics.gradient(ctx, scores, target, keep, grad_statistics), *nones

    @staticmethod
    def gradient(
        ctx: Any, scores: Tensor, target: Tensor, keep: Tensor | None, grad_statistics: Tensor
    ) -> Tensor:
        """The analytic gradient with respect to the scores."""
        dtype = compute_dtype(scores.dtype)
        grad_inter, grad_psum = grad_statistics[0].to(dtype), grad_statistics[1].to(dtype)
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
        return grad.to(scores.dtype)


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

    ``gather`` raises on a label out of range: this is the PyTorch kernel's label check."""
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
