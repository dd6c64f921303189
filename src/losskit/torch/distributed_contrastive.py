"""Contrastive losses over a data-parallel batch: every rank's embeddings are negatives.

With the batch split over ``R`` data-parallel ranks, a contrastive loss computed on each
rank alone sees only the local examples as negatives: a smaller, easier task than the
global batch's.  The functions here gather the embeddings of every rank (as CLIP and
SimCLR training do) so that each rank scores its own anchors against the whole global
batch, and the loss equals :func:`losskit.info_nce`, :func:`losskit.nt_xent` or
:func:`losskit.supervised_contrastive` on the concatenated batch.  Ranks may hold
different numbers of examples.  Without an initialised process group they are the
single-process losses (a world of one).

Gradients follow the data-parallel convention of :mod:`losskit.torch.distributed`: the
loss is the global batch's on every rank, and each rank's gradient with respect to its
own embeddings is ``R`` times its share of the full-batch gradient, so that the average
``DistributedDataParallel`` takes over the ranks is the gradient of the global loss.
The gather's backward sums, over the ranks, the gradients every rank sends to each
embedding (an all-reduce, which every backend, gloo included, supports).

Memory per rank: the ``[n, N]`` similarities of the ``n`` local anchors against the
``N`` examples of the global batch (twice for ``symmetric=True``).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.distributed as dist

from losskit.core.namespace import namespace
from losskit.core.reduction import Reduction
from losskit.core.registry import get_loss
from losskit.core.validation import check_option
from losskit.errors import LossInputError
from losskit.losses.embedding import (
    _directions,
    _embedding_rows,
    _group_labels,
    _pair_masks,
    _scale,
    _similarities,
    contrastive_cross_entropy,
    nt_xent_rows,
    supervised_contrastive_rows,
)
from losskit.torch.distributed import _AllReduceSum, _distributed, _world_size

__all__ = ["global_info_nce", "global_nt_xent", "global_supervised_contrastive"]

Group = Any  # torch.distributed.ProcessGroup or None for the default group

#: "none" gives the local anchors' losses; "mean" and "sum" reduce over every rank.
REDUCTIONS = ("none", "mean", "sum")


# ------------------------------------------------------------------ collectives


def _row_counts(rows: int, device: torch.device, group: Group) -> list[int]:
    """The number of rows on every rank, in rank order."""
    if not _distributed(group):
        return [rows]
    mine = torch.tensor([rows], dtype=torch.int64, device=device)
    counts = [torch.zeros_like(mine) for _ in range(_world_size(group))]
    dist.all_gather(counts, mine, group=group)
    return [int(c) for c in counts]


def _gather_rows(x: torch.Tensor, counts: list[int], group: Group) -> torch.Tensor:
    """Every rank's ``x`` concatenated along the first axis (no autograd).  Ranks may
    hold different numbers of rows: each pads to the largest, and the padding is cut."""
    if not _distributed(group):
        return x
    longest = max(counts)
    padded = x.new_zeros((longest, *x.shape[1:]))
    padded[: x.shape[0]] = x
    parts = [torch.empty_like(padded) for _ in counts]
    dist.all_gather(parts, padded.contiguous(), group=group)
    return torch.cat([part[:count] for part, count in zip(parts, counts, strict=True)])


class _GatherRows(torch.autograd.Function):
    """All-gather along the first axis, differentiable.

    Every rank uses the gathered rows, so a rank's rows receive gradient from every
    rank's loss: the backward all-reduces the gradient of the gathered tensor (summing
    the ranks' contributions) and keeps this rank's block.
    """

    @staticmethod
    def forward(
        ctx: Any, x: torch.Tensor, counts: list[int], rank: int, group: Group
    ) -> torch.Tensor:
        ctx.start, ctx.rows, ctx.group = sum(counts[:rank]), counts[rank], group
        return _gather_rows(x, counts, group)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None, None, None]:
        total = grad.contiguous().clone()
        dist.all_reduce(total, op=dist.ReduceOp.SUM, group=ctx.group)
        return total[ctx.start : ctx.start + ctx.rows], None, None, None


class _Batch:
    """Where this rank's rows sit in the global batch, and how to gather others."""

    def __init__(self, rows: int, device: torch.device, group: Group) -> None:
        self.group = group
        self.distributed = _distributed(group)
        self.rank = dist.get_rank(group) if self.distributed else 0
        self.counts = _row_counts(rows, device, group)
        self.offset = sum(self.counts[: self.rank])

    def gather(self, x: torch.Tensor) -> torch.Tensor:
        """Every rank's ``x``; its gradient flows back to the rank that holds each row."""
        if not self.distributed:
            return x
        if x.requires_grad:
            return _GatherRows.apply(x, self.counts, self.rank, self.group)
        return _gather_rows(x, self.counts, self.group)

    def total(self, x: torch.Tensor) -> torch.Tensor:
        """The sum over ranks of ``x``, differentiable."""
        return _AllReduceSum.apply(x, self.group) if self.distributed else x


# ------------------------------------------------------------------ the losses


def _check(name: str, options: dict[str, Any], reduction: Any, **arrays: Any) -> Any:
    for argument, value in arrays.items():
        if not isinstance(value, torch.Tensor):
            raise LossInputError(f"{argument} must be a torch.Tensor; got {type(value).__name__}")
    # the options' declarations are the single-process loss's
    get_loss(name).check_options(options)
    check_option("reduction", reduction, REDUCTIONS)
    return namespace(**arrays)


def _reduce(
    loss: torch.Tensor, count: torch.Tensor | None, reduction: str, batch: _Batch, dtype: Any
) -> torch.Tensor:
    """The local losses ("none"), or their sum or mean over every rank.  ``count`` is
    the number of anchors the local mean divides by (all of them when None)."""
    if reduction == "none":
        return loss.to(dtype)
    total = batch.total(loss.sum())
    if reduction == "sum":
        return total.to(dtype)
    local = torch.tensor(float(loss.shape[0]), device=loss.device) if count is None else count
    anchors = batch.total(local.to(total.dtype).detach())
    # no anchor to average anywhere: the sum is 0, and so is its gradient
    return (total / anchors.clamp(min=1)).to(dtype)


def global_info_nce(
    query: torch.Tensor,
    key: torch.Tensor,
    *,
    temperature: float = 0.07,
    symmetric: bool = False,
    reduction: Reduction = "mean",
    group: Group = None,
) -> torch.Tensor:
    r""":func:`losskit.info_nce` over the global batch: each local query picks its key
    among the keys of every rank (and, with ``symmetric=True``, each local key its query
    among every rank's queries).

    Args:
        query: this rank's embeddings ``[n, D]``.
        key: this rank's keys ``[n, D]``, row i the positive of query i.
        temperature: :math:`\tau > 0`, a number or a 0-d tensor (learnable).
        symmetric: CLIP's mean of both directions.
        reduction: ``"mean"`` (default) or ``"sum"`` over the global batch, the same on
            every rank; ``"none"`` for this rank's queries' losses ``[n]``.
        group: the data-parallel process group (default: the whole world).

    Returns:
        The loss, in ``query``'s dtype.

    Examples:
        Without a process group it is :func:`losskit.info_nce`:

        >>> import torch, losskit
        >>> from losskit.torch.distributed_contrastive import global_info_nce
        >>> q, k = torch.eye(3), torch.eye(3) + 0.1
        >>> bool(torch.isclose(global_info_nce(q, k), losskit.info_nce(q, k)))
        True
    """
    options = {"temperature": temperature, "symmetric": symmetric}
    xp = _check("info_nce", options, reduction, query=query, key=key)
    _embedding_rows(query, "query", xp)
    _embedding_rows(key, "key", xp)
    if tuple(key.shape) != tuple(query.shape):
        raise LossInputError(
            f"key must have query's shape {tuple(query.shape)}, row i being query i's "
            f"positive; got {tuple(key.shape)}"
        )
    q, k = _directions(query, xp=xp), _directions(key.to(query.dtype), xp=xp)
    batch = _Batch(q.shape[0], q.device, group)
    scale = _scale(temperature, q, xp)
    loss = contrastive_cross_entropy(q, batch.gather(k), scale, batch.offset, False, xp=xp)
    if symmetric:
        # each local key picks its query among every rank's queries
        keys_to_queries = contrastive_cross_entropy(
            k, batch.gather(q), scale, batch.offset, False, xp=xp
        )
        loss = 0.5 * (loss + keys_to_queries)
    return _reduce(loss, None, reduction, batch, query.dtype)


def _grouped(
    name: str,
    embeddings: torch.Tensor,
    labels: torch.Tensor,
    temperature: Any,
    reduction: Any,
    group: Group,
) -> torch.Tensor:
    xp = _check(name, {"temperature": temperature}, reduction, embeddings=embeddings, labels=labels)
    _embedding_rows(embeddings, "embeddings", xp)
    _group_labels(labels, embeddings.shape[0], xp)
    e = _directions(embeddings, xp=xp)
    batch = _Batch(e.shape[0], e.device, group)
    # equality is all labels are used for; booleans travel as integers
    everyone = batch.gather(labels.to(torch.int64) if labels.dtype == torch.bool else labels)
    logits = _similarities(e, batch.gather(e), _scale(temperature, e, xp), xp)
    masks = _pair_masks(labels.to(everyone.dtype), everyone, batch.offset, xp)
    rows = nt_xent_rows if name == "nt_xent" else supervised_contrastive_rows
    loss, has_positive = rows(logits, masks, xp=xp)
    return _reduce(loss, has_positive.sum(), reduction, batch, embeddings.dtype)


def global_nt_xent(
    embeddings: torch.Tensor,
    labels: torch.Tensor,
    *,
    temperature: float = 0.07,
    reduction: Reduction = "mean",
    group: Group = None,
) -> torch.Tensor:
    r""":func:`losskit.nt_xent` over the global batch: positives and negatives of each
    local anchor come from every rank.

    Args:
        embeddings: this rank's embeddings ``[n, D]``.
        labels: their labels ``[n]``, any dtype; equal labels across ranks are positives.
        temperature: :math:`\tau > 0`, a number or a 0-d tensor (learnable).
        reduction: ``"mean"`` (default; over the anchors with a positive, on every rank)
            or ``"sum"`` over the global batch; ``"none"`` for this rank's anchors.
        group: the data-parallel process group (default: the whole world).

    Returns:
        The loss, in ``embeddings``' dtype.

    Examples:
        >>> import torch, losskit
        >>> from losskit.torch.distributed_contrastive import global_nt_xent
        >>> x, y = torch.eye(4) + 0.1, torch.tensor([0, 0, 1, 1])
        >>> bool(torch.isclose(global_nt_xent(x, y), losskit.nt_xent(x, y)))
        True
    """
    return _grouped("nt_xent", embeddings, labels, temperature, reduction, group)


def global_supervised_contrastive(
    embeddings: torch.Tensor,
    labels: torch.Tensor,
    *,
    temperature: float = 0.1,
    reduction: Reduction = "mean",
    group: Group = None,
) -> torch.Tensor:
    r""":func:`losskit.supervised_contrastive` over the global batch: the positives and
    the denominator of each local anchor run over every rank's embeddings.

    Args:
        embeddings: this rank's embeddings ``[n, D]``.
        labels: their labels ``[n]``, any dtype; equal labels across ranks are positives.
        temperature: :math:`\tau > 0`, a number or a 0-d tensor (learnable).
        reduction: ``"mean"`` (default; over the anchors with a positive, on every rank)
            or ``"sum"`` over the global batch; ``"none"`` for this rank's anchors.
        group: the data-parallel process group (default: the whole world).

    Returns:
        The loss, in ``embeddings``' dtype.

    Examples:
        >>> import torch, losskit
        >>> from losskit.torch.distributed_contrastive import global_supervised_contrastive
        >>> x, y = torch.eye(4) + 0.1, torch.tensor([0, 0, 1, 1])
        >>> loss = global_supervised_contrastive(x, y)
        >>> bool(torch.isclose(loss, losskit.supervised_contrastive(x, y)))
        True
    """
    return _grouped("supervised_contrastive", embeddings, labels, temperature, reduction, group)
