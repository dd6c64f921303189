"""Where losskit's segmentation conventions meet or leave those of its peers.

The table (tests/loss_table/segmentation.py) compares losskit with MONAI, optax and
kornia wherever they share its convention.  These tests check the *differences* that
docs/conventions.md lists, so the table of differences there stays true.  Each is
skipped when the peer is not installed.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

import losskit

RNG = np.random.default_rng(0)
PROBS = RNG.uniform(0.05, 0.95, (3, 12))
MASKS = RNG.integers(0, 2, (3, 12)).astype(float)


def _keras():
    # Keras picks its backend at import; TensorFlow is not a dependency here.
    os.environ.setdefault("KERAS_BACKEND", "jax")
    return pytest.importorskip("keras")


def test_keras_dice_pools_the_whole_batch_without_smoothing():
    keras = _keras()
    got = float(keras.losses.dice(MASKS, PROBS))
    expected = float(losskit.dice(PROBS, MASKS, batch=True, smooth=0.0))
    assert got == pytest.approx(expected, rel=1e-5)
    assert got != pytest.approx(float(losskit.dice(PROBS, MASKS, smooth=0.0)), rel=1e-3)


def test_keras_dice_scores_empty_on_empty_as_a_full_loss():
    keras = _keras()
    empty = np.zeros((2, 5))
    assert float(keras.losses.dice(empty, empty)) == pytest.approx(1.0)
    assert float(losskit.dice(empty, empty)) == 0.0


def test_keras_tversky_alpha_weights_the_false_negatives():
    keras = _keras()
    got = float(keras.losses.tversky(MASKS, PROBS, alpha=0.7, beta=0.3))
    swapped = float(losskit.tversky(PROBS, MASKS, alpha=0.3, beta=0.7, batch=True, smooth=0.0))
    assert got == pytest.approx(swapped, rel=1e-5)
    same = float(losskit.tversky(PROBS, MASKS, alpha=0.7, beta=0.3, batch=True, smooth=0.0))
    assert got != pytest.approx(same, rel=1e-3)


def test_monai_default_smoothing_gives_a_spurious_prediction_on_an_empty_target_loss_one():
    pytest.importorskip("monai")
    import torch
    from monai.losses import DiceLoss

    spurious = torch.full((1, 1, 8), 0.01, dtype=torch.float64)
    empty = torch.zeros((1, 1, 8), dtype=torch.float64)
    monai_value = float(DiceLoss()(spurious, empty))  # smooth_nr = smooth_dr = 1e-5
    assert monai_value > 0.99
    assert float(losskit.dice(spurious[:, 0], empty[:, 0])) < 0.1  # smooth = 1


def test_monai_class_weights_scale_the_mean_where_losskit_normalises():
    pytest.importorskip("monai")
    import torch
    from monai.losses import DiceLoss

    logits = RNG.normal(size=(2, 3, 10))
    labels = RNG.integers(0, 3, (2, 10))
    weight = [2.0, 2.0, 2.0]
    monai = float(
        DiceLoss(softmax=True, to_onehot_y=True, weight=weight, smooth_nr=1.0, smooth_dr=1.0)(
            torch.tensor(logits), torch.tensor(labels[:, None])
        )
    )
    plain = float(losskit.dice(logits, labels, axis=1, from_logits=True))
    assert monai == pytest.approx(2 * plain, rel=1e-10)
    weighted = float(losskit.dice(logits, labels, axis=1, from_logits=True, class_weights=weight))
    assert weighted == pytest.approx(plain, rel=1e-12)


def test_kornia_macro_dice_leaves_absent_classes_out():
    pytest.importorskip("kornia")
    import torch
    from kornia.losses import dice_loss

    logits = RNG.normal(size=(1, 3, 2, 4))
    labels = RNG.integers(0, 2, (1, 2, 4))  # class 2 absent
    labels[0, 0, :2] = [0, 1]
    kornia = float(dice_loss(torch.tensor(logits), torch.tensor(labels), average="macro", eps=0.0))
    per_class = losskit.dice(logits, labels, axis=1, from_logits=True, smooth=0.0, reduction="none")
    assert kornia == pytest.approx(per_class[0, :2].mean(), rel=1e-10)
    assert kornia != pytest.approx(per_class.mean(), rel=1e-3)


def test_kornia_lovasz_softmax_counts_every_class_like_losskit():
    pytest.importorskip("kornia")
    import torch
    from kornia.losses import lovasz_softmax_loss

    logits = RNG.normal(size=(2, 4, 3, 3))
    labels = RNG.integers(0, 2, (2, 3, 3))  # classes 2 and 3 absent
    kornia = float(lovasz_softmax_loss(torch.tensor(logits), torch.tensor(labels)))
    ours = float(losskit.lovasz_softmax(logits, labels, axis=1, from_logits=True))
    assert kornia == pytest.approx(ours, rel=1e-10)


def test_optax_dice_smoothing_is_twice_losskits():
    pytest.importorskip("optax")
    import jax.numpy as jnp
    import optax

    logits = RNG.normal(size=(2, 5, 3))
    target = np.eye(3)[RNG.integers(0, 3, (2, 5))]
    got = np.asarray(
        optax.losses.dice_loss(
            jnp.asarray(logits), jnp.asarray(target), smooth=1.0, reduction="none"
        )
    )
    np.testing.assert_allclose(
        got,
        losskit.dice(logits, target, axis=-1, from_logits=True, smooth=2.0, reduction="none"),
        rtol=1e-6,
    )


# ------------------------------------------- generalised Dice, MCC, distance losses, presets


def _monai_inputs(shape=(2, 3, 6, 7), classes=3):
    import torch

    logits = RNG.normal(size=shape)
    labels = RNG.integers(0, classes, (shape[0], *shape[2:]))
    return logits, labels, torch.tensor(logits), torch.tensor(labels[:, None])


def test_monai_generalized_dice_smoothing_is_in_units_of_its_raw_weights():
    """MONAI's weights are 1 / T^2 unscaled: its smooth 1e-5 is of the order of 1 / T of
    the smallest class, not a voxel.  With large volumes it dominates the ratio, which
    losskit's scaled weights (smooth in voxels of the smallest class) do not."""
    pytest.importorskip("monai")
    import torch
    from monai.losses import GeneralizedDiceLoss

    logits, labels, t_logits, t_labels = _monai_inputs((1, 2, 512, 512), 2)
    exact = float(losskit.generalized_dice(logits, labels, axis=1, from_logits=True, smooth=0.0))
    monai = float(GeneralizedDiceLoss(softmax=True, to_onehot_y=True)(t_logits, t_labels))
    ours = float(losskit.generalized_dice(logits, labels, axis=1, from_logits=True))
    assert abs(ours - exact) < 1e-3 * exact
    assert abs(monai - exact) > 0.05 * exact
    zero = GeneralizedDiceLoss(softmax=True, to_onehot_y=True, smooth_nr=0.0, smooth_dr=0.0)
    assert float(zero(t_logits, t_labels)) == pytest.approx(exact, rel=1e-6)
    del torch


def test_monai_generalized_dice_gives_0_where_every_class_is_absent():
    """With the background excluded and an all-background image, MONAI weighs every class
    0 (no gradient: spurious foreground is free); losskit weighs them 1 and pushes the
    foreground probabilities down."""
    pytest.importorskip("monai")
    import torch
    from monai.losses import GeneralizedDiceLoss

    logits = torch.tensor(RNG.normal(size=(1, 3, 10)), requires_grad=True)
    labels = torch.zeros((1, 10), dtype=torch.long)
    monai = GeneralizedDiceLoss(softmax=True, to_onehot_y=True, include_background=False)
    value = monai(logits, labels[:, None])
    assert abs(float(value.detach())) < 1e-6
    ours = losskit.generalized_dice(logits, labels, axis=1, from_logits=True, exclude_class=0)
    assert float(ours.detach()) > 0.5
    ours.backward()
    assert torch.isfinite(logits.grad).all() and float(logits.grad[0, 1:].sum()) > 0


def test_monai_mcc_equals_losskit_without_smoothing():
    pytest.importorskip("monai")
    from monai.losses import MCCLoss

    logits, labels, t_logits, t_labels = _monai_inputs()
    monai = MCCLoss(softmax=True, to_onehot_y=True, smooth_dr=1e-300, reduction="none")
    got = monai(t_logits, t_labels).numpy()
    ours = losskit.matthews_correlation(
        logits, labels, axis=1, from_logits=True, smooth=0.0, reduction="none"
    )
    np.testing.assert_allclose(got, ours, rtol=1e-10)


def test_distance_maps_match_a_brute_force_search():
    pytest.importorskip("scipy")
    mask = RNG.uniform(size=(2, 5, 6)) > 0.6
    mask[1] = False
    mask[1, 2, 3] = True
    spacing = (2.0, 0.5)
    got = losskit.distance_maps(mask, spacing=spacing, dtype=np.float64)
    unsigned = losskit.distance_maps(mask, spacing=spacing, signed=False, dtype=np.float64)
    for b in range(2):
        points = np.argwhere(np.ones((5, 6), bool)) * spacing
        inside = mask[b].reshape(-1)
        gaps = np.linalg.norm(points[:, None] - points[None], axis=-1)
        to_other = np.where(inside[:, None] != inside[None], gaps, np.inf).min(axis=1)
        expected = np.where(inside, 1.0 - to_other, to_other).reshape(5, 6)
        np.testing.assert_allclose(got[b], expected, rtol=1e-12)
        np.testing.assert_allclose(unsigned[b], to_other.reshape(5, 6), rtol=1e-12)


def test_monai_boundary_loss_computes_the_same_maps():
    pytest.importorskip("monai")
    import torch
    from monai.losses import BoundaryLoss

    logits, labels, t_logits, t_labels = _monai_inputs()
    one_hot = torch.nn.functional.one_hot(t_labels[:, 0], 3).movedim(-1, 1).double()
    monai = float(BoundaryLoss(softmax=True)(t_logits, one_hot))
    phi = losskit.distance_maps(labels, classes=3, axis=1, dtype=np.float64)
    ours = float(losskit.boundary_loss(logits, phi, axis=1, from_logits=True))
    assert ours == pytest.approx(monai, rel=1e-6)  # MONAI's maps are float32


def test_monai_hausdorff_adds_the_prediction_map_that_losskit_takes_folded_in():
    pytest.importorskip("monai")
    import torch
    from monai.losses import HausdorffDTLoss

    logits, labels, t_logits, _ = _monai_inputs()
    one_hot = torch.nn.functional.one_hot(torch.tensor(labels), 3).movedim(-1, 1).double()
    monai = float(HausdorffDTLoss(softmax=True, alpha=2.0)(t_logits, one_hot))  # no background
    d_t = losskit.distance_maps(labels, classes=3, axis=1, signed=False, dtype=np.float64)
    probs = torch.softmax(t_logits, 1).numpy()
    d_p = losskit.distance_maps(probs, axis=1, signed=False, dtype=np.float64)
    options = {"axis": 1, "from_logits": True, "exclude_class": 0}
    one_sided = float(losskit.hausdorff_dt(logits, labels, d_t, **options))
    two_sided = float(losskit.hausdorff_dt(logits, labels, np.hypot(d_t, d_p), **options))
    assert two_sided == pytest.approx(monai, rel=1e-6)  # MONAI: float32 maps
    assert one_sided < 0.95 * monai


def test_monai_dice_ce_is_losskits_preset_with_the_same_smoothing():
    pytest.importorskip("monai")
    from monai.losses import DiceCELoss

    import losskit.torch

    logits, labels, t_logits, t_labels = _monai_inputs()
    monai = DiceCELoss(softmax=True, to_onehot_y=True, smooth_nr=1.0, smooth_dr=1.0)
    expected = float(monai(t_logits, t_labels))
    assert float(losskit.torch.DiceCE()(t_logits, t_labels[:, 0])) == pytest.approx(
        expected, rel=1e-12
    )
    preset = losskit.dice_ce(axis=1, from_logits=True)
    assert float(preset(logits, labels)) == pytest.approx(expected, rel=1e-12)
    weighted = DiceCELoss(
        softmax=True, to_onehot_y=True, smooth_nr=1.0, smooth_dr=1.0, lambda_ce=0.3
    )
    ours = losskit.torch.DiceCE(ce_weight=0.3)(t_logits, t_labels[:, 0])
    assert float(ours) == pytest.approx(float(weighted(t_logits, t_labels)), rel=1e-12)


def test_monai_dice_focal_uses_a_sigmoid_focal_loss_where_losskit_uses_the_softmax():
    pytest.importorskip("monai")
    import torch
    from monai.losses import DiceFocalLoss

    import losskit.torch

    _, _, t_logits, t_labels = _monai_inputs()
    monai = float(
        DiceFocalLoss(softmax=True, to_onehot_y=True, smooth_nr=1.0, smooth_dr=1.0)(
            t_logits, t_labels
        )
    )
    one_hot = torch.nn.functional.one_hot(t_labels[:, 0], 3).movedim(-1, 1).double()
    dice_part = losskit.dice(t_logits, t_labels[:, 0], axis=1, from_logits=True)
    focal_part = losskit.binary_focal(t_logits, one_hot, from_logits=True, alpha=None)
    assert float(dice_part + focal_part) == pytest.approx(monai, rel=1e-6)
    ours = float(losskit.torch.DiceFocal()(t_logits, t_labels[:, 0]))
    assert ours != pytest.approx(monai, rel=1e-2)
    softmax_focal = losskit.sparse_categorical_focal(
        t_logits, t_labels[:, 0], axis=1, from_logits=True
    )
    assert ours == pytest.approx(float(dice_part + softmax_focal), rel=1e-12)
