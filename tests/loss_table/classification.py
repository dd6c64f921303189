"""Table entries for the classification losses."""

from __future__ import annotations

import numpy as np
from scipy import special

import losskit

from .spec import Invalid, LossCase, Peer, Sample, one_hot, reference_reduce, rng_probs

# -------------------------------------------------------------------- references


def _binary_probs(pred, from_logits):
    return special.expit(pred) if from_logits else pred


def _bce_ref(
    pred,
    target,
    *,
    from_logits=False,
    pos_weight=None,
    label_smoothing=0.0,
    ignore_index=None,
    reduction="mean",
    weights=None,
):
    keep = np.ones(target.shape) if ignore_index is None else (target != ignore_index) * 1.0
    target = np.where(keep > 0, target, 0.5)  # any value in [0, 1]: the loss is masked
    y = target * (1 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        log_p, log_q = -np.logaddexp(0, -pred), -np.logaddexp(0, pred)
    else:
        log_p, log_q = np.log(pred), np.log1p(-pred)
    pw = 1.0 if pos_weight is None else np.asarray(pos_weight)
    loss = keep * -(pw * y * log_p + (1 - y) * log_q)
    return reference_reduce(loss, reduction, weights, None if ignore_index is None else keep)


def _binary_focal_ref(
    pred, target, *, gamma=2.0, alpha=None, from_logits=False, reduction="mean", weights=None
):
    p = _binary_probs(pred, from_logits)
    ce = -(target * np.log(p) + (1 - target) * np.log(1 - p))
    p_t = target * p + (1 - target) * (1 - p)
    loss = (1 - p_t) ** gamma * ce
    if alpha is not None:
        loss = (alpha * target + (1 - alpha) * (1 - target)) * loss
    return reference_reduce(loss, reduction, weights)


def _log_probs(pred, from_logits, axis):
    return special.log_softmax(pred, axis=axis) if from_logits else np.log(pred)


def _cce_ref(
    pred,
    target,
    *,
    from_logits=False,
    axis=-1,
    class_weights=None,
    label_smoothing=0.0,
    poly_epsilon=0.0,
    reduction="mean",
    weights=None,
):
    c = pred.shape[axis]
    shape = [1] * pred.ndim
    shape[axis] = c
    w = (
        np.ones(shape)
        if class_weights is None
        else np.reshape(np.asarray(class_weights, dtype=float), shape)
    )
    q = target * (1 - label_smoothing) + label_smoothing / c
    loss = -np.sum(w * q * _log_probs(pred, from_logits, axis), axis=axis)
    p = special.softmax(pred, axis=axis) if from_logits else pred
    loss = loss + poly_epsilon * np.sum(w * target * (1 - p), axis=axis)
    norm = None if class_weights is None else np.sum(w * target, axis=axis)
    return reference_reduce(loss, reduction, weights, norm)


def _sparse_ref(
    pred,
    target,
    *,
    from_logits=False,
    axis=-1,
    class_weights=None,
    ignore_index=None,
    label_smoothing=0.0,
    poly_epsilon=0.0,
    z_loss=0.0,
    softcap=None,
    return_lse=False,
    reduction="mean",
    weights=None,
):
    # Loop over samples: an implementation independent of the vectorised gather.
    c = pred.shape[axis]
    if softcap is not None:  # Gemma 2: c tanh(x / c)
        pred = softcap * np.tanh(pred / softcap)
    rows = np.moveaxis(pred, axis, -1).reshape(-1, c)
    logp = np.moveaxis(_log_probs(pred, from_logits, axis), axis, -1).reshape(-1, c)
    labels = target.reshape(-1)
    w = np.ones(c) if class_weights is None else np.asarray(class_weights, dtype=float)
    loss = np.zeros(labels.shape)
    norm = np.zeros(labels.shape)
    lse = np.zeros(labels.shape)
    for i, y in enumerate(labels):
        if from_logits:
            top = rows[i].max()
            lse[i] = top + np.log(np.sum(np.exp(rows[i] - top)))
        if ignore_index is not None and y == ignore_index:
            continue
        loss[i] = -(1 - label_smoothing) * w[y] * logp[i, y] - label_smoothing / c * np.sum(
            w * logp[i]
        )
        loss[i] += poly_epsilon * w[y] * (1 - np.exp(logp[i, y]))
        loss[i] += z_loss * w[y] * lse[i] ** 2  # PaLM's z-loss, class-weighted as the rest
        norm[i] = w[y]
    reduced = reference_reduce(
        loss.reshape(target.shape), reduction, weights, norm.reshape(target.shape)
    )
    return (reduced, lse.reshape(target.shape)) if return_lse else reduced


def _cfocal_ref(
    pred,
    target,
    *,
    gamma=2.0,
    alpha=None,
    from_logits=False,
    axis=-1,
    poly_epsilon=0.0,
    reduction="mean",
    weights=None,
):
    logp = _log_probs(pred, from_logits, axis)
    shape = [1] * pred.ndim
    shape[axis] = pred.shape[axis]
    a = 1.0 if alpha is None else np.reshape(np.asarray(alpha, dtype=float), shape)
    q = 1 - np.exp(logp)
    loss = np.sum(a * target * (poly_epsilon * q ** (gamma + 1) - q**gamma * logp), axis=axis)
    return reference_reduce(loss, reduction, weights)


def _sfocal_ref(
    pred,
    target,
    *,
    gamma=2.0,
    alpha=None,
    from_logits=False,
    axis=-1,
    ignore_index=None,
    poly_epsilon=0.0,
    reduction="mean",
    weights=None,
):
    c = pred.shape[axis]
    logp = np.moveaxis(_log_probs(pred, from_logits, axis), axis, -1).reshape(-1, c)
    labels = target.reshape(-1)
    a = np.ones(c) if alpha is None else np.asarray(alpha, dtype=float)
    loss, norm = np.zeros(labels.shape), np.zeros(labels.shape)
    for i, y in enumerate(labels):
        if ignore_index is not None and y == ignore_index:
            continue
        q = 1 - np.exp(logp[i, y])
        loss[i] = a[y] * (poly_epsilon * q ** (gamma + 1) - q**gamma * logp[i, y])
        norm[i] = 1.0
    return reference_reduce(
        loss.reshape(target.shape), reduction, weights, norm.reshape(target.shape)
    )


def _hinge_ref(pred, target, *, reduction="mean", weights=None):
    return reference_reduce(np.maximum(0, 1 - target * pred), reduction, weights)


def _sq_hinge_ref(pred, target, *, reduction="mean", weights=None):
    return reference_reduce(np.maximum(0, 1 - target * pred) ** 2, reduction, weights)


# ----------------------------------------------------------------------- samples


def _binary_samples(extra_options):
    def samples(rng):
        for from_logits in (False, True):

            def pred(shape, fl=from_logits):
                return rng.normal(size=shape) * 3 if fl else rng.uniform(0.02, 0.98, size=shape)

            yield Sample(
                (pred((8,)), rng.integers(0, 2, 8).astype(float)),
                {"from_logits": from_logits},
                desc=f"binary logits={from_logits}",
            )
            yield Sample(
                (pred((4, 3)), rng.uniform(0, 1, (4, 3))),
                {"from_logits": from_logits},
                desc=f"soft multi-label logits={from_logits}",
            )
            for kwargs in extra_options(rng):
                yield Sample(
                    (pred((4, 3)), rng.integers(0, 2, (4, 3)).astype(float)),
                    {"from_logits": from_logits, **kwargs},
                    desc=f"{kwargs} logits={from_logits}",
                )

    return samples


def _bce_options(rng):
    yield {"pos_weight": 3.0}
    yield {"pos_weight": rng.uniform(0.5, 4, 3)}
    yield {"label_smoothing": 0.2}


def _bce_samples(rng):
    yield from _binary_samples(_bce_options)(rng)
    for from_logits in (False, True):
        target = rng.integers(0, 2, (4, 3)).astype(float)
        target[[0, 2], [1, 0]] = -100.0
        pred = rng.normal(size=(4, 3)) * 3 if from_logits else rng.uniform(0.02, 0.98, (4, 3))
        yield Sample(
            (pred, target),
            {"from_logits": from_logits, "ignore_index": -100, "pos_weight": 2.0},
            desc=f"ignore_index logits={from_logits}",
            plain_mean=False,
        )
    yield Sample(
        (rng.normal(size=(2, 3)), np.full((2, 3), 255.0)),
        {"from_logits": True, "ignore_index": 255},
        desc="all ignored",
        plain_mean=False,
    )


def _focal_options(rng):
    yield {"gamma": 0.0}
    yield {"gamma": 0.5, "alpha": 0.25}
    yield {"gamma": 3.0, "alpha": 0.8}


def _class_pred(rng, shape, from_logits, axis):
    return rng.normal(size=shape) * 3 if from_logits else rng_probs(rng, shape, axis)


def _categorical_samples(extra_options):
    def samples(rng):
        for from_logits in (False, True):
            labels = rng.integers(0, 4, 6)
            yield Sample(
                (_class_pred(rng, (6, 4), from_logits, -1), one_hot(labels, 4)),
                {"from_logits": from_logits},
                desc=f"one-hot logits={from_logits}",
            )
            yield Sample(
                (_class_pred(rng, (3, 4, 5), from_logits, 1), rng_probs(rng, (3, 4, 5), 1)),
                {"from_logits": from_logits, "axis": 1},
                desc=f"soft axis=1 logits={from_logits}",
            )
            for kwargs in extra_options(rng):
                yield Sample(
                    (_class_pred(rng, (5, 4), from_logits, -1), one_hot(rng.integers(0, 4, 5), 4)),
                    {"from_logits": from_logits, **kwargs},
                    desc=f"{sorted(kwargs)} logits={from_logits}",
                    plain_mean="class_weights" not in kwargs,
                )

    return samples


def _cce_options(rng):
    yield {"class_weights": rng.uniform(0.2, 2.0, 4)}
    yield {"class_weights": [1.0, 2.0, 0.5, 1.0]}
    yield {"label_smoothing": 0.1}
    yield {"label_smoothing": 0.3, "class_weights": rng.uniform(0.2, 2.0, 4)}
    yield {"poly_epsilon": 1.0}
    yield {"poly_epsilon": -1.0}
    yield {"poly_epsilon": 2.0, "class_weights": rng.uniform(0.2, 2.0, 4), "label_smoothing": 0.1}


def _cfocal_options(rng):
    yield {"gamma": 0.0}
    yield {"gamma": 0.5, "alpha": rng.uniform(0.1, 1.0, 4)}
    yield {"poly_epsilon": 1.0}
    yield {"gamma": 1.0, "poly_epsilon": -1.0, "alpha": rng.uniform(0.1, 1.0, 4)}


def _sparse_samples(extra_options):
    def samples(rng):
        for from_logits in (False, True):
            yield Sample(
                (_class_pred(rng, (6, 4), from_logits, -1), rng.integers(0, 4, 6)),
                {"from_logits": from_logits},
                desc=f"labels logits={from_logits}",
            )
            yield Sample(
                (_class_pred(rng, (2, 3, 4, 5), from_logits, 1), rng.integers(0, 3, (2, 4, 5))),
                {"from_logits": from_logits, "axis": 1},
                desc=f"4-D axis=1 logits={from_logits}",
            )
            for kwargs in extra_options(rng):
                if not from_logits and _LOGIT_ONLY & kwargs.keys():
                    continue
                labels = rng.integers(0, 4, 7)
                labels[[1, 4]] = -100
                if "ignore_index" not in kwargs:
                    labels[[1, 4]] = 2
                yield Sample(
                    (_class_pred(rng, (7, 4), from_logits, -1), labels),
                    {"from_logits": from_logits, **kwargs},
                    desc=f"{sorted(kwargs)} logits={from_logits}",
                    plain_mean="class_weights" not in kwargs and "ignore_index" not in kwargs,
                )
        yield Sample(
            (rng.normal(size=(3, 4)), np.full(3, -100)),
            {"from_logits": True, "ignore_index": -100},
            desc="all ignored",
            plain_mean=False,
        )

    return samples


#: options of sparse cross-entropy that need logits
_LOGIT_ONLY = frozenset({"z_loss", "softcap"})


def _sparse_options(rng):
    yield {"class_weights": rng.uniform(0.2, 2.0, 4)}
    yield {"ignore_index": -100}
    yield {"label_smoothing": 0.2}
    yield {"ignore_index": -100, "class_weights": rng.uniform(0.2, 2.0, 4), "label_smoothing": 0.1}
    yield {"poly_epsilon": 1.0}
    yield {"poly_epsilon": -1.0, "ignore_index": -100, "class_weights": rng.uniform(0.2, 2.0, 4)}
    # language-model options (logits only): z-loss, soft-capping, and both with the rest
    yield {"z_loss": 0.1, "ignore_index": -100}
    yield {"softcap": 1.5}
    yield {
        "z_loss": 0.05,
        "softcap": 2.0,
        "ignore_index": -100,
        "class_weights": rng.uniform(0.2, 2.0, 4),
        "label_smoothing": 0.1,
    }


def _sfocal_options(rng):
    yield {"gamma": 0.0}
    yield {"gamma": 1.5, "alpha": rng.uniform(0.1, 1.0, 4)}
    yield {"ignore_index": -100}
    yield {"poly_epsilon": 2.0, "ignore_index": -100, "alpha": rng.uniform(0.1, 1.0, 4)}
    yield {"gamma": 0.0, "poly_epsilon": -1.0}


def _hinge_samples(rng):
    yield Sample((rng.normal(size=8) * 2, rng.choice([-1.0, 1.0], 8)), desc="1-D")
    yield Sample((rng.normal(size=(3, 4)) * 2, rng.choice([-1.0, 1.0], (3, 4))), desc="2-D")


# ---------------------------------------------------------------------- extremes


def _binary_extremes():
    yield Sample(
        (np.array([-1e4, 1e4, -1e4, 1e4, 0.0]), np.array([1.0, 0.0, 0.0, 1.0, 1.0])),
        {"from_logits": True},
        desc="logits ±1e4",
    )
    yield Sample(
        (np.array([0.0, 1.0, 0.0, 1.0, 0.5]), np.array([1.0, 0.0, 0.0, 1.0, 1.0])),
        {"from_logits": False},
        desc="probabilities 0 and 1",
    )


def _class_extremes():
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4]])
    probs = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    target = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    yield Sample((logits, target), {"from_logits": True}, desc="logits ±1e4")
    yield Sample((probs, target), {"from_logits": False}, desc="probabilities 0 and 1")


def _sparse_extremes():
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4]])
    probs = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    yield Sample((logits, np.array([1, 2])), {"from_logits": True}, desc="logits ±1e4")
    yield Sample((probs, np.array([1, 2])), {"from_logits": False}, desc="probabilities 0 and 1")


def _sparse_ce_extremes():
    yield from _sparse_extremes()
    # capped at 30, the z-loss's lse^2 is about 900: finite in float16
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4]])
    yield Sample(
        (logits, np.array([1, 2])),
        {"from_logits": True, "softcap": 30.0, "z_loss": 1e-4},
        desc="logits ±1e4 softcap z_loss",
    )


# ----------------------------------------------------------------------- invalid


def _binary_invalid():
    yield Invalid(
        (np.ones((4, 1)) * 0.5, np.ones(4)), {}, "target must have the same shape", "[N,1] vs [N]"
    )
    yield Invalid(
        (np.array([0.5, 1.5]), np.ones(2)),
        {},
        "pred must hold probabilities in [0, 1]",
        "prob > 1",
        value_check=True,
    )
    yield Invalid(
        (np.array([0.5, 0.5]), np.array([0.0, 2.0])),
        {},
        "target must hold labels or probabilities",
        "target > 1",
        value_check=True,
    )
    yield Invalid(
        (np.array([1, 0]), np.ones(2)), {}, "pred must have a real floating dtype", "int pred"
    )
    yield Invalid(
        (np.array([0.5, 0.5]), np.ones(2)),
        {"reduction": "batchmean"},
        "reduction must be one of",
        "reduction",
    )


def _focal_invalid():
    yield Invalid(
        (np.array([0.5, 0.5]), np.ones(2)), {"gamma": -1.0}, "gamma must lie in", "gamma < 0"
    )
    yield Invalid(
        (np.array([0.5, 0.5]), np.ones(2)), {"alpha": 1.5}, "alpha must lie in", "alpha > 1"
    )
    yield Invalid(
        (np.array([0.5, 0.5]), np.ones((2, 1))),
        {},
        "target must have the same shape",
        "[N] vs [N,1]",
    )


def _class_invalid(options):
    def invalid():
        p = rng_probs(np.random.default_rng(0), (3, 4))
        t = one_hot(np.array([0, 1, 2]), 4)
        yield Invalid((p, t[:, :3]), {}, "target must have the same shape", "class count")
        yield Invalid((p * 2, t), {}, "pred must hold probabilities", "prob > 1", value_check=True)
        yield Invalid((p, t), {"axis": 2}, "axis=2 is out of range", "axis")
        if "class_weights" in options:
            yield Invalid(
                (p, t),
                {"class_weights": np.ones(3)},
                "class_weights must have shape (4,)",
                "class_weights length",
            )
            yield Invalid(
                (p, t),
                {"class_weights": -np.ones(4)},
                "class_weights must be finite and non-negative",
                "negative class_weights",
                value_check=True,
            )
        if "alpha" in options:
            yield Invalid(
                (p, t), {"alpha": np.ones(5)}, "alpha must have shape (4,)", "alpha length"
            )
            yield Invalid((p, t), {"gamma": -2.0}, "gamma must lie in", "gamma < 0")
        if "label_smoothing" in options:
            yield Invalid(
                (p, t), {"label_smoothing": -0.1}, "label_smoothing must lie in", "smoothing < 0"
            )

    return invalid


def _sparse_invalid(options):
    def invalid():
        p = rng_probs(np.random.default_rng(0), (3, 4))
        yield Invalid(
            (p, np.array([0, 1, 4])),
            {},
            "target must hold class labels in [0, 4)",
            "label too large",
            value_check=True,
        )
        yield Invalid(
            (p, np.array([0, -1, 1])),
            {},
            "target must hold class labels in [0, 4)",
            "negative label",
            value_check=True,
        )
        yield Invalid(
            (p, np.array([0.0, 1.0, 1.0])),
            {},
            "target must hold integer class labels",
            "float labels",
        )
        yield Invalid(
            (p, np.array([[0], [1], [2]])), {}, "target must have shape (3,)", "[N,1] labels"
        )
        yield Invalid(
            (p, np.array([0, 1, 2])),
            {"ignore_index": 1.5},
            "ignore_index must be an int",
            "float ignore_index",
        )
        if "class_weights" in options:
            yield Invalid(
                (p, np.array([0, 1, 2])),
                {"class_weights": [1.0, 2.0]},
                "class_weights must have shape (4,)",
                "class_weights length",
            )
        if "alpha" in options:
            yield Invalid(
                (p, np.array([0, 1, 2])),
                {"alpha": np.ones(2)},
                "alpha must have shape (4,)",
                "alpha length",
            )
        if "z_loss" in options:
            y = np.array([0, 1, 2])
            yield Invalid(
                (p, y), {"from_logits": True, "z_loss": -0.1}, "z_loss must lie in", "z<0"
            )
            yield Invalid(
                (p, y), {"from_logits": True, "softcap": 0.0}, "softcap must lie in", "softcap 0"
            )
            for option in ({"z_loss": 1e-4}, {"softcap": 30.0}, {"return_lse": True}):
                yield Invalid(
                    (p, y), option, "act on logits: pass from_logits=True", f"{option} of probs"
                )
            yield Invalid(
                (p, y),
                {"from_logits": True, "z_loss": np.array([0.1, 0.2])},
                "z_loss must be a number or a 0-d array",
                "z_loss vector",
            )
        if "label_smoothing" in options:
            yield Invalid(
                (p, np.array([0, 1, 2])),
                {"label_smoothing": 1.0},
                "label_smoothing must lie in",
                "smoothing 1",
            )

    return invalid


def _hinge_invalid():
    yield Invalid(
        (np.ones(3), np.array([0.0, 1.0, 1.0])),
        {},
        "target must hold labels -1 or 1",
        "0/1 labels",
        value_check=True,
    )
    yield Invalid(
        (np.ones((3, 1)), np.ones(3)), {}, "target must have the same shape", "[N,1] vs [N]"
    )


# ------------------------------------------------------------------------- peers


def _t(a):
    import torch

    return torch.from_numpy(np.asarray(a))


def _bce_torch(sample: Sample, reduction: str):
    import torch.nn.functional as F

    pred, target = sample.args
    kw = sample.kwargs
    if kw.get("label_smoothing"):
        return None
    if kw.get("ignore_index") is not None:
        # torch has no ignore_index: a weight of 0 on the ignored targets (set to 0)
        keep = target != kw["ignore_index"]
        if reduction == "mean" and not keep.any():
            return None  # torch's mean of nothing is NaN; losskit's is 0
        plain = dict(kw, ignore_index=None)
        masked = Sample((pred, np.where(keep, target, 0.0)), plain)
        unreduced = _bce_torch(masked, "none")
        if unreduced is None:
            return None
        return reference_reduce(unreduced * keep, reduction, norm=keep * 1.0)
    if kw["from_logits"]:
        pw = kw.get("pos_weight")
        pw = None if pw is None else _t(np.broadcast_to(pw, pred.shape[-1:]).copy())
        return F.binary_cross_entropy_with_logits(
            _t(pred), _t(target), pos_weight=pw, reduction=reduction
        ).numpy()
    if kw.get("pos_weight") is not None:
        return None
    return F.binary_cross_entropy(_t(pred), _t(target), reduction=reduction).numpy()


def _focal_optax(sample: Sample, reduction: str):
    import jax.numpy as jnp
    import optax

    kw = dict(sample.kwargs)
    if not kw.pop("from_logits"):
        return None
    pred, target = sample.args
    out = optax.sigmoid_focal_loss(
        jnp.asarray(pred), jnp.asarray(target), alpha=kw.get("alpha"), gamma=kw.get("gamma", 2.0)
    )
    return reference_reduce(np.asarray(out), reduction)


def _ce_torch(sample: Sample, reduction: str):
    import torch.nn.functional as F

    pred, target = sample.args
    kw = sample.kwargs
    axis = kw.get("axis", -1) % pred.ndim
    if kw.get("poly_epsilon"):
        return None  # torch has no Poly-1 term
    if kw.get("z_loss") or kw.get("softcap") is not None:
        return None  # nor a z-loss or soft-capping
    if not kw.get("from_logits"):
        if kw.get("label_smoothing") or target.dtype.kind == "f":
            return None
        logp = np.log(pred)
        return F.nll_loss(
            _t(np.moveaxis(logp, axis, 1)),
            _t(target),
            weight=_opt(kw.get("class_weights")),
            ignore_index=kw.get("ignore_index", -100),
            reduction=reduction,
        ).numpy()
    if target.dtype.kind == "f" and kw.get("class_weights") is not None and reduction == "mean":
        return None  # torch divides soft-target class-weighted losses by N, losskit by the target's weight
    if np.all(target == kw.get("ignore_index", object())) and reduction == "mean":
        return None  # torch returns NaN when every target is ignored; losskit returns 0
    moved_target = np.moveaxis(target, axis, 1) if target.dtype.kind == "f" else target
    return F.cross_entropy(
        _t(np.moveaxis(pred, axis, 1)),
        _t(moved_target),
        weight=_opt(kw.get("class_weights")),
        ignore_index=kw.get("ignore_index", -100),
        label_smoothing=kw.get("label_smoothing", 0.0),
        reduction=reduction,
    ).numpy()


def _opt(a):
    return None if a is None else _t(np.asarray(a, dtype=float))


def _ce_optax(sample: Sample, reduction: str):
    import jax.numpy as jnp
    import optax

    pred, target = sample.args
    kw = sample.kwargs
    if (
        not kw.get("from_logits")
        or kw.get("class_weights") is not None
        or kw.get("label_smoothing")
        or kw.get("ignore_index") is not None
        or kw.get("z_loss")
        or kw.get("softcap") is not None
    ):
        return None
    axis = kw.get("axis", -1)
    if kw.get("poly_epsilon"):
        if target.dtype.kind != "f":
            target = one_hot(target, pred.shape[axis], axis)
        out = optax.losses.poly_loss_cross_entropy(
            jnp.asarray(pred), jnp.asarray(target), epsilon=kw["poly_epsilon"], axis=axis
        )
    elif target.dtype.kind == "f":
        out = optax.softmax_cross_entropy(jnp.asarray(pred), jnp.asarray(target), axis=axis)
    else:
        out = optax.softmax_cross_entropy_with_integer_labels(
            jnp.asarray(pred), jnp.asarray(target), axis=axis
        )
    return reference_reduce(np.asarray(out), reduction)


def _hinge_optax(sample: Sample, reduction: str):
    import jax.numpy as jnp
    import optax

    pred, target = sample.args
    return reference_reduce(
        np.asarray(optax.hinge_loss(jnp.asarray(pred), jnp.asarray(target))), reduction
    )


def _perfect_hinge(sample: Sample) -> Sample:
    _pred, target = sample.args
    return Sample((2 * target, target), dict(sample.kwargs))


# ------------------------------------------------------ nll and multi-class hinge


def _nll_ref(
    pred, target, *, axis=-1, class_weights=None, ignore_index=None, reduction="mean", weights=None
):
    c = pred.shape[axis]
    logp = np.moveaxis(pred, axis, -1).reshape(-1, c)
    labels = target.reshape(-1)
    w = np.ones(c) if class_weights is None else np.asarray(class_weights, dtype=float)
    loss, norm = np.zeros(labels.shape), np.zeros(labels.shape)
    for i, y in enumerate(labels):
        if ignore_index is not None and y == ignore_index:
            continue
        loss[i], norm[i] = -w[y] * logp[i, y], w[y]
    return reference_reduce(
        loss.reshape(target.shape), reduction, weights, norm.reshape(target.shape)
    )


def _nll_samples(rng):
    yield Sample(
        (special.log_softmax(rng.normal(size=(6, 4)) * 3, axis=-1), rng.integers(0, 4, 6)),
        desc="[N, C]",
    )
    yield Sample(
        (special.log_softmax(rng.normal(size=(2, 3, 4, 5)), axis=1), rng.integers(0, 3, (2, 4, 5))),
        {"axis": 1},
        desc="4-D axis=1",
    )
    labels = rng.integers(0, 4, 7)
    labels[[1, 4]] = -100
    for kwargs in (
        {"class_weights": rng.uniform(0.2, 2.0, 4)},
        {"ignore_index": -100},
        {"ignore_index": -100, "class_weights": rng.uniform(0.2, 2.0, 4)},
    ):
        t = labels if "ignore_index" in kwargs else np.where(labels < 0, 2, labels)
        yield Sample(
            (special.log_softmax(rng.normal(size=(7, 4)) * 2, axis=-1), t),
            kwargs,
            desc=str(sorted(kwargs)),
            plain_mean=False,
        )
    yield Sample(
        (special.log_softmax(rng.normal(size=(3, 4)), axis=-1), np.full(3, -100)),
        {"ignore_index": -100},
        desc="all ignored",
        plain_mean=False,
    )


def _nll_torch(sample: Sample, reduction: str):
    import torch.nn.functional as F

    pred, target = sample.args
    kw = sample.kwargs
    if np.all(target == kw.get("ignore_index", object())) and reduction == "mean":
        return None  # torch returns NaN when every target is ignored; losskit returns 0
    return F.nll_loss(
        _t(np.moveaxis(pred, kw.get("axis", -1) % pred.ndim, 1)),
        _t(target),
        weight=_opt(kw.get("class_weights")),
        ignore_index=kw.get("ignore_index", -100),
        reduction=reduction,
    ).numpy()


def _nll_invalid():
    log_p = np.log(rng_probs(np.random.default_rng(0), (3, 4)))
    yield Invalid(
        (np.exp(log_p), np.array([0, 1, 2])),
        {},
        "pred must hold log-probabilities",
        "probabilities given",
        value_check=True,
    )
    yield Invalid(
        (log_p, np.array([0, 1, 4])),
        {},
        "target must hold class labels in [0, 4)",
        "label too large",
        value_check=True,
    )
    yield Invalid(
        (log_p, np.array([0.0, 1.0, 1.0])), {}, "target must hold integer class labels", "floats"
    )
    yield Invalid((log_p, np.array([[0], [1], [2]])), {}, "target must have shape (3,)", "[N,1]")
    yield Invalid(
        (log_p, np.array([0, 1, 2])),
        {"class_weights": [1.0, 2.0]},
        "class_weights must have shape (4,)",
        "class_weights length",
    )


def _mc_hinge_ref(
    pred,
    target,
    *,
    margin=1.0,
    form="crammer_singer",
    squared=False,
    axis=-1,
    reduction="mean",
    weights=None,
):
    c = pred.shape[axis]
    scores = np.moveaxis(pred, axis, -1).reshape(-1, c)
    labels = target.reshape(-1)
    loss = np.zeros(labels.shape)
    for i, y in enumerate(labels):
        terms = [
            max(0.0, margin + scores[i, j] - scores[i, y]) ** (2 if squared else 1)
            for j in range(c)
            if j != y
        ]
        if form == "crammer_singer":
            loss[i] = max(terms, default=0.0)
        else:
            loss[i] = sum(terms) / c
    return reference_reduce(loss.reshape(target.shape), reduction, weights)


def _mc_hinge_samples(rng):
    yield Sample((rng.normal(size=(6, 4)) * 2, rng.integers(0, 4, 6)), desc="[N, C]")
    yield Sample(
        (rng.normal(size=(2, 3, 4, 5)), rng.integers(0, 3, (2, 4, 5))), {"axis": 1}, desc="axis=1"
    )
    for kwargs in (
        {"form": "weston_watkins"},
        {"squared": True},
        {"form": "weston_watkins", "squared": True, "margin": 0.5},
        {"margin": 0.0},
        {"margin": 2.0, "form": "weston_watkins"},
    ):
        yield Sample((rng.normal(size=(7, 5)) * 2, rng.integers(0, 5, 7)), kwargs, desc=str(kwargs))
    # non-negative scores: where Keras's categorical hinge is the same loss
    yield Sample((rng.uniform(0, 3, (6, 4)), rng.integers(0, 4, 6)), desc="scores >= 0")
    yield Sample((rng.normal(size=(4, 1)), np.zeros(4, dtype=np.int64)), desc="one class")


def _mc_hinge_torch(sample: Sample, reduction: str):
    import torch.nn.functional as F

    pred, target = sample.args
    kw = sample.kwargs
    if kw.get("form") != "weston_watkins":
        return None
    c = pred.shape[kw.get("axis", -1)]
    scores = np.moveaxis(pred, kw.get("axis", -1), -1).reshape(-1, c)
    out = F.multi_margin_loss(
        _t(scores),
        _t(target.reshape(-1)),
        p=2 if kw.get("squared") else 1,
        margin=kw.get("margin", 1.0),
        reduction="none",
    ).numpy()
    return reference_reduce(out.reshape(target.shape), reduction)


def _mc_hinge_optax(sample: Sample, reduction: str):
    import jax.numpy as jnp
    import optax

    pred, target = sample.args
    kw = dict(sample.kwargs)
    axis = kw.pop("axis", -1)
    if kw:  # optax has margin 1, the Crammer-Singer form, no square
        return None
    scores = np.moveaxis(pred, axis, -1)
    out = optax.losses.multiclass_hinge_loss(jnp.asarray(scores), jnp.asarray(target))
    return reference_reduce(np.asarray(out), reduction)


def _mc_hinge_keras(sample: Sample, reduction: str):
    import keras

    pred, target = sample.args
    kw = dict(sample.kwargs)
    axis = kw.pop("axis", -1)
    scores = np.moveaxis(pred, axis, -1)
    c = scores.shape[-1]
    wrong = np.where(np.eye(c, dtype=bool)[target], -np.inf, scores)
    # Keras reads the true class as a score of 0 in its max over wrong classes: the
    # same loss only where some wrong class scores >= 0 (docs/conventions.md)
    if kw or c < 2 or not np.all(wrong.max(axis=-1) >= 0):
        return None
    out = keras.losses.categorical_hinge(one_hot(target, c), scores)
    return reference_reduce(keras.ops.convert_to_numpy(out), reduction)


def _perfect_mc_hinge(sample: Sample) -> Sample:
    pred, target = sample.args
    axis = sample.kwargs.get("axis", -1)
    margin = sample.kwargs.get("margin", 1.0)
    return Sample(
        ((margin + 1.0) * one_hot(target, pred.shape[axis], axis), target), dict(sample.kwargs)
    )


def _mc_hinge_invalid():
    scores = np.random.default_rng(0).normal(size=(3, 4))
    yield Invalid(
        (scores, np.array([0, 1, 4])),
        {},
        "target must hold class labels in [0, 4)",
        "label too large",
        value_check=True,
    )
    yield Invalid((scores, one_hot(np.array([0, 1, 2]), 4)), {}, "target must hold integer", "1hot")
    yield Invalid((scores, np.array([0, 1, 2])), {"margin": -1.0}, "margin must lie in", "margin")
    yield Invalid((scores, np.array([0, 1, 2])), {"form": "max"}, "form must be one of", "form")
    yield Invalid((scores, np.array([0, 1, 2])), {"axis": 2}, "axis=2 is out of range", "axis")


# ------------------------------------------------ asymmetric focal and generalized CE


def _asl_ref(
    pred,
    target,
    *,
    gamma_pos=0.0,
    gamma_neg=4.0,
    clip=0.05,
    from_logits=False,
    reduction="mean",
    weights=None,
):
    p = _binary_probs(pred, from_logits)
    p_m = np.maximum(p - clip, 0.0)
    loss = -(
        target * (1 - p) ** gamma_pos * np.log(p) + (1 - target) * p_m**gamma_neg * np.log(1 - p_m)
    )
    return reference_reduce(loss, reduction, weights)


def _asl_options(rng):
    yield {"clip": 0.0}
    yield {"gamma_pos": 1.0, "gamma_neg": 4.0, "clip": 0.05}
    yield {"gamma_pos": 0.5, "gamma_neg": 2.0, "clip": 0.2}
    yield {"gamma_pos": 2.0, "gamma_neg": 2.0, "clip": 0.0}  # binary focal


def _asl_extremes():
    for clip in (0.0, 0.05):
        for sample in _binary_extremes():
            sample.kwargs = {**sample.kwargs, "clip": clip, "gamma_neg": 0.5}
            sample.desc += f" clip={clip}"
            yield sample


def _asl_optax(sample: Sample, reduction: str):
    """With equal gammas and no margin ASL is the focal loss: optax's, from logits."""
    import jax.numpy as jnp
    import optax

    kw = sample.kwargs
    gamma = kw.get("gamma_pos", 0.0)
    if kw.get("clip", 0.05) != 0 or kw.get("gamma_neg", 4.0) != gamma or not kw["from_logits"]:
        return None
    pred, target = sample.args
    out = optax.sigmoid_focal_loss(jnp.asarray(pred), jnp.asarray(target), gamma=gamma)
    return reference_reduce(np.asarray(out), reduction)


def _gce_ref(
    pred,
    target,
    *,
    q=0.7,
    from_logits=False,
    axis=-1,
    ignore_index=None,
    reduction="mean",
    weights=None,
):
    c = pred.shape[axis]
    p = np.moveaxis(np.exp(_log_probs(pred, from_logits, axis)), axis, -1).reshape(-1, c)
    labels = target.reshape(-1)
    loss, norm = np.zeros(labels.shape), np.zeros(labels.shape)
    for i, y in enumerate(labels):
        if ignore_index is not None and y == ignore_index:
            continue
        loss[i], norm[i] = (1 - p[i, y] ** q) / q, 1.0
    return reference_reduce(
        loss.reshape(target.shape), reduction, weights, norm.reshape(target.shape)
    )


def _gce_options(rng):
    yield {"q": 1.0}
    yield {"q": 1e-4}
    yield {"q": 0.3, "ignore_index": -100}


CASES = [
    LossCase(
        "binary_cross_entropy",
        losskit.binary_cross_entropy,
        _bce_ref,
        _bce_samples,
        extremes=_binary_extremes,
        invalid=lambda: [
            *_binary_invalid(),
            Invalid(
                (np.array([0.5, 0.5]), np.ones(2)),
                {"pos_weight": np.ones(3)},
                "pos_weight must be broadcastable",
            ),
            Invalid(
                (np.array([0.5, 0.5]), np.ones(2)),
                {"label_smoothing": 1.0},
                "label_smoothing must lie in",
                "smoothing 1",
            ),
            Invalid(
                (np.array([0.5, 0.5]), np.array([1.0, -100.0])),
                {"ignore_index": -100.5},
                "ignore_index must be an int",
                "float ignore_index",
            ),
            Invalid(
                (np.array([0.5, 0.5]), np.array([1.0, -100.0])),
                {"ignore_index": 255},
                "target must hold labels or probabilities",
                "a value outside [0, 1] that is not ignore_index",
                value_check=True,
            ),
        ],
        peers=(Peer("torch.nn.functional.binary_cross_entropy", "torch", _bce_torch),),
    ),
    LossCase(
        "binary_focal",
        losskit.binary_focal,
        _binary_focal_ref,
        _binary_samples(_focal_options),
        extremes=_binary_extremes,
        invalid=lambda: [*_binary_invalid(), *_focal_invalid()],
        peers=(Peer("optax.sigmoid_focal_loss", "optax", _focal_optax),),
    ),
    LossCase(
        "categorical_cross_entropy",
        losskit.categorical_cross_entropy,
        _cce_ref,
        _categorical_samples(_cce_options),
        extremes=_class_extremes,
        invalid=_class_invalid({"class_weights", "label_smoothing"}),
        peers=(
            Peer("torch.nn.functional.cross_entropy", "torch", _ce_torch),
            Peer("optax.softmax_cross_entropy", "optax", _ce_optax),
        ),
    ),
    LossCase(
        "sparse_categorical_cross_entropy",
        losskit.sparse_categorical_cross_entropy,
        _sparse_ref,
        _sparse_samples(_sparse_options),
        extremes=_sparse_ce_extremes,
        invalid=_sparse_invalid({"class_weights", "label_smoothing", "z_loss"}),
        peers=(
            Peer("torch.nn.functional.cross_entropy", "torch", _ce_torch),
            Peer("optax.softmax_cross_entropy_with_integer_labels", "optax", _ce_optax),
        ),
    ),
    LossCase(
        "categorical_focal",
        losskit.categorical_focal,
        _cfocal_ref,
        _categorical_samples(_cfocal_options),
        extremes=_class_extremes,
        invalid=_class_invalid({"alpha"}),
    ),
    LossCase(
        "sparse_categorical_focal",
        losskit.sparse_categorical_focal,
        _sfocal_ref,
        _sparse_samples(_sfocal_options),
        extremes=_sparse_extremes,
        invalid=_sparse_invalid({"alpha"}),
    ),
    LossCase(
        "hinge",
        losskit.hinge,
        _hinge_ref,
        _hinge_samples,
        extremes=lambda: [
            Sample((np.array([-1e4, 1e4, 0.5]), np.array([1.0, 1.0, -1.0])), desc="huge scores")
        ],
        invalid=_hinge_invalid,
        peers=(Peer("optax.hinge_loss", "optax", _hinge_optax),),
        perfect=_perfect_hinge,
    ),
    LossCase(
        "squared_hinge",
        losskit.squared_hinge,
        _sq_hinge_ref,
        _hinge_samples,
        extremes=lambda: [
            Sample(
                (np.array([-100.0, 100.0, 0.5]), np.array([1.0, 1.0, -1.0])), desc="large scores"
            )
        ],
        invalid=_hinge_invalid,
        perfect=_perfect_hinge,
    ),
    LossCase(
        "nll",
        losskit.nll,
        _nll_ref,
        _nll_samples,
        extremes=lambda: [
            Sample(
                (np.array([[0.0, -1e4, -1e4], [-1e4, -1e4, 0.0]]), np.array([1, 2])),
                desc="log-probabilities 0 and -1e4",
            )
        ],
        invalid=_nll_invalid,
        peers=(Peer("torch.nn.functional.nll_loss", "torch", _nll_torch),),
    ),
    LossCase(
        "multiclass_hinge",
        losskit.multiclass_hinge,
        _mc_hinge_ref,
        _mc_hinge_samples,
        extremes=lambda: [
            Sample(
                (np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4]]), np.array([1, 2])), desc="±1e4"
            ),
            Sample(
                (np.array([[100.0, -100.0, 0.0], [-100.0, 100.0, 50.0]]), np.array([1, 0])),
                {"squared": True, "form": "weston_watkins"},
                desc="squared ±100",
            ),
        ],
        invalid=_mc_hinge_invalid,
        peers=(
            Peer("torch.nn.functional.multi_margin_loss", "torch", _mc_hinge_torch),
            Peer("optax.losses.multiclass_hinge_loss", "optax", _mc_hinge_optax),
            Peer("keras.losses.categorical_hinge", "keras", _mc_hinge_keras, rtol=1e-6),
        ),
        perfect=_perfect_mc_hinge,
    ),
    LossCase(
        "asymmetric_focal",
        losskit.asymmetric_focal,
        _asl_ref,
        _binary_samples(_asl_options),
        extremes=_asl_extremes,
        invalid=lambda: [
            *_binary_invalid(),
            Invalid((np.array([0.5]), np.ones(1)), {"clip": 1.0}, "clip must lie in", "clip 1"),
            Invalid(
                (np.array([0.5]), np.ones(1)), {"gamma_neg": -1.0}, "gamma_neg must lie in", "<0"
            ),
        ],
        peers=(
            Peer("optax.sigmoid_focal_loss (gamma_pos = gamma_neg, clip 0)", "optax", _asl_optax),
        ),
    ),
    LossCase(
        "generalized_cross_entropy",
        losskit.generalized_cross_entropy,
        _gce_ref,
        _sparse_samples(_gce_options),
        extremes=_sparse_extremes,
        invalid=lambda: [
            *_sparse_invalid(set())(),
            Invalid((np.array([[0.5, 0.5]]), np.array([0])), {"q": 0.0}, "q must lie in", "q 0"),
            Invalid((np.array([[0.5, 0.5]]), np.array([0])), {"q": 1.5}, "q must lie in", "q>1"),
        ],
    ),
]
