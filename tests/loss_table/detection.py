"""Table entry for the box IoU losses.

The reference loops over box pairs with Python floats: intervals for the overlap and
the enclosing box, the centres from the corners, and ``math.atan`` for CIoU.
"""

from __future__ import annotations

import math

import numpy as np

import losskit

from .spec import Gap, Invalid, LossCase, Sample, Tag, reference_reduce

# -------------------------------------------------------------------- reference


def _to_corners(box, box_format):
    a, b, c, d = (float(v) for v in box)
    if box_format == "xyxy":
        return a, b, c, d
    if box_format == "xywh":
        return a, b, a + c, b + d
    return a - c / 2, b - d / 2, a + c / 2, b + d / 2


def _overlap(lo1, hi1, lo2, hi2):
    """Length of the intersection of [lo1, hi1] and [lo2, hi2] (0 if disjoint or empty)."""
    return max(0.0, min(hi1, hi2) - max(lo1, lo2))


def _pair_loss(p, t, variant, eps):
    (px1, py1, px2, py2), (tx1, ty1, tx2, ty2) = p, t
    pw, ph = max(px2 - px1, 0.0), max(py2 - py1, 0.0)
    tw, th = max(tx2 - tx1, 0.0), max(ty2 - ty1, 0.0)
    inter = _overlap(px1, px2, tx1, tx2) * _overlap(py1, py2, ty1, ty2)
    union = pw * ph + tw * th - inter
    iou = inter / max(union, eps)
    left, right = min(px1, tx1), max(px2, tx2)
    bottom, top = min(py1, ty1), max(py2, ty2)
    enclose_w, enclose_h = max(right - left, 0.0), max(top - bottom, 0.0)
    if variant == "iou":
        return 1 - iou
    if variant == "giou":
        area = enclose_w * enclose_h
        return 1 - iou + (area - union) / max(area, eps)
    centre_p = ((px1 + px2) / 2, (py1 + py2) / 2)
    centre_t = ((tx1 + tx2) / 2, (ty1 + ty2) / 2)
    rho2 = math.dist(centre_p, centre_t) ** 2
    diou = 1 - iou + rho2 / max(enclose_w**2 + enclose_h**2, eps)
    if variant == "diou":
        return diou
    v = (
        4
        / math.pi**2
        * (math.atan(max(tw, eps) / max(th, eps)) - math.atan(max(pw, eps) / max(ph, eps))) ** 2
    )
    return diou + v / max(1 - iou + v, eps) * v


def _box_iou_ref(
    pred, target, *, variant="iou", box_format="xyxy", eps=1e-7, reduction="mean", weights=None
):
    flat_p, flat_t = pred.reshape(-1, 4), target.reshape(-1, 4)
    loss = np.array(
        [
            _pair_loss(_to_corners(p, box_format), _to_corners(t, box_format), variant, eps)
            for p, t in zip(flat_p, flat_t, strict=True)
        ]
    )
    return reference_reduce(loss.reshape(pred.shape[:-1]), reduction, weights)


# ---------------------------------------------------------------------- samples


def _random_boxes(rng, shape, box_format):
    """Valid boxes in ``box_format``: corners in [0, 10], sides in [0.5, 5]."""
    corner = rng.uniform(0, 10, (*shape, 2))
    size = rng.uniform(0.5, 5, (*shape, 2))
    if box_format == "xyxy":
        return np.concatenate([corner, corner + size], axis=-1)
    if box_format == "xywh":
        return np.concatenate([corner, size], axis=-1)
    return np.concatenate([corner + size / 2, size], axis=-1)


def _near(rng, boxes, box_format):
    """Predictions near the targets, so most pairs overlap (a few do not)."""
    jitter = rng.normal(0, 1.0, boxes.shape)
    if box_format != "xyxy":
        jitter[..., 2:] = rng.uniform(-0.3, 0.3, (*boxes.shape[:-1], 2))
    return boxes + jitter


def _box_samples(rng):
    for variant, box_format in (
        ("iou", "xyxy"),
        ("giou", "xyxy"),
        ("diou", "xywh"),
        ("giou", "cxcywh"),
        ("ciou", "xyxy"),
        ("ciou", "cxcywh"),
    ):
        target = _random_boxes(rng, (6,), box_format)
        options = {"variant": variant} | (
            {} if box_format == "xyxy" else {"box_format": box_format}
        )
        yield Sample(
            (_near(rng, target, box_format), target), options, desc=f"{variant} {box_format}"
        )
    target = _random_boxes(rng, (2, 3), "xyxy")
    yield Sample(
        (_near(rng, target, "xyxy"), target), {"variant": "diou", "eps": 1e-3}, desc="2-D eps"
    )
    # Predicted boxes with inverted corners (empty) and a zero-area target.
    pred = np.array([[3.0, 3.0, 1.0, 2.0], [0.0, 0.0, 2.0, 2.0], [5.0, 1.0, 4.0, 6.0]])
    target = np.array([[0.0, 0.0, 2.0, 2.0], [1.0, 1.0, 1.0, 3.0], [4.5, 0.0, 7.0, 3.0]])
    for variant in ("iou", "giou", "diou"):
        yield Sample(
            (pred, target),
            {"variant": variant},
            desc=f"degenerate boxes {variant}",
            tags=frozenset({Tag.DEGENERATE_BOXES}),
        )


def _box_extremes():
    pred = np.array([[1.0, 1.0, 1.0, 1.0], [3.0, 3.0, 1.0, 1.0], [0.0, 0.0, 2.0, 2.0]])
    target = np.array([[1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 2.0, 2.0]])
    for variant in ("iou", "giou", "diou", "ciou"):
        yield Sample(
            (pred, target), {"variant": variant}, desc=f"points, inverted, identical {variant}"
        )
    big = np.array([[0.0, 0.0, 3e4, 2e4], [100.0, 100.0, 101.0, 300.0]])
    yield Sample((big, big[::-1].copy()), {"variant": "ciou"}, desc="large boxes ciou")


def _box_invalid():
    boxes = np.array([[0.0, 0.0, 2.0, 2.0], [1.0, 1.0, 3.0, 4.0]])
    yield Invalid((boxes[:, :3], boxes[:, :3]), {}, "shape [..., 4]", "3 coordinates")
    yield Invalid((boxes, boxes[:1]), {}, "target must have the same shape", "shape mismatch")
    yield Invalid(
        (boxes, boxes[:, [2, 1, 0, 3]]),
        {},
        "found an inverted box",
        "inverted target",
        value_check=True,
    )
    yield Invalid(
        (boxes, boxes * [1, 1, -1, 1]),
        {"box_format": "xywh"},
        "width and height >= 0",
        "negative width",
        value_check=True,
    )
    yield Invalid(
        (boxes, boxes * np.nan), {}, "target boxes must be finite", "nan target", value_check=True
    )
    yield Invalid((boxes, boxes), {"variant": "eiou"}, "variant must be one of")
    yield Invalid((boxes, boxes), {"box_format": "yxyx"}, "box_format must be one of")
    yield Invalid((boxes, boxes), {"eps": 0.0}, "eps must lie in")
    yield Invalid((boxes.astype(np.int64), boxes), {}, "real floating", "int pred")


_CIOU_GAP = (
    "CIoU holds its trade-off alpha constant in the gradient (Zheng et al.'s code, "
    "torchvision), so autodiff differs from finite differences by design; "
    "tests/test_conventions.py checks the gradient with alpha held fixed"
)


def _is_ciou(sample: Sample) -> bool:
    return sample.kwargs.get("variant") == "ciou"


def _is_ciou_xyxy(sample: Sample) -> bool:
    # The cxcywh sample's sizes barely differ from its targets' (jitter of ±0.3), so the
    # aspect term, and the held-constant alpha with it, stay within check_grads' tolerance.
    return _is_ciou(sample) and sample.kwargs.get("box_format", "xyxy") == "xyxy"


def _perfect_box(sample: Sample) -> Sample:
    _pred, target = sample.args
    if Tag.DEGENERATE_BOXES in sample.tags:
        return Sample((target[[0, 2]], target[[0, 2]]), dict(sample.kwargs))
    return Sample((target.copy(), target), dict(sample.kwargs))


CASES = [
    LossCase(
        "box_iou",
        losskit.box_iou,
        _box_iou_ref,
        _box_samples,
        extremes=_box_extremes,
        invalid=_box_invalid,
        perfect=_perfect_box,
        gaps=(
            Gap("test_torch_gradcheck", _CIOU_GAP, samples=_is_ciou),
            Gap("test_jax_check_grads", _CIOU_GAP, samples=_is_ciou_xyxy),
        ),
    ),
]
