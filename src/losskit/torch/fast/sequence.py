"""PyTorch kernel of the sequence losses (override of :mod:`losskit.losses.sequence`).

CTC runs PyTorch's own CTC kernels (``F.ctc_loss``'s forward and backward; float32 and
float64 on the CPU), compiled loops over time where the generic kernel records T steps
for autograd.  They sit in an autograd Function that bridges two differences:

- PyTorch's backward returns :math:`e^{\\log p} - \\gamma` (the gradient with respect to
  the logits of a log-softmax, :math:`\\gamma` the posterior of each class at each
  frame) where the gradient with respect to the log-probabilities is :math:`-\\gamma`;
  the two agree only through a log-softmax.  Backward subtracts :math:`e^{\\log p}` on
  the frames before ``input_lengths``, so the gradient is right for log-probabilities
  from anywhere (and unchanged through a log-softmax);
- PyTorch's backward computes each posterior as :math:`e^{\\alpha + \\beta - \\log p}`
  from three numbers of the size of the loss, so in float32 its error is eps times the
  loss, not eps (6e-5 on posteriors of 1 at a loss of 827).  When a gradient is asked
  for, float32 log-probabilities run both kernels in float64 (about 1.4 x the float32
  time, still an order of magnitude under the generic recursion's) and the gradient is
  rounded back; a loss without a gradient stays in float32;
- PyTorch's gradient is NaN where a log-probability is -inf or the loss is inf.  The
  log-probabilities are clamped at -1e30 (a loss above 1e29 went through the clamp: its
  probability is 0, and it is inf), and ``zero_infinity=True`` is always passed, the inf
  of an impossible sequence (too few frames for its labels) put back after, with a zero
  gradient, as the generic kernel's.

A gradient asked for with ``create_graph=True`` comes from the generic kernel (PyTorch's
CTC backward is not differentiable), and so does the loss under ``torch.compile`` (the
shape of PyTorch's alphas depends on the values of the target lengths, which breaks the
graph).
"""

from __future__ import annotations

import math
from typing import Any

import torch

from losskit.core.kernels import override
from losskit.losses.sequence import ctc_alignment_nll
from losskit.torch.fast._common import generic_backward, xp

Tensor = torch.Tensor

#: log-probabilities below this are -inf to PyTorch's kernel (finite: no NaN gradient)
LOG_ZERO = -1e30
#: a loss above this went through a clamped -inf: it is inf
IMPOSSIBLE = 1e29


def _needed_frames(target: Tensor, target_lengths: Tensor) -> Tensor:
    """Frames a target needs: one per label, and a blank between two equal labels."""
    width = target.shape[1]
    if width < 2:
        return target_lengths
    positions = torch.arange(1, width, device=target.device)
    repeats = (target[:, 1:] == target[:, :-1]) & (positions < target_lengths[:, None])
    return target_lengths + repeats.sum(1)


def _generic(log_probs: Tensor, *lengths_and_target: Tensor, blank: int) -> Tensor:
    return ctc_alignment_nll.generic(log_probs, *lengths_and_target, blank=blank, xp=xp)  # type: ignore[attr-defined]


class _CTC(torch.autograd.Function):
    """-log p of each sequence by PyTorch's CTC kernels, with the gradient with respect
    to the log-probabilities themselves (see the module docstring)."""

    @staticmethod
    def forward(
        ctx: Any,
        log_probs: Tensor,
        target: Tensor,
        input_lengths: Tensor,
        target_lengths: Tensor,
        blank: int,
    ) -> Tensor:
        # float64 for a gradient: the posteriors' error is eps times the loss (docstring)
        work = log_probs.double() if ctx.needs_input_grad[0] else log_probs
        clamped = work.clamp(min=LOG_ZERO).transpose(0, 1)  # PyTorch's [T, B, C]
        nll, log_alpha = torch.ops.aten._ctc_loss.Tensor(
            clamped, target, input_lengths, target_lengths, blank, True
        )
        ctx.blank = blank
        ctx.save_for_backward(log_probs, target, input_lengths, target_lengths, nll, log_alpha)
        return nll.to(log_probs.dtype)

    @staticmethod
    def backward(ctx: Any, grad_output: Tensor) -> tuple[Tensor | None, ...]:
        log_probs, target, input_lengths, target_lengths, nll, log_alpha = ctx.saved_tensors
        if not ctx.needs_input_grad[0]:
            return (None,) * 5
        arrays = (log_probs, target, input_lengths, target_lengths)
        if torch.is_grad_enabled():  # create_graph=True: a differentiable gradient
            (grad, *_) = generic_backward(
                _generic, arrays, (True, False, False, False), grad_output, blank=ctx.blank
            )
            return grad, None, None, None, None
        clamped = log_probs.to(nll.dtype).clamp(min=LOG_ZERO)
        grad = torch.ops.aten._ctc_loss_backward.Tensor(
            grad_output.to(nll.dtype),
            clamped.transpose(0, 1),
            target,
            input_lengths,
            target_lengths,
            nll,
            log_alpha,
            ctx.blank,
            True,
        ).transpose(0, 1)
        # PyTorch's exp(log p) - posterior, to -posterior on the frames read; the clamp's
        # gradient is 0 below LOG_ZERO.
        frames = torch.arange(log_probs.shape[1], device=log_probs.device)
        read = (frames < input_lengths[:, None])[:, :, None] & (log_probs >= LOG_ZERO)
        grad = torch.where(read, grad - clamped.exp() * grad_output[:, None, None], 0.0)
        return grad.to(log_probs.dtype), None, None, None, None


@override(ctc_alignment_nll, "torch")
def _ctc_alignment_nll(
    log_probs: Tensor,
    target: Tensor,
    input_lengths: Tensor,
    target_lengths: Tensor,
    *,
    blank: int,
    xp: Any,
) -> Any:
    if log_probs.device.type != "cpu" or log_probs.dtype not in (torch.float32, torch.float64):
        return NotImplemented
    if log_probs.shape[0] == 0 or log_probs.shape[1] == 0:
        return NotImplemented
    if torch.compiler.is_compiling():
        # aten's CTC returns alphas whose shape depends on the target lengths' values,
        # which torch.compile cannot trace as one graph: the generic recursion traces.
        return NotImplemented
    target = target.long()
    input_lengths = input_lengths.long()
    target_lengths = target_lengths.long()
    # Padding past target_lengths may hold anything: make it a class index.
    used = torch.arange(target.shape[1], device=target.device) < target_lengths[:, None]
    target = torch.where(used, target, blank)
    nll = _CTC.apply(log_probs, target, input_lengths, target_lengths, blank)
    impossible = (_needed_frames(target, target_lengths) > input_lengths) | (nll > IMPOSSIBLE)
    return torch.where(impossible, math.inf, nll)
