"""Table entries for the detection losses.

The box reference loops over box pairs with Python floats: intervals for the overlap and
the enclosing box, the centres from the corners, and ``math.atan`` for CIoU.  The
varifocal and quality focal references follow the papers' case formulas in float64
NumPy, with SciPy's ``log_expit`` for logits.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

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
    if variant == "siou":
        return 1 - iou + _siou_cost(centre_p, centre_t, (pw, ph, tw, th), enclose_w, enclose_h, eps)
    diou = 1 - iou + rho2 / max(enclose_w**2 + enclose_h**2, eps)
    if variant == "diou":
        return diou
    if variant == "eiou":
        # Zhang et al. (2021), eq. 9: side differences over the enclosing box's sides.
        return (
            diou + (pw - tw) ** 2 / max(enclose_w**2, eps) + (ph - th) ** 2 / max(enclose_h**2, eps)
        )
    v = (
        4
        / math.pi**2
        * (math.atan(max(tw, eps) / max(th, eps)) - math.atan(max(pw, eps) / max(ph, eps))) ** 2
    )
    return diou + v / max(1 - iou + v, eps) * v


def _siou_cost(centre_p, centre_t, sides, enclose_w, enclose_h, eps):
    """(distance cost + shape cost) / 2 of Gevorgyan (2022), eqs. 1-10, with theta = 4."""
    dx, dy = centre_t[0] - centre_p[0], centre_t[1] - centre_p[1]
    sigma = math.hypot(dx, dy)
    # The angle cost of the paper, through arcsin and sin; it multiplies rho, which is 0
    # when the centres coincide, so its value there is immaterial (taken as 0).
    angle = 0.0 if sigma == 0 else 1 - 2 * math.sin(math.asin(abs(dy) / sigma) - math.pi / 4) ** 2
    gamma = 2 - angle
    rho = (dx**2 / max(enclose_w**2, eps), dy**2 / max(enclose_h**2, eps))
    distance = sum(1 - math.exp(-gamma * r) for r in rho)
    pw, ph, tw, th = sides
    omega = (abs(pw - tw) / max(pw, tw, eps), abs(ph - th) / max(ph, th, eps))
    shape = sum((1 - math.exp(-o)) ** 4 for o in omega)
    return (distance + shape) / 2


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
        ("eiou", "xyxy"),
        ("eiou", "cxcywh"),
        ("siou", "xyxy"),
        ("siou", "xywh"),
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
    for variant in ("iou", "giou", "diou", "eiou", "siou"):
        yield Sample(
            (pred, target),
            {"variant": variant},
            desc=f"degenerate boxes {variant}",
            tags=frozenset({Tag.DEGENERATE_BOXES}),
        )


def _box_extremes():
    pred = np.array([[1.0, 1.0, 1.0, 1.0], [3.0, 3.0, 1.0, 1.0], [0.0, 0.0, 2.0, 2.0]])
    target = np.array([[1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 2.0, 2.0]])
    for variant in ("iou", "giou", "diou", "ciou", "eiou", "siou"):
        yield Sample(
            (pred, target), {"variant": variant}, desc=f"points, inverted, identical {variant}"
        )
    big = np.array([[0.0, 0.0, 3e4, 2e4], [100.0, 100.0, 101.0, 300.0]])
    for variant in ("ciou", "eiou", "siou"):
        yield Sample((big, big[::-1].copy()), {"variant": variant}, desc=f"large boxes {variant}")
    # Centres aligned on an axis, on the diagonal, and coinciding: SIoU's angle cost at
    # 0, 1 and its 0 / 0 point.
    pred = np.array([[0.0, 0.0, 2.0, 2.0], [0.0, 0.0, 2.0, 2.0], [0.0, 0.0, 2.0, 2.0]])
    target = np.array([[3.0, 0.0, 5.0, 2.0], [3.0, 3.0, 5.0, 5.0], [0.5, 0.5, 1.5, 1.5]])
    yield Sample((pred, target), {"variant": "siou"}, desc="siou axis, diagonal, same centre")


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
    yield Invalid((boxes, boxes), {"variant": "wiou"}, "variant must be one of")
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


# --------------------------------------------------- varifocal and quality focal


def _log_probs(pred, from_logits):
    """(log p, log(1 - p)) in float64."""
    if from_logits:
        return special.log_expit(pred), special.log_expit(-pred)
    with np.errstate(divide="ignore"):
        return np.log(pred), np.log1p(-pred)


def _soft_bce(q, log_p, log_not_p):
    """-(q log p + (1 - q) log(1 - p)) with 0 log 0 = 0 (probabilities of exactly 0 or 1
    against a target that does not need them)."""
    with np.errstate(invalid="ignore"):
        pos = np.where(q == 0, 0.0, q * log_p)
        neg = np.where(q == 1, 0.0, (1 - q) * log_not_p)
    return -(pos + neg)


def _varifocal_ref(
    pred, target, *, alpha=0.75, gamma=2.0, from_logits=False, reduction="mean", weights=None
):
    """Zhang et al. (2021), eq. 2: -q (q log p + (1 - q) log(1 - p)) for q > 0,
    -alpha p^gamma log(1 - p) for q = 0."""
    log_p, log_not_p = _log_probs(pred, from_logits)
    p = np.exp(log_p)
    positive = target * _soft_bce(target, log_p, log_not_p)
    negative = -alpha * p**gamma * log_not_p
    return reference_reduce(np.where(target > 0, positive, negative), reduction, weights)


def _quality_focal_ref(
    pred, target, *, beta=2.0, from_logits=False, reduction="mean", weights=None
):
    """Li et al. (2020), eq. 5: -|y - sigma|^beta ((1 - y) log(1 - sigma) + y log sigma)."""
    log_p, log_not_p = _log_probs(pred, from_logits)
    loss = np.abs(target - np.exp(log_p)) ** beta * _soft_bce(target, log_p, log_not_p)
    return reference_reduce(loss, reduction, weights)


def _iou_scores(rng, shape):
    """Dense IoU-aware targets [N, C]: about a third of the anchors positive, with an IoU
    in (0.1, 1] at one class; 0 elsewhere."""
    n, c = shape
    q = np.zeros(shape)
    positive = rng.random(n) < 0.35
    labels = rng.integers(0, c, n)
    q[positive, labels[positive]] = rng.uniform(0.1, 1.0, positive.sum())
    return q


def _dense_samples(options_list):
    def samples(rng):
        for options in options_list:
            from_logits = options.get("from_logits", False)
            pred = rng.normal(0, 2, (8, 3)) if from_logits else rng.uniform(0.02, 0.98, (8, 3))
            yield Sample(
                (pred, _iou_scores(rng, (8, 3))),
                options,
                desc=" ".join(f"{k}={v}" for k, v in options.items()) or "defaults",
            )
        # Targets of exactly 1 (a perfect box) and a batch of 2-D maps.
        pred = rng.normal(0, 2, (2, 3, 4))
        target = np.where(rng.random((2, 3, 4)) < 0.3, 1.0, 0.0)
        yield Sample((pred, target), {"from_logits": True}, desc="hard targets 3-D logits")

    return samples


def _dense_extremes():
    # The trackers' "values in the thousands" (yolov7 #1541, GFocalV2 #4): logits of
    # +-1e4 against IoU targets, each side of every target.  Exact loss ~ |x|, finite.
    logits = np.array([[-1e4, 1e4, 0.0], [1e4, -1e4, 3e3], [-3e3, 50.0, -50.0]])
    target = np.array([[0.7, 0.0, 0.0], [1.0, 0.0, 0.4], [0.0, 1.0, 0.0]])
    yield Sample((logits, target), {"from_logits": True}, desc="logits ±1e4")
    probs = np.array([[0.0, 1.0, 0.5], [1.0, 0.0, 0.0], [0.0, 1.0, 1.0]])
    yield Sample((probs, target), {"from_logits": False}, desc="probabilities 0 and 1")


def _dense_invalid(focus):
    def invalid():
        pred, target = np.full((2, 3), 0.5), np.zeros((2, 3))
        yield Invalid(
            (pred, target[:, :1]), {}, "target must have the same shape", "[N,1] vs [N,C]"
        )
        yield Invalid(
            (pred + 0.7, target),
            {},
            "pred must hold probabilities in [0, 1]",
            "prob > 1",
            value_check=True,
        )
        yield Invalid(
            (pred, target + 1.5),
            {},
            "target must hold labels or probabilities",
            "q > 1",
            value_check=True,
        )
        yield Invalid(
            (pred, target - 0.5),
            {},
            "target must hold labels or probabilities",
            "q < 0",
            value_check=True,
        )
        yield Invalid((pred.astype(np.int64), target), {}, "real floating", "int pred")
        yield Invalid((pred, target), {focus: -1.0}, f"{focus} must lie in", f"{focus} < 0")
        yield Invalid((pred, target), {"from_logits": "yes"}, "from_logits", "from_logits str")

    return invalid


def _perfect_dense(sample: Sample) -> Sample:
    """Probabilities equal to hard targets (a perfect box, q = 1, or background) score 0;
    a soft target's minimum is its entropy, not 0, so its anchors become perfect boxes."""
    _pred, target = sample.args
    hard = (target > 0).astype(np.float64)
    kwargs = {k: v for k, v in sample.kwargs.items() if k != "from_logits"}
    return Sample((hard.copy(), hard), kwargs)


# ------------------------------------------------------------ distribution focal


def _distribution_focal_ref(pred, target, *, axis=-1, reduction="mean", weights=None):
    """Li et al. (2020), eq. 6, edge by edge: -((y_{i+1} - y) log S_i + (y - y_i) log S_{i+1})
    with S the softmax over the bins and y_i <= y <= y_{i+1} neighbouring bins."""
    bins = np.moveaxis(pred, axis, -1)
    n = bins.shape[-1] - 1
    flat_logits, flat_y = bins.reshape(-1, n + 1), np.asarray(target, dtype=float).reshape(-1)
    loss = []
    for logits, y in zip(flat_logits, flat_y, strict=True):
        log_s = logits - special.logsumexp(logits)
        i = math.floor(y)
        if i == n:  # the last bin: y_{i+1} - y = 1 on S_n, nothing beyond
            loss.append(-log_s[n])
        else:
            loss.append(-((i + 1 - y) * log_s[i] + (y - i) * log_s[i + 1]))
    return reference_reduce(np.array(loss).reshape(bins.shape[:-1]), reduction, weights)


def _distribution_samples(rng):
    # mmdetection's layout: [edges, n + 1] with n = 16 (its reg_max = 16).
    pred = rng.normal(0, 2, (10, 17))
    target = rng.uniform(0, 16, 10)
    target[:3] = [0.0, 16.0, 7.0]  # both ends and a bin centre
    yield Sample((pred, target), {}, desc="mmdetection layout, n = 16")
    # ultralytics' layout: [anchors, 4 edges, reg_max bins] with reg_max = 16 (n = 15).
    pred = rng.normal(0, 2, (3, 4, 16))
    yield Sample((pred, rng.uniform(0, 15, (3, 4))), {}, desc="ultralytics layout, 16 bins")
    # bins on axis 1 (PyTorch's [N, C, ...] layout), few bins
    pred = rng.normal(0, 1, (2, 5, 4))
    yield Sample((pred, rng.uniform(0, 4, (2, 4))), {"axis": 1}, desc="axis 1, n = 4")
    yield Sample((rng.normal(0, 1, (6, 2)), rng.uniform(0, 1, 6)), {}, desc="two bins")


def _distribution_extremes():
    logits = np.array([[1e4, -1e4, 0.0, -1e4], [-1e4, -1e4, 1e4, 1e4], [0.0, 0.0, -1e4, 1e4]])
    yield Sample((logits, np.array([0.5, 2.0, 3.0])), {}, desc="logits ±1e4")


def _distribution_invalid():
    pred = np.zeros((3, 5))
    yield Invalid(
        (pred, np.array([0.0, 4.5, 1.0])),
        {},
        "target must hold edge distances in [0, n] = [0, 4]",
        "y > n",
        value_check=True,
    )
    yield Invalid((pred, np.array([0.0, -0.5, 1.0])), {}, "in [0, n]", "y < 0", value_check=True)
    yield Invalid(
        (pred, np.array([0.0, np.nan, 1.0])),
        {},
        "found a value outside or NaN",
        "nan y",
        value_check=True,
    )
    yield Invalid((pred, np.zeros((3, 1))), {}, "target must have shape (3,)", "[N,1] target")
    yield Invalid((np.zeros((3, 1)), np.zeros(3)), {}, "at least 2 bins", "one bin")
    yield Invalid((pred.astype(np.int64), np.zeros(3)), {}, "real floating", "int pred")
    yield Invalid((pred, np.zeros(3)), {"axis": 2}, "axis=2 is out of range", "axis")
    yield Invalid((pred, np.zeros(3)), {"axis": 1.0}, "axis must be an int", "float axis")


CASES = [
    LossCase(
        "varifocal",
        losskit.varifocal,
        _varifocal_ref,
        _dense_samples(
            [
                {},
                {"from_logits": True},
                {"from_logits": True, "alpha": 0.25, "gamma": 1.5},
                {"gamma": 0.5},
                {"alpha": 0.0, "gamma": 0.0},
            ]
        ),
        extremes=_dense_extremes,
        invalid=_dense_invalid("alpha"),
        perfect=_perfect_dense,
    ),
    LossCase(
        "quality_focal",
        losskit.quality_focal,
        _quality_focal_ref,
        _dense_samples(
            [{}, {"from_logits": True}, {"from_logits": True, "beta": 1.0}, {"beta": 0.0}]
        ),
        extremes=_dense_extremes,
        invalid=_dense_invalid("beta"),
        perfect=_perfect_dense,
    ),
    LossCase(
        "distribution_focal",
        losskit.distribution_focal,
        _distribution_focal_ref,
        _distribution_samples,
        extremes=_distribution_extremes,
        invalid=_distribution_invalid,
    ),
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
