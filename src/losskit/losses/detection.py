"""Detection losses: overlap of predicted and target bounding boxes, and the dense
detectors' classification and edge-distribution losses (varifocal, quality focal,
distribution focal)."""

from __future__ import annotations

import math
from typing import Any, Literal

from losskit.core.inputs import elementwise_inputs
from losskit.core.namespace import (
    as_float,
    autocast_to_float32,
    namespace,
    require_floating,
    stop_gradient,
)
from losskit.core.options import choice, integer, real
from losskit.core.primitives import gather_classes, log_softmax, weighted_log
from losskit.core.reduction import Reduction, reduce_loss
from losskit.core.registry import register_loss
from losskit.core.validation import (
    check_normalized_axis,
    check_range,
    check_same_shape,
    check_shape,
    check_values,
)
from losskit.errors import LossInputError
from losskit.losses.classification import (
    _binary_log_probs,
    _check_targets_in_unit_interval,
    _focal_modulator,
)
from losskit.losses.shared_options import FOCAL_GAMMA, FROM_LOGITS

__all__ = ["box_iou", "distribution_focal", "quality_focal", "varifocal"]

Array = Any

BOX_IOU_VARIANTS: tuple[str, ...] = ("iou", "giou", "diou", "ciou", "eiou", "siou")
BOX_FORMATS: tuple[str, ...] = ("xyxy", "xywh", "cxcywh")


def _corners(boxes: Array, box_format: str, xp: Any) -> tuple[Array, Array, Array, Array]:
    """(x1, y1, x2, y2) of boxes given in ``box_format``; each [...]."""
    a, b, c, d = (boxes[..., k] for k in range(4))
    if box_format == "xyxy":
        return a, b, c, d
    if box_format == "xywh":
        return a, b, a + c, b + d
    return a - 0.5 * c, b - 0.5 * d, a + 0.5 * c, b + 0.5 * d


def _check_target_boxes(target: Array, box_format: str, xp: Any) -> None:
    """Target boxes must be finite with non-negative width and height."""
    if box_format == "xyxy":

        def bad(t: Array) -> Array:
            return xp.any((t[..., 2] < t[..., 0]) | (t[..., 3] < t[..., 1]))

        what = "x2 >= x1 and y2 >= y1"
    else:

        def bad(t: Array) -> Array:
            return xp.any((t[..., 2] < 0) | (t[..., 3] < 0))

        what = "width and height >= 0"
    check_values(
        target,
        lambda t: xp.any(~xp.isfinite(t)),
        "target boxes must be finite; found inf or NaN",
    )
    check_values(
        target,
        bad,
        f"target boxes in {box_format!r} format must have {what}; found an inverted box",
    )


def _siou_penalty(
    dx: Array,
    dy: Array,
    sides: tuple[Array, Array, Array, Array],
    enclosure: tuple[Array, Array],
    eps: float,
    *,
    xp: Any,
) -> Array:
    """SIoU's distance cost plus shape cost (Gevorgyan, 2022), from the centre offsets
    (dx, dy), the sides (w, h, w_gt, h_gt) and the enclosing box's sides."""
    pw, ph, tw, th = sides
    enclose_w, enclose_h = enclosure
    # Angle cost 1 - 2 sin^2(arcsin(x) - pi/4) = sin(2 arcsin x) = 2 x sqrt(1 - x^2) with
    # x = |dy| / sigma, that is 2 |dx dy| / (dx^2 + dy^2): no arcsin (whose derivative is
    # infinite at x = 1) and no square root of 0.  Its value at coincident centres does not
    # matter (both rho below are 0 there); the floor keeps it finite, at 0.  The angle
    # cost has a kink where the centres line up on an axis (dx dy = 0): |u| is written
    # max(u, -u), whose tie splits the gradient, so the slope there is 0 in every backend
    # (abs has slope +1 at 0 in JAX and 0 in PyTorch).
    cross = dx * dy
    angle = 2.0 * xp.maximum(cross, -cross) / xp.clip(dx**2 + dy**2, eps, None)
    gamma = 2.0 - angle
    rho_x = dx**2 / xp.clip(enclose_w**2, eps, None)
    rho_y = dy**2 / xp.clip(enclose_h**2, eps, None)
    # 1 - exp(-t) as -expm1(-t): exact for the tiny t of nearly aligned centres.
    distance = -xp.expm1(-gamma * rho_x) - xp.expm1(-gamma * rho_y)
    omega_w = xp.abs(pw - tw) / xp.clip(xp.maximum(pw, tw), eps, None)
    omega_h = xp.abs(ph - th) / xp.clip(xp.maximum(ph, th), eps, None)
    shape = (-xp.expm1(-omega_w)) ** 4 + (-xp.expm1(-omega_h)) ** 4
    return distance + shape


@register_loss(
    tasks="detection",
    summary="IoU loss for bounding boxes: 1 - IoU, GIoU, DIoU, CIoU, EIoU or SIoU per box pair.",
    options=(
        choice(
            "variant",
            BOX_IOU_VARIANTS,
            (
                "'iou' (default): 1 - IoU; 'giou': adds the empty share of the enclosing box, a "
                "gradient even without overlap; 'diou': adds the normalised centre distance; 'ciou': "
                "DIoU plus an aspect-ratio term, the usual choice in YOLO models; 'eiou': DIoU plus "
                "the width and height differences over the enclosing box's (Efficient IoU); 'siou': "
                "angle-aware centre distance plus a shape term (SCYLLA-IoU)."
            ),
        ),
        choice(
            "box_format",
            BOX_FORMATS,
            (
                "'xyxy' (default): corners (x1, y1, x2, y2); 'xywh': corner (x1, y1), width, height; "
                "'cxcywh': centre, width, height."
            ),
        ),
        real(
            "eps",
            (
                "small positive floor of every denominator (areas, in squared coordinate units) and "
                "of the width and height in CIoU's aspect ratio; default 1e-7. Boxes whose union is "
                "smaller than eps reach it and are mis-scored (sides under about 3e-4 with the "
                "default): lower it for tiny boxes in normalised coordinates."
            ),
            0.0,
            closed="neither",
        ),
    ),
)
def box_iou(
    pred: Array,
    target: Array,
    *,
    variant: Literal["iou", "giou", "diou", "ciou", "eiou", "siou"] = "iou",
    box_format: Literal["xyxy", "xywh", "cxcywh"] = "xyxy",
    eps: float = 1e-7,
    reduction: Reduction = "mean",
    weights: Array | None = None,
) -> Array:
    r"""IoU loss of matched box pairs: :math:`1 - \mathrm{IoU}` plus the variant's penalty.

    With :math:`I` the intersection area, :math:`U = |B| + |B^{gt}| - I` the union,
    :math:`C` the area of the smallest box enclosing both, :math:`\rho` the distance
    between their centres and :math:`c` the diagonal of the enclosing box:

    .. math::
        \mathrm{IoU} &= \frac{I}{U} \\
        \ell^{\mathrm{iou}} &= 1 - \mathrm{IoU} \\
        \ell^{\mathrm{giou}} &= 1 - \mathrm{IoU} + \frac{C - U}{C} \\
        \ell^{\mathrm{diou}} &= 1 - \mathrm{IoU} + \frac{\rho^2}{c^2} \\
        \ell^{\mathrm{ciou}} &= \ell^{\mathrm{diou}} + \alpha v,\quad
        v = \frac{4}{\pi^2}\Bigl(\arctan\frac{w^{gt}}{h^{gt}} - \arctan\frac{w}{h}\Bigr)^2,\quad
        \alpha = \frac{v}{1 - \mathrm{IoU} + v} \\
        \ell^{\mathrm{eiou}} &= \ell^{\mathrm{diou}} + \frac{(w - w^{gt})^2}{c_w^2}
            + \frac{(h - h^{gt})^2}{c_h^2} \\
        \ell^{\mathrm{siou}} &= 1 - \mathrm{IoU} + \tfrac12(\Delta + \Omega),\quad
        \Delta = \sum_{t \in \{x, y\}} \bigl(1 - e^{-(2 - \Lambda)\rho_t}\bigr),\quad
        \Omega = \sum_{t \in \{w, h\}} \bigl(1 - e^{-\omega_t}\bigr)^4

    with :math:`c_w, c_h` the enclosing box's width and height (:math:`c^2 = c_w^2 + c_h^2`).
    In SIoU, :math:`\rho_x = (d_x / c_w)^2` and :math:`\rho_y = (d_y / c_h)^2` for the centre
    offsets :math:`d_x, d_y`; the angle cost
    :math:`\Lambda = 1 - 2\sin^2(\arcsin(|d_y| / \sigma) - \pi/4) = 2|d_x d_y| / \sigma^2`,
    :math:`\sigma^2 = d_x^2 + d_y^2`, is 0 when the centres line up along an axis and 1 on the diagonal; and
    :math:`\omega_w = |w - w^{gt}| / \max(w, w^{gt})` (likewise for :math:`h`).  The shape
    exponent is the paper's :math:`\theta = 4`, and the distance cost follows the paper's
    :math:`e^{-(2 - \Lambda)\rho}` (mmdetection's default ``neg_gamma=False`` uses
    :math:`e^{+(2 - \Lambda)\rho}`; see the conventions page).

    Every denominator is floored at :math:`\epsilon` (``eps``), so identical boxes score
    exactly 0 and boxes without area divide 0 by :math:`\epsilon`.  The floor is in
    squared coordinate units: a pair whose union is below :math:`\epsilon` (sides under
    about :math:`3 \cdot 10^{-4}` with the default) is scored against the floor, not its
    real union, so lower ``eps`` for such tiny boxes.  As in the CIoU
    paper's code and torchvision, :math:`\alpha` is a constant for the gradient (it is
    not differentiated).

    Degenerate boxes give a finite loss and gradient: a predicted box with inverted
    corners (``x2 < x1``) or negative size is empty (width clipped at 0), a zero-area box
    has IoU 0, and the aspect ratio uses widths and heights of at least ``eps``.  Such a
    box gets no gradient from its overlap: DIoU and CIoU move it through its centre (not
    when the centres coincide), GIoU only while its corners reach outside the target's
    span, so keep predicted boxes valid by construction (positive sizes).  Target
    boxes must be finite and not inverted (a :class:`~losskit.LossInputError` otherwise).
    16-bit inputs are computed in float32 (box areas overflow float16) and the loss is
    returned in their dtype.

    Args:
        pred: predicted boxes ``[..., 4]`` in ``box_format``.
        target: target boxes of ``pred``'s shape, matched one to one.
        variant: ``"iou"`` (default), ``"giou"``, ``"diou"``, ``"ciou"``, ``"eiou"`` or
            ``"siou"``.
        box_format: ``"xyxy"`` (x1, y1, x2, y2; default), ``"xywh"`` (x1, y1, w, h) or
            ``"cxcywh"`` (centre x, centre y, w, h).
        eps: :math:`\epsilon > 0`, the floor of every denominator and of the sides in
            CIoU's aspect ratio.
        {reduction}

    Returns:
        The reduced loss, or for ``"none"`` one loss per box pair, ``pred``'s shape
        without the last axis.

    Examples:
        >>> import numpy as np, losskit
        >>> pred, target = np.array([[0.0, 0.0, 2.0, 2.0]]), np.array([[1.0, 0.0, 3.0, 2.0]])
        >>> round(float(losskit.box_iou(pred, target)), 4)  # IoU = 2 / 6
        0.6667
        >>> round(float(losskit.box_iou(pred, target, variant="giou")), 4)
        0.6667
        >>> round(float(losskit.box_iou(pred, target, variant="diou")), 4)  # + 1 / 13
        0.7436
        >>> round(float(losskit.box_iou(pred, target, variant="eiou")), 4)  # sizes equal
        0.7436
    """
    xp = namespace(pred=pred, target=target)
    require_floating(pred, "pred", xp)
    check_same_shape(pred, target)
    if pred.ndim == 0 or pred.shape[-1] != 4:
        raise LossInputError(
            f"pred must hold boxes on its last axis, shape [..., 4]; got {tuple(pred.shape)}"
        )
    target = as_float(target, pred, "target", xp)
    _check_target_boxes(target, box_format, xp)
    out_dtype = pred.dtype
    if xp.finfo(pred.dtype).bits < 32:
        # Areas overflow float16 (max 65504) for boxes larger than about 256 pixels.
        pred, target = xp.astype(pred, xp.float32), xp.astype(target, xp.float32)

    px1, py1, px2, py2 = _corners(pred, box_format, xp)
    tx1, ty1, tx2, ty2 = _corners(target, box_format, xp)
    # An inverted predicted box is empty: its width and height are clipped at 0.
    pw, ph = xp.clip(px2 - px1, 0.0, None), xp.clip(py2 - py1, 0.0, None)
    tw, th = xp.clip(tx2 - tx1, 0.0, None), xp.clip(ty2 - ty1, 0.0, None)
    inter_w = xp.clip(xp.minimum(px2, tx2) - xp.maximum(px1, tx1), 0.0, None)
    inter_h = xp.clip(xp.minimum(py2, ty2) - xp.maximum(py1, ty1), 0.0, None)
    inter = inter_w * inter_h
    union = pw * ph + tw * th - inter
    # Denominators are floored at eps: exact ratios for real boxes, and 0 / eps = 0 for
    # boxes without area.
    iou = inter / xp.clip(union, eps, None)
    loss = 1.0 - iou
    if variant != "iou":
        enclose_w = xp.clip(xp.maximum(px2, tx2) - xp.minimum(px1, tx1), 0.0, None)
        enclose_h = xp.clip(xp.maximum(py2, ty2) - xp.minimum(py1, ty1), 0.0, None)
    if variant == "giou":
        enclosure = enclose_w * enclose_h
        loss = loss + (enclosure - union) / xp.clip(enclosure, eps, None)
    elif variant in ("diou", "ciou", "eiou"):
        centre_distance2 = ((px1 + px2) - (tx1 + tx2)) ** 2 / 4 + (
            (py1 + py2) - (ty1 + ty2)
        ) ** 2 / 4
        diagonal2 = enclose_w**2 + enclose_h**2
        loss = loss + centre_distance2 / xp.clip(diagonal2, eps, None)
        if variant == "eiou":
            # Zhang et al.'s side terms: each side's error over the enclosing box's side.
            loss = loss + (pw - tw) ** 2 / xp.clip(enclose_w**2, eps, None)
            loss = loss + (ph - th) ** 2 / xp.clip(enclose_h**2, eps, None)
        if variant == "ciou":
            # atan(w / h) with both sides at least eps: finite value and gradient for
            # zero-size boxes (atan2(0, 0) has no derivative).
            angle_t = xp.atan(xp.clip(tw, eps, None) / xp.clip(th, eps, None))
            angle_p = xp.atan(xp.clip(pw, eps, None) / xp.clip(ph, eps, None))
            v = (4.0 / math.pi**2) * (angle_t - angle_p) ** 2
            alpha = stop_gradient(v / xp.clip(1.0 - iou + v, eps, None), xp)
            loss = loss + alpha * v
    elif variant == "siou":
        loss = loss + 0.5 * _siou_penalty(
            (px1 + px2 - tx1 - tx2) / 2,
            (py1 + py2 - ty1 - ty2) / 2,
            (pw, ph, tw, th),
            (enclose_w, enclose_h),
            eps,
            xp=xp,
        )
    out = reduce_loss(loss, reduction=reduction, weights=weights, xp=xp)
    return out if out.dtype == out_dtype else xp.astype(out, out_dtype)


# ------------------------------------------------------- dense-detection classification


def _soft_binary_cross_entropy(
    pred: Array, target: Array, from_logits: bool, *, xp: Any
) -> tuple[Array, Array]:
    """(BCE(p, q) element by element, p) for a soft target q in [0, 1].

    Through the log-probabilities (log-sigmoid for logits): exact for any finite logit,
    and a target of exactly 0 or 1 leaves the other log out (0 log 0 = 0).
    """
    log_p, log_not_p = _binary_log_probs(pred, from_logits, xp=xp)
    cross_entropy = -(
        weighted_log(target, log_p, xp=xp) + weighted_log(1.0 - target, log_not_p, xp=xp)
    )
    return cross_entropy, xp.exp(log_p)


@register_loss(
    tasks="detection",
    summary=(
        "Varifocal loss (VarifocalNet): BCE against an IoU-aware score, focal down-weighting "
        "of negatives only."
    ),
    options=(
        real(
            "alpha",
            (
                "weight of the negatives' focal term, >= 0; default 0.75 (the paper's, "
                "mmdetection's and ultralytics'). Positives are weighted by their target q."
            ),
            0.0,
        ),
        FOCAL_GAMMA,
        FROM_LOGITS,
    ),
)
def varifocal(
    pred: Array,
    target: Array,
    *,
    alpha: float = 0.75,
    gamma: float = 2.0,
    from_logits: bool = False,
    reduction: Reduction = "mean",
    weights: Array | None = None,
) -> Array:
    r"""Varifocal loss (Zhang et al., 2021), element by element.

    .. math::
        \ell_i = \begin{cases}
            -q_i\bigl(q_i \log p_i + (1 - q_i)\log(1 - p_i)\bigr) & q_i > 0 \\
            -\alpha\, p_i^\gamma \log(1 - p_i) & q_i = 0
        \end{cases}

    with :math:`q` the IoU-aware classification target: for each anchor the IoU of its
    predicted box with the ground truth at the ground-truth class, 0 at every other class
    and for background anchors.  Positives are weighted by their own target (high-quality
    examples count more) and never down-weighted; only negatives get the focal factor
    :math:`p^\gamma`.  This is mmdetection's ``varifocal_loss`` with
    ``iou_weighted=True`` and ultralytics' ``VarifocalLoss`` with ``label = (q > 0)``.

    The loss of one element is :math:`O(|x|)` for a logit :math:`x` (a confident wrong
    negative with :math:`x = 10^4` scores :math:`\alpha \cdot 10^4`), computed exactly
    through log-sigmoid, never inf.  Detectors sum over classes and anchors and divide by
    the number of positives (mmdetection's ``avg_factor``, ultralytics' target-score sum);
    here that is ``reduction="sum"`` divided by that count (see the conventions page).

    Args:
        pred: probabilities in [0, 1], or logits with ``from_logits=True``; any shape,
            usually ``[N, C]`` (anchors by classes).
        target: IoU-aware scores :math:`q \in [0, 1]`, the same shape as ``pred``.
        alpha: weight :math:`\alpha \ge 0` of the negatives.
        gamma: focusing parameter :math:`\gamma \ge 0` of the negatives.
        from_logits: whether ``pred`` holds logits.
        {reduction}

    Returns:
        The reduced loss, or the per-element loss of ``pred``'s shape for ``"none"``.

    Examples:
        >>> import numpy as np, losskit
        >>> pred, q = np.array([0.8, 0.3]), np.array([0.9, 0.0])
        >>> losskit.varifocal(pred, q, reduction="none").round(4)  # 0.9 BCE; 0.75 0.09 BCE
        array([0.3256, 0.0241])
    """
    xp, pred, target = elementwise_inputs(pred, target, nan_check="range")
    _check_targets_in_unit_interval(target, xp)
    cross_entropy, p = _soft_binary_cross_entropy(pred, target, from_logits, xp=xp)
    # q on positives, alpha p^gamma on negatives (q = 0); both branches are finite.
    weight = xp.where(target > 0, target, alpha * _focal_modulator(p, gamma, xp=xp))
    return reduce_loss(weight * cross_entropy, reduction=reduction, weights=weights, xp=xp)


@register_loss(
    tasks="detection",
    summary=("Quality focal loss (GFL): BCE against a soft IoU score, scaled by |q - p|^beta."),
    options=(
        real(
            "beta",
            (
                "focusing parameter >= 0 of the modulating factor |q - p|^beta; 2.0 "
                "(default) is the paper's best and mmdetection's default; 0 gives BCE."
            ),
            0.0,
        ),
        FROM_LOGITS,
    ),
)
def quality_focal(
    pred: Array,
    target: Array,
    *,
    beta: float = 2.0,
    from_logits: bool = False,
    reduction: Reduction = "mean",
    weights: Array | None = None,
) -> Array:
    r"""Quality focal loss (Li et al., 2020), element by element.

    .. math::
        \ell_i = -|q_i - p_i|^\beta\,\bigl(q_i \log p_i + (1 - q_i)\log(1 - p_i)\bigr)

    with :math:`q` the joint classification-quality target: the IoU of the anchor's
    predicted box with its ground truth at the ground-truth class, 0 elsewhere.  It is the
    focal loss extended to a soft target: the factor :math:`|q - p|^\beta` is 0 where the
    prediction matches its target, on positives and negatives alike (varifocal instead
    keeps positives at full weight).  mmdetection takes the target as a pair (class
    label, score) and builds this dense :math:`q`; to do the same, put the score at the
    label's class of a zero array (nothing for background anchors).

    The loss is :math:`O(|x|)` for a logit :math:`x`, computed through log-sigmoid:
    finite with a finite gradient for any finite logit.  Detectors divide the sum by the
    number of positives (mmdetection's ``avg_factor``): ``reduction="sum"`` divided by that
    count (see the conventions page).

    Args:
        pred: probabilities in [0, 1], or logits with ``from_logits=True``; any shape,
            usually ``[N, C]``.
        target: soft scores :math:`q \in [0, 1]`, the same shape as ``pred``.
        beta: focusing parameter :math:`\beta \ge 0`.
        from_logits: whether ``pred`` holds logits.
        {reduction}

    Returns:
        The reduced loss, or the per-element loss of ``pred``'s shape for ``"none"``.

    Examples:
        >>> import numpy as np, losskit
        >>> pred, q = np.array([0.8, 0.3]), np.array([0.9, 0.0])
        >>> losskit.quality_focal(pred, q, reduction="none").round(4)  # 0.1^2 BCE; 0.3^2 BCE
        array([0.0036, 0.0321])
    """
    xp, pred, target = elementwise_inputs(pred, target, nan_check="range")
    _check_targets_in_unit_interval(target, xp)
    cross_entropy, p = _soft_binary_cross_entropy(pred, target, from_logits, xp=xp)
    loss = _focal_modulator(xp.abs(target - p), beta, xp=xp) * cross_entropy
    return reduce_loss(loss, reduction=reduction, weights=weights, xp=xp)


# ------------------------------------------------------------- box edges as distributions


@register_loss(
    tasks="detection",
    summary=(
        "Distribution focal loss (GFL): cross-entropy of a discretised box edge against "
        "the two bins around its continuous target."
    ),
    options=(
        integer(
            "axis",
            (
                "the bin axis of pred, holding the n + 1 logits of one box edge: -1 "
                "(default), as both mmdetection's [N, n + 1] and ultralytics' [N, 4, n + 1] "
                "layouts."
            ),
        ),
    ),
)
def distribution_focal(
    pred: Array,
    target: Array,
    *,
    axis: int = -1,
    reduction: Reduction = "mean",
    weights: Array | None = None,
) -> Array:
    r"""Distribution focal loss (Li et al., 2020) of box edges predicted as distributions.

    Each box edge (its distance from the anchor point, in units of the stride) is
    predicted as logits over the bins :math:`0, 1, \dots, n` on ``axis``; with
    :math:`S = \mathrm{softmax}` of those logits and the continuous target
    :math:`y \in [0, n]` between the bins :math:`y_i = \lfloor y \rfloor` and
    :math:`y_{i+1} = y_i + 1`:

    .. math::
        \ell = -\bigl((y_{i+1} - y)\log S_{y_i} + (y - y_i)\log S_{y_{i+1}}\bigr)

    the cross-entropy against the two-hot distribution whose mean is :math:`y`.  Its
    minimum is where :math:`S` puts all its mass on those two bins in those proportions.
    A target of exactly :math:`n` uses the bins :math:`n - 1, n` (weight 0 on the first),
    so it scores :math:`-\log S_n`; mmdetection would index a bin :math:`n + 1` there,
    and ultralytics clamps every target to :math:`n - 0.01` first.

    ``n + 1`` is the number of bins: mmdetection's ``reg_max`` is :math:`n` (16 gives 17
    bins), ultralytics' ``reg_max`` is the number of bins (16 gives :math:`n = 15`).
    Targets must lie in :math:`[0, n]`, a :class:`~losskit.LossInputError` otherwise (clamp
    the distances yourself to reproduce ultralytics).  Computed through log-softmax, the
    loss and gradient are finite for any finite logits.

    Args:
        pred: logits ``[..., n + 1]`` (bins on ``axis``), one distribution per box edge;
            ``n >= 1``.
        target: continuous edge distances in ``[0, n]``, ``pred``'s shape without
            ``axis``.
        axis: the bin axis of ``pred``.
        {reduction}

    Returns:
        The reduced loss, or one loss per edge (``pred``'s shape without ``axis``) for
        ``"none"``.

    Examples:
        >>> import numpy as np, losskit
        >>> logits = np.log(np.array([[0.1, 0.6, 0.3]]))  # S over the bins 0, 1, 2
        >>> y = np.array([1.25])  # 0.75 on bin 1, 0.25 on bin 2
        >>> round(float(losskit.distribution_focal(logits, y)), 4)  # -(0.75 log .6 + .25 log .3)
        0.6841
    """
    xp = namespace(pred=pred, target=target)
    require_floating(pred, "pred", xp)
    pred = autocast_to_float32(pred, xp)  # a cross-entropy: float32 under autocast
    if pred.ndim == 0:
        raise LossInputError("pred must have a bin axis; got a 0-d array")
    axis = check_normalized_axis(axis, pred.ndim)
    num_bins = pred.shape[axis]
    if num_bins < 2:
        raise LossInputError(
            f"pred must have at least 2 bins (n + 1 with n >= 1) on axis {axis}; got shape "
            f"{tuple(pred.shape)}"
        )
    expected = tuple(size for i, size in enumerate(pred.shape) if i != axis)
    check_shape(target, expected, "target", f"pred's shape {tuple(pred.shape)} without axis {axis}")
    target = as_float(target, pred, "target", xp)
    n = num_bins - 1
    check_range(
        target,
        0.0,
        float(n),
        f"target must hold edge distances in [0, n] = [0, {n}] (pred has {num_bins} bins on "
        f"axis {axis}); found a value outside or NaN. Clamp the distances (ultralytics clamps "
        f"to n - 0.01) or give pred more bins",
        xp,
    )
    # The left bin floor(y), at most n - 1 so that y = n takes the bins n - 1 and n with
    # weight 0 on the first.
    left = xp.clip(xp.floor(target), 0.0, float(n - 1))
    weight_right = target - left
    log_p = log_softmax(pred, axis=axis, xp=xp)
    log_left = gather_classes(log_p, left, axis=axis, xp=xp)
    log_right = gather_classes(log_p, left + 1.0, axis=axis, xp=xp)
    # weighted_log: a bin of weight 0 whose logit is -inf contributes 0, not NaN.
    loss = -(
        weighted_log(1.0 - weight_right, log_left, xp=xp)
        + weighted_log(weight_right, log_right, xp=xp)
    )
    return reduce_loss(loss, reduction=reduction, weights=weights, xp=xp)
