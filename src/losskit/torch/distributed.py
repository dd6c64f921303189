"""Losses normalised over a whole global batch, across micro-batches and ranks.

Averages of per-micro-batch or per-rank losses are not the loss of the global batch:
a mean over tokens weighs each micro-batch's tokens by its own count, and a Dice score
computed per rank is not the Dice score of the whole batch.  The helpers here take
their statistics across every rank with :mod:`torch.distributed` (any backend: gloo on
CPU, NCCL on GPU) so that the loss and the gradients equal those of the single-process
computation on the concatenated batch.  Without an initialised process group they work
on the local process alone (a world of one).

Gradient conventions:

- *Data parallel* (:class:`GlobalTokenMean`, :func:`global_dice`,
  :func:`global_soft_iou`, :func:`global_tversky`): the model is replicated and
  ``DistributedDataParallel`` (or FSDP) *averages* the gradients over the ``R`` ranks.
  Each rank's loss is built so that this average is the gradient of the global loss:
  every rank computes ``R`` times its share of the full-batch gradient.
- *Tensor parallel* (:func:`vocab_parallel_cross_entropy`): each rank holds a block of
  the output layer; the loss is the same on every rank, each rank gets the exact
  gradient of its own block, and the replicated ``hidden`` gets the full gradient.
"""

from __future__ import annotations

import inspect
import textwrap
from collections.abc import Callable, Sequence
from typing import Any

import array_api_compat.torch as torch_xp
import torch
import torch.distributed as dist
import torch.nn.functional as F

from losskit.core.linear_head import check_head_inputs, check_logit_options
from losskit.core.reduction import Reduction, check_reduction
from losskit.core.validation import (
    check_ignore_index,
    check_labels,
)
from losskit.errors import LossInputError
from losskit.losses.segmentation import (
    Pool,
    Statistics,
    dice,
    dice_from_statistics,
    jaccard,
    jaccard_from_statistics,
    over_batch,
    overlap_loss,
    tversky,
    tversky_from_statistics,
)
from losskit.torch.fast.logit_blocks import VocabularySlice, cross_entropy_block

__all__ = [
    "GlobalTokenMean",
    "global_dice",
    "global_soft_iou",
    "global_tversky",
    "vocab_parallel_cross_entropy",
]

Group = Any  # torch.distributed.ProcessGroup or None for the default group


# ------------------------------------------------------------------ collectives


def _distributed(group: Group) -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size(group) > 1


def _world_size(group: Group) -> int:
    return dist.get_world_size(group) if _distributed(group) else 1


def _all_reduce(x: torch.Tensor, op: Any, group: Group) -> torch.Tensor:
    """All-reduced copy of ``x`` (no autograd); ``x`` itself when not distributed."""
    if not _distributed(group):
        return x
    out = x.detach().clone(memory_format=torch.contiguous_format)
    dist.all_reduce(out, op=op, group=group)
    return out


class _AllReduceSum(torch.autograd.Function):
    r"""y = Σ_r x_r on every rank, differentiable.

    Its adjoint is again an all-reduce: rank r's loss L_r depends on every x_s through y,
    so d(Σ_r L_r)/dx_s = Σ_r dL_r/dy.  When every rank computes the same L from y this
    is R dL/dy, the data-parallel convention (DDP's average gives dL/dx_s).
    """

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, group: Group) -> torch.Tensor:
        ctx.group = group
        return _all_reduce(x, dist.ReduceOp.SUM, group)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return _all_reduce(grad, dist.ReduceOp.SUM, ctx.group), None


class _CopyToRanks(torch.autograd.Function):
    """Identity forward, all-reduce-sum backward (Megatron-LM's "f" operator).

    A replicated input feeding rank-local shards (hidden -> its block of logits) gets the
    sum of every shard's gradient: the gradient it would get from the whole output.
    """

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, group: Group) -> torch.Tensor:
        ctx.group = group
        return x.view_as(x)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return _all_reduce(grad, dist.ReduceOp.SUM, ctx.group), None


# -------------------------------------------------------------- global token mean


def _check_tensor(x: Any, name: str) -> None:
    if not isinstance(x, torch.Tensor):
        raise LossInputError(f"{name} must be a torch.Tensor; got {type(x).__name__}")


class GlobalTokenMean:
    r"""Turns summed micro-batch losses into the mean over every token of the global batch.

    A global batch is split over ``R`` data-parallel ranks and, on each, into
    micro-batches :math:`k` whose losses are accumulated before one optimiser step.  The
    mean over all valid tokens is :math:`\sum_{r,k} S_{rk} / N`, with :math:`S_{rk}` the
    *summed* loss of a micro-batch and :math:`N` the number of targets other than
    ``ignore_index`` in all micro-batches on all ranks.  Averaging per-micro-batch means
    instead weighs tokens unequally whenever the counts differ.

    Build one per optimiser step from every micro-batch's targets: it all-reduces the
    local count once.  Calling it on :math:`S_{rk}` returns :math:`S_{rk} R / N`; the
    factor :math:`R` undoes the average over ranks that DDP and FSDP apply to gradients,
    so after accumulation the parameters' gradients are those of the global mean.  If you
    sum gradients over ranks yourself, divide by ``world_size``.  The value of the global
    mean for logging is ``all_reduce(Σ_k S_k) / count``.  With no valid token anywhere,
    :math:`N` is taken as 1 (the sums are then 0).

    Args:
        targets: the integer targets of this rank's micro-batches for this step (one
            tensor or a sequence of them).
        ignore_index: label of the positions left out of the loss.
        group: the data-parallel process group (default: the whole world).

    Attributes:
        count: the global number of valid targets, :math:`N` (a 0-d int64 tensor).
        world_size: :math:`R`, 1 when ``torch.distributed`` is not initialised.

    Examples:
        Recipe for one optimiser step (with ``model`` wrapped in DDP):

        .. code-block:: python

            mean = GlobalTokenMean([y for _, y in micro_batches])
            for i, (x, y) in enumerate(micro_batches):
                with model.no_sync() if i < len(micro_batches) - 1 else nullcontext():
                    hidden = model(x)
                    loss_sum = linear_cross_entropy(hidden, head.weight, y, reduction="sum")
                    mean(loss_sum).backward()
            optimizer.step()

        Without a process group it is the mean over the micro-batches:

        >>> import torch
        >>> from losskit.torch.distributed import GlobalTokenMean
        >>> mean = GlobalTokenMean([torch.tensor([1, 2, -100]), torch.tensor([0])])
        >>> int(mean.count), float(mean(torch.tensor(6.0)))
        (3, 2.0)
    """

    def __init__(
        self,
        targets: torch.Tensor | Sequence[torch.Tensor],
        *,
        ignore_index: int = -100,
        group: Group = None,
    ) -> None:
        check_ignore_index(ignore_index, optional=False)
        parts = [targets] if isinstance(targets, torch.Tensor) else list(targets)
        if not parts:
            raise LossInputError("targets must hold at least one tensor; got an empty sequence")
        for i, t in enumerate(parts):
            _check_tensor(t, f"targets[{i}]")
            if t.is_floating_point() or t.is_complex() or t.dtype == torch.bool:
                raise LossInputError(
                    f"targets[{i}] must hold integer class labels; got dtype {t.dtype}"
                )
        local = sum((t != ignore_index).sum(dtype=torch.int64) for t in parts)
        self.count = _all_reduce(local, dist.ReduceOp.SUM, group)
        self.world_size = _world_size(group)
        self.ignore_index = ignore_index

    def __call__(self, loss_sum: torch.Tensor) -> torch.Tensor:
        """``loss_sum * world_size / count``: this micro-batch's share of the global mean."""
        # The scale in at least float32: a count above 65504 is inf in float16.
        wide = torch.promote_types(loss_sum.dtype, torch.float32)
        scale = self.world_size / self.count.clamp(min=1).to(wide)
        return (loss_sum.to(wide) * scale).to(loss_sum.dtype)

    def __repr__(self) -> str:
        return (
            f"GlobalTokenMean(count={int(self.count)}, world_size={self.world_size}, "
            f"ignore_index={self.ignore_index})"
        )


# ----------------------------------------------------------- global overlap losses


def _over_batch_and_ranks(group: Group) -> Pool:
    """The statistics summed over the batch, then over every rank of ``group``."""

    def pool(statistics: Statistics, xp: Any) -> Statistics:
        # The three sums travel in one all-reduce; its backward is the all-reduce of their
        # gradients, so each rank's gradient is its share of the whole batch's (times R).
        stacked = torch.stack(over_batch(statistics, xp))
        if _distributed(group):
            stacked = _AllReduceSum.apply(stacked, group)
        return stacked[0], stacked[1], stacked[2]

    return pool


_GLOBAL_DOC = r"""{summary}

    Over the global batch: the loss of ``losskit.{local}(pred, target, batch=True, ...)``
    on the batch concatenated over the ranks of ``group``, with the same options and the
    same checks.

    .. math:: {formula}

    The statistics :math:`I_c = \sum p t`, :math:`P_c = \sum p` and :math:`T_c = \sum t`
    are summed over every axis but the class axis *and over all ranks* (one
    differentiable all-reduce) before the ratio is taken, so the loss and the gradients
    equal those of the whole global batch on one process: the loss is the same on every
    rank, and each rank's gradient is ``world_size`` times its share, which DDP's
    average over ranks turns into the full-batch gradient.  Without a process group the
    global batch is this process's batch.

    Args:
        pred: this rank's part of the batch (split along axis 0): probabilities in
            [0, 1], or logits with ``from_logits=True``; classes on ``axis`` if given.
        target: masks in [0, 1] of ``pred``'s shape, or, with ``axis``, integer labels
            of ``pred``'s shape without ``axis``.
{options}
        reduction: ``"mean"`` (default) or ``"sum"`` over the classes, or ``"none"`` for
            the per-class losses (shape ``[C]``; 0-d when ``axis`` is None).
        group: the data-parallel process group (default: the whole world).

    Returns:
        The loss, in ``pred``'s dtype (16-bit inputs are summed in float32).

    Examples:
{examples}"""


def _option_lines(declarations: dict[str, Any]) -> str:
    """The Args lines of the options, from their declarations."""
    lines = []
    for name, option in declarations.items():
        lines += textwrap.wrap(
            f"{name}: {option.doc}", width=88, initial_indent=" " * 8, subsequent_indent=" " * 12
        )
    return "\n".join(lines)


def _global_overlap_loss(
    local: Callable[..., Any], per_class: Callable[..., Any], name: str, examples: str
) -> Callable[..., torch.Tensor]:
    """The data-parallel form of the overlap loss ``local``, whose loss of the statistics
    is ``per_class``: ``local``'s options, declarations and defaults but ``batch`` (always
    pooled) and ``weights``, and a process ``group``."""
    info = local.info
    keywords = {
        p.name: p
        for p in info.signature.parameters.values()
        if p.kind == p.KEYWORD_ONLY and p.name not in ("batch", "weights", "normalizer")
    }

    def loss(pred: Any, target: Any, *, group: Group = None, **given: Any) -> torch.Tensor:
        unknown = set(given) - set(keywords)
        if unknown:
            raise LossInputError(
                f"{name} has no option(s) {sorted(unknown)}; it takes {sorted(keywords)} "
                "(the statistics are always pooled over the whole batch)"
            )
        info.check_options({k: v for k, v in given.items() if k in info.declared_options})
        _check_tensor(pred, "pred")
        _check_tensor(target, "target")
        options = {k: p.default for k, p in keywords.items()} | given
        return overlap_loss(
            per_class, pred, target, pool=_over_batch_and_ranks(group), weights=None, **options
        )

    group = inspect.Parameter(
        "group", inspect.Parameter.KEYWORD_ONLY, default=None, annotation="ProcessGroup | None"
    )
    parameters = list(inspect.signature(local).parameters.values())[:2]
    loss.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [*parameters, *keywords.values(), group], return_annotation="torch.Tensor"
    )
    loss.__name__ = loss.__qualname__ = name
    loss.__doc__ = _GLOBAL_DOC.format(
        summary=info.summary,
        local=info.name,
        formula=info.formula,
        options=_option_lines({k: o for k, o in info.declared_options.items() if k in keywords}),
        examples=textwrap.indent(textwrap.dedent(examples).strip("\n"), " " * 8),
    )
    return loss


global_dice = _global_overlap_loss(
    dice,
    dice_from_statistics,
    "global_dice",
    """
    >>> import torch
    >>> from losskit.torch.distributed import global_dice
    >>> p = torch.tensor([[0.9, 0.1], [0.2, 0.8]])
    >>> round(float(global_dice(p, torch.eye(2), axis=1, smooth=0.0)), 4)
    0.1504

    Logits and integer labels, the last position ignored:

    >>> logits = torch.tensor([[2.0, 0.0], [0.0, 1.0], [3.0, 0.0]])
    >>> labels = torch.tensor([0, 1, -1])
    >>> loss = global_dice(logits, labels, axis=1, from_logits=True, ignore_index=-1)
    >>> round(float(loss), 4)
    0.1297
    """,
)

global_soft_iou = _global_overlap_loss(
    jaccard,
    jaccard_from_statistics,
    "global_soft_iou",
    """
    >>> import torch
    >>> from losskit.torch.distributed import global_soft_iou
    >>> p = torch.tensor([[0.9, 0.1], [0.2, 0.8]])
    >>> round(float(global_soft_iou(p, torch.eye(2), axis=1, smooth=0.0)), 4)
    0.2614
    """,
)

global_tversky = _global_overlap_loss(
    tversky,
    tversky_from_statistics,
    "global_tversky",
    """
    >>> import torch
    >>> from losskit.torch.distributed import global_tversky
    >>> p = torch.tensor([[0.9, 0.1], [0.2, 0.8]])
    >>> round(float(global_tversky(p, torch.eye(2), axis=1, smooth=0.0, alpha=0.7, beta=0.3)), 4)
    0.1493

    Class weights, here leaving the first class out:

    >>> round(float(global_tversky(p, torch.eye(2), axis=1, smooth=0.0, exclude_class=0)), 4)
    0.1579
    """,
)


# ------------------------------------------------- vocabulary-parallel cross-entropy


class _VocabParallelCrossEntropy(torch.autograd.Function):
    r"""Per-token cross-entropy of logits whose vocabulary is split over the ranks.

    Each rank holds columns ``[start, start + V_r)`` of the logits; the shared kernel
    :func:`~losskit.torch.fast.logit_blocks.cross_entropy_block` takes the log-sum-exp
    over the whole vocabulary from an all-reduce MAX of the block maxima and one
    all-reduce SUM (sums of exponentials, the target's logit and, for label smoothing,
    the logit sums).  The gradient on this rank's columns is local once the log-sum-exp
    is known: it is computed in forward and only scaled in backward (no collective).
    """

    @staticmethod
    def forward(
        ctx: Any,
        logits: torch.Tensor,
        target: torch.Tensor,
        keep: torch.Tensor,
        start: int,
        num_classes: int,
        options: dict[str, Any],
        group: Group,
    ) -> torch.Tensor:
        # Half-precision logits are taken to float32; the copy is the kernel's buffer.
        # Its transpose is the kernel's [classes, tokens] layout (a view, no copy).
        x = logits.to(torch.promote_types(logits.dtype, torch.float32), copy=True).t()
        vocabulary = None  # one process: the block is the whole vocabulary
        if _distributed(group):
            vocabulary = VocabularySlice(
                start,
                num_classes,
                lambda stat, op: _all_reduce(stat, getattr(dist.ReduceOp, op.upper()), group),
            )
        want_grad = ctx.needs_input_grad[0]
        loss, grad = cross_entropy_block(
            x, target, want_grad=want_grad, vocabulary=vocabulary, **options
        )
        if want_grad:
            ctx.save_for_backward(grad.t(), keep)
            ctx.dtype = logits.dtype
        return torch.where(keep, loss, 0.0)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        grad, keep = ctx.saved_tensors
        scale = (grad_output * keep)[:, None]  # ignored tokens get no gradient
        return (grad * scale).to(ctx.dtype), None, None, None, None, None, None


def vocab_parallel_cross_entropy(
    hidden: torch.Tensor,
    weight: torch.Tensor,
    target: torch.Tensor,
    *,
    bias: torch.Tensor | None = None,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    z_loss: float = 0.0,
    softcap: float | None = None,
    reduction: Reduction = "mean",
    group: Group = None,
) -> torch.Tensor:
    r"""Cross-entropy of ``hidden @ W.T + b`` when ``W`` is split by rows over the ranks.

    Tensor parallelism as in Megatron-LM: rank :math:`r` holds rows
    ``[start_r, start_r + V_r)`` of the full ``[V, H]`` output weight (consecutive blocks
    in rank order; the sizes may differ and are gathered once per call) and the same
    ``hidden`` and ``target`` as every other rank.  Each rank computes only its block of
    logits; the log-sum-exp over the whole vocabulary is assembled from an all-reduce of
    the block maxima and one of the sums of exponentials (with the target's logit and,
    for label smoothing, the logit sums), so no rank ever holds all ``V`` logits.

    The loss is :func:`~losskit.torch.linear_cross_entropy`'s on the full ``W``, with the
    same options and the same meaning: for logits :math:`x = \operatorname{softcap}(h
    W^T + b)` and :math:`\lambda = \log \sum_c e^{x_c}` over the whole vocabulary,

    .. math::
        \ell = \lambda - (1 - s)\, x_y - \frac{s}{V} \sum_c x_c + z\, \lambda^2,

    which is ``F.cross_entropy(hidden @ W.T + b, target, ignore_index=...,
    label_smoothing=...)`` when :math:`z = 0` and there is no softcap.  It is the same on
    every rank.  Each rank's ``weight`` and ``bias`` get the exact gradient of their
    block, and ``hidden`` gets the full gradient (the sum of every block's contribution,
    all-reduced in backward).  ``"mean"`` divides by the number of targets other than
    ``ignore_index``, and is 0 with zero gradients when there is none.

    Args:
        hidden: ``[..., H]`` hidden states, the same on every rank of ``group``.
        weight: this rank's ``[V_r, H]`` block of the output weight.
        target: labels in ``[0, V)`` (global indices) or ``ignore_index``, of shape
            ``hidden.shape[:-1]``, the same on every rank.
        bias: optional ``[V_r]`` block of the output bias.
        ignore_index: label whose tokens are left out of the loss.
        label_smoothing: :math:`s \in [0, 1)`, spread over the whole vocabulary.
        z_loss: :math:`z \ge 0`, the weight of PaLM's :math:`\lambda^2` (the whole
            vocabulary's log-sum-exp).
        softcap: :math:`c > 0` for Gemma 2's soft-capping :math:`c \tanh(x / c)` of every
            logit, or None for none.
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"`` (per token).
        group: the tensor-parallel process group (default: the whole world).

    Returns:
        The loss in ``hidden``'s dtype; ``target``'s shape for ``"none"``.

    Examples:
        In a single process the block is the whole weight:

        >>> import torch
        >>> from losskit.torch.distributed import vocab_parallel_cross_entropy
        >>> hidden, weight = torch.eye(2), torch.tensor([[2.0, 0.0], [0.0, 0.0], [0.0, 0.0]])
        >>> round(float(vocab_parallel_cross_entropy(hidden, weight, torch.tensor([0, -100]))), 4)
        0.2395
    """
    check_ignore_index(ignore_index, optional=False)
    options = check_logit_options(label_smoothing, z_loss, softcap)
    check_reduction(reduction)
    check_head_inputs(
        hidden,
        weight,
        target,
        bias,
        xp=torch_xp,
        array_type=torch.Tensor,
        type_name="torch.Tensor",
        weight_block=True,
    )
    start, num_classes = _block_start(weight.shape[0], group, weight.device)
    check_labels(target, num_classes, "target", torch_xp, ignore_index=ignore_index)
    if _distributed(group):
        hidden = _CopyToRanks.apply(hidden, group)
    logits = F.linear(hidden, weight, bias).reshape(-1, weight.shape[0])
    y = target.reshape(-1).long()  # uint8 would index as a mask, int8/int16 not at all
    keep = y != ignore_index
    loss = _VocabParallelCrossEntropy.apply(logits, y, keep, start, num_classes, options, group)
    if reduction == "none":
        return loss.reshape(target.shape).to(hidden.dtype)
    total = loss.sum()
    if reduction == "mean":
        # No valid target: a sum of zeros divided by 1 rather than 0 / 0.
        total = total / keep.sum().clamp(min=1)
    return total.to(hidden.dtype)


def _block_start(rows: int, group: Group, device: torch.device) -> tuple[int, int]:
    """(first global row of this rank's block, total rows V), from the gathered sizes."""
    if not _distributed(group):
        return 0, rows
    sizes = [torch.zeros(1, dtype=torch.int64, device=device) for _ in range(_world_size(group))]
    dist.all_gather(sizes, torch.tensor([rows], dtype=torch.int64, device=device), group=group)
    counts = [int(s) for s in sizes]
    rank = dist.get_rank(group)
    return sum(counts[:rank]), sum(counts)
