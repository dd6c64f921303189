"""The conventions of the segmentation, detection and GAN losses (docs/conventions.md).

The test table checks values, gradients and backends; these tests pin down the
documented conventions themselves: empty masks, per-sample versus whole-batch
statistics, smoothing, class weights, label forms, CIoU's gradient and the relations
between the losses.
"""

from __future__ import annotations

import math
import pathlib
import re

import numpy as np
import pytest
from scipy import special

import losskit
from array_backends import HAS_JAX, HAS_TORCH
from losskit.core import registry

OVERLAP = [losskit.dice, losskit.jaccard, losskit.tversky, losskit.focal_tversky]
needs_torch = pytest.mark.skipif(not HAS_TORCH, reason="torch not installed")
needs_jax = pytest.mark.skipif(not HAS_JAX, reason="jax not installed")


def _one_hot(labels, num_classes, axis):
    return np.moveaxis(np.eye(num_classes)[labels], -1, axis)


# ------------------------------------------------------------------ empty masks


@needs_torch
@pytest.mark.parametrize("loss", OVERLAP, ids=lambda f: f.__name__)
def test_empty_prediction_on_empty_target_scores_zero_and_pushes_false_positives_down(loss):
    import torch

    empty = torch.zeros(2, 6, dtype=torch.float64, requires_grad=True)
    value = loss(empty, torch.zeros(2, 6, dtype=torch.float64))
    value.backward()
    assert value.item() == 0.0
    # Raising any probability raises the loss: the gradient points towards empty.  The
    # focal power flattens the slope at a perfect score to 0 (documented).
    if loss is losskit.focal_tversky:
        assert torch.all(empty.grad == 0)
    else:
        assert torch.all(empty.grad > 0)

    # A prediction that is not empty on the empty target: positive loss, same direction.
    spurious = torch.full((2, 6), 0.3, dtype=torch.float64, requires_grad=True)
    value = loss(spurious, torch.zeros(2, 6, dtype=torch.float64))
    value.backward()
    assert value.item() > 0.0
    assert torch.all(spurious.grad > 0)


@needs_torch
def test_empty_masks_from_logits_keep_a_gradient_on_every_pixel():
    import torch

    logits = torch.full((1, 3, 8), -6.0, dtype=torch.float64, requires_grad=True)
    value = losskit.dice(logits, torch.zeros(1, 3, 8), from_logits=True)
    value.backward()
    assert 0.0 < value.item() < 0.1  # P / (P + 1) with P = 24 sigmoid(-6)
    assert torch.all(logits.grad > 0)


@needs_torch
def test_zero_smoothing_scores_empty_on_empty_as_zero_with_finite_gradient():
    import torch

    pred = torch.zeros(1, 4, dtype=torch.float64, requires_grad=True)
    value = losskit.dice(pred, torch.zeros(1, 4), smooth=0.0)
    value.backward()
    assert value.item() == 0.0
    assert torch.all(torch.isfinite(pred.grad))


def test_absent_class_predicted_empty_scores_zero_in_lovasz_softmax():
    # Class 2 is absent from the target and has probability 0 everywhere.
    probs = np.array([[[0.7, 0.3, 0.0], [0.2, 0.8, 0.0], [0.6, 0.4, 0.0]]])
    per_class = losskit.lovasz_softmax(probs, np.array([[0, 1, 0]]), reduction="none")
    assert per_class[0, 2] == 0.0
    # With some probability on the absent class it scores the largest one.
    probs = np.array([[[0.6, 0.3, 0.1], [0.2, 0.5, 0.3], [0.6, 0.4, 0.0]]])
    per_class = losskit.lovasz_softmax(probs, np.array([[0, 1, 0]]), reduction="none")
    assert per_class[0, 2] == pytest.approx(0.3)


# ------------------------------------------------------- batch versus per sample


def test_per_sample_statistics_weigh_every_sample_equally_and_batch_pools_them():
    rng = np.random.default_rng(0)
    big = rng.uniform(0, 1, (1, 100))
    small = np.zeros((1, 100))
    small[0, :3] = 0.9
    pred = np.concatenate([big, small])
    target = np.zeros((2, 100))
    target[0, :60] = 1.0
    target[1, :4] = 1.0
    per_sample = losskit.dice(pred, target, smooth=0.0, reduction="none")
    assert per_sample.shape == (2,)
    for i in range(2):
        assert per_sample[i] == pytest.approx(
            float(losskit.dice(pred[i : i + 1], target[i : i + 1], smooth=0.0))
        )
    assert float(losskit.dice(pred, target, smooth=0.0)) == pytest.approx(per_sample.mean())
    pooled = losskit.dice(pred, target, smooth=0.0, batch=True)
    flat = losskit.dice(pred.reshape(1, -1), target.reshape(1, -1), smooth=0.0)
    assert float(pooled) == pytest.approx(float(flat))
    assert float(pooled) != pytest.approx(per_sample.mean())


def test_unreduced_shapes_per_mode():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(4, 3, 5, 6))
    labels = rng.integers(0, 3, (4, 5, 6))
    for loss in [*OVERLAP, losskit.lovasz_softmax]:
        assert loss(logits, labels, axis=1, from_logits=True, reduction="none").shape == (4, 3)
        assert loss(
            logits, labels, axis=1, from_logits=True, batch=True, reduction="none"
        ).shape == (3,)
    masks = rng.integers(0, 2, (4, 5, 6)).astype(float)
    for loss in OVERLAP:
        assert loss(logits[:, 0], masks, from_logits=True, reduction="none").shape == (4,)
        assert loss(logits[:, 0], masks, from_logits=True, batch=True, reduction="none").shape == ()
    assert losskit.lovasz_hinge(logits[:, 0], masks, reduction="none").shape == (4,)
    assert losskit.lovasz_hinge(logits[:, 0], masks, batch=True, reduction="none").shape == ()


# ----------------------------------------------------------------- label forms


@pytest.mark.parametrize("loss", [*OVERLAP, losskit.lovasz_softmax], ids=lambda f: f.__name__)
def test_integer_labels_equal_one_hot_targets(loss):
    rng = np.random.default_rng(2)
    logits = rng.normal(size=(2, 4, 3, 5))
    labels = rng.integers(0, 4, (2, 3, 5))
    kwargs = {"axis": 1, "from_logits": True, "reduction": "none"}
    np.testing.assert_allclose(
        loss(logits, labels, **kwargs),
        loss(logits, _one_hot(labels, 4, axis=1), **kwargs),
        rtol=1e-12,
    )


@pytest.mark.parametrize("loss", [*OVERLAP, losskit.lovasz_softmax], ids=lambda f: f.__name__)
def test_ignored_positions_are_the_same_as_absent_positions(loss):
    rng = np.random.default_rng(3)
    probs = special.softmax(rng.normal(size=(1, 3, 10)), axis=1)
    labels = rng.integers(0, 3, (1, 10))
    ignored = labels.copy()
    ignored[0, [2, 7]] = 99
    keep = np.ones(10, dtype=bool)
    keep[[2, 7]] = False
    np.testing.assert_allclose(
        loss(probs, ignored, axis=1, ignore_index=99, reduction="none"),
        loss(probs[..., keep], labels[..., keep], axis=1, reduction="none"),
        rtol=1e-12,
    )


def test_multi_label_per_class_scores_with_probabilities_and_an_axis():
    rng = np.random.default_rng(4)
    probs = special.expit(rng.normal(size=(2, 3, 7)))  # three independent labels
    masks = rng.integers(0, 2, (2, 3, 7)).astype(float)
    per_label = losskit.dice(probs, masks, axis=1, reduction="none")
    for c in range(3):
        np.testing.assert_allclose(
            per_label[:, c], losskit.dice(probs[:, c], masks[:, c], reduction="none")
        )


# -------------------------------------------------------------- class options


def test_uniform_class_weights_change_nothing_and_exclude_class_drops_one():
    rng = np.random.default_rng(5)
    logits = rng.normal(size=(3, 4, 6))
    labels = rng.integers(0, 4, (3, 6))
    kwargs = {"axis": 1, "from_logits": True}
    plain = float(losskit.dice(logits, labels, **kwargs))
    assert float(losskit.dice(logits, labels, class_weights=[2.0] * 4, **kwargs)) == pytest.approx(
        plain
    )
    none = losskit.dice(logits, labels, reduction="none", **kwargs)
    dropped = losskit.dice(logits, labels, exclude_class=0, reduction="none", **kwargs)
    assert np.all(dropped[:, 0] == 0) and np.allclose(dropped[:, 1:], none[:, 1:])
    assert float(losskit.dice(logits, labels, exclude_class=0, **kwargs)) == pytest.approx(
        none[:, 1:].mean()
    )
    weighted = float(losskit.dice(logits, labels, class_weights=[0, 1, 1, 2.0], **kwargs))
    assert weighted == pytest.approx((none[:, 1:3].sum() + 2 * none[:, 3].sum()) / (3 * 4))


# --------------------------------------------------------- relations, smoothing


def test_tversky_special_cases():
    rng = np.random.default_rng(6)
    probs = rng.uniform(0, 1, (3, 8))
    masks = rng.integers(0, 2, (3, 8)).astype(float)
    none = {"reduction": "none"}
    np.testing.assert_allclose(
        losskit.tversky(probs, masks, alpha=1.0, beta=1.0, smooth=0.7, **none),
        losskit.jaccard(probs, masks, smooth=0.7, **none),
    )
    # (I + s) / (I + FP/2 + FN/2 + s) = (2I + 2s) / (P + T + 2s): Dice with twice the smoothing.
    np.testing.assert_allclose(
        losskit.tversky(probs, masks, smooth=0.5, **none),
        losskit.dice(probs, masks, smooth=1.0, **none),
    )
    np.testing.assert_allclose(
        losskit.focal_tversky(probs, masks, gamma=1.0, alpha=0.3, beta=0.7, **none),
        losskit.tversky(probs, masks, alpha=0.3, beta=0.7, **none),
    )
    np.testing.assert_allclose(
        losskit.focal_tversky(probs, masks, gamma=2.0, **none),
        losskit.tversky(probs, masks, **none) ** 2,
    )


def test_smoothing_formula_of_dice():
    pred = np.array([[0.9, 0.8, 0.1, 0.0]])
    target = np.array([[1.0, 1.0, 0.0, 0.0]])
    intersection, p_sum, t_sum = 1.7, 1.8, 2.0
    for s in (0.0, 1.0, 10.0):
        expected = 1 - (2 * intersection + s) / (p_sum + t_sum + s)
        assert float(losskit.dice(pred, target, smooth=s)) == pytest.approx(expected)


def test_half_precision_masks_larger_than_float16_sums():
    rng = np.random.default_rng(7)
    probs = rng.uniform(0, 1, (1, 300, 300))
    masks = (rng.uniform(0, 1, (1, 300, 300)) > 0.3).astype(float)  # ~63000 foreground
    exact = float(losskit.dice(probs, masks))
    half = losskit.dice(probs.astype(np.float16), masks.astype(np.float16))
    assert half.dtype == np.float16
    assert float(half) == pytest.approx(exact, rel=1e-2)


# ------------------------------------------------------------------- boxes


def _ciou_pieces(pred, target, eps=1e-7):
    """(1 - IoU + rho^2 / c^2, v, alpha) of xyxy boxes, in NumPy."""
    iw = np.clip(
        np.minimum(pred[:, 2], target[:, 2]) - np.maximum(pred[:, 0], target[:, 0]), 0, None
    )
    ih = np.clip(
        np.minimum(pred[:, 3], target[:, 3]) - np.maximum(pred[:, 1], target[:, 1]), 0, None
    )
    pw, ph = pred[:, 2] - pred[:, 0], pred[:, 3] - pred[:, 1]
    tw, th = target[:, 2] - target[:, 0], target[:, 3] - target[:, 1]
    union = pw * ph + tw * th - iw * ih
    iou = iw * ih / union
    cw = np.maximum(pred[:, 2], target[:, 2]) - np.minimum(pred[:, 0], target[:, 0])
    ch = np.maximum(pred[:, 3], target[:, 3]) - np.minimum(pred[:, 1], target[:, 1])
    centre = (
        (pred[:, 0] + pred[:, 2] - target[:, 0] - target[:, 2]) ** 2
        + (pred[:, 1] + pred[:, 3] - target[:, 1] - target[:, 3]) ** 2
    ) / 4
    v = 4 / math.pi**2 * (np.arctan(tw / th) - np.arctan(pw / ph)) ** 2
    return 1 - iou + centre / (cw**2 + ch**2), v, v / (1 - iou + v)


@needs_torch
def test_ciou_gradient_holds_alpha_constant():
    import torch

    rng = np.random.default_rng(8)
    target = np.concatenate([c := rng.uniform(0, 5, (4, 2)), c + rng.uniform(1, 4, (4, 2))], axis=1)
    pred = target + rng.normal(0, 0.5, target.shape)
    x = torch.tensor(pred, requires_grad=True)
    losskit.box_iou(x, torch.tensor(target), variant="ciou", reduction="sum").backward()
    _, _, alpha = _ciou_pieces(pred, target)

    def held(p):  # the CIoU loss with alpha fixed at its value at pred
        diou, v, _ = _ciou_pieces(p, target)
        return float(np.sum(diou + alpha * v))

    h = 1e-6
    numeric = np.zeros_like(pred)
    for idx in np.ndindex(pred.shape):
        step = np.zeros_like(pred)
        step[idx] = h
        numeric[idx] = (held(pred + step) - held(pred - step)) / (2 * h)
    np.testing.assert_allclose(x.grad.numpy(), numeric, rtol=1e-5, atol=1e-7)
    # and it differs from the gradient of the whole expression (alpha differentiated)
    assert not np.allclose(x.grad.numpy(), _full_ciou_gradient(pred, target), rtol=1e-3)


def _full_ciou_gradient(pred, target, h=1e-6):
    def full(p):
        diou, v, alpha = _ciou_pieces(p, target)
        return float(np.sum(diou + alpha * v))

    grad = np.zeros_like(pred)
    for idx in np.ndindex(pred.shape):
        step = np.zeros_like(pred)
        step[idx] = h
        grad[idx] = (full(pred + step) - full(pred - step)) / (2 * h)
    return grad


@pytest.mark.parametrize("box_format", ["xyxy", "xywh", "cxcywh"])
def test_box_formats_describe_the_same_boxes(box_format):
    xyxy_pred = np.array([[1.0, 2.0, 4.0, 6.0], [0.0, 0.0, 1.0, 1.0]])
    xyxy_target = np.array([[2.0, 1.0, 5.0, 5.0], [0.5, 0.5, 3.0, 2.0]])

    def convert(b):
        if box_format == "xyxy":
            return b
        w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
        if box_format == "xywh":
            return np.stack([b[:, 0], b[:, 1], w, h], axis=1)
        return np.stack([b[:, 0] + w / 2, b[:, 1] + h / 2, w, h], axis=1)

    for variant in ("iou", "giou", "diou", "ciou", "eiou", "siou"):
        np.testing.assert_allclose(
            losskit.box_iou(
                convert(xyxy_pred),
                convert(xyxy_target),
                variant=variant,
                box_format=box_format,
                reduction="none",
            ),
            losskit.box_iou(xyxy_pred, xyxy_target, variant=variant, reduction="none"),
        )


def test_giou_of_disjoint_boxes_exceeds_one_and_identical_boxes_score_zero():
    a = np.array([[0.0, 0.0, 1.0, 1.0]])
    b = np.array([[2.0, 0.0, 3.0, 1.0]])
    assert float(losskit.box_iou(a, b, variant="iou")) == 1.0
    assert float(losskit.box_iou(a, b, variant="giou")) == pytest.approx(1 + 1 / 3)
    for variant in ("iou", "giou", "diou", "ciou", "eiou", "siou"):
        assert float(losskit.box_iou(b, b, variant=variant)) == 0.0


def test_eiou_equals_diou_for_boxes_of_equal_size_and_siou_is_not_clamped():
    a = np.array([[0.0, 0.0, 2.0, 2.0], [0.0, 0.0, 1.0, 1.0]])
    b = np.array([[1.0, 0.5, 3.0, 2.5], [50.0, 0.0, 52.0, 3.0]])
    eiou = losskit.box_iou(a, b, variant="eiou", reduction="none")
    diou = losskit.box_iou(a, b, variant="diou", reduction="none")
    assert eiou[0] == pytest.approx(diou[0])  # same sides: no side terms
    assert eiou[1] > diou[1]
    # Far apart and of different shapes: 1 - IoU = 1 plus half the costs, which stay below
    # 2 (1 - e^-2) (rho <= 1, rate 2 - angle <= 2) and 2 (1 - e^-1)^4 (omega <= 1).
    siou = losskit.box_iou(a, b, variant="siou", reduction="none")
    assert 1.5 < siou[1] < 1 + 0.5 * (2 * (1 - np.exp(-2)) + 2 * (1 - np.exp(-1)) ** 4)


def test_siou_prefers_centres_aligned_on_an_axis():
    # Same sizes, centres 5 apart: along an axis the angle cost is 0 (rate 2 - angle = 2 on
    # one offset, none on the other); on the diagonal it is 1 (rate 1 on both offsets).
    pred = np.array([[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 1.0]])
    d = 5 / np.sqrt(2)
    target = np.array([[5.0, 0.0, 6.0, 1.0], [d, d, d + 1, d + 1]])
    siou = losskit.box_iou(pred, target, variant="siou", reduction="none")
    # along x: 1 - exp(-2 rho_x); diagonal: 2 (1 - exp(-rho)) with the enclosure's sides
    rho_axis = 5.0**2 / 6.0**2
    rho_diag = d**2 / (d + 1) ** 2
    assert siou[0] == pytest.approx(1 + 0.5 * (1 - np.exp(-2 * rho_axis)))
    assert siou[1] == pytest.approx(1 + (1 - np.exp(-rho_diag)))


def test_distribution_focal_at_the_last_bin_and_ultralytics_clamp():
    logits = np.array([[0.3, -1.0, 2.0, 0.5]])  # n = 3
    log_s = logits - np.log(np.exp(logits).sum())
    assert float(losskit.distribution_focal(logits, np.array([3.0]))) == pytest.approx(-log_s[0, 3])
    # ultralytics clamps y to n - 0.01 first: 0.01 of the weight on bin n - 1
    clamped = float(losskit.distribution_focal(logits, np.array([2.99])))
    assert clamped == pytest.approx(-(0.01 * log_s[0, 2] + 0.99 * log_s[0, 3]))
    with pytest.raises(losskit.LossInputError, match="ultralytics clamps"):
        losskit.distribution_focal(logits, np.array([3.5]))


def test_varifocal_keeps_positives_at_full_weight_where_quality_focal_scales_them():
    p, q = np.array([0.9]), np.array([0.9])
    bce = -(0.9 * np.log(0.9) + 0.1 * np.log(0.1))
    assert float(losskit.varifocal(p, q)) == pytest.approx(0.9 * bce)
    assert float(losskit.quality_focal(p, q)) == 0.0  # |q - p|^beta = 0
    # on a negative both are the focal term: alpha p^gamma and p^beta times -log(1 - p)
    p0, q0 = np.array([0.3]), np.array([0.0])
    assert float(losskit.varifocal(p0, q0)) == pytest.approx(0.75 * 0.09 * -np.log(0.7))
    assert float(losskit.quality_focal(p0, q0)) == pytest.approx(0.09 * -np.log(0.7))


# --------------------------------------------------------------------- GANs


@needs_jax
@pytest.mark.parametrize("variant", ["minimax", "non_saturating"])
def test_gan_logistic_losses_are_exact_for_huge_logits_under_jit(variant):
    import jax
    import jax.numpy as jnp

    real = jnp.array([-1e4, 50.0, 1e4])
    fake = jnp.array([1e4, -50.0, -1e4])
    value, (g_real, g_fake) = jax.jit(
        jax.value_and_grad(
            lambda r, f: losskit.gan_discriminator(r, f, variant=variant, reduction="sum"),
            argnums=(0, 1),
        )
    )(real, fake)
    # softplus(1e4) twice for the first pair; the others are ~exp(-50) and 0.
    assert float(value) == pytest.approx(2e4, rel=1e-12)
    np.testing.assert_allclose(np.asarray(g_real), [-1.0, -np.exp(-50.0), 0.0], atol=1e-30)
    np.testing.assert_allclose(np.asarray(g_fake), [1.0, np.exp(-50.0), 0.0], atol=1e-30)


def test_minimax_and_non_saturating_generators_share_their_optimum_direction():
    fake = np.linspace(-8, 8, 17)
    minimax = losskit.gan_generator(fake, variant="minimax", reduction="none")
    saturating = losskit.gan_generator(fake, variant="non_saturating", reduction="none")
    # Both fall as the discriminator is fooled (fake logit grows) ...
    assert np.all(np.diff(minimax) < 0) and np.all(np.diff(saturating) < 0)
    # ... but minimax is flat where the generator is poor (very negative logits).
    assert abs(minimax[1] - minimax[0]) < 0.01 < abs(saturating[1] - saturating[0])


def test_gan_discriminator_refuses_mixed_dtypes():
    real = np.array([0.5, -1.0])
    with pytest.raises(losskit.LossInputError, match="fake_pred must have real_pred's dtype"):
        losskit.gan_discriminator(real, real.astype(np.float32))


def test_the_code_on_the_conventions_page_runs():
    page = pathlib.Path(__file__).parent.parent / "docs" / "conventions.md"
    blocks = re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.DOTALL)
    assert len(blocks) >= 4
    before = set(registry._REGISTRY)
    namespace: dict[str, object] = {}
    try:
        for block in blocks:  # the blocks build on each other, as on the page
            exec(compile(block, "docs/conventions.md", "exec"), namespace)
    finally:
        for name in set(registry._REGISTRY) - before:
            del registry._REGISTRY[name]
