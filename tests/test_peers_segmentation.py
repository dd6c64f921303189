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
