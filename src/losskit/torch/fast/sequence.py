"""PyTorch kernel of the sequence losses (override of :mod:`losskit.losses.sequence`).

CTC runs PyTorch's own ``F.ctc_loss`` (float32 and float64 on the CPU), whose forward and
backward are compiled loops over time, where the generic kernel records T steps for
autograd.  Two differences of convention are bridged here:

- PyTorch's backward returns :math:`e^{\\log p} - \\gamma` (the gradient with respect to
  the logits of a log-softmax, :math:`\\gamma` the posterior of each class at each frame)
  where the gradient with respect to the log-probabilities is :math:`-\\gamma`; the two
  agree only through a log-softmax.  A term of value 0 whose gradient is
  :math:`-e^{\\log p}` on the frames before ``input_lengths`` restores the exact gradient,
  so it is right for log-probabilities from anywhere (and the same through a log-softmax);
- PyTorch's gradient is NaN where a log-probability is -inf or the loss is inf.  The
  log-probabilities are clamped at -1e30 (a path through the clamp has log-probability
  below -1e29, which is read as 0: inf), and ``zero_infinity=True`` is always passed, the
  inf of an impossible sequence (too few frames for its labels) put back after; the
  gradient there is 0, as the generic kernel's.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from losskit.core.kernels import override
from losskit.losses.sequence import ctc_alignment_nll

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
    batch, frames, _ = log_probs.shape
    if batch == 0 or frames == 0:
        return NotImplemented
    target = target.long()
    input_lengths = input_lengths.long()
    target_lengths = target_lengths.long()
    # Padding past target_lengths may hold anything; PyTorch reads only what it needs, but
    # keep it a class index.
    used = torch.arange(target.shape[1], device=target.device) < target_lengths[:, None]
    target = torch.where(used, target, blank)
    clamped = log_probs.clamp(min=LOG_ZERO)
    nll = F.ctc_loss(
        clamped.transpose(0, 1),
        target,
        input_lengths,
        target_lengths,
        blank=blank,
        reduction="none",
        zero_infinity=True,
    )
    # A term of value 0 (x - x) with gradient exp(log p) on the frames before
    # input_lengths: subtracted, it turns PyTorch's exp(log p) - posterior into -posterior.
    frame = torch.arange(frames, device=log_probs.device) < input_lengths[:, None]
    detached = clamped.detach()
    zero = torch.where(frame[:, :, None], clamped - detached, 0.0)
    nll = nll - (detached.exp() * zero).sum((1, 2))
    impossible = (_needed_frames(target, target_lengths) > input_lengths) | (nll > IMPOSSIBLE)
    return torch.where(impossible, math.inf, nll)
