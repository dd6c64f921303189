"""Table entries for the embedding losses.

The references are written from the papers' formulas, anchor by anchor and pair by
pair, with Python loops over NumPy float64 rows; angles come from ``np.arccos`` and
log-sum-exps from ``scipy.special.logsumexp``.  Vectors are normalised as documented,
by their norm floored at float64's machine epsilon.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import logsumexp

import losskit

from .spec import Invalid, LossCase, Peer, Sample, reference_reduce

EPS = np.finfo(np.float64).eps

# -------------------------------------------------------------------- references


def _unit(x, axis=-1):
    return x / np.maximum(np.linalg.norm(x, axis=axis, keepdims=True), EPS)


def _cos(a, b, axis=-1):
    return np.sum(_unit(a, axis) * _unit(b, axis), axis=axis)


def _anchor_reduce(loss, has_positive, reduction, weights):
    """The mean over the anchors with a positive."""
    return reference_reduce(np.asarray(loss), reduction, weights, norm=has_positive.astype(float))


def _info_nce_ref(query, key, *, temperature=0.07, symmetric=False, reduction="mean", weights=None):
    t = float(temperature)
    n = len(query)
    s = np.array([[_cos(q, k) for k in key] for q in query]) / t
    loss = []
    for i in range(n):
        one_way = logsumexp(s[i]) - s[i, i]
        if symmetric:
            loss.append(0.5 * (one_way + logsumexp(s[:, i]) - s[i, i]))
        else:
            loss.append(one_way)
    return reference_reduce(np.array(loss), reduction, weights)


def _similarities(embeddings, temperature):
    u = _unit(embeddings)
    return u @ u.T / float(temperature)


def _nt_xent_ref(embeddings, labels, *, temperature=0.07, reduction="mean", weights=None):
    s = _similarities(embeddings, temperature)
    n = len(labels)
    loss, has_positive = np.zeros(n), np.zeros(n, dtype=bool)
    for a in range(n):
        positives = [p for p in range(n) if p != a and labels[p] == labels[a]]
        negatives = [j for j in range(n) if labels[j] != labels[a]]
        if not positives:
            continue
        has_positive[a] = True
        terms = [-s[a, p] + logsumexp([s[a, p], *s[a, negatives]]) for p in positives]
        loss[a] = np.mean(terms)
    return _anchor_reduce(loss, has_positive, reduction, weights)


def _supcon_ref(embeddings, labels, *, temperature=0.1, reduction="mean", weights=None):
    s = _similarities(embeddings, temperature)
    n = len(labels)
    loss, has_positive = np.zeros(n), np.zeros(n, dtype=bool)
    for a in range(n):
        positives = [p for p in range(n) if p != a and labels[p] == labels[a]]
        if not positives:
            continue
        has_positive[a] = True
        others = [j for j in range(n) if j != a]
        loss[a] = -np.mean([s[a, p] - logsumexp(s[a, others]) for p in positives])
    return _anchor_reduce(loss, has_positive, reduction, weights)


def _distance(x, y, distance):
    if distance == "cosine":
        return 1.0 - _cos(x, y)
    squared = np.sum((x - y) ** 2, axis=-1)
    return squared if distance == "squared_euclidean" else np.sqrt(squared)


def _triplet_ref(
    anchor,
    positive,
    negative,
    *,
    margin=1.0,
    distance="euclidean",
    swap=False,
    reduction="mean",
    weights=None,
):
    to_negative = _distance(anchor, negative, distance)
    if swap:
        to_negative = np.minimum(to_negative, _distance(positive, negative, distance))
    loss = np.maximum(_distance(anchor, positive, distance) - to_negative + margin, 0.0)
    return reference_reduce(loss, reduction, weights)


def _pair_contrastive_ref(x1, x2, target, *, margin=1.0, reduction="mean", weights=None):
    d = np.linalg.norm(x1 - x2, axis=-1)
    loss = 0.5 * target * d**2 + 0.5 * (1 - target) * np.maximum(margin - d, 0.0) ** 2
    return reference_reduce(loss, reduction, weights)


def _cosine_embedding_ref(x1, x2, target, *, margin=0.0, reduction="mean", weights=None):
    cos = _cos(x1, x2)
    loss = np.where(target == 1, 1 - cos, np.maximum(cos - margin, 0.0))
    return reference_reduce(loss, reduction, weights)


def _margin_ranking_ref(score1, score2, target, *, margin=0.0, reduction="mean", weights=None):
    loss = np.maximum(-target * (score1 - score2) + margin, 0.0)
    return reference_reduce(loss, reduction, weights)


def _cosine_similarity_ref(pred, target, *, axis=-1, reduction="mean", weights=None):
    return reference_reduce(-_cos(pred, target, axis), reduction, weights)


def _margin_softmax_ref(embeddings, labels, centres, scale, target_logit):
    """Cross-entropy of scale * cos, the true class's logit replaced by target_logit(theta)."""
    flat_e = embeddings.reshape(-1, embeddings.shape[-1])
    flat_y = labels.reshape(-1)
    loss = []
    for e, y in zip(flat_e, flat_y, strict=True):
        cosines = np.array([_cos(e, c) for c in centres])
        theta = math.acos(min(1.0, max(-1.0, cosines[y])))
        logits = scale * cosines
        logits[y] = scale * target_logit(theta)
        loss.append(logsumexp(logits) - logits[y])
    return np.array(loss).reshape(labels.shape)


def _arcface_ref(
    embeddings, labels, centres, *, scale=64.0, margin=0.5, reduction="mean", weights=None
):
    m = float(margin)

    def target_logit(theta):
        if theta <= math.pi - m:
            return math.cos(theta + m)
        return math.cos(theta) - m * math.sin(m)

    loss = _margin_softmax_ref(embeddings, labels, centres, scale, target_logit)
    return reference_reduce(loss, reduction, weights)


def _cosface_ref(
    embeddings, labels, centres, *, scale=64.0, margin=0.35, reduction="mean", weights=None
):
    loss = _margin_softmax_ref(
        embeddings, labels, centres, scale, lambda theta: math.cos(theta) - margin
    )
    return reference_reduce(loss, reduction, weights)


# ---------------------------------------------------------------------- samples


def _views(rng, n, d, noise=0.3):
    """Two noisy views of n random embeddings: (query, key), query i matching key i."""
    base = rng.normal(size=(n, d))
    return base + noise * rng.normal(size=(n, d)), base + noise * rng.normal(size=(n, d))


def _info_nce_samples(rng):
    q, k = _views(rng, 6, 4)
    yield Sample((q, k), {"temperature": 0.1}, desc="one-way", grad_args=(0, 1))
    q, k = _views(rng, 5, 3)
    yield Sample(
        (q, k), {"temperature": 0.5, "symmetric": True}, desc="symmetric", grad_args=(0, 1)
    )
    q, k = _views(rng, 4, 3)
    queue = rng.normal(size=(3, 3))
    yield Sample(
        (q, np.concatenate([k, queue])), {"temperature": 0.2}, desc="queue", grad_args=(0, 1)
    )
    q, k = _views(rng, 5, 6, noise=1.0)
    yield Sample(
        (q * 100.0, k * 0.01),
        {"temperature": np.array(0.3), "symmetric": True},
        desc="0-d array temperature, scaled rows",
        grad_args=(0, 1),
    )
    yield Sample((np.zeros((0, 3)), np.zeros((0, 3))), {}, desc="empty batch", grad_args=(0, 1))


def _groups(rng, sizes, d=4, spread=0.6):
    """Embeddings near one random centre per group, and their labels."""
    labels = np.concatenate([np.full(size, g) for g, size in enumerate(sizes)])
    centres = rng.normal(size=(len(sizes), d))
    x = centres[labels] + spread * rng.normal(size=(len(labels), d))
    order = rng.permutation(len(labels))
    return x[order], labels[order]


def _group_samples(temperature):
    def samples(rng):
        x, labels = _groups(rng, (2, 2, 2, 2))
        yield Sample((x, labels), {"temperature": temperature}, desc="pairs (two views)")
        x, labels = _groups(rng, (3, 3, 3), d=5)
        yield Sample((x, labels), {"temperature": 0.5}, desc="groups of three")
        x, labels = _groups(rng, (4, 2, 1, 3))
        yield Sample((x, labels), {"temperature": 0.2}, desc="unequal groups and a singleton")
        x, labels = _groups(rng, (3, 2))
        yield Sample(
            (x, labels.astype(np.float64) / 2),
            {"temperature": np.array(0.25)},
            desc="float labels, 0-d array temperature",
        )
        x, labels = _groups(rng, (4,))
        yield Sample((x, labels), {}, desc="one group: no negatives")
        x, _ = _groups(rng, (1, 1, 1))
        yield Sample((x, np.arange(3)), {}, desc="no positives", plain_mean=False)
        yield Sample((np.zeros((0, 3)), np.zeros(0, dtype=np.int64)), {}, desc="empty batch")

    return samples


def _plain_mean_fixed(samples):
    """Anchors without a positive leave the mean: only then is it not the plain mean."""

    def fixed(rng):
        for sample in samples(rng):
            labels = sample.args[1]
            counts = {value: int(np.sum(labels == value)) for value in labels.tolist()}
            sample.plain_mean = all(c > 1 for c in counts.values()) and len(labels) > 0
            yield sample

    return fixed


def _triplets(rng, shape, d):
    a = rng.normal(size=(*shape, d))
    return a, a + 0.5 * rng.normal(size=(*shape, d)), a + 1.2 * rng.normal(size=(*shape, d))


def _triplet_samples(rng):
    every = (0, 1, 2)
    yield Sample(_triplets(rng, (6,), 5), {}, desc="euclidean", grad_args=every)
    yield Sample(
        _triplets(rng, (6,), 3),
        {"distance": "squared_euclidean", "margin": 0.5, "swap": True},
        desc="squared swap",
        grad_args=every,
    )
    yield Sample(
        _triplets(rng, (5,), 4),
        {"distance": "cosine", "margin": 0.2},
        desc="cosine",
        grad_args=every,
    )
    yield Sample(
        _triplets(rng, (2, 3), 4),
        {"margin": 2.0, "swap": True},
        desc="[2, 3, D] swap",
        grad_args=every,
    )
    yield Sample(
        _triplets(rng, (4,), 3),
        {"distance": "cosine", "margin": 0.0, "swap": True},
        desc="cosine margin 0 swap",
        grad_args=every,
    )


def _pairs(rng, shape, d):
    x1 = rng.normal(size=(*shape, d))
    return x1, x1 + 0.6 * rng.normal(size=(*shape, d))


def _pair_contrastive_samples(rng):
    x1, x2 = _pairs(rng, (8,), 3)
    yield Sample((x1, x2, rng.integers(0, 2, 8).astype(float)), {}, grad_args=(0, 1), desc="0/1")
    x1, x2 = _pairs(rng, (2, 3), 4)
    yield Sample(
        (x1, x2, rng.uniform(0, 1, (2, 3))), {"margin": 2.5}, grad_args=(0, 1), desc="soft, margin"
    )
    x1, x2 = _pairs(rng, (4,), 2)
    yield Sample(
        (x1, x2, np.array([1, 0, 1, 0])), {"margin": 0.5}, grad_args=(0, 1), desc="int target"
    )


def _cosine_embedding_samples(rng):
    x1, x2 = _pairs(rng, (8,), 4)
    yield Sample((x1, x2, rng.choice([-1, 1], 8)), {}, grad_args=(0, 1), desc="default")
    x1, x2 = _pairs(rng, (6,), 3)
    yield Sample(
        (x1, -x2, rng.choice([-1.0, 1.0], 6)), {"margin": 0.3}, grad_args=(0, 1), desc="margin"
    )
    x1, x2 = _pairs(rng, (2, 3), 5)
    yield Sample(
        (x1, x2, rng.choice([-1, 1], (2, 3))),
        {"margin": -0.5},
        grad_args=(0, 1),
        desc="[2, 3, D] negative margin",
    )


def _margin_ranking_samples(rng):
    every = (0, 1)
    yield Sample(
        (rng.normal(size=8), rng.normal(size=8), rng.choice([-1.0, 1.0], 8)),
        {},
        grad_args=every,
        desc="default",
    )
    yield Sample(
        (rng.normal(size=(3, 4)), rng.normal(size=(3, 4)), rng.choice([-1, 1], (3, 4))),
        {"margin": 0.5},
        grad_args=every,
        desc="2-D, margin",
    )


def _cosine_similarity_samples(rng):
    yield Sample((rng.normal(size=(5, 4)), rng.normal(size=(5, 4))), {}, desc="rows")
    yield Sample((rng.normal(size=(3, 6)), rng.normal(size=(3, 6))), {"axis": 0}, desc="axis 0")
    yield Sample(
        (rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 3, 4))), {"axis": 1}, desc="3-D axis 1"
    )
    yield Sample((rng.normal(size=4), rng.normal(size=4)), {}, desc="one vector")


def _classes(rng, shape, classes, d):
    """Embeddings near their class centres, the labels and the centres."""
    centres = rng.normal(size=(classes, d))
    labels = rng.integers(0, classes, shape)
    return centres[labels] + 0.8 * rng.normal(size=(*shape, d)), labels, centres


def _margin_softmax_samples(margins):
    small, large = margins

    def samples(rng):
        every = (0, 2)
        yield Sample(
            _classes(rng, (6,), 4, 5),
            {"scale": 16.0, "margin": small},
            grad_args=every,
            desc="scale 16",
        )
        yield Sample(_classes(rng, (5,), 3, 4), {}, grad_args=every, desc="defaults")
        yield Sample(
            _classes(rng, (2, 3), 4, 3),
            {"scale": 8.0, "margin": large},
            grad_args=every,
            desc="[2, 3, D], large margin",
        )
        e, labels, centres = _classes(rng, (4,), 3, 4)
        e[0] = -centres[labels[0]] + 0.2 * rng.normal(size=4)  # far past pi - m
        yield Sample(
            (e, labels, centres),
            {"scale": 4.0, "margin": np.array(small)},
            grad_args=every,
            desc="a true class almost opposite, 0-d array margin",
        )
        yield Sample(
            _classes(rng, (4,), 3, 4),
            {"scale": 10.0, "margin": 0.0},
            grad_args=every,
            desc="margin 0: normalised softmax",
        )

    return samples


# --------------------------------------------------------------------- extremes


def _info_nce_extremes():
    x = np.array([[0.0, 0.0, 0.0], [1e4, -1e4, 1.0], [3.0, 4.0, 0.0], [3.0, 4.0, 0.0]])
    yield Sample((x, x[::-1].copy()), {"temperature": 0.01}, desc="zero, huge and duplicate rows")
    yield Sample(
        (x, x.copy()), {"temperature": 0.01, "symmetric": True}, desc="symmetric", grad_args=(0, 1)
    )


def _group_extremes():
    x = np.array([[0.0, 0.0, 0.0], [1e4, -1e4, 1.0], [3.0, 4.0, 0.0], [3.0, 4.0, 0.0]])
    yield Sample((x, np.array([0, 0, 1, 1])), {"temperature": 0.01}, desc="zero, huge, duplicates")
    yield Sample((x, np.zeros(4, dtype=np.int64)), {}, desc="one group")
    yield Sample((x, np.arange(4)), {}, desc="no positives")


def _triplet_extremes():
    a = np.array([[0.0, 0.0], [1e4, 1e4], [1.0, 2.0]])
    for distance in ("euclidean", "cosine"):
        yield Sample(
            (a, a.copy(), a.copy()),
            {"distance": distance, "swap": True},
            desc=f"identical, zero and huge {distance}",
            grad_args=(0, 1, 2),
        )


def _pair_extremes():
    x = np.array([[0.0, 0.0], [1e4, 1e4], [1.0, 2.0]])
    yield Sample((x, x.copy(), np.array([0.0, 1.0, 0.0])), {}, desc="identical, zero, huge")


def _cosine_embedding_extremes():
    x = np.array([[0.0, 0.0], [1e4, 1e4], [1.0, 2.0]])
    yield Sample((x, x[::-1].copy(), np.array([1, -1, 1])), {}, desc="zero and huge rows")


def _margin_ranking_extremes():
    yield Sample(
        (np.array([1e4, -1e4, 0.0]), np.array([-1e4, 1e4, 0.0]), np.array([1, 1, -1])),
        {"margin": 1.0},
        desc="huge scores",
        grad_args=(0, 1),
    )


def _cosine_similarity_extremes():
    x = np.array([[0.0, 0.0], [1e4, 1e4], [1.0, 2.0]])
    yield Sample((x, x[::-1].copy()), {}, desc="zero and huge vectors")


def _margin_softmax_extremes():
    centres = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    e = np.array([[1.0, 0.0], [0.0, 0.0], [-5.0, 1e-3], [0.0, 1e4]])
    yield Sample(
        (e, np.array([0, 1, 0, 2]), centres),
        {},
        desc="on its centre, zero, opposite, huge",
        grad_args=(0, 2),
    )


# ---------------------------------------------------------------------- invalid


def _info_nce_invalid():
    q = np.ones((3, 2))
    yield Invalid((q[0], q), {}, "query must be a [N, D] array", "1-D query")
    yield Invalid((q, np.ones((3, 4))), {}, "key must have as many features", "features")
    yield Invalid((q, q[:2]), {}, "key must have at least as many rows", "fewer keys")
    yield Invalid((q, np.ones((4, 2))), {"symmetric": True}, "needs symmetric=False", "queue sym")
    yield Invalid((q.astype(np.int64), q), {}, "query must have a real floating dtype", "int")
    yield Invalid((np.ones((3, 0)), np.ones((3, 0))), {}, "at least one value each", "no features")
    yield Invalid((q, q), {"temperature": 0.0}, "temperature must lie in")
    yield Invalid((q, q), {"temperature": np.ones(2)}, "temperature must be a number or a 0-d")
    yield Invalid((q, q), {"symmetric": 1}, "symmetric must be True or False")


def _group_invalid():
    x = np.ones((3, 2))
    yield Invalid((x, np.zeros(2)), {}, "labels must have shape (3,)", "labels shape")
    yield Invalid(
        (x, np.array([0.0, np.nan, 1.0])),
        {},
        "labels must not contain NaN",
        "nan label",
        value_check=True,
    )
    yield Invalid((x[0], np.zeros(1)), {}, "embeddings must be a [N, D] array", "1-D")
    yield Invalid((x, np.zeros(3)), {"temperature": -1.0}, "temperature must lie in")


def _triplet_invalid():
    a = np.ones((3, 2))
    yield Invalid((a, a, a[:2]), {}, "negative must have the same shape as anchor", "shape")
    yield Invalid((a, a[:, :1], a), {}, "positive must have the same shape as anchor", "dims")
    yield Invalid((a, a, a), {"distance": "manhattan"}, "distance must be one of")
    yield Invalid((a, a, a), {"margin": -0.5}, "margin must lie in")
    yield Invalid((a, a, a), {"swap": "yes"}, "swap must be True or False")
    yield Invalid((np.ones(3, dtype=np.int64), a, a), {}, "anchor must have a real floating")


def _pair_invalid(target_error, bad_target):
    def invalid():
        x = np.ones((3, 2))
        yield Invalid((x, x[:2], np.ones(3)), {}, "x2 must have the same shape as x1", "shape")
        yield Invalid((x, x, np.ones((3, 1))), {}, "target must have shape (3,)", "target shape")
        yield Invalid((x, x, bad_target), {}, target_error, "target value", value_check=True)
        yield Invalid(
            (x, x, np.array([1.0, np.nan, 1.0])),
            {},
            "target must not contain NaN",
            value_check=True,
        )

    return invalid


def _margin_ranking_invalid():
    s = np.ones(3)
    yield Invalid((s, s[:2], s), {}, "score2 must have the same shape as score1", "shape")
    yield Invalid(
        (s, s, np.array([1.0, 0.0, 1.0])), {}, "target must hold 1", "0 target", value_check=True
    )
    yield Invalid((s, s, s[:, None]), {}, "target must have the same shape", "[N, 1]")
    yield Invalid((s, s, s), {"margin": -1.0}, "margin must lie in")


def _cosine_similarity_invalid():
    x = np.ones((3, 2))
    yield Invalid((x, x[:, :1]), {}, "target must have the same shape as pred", "shape")
    yield Invalid((x, x), {"axis": 2}, "axis=2 is out of range", "axis")
    yield Invalid((np.ones(()), np.ones(())), {}, "pred must hold vectors", "0-d")
    yield Invalid((x, x), {"axis": 1.0}, "axis must be an int")


def _margin_softmax_invalid():
    e, labels, centres = np.ones((3, 2)), np.array([0, 1, 2]), np.eye(3, 2)
    yield Invalid((e, labels, centres[:, :1]), {}, "centres must be a [C, D] array", "D")
    yield Invalid((e, labels, centres[0]), {}, "centres must be a [C, D] array", "1-D centres")
    yield Invalid((e, labels.astype(float), centres), {}, "labels must hold integer", "float")
    yield Invalid((e, labels[:2], centres), {}, "labels must have shape (3,)", "labels shape")
    yield Invalid(
        (e, np.array([0, 1, 3]), centres),
        {},
        "labels must hold class labels in [0, 3)",
        "label",
        value_check=True,
    )
    yield Invalid((e, labels, centres), {"scale": 0.0}, "scale must lie in")
    yield Invalid(
        (e, labels, centres), {"margin": np.full(3, 0.3)}, "margin must be a number or a 0-d"
    )
    yield Invalid((e, labels, centres), {"scale": np.ones((1,))}, "scale must be a number or a 0-d")


# ------------------------------------------------------------------------- peers


def _t(a):
    import torch

    return torch.from_numpy(np.asarray(a, dtype=np.float64))


def _sum_from_mean(mean, count, reduction):
    """A peer that only averages: its sum is the mean times the count; no "none"."""
    if reduction == "none":
        return None
    return mean if reduction == "mean" else mean * count


def _info_nce_torch(sample: Sample, reduction: str):
    """CLIP's loss as open_clip writes it: cross-entropy of the cosine logits against
    the diagonal, in one or both directions."""
    import torch
    import torch.nn.functional as F

    query, key = (_t(a) for a in sample.args)
    kw = sample.kwargs
    logits = (
        F.normalize(query, dim=1) @ F.normalize(key, dim=1).T / float(kw.get("temperature", 0.07))
    )
    labels = torch.arange(len(query))
    loss = F.cross_entropy(logits, labels, reduction="none")
    if kw.get("symmetric"):
        loss = 0.5 * (loss + F.cross_entropy(logits.T, labels, reduction="none"))
    return reference_reduce(loss.numpy(), reduction)


def _info_nce_pml(sample: Sample, reduction: str):
    """pytorch-metric-learning's NTXentLoss of the queries against the keys as reference
    embeddings: one positive per query, every other key a negative."""
    import torch
    from pytorch_metric_learning.losses import NTXentLoss

    query, key = sample.args
    kw = sample.kwargs
    if kw.get("symmetric") or len(query) == 0:
        return None
    loss = NTXentLoss(temperature=float(kw.get("temperature", 0.07)))
    mean = loss(
        _t(query), torch.arange(len(query)), ref_emb=_t(key), ref_labels=torch.arange(len(key))
    )
    return _sum_from_mean(float(mean), len(query), reduction)


def _equal_groups(labels) -> bool:
    """Every anchor has as many positives (at least one): averages over anchors and over
    positive pairs agree."""
    counts = np.unique(labels, return_counts=True)[1]
    return len(labels) > 0 and len(set(counts.tolist())) == 1 and counts[0] > 1


def _nt_xent_optax(sample: Sample, reduction: str):
    import jax.numpy as jnp
    import optax

    x, labels = sample.args
    if not _equal_groups(labels) or len(np.unique(labels)) < 2:
        return None  # optax averages over pairs, and divides 0 by 0 without negatives
    mean = optax.losses.ntxent(
        jnp.asarray(x), jnp.asarray(labels), float(sample.kwargs.get("temperature", 0.07))
    )
    return _sum_from_mean(float(mean), len(labels), reduction)


def _nt_xent_pml(sample: Sample, reduction: str):
    from pytorch_metric_learning.losses import NTXentLoss

    x, labels = sample.args
    if not _equal_groups(labels):
        return None  # averages over positive pairs
    mean = NTXentLoss(temperature=float(sample.kwargs.get("temperature", 0.07)))(_t(x), _t(labels))
    return _sum_from_mean(float(mean), len(labels), reduction)


def _supcon_pml(sample: Sample, reduction: str):
    from pytorch_metric_learning.losses import SupConLoss

    x, labels = sample.args
    values, counts = np.unique(labels, return_counts=True)
    if len(values) < 2 or not np.any(counts > 1):
        return None  # pytorch-metric-learning returns 0 without a negative
    mean = SupConLoss(temperature=float(sample.kwargs.get("temperature", 0.1)))(_t(x), _t(labels))
    anchors = int(np.sum(counts[np.searchsorted(values, labels)] > 1))
    return _sum_from_mean(float(mean), anchors, reduction)


def _triplet_torch(sample: Sample, reduction: str):
    import torch.nn.functional as F

    a, p, n = (_t(x) for x in sample.args)
    kw = sample.kwargs
    margin, swap = kw.get("margin", 1.0), kw.get("swap", False)
    distance = kw.get("distance", "euclidean")
    if distance == "euclidean":
        # eps=0: PyTorch adds eps to every coordinate of the difference
        return F.triplet_margin_loss(
            a, p, n, margin=margin, eps=0.0, swap=swap, reduction=reduction
        ).numpy()
    if margin <= 0:
        return None  # triplet_margin_with_distance_loss refuses a margin of 0
    if distance == "cosine":

        def cosine(x, y):
            return 1.0 - F.cosine_similarity(x, y, dim=-1)

        fn = cosine
    else:

        def fn(x, y):
            return ((x - y) ** 2).sum(-1)

    return F.triplet_margin_with_distance_loss(
        a, p, n, distance_function=fn, margin=margin, swap=swap, reduction=reduction
    ).numpy()


def _triplet_optax(sample: Sample, reduction: str):
    import jax.numpy as jnp
    import optax

    kw = sample.kwargs
    if kw.get("distance", "euclidean") != "euclidean" or kw.get("swap"):
        return None
    a, p, n = (jnp.asarray(x) for x in sample.args)
    out = optax.losses.triplet_margin_loss(a, p, n, margin=kw.get("margin", 1.0), eps=0.0)
    return reference_reduce(np.asarray(out), reduction)


def _cosine_embedding_torch(sample: Sample, reduction: str):
    import torch.nn.functional as F

    x1, x2, target = sample.args
    if x1.ndim != 2:
        return None  # PyTorch takes [N, D] or [D]
    return F.cosine_embedding_loss(
        _t(x1), _t(x2), _t(target), margin=sample.kwargs.get("margin", 0.0), reduction=reduction
    ).numpy()


def _margin_ranking_torch(sample: Sample, reduction: str):
    import torch.nn.functional as F

    s1, s2, target = (_t(a) for a in sample.args)
    return F.margin_ranking_loss(
        s1, s2, target, margin=sample.kwargs.get("margin", 0.0), reduction=reduction
    ).numpy()


def _cosine_similarity_optax(sample: Sample, reduction: str):
    import jax.numpy as jnp
    import optax

    pred, target = (jnp.asarray(a) for a in sample.args)
    axis = sample.kwargs.get("axis", -1)
    return reference_reduce(
        -np.asarray(optax.losses.cosine_similarity(pred, target, axis=axis)), reduction
    )


def _large_margin_pml(cls_name: str, degrees: bool):
    def peer(sample: Sample, reduction: str):
        import torch
        from pytorch_metric_learning import losses

        e, labels, centres = sample.args
        kw = sample.kwargs
        if e.ndim != 2:
            return None
        scale, margin = kw.get("scale", 64.0), float(kw.get("margin", 0.5 if degrees else 0.35))
        loss = getattr(losses, cls_name)(
            num_classes=len(centres),
            embedding_size=e.shape[1],
            scale=scale,
            margin=math.degrees(margin) if degrees else margin,
        )
        loss.W.data = _t(centres.T.copy())  # float64: copy_ would round to W's float32
        mean = loss(_t(e), torch.from_numpy(labels))
        return _sum_from_mean(float(mean), len(labels), reduction)

    return peer


# ------------------------------------------------------------------------ cases


CASES = [
    LossCase(
        "info_nce",
        losskit.info_nce,
        _info_nce_ref,
        _info_nce_samples,
        extremes=_info_nce_extremes,
        invalid=_info_nce_invalid,
        peers=(
            Peer("torch cross_entropy of cosine logits (CLIP)", "torch", _info_nce_torch),
            Peer(
                "pytorch_metric_learning NTXentLoss with ref_emb",
                "pytorch_metric_learning",
                _info_nce_pml,
            ),
        ),
    ),
    LossCase(
        "nt_xent",
        losskit.nt_xent,
        _nt_xent_ref,
        _plain_mean_fixed(_group_samples(0.1)),
        extremes=_group_extremes,
        invalid=_group_invalid,
        peers=(
            Peer("optax.ntxent", "optax", _nt_xent_optax),
            Peer("pytorch_metric_learning NTXentLoss", "pytorch_metric_learning", _nt_xent_pml),
        ),
    ),
    LossCase(
        "supervised_contrastive",
        losskit.supervised_contrastive,
        _supcon_ref,
        _plain_mean_fixed(_group_samples(0.1)),
        extremes=_group_extremes,
        invalid=_group_invalid,
        peers=(Peer("pytorch_metric_learning SupConLoss", "pytorch_metric_learning", _supcon_pml),),
    ),
    LossCase(
        "triplet_margin",
        losskit.triplet_margin,
        _triplet_ref,
        _triplet_samples,
        extremes=_triplet_extremes,
        invalid=_triplet_invalid,
        peers=(
            Peer("torch triplet_margin_loss (eps=0) / with_distance", "torch", _triplet_torch),
            Peer("optax.triplet_margin_loss (eps=0)", "optax", _triplet_optax),
        ),
    ),
    LossCase(
        "pair_contrastive",
        losskit.pair_contrastive,
        _pair_contrastive_ref,
        _pair_contrastive_samples,
        extremes=_pair_extremes,
        invalid=_pair_invalid("target must hold 1 (similar pair) or 0", np.array([1.0, 2.0, 0.0])),
    ),
    LossCase(
        "cosine_embedding",
        losskit.cosine_embedding,
        _cosine_embedding_ref,
        _cosine_embedding_samples,
        extremes=_cosine_embedding_extremes,
        invalid=_pair_invalid("target must hold 1", np.array([1.0, 0.0, -1.0])),
        peers=(
            Peer("torch.nn.functional.cosine_embedding_loss", "torch", _cosine_embedding_torch),
        ),
    ),
    LossCase(
        "margin_ranking",
        losskit.margin_ranking,
        _margin_ranking_ref,
        _margin_ranking_samples,
        extremes=_margin_ranking_extremes,
        invalid=_margin_ranking_invalid,
        peers=(Peer("torch.nn.functional.margin_ranking_loss", "torch", _margin_ranking_torch),),
    ),
    LossCase(
        "cosine_similarity",
        losskit.cosine_similarity,
        _cosine_similarity_ref,
        _cosine_similarity_samples,
        extremes=_cosine_similarity_extremes,
        invalid=_cosine_similarity_invalid,
        peers=(Peer("-optax.cosine_similarity", "optax", _cosine_similarity_optax),),
        nonnegative=False,
    ),
    LossCase(
        "arcface",
        losskit.arcface,
        _arcface_ref,
        _margin_softmax_samples((0.5, 1.2)),
        extremes=_margin_softmax_extremes,
        invalid=_margin_softmax_invalid,
        peers=(
            Peer(
                "pytorch_metric_learning ArcFaceLoss (margin in degrees)",
                "pytorch_metric_learning",
                _large_margin_pml("ArcFaceLoss", degrees=True),
            ),
        ),
    ),
    LossCase(
        "cosface",
        losskit.cosface,
        _cosface_ref,
        _margin_softmax_samples((0.35, 0.8)),
        extremes=_margin_softmax_extremes,
        invalid=_margin_softmax_invalid,
        peers=(
            Peer(
                "pytorch_metric_learning CosFaceLoss",
                "pytorch_metric_learning",
                _large_margin_pml("CosFaceLoss", degrees=False),
            ),
        ),
    ),
]
