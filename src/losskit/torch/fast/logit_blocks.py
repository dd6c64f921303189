r"""Cross-entropy statistics and gradient of a block of logits.

One kernel for every loss that takes a softmax cross-entropy over a vocabulary too large
to hold at once: :func:`losskit.torch.linear_cross_entropy` feeds it one chunk of tokens
at a time (the block is the whole vocabulary), and
:func:`losskit.torch.distributed.vocab_parallel_cross_entropy` feeds it each rank's
slice of the vocabulary (the block is a slice; statistics are combined over the ranks).

For a token with label :math:`y`, raw logits :math:`r` over :math:`V` classes, capped
logits :math:`x = \operatorname{softcap}(r)` and :math:`\lambda = \log \sum_c e^{x_c}`:

.. math::
    \ell = \lambda - (1 - s)\, x_y - \frac{s}{V} \sum_c x_c + z\, \lambda^2,
    \qquad
    \frac{\partial \ell}{\partial r} = \Big[(1 + 2 z \lambda)\, \mathrm{softmax}(x)
    - (1 - s)\, e_y - \frac{s}{V}\Big] \odot \operatorname{softcap}'(r),

with label smoothing :math:`s`, z-loss weight :math:`z` and :math:`\operatorname{softcap}
(r) = c \tanh(r / c)`, whose derivative is :math:`1 - \tanh^2(r / c)` (or the identity,
derivative 1).  Every term of the gradient is local to a block once :math:`\lambda` is
known, and :math:`\lambda` needs only two numbers per token from each block: its maximum
and its sum of exponentials.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch

__all__ = ["VocabularySlice", "cross_entropy_block"]

#: all_reduce(x, op) returns the elementwise max or sum of ``x`` over every block.
AllReduce = Callable[[torch.Tensor, Literal["max", "sum"]], torch.Tensor]


@dataclass(frozen=True)
class VocabularySlice:
    """Where a block of logits sits in the whole vocabulary, and how to combine blocks.

    Attributes:
        start: global index of the block's first class.
        num_classes: :math:`V`, the size of the whole vocabulary.
        all_reduce: combines a per-token statistic over every block (e.g. an all-reduce
            over the ranks that hold the other slices).
    """

    start: int
    num_classes: int
    all_reduce: AllReduce


def cross_entropy_block(
    logits: torch.Tensor,
    target: torch.Tensor,
    *,
    label_smoothing: float,
    z_loss: float,
    softcap: float | None,
    want_grad: bool,
    vocabulary: VocabularySlice | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    r"""Per-token loss :math:`\ell` and gradient :math:`\partial \ell / \partial r` of a block.

    Args:
        logits: raw logits :math:`r`, ``[V_b, T]`` (classes first, one column per token),
            float32 or float64.  The kernel owns this buffer and works in place on it
            (without a softcap the gradient is returned in it).
        target: ``[T]`` global class labels (int64).  A label outside the block
            contributes nothing here; a label outside every block (an ignored token)
            gives a loss without its target term, for the caller to mask.
        label_smoothing, z_loss, softcap: :math:`s`, :math:`z` and :math:`c` (None: no cap).
        want_grad: whether to compute the gradient (else ``None`` is returned for it).
        vocabulary: the block's place in a split vocabulary; None when the block holds
            every class.

    Returns:
        ``(loss, grad)``: ``[T]`` losses (the same in every block) and ``[V_b, T]``
        gradients with respect to ``logits`` (this block's columns of the whole one).
    """
    num_block = logits.shape[0]
    if vocabulary is None:
        start, num_classes, all_reduce = 0, num_block, _within_block
    else:
        start, num_classes = vocabulary.start, vocabulary.num_classes
        all_reduce = vocabulary.all_reduce
    x = logits
    tanh = None
    if softcap is not None:
        # softcap(r) = c tanh(r / c); its derivative 1 - tanh² needs tanh, kept aside.
        tanh = x.div_(softcap).tanh_()
        x = tanh * softcap
    tokens = torch.arange(x.shape[1], device=x.device)
    local = target - start
    held = (local >= 0) & (local < num_block)
    local = torch.where(held, local, 0)  # a valid row for the gather; masked by `held`
    # lse(x) = m + log Σ exp(x - m) with m the max over every block: exp(x - m) <= 1, no
    # overflow.  Any m would do (it cancels); the max keeps the largest term exactly 1.
    shift = all_reduce(x.amax(dim=0), "max")
    pieces = [torch.where(held, x[local, tokens], 0.0)]
    if label_smoothing:
        pieces.append(x.sum(dim=0))
    exp = x.sub_(shift).exp_()  # x now holds exp(x - m), in place
    # Σ exp, the target's logit (held by one block) and Σ x travel in one all_reduce.
    sums = all_reduce(torch.stack([exp.sum(dim=0), *pieces]), "sum")
    sum_exp, target_logit = sums[0], sums[1]
    log_sum = sum_exp.log()
    lse = shift + log_sum
    # lse - (1 - s) x_y - s mean(x) as log Σ + (1 - s)(m - x_y) + s (m - mean(x)): m + log Σ
    # would round log Σ to the spacing of m (losskit.core.primitives.logsumexp_parts)
    loss = (1.0 - label_smoothing) * (shift - target_logit)
    if label_smoothing:
        loss += label_smoothing * (shift - sums[2] / num_classes)
    loss += log_sum
    if z_loss:
        loss += z_loss * lse.square()
    if not want_grad:
        return loss, None
    grad = exp.div_(sum_exp)  # softmax(x), in place
    if z_loss:
        # d(z λ²)/dx = 2 z λ dλ/dx = 2 z λ softmax(x): folds into the softmax term.
        grad.mul_(1.0 + 2.0 * z_loss * lse)
    if label_smoothing:
        grad.sub_(label_smoothing / num_classes)
    grad[local, tokens] -= (1.0 - label_smoothing) * held.to(grad.dtype)
    if tanh is not None:
        # Chain rule through the cap: d softcap(r)/dr = 1 - tanh²(r / c).
        grad.mul_(tanh.square_().neg_().add_(1.0))
    return loss, grad


def _within_block(x: torch.Tensor, op: Literal["max", "sum"]) -> torch.Tensor:
    """The block is the whole vocabulary: its statistics are already the totals."""
    return x
