"""Table entries for the sequence losses."""

from __future__ import annotations

import functools
import itertools

import numpy as np
from scipy import special

import losskit

from .spec import Invalid, LossCase, Peer, Sample, reference_reduce

# -------------------------------------------------------------------- references


@functools.cache
def _paths(frames: int, classes: int) -> tuple[np.ndarray, tuple[tuple[int, ...], ...]]:
    """Every path of ``frames`` labels among ``classes`` (as an array [P, frames]), and
    each path's label sequence with the blank left in (collapsed per blank later)."""
    paths = np.array(list(itertools.product(range(classes), repeat=frames)), dtype=np.int64)
    return paths.reshape(-1, frames), tuple(
        tuple(k for k, _ in itertools.groupby(p)) for p in paths.tolist()
    )


def _ctc_ref(
    pred,
    target,
    input_lengths,
    target_lengths,
    *,
    blank=0,
    from_logits=False,
    zero_infinity=False,
    reduction="mean",
    weights=None,
):
    """By enumeration: the probability of every path of T_b frames whose collapsed form
    (repeats merged, then blanks dropped) is the target, summed; independent of the
    recursion."""
    logp = special.log_softmax(pred, axis=-1) if from_logits else pred
    losses = []
    for b in range(pred.shape[0]):
        frames, labels = int(input_lengths[b]), tuple(target[b, : target_lengths[b]].tolist())
        if frames == 0:
            total = 1.0 if not labels else 0.0
        else:
            paths, merged = _paths(frames, pred.shape[2])
            reads = np.array([tuple(k for k in m if k != blank) == labels for m in merged])
            path_logp = logp[b, np.arange(frames), paths].sum(axis=1)  # [P]
            total = np.sum(np.exp(path_logp[reads])) if reads.any() else 0.0
        loss = -np.log(total) if total > 0 else np.inf
        losses.append(0.0 if zero_infinity and np.isinf(loss) else loss)
    loss = np.array(losses, dtype=np.float64)
    if reduction == "mean":
        loss = loss / np.maximum(target_lengths, 1)
    return reference_reduce(loss, reduction, weights)


# ----------------------------------------------------------------------- samples


def _log_softmax(x):
    return special.log_softmax(x, axis=-1)


def _ctc_samples(rng):
    def labels(batch, width, classes, blank=0):
        choices = [c for c in range(classes) if c != blank]
        return rng.choice(choices, size=(batch, width)).astype(np.int64)

    scores = rng.normal(size=(3, 5, 4)) * 2
    target = labels(3, 3, 4)
    target[1, 2] = -1  # padding past the length may hold anything
    target[2, 1:] = 0
    lengths = np.array([5, 5, 5]), np.array([3, 2, 1])
    yield Sample((_log_softmax(scores), target, *lengths), {}, desc="log-probs", plain_mean=False)
    yield Sample(
        (scores, target, np.array([5, 3, 4]), lengths[1]),
        {"from_logits": True},
        desc="logits, input lengths",
        plain_mean=False,
    )
    repeated = np.array([[1, 1, 2], [2, 2, 2], [3, 1, 3]])
    yield Sample(
        (
            _log_softmax(rng.normal(size=(3, 6, 4))),
            repeated,
            np.array([6, 5, 6]),
            np.array([3, 3, 3]),
        ),
        {},
        desc="repeated labels",
        plain_mean=False,
    )
    # As optax's tests: as many frames as labels, none repeated, so one path reads the
    # target and the loss is -sum_t log p_t(y_t); and the same with padded frames.
    yield Sample(
        (
            rng.normal(size=(2, 4, 5)),
            np.array([[1, 2, 3, 4], [4, 2, 1, 3]]),
            np.array([4, 3]),
            np.array([4, 3]),
        ),
        {"from_logits": True},
        desc="one-to-one alignment",
        plain_mean=False,
    )
    last_blank = labels(2, 2, 3, blank=2)
    yield Sample(
        (rng.normal(size=(2, 4, 3)), last_blank, np.array([4, 3]), np.array([2, 1])),
        {"blank": 2, "from_logits": True},
        desc="blank last",
        plain_mean=False,
    )
    yield Sample(
        (
            _log_softmax(rng.normal(size=(3, 4, 3))),
            np.array([[1, 2], [2, 1], [2, 1]]),  # distinct labels: 2 frames suffice
            np.array([4, 0, 2]),
            np.array([0, 0, 2]),
        ),
        {},
        desc="empty targets and input",
        plain_mean=False,
    )
    yield Sample(
        (
            _log_softmax(rng.normal(size=(2, 3, 3))),
            np.zeros((2, 0), dtype=np.int64),
            np.array([3, 2]),
            np.array([0, 0]),
        ),
        {},
        desc="no label positions",
        plain_mean=False,
    )
    yield Sample(
        (scores[:2], np.array([[1, 1, 1], [2, 3, 1]]), np.array([4, 5]), np.array([3, 3])),
        {"from_logits": True, "zero_infinity": True},
        desc="zero_infinity, too few frames",
        plain_mean=False,
    )
    yield Sample(
        (
            np.zeros((0, 3, 4)),
            np.zeros((0, 2), dtype=np.int64),
            np.zeros(0, np.int64),
            np.zeros(0, np.int64),
        ),
        {"from_logits": True},
        desc="empty batch",
        plain_mean=False,
    )


def _ctc_extremes():
    # The second target's paths have logit +1e3 (+1e4) on every frame but one, where all
    # have -1e3 against +1e3 for a class no path may read: the loss is about 2e3 (2e4),
    # within float16's range.
    for scale in (1e3, 1e4):
        logits = np.full((2, 4, 3), -scale)
        logits[0, :, 0] = scale  # blank, except for the labels
        logits[0, 1, 1] = scale
        logits[0, 3, 2] = scale
        logits[1, :, 1] = scale
        logits[1, 2, 1] = -scale
        logits[1, 2, 2] = scale  # the one frame against the path
        target = np.array([[1, 2], [1, 1]])
        yield Sample(
            (logits, target, np.array([4, 4]), np.array([2, 1])),
            {"from_logits": True},
            desc=f"logits ±{scale:g}",
        )
    # Log-probabilities of exactly 0 and -inf: forbidden classes and certain frames.
    probs = np.array([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.5, 0.0, 0.5], [1.0, 0.0, 0.0]]])
    with np.errstate(divide="ignore"):
        logp = np.log(probs)
    yield Sample(
        (logp, np.array([[1, 2]]), np.array([4]), np.array([2])), {}, desc="log-probs 0 and -inf"
    )
    impossible = np.stack([logp[0], logp[0]])
    yield Sample(
        (impossible, np.array([[1, 1], [1, 2]]), np.array([2, 4]), np.array([2, 2])),
        {"zero_infinity": True},
        desc="zero_infinity, impossible",
    )


# ----------------------------------------------------------------------- invalid


def _ctc_invalid():
    logp = _log_softmax(np.random.default_rng(0).normal(size=(2, 6, 4)))
    target = np.array([[1, 2, 3], [2, 3, 0]])
    il, tl = np.array([6, 5]), np.array([3, 2])
    yield Invalid((logp[0], target, il, tl), {}, "pred must have shape [B, T, C]", "2-D pred")
    yield Invalid((logp, target[0], il, tl), {}, "target must have shape [B, S]", "1-D target")
    yield Invalid(
        (logp, target.astype(float), il, tl),
        {},
        "target must hold integer class labels",
        "float target",
    )
    yield Invalid(
        (logp, target, il[:1], tl), {}, "input_lengths must have shape (2,)", "lengths shape"
    )
    yield Invalid(
        (logp, target, il.astype(float), tl),
        {},
        "input_lengths must hold integer lengths",
        "float lengths",
    )
    yield Invalid(
        (logp, target, il, tl), {"blank": 4}, "blank must be a class index in [0, 4)", "blank C"
    )
    yield Invalid((logp, target, il, tl), {"blank": -1}, "blank must lie in", "negative blank")
    yield Invalid(
        (logp, target, np.array([7, 5]), tl),
        {},
        "input_lengths must lie in [0, 6]",
        "input too long",
        value_check=True,
    )
    yield Invalid(
        (logp, target, il, np.array([4, 2])),
        {},
        "target_lengths must lie in [0, 3]",
        "target too long",
        value_check=True,
    )
    yield Invalid(
        (logp, target, il, np.array([-1, 2])),
        {},
        "target_lengths must lie in [0, 3]",
        "negative length",
        value_check=True,
    )
    yield Invalid(
        (logp, np.array([[1, 0, 3], [2, 3, 0]]), il, tl),
        {},
        "target must not contain the blank label 0",
        "blank in target",
        value_check=True,
    )
    yield Invalid(
        (logp, np.array([[1, 2, 4], [2, 3, 0]]), il, tl),
        {},
        "target must hold class labels in [0, 4)",
        "label out of range",
        value_check=True,
    )
    yield Invalid(
        (logp * 0 + 1.0, target, il, tl),
        {},
        "pred must hold log-probabilities",
        "raw scores",
        value_check=True,
    )


# ------------------------------------------------------------------------- peers


def _ctc_torch(sample: Sample, reduction: str):
    import torch
    import torch.nn.functional as F

    pred, target, input_lengths, target_lengths = sample.args
    kw = sample.kwargs
    if pred.shape[0] == 0:
        return None  # PyTorch's mean of no sequences is NaN; losskit's is 0
    logp = special.log_softmax(pred, axis=-1) if kw.get("from_logits") else pred
    used = np.arange(target.shape[1]) < target_lengths[:, None]
    labels = np.where(used, target, 1 if kw.get("blank", 0) != 1 else 0)
    return F.ctc_loss(
        torch.from_numpy(np.ascontiguousarray(logp.transpose(1, 0, 2))),
        torch.from_numpy(labels),
        torch.from_numpy(input_lengths),
        torch.from_numpy(target_lengths),
        blank=kw.get("blank", 0),
        reduction=reduction,
        zero_infinity=kw.get("zero_infinity", False),
    ).numpy()


def _ctc_optax(sample: Sample, reduction: str):
    """optax.ctc_loss takes logits (log-probabilities are their own log-softmax) and
    paddings, and returns one loss per sequence; it gives an impossible sequence a large
    finite loss (its log 0 is -1e5), so those samples are skipped."""
    import jax.numpy as jnp
    import optax

    pred, target, input_lengths, target_lengths = sample.args
    kw = sample.kwargs
    if pred.shape[0] == 0 or kw.get("zero_infinity") or np.any(input_lengths == 0):
        return None
    frames, width = pred.shape[1], target.shape[1]
    logit_paddings = (np.arange(frames)[None, :] >= input_lengths[:, None]).astype(np.float64)
    label_paddings = (np.arange(width)[None, :] >= target_lengths[:, None]).astype(np.float64)
    labels = np.where(label_paddings > 0, 0, target)
    out = np.asarray(
        optax.ctc_loss(
            jnp.asarray(pred),
            jnp.asarray(logit_paddings),
            jnp.asarray(labels),
            jnp.asarray(label_paddings),
            blank_id=kw.get("blank", 0),
        ),
        dtype=np.float64,
    )
    if reduction == "mean":
        out = out / np.maximum(target_lengths, 1)  # optax's is per sequence: PyTorch's mean
    return reference_reduce(out, reduction)


CASES = [
    LossCase(
        "ctc",
        losskit.ctc,
        _ctc_ref,
        _ctc_samples,
        extremes=_ctc_extremes,
        invalid=_ctc_invalid,
        peers=(
            Peer("torch.nn.functional.ctc_loss", "torch", _ctc_torch),
            Peer("optax.ctc_loss", "optax", _ctc_optax, rtol=1e-9),
        ),
    ),
]
