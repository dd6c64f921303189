"""Embedding losses: contrastive, metric-learning and additive-margin softmax losses.

They score how embeddings sit relative to each other (matched pairs close, the rest
apart) rather than comparing a prediction with a target value.  Shared rules:

- directions are compared through :func:`unit_vectors`, which divides by the norm
  floored at the dtype's machine epsilon: a zero-norm embedding gives a finite loss and
  a finite gradient;
- distances go through a square root whose gradient at 0 is 0 (a double ``where``), so
  identical embeddings have a finite gradient;
- an anchor without a positive contributes nothing: its unreduced loss is 0 and the
  mean is over the anchors that have one (0, with a zero gradient, when none has);
- every log-sum-exp subtracts a detached maximum;
- 16-bit inputs are computed in float32 and the loss is returned in their dtype.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal, NamedTuple

from array_api_compat import device

from losskit.core.inputs import elementwise_inputs
from losskit.core.kernels import kernel
from losskit.core.namespace import (
    as_float,
    namespace,
    require_floating,
    require_integer,
    scalar_option,
    shape,
    stop_gradient,
)
from losskit.core.options import choice, flag, integer, real
from losskit.core.primitives import gather_classes, logsumexp_parts
from losskit.core.reduction import Reduction, reduce_loss
from losskit.core.registry import register_loss
from losskit.core.validation import (
    check_labels,
    check_no_nan,
    check_normalized_axis,
    check_same_shape,
    check_shape,
    check_values,
)
from losskit.errors import LossInputError

__all__ = [
    "arcface",
    "cosface",
    "cosine_embedding",
    "cosine_similarity",
    "info_nce",
    "margin_ranking",
    "nt_xent",
    "pair_contrastive",
    "supervised_contrastive",
    "triplet_margin",
]

Array = Any

DISTANCES: tuple[str, ...] = ("euclidean", "squared_euclidean", "cosine")

TEMPERATURE_DOC = (
    "divides the cosine similarities, > 0; smaller values weigh the hardest negatives more. "
    "Usual: 0.05 to 0.2. A 0-d array (a learnable parameter) works too: for CLIP's learnable "
    "logit scale s = exp(t), pass exp(-t)."
)


# ------------------------------------------------------------------ shared pieces


def _widened(x: Array, xp: Any) -> Array:
    """16-bit embeddings in float32: norms and sums of exponentials overflow float16."""
    return xp.astype(x, xp.float32) if xp.finfo(x.dtype).bits < 32 else x


def _in_dtype(out: Array, dtype: Any, xp: Any) -> Array:
    return out if out.dtype == dtype else xp.astype(out, dtype)


def unit_vectors(x: Array, *, axis: int = -1, eps: float | None = None, xp: Any) -> Array:
    r""":math:`x / \max(\lVert x \rVert, \epsilon)` along ``axis``; :math:`\epsilon` is
    the machine epsilon of ``x``'s dtype unless given.

    The norm is the square root of the squared norm clipped at :math:`\epsilon^2`: exact
    for any norm above :math:`\epsilon`, and a zero vector maps to 0 with the finite
    gradient :math:`1/\epsilon` (the square root's infinite slope at 0 is never taken).
    """
    eps = float(xp.finfo(x.dtype).eps) if eps is None else eps
    squared = xp.sum(x * x, axis=axis, keepdims=True)
    return x / xp.sqrt(xp.clip(squared, eps * eps, None))


def _directions(x: Array, *, axis: int = -1, xp: Any) -> Array:
    """``x`` as unit vectors, 16-bit inputs in float32.

    The norm's floor depends on ``x``'s own dtype: its machine epsilon, or 1/sqrt of its
    largest value if that is more (float16: 1/256).  A zero vector's gradient, the
    loss's divided by the floor, then stays far inside the dtype's range.
    """
    info = xp.finfo(x.dtype)
    floor = max(float(info.eps), 1.0 / math.sqrt(float(info.max)))
    return unit_vectors(_widened(x, xp), axis=axis, eps=floor, xp=xp)


def _safe_sqrt(squared: Array, *, xp: Any) -> Array:
    """sqrt, with a zero gradient at 0 instead of an infinite one, and NaN kept NaN.

    Double where: the square root sees 1 where the input is 0, so the branch that is not
    used has a finite gradient.  The test is ``== 0``, not ``> 0``, which a NaN fails too
    and would turn into a distance of 0.
    """
    zero = squared == 0
    return xp.where(zero, 0.0, xp.sqrt(xp.where(zero, 1.0, squared)))


@kernel
def pair_distance(x: Array, y: Array, distance: str, *, xp: Any) -> Array:
    """Distance between matched rows of ``x`` and ``y`` along the last axis, in float32
    for 16-bit inputs: ``"euclidean"`` (zero gradient where the rows coincide),
    ``"squared_euclidean"`` or ``"cosine"`` (1 - cosine similarity)."""
    if distance == "cosine":
        return 1.0 - xp.sum(_directions(x, xp=xp) * _directions(y, xp=xp), axis=-1)
    squared = xp.sum((_widened(x, xp) - _widened(y, xp)) ** 2, axis=-1)
    if distance == "squared_euclidean":
        return squared
    return _safe_sqrt(squared, xp=xp)


@kernel
def contrastive_cross_entropy(
    query: Array, key: Array, scale: Any, offset: int, symmetric: bool, *, xp: Any
) -> Array:
    r"""InfoNCE of each query: the cross-entropy of its row of :math:`S = s\,Q K^\top`
    (``query`` ``[n, D]``, ``key`` ``[M, D]``, ``scale`` :math:`s` a number or a 0-d
    array) against column ``offset + i``, the positive of query :math:`i`.  With
    ``symmetric`` (``key`` of ``query``'s shape, ``offset`` 0) the mean with the
    cross-entropy of column :math:`i` against row :math:`i`.

    Builds the ``[n, M]`` matrix :math:`S` at once; backends may compute it in blocks.
    """
    n = shape(query)[0]
    # the scale goes on the [n, D] queries rather than the [n, M] similarities
    scaled = scale * query
    logits = xp.matmul(scaled, xp.permute_dims(key, (1, 0)))
    positive = xp.sum(scaled * key[offset : offset + n, ...], axis=1)
    # logsumexp = m + log s minus the positive, as log s + (m - positive): m + log s
    # would round log s to the spacing of m (logsumexp_parts)
    m, log_s = logsumexp_parts(logits, axis=1, xp=xp)
    rows = log_s + (m - positive)
    if not symmetric:
        return rows
    m, log_s = logsumexp_parts(logits, axis=0, xp=xp)
    return 0.5 * (rows + (log_s + (m - positive)))


def _embedding_rows(x: Array, name: str, xp: Any) -> None:
    """``x`` is a floating ``[N, D]`` matrix of embeddings with D >= 1."""
    require_floating(x, name, xp)
    if x.ndim != 2:
        raise LossInputError(
            f"{name} must be a [N, D] array of embeddings, one row per example; got shape "
            f"{tuple(x.shape)}"
        )
    _require_features(x, name)


def _require_features(x: Array, name: str) -> None:
    if x.ndim == 0 or x.shape[-1] == 0:
        raise LossInputError(
            f"{name} must hold embeddings on its last axis, at least one value each; got shape "
            f"{tuple(x.shape)}"
        )


def _scale(temperature: Any, like: Array, xp: Any) -> Any:
    """1 / temperature: a Python number, or a 0-d array in ``like``'s dtype (a learnable
    or traced temperature keeps its gradient)."""
    return 1.0 / scalar_option(temperature, like, "temperature", xp)


def _similarities(rows: Array, others: Array, scale: Any, xp: Any) -> Array:
    """``scale`` times the cosine similarities of unit vectors ``rows`` ``[n, D]`` and
    ``others`` ``[N, D]``; the scale goes on the rows rather than the [n, N] matrix."""
    return xp.matmul(scale * rows, xp.permute_dims(others, (1, 0)))


def _group_labels(labels: Array, rows: int, xp: Any) -> None:
    """One label per embedding, of any real, integer or boolean dtype, without NaN."""
    check_shape(labels, (rows,), "labels", "one label per row of embeddings")
    if xp.isdtype(labels.dtype, "complex floating"):
        raise LossInputError(f"labels must be real; got dtype {labels.dtype}")
    if xp.isdtype(labels.dtype, "real floating"):
        check_no_nan(labels, "labels", xp)


class PairMasks(NamedTuple):
    """Boolean masks ``[n, N]`` of anchors against every example of the batch."""

    positive: Array  # same label, not the anchor itself
    negative: Array  # another label
    is_self: Array  # the anchor itself


def _pair_masks(labels: Array, other_labels: Array, offset: int, xp: Any) -> PairMasks:
    """The masks of anchors (``labels``, the rows ``offset ... offset + n - 1`` of the
    batch) against every example (``other_labels``)."""
    same = xp.expand_dims(labels, axis=1) == xp.expand_dims(other_labels, axis=0)
    where = device(labels)
    # shape(): sizes unknown while tracing (TensorFlow's batch axis) are 0-d arrays
    rows = xp.arange(offset, offset + shape(labels)[0], device=where)
    columns = xp.arange(shape(other_labels)[0], device=where)
    is_self = xp.expand_dims(rows, axis=1) == xp.expand_dims(columns, axis=0)
    return PairMasks(same & ~is_self, ~same, is_self)


def nt_xent_rows(logits: Array, masks: PairMasks, *, xp: Any) -> tuple[Array, Array]:
    r"""NT-Xent of each anchor (row of ``logits``) and whether it has a positive.

    Every positive pair scores :math:`-\log \frac{e^{s_{ap}}}{e^{s_{ap}} + \sum_n e^{s_{an}}}
    = \log(1 + e^{L_a - s_{ap}})` with :math:`L_a` the log-sum-exp over the
    anchor's negatives; an anchor's loss is the mean over its positives, 0 without one.
    """
    positive, negative = masks.positive, masks.negative
    has_negative = xp.any(negative, axis=1, keepdims=True)
    # exp(-inf) = 0 with a zero gradient: entries that are not negatives drop out, and an
    # anchor without negatives gets L_a = 0 (its pairs are then discarded below)
    masked = xp.where(negative, logits, -math.inf)
    shift = stop_gradient(xp.where(has_negative, xp.max(masked, axis=1, keepdims=True), 0.0), xp)
    total = xp.sum(xp.exp(masked - shift), axis=1, keepdims=True)
    negatives_lse = shift + xp.log(xp.where(has_negative, total, 1.0))
    gap = negatives_lse - logits
    # softplus(gap) as logaddexp(gap, 0) with an array 0: array_api_compat turns a Python 0
    # into a tensor through torch.result_type, which torch.compile cannot trace
    pair = xp.where(positive & has_negative, xp.logaddexp(gap, xp.zeros_like(gap)), 0.0)
    count = xp.sum(xp.astype(positive, logits.dtype), axis=1)
    has_positive = count > 0
    return xp.sum(pair, axis=1) / xp.where(has_positive, count, 1.0), has_positive


def supervised_contrastive_rows(logits: Array, masks: PairMasks, *, xp: Any) -> tuple[Array, Array]:
    r"""SupCon's :math:`\mathcal{L}^{out}` of each anchor (row of ``logits``) and whether it
    has a positive: the log-sum-exp over every other example minus the mean logit of the
    positives; 0 without a positive."""
    positive, is_self = masks.positive, masks.is_self
    count = xp.sum(xp.astype(positive, logits.dtype), axis=1)
    has_positive = count > 0
    # An anchor without a positive is discarded; its log-sum-exp runs over the whole row
    # (never empty) so that the discarded value and its gradient stay finite.
    keep = ~is_self | ~xp.expand_dims(has_positive, axis=1)
    m, log_s = logsumexp_parts(xp.where(keep, logits, -math.inf), axis=1, xp=xp)
    mean_positive = xp.sum(xp.where(positive, logits, 0.0), axis=1) / xp.where(
        has_positive, count, 1.0
    )
    # log s + (m - mean): m + log s would round log s to m's spacing (logsumexp_parts)
    return xp.where(has_positive, log_s + (m - mean_positive), 0.0), has_positive


def _anchor_mean(
    loss: Array, has_positive: Array, reduction: str, weights: Any, xp: Any, dtype: Any
) -> Array:
    """Reduce per-anchor losses; the mean is over the anchors with a positive."""
    norm = xp.astype(has_positive, loss.dtype)
    out = reduce_loss(loss, reduction=reduction, weights=weights, norm=norm, xp=xp)
    return _in_dtype(out, dtype, xp)


def _empty_batch(e: Array, reduction: str, weights: Any, xp: Any, dtype: Any) -> Array:
    """The loss of a batch without embeddings (0 for the mean), still attached to them."""
    loss = xp.sum(e, axis=1)
    return _in_dtype(reduce_loss(loss, reduction=reduction, weights=weights, xp=xp), dtype, xp)


def _sign_labels(target: Array, name: str, xp: Any) -> None:
    check_values(
        target,
        lambda t: xp.any((t != 1) & (t != -1)),
        f"{name} must hold 1 (similar, or first ranked higher) or -1; found another value",
    )


# ---------------------------------------------------------------- contrastive


@register_loss(
    tasks="embedding",
    summary="InfoNCE: each query must pick its own key out of the batch; CLIP's loss when symmetric.",
    options=(
        real("temperature", TEMPERATURE_DOC, 0.0, closed="neither"),
        flag(
            "symmetric",
            (
                "False (default): queries pick their key (one-way, as in MoCo and CPC); True: the "
                "mean of both directions, queries to keys and keys to queries, as CLIP does."
            ),
        ),
    ),
)
def info_nce(
    query: Array,
    key: Array,
    *,
    temperature: float = 0.07,
    symmetric: bool = False,
    reduction: Reduction = "mean",
    weights: Array | None = None,
) -> Array:
    r"""InfoNCE (van den Oord et al., 2018): row :math:`i` of ``key`` is the positive of
    query :math:`i`, every other key a negative.

    .. math::
        \ell_i = -\log \frac{e^{s_{ii}/\tau}}{\sum_j e^{s_{ij}/\tau}},\qquad
        s_{ij} = \frac{q_i^\top k_j}{\lVert q_i \rVert\,\lVert k_j \rVert}

    With ``symmetric=True`` (CLIP, Radford et al., 2021) :math:`\ell_i` is the mean of
    that term and of the same term for key :math:`i` picking its query among all queries,
    :math:`-\log e^{s_{ii}/\tau} / \sum_j e^{s_{ji}/\tau}`.  ``key`` may hold more rows
    than ``query`` (one-way only): the rows after the first N are negatives for every
    query, such as a queue of past keys (MoCo).

    Memory: the ``[N, M]`` similarity matrix, N·M values (64 MiB in float32 for
    N = M = 4096), plus what autograd keeps of it for the backward pass; the PyTorch
    kernel computes matrices beyond 1 GiB in blocks of rows instead, recomputed in the
    backward pass (slower, and memory of one block).

    Args:
        query: embeddings ``[N, D]``; compared by direction (cosine similarity).
        key: embeddings ``[M, D]``, M >= N; row i is query i's positive.
        temperature: :math:`\tau > 0`, a number or a 0-d array (learnable: for CLIP's
            logit scale :math:`e^t` pass :math:`e^{-t}`).
        symmetric: average the query-to-key and key-to-query terms (needs M = N).
        {reduction}

    Returns:
        The reduced loss, or one loss per query, shape ``[N]``, for ``"none"``.

    Examples:
        >>> import numpy as np, losskit
        >>> q = np.array([[1.0, 0.0], [0.0, 1.0]])
        >>> round(float(losskit.info_nce(q, q, temperature=1.0)), 4)  # log(1 + e^-1)
        0.3133
        >>> round(float(losskit.info_nce(q, q[::-1], temperature=1.0)), 4)  # wrong pairs
        1.3133
    """
    xp = namespace(query=query, key=key)
    _embedding_rows(query, "query", xp)
    _embedding_rows(key, "key", xp)
    n, m = query.shape[0], key.shape[0]
    if key.shape[1] != query.shape[1]:
        raise LossInputError(
            f"key must have as many features as query ({query.shape[1]}); got shape "
            f"{tuple(key.shape)}"
        )
    # sizes unknown while tracing (None: TensorFlow's batch axis) are not compared
    if None not in (n, m) and (m < n or (symmetric and m != n)):
        need = "the same number of rows as query" if symmetric else "at least as many rows as query"
        raise LossInputError(
            f"key must have {need} ({n}), row i being query i's positive; got {m} rows"
            + (
                ". More keys than queries (a queue of negatives) needs symmetric=False"
                if symmetric and m > n
                else ""
            )
        )
    dtype = query.dtype
    key = as_float(key, query, "key", xp)
    q, k = _directions(query, xp=xp), _directions(key, xp=xp)
    scale = _scale(temperature, q, xp)
    if n == 0:
        return _empty_batch(q, reduction, weights, xp, dtype)
    loss = contrastive_cross_entropy(q, k, scale, 0, symmetric, xp=xp)
    return _in_dtype(reduce_loss(loss, reduction=reduction, weights=weights, xp=xp), dtype, xp)


def _grouped_contrastive(
    embeddings: Array,
    labels: Array,
    temperature: Any,
    rows: Callable[..., tuple[Array, Array]],
    reduction: Reduction,
    weights: Array | None,
) -> Array:
    """The body :func:`nt_xent` and :func:`supervised_contrastive` share: the checks,
    unit directions, the scaled similarities of every pair and the pair masks;
    ``rows(logits, masks, xp=xp)`` gives the per-anchor losses and
    whether each anchor has a positive, averaged over those that do."""
    xp = namespace(embeddings=embeddings, labels=labels)
    _embedding_rows(embeddings, "embeddings", xp)
    _group_labels(labels, embeddings.shape[0], xp)
    dtype = embeddings.dtype
    e = _directions(embeddings, xp=xp)
    if e.shape[0] == 0:
        return _empty_batch(e, reduction, weights, xp, dtype)
    logits = _similarities(e, e, _scale(temperature, e, xp), xp)
    loss, has_positive = rows(logits, _pair_masks(labels, labels, 0, xp), xp=xp)
    return _anchor_mean(loss, has_positive, reduction, weights, xp, dtype)


@register_loss(
    tasks="embedding",
    summary="NT-Xent (SimCLR): every positive pair against the anchor's negatives; positives from labels.",
    options=(real("temperature", TEMPERATURE_DOC, 0.0, closed="neither"),),
)
def nt_xent(
    embeddings: Array,
    labels: Array,
    *,
    temperature: float = 0.07,
    reduction: Reduction = "mean",
    weights: Array | None = None,
) -> Array:
    r"""Normalised temperature-scaled cross-entropy (NT-Xent; Chen et al., 2020).

    Embeddings with equal labels are positives of each other, those with different
    labels negatives.  For an anchor :math:`a` with positives :math:`P(a)` and
    negatives :math:`N(a)`:

    .. math::
        \ell_a = \frac{1}{|P(a)|} \sum_{p \in P(a)}
        -\log \frac{e^{s_{ap}/\tau}}{e^{s_{ap}/\tau} + \sum_{n \in N(a)} e^{s_{an}/\tau}}

    with :math:`s` the cosine similarity.  Other positives are not in the denominator
    (they are in :func:`supervised_contrastive`'s).  SimCLR's two augmented views of N
    images are ``embeddings = concat([view1, view2])`` with
    ``labels = concat([arange(N), arange(N)])``.  An anchor without a positive scores 0
    and is left out of the mean, which averages over anchors (optax and
    pytorch-metric-learning average over positive pairs: the same when every anchor has
    as many positives).

    Memory: the ``[N, N]`` similarity matrix and masks of that size.

    Args:
        embeddings: ``[N, D]``, compared by direction (cosine similarity).
        labels: ``[N]``, of any dtype; equal labels mark positives.
        temperature: :math:`\tau > 0`, a number or a 0-d array.
        {reduction}

    Returns:
        The reduced loss, or one loss per anchor, shape ``[N]``, for ``"none"``.

    Examples:
        >>> import numpy as np, losskit
        >>> x = np.array([[1.0, 0.0], [1.0, 0.1], [0.0, 1.0], [0.1, 1.0]])
        >>> round(float(losskit.nt_xent(x, np.array([0, 0, 1, 1]), temperature=0.5)), 4)
        0.2899
    """
    return _grouped_contrastive(embeddings, labels, temperature, nt_xent_rows, reduction, weights)


@register_loss(
    tasks="embedding",
    summary="Supervised contrastive loss (SupCon): all same-label embeddings pulled together.",
    options=(real("temperature", TEMPERATURE_DOC, 0.0, closed="neither"),),
)
def supervised_contrastive(
    embeddings: Array,
    labels: Array,
    *,
    temperature: float = 0.1,
    reduction: Reduction = "mean",
    weights: Array | None = None,
) -> Array:
    r"""Supervised contrastive loss, :math:`\mathcal{L}^{sup}_{out}` of Khosla et al. (2020).

    For an anchor :math:`a` with positives :math:`P(a)` (the other embeddings with its
    label) and :math:`A(a)` every embedding but itself:

    .. math::
        \ell_a = -\frac{1}{|P(a)|} \sum_{p \in P(a)}
        \log \frac{e^{s_{ap}/\tau}}{\sum_{j \in A(a)} e^{s_{aj}/\tau}}

    with :math:`s` the cosine similarity.  An anchor without a positive scores 0 and is
    left out of the mean (the reference code divides by zero there).  The paper's extra
    factor :math:`\tau / \tau_{base}` is left out, as in pytorch-metric-learning.

    Memory: the ``[N, N]`` similarity matrix and masks of that size.

    Args:
        embeddings: ``[N, D]``, compared by direction (cosine similarity).
        labels: ``[N]``, of any dtype; equal labels mark positives.
        temperature: :math:`\tau > 0`, a number or a 0-d array.
        {reduction}

    Returns:
        The reduced loss, or one loss per anchor, shape ``[N]``, for ``"none"``.

    Examples:
        >>> import numpy as np, losskit
        >>> x = np.array([[1.0, 0.0], [1.0, 0.1], [0.0, 1.0], [0.1, 1.0]])
        >>> round(float(losskit.supervised_contrastive(x, np.array([0, 0, 1, 1]))), 4)
        0.0003
    """
    return _grouped_contrastive(
        embeddings, labels, temperature, supervised_contrastive_rows, reduction, weights
    )


# ------------------------------------------------------------------ metric learning


def _matched_embeddings(
    xp: Any, first: tuple[str, Array], *others: tuple[str, Array]
) -> list[Array]:
    """Embeddings ``[..., D]`` of one shape; the others cast to the first one's dtype."""
    name, x = first
    require_floating(x, name, xp)
    _require_features(x, name)
    out = [x]
    for other_name, other in others:
        check_same_shape(x, other, (name, other_name))
        out.append(as_float(other, x, other_name, xp))
    return out


def _pair_target(target: Array, x: Array, xp: Any) -> Array:
    """A target per pair: ``x``'s shape without the embedding axis, cast to its dtype."""
    expected = tuple(x.shape[:-1])
    check_shape(
        target, expected, "target", "one per pair: the embeddings' shape without the last axis"
    )
    target = as_float(target, x, "target", xp)
    check_no_nan(target, "target", xp)
    return target


@register_loss(
    tasks="embedding",
    summary="Triplet margin loss: the anchor nearer its positive than its negative by a margin.",
    options=(
        real(
            "margin",
            (
                "how much nearer the positive must be than the negative, >= 0, in the distance's "
                "units. Usual: 1.0 for Euclidean distances of unnormalised embeddings (PyTorch's "
                "default), 0.1 to 0.3 for unit-length embeddings or the cosine distance."
            ),
            0.0,
        ),
        choice(
            "distance",
            DISTANCES,
            (
                "'euclidean' (default, as PyTorch's TripletMarginLoss), 'squared_euclidean' (the "
                "FaceNet form) or 'cosine' (1 - cosine similarity, bounded by 2)."
            ),
        ),
        flag(
            "swap",
            (
                "True: the negative's distance is the smaller of anchor-negative and "
                "positive-negative (Balntas et al.'s distance swap), a harder negative for free; "
                "False (default) keeps anchor-negative."
            ),
        ),
    ),
)
def triplet_margin(
    anchor: Array,
    positive: Array,
    negative: Array,
    *,
    margin: float = 1.0,
    distance: Literal["euclidean", "squared_euclidean", "cosine"] = "euclidean",
    swap: bool = False,
    reduction: Reduction = "mean",
    weights: Array | None = None,
) -> Array:
    r"""Triplet margin loss (Schroff et al., 2015; Balntas et al., 2016).

    .. math::
        \ell_i = \max\bigl(0,\; d(a_i, p_i) - d(a_i, n_i) + m\bigr)

    with ``swap=True`` using :math:`\min(d(a_i, n_i), d(p_i, n_i))` for the negative.
    The Euclidean distance is exact (PyTorch adds ``eps`` to every coordinate of the
    difference) and its gradient is 0 where two embeddings coincide.

    Args:
        anchor: embeddings ``[..., D]``.
        positive: embeddings of ``anchor``'s shape, matched row by row.
        negative: embeddings of ``anchor``'s shape, matched row by row.
        margin: :math:`m \ge 0`.
        distance: ``"euclidean"``, ``"squared_euclidean"`` or ``"cosine"``.
        swap: use the distance swap.
        {reduction}

    Returns:
        The reduced loss, or one loss per triplet (``anchor``'s shape without the last
        axis) for ``"none"``.

    Examples:
        >>> import numpy as np, losskit
        >>> a, p, n = np.array([[0.0, 0.0]]), np.array([[3.0, 4.0]]), np.array([[6.0, 8.0]])
        >>> float(losskit.triplet_margin(a, p, n, margin=1.0))  # max(0, 5 - 10 + 1)
        0.0
        >>> float(losskit.triplet_margin(a, n, p, margin=1.0))  # max(0, 10 - 5 + 1)
        6.0
    """
    xp = namespace(anchor=anchor, positive=positive, negative=negative)
    anchor, positive, negative = _matched_embeddings(
        xp, ("anchor", anchor), ("positive", positive), ("negative", negative)
    )
    dtype = anchor.dtype
    to_positive = pair_distance(anchor, positive, distance, xp=xp)
    to_negative = pair_distance(anchor, negative, distance, xp=xp)
    if swap:
        to_negative = xp.minimum(to_negative, pair_distance(positive, negative, distance, xp=xp))
    loss = xp.clip(to_positive - to_negative + margin, 0.0, None)
    return _in_dtype(reduce_loss(loss, reduction=reduction, weights=weights, xp=xp), dtype, xp)


@register_loss(
    tasks="embedding",
    summary="Pair contrastive loss: similar pairs pulled together, dissimilar ones pushed past a margin.",
    options=(
        real(
            "margin",
            (
                "distance beyond which a dissimilar pair costs nothing, >= 0, in the embeddings' "
                "units. Usual: 1.0 (default) for unit-length embeddings, whose distances lie in "
                "[0, 2]."
            ),
            0.0,
        ),
    ),
)
def pair_contrastive(
    x1: Array,
    x2: Array,
    target: Array,
    *,
    margin: float = 1.0,
    reduction: Reduction = "mean",
    weights: Array | None = None,
) -> Array:
    r"""Contrastive loss of Hadsell, Chopra and LeCun (2006) on pairs of embeddings.

    .. math::
        \ell_i = \tfrac12\, y_i\, d_i^2 + \tfrac12\,(1 - y_i)\,\max(0,\, m - d_i)^2,
        \qquad d_i = \lVert x_{1,i} - x_{2,i} \rVert

    with :math:`y_i = 1` for a similar pair and 0 for a dissimilar one (values in
    between weigh the two terms).  The factors 1/2 are the paper's.

    Args:
        x1: embeddings ``[..., D]``.
        x2: embeddings of ``x1``'s shape, matched row by row.
        target: 1 (similar) or 0 (dissimilar) per pair, ``x1``'s shape without the last axis.
        margin: :math:`m \ge 0`.
        {reduction}

    Returns:
        The reduced loss, or one loss per pair for ``"none"``.

    Examples:
        >>> import numpy as np, losskit
        >>> x1, x2 = np.array([[0.0, 0.0], [0.0, 0.0]]), np.array([[0.3, 0.4], [0.3, 0.4]])
        >>> losskit.pair_contrastive(x1, x2, np.array([1.0, 0.0]), reduction="none").tolist()
        [0.125, 0.125]
    """
    xp = namespace(x1=x1, x2=x2, target=target)
    x1, x2 = _matched_embeddings(xp, ("x1", x1), ("x2", x2))
    target = _pair_target(target, x1, xp)
    check_values(
        target,
        lambda t: xp.any((t < 0) | (t > 1)),
        "target must hold 1 (similar pair) or 0 (dissimilar pair); found a value outside [0, 1]",
    )
    dtype = x1.dtype
    a, b, y = _widened(x1, xp), _widened(x2, xp), _widened(target, xp)
    squared = xp.sum((a - b) ** 2, axis=-1)
    gap = xp.clip(margin - _safe_sqrt(squared, xp=xp), 0.0, None)
    loss = 0.5 * y * squared + 0.5 * (1.0 - y) * gap**2
    return _in_dtype(reduce_loss(loss, reduction=reduction, weights=weights, xp=xp), dtype, xp)


@register_loss(
    tasks="embedding",
    summary="Cosine embedding loss: 1 - cos for similar pairs, cos above a margin for dissimilar ones.",
    options=(
        real(
            "margin",
            (
                "cosine similarity below which a dissimilar pair costs nothing, in [-1, 1]. "
                "Default 0 (orthogonal is far enough); PyTorch suggests 0 to 0.5."
            ),
            -1.0,
            1.0,
        ),
    ),
)
def cosine_embedding(
    x1: Array,
    x2: Array,
    target: Array,
    *,
    margin: float = 0.0,
    reduction: Reduction = "mean",
    weights: Array | None = None,
) -> Array:
    r"""Cosine embedding loss, PyTorch's ``CosineEmbeddingLoss``.

    .. math::
        \ell_i = \begin{cases} 1 - \cos(x_{1,i}, x_{2,i}) & y_i = 1 \\
        \max\bigl(0,\, \cos(x_{1,i}, x_{2,i}) - m\bigr) & y_i = -1 \end{cases}

    Args:
        x1: embeddings ``[..., D]``.
        x2: embeddings of ``x1``'s shape, matched row by row.
        target: 1 (similar) or -1 (dissimilar) per pair, ``x1``'s shape without the
            last axis.
        margin: :math:`m \in [-1, 1]`.
        {reduction}

    Returns:
        The reduced loss, or one loss per pair for ``"none"``.

    Examples:
        >>> import numpy as np, losskit
        >>> x1, x2 = np.array([[1.0, 0.0], [1.0, 0.0]]), np.array([[1.0, 1.0], [1.0, 1.0]])
        >>> losskit.cosine_embedding(x1, x2, np.array([1, -1]), reduction="none").round(4).tolist()
        [0.2929, 0.7071]
    """
    xp = namespace(x1=x1, x2=x2, target=target)
    x1, x2 = _matched_embeddings(xp, ("x1", x1), ("x2", x2))
    target = _pair_target(target, x1, xp)
    _sign_labels(target, "target", xp)
    dtype = x1.dtype
    cos = xp.sum(_directions(x1, xp=xp) * _directions(x2, xp=xp), axis=-1)
    loss = xp.where(_widened(target, xp) > 0, 1.0 - cos, xp.clip(cos - margin, 0.0, None))
    return _in_dtype(reduce_loss(loss, reduction=reduction, weights=weights, xp=xp), dtype, xp)


@register_loss(
    tasks="embedding",
    summary="Margin ranking loss: the preferred score must exceed the other by a margin.",
    options=(
        real(
            "margin",
            (
                "how far the preferred score must lie above the other, >= 0, in the scores' units. "
                "Default 0 (only the order counts); 1 is a common choice for unbounded scores."
            ),
            0.0,
        ),
    ),
)
def margin_ranking(
    score1: Array,
    score2: Array,
    target: Array,
    *,
    margin: float = 0.0,
    reduction: Reduction = "mean",
    weights: Array | None = None,
) -> Array:
    r"""Margin ranking loss, PyTorch's ``MarginRankingLoss``, element by element.

    .. math:: \ell_i = \max\bigl(0,\, -y_i\,(x_{1,i} - x_{2,i}) + m\bigr)

    with :math:`y_i = 1` when the first score should rank higher and -1 when the second
    should.

    Args:
        score1: scores of the first items, any shape.
        score2: scores of the second items, ``score1``'s shape.
        target: 1 or -1 per pair, ``score1``'s shape.
        margin: :math:`m \ge 0`.
        {reduction}

    Returns:
        The reduced loss, or the per-pair loss of ``score1``'s shape for ``"none"``.

    Examples:
        >>> import numpy as np, losskit
        >>> s1, s2 = np.array([2.0, 0.5]), np.array([1.0, 1.0])
        >>> losskit.margin_ranking(s1, s2, np.array([1, 1]), margin=0.5, reduction="none").tolist()
        [0.0, 1.0]
    """
    xp = namespace(score1=score1, score2=score2, target=target)
    require_floating(score1, "score1", xp)
    check_same_shape(score1, score2, ("score1", "score2"))
    check_same_shape(score1, target, ("score1", "target"))
    score2 = as_float(score2, score1, "score2", xp)
    target = as_float(target, score1, "target", xp)
    _sign_labels(target, "target", xp)
    loss = xp.clip(-target * (score1 - score2) + margin, 0.0, None)
    return reduce_loss(loss, reduction=reduction, weights=weights, xp=xp)


@register_loss(
    tasks="embedding",
    summary="Negative cosine similarity of predicted and target vectors, as Keras's CosineSimilarity.",
    options=(
        integer(
            "axis",
            "the axis holding the vectors: -1 (default, the last axis, as Keras), or any other.",
        ),
    ),
)
def cosine_similarity(
    pred: Array,
    target: Array,
    *,
    axis: int = -1,
    reduction: Reduction = "mean",
    weights: Array | None = None,
) -> Array:
    r"""Negative cosine similarity, as Keras's ``CosineSimilarity`` loss.

    .. math:: \ell_i = -\frac{\hat y_i^\top y_i}{\lVert \hat y_i \rVert\,\lVert y_i \rVert}

    It lies in [-1, 1]: -1 when the vectors point the same way, 0 when they are
    orthogonal.  A zero vector scores 0 with a finite gradient.

    Args:
        pred: predicted vectors, any shape with the vectors on ``axis``.
        target: target vectors, the same shape as ``pred``.
        axis: the axis holding the vectors.
        {reduction}

    Returns:
        The reduced loss, or one loss per vector (``pred``'s shape without ``axis``) for
        ``"none"``.

    Examples:
        >>> import numpy as np, losskit
        >>> pred, target = np.array([[1.0, 1.0], [1.0, 0.0]]), np.array([[2.0, 2.0], [0.0, 3.0]])
        >>> losskit.cosine_similarity(pred, target, reduction="none").round(4).tolist()
        [-1.0, -0.0]
    """
    xp, pred, target = elementwise_inputs(pred, target)
    if pred.ndim == 0:
        raise LossInputError("pred must hold vectors along axis; got a 0-d array")
    axis = check_normalized_axis(axis, pred.ndim)
    if pred.shape[axis] == 0:
        raise LossInputError(
            f"pred must hold vectors of at least one value on axis {axis}; got shape "
            f"{tuple(pred.shape)}"
        )
    dtype = pred.dtype
    cos = xp.sum(
        _directions(pred, axis=axis, xp=xp) * _directions(target, axis=axis, xp=xp), axis=axis
    )
    return _in_dtype(reduce_loss(-cos, reduction=reduction, weights=weights, xp=xp), dtype, xp)


# ------------------------------------------------------------- additive margins


SCALE = real(
    "scale",
    (
        "multiplies the cosines before the softmax, > 0: the radius of the hypersphere the "
        "embeddings live on. Usual: 64 (default) for thousands of classes, 16 to 32 for a few."
    ),
    0.0,
    closed="neither",
)


def _class_cosines(
    embeddings: Array, labels: Array, centres: Array
) -> tuple[Any, Array, Array, Array, Any]:
    """(xp, cosines to every centre ``[..., C]``, the true class's cosine ``[...]``, the
    mask of the true class ``[..., C]``, the loss dtype), inputs checked."""
    xp = namespace(embeddings=embeddings, labels=labels, centres=centres)
    require_floating(embeddings, "embeddings", xp)
    _require_features(embeddings, "embeddings")
    features = embeddings.shape[-1]
    if centres.ndim != 2 or centres.shape[1] != features or centres.shape[0] == 0:
        raise LossInputError(
            f"centres must be a [C, D] array of class centres, one row per class, with D = "
            f"{features} as embeddings; got shape {tuple(centres.shape)}"
        )
    require_integer(labels, "labels", xp)
    check_shape(
        labels, tuple(embeddings.shape[:-1]), "labels", "embeddings' shape without the last axis"
    )
    classes = shape(centres)[0]  # unknown while tracing with a dynamic first axis
    check_labels(labels, classes, "labels", xp)
    dtype = embeddings.dtype
    centres = as_float(centres, embeddings, "centres", xp)
    e, w = _directions(embeddings, xp=xp), _directions(centres, xp=xp)
    cosines = xp.matmul(e, xp.permute_dims(w, (1, 0)))
    target = gather_classes(cosines, labels, axis=-1, xp=xp)
    index = xp.arange(classes, dtype=labels.dtype, device=device(labels))
    is_target = xp.expand_dims(labels, axis=-1) == index
    return xp, cosines, target, is_target, dtype


def _margin_softmax(
    cosines: Array,
    target: Array,
    is_target: Array,
    target_logit: Array,
    scale: Any,
    reduction: str,
    weights: Any,
    xp: Any,
    dtype: Any,
) -> Array:
    """Softmax cross-entropy of ``scale`` times the cosines, the true class's replaced by
    ``target_logit``: log-sum-exp minus the true logit (no log-softmax array)."""
    logits = scale * xp.where(is_target, xp.expand_dims(target_logit, axis=-1), cosines)
    m, log_s = logsumexp_parts(logits, axis=-1, xp=xp)
    loss = log_s + (m - scale * target_logit)  # m apart from log s: logsumexp_parts
    return _in_dtype(reduce_loss(loss, reduction=reduction, weights=weights, xp=xp), dtype, xp)


def _cos_sin(angle: Any, xp: Any) -> tuple[Any, Any]:
    """cos and sin of an option from :func:`scalar_option`: floats or arrays."""
    if isinstance(angle, float):
        return math.cos(angle), math.sin(angle)
    return xp.cos(angle), xp.sin(angle)


@register_loss(
    tasks="embedding",
    summary="ArcFace: softmax over class centres with an additive angular margin on the true class.",
    options=(
        SCALE,
        real(
            "margin",
            (
                "angle added to the true class's angle, in radians, in [0, pi/2]. Usual: 0.5 "
                "(default, about 28.6 degrees; pytorch-metric-learning takes degrees)."
            ),
            0.0,
            math.pi / 2,
        ),
    ),
)
def arcface(
    embeddings: Array,
    labels: Array,
    centres: Array,
    *,
    scale: float = 64.0,
    margin: float = 0.5,
    reduction: Reduction = "mean",
    weights: Array | None = None,
) -> Array:
    r"""ArcFace, additive angular margin loss (Deng et al., 2019).

    With :math:`\theta_{ij}` the angle between embedding :math:`i` and the centre of
    class :math:`j`, and :math:`y_i` its class:

    .. math::
        \ell_i = -\log \frac{e^{s\,\psi(\theta_{iy_i})}}
        {e^{s\,\psi(\theta_{iy_i})} + \sum_{j \ne y_i} e^{s \cos\theta_{ij}}},\qquad
        \psi(\theta) = \begin{cases} \cos(\theta + m) & \theta \le \pi - m \\
        \cos\theta - m \sin m & \theta > \pi - m \end{cases}

    The second branch keeps :math:`\psi` decreasing beyond :math:`\pi - m`, where
    :math:`\cos(\theta + m)` would rise again (InsightFace and pytorch-metric-learning
    do the same; :math:`\psi` drops by a little there).  :math:`\cos(\theta + m)` is
    computed as :math:`\cos\theta\cos m - \sin\theta \sin m` without an arccosine, so an
    embedding on its centre (:math:`\theta = 0`) has a finite gradient.

    Memory: the ``[N, C]`` cosines and logits.

    Args:
        embeddings: ``[..., D]``, compared by direction with the centres.
        labels: integer classes in [0, C), ``embeddings``' shape without the last axis.
        centres: ``[C, D]``, one learnable centre (weight vector) per class.
        scale: :math:`s > 0`.
        margin: :math:`m \in [0, \pi/2]`, radians.
        {reduction}

    Returns:
        The reduced loss, or one loss per embedding for ``"none"``.

    Examples:
        >>> import numpy as np, losskit
        >>> e, centres = np.array([[1.0, 0.0]]), np.array([[1.0, 0.0], [0.0, 1.0]])
        >>> round(float(losskit.arcface(e, np.array([0]), centres, scale=4.0, margin=0.0)), 4)
        0.0181
        >>> round(float(losskit.arcface(e, np.array([0]), centres, scale=4.0, margin=0.5)), 4)
        0.0294
    """
    xp, cosines, target, is_target, dtype = _class_cosines(embeddings, labels, centres)
    margin = scalar_option(margin, target, "margin", xp)
    scale = scalar_option(scale, target, "scale", xp)
    cos_m, sin_m = _cos_sin(margin, xp)
    # sin(theta) >= 0 on [0, pi]; its square clipped at the smallest normal number, so the
    # gradient of the square root stays finite on the centre (cos = 1)
    tiny = float(xp.finfo(target.dtype).smallest_normal)
    sine = xp.sqrt(xp.clip(1.0 - target * target, tiny, None))
    target_logit = xp.where(
        target >= -cos_m, target * cos_m - sine * sin_m, target - margin * sin_m
    )
    return _margin_softmax(
        cosines, target, is_target, target_logit, scale, reduction, weights, xp, dtype
    )


@register_loss(
    tasks="embedding",
    summary="CosFace: softmax over class centres with an additive cosine margin on the true class.",
    options=(
        SCALE,
        real(
            "margin",
            "subtracted from the true class's cosine, >= 0. Usual: 0.35 (default), 0.2 to 0.4.",
            0.0,
        ),
    ),
)
def cosface(
    embeddings: Array,
    labels: Array,
    centres: Array,
    *,
    scale: float = 64.0,
    margin: float = 0.35,
    reduction: Reduction = "mean",
    weights: Array | None = None,
) -> Array:
    r"""CosFace, large margin cosine loss (Wang et al., 2018).

    With :math:`\cos\theta_{ij}` the cosine similarity of embedding :math:`i` and the
    centre of class :math:`j`, and :math:`y_i` its class:

    .. math::
        \ell_i = -\log \frac{e^{s(\cos\theta_{iy_i} - m)}}
        {e^{s(\cos\theta_{iy_i} - m)} + \sum_{j \ne y_i} e^{s \cos\theta_{ij}}}

    Memory: the ``[N, C]`` cosines and logits.

    Args:
        embeddings: ``[..., D]``, compared by direction with the centres.
        labels: integer classes in [0, C), ``embeddings``' shape without the last axis.
        centres: ``[C, D]``, one learnable centre (weight vector) per class.
        scale: :math:`s > 0`.
        margin: :math:`m \ge 0`.
        {reduction}

    Returns:
        The reduced loss, or one loss per embedding for ``"none"``.

    Examples:
        >>> import numpy as np, losskit
        >>> e, centres = np.array([[1.0, 0.0]]), np.array([[1.0, 0.0], [0.0, 1.0]])
        >>> round(float(losskit.cosface(e, np.array([0]), centres, scale=4.0, margin=0.5)), 4)
        0.1269
    """
    xp, cosines, target, is_target, dtype = _class_cosines(embeddings, labels, centres)
    margin = scalar_option(margin, target, "margin", xp)
    scale = scalar_option(scale, target, "scale", xp)
    return _margin_softmax(
        cosines, target, is_target, target - margin, scale, reduction, weights, xp, dtype
    )
