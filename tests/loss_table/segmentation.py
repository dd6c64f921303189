"""Table entries for the segmentation losses.

The references loop over samples, classes and pixels in float64 and build every
statistic from its definition: the overlap losses count I, P and T pixel by pixel,
and the Lovász losses evaluate the Jaccard loss of each prefix set directly
(|S| / |F ∪ S|) instead of the cumulative-sum identity the implementation uses.
"""

from __future__ import annotations

import numpy as np
from scipy import special

import losskit

from .spec import Invalid, LossCase, Peer, Sample, Tag, one_hot, reference_reduce, rng_probs

# -------------------------------------------------------------------- references


def _probabilities(pred, from_logits, axis):
    if not from_logits:
        return pred
    return special.expit(pred) if axis is None else special.softmax(pred, axis=axis)


def _pixels(pred, target, from_logits, axis):
    """(probabilities [B, M, C], targets [B, M, C] or labels [B, M]) as Python-loop food."""
    p = _probabilities(pred, from_logits, axis)
    if axis is None:
        b = p.shape[0]
        return p.reshape(b, -1, 1), np.asarray(target, dtype=float).reshape(b, -1, 1), None
    p = np.moveaxis(p, axis, -1)
    b, c = p.shape[0], p.shape[-1]
    if target.shape == pred.shape:
        return p.reshape(b, -1, c), np.moveaxis(target, axis, -1).reshape(b, -1, c), None
    return p.reshape(b, -1, c), None, target.reshape(b, -1)


def _statistics(pred, target, *, from_logits, axis, ignore_index, batch):
    """(I, P, T) per sample and class [B, C], or per class [C] with ``batch``."""
    p, t, labels = _pixels(pred, target, from_logits, axis)
    b, m, c = p.shape
    stats = np.zeros((3, b, c))
    for i in range(b):
        for k in range(c):
            for j in range(m):
                if labels is not None:
                    if ignore_index is not None and labels[i, j] == ignore_index:
                        continue
                    tk = float(labels[i, j] == k)
                else:
                    tk = t[i, j, k]
                stats[:, i, k] += (p[i, j, k] * tk, p[i, j, k], tk)
    if batch:
        stats = stats.sum(axis=1)
    return stats


def _class_weight_vector(num_classes, class_weights, exclude_class):
    if class_weights is None and exclude_class is None:
        return None
    w = np.ones(num_classes) if class_weights is None else np.array(class_weights, dtype=float)
    if exclude_class is not None:
        w[exclude_class] = 0.0
    return w


def _finish(loss, axis, class_weights, exclude_class, reduction, weights):
    if axis is None:
        return reference_reduce(loss[..., 0], reduction, weights)
    w = _class_weight_vector(loss.shape[-1], class_weights, exclude_class)
    if w is None:
        return reference_reduce(loss, reduction, weights)
    return reference_reduce(w * loss, reduction, weights, np.broadcast_to(w, loss.shape))


def _overlap_reference(score):
    """A reference for an overlap loss given score(I, P, T, **loss_options) -> loss."""

    def reference(
        pred,
        target,
        *,
        from_logits=False,
        axis=None,
        batch=False,
        smooth=1.0,
        class_weights=None,
        exclude_class=None,
        ignore_index=None,
        reduction="mean",
        weights=None,
        **options,
    ):
        inter, p_sum, t_sum = _statistics(
            pred,
            target,
            from_logits=from_logits,
            axis=axis,
            ignore_index=ignore_index,
            batch=batch,
        )
        loss = np.vectorize(lambda i, p, t: score(i, p, t, smooth, **options))(inter, p_sum, t_sum)
        return _finish(loss, axis, class_weights, exclude_class, reduction, weights)

    return reference


def _ratio_loss(numerator, denominator):
    return 0.0 if denominator == 0 else 1.0 - numerator / denominator


def _dice_score(i, p, t, s):
    return _ratio_loss(2 * i + s, p + t + s)


def _jaccard_score(i, p, t, s):
    return _ratio_loss(i + s, (p + t - i) + s)


def _tversky_score(i, p, t, s, alpha=0.5, beta=0.5):
    false_pos, false_neg = p - i, t - i
    return _ratio_loss(i + s, i + alpha * false_pos + beta * false_neg + s)


def _focal_tversky_score(i, p, t, s, gamma=0.75, alpha=0.5, beta=0.5):
    return _tversky_score(i, p, t, s, alpha, beta) ** gamma


def _generalized_dice_ref(
    pred,
    target,
    *,
    power=2.0,
    from_logits=False,
    axis=-1,
    batch=False,
    smooth=1.0,
    exclude_class=None,
    ignore_index=None,
    reduction="mean",
    weights=None,
):
    """Sudre et al.'s weights 1 / T^p on the present classes, MONAI's rule for the absent
    ones (the largest present weight), and the smoothing scaled by that largest weight
    (losskit's weights are these divided by it)."""
    inter, p_sum, t_sum = _statistics(
        pred, target, from_logits=from_logits, axis=axis, ignore_index=ignore_index, batch=batch
    )
    inter, p_sum, t_sum = (np.atleast_2d(x) for x in (inter, p_sum, t_sum))
    loss = []
    for i, p, t in zip(inter, p_sum, t_sum, strict=True):
        included = [c for c in range(len(t)) if c != exclude_class]
        raw = {c: 1.0 / t[c] ** power for c in included if t[c] > 0}
        largest = max(raw.values()) if raw else 1.0
        w = {c: raw.get(c, largest) for c in included}
        numerator = 2 * sum(w[c] * i[c] for c in included) + smooth * largest
        denominator = sum(w[c] * (p[c] + t[c]) for c in included) + smooth * largest
        loss.append(_ratio_loss(numerator, denominator))
    loss = np.array(loss)
    return reference_reduce(loss[0] if batch else loss, reduction, weights)


def _position_counts(pred, target, *, axis, ignore_index, batch):
    """The number of positions each statistic counts, [B] (or a number with ``batch``)."""
    _p, _t, labels = _pixels(pred, target, False, axis)
    b, m = _p.shape[:2]
    counts = np.full(b, float(m))
    if labels is not None and ignore_index is not None:
        counts = np.array([float(np.sum(row != ignore_index)) for row in labels])
    return counts.sum() if batch else counts


def _matthews_ref(
    pred,
    target,
    *,
    from_logits=False,
    axis=None,
    batch=False,
    smooth=1.0,
    class_weights=None,
    exclude_class=None,
    ignore_index=None,
    reduction="mean",
    weights=None,
):
    """The confusion matrix of each sample and class, TP and TN smoothed by s."""
    stats = _statistics(
        pred, target, from_logits=from_logits, axis=axis, ignore_index=ignore_index, batch=batch
    )
    counts = _position_counts(pred, target, axis=axis, ignore_index=ignore_index, batch=batch)
    loss = np.zeros(stats.shape[1:])
    for index in np.ndindex(loss.shape):
        i, p, t = stats[(slice(None), *index)]
        n = counts if batch else counts[index[0]]
        tp, fp, fn = i + smooth, p - i, t - i
        tn = n - tp - fp - fn + 2 * smooth
        denominator = np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
        if denominator > 0:
            loss[index] = 1.0 - (tp * tn - fp * fn) / denominator
        else:
            loss[index] = 0.0 if fp == 0 and fn == 0 else 1.0
    return _finish(loss, axis, class_weights, exclude_class, reduction, weights)


def _class_layout(pred, target, from_logits, axis):
    """(probabilities, target masks) as [B, C, N] float64; labels one-hot encoded."""
    p = _probabilities(pred, from_logits, axis)
    if axis is None:
        b = p.shape[0]
        return p.reshape(b, 1, -1), np.asarray(target, dtype=float).reshape(b, 1, -1)
    p = np.moveaxis(p, axis, 1)
    c = p.shape[1]
    if target.shape == pred.shape:
        t = np.moveaxis(np.asarray(target, dtype=float), axis, 1)
    else:
        t = np.moveaxis(one_hot(target, c), -1, 1)
    return p.reshape(p.shape[0], c, -1), t.reshape(p.shape[0], c, -1)


def _distance_layout(distance, axis):
    d = np.asarray(distance, dtype=float)
    d = d[:, None] if axis is None else np.moveaxis(d, axis, 1)
    return d.reshape(d.shape[0], d.shape[1], -1)


def _boundary_ref(
    pred,
    distance,
    *,
    from_logits=False,
    axis=None,
    exclude_class=None,
    reduction="mean",
    weights=None,
):
    p, _t = _class_layout(pred, distance, from_logits, axis)
    d = _distance_layout(distance, axis)
    b, c, n = p.shape
    loss = np.zeros((b, c))
    for i in range(b):
        for k in range(c):
            loss[i, k] = sum(p[i, k, j] * d[i, k, j] for j in range(n)) / n
    return _finish(loss, axis, None, exclude_class, reduction, weights)


def _hausdorff_ref(
    pred,
    target,
    distance,
    *,
    alpha=2.0,
    from_logits=False,
    axis=None,
    exclude_class=None,
    reduction="mean",
    weights=None,
):
    p, t = _class_layout(pred, target, from_logits, axis)
    d = _distance_layout(distance, axis)
    b, c, n = p.shape
    loss = np.zeros((b, c))
    for i in range(b):
        for k in range(c):
            terms = [
                (p[i, k, j] - t[i, k, j]) ** 2 * (d[i, k, j] ** alpha if d[i, k, j] > 0 else 0.0)
                for j in range(n)
            ]
            loss[i, k] = sum(terms) / n
    return _finish(loss, axis, None, exclude_class, reduction, weights)


def _jaccard_of_mistakes(mistakes: set, foreground: set) -> float:
    """Jaccard loss when ``mistakes`` are the wrongly predicted pixels: |M| / |F ∪ M|."""
    union = foreground | mistakes
    return len(mistakes) / len(union) if union else 0.0


def _lovasz_of(errors, foreground_flags):
    """Lovász extension of the Jaccard loss at ``errors`` (1-D), from its definition."""
    order = sorted(range(len(errors)), key=lambda j: -errors[j])
    foreground = {j for j, f in enumerate(foreground_flags) if f}
    total, previous, mistakes = 0.0, 0.0, set()
    for j in order:
        mistakes.add(j)
        current = _jaccard_of_mistakes(mistakes, foreground)
        total += errors[j] * (current - previous)
        previous = current
    return total


def _lovasz_hinge_ref(pred, target, *, batch=False, reduction="mean", weights=None):
    b = pred.shape[0]
    scores, labels = pred.reshape(b, -1), target.reshape(b, -1)
    if batch:
        scores, labels = scores.reshape(1, -1), labels.reshape(1, -1)
    loss = np.array(
        [
            _lovasz_of(np.maximum(0.0, 1.0 - s * (2 * y - 1)), y == 1)
            for s, y in zip(scores, labels, strict=True)
        ]
    )
    return reference_reduce(loss[0] if batch else loss, reduction, weights)


def _lovasz_softmax_ref(
    pred,
    target,
    *,
    from_logits=False,
    axis=-1,
    batch=False,
    class_weights=None,
    exclude_class=None,
    ignore_index=None,
    reduction="mean",
    weights=None,
):
    p, t, labels = _pixels(pred, target, from_logits, axis)
    b, m, c = p.shape
    groups = [list(range(b))] if batch else [[i] for i in range(b)]
    loss = np.zeros((len(groups), c))
    for g, samples in enumerate(groups):
        for k in range(c):
            errors, flags = [], []
            for i in samples:
                for j in range(m):
                    if labels is not None:
                        if ignore_index is not None and labels[i, j] == ignore_index:
                            continue
                        fg = labels[i, j] == k
                    else:
                        fg = t[i, j, k] == 1
                    errors.append(abs(float(fg) - p[i, j, k]))
                    flags.append(fg)
            loss[g, k] = _lovasz_of(errors, flags)
    return _finish(
        loss[0] if batch else loss, axis, class_weights, exclude_class, reduction, weights
    )


# ----------------------------------------------------------------------- samples


def _binary_pred(rng, shape, from_logits):
    return rng.normal(size=shape) * 3 if from_logits else rng.uniform(0.02, 0.98, size=shape)


def _class_pred(rng, shape, from_logits, axis):
    return rng.normal(size=shape) * 2 if from_logits else rng_probs(rng, shape, axis)


def _overlap_samples(loss_options, every_mode=True):
    """Samples walking every mode and option; ``loss_options`` adds the loss's own.

    The overlap losses share their input handling and statistics, so only dice walks
    every mode (``every_mode``); the others keep the samples that exercise their ratio:
    binary, one-hot, labels with ignore_index and class weights, channels last with
    exclude_class, batch and smooth=0, and an empty target.
    """

    def samples(rng):
        for sample in _all_overlap_samples(rng, list(loss_options(rng))):
            if every_mode or Tag.SHARED_OVERLAP_MODE not in sample.tags:
                yield sample

    return samples


_SHARED_MODE = frozenset({Tag.SHARED_OVERLAP_MODE})


def _all_overlap_samples(rng, extra):
    yield Sample(
        (_binary_pred(rng, (4, 6), False), rng.integers(0, 2, (4, 6)).astype(float)),
        {"from_logits": False, **extra[0]},
        desc=f"binary probs {extra[0]}",
    )
    yield Sample(
        (_binary_pred(rng, (3, 2, 5), True), rng.integers(0, 2, (3, 2, 5)).astype(float)),
        {"from_logits": True, "smooth": 0.5, **extra[1 % len(extra)]},
        desc=f"binary logits 3-d smooth=0.5 {extra[1 % len(extra)]}",
    )
    yield Sample(
        (_binary_pred(rng, (3, 4), True), rng.uniform(0, 1, (3, 4))),
        {"from_logits": True, "batch": True},
        desc="binary soft targets batch=True",
        tags=_SHARED_MODE,
    )
    labels = rng.integers(0, 3, (2, 4, 5))
    yield Sample(
        (_class_pred(rng, (2, 3, 4, 5), True, 1), one_hot(labels, 3, axis=1)),
        {"from_logits": True, "axis": 1, **extra[-1]},
        desc=f"one-hot axis=1 logits {extra[-1]}",
    )
    labels = rng.integers(0, 3, (2, 4, 5))
    labels[0, 1, :3] = -1
    yield Sample(
        (_class_pred(rng, (2, 3, 4, 5), True, 1), labels),
        {"from_logits": True, "axis": 1, "ignore_index": -1, "class_weights": [0.5, 1.0, 2.0]},
        desc="labels axis=1 ignore_index class_weights",
        plain_mean=False,
    )
    yield Sample(
        (_class_pred(rng, (3, 6, 4), False, -1), rng.integers(0, 4, (3, 6))),
        {"axis": -1, "exclude_class": 0, "batch": True, "smooth": 0.0},
        desc="labels channels-last exclude_class batch smooth=0",
        plain_mean=False,
    )
    yield Sample(
        (_class_pred(rng, (2, 3, 6), True, 1), np.zeros((2, 6), dtype=np.int64)),
        {"from_logits": True, "axis": 1},
        desc="all-background labels",
        tags=_SHARED_MODE,
    )
    labels = rng.integers(0, 3, (2, 6))
    yield Sample(
        (_class_pred(rng, (2, 3, 6), True, 1), labels),
        {"from_logits": True, "axis": 1, "ignore_index": 0},
        desc="ignore_index is a class id",
        tags=_SHARED_MODE,
    )
    yield Sample(
        (np.full((2, 5), -6.0), np.zeros((2, 5))),
        {"from_logits": True},
        desc="nearly empty prediction on empty target",
    )


def _no_options(rng):
    yield {}


def _tversky_options(rng):
    yield {"alpha": 0.3, "beta": 0.7}
    yield {"alpha": 1.0, "beta": 1.0}
    yield {"alpha": 0.8, "beta": 0.1}


def _focal_tversky_options(rng):
    yield {"gamma": 0.75, "alpha": 0.3, "beta": 0.7}
    yield {"gamma": 2.0}
    yield {"gamma": 1.0, "alpha": 0.6, "beta": 0.4}


def _lovasz_hinge_samples(rng):
    yield Sample(
        (rng.normal(size=(4, 6)) * 2, rng.integers(0, 2, (4, 6)).astype(float)), desc="2-D"
    )
    yield Sample(
        (rng.normal(size=(2, 3, 4)) * 2, rng.integers(0, 2, (2, 3, 4)).astype(float)),
        {"batch": True},
        desc="3-D batch=True",
    )
    target = rng.integers(0, 2, (3, 5)).astype(float)
    target[1] = 0.0
    yield Sample((rng.normal(size=(3, 5)) * 2, target), desc="one empty target")


def _lovasz_softmax_samples(rng):
    for from_logits in (False, True):
        yield Sample(
            (_class_pred(rng, (2, 5, 3), from_logits, -1), rng.integers(0, 3, (2, 5))),
            {"from_logits": from_logits},
            desc=f"labels channels-last logits={from_logits}",
        )
    labels = rng.integers(0, 3, (2, 3, 4))
    yield Sample(
        (_class_pred(rng, (2, 3, 3, 4), True, 1), one_hot(labels, 3, axis=1)),
        {"from_logits": True, "axis": 1, "batch": True},
        desc="one-hot axis=1 batch=True",
    )
    labels = rng.integers(0, 4, (2, 7))
    labels[1, [0, 3]] = 255
    yield Sample(
        (_class_pred(rng, (2, 4, 7), True, 1), labels),
        {"from_logits": True, "axis": 1, "ignore_index": 255, "class_weights": [0.2, 1, 1, 3]},
        desc="ignore_index class_weights",
        plain_mean=False,
    )
    yield Sample(
        (_class_pred(rng, (3, 6, 3), False, -1), rng.integers(0, 3, (3, 6))),
        {"exclude_class": 0},
        desc="exclude_class",
        plain_mean=False,
    )
    yield Sample(
        (_class_pred(rng, (2, 3, 5), True, 1), np.zeros((2, 5), dtype=np.int64)),
        {"from_logits": True, "axis": 1},
        desc="all-background labels",
    )


def _generalized_dice_samples(rng):
    labels = rng.integers(0, 4, (2, 3, 5))
    labels[0] = np.where(labels[0] == 3, 0, labels[0])  # class 3 absent from sample 0
    yield Sample(
        (_class_pred(rng, (2, 4, 3, 5), True, 1), labels),
        {"from_logits": True, "axis": 1, "smooth": 0.0},
        desc="labels axis=1 logits, a class absent from one sample, smooth=0",
    )
    labels = rng.integers(0, 3, (3, 6))
    yield Sample(
        (_class_pred(rng, (3, 6, 3), False, -1), one_hot(labels, 3)),
        {"power": 1.0},
        desc="one-hot channels-last probabilities power=1",
    )
    labels = rng.integers(0, 3, (2, 4, 5))
    labels[1, 2:] = 255
    yield Sample(
        (_class_pred(rng, (2, 3, 4, 5), True, 1), labels),
        {"from_logits": True, "axis": 1, "ignore_index": 255, "power": 3.0},
        desc="labels ignore_index power=3",
    )
    labels = rng.integers(0, 3, (3, 7))
    labels[0] = 0  # only background in sample 0: every included class absent
    yield Sample(
        (_class_pred(rng, (3, 3, 7), True, 1), labels),
        {"from_logits": True, "axis": 1, "exclude_class": 0, "batch": False, "smooth": 0.5},
        desc="exclude_class=0, a sample of background only",
    )
    yield Sample(
        (_class_pred(rng, (3, 3, 7), True, 1), rng.integers(0, 3, (3, 7))),
        {"from_logits": True, "axis": 1, "exclude_class": 0, "batch": True, "smooth": 0.0},
        desc="exclude_class=0 batch=True smooth=0",
    )
    yield Sample(
        (_class_pred(rng, (2, 5, 3), True, -1), rng_probs(rng, (2, 5, 3), -1)),
        {"from_logits": True, "power": 0.0},
        desc="soft targets power=0 (equal weights)",
    )
    labels = np.full((2, 6), 9)
    labels[0, :2] = [1, 2]
    yield Sample(
        (_class_pred(rng, (2, 3, 6), True, 1), labels),
        {"from_logits": True, "axis": 1, "ignore_index": 9},
        desc="every position of sample 1 ignored",
    )


def _generalized_dice_extremes():
    logits = np.array([[[1e4, -1e4], [-1e4, 1e4], [0.0, 0.0]]])  # [B=1, C=3, N=2]
    yield Sample(
        (logits, np.array([[0, 1]])), {"from_logits": True, "axis": 1}, desc="softmax ±1e4"
    )
    yield Sample(
        (logits, np.array([[0, 0]])),
        {"from_logits": True, "axis": 1, "smooth": 0.0},
        desc="softmax ±1e4, two classes absent, smooth=0",
    )
    yield Sample(
        (logits, np.array([[7, 7]])),
        {"from_logits": True, "axis": 1, "ignore_index": 7},
        desc="all positions ignored: every class absent",
    )
    yield Sample(
        (
            np.repeat(np.array([[[1.0], [0.0], [0.0]]]), 2, axis=0).repeat(4, axis=2),
            np.zeros((2, 4), dtype=np.int64),
        ),
        {"axis": 1, "batch": True, "exclude_class": 0},
        desc="all-background volume, background excluded",
    )


def _generalized_dice_invalid():
    rng = np.random.default_rng(0)
    p = rng_probs(rng, (2, 3, 4), 1)
    labels = np.array([[0, 1, 2, 1], [2, 2, 0, 1]])
    yield Invalid((p, labels), {"axis": None}, "axis must be the class axis", "axis None")
    yield Invalid((p, labels), {"axis": 0}, "axis=0 is the batch axis")
    yield Invalid((p, labels[:, :3]), {"axis": 1}, "or pred's shape without axis 1", "shape")
    yield Invalid(
        (p, labels * 2), {"axis": 1}, "target must hold class labels in [0, 3)", value_check=True
    )
    yield Invalid((p * 3, labels), {"axis": 1}, "pred must hold probabilities", value_check=True)
    yield Invalid((p, labels), {"axis": 1, "power": -1.0}, "power must lie in")
    yield Invalid((p, labels), {"axis": 1, "smooth": -1.0}, "smooth must lie in")
    yield Invalid((p, labels), {"axis": 1, "exclude_class": 3}, "exclude_class must be a class")
    yield Invalid(
        (p, one_hot(labels, 3, axis=1)),
        {"axis": 1, "ignore_index": 0},
        "ignore_index applies to integer labels",
    )


def _matthews_extremes():
    yield from _overlap_extremes()
    yield Sample(
        (np.array([[1e4, 1e4, 1e4]]), np.array([[1.0, 1.0, 1.0]])),
        {"from_logits": True, "smooth": 0.0},
        desc="mask everywhere, predicted everywhere, smooth=0",
    )


def _maps(target, *, axis=None, classes=None, signed=True):
    return losskit.distance_maps(
        target, axis=axis, classes=classes, signed=signed, dtype=np.float64
    )


def _blobs(rng, shape, classes=None):
    """Random label images with blobs (a noisy threshold of smooth noise), [B, H, W]."""
    noise = rng.normal(size=shape)
    smooth = noise + np.roll(noise, 1, -1) + np.roll(noise, 1, -2)
    if classes is None:
        return (smooth > 0.8).astype(float)
    return np.digitize(smooth, np.linspace(-1.5, 1.5, classes - 1))


def _boundary_samples(rng):
    target = _blobs(rng, (3, 6, 7))
    target[1] = 0.0  # an empty target: map 0
    yield Sample((_binary_pred(rng, (3, 6, 7), False), _maps(target)), desc="binary probabilities")
    target = _blobs(rng, (2, 5, 6))
    yield Sample(
        (_binary_pred(rng, (2, 5, 6), True), _maps(target)),
        {"from_logits": True},
        desc="binary logits",
    )
    labels = _blobs(rng, (2, 6, 5), classes=3)
    yield Sample(
        (_class_pred(rng, (2, 3, 6, 5), True, 1), _maps(labels, axis=1, classes=3)),
        {"from_logits": True, "axis": 1},
        desc="labels' maps axis=1 logits",
    )
    labels = _blobs(rng, (2, 5, 6), classes=4)
    yield Sample(
        (_class_pred(rng, (2, 5, 6, 4), False, -1), _maps(labels, axis=-1, classes=4)),
        {"axis": -1, "exclude_class": 0},
        desc="channels-last probabilities exclude_class=0",
        plain_mean=False,
    )


def _two_sided(pred, target, *, from_logits, axis, alpha):
    """(d_t^alpha + d_p^alpha)^(1/alpha): Karimi & Salcudean's (and MONAI's) weight, with
    d_p the map of the prediction thresholded at 0.5."""
    p = _probabilities(pred, from_logits, axis)
    classes = None if axis is None or target.shape == pred.shape else pred.shape[axis]
    d_t = _maps(target, axis=axis, classes=classes, signed=False)
    d_p = _maps(p, axis=axis, signed=False)
    return (d_t**alpha + d_p**alpha) ** (1 / alpha)


def _hausdorff_samples(rng):
    target = _blobs(rng, (3, 6, 7))
    target[2] = 1.0  # a full target: map 0
    pred = _binary_pred(rng, (3, 6, 7), False)
    yield Sample(
        (pred, target, _maps(target, signed=False)), desc="binary probabilities, target's map"
    )
    target = _blobs(rng, (2, 5, 6))
    pred = _binary_pred(rng, (2, 5, 6), True)
    options = {"from_logits": True, "alpha": 1.0}
    distance = _two_sided(pred, target, from_logits=True, axis=None, alpha=1.0)
    yield Sample((pred, target, distance), options, desc="binary logits two-sided alpha=1")
    labels = _blobs(rng, (2, 6, 5), classes=3)
    pred = _class_pred(rng, (2, 3, 6, 5), True, 1)
    distance = _two_sided(pred, labels, from_logits=True, axis=1, alpha=2.0)
    yield Sample(
        (pred, labels, distance),
        {"from_logits": True, "axis": 1},
        desc="labels axis=1 logits two-sided",
    )
    labels = _blobs(rng, (2, 5, 6), classes=3)
    target = one_hot(labels, 3)
    pred = _class_pred(rng, (2, 5, 6, 3), False, -1)
    distance = _two_sided(pred, target, from_logits=False, axis=-1, alpha=2.0)
    yield Sample(
        (pred, target, distance),
        {"axis": -1, "exclude_class": 0},
        desc="one-hot channels-last two-sided exclude_class=0",
        plain_mean=False,
    )
    labels = _blobs(rng, (2, 5, 6), classes=3)
    yield Sample(
        (
            _class_pred(rng, (2, 3, 5, 6), True, 1),
            labels,
            _maps(labels, axis=1, classes=3, signed=False),
        ),
        {"from_logits": True, "axis": 1, "alpha": 0.5},
        desc="labels axis=1 target's map alpha=0.5",
    )


def _distance_extremes():
    phi = np.array([[3.0, 1.0, 0.0, -2.0, 0.0, 1.0], [0.0] * 6])
    yield Sample(
        (np.array([[1e4, -1e4, 1e4, 1e4, -1e4, 0.0]] * 2), phi),
        {"from_logits": True},
        desc="binary logits ±1e4",
    )


def _hausdorff_extremes():
    target = np.array([[0.0, 0.0, 1.0, 1.0, 1.0, 0.0], [0.0] * 6])
    d = np.array([[2.0, 1.0, 1.0, 2.0, 1.0, 1.0], [0.0] * 6])
    yield Sample(
        (np.array([[1e4, -1e4, 1e4, 1e4, -1e4, 0.0]] * 2), target, d),
        {"from_logits": True},
        desc="binary logits ±1e4, an empty map",
    )
    yield Sample((target, target, d), {"alpha": 0.0}, desc="perfect, alpha=0")


def _distance_invalid(hausdorff):
    rng = np.random.default_rng(0)
    p = rng_probs(rng, (2, 3, 4), 1)
    labels = np.array([[0, 1, 2, 1], [2, 2, 0, 1]])
    d = np.ones((2, 3, 4))

    def args(pred, distance):
        return (
            (pred, labels if pred.shape == p.shape else pred > 0.5, distance)
            if hausdorff
            else (
                pred,
                distance,
            )
        )

    yield Invalid(args(p, d[:, :, :3]), {"axis": 1}, "distance must have the same shape")
    yield Invalid(args(p, d * np.nan), {"axis": 1}, "distance must hold finite", value_check=True)
    yield Invalid(args(p * 3, d), {"axis": 1}, "pred must hold probabilities", value_check=True)
    yield Invalid(args(p, d), {"axis": 0}, "axis=0 is the batch axis")
    yield Invalid(args(p[:, 0], d[:, 0]), {"exclude_class": 0}, "exclude_class needs a class axis")
    yield Invalid(args(p, d), {"axis": 1, "exclude_class": 3}, "exclude_class must be a class")
    yield Invalid(args(p[0, 0], d[0, 0]), {}, "pred must have a batch axis")
    if hausdorff:
        yield Invalid(
            args(p, -d), {"axis": 1}, "distance must hold finite distances >= 0", value_check=True
        )
        yield Invalid(args(p, d), {"axis": 1, "alpha": -1.0}, "alpha must lie in")
        yield Invalid((p, labels[:, :3], d), {"axis": 1}, "or pred's shape without axis 1")


def _perfect_hausdorff(sample: Sample) -> Sample:
    pred, target, distance = sample.args
    kwargs = {k: v for k, v in sample.kwargs.items() if k != "from_logits"}
    if target.shape == pred.shape:
        return Sample((target.astype(float), target, distance), kwargs)
    axis = kwargs.get("axis", -1) % pred.ndim
    return Sample((one_hot(target, pred.shape[axis], axis=axis), target, distance), kwargs)


# ---------------------------------------------------------------------- extremes


def _overlap_extremes():
    yield Sample(
        (np.array([[1e4, -1e4, 1e4], [-1e4, -1e4, -1e4]]), np.array([[1.0, 0, 1], [0, 0, 0]])),
        {"from_logits": True},
        desc="binary logits ±1e4 with an empty target",
    )
    yield Sample(
        (np.array([[1.0, 0.0, 1.0], [0.0, 0.0, 0.0]]), np.array([[1.0, 0, 0], [0, 0, 0]])),
        {},
        desc="probabilities 0 and 1, empty on empty",
    )
    logits = np.array([[[1e4, -1e4], [-1e4, 1e4], [0.0, 0.0]]])  # [B=1, C=3, N=2]
    yield Sample(
        (logits, np.array([[0, 1]])), {"from_logits": True, "axis": 1}, desc="softmax ±1e4"
    )
    yield Sample(
        (
            np.repeat(np.array([[[1.0], [0.0], [0.0]]]), 2, axis=0).repeat(4, axis=2),
            np.zeros((2, 4), dtype=np.int64),
        ),
        {"axis": 1, "batch": True},
        desc="all-background volume, perfect",
    )


def _lovasz_hinge_extremes():
    yield Sample(
        (np.array([[1e4, -1e4, 1e4], [-1e4, -1e4, -1e4]]), np.array([[1.0, 0, 0], [0, 0, 0]])),
        desc="scores ±1e4 with an empty target",
    )
    yield Sample((np.zeros((2, 3)), np.zeros((2, 3))), {"batch": True}, desc="all zero")


def _lovasz_softmax_extremes():
    logits = np.array([[[1e4, -1e4], [-1e4, 1e4], [0.0, 0.0]]])
    yield Sample(
        (logits, np.array([[0, 1]])), {"from_logits": True, "axis": 1}, desc="softmax ±1e4"
    )
    yield Sample(
        (
            np.repeat(np.array([[[1.0], [0.0], [0.0]]]), 2, axis=0).repeat(4, axis=2),
            np.zeros((2, 4), dtype=np.int64),
        ),
        {"axis": 1},
        desc="all-background volume, perfect",
    )


# ----------------------------------------------------------------------- invalid


def _overlap_invalid():
    rng = np.random.default_rng(0)
    p = rng_probs(rng, (2, 3, 4), 1)
    labels = np.array([[0, 1, 2, 1], [2, 2, 0, 1]])
    mask = np.ones((2, 4))
    yield Invalid((p[:, 0], mask[:, :3]), {}, "target must have the same shape", "mask shape")
    yield Invalid(
        (p[:, 0] * 3, mask), {}, "pred must hold probabilities", "prob > 1", value_check=True
    )
    yield Invalid(
        (p[:, 0], mask * 2),
        {},
        "target must hold mask values in [0, 1]",
        "mask > 1",
        value_check=True,
    )
    yield Invalid((np.ones((2, 4), dtype=np.int64), mask), {}, "real floating", "int pred")
    yield Invalid((p, labels), {"axis": 0}, "axis=0 is the batch axis", "axis 0")
    yield Invalid((p, labels[:, :3]), {"axis": 1}, "or pred's shape without axis 1", "label shape")
    yield Invalid(
        (p, labels * 2),
        {"axis": 1},
        "target must hold class labels in [0, 3)",
        "label",
        value_check=True,
    )
    yield Invalid((p, labels * 1.0), {"axis": 1}, "target must hold integer class labels", "float")
    yield Invalid(
        (p, one_hot(labels, 3, axis=1)),
        {"axis": 1, "ignore_index": 0},
        "ignore_index applies to integer labels",
        "ignore_index with one-hot",
    )
    yield Invalid(
        (p[:, 0], mask), {"ignore_index": 0}, "ignore_index applies to integer labels", "binary"
    )
    yield Invalid(
        (p[:, 0], mask), {"class_weights": [1.0, 2.0]}, "class_weights needs a class axis", "cw"
    )
    yield Invalid((p[:, 0], mask), {"exclude_class": 0}, "exclude_class needs a class axis", "ex")
    yield Invalid(
        (p, labels), {"axis": 1, "class_weights": [1.0, 2.0]}, "class_weights must have shape (3,)"
    )
    # A Python list is read whatever the value-check setting; an array's values only
    # while value checks are on (they are skipped on traced arrays).
    yield Invalid(
        (p, labels),
        {"axis": 1, "class_weights": [1.0, -2.0, 1.0]},
        "class_weights must be finite and non-negative",
        "cw list",
    )
    yield Invalid(
        (p, labels),
        {"axis": 1, "class_weights": np.array([1.0, -2.0, 1.0])},
        "class_weights must be finite and non-negative",
        "cw array",
        value_check=True,
    )
    yield Invalid((p, labels), {"axis": 1, "exclude_class": 3}, "exclude_class must be a class")
    yield Invalid((p, labels), {"axis": 1, "smooth": -1.0}, "smooth must lie in")
    yield Invalid((p, labels), {"axis": 1, "batch": 1}, "batch must be True or False")
    yield Invalid(
        (p[:, :1], labels * 0),
        {"axis": 1, "from_logits": True},
        "needs at least 2 classes",
        "softmax over one channel",
    )
    yield Invalid((p, labels), {"axis": 1, "reduction": "batchmean"}, "reduction must be one of")


def _tversky_invalid():
    yield from _overlap_invalid()
    p, mask = np.full((2, 4), 0.5), np.ones((2, 4))
    yield Invalid((p, mask), {"alpha": -0.1}, "alpha must lie in")
    yield Invalid((p, mask), {"beta": -1.0}, "beta must lie in")


def _focal_tversky_invalid():
    yield from _tversky_invalid()
    p, mask = np.full((2, 4), 0.5), np.ones((2, 4))
    yield Invalid((p, mask), {"gamma": 0.0}, "gamma must lie in")


def _lovasz_hinge_invalid():
    yield Invalid(
        (np.zeros((2, 3)), np.full((2, 3), 0.5)),
        {},
        "target must hold binary labels 0 or 1",
        value_check=True,
    )
    yield Invalid((np.zeros((2, 3)), np.ones((2, 1))), {}, "target must have the same shape")
    yield Invalid((np.zeros(()), np.ones(())), {}, "pred must have a batch axis", "0-d")
    yield Invalid((np.zeros((2, 3)), np.ones((2, 3))), {"batch": "yes"}, "batch must be True")


def _lovasz_softmax_invalid():
    rng = np.random.default_rng(0)
    p = rng_probs(rng, (2, 4, 3), -1)
    labels = np.array([[0, 1, 2, 1], [2, 2, 0, 1]])
    yield Invalid((p, labels), {"axis": None}, "axis must be the class axis", "axis None")
    yield Invalid(
        (p, labels + 1), {}, "target must hold class labels in [0, 3)", "label", value_check=True
    )
    yield Invalid(
        (p, one_hot(labels, 3) * 0.5),
        {},
        "target must hold binary labels 0 or 1",
        "soft one-hot",
        value_check=True,
    )
    yield Invalid((p * 2, labels), {}, "pred must hold probabilities", "prob", value_check=True)
    yield Invalid((p, labels), {"class_weights": np.ones(2)}, "class_weights must have shape (3,)")
    yield Invalid((p, labels), {"exclude_class": -1}, "exclude_class must be a class index")
    yield Invalid((p, labels), {"axis": 0}, "axis=0 is the batch axis")


# ------------------------------------------------------------------- perfect


def _perfect_mask(sample: Sample) -> Sample:
    """The target itself (binarised) as probabilities; one-hot of the labels otherwise."""
    pred, target = sample.args
    kwargs = {k: v for k, v in sample.kwargs.items() if k != "from_logits"}
    if target.shape == pred.shape:
        binary = (target > 0.5).astype(float)
        return Sample((binary, binary), kwargs)
    axis = kwargs.get("axis", -1) % pred.ndim  # integer labels always come with a class axis
    valid = np.where((target >= 0) & (target < pred.shape[axis]), target, 0)
    return Sample((one_hot(valid, pred.shape[axis], axis=axis), target), kwargs)


def _perfect_hinge(sample: Sample) -> Sample:
    _pred, target = sample.args
    return Sample((2.0 * (2 * target - 1), target), dict(sample.kwargs))


# ------------------------------------------------------------------------ peers


def _t(a):
    import torch

    return torch.from_numpy(np.asarray(a))


def _monai_overlap(kind):
    """MONAI's DiceLoss (dice, jaccard) or TverskyLoss with smooth_nr = smooth_dr."""

    def peer(sample: Sample, reduction: str):
        from monai.losses import DiceLoss, TverskyLoss

        pred, target = sample.args
        kw = dict(sample.kwargs)
        axis = kw.get("axis")
        smooth = kw.get("smooth", 1.0)
        if axis is None:
            pred, target = pred[:, None], target[:, None]
        else:
            axis %= pred.ndim
            pred = np.moveaxis(pred, axis, 1)
            target = (
                np.moveaxis(target, axis, 1)
                if target.shape == sample.args[0].shape
                else (target[:, None])
            )
        weight = kw.get("class_weights")
        if weight is not None and reduction == "mean":
            return None  # MONAI's mean divides by the class count, losskit's by the summed weights
        options = {
            "sigmoid": kw.get("from_logits", False) and axis is None,
            "softmax": kw.get("from_logits", False) and axis is not None,
            "to_onehot_y": axis is not None and target.dtype.kind in "iu",
            "batch": kw.get("batch", False),
            "include_background": kw.get("exclude_class") is None,
            "reduction": "none",
        }
        if kw.get("exclude_class") not in (None, 0):
            return None  # MONAI can only drop channel 0
        if kw.get("ignore_index") is not None:
            if 0 <= kw["ignore_index"] < pred.shape[1]:
                return None  # MONAI turns a valid class index into a channel mask
            options["ignore_index"] = kw["ignore_index"]
        if kind == "tversky":
            if weight is not None:
                return None  # MONAI's TverskyLoss has no class weights
            loss_fn = TverskyLoss(
                alpha=kw.get("alpha", 0.5),
                beta=kw.get("beta", 0.5),
                smooth_nr=smooth,
                smooth_dr=smooth,
                **options,
            )
        else:
            # MONAI's Jaccard is (2I + s) / (2U + s): a smoothing of 2s matches (I + s) / (U + s).
            s = 2 * smooth if kind == "jaccard" else smooth
            loss_fn = DiceLoss(
                jaccard=kind == "jaccard",
                smooth_nr=s,
                smooth_dr=s,
                weight=weight,
                **options,
            )
        none = loss_fn(_t(pred), _t(target)).numpy()
        none = none.reshape(none.shape[: 1 if kw.get("batch") else 2])
        if axis is None:
            none = none[..., 0]
        elif kw.get("exclude_class") == 0:
            none = np.concatenate([np.zeros((*none.shape[:-1], 1)), none], axis=-1)
        norm = None
        if kw.get("exclude_class") == 0:
            norm = np.ones(none.shape)
            norm[..., 0] = 0.0
        return reference_reduce(none, reduction, None, norm)

    return peer


def _monai_layout(sample: Sample):
    """(pred, target) as MONAI takes them: channels on axis 1, labels as [B, 1, ...]."""
    pred, target = sample.args
    axis = sample.kwargs.get("axis")
    if axis is None:
        return pred[:, None], target[:, None]
    axis %= pred.ndim
    if target.shape == pred.shape:
        return np.moveaxis(pred, axis, 1), np.moveaxis(target, axis, 1)
    return np.moveaxis(pred, axis, 1), target[:, None]


def _monai_generalized_dice(sample: Sample, reduction: str):
    """MONAI's GeneralizedDiceLoss: the same weights (its own unscaled 1 / T^p), so the same
    loss once both smoothings are 0; it computes the weights in float32."""
    from monai.losses import GeneralizedDiceLoss

    kw = sample.kwargs
    w_type = {0.0: "uniform", 1.0: "simple", 2.0: "square"}.get(kw.get("power", 2.0))
    if (
        w_type is None
        or kw.get("smooth", 1.0) != 0.0
        or kw.get("ignore_index") is not None
        or kw.get("exclude_class") not in (None, 0)
    ):
        return None
    pred, target = _monai_layout(sample)
    loss_fn = GeneralizedDiceLoss(
        softmax=kw.get("from_logits", False),
        to_onehot_y=target.dtype.kind in "iu",
        include_background=kw.get("exclude_class") is None,
        w_type=w_type,
        batch=kw.get("batch", False),
        smooth_nr=0.0,
        smooth_dr=0.0,
        reduction="none",
    )
    none = loss_fn(_t(pred), _t(target)).numpy().reshape(-1)
    if np.isnan(none).any():
        return None  # every included class absent: MONAI's 0 / 0
    return reference_reduce(none[0] if kw.get("batch") else none, reduction)


def _monai_matthews(sample: Sample, reduction: str):
    """MONAI's MCCLoss with smooth_nr = 0 and a negligible smooth_dr: losskit's smooth=0."""
    from monai.losses import MCCLoss

    kw = sample.kwargs
    if (
        kw.get("smooth", 1.0) != 0.0
        or kw.get("ignore_index") is not None
        or kw.get("class_weights") is not None
        or kw.get("exclude_class") is not None
    ):
        return None
    pred, target = _monai_layout(sample)
    axis = kw.get("axis")
    loss_fn = MCCLoss(
        sigmoid=kw.get("from_logits", False) and axis is None,
        softmax=kw.get("from_logits", False) and axis is not None,
        to_onehot_y=target.dtype.kind in "iu",
        batch=kw.get("batch", False),
        smooth_nr=0.0,
        smooth_dr=1e-300,
        reduction="none",
    )
    none = loss_fn(_t(pred), _t(target)).numpy()
    if axis is None:
        none = none[..., 0]
    return reference_reduce(none, reduction)


def _matthews_samples(rng):
    yield from _overlap_samples(_no_options, every_mode=False)(rng)
    yield Sample(
        (_binary_pred(rng, (3, 8), True), rng.integers(0, 2, (3, 8)).astype(float)),
        {"from_logits": True, "smooth": 0.0},
        desc="binary logits smooth=0",
    )
    labels = rng.integers(0, 3, (2, 4, 5))
    yield Sample(
        (_class_pred(rng, (2, 3, 4, 5), True, 1), labels),
        {"from_logits": True, "axis": 1, "smooth": 0.0, "batch": True},
        desc="labels axis=1 batch=True smooth=0",
    )


def _monai_boundary(sample: Sample, reduction: str):
    """MONAI's BoundaryLoss, which computes the maps itself from the target: a signed map
    is <= 0 exactly on its mask (and 0 everywhere for an empty mask, as for a full one)."""
    from monai.losses import BoundaryLoss

    pred, distance = sample.args
    kw = sample.kwargs
    if kw.get("exclude_class") not in (None, 0):
        return None
    axis = kw.get("axis")
    pred, target = _monai_layout(Sample((pred, (distance <= 0).astype(float)), kw))
    if pred.ndim not in (4, 5):
        return None
    loss_fn = BoundaryLoss(
        sigmoid=kw.get("from_logits", False) and axis is None,
        softmax=kw.get("from_logits", False) and axis is not None,
        include_background=kw.get("exclude_class") is None,
        reduction="none",
    )
    none = loss_fn(_t(pred), _t(target)).numpy()
    if axis is None:
        none = none[..., 0]
    norm = None
    if kw.get("exclude_class") == 0:
        none = np.concatenate([np.zeros((none.shape[0], 1)), none], axis=-1)
        norm = np.ones(none.shape)
        norm[..., 0] = 0.0
    return reference_reduce(none, reduction, None, norm)


def _monai_hausdorff(sample: Sample, reduction: str):
    """MONAI's HausdorffDTLoss, which computes d_t and d_p itself: the samples whose
    distance is the two-sided (d_t^alpha + d_p^alpha)^(1/alpha)."""
    from monai.losses import HausdorffDTLoss

    pred, target, distance = sample.args
    kw = sample.kwargs
    axis = kw.get("axis")
    alpha = kw.get("alpha", 2.0)
    two_sided = _two_sided(
        pred, target, from_logits=kw.get("from_logits", False), axis=axis, alpha=alpha
    )
    if not np.allclose(two_sided, distance, rtol=0, atol=1e-12) or kw.get("exclude_class") not in (
        None,
        0,
    ):
        return None
    pred, target = _monai_layout(Sample((pred, target), kw))
    if pred.ndim not in (4, 5):
        return None
    loss_fn = HausdorffDTLoss(
        alpha=alpha,
        sigmoid=kw.get("from_logits", False) and axis is None,
        softmax=kw.get("from_logits", False) and axis is not None,
        to_onehot_y=target.dtype.kind in "iu",
        include_background=kw.get("exclude_class") is None,
        reduction="none",
    )
    none = loss_fn(_t(pred), _t(target)).numpy().reshape(pred.shape[0], -1)
    if axis is None:
        none = none[..., 0]
    norm = None
    if kw.get("exclude_class") == 0:
        none = np.concatenate([np.zeros((none.shape[0], 1)), none], axis=-1)
        norm = np.ones(none.shape)
        norm[..., 0] = 0.0
    return reference_reduce(none, reduction, None, norm)


def _optax_overlap(kind):
    """optax.dice_loss: softmax over the last axis, statistics per sample, no options."""

    def peer(sample: Sample, reduction: str):
        import jax.numpy as jnp
        import optax

        pred, target = sample.args
        kw = sample.kwargs
        axis = kw.get("axis")
        if (
            axis is None
            or axis % pred.ndim != pred.ndim - 1
            or target.shape != pred.shape
            or kw.get("batch")
            or kw.get("class_weights") is not None
            or kw.get("exclude_class") is not None
        ):
            return None
        alpha, beta = (
            (kw.get("alpha", 0.5), kw.get("beta", 0.5)) if kind == "tversky" else (0.5, 0.5)
        )
        # optax writes every ratio as (I + s) / (I + alpha FP + beta FN + s): for Dice that is
        # (2I + 2s) / (P + T + 2s), losskit's dice with twice the smoothing.
        smooth = kw.get("smooth", 1.0) / (2 if kind == "dice" else 1)
        out = optax.losses.dice_loss(
            jnp.asarray(pred),
            jnp.asarray(target),
            smooth=smooth,
            alpha=alpha,
            beta=beta,
            apply_softmax=kw.get("from_logits", False),
            reduction="none",
        )
        return reference_reduce(np.asarray(out), reduction)

    return peer


def _channels_last_samples(rng):
    """Extra one-hot, channels-last samples where optax's convention is losskit's."""
    labels = rng.integers(0, 3, (2, 4, 5))
    yield Sample(
        (_class_pred(rng, (2, 4, 5, 3), True, -1), one_hot(labels, 3)),
        {"from_logits": True, "axis": -1},
        desc="one-hot channels-last logits",
    )


def _with_channels_last(samples):
    def all_samples(rng):
        yield from samples(rng)
        yield from _channels_last_samples(rng)

    return all_samples


def _kornia_lovasz_softmax(sample: Sample, reduction: str):
    from kornia.losses import lovasz_softmax_loss

    pred, target = sample.args
    kw = sample.kwargs
    axis = kw.get("axis", -1) % pred.ndim
    if (
        reduction != "mean"
        or not kw.get("from_logits")
        or pred.ndim != 4
        or target.dtype.kind not in "iu"
        or kw.get("batch")
        or any(kw.get(k) is not None for k in ("class_weights", "exclude_class", "ignore_index"))
    ):
        return None
    return lovasz_softmax_loss(_t(np.moveaxis(pred, axis, 1)), _t(target)).numpy()


def _kornia_lovasz_hinge(sample: Sample, reduction: str):
    from kornia.losses import lovasz_hinge_loss

    pred, target = sample.args
    if reduction != "mean" or sample.kwargs.get("batch") or pred.ndim != 3:
        return None
    return lovasz_hinge_loss(_t(pred[:, None]), _t(target)).numpy()


def _lovasz_kornia_samples(samples):
    """Add 4-D and 3-D samples in kornia's layout to a sample generator."""

    def all_samples(rng):
        yield from samples(rng)
        yield Sample(
            (rng.normal(size=(2, 3, 3, 4)) * 2, rng.integers(0, 3, (2, 3, 4))),
            {"from_logits": True, "axis": 1},
            desc="[B, C, H, W] logits, labels",
        )

    return all_samples


def _lovasz_hinge_all_samples(rng):
    yield from _lovasz_hinge_samples(rng)
    yield Sample(
        (rng.normal(size=(2, 3, 4)) * 2, rng.integers(0, 2, (2, 3, 4)).astype(float)),
        desc="[B, H, W] per image",
    )


CASES = [
    LossCase(
        "dice",
        losskit.dice,
        _overlap_reference(_dice_score),
        _with_channels_last(_overlap_samples(_no_options)),
        extremes=_overlap_extremes,
        invalid=_overlap_invalid,
        peers=(
            Peer("monai.losses.DiceLoss", "monai", _monai_overlap("dice")),
            Peer("optax.losses.dice_loss", "optax", _optax_overlap("dice")),
        ),
        perfect=_perfect_mask,
    ),
    LossCase(
        "jaccard",
        losskit.jaccard,
        _overlap_reference(_jaccard_score),
        _overlap_samples(_no_options, every_mode=False),
        extremes=_overlap_extremes,
        invalid=_overlap_invalid,
        peers=(Peer("monai.losses.DiceLoss(jaccard=True)", "monai", _monai_overlap("jaccard")),),
        perfect=_perfect_mask,
    ),
    LossCase(
        "tversky",
        losskit.tversky,
        _overlap_reference(_tversky_score),
        _with_channels_last(_overlap_samples(_tversky_options, every_mode=False)),
        extremes=_overlap_extremes,
        invalid=_tversky_invalid,
        peers=(
            Peer("monai.losses.TverskyLoss", "monai", _monai_overlap("tversky")),
            Peer("optax.losses.dice_loss(alpha, beta)", "optax", _optax_overlap("tversky")),
        ),
        perfect=_perfect_mask,
    ),
    LossCase(
        "focal_tversky",
        losskit.focal_tversky,
        _overlap_reference(_focal_tversky_score),
        _overlap_samples(_focal_tversky_options, every_mode=False),
        extremes=_overlap_extremes,
        invalid=_focal_tversky_invalid,
        perfect=_perfect_mask,
    ),
    LossCase(
        "generalized_dice",
        losskit.generalized_dice,
        _generalized_dice_ref,
        _generalized_dice_samples,
        extremes=_generalized_dice_extremes,
        invalid=_generalized_dice_invalid,
        peers=(
            Peer(
                "monai.losses.GeneralizedDiceLoss",
                "monai",
                _monai_generalized_dice,
                rtol=1e-6,
            ),
        ),
        perfect=_perfect_mask,
    ),
    LossCase(
        "matthews_correlation",
        losskit.matthews_correlation,
        _matthews_ref,
        _matthews_samples,
        extremes=_matthews_extremes,
        invalid=_overlap_invalid,
        peers=(Peer("monai.losses.MCCLoss", "monai", _monai_matthews),),
        perfect=_perfect_mask,
    ),
    LossCase(
        "boundary_loss",
        losskit.boundary_loss,
        _boundary_ref,
        _boundary_samples,
        extremes=_distance_extremes,
        invalid=lambda: _distance_invalid(hausdorff=False),
        peers=(Peer("monai.losses.BoundaryLoss", "monai", _monai_boundary, rtol=1e-6),),
        nonnegative=False,
    ),
    LossCase(
        "hausdorff_dt",
        losskit.hausdorff_dt,
        _hausdorff_ref,
        _hausdorff_samples,
        extremes=_hausdorff_extremes,
        invalid=lambda: _distance_invalid(hausdorff=True),
        peers=(Peer("monai.losses.HausdorffDTLoss", "monai", _monai_hausdorff, rtol=1e-6),),
        perfect=_perfect_hausdorff,
    ),
    LossCase(
        "lovasz_hinge",
        losskit.lovasz_hinge,
        _lovasz_hinge_ref,
        _lovasz_hinge_all_samples,
        extremes=_lovasz_hinge_extremes,
        invalid=_lovasz_hinge_invalid,
        peers=(Peer("kornia.losses.lovasz_hinge_loss", "kornia", _kornia_lovasz_hinge),),
        perfect=_perfect_hinge,
    ),
    LossCase(
        "lovasz_softmax",
        losskit.lovasz_softmax,
        _lovasz_softmax_ref,
        _lovasz_kornia_samples(_lovasz_softmax_samples),
        extremes=_lovasz_softmax_extremes,
        invalid=_lovasz_softmax_invalid,
        peers=(Peer("kornia.losses.lovasz_softmax_loss", "kornia", _kornia_lovasz_softmax),),
        perfect=_perfect_mask,
    ),
]
