"""The built-in data: what each scenario promises about its data holds, for any seed."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("sklearn")

from losskit.lab import data


def test_regression_corrupts_a_fixed_share_of_training_targets_upward() -> None:
    d = data.regression_with_outliers(0, outlier_share=0.2)
    # 20% of the training part (fit and validation rows together) is corrupted
    assert len(d.y_train) + len(d.y_val) == 442 - round(0.3 * 442)
    assert len(d.y_val) == pytest.approx(0.2 * (len(d.y_train) + len(d.y_val)), abs=1)
    assert d.is_outlier.mean() == pytest.approx(0.2, abs=0.05)
    shift = (d.y_train - d.y_train_clean) * d.scale
    assert np.all(shift[~d.is_outlier] == 0)
    target_std = (d.y_train_clean * d.scale).std()
    # shifted up by 3 to 6 standard deviations of the clean training targets
    assert np.all(shift[d.is_outlier] > 2.9 * target_std)
    assert np.all(shift[d.is_outlier] < 6.1 * target_std)
    assert len(d.y_test) == round(0.3 * 442)
    # held-out targets are clean diabetes targets (25 to 346 in the data set's units)
    y_test = d.y_test * d.scale + d.center
    assert y_test.min() >= 25 and y_test.max() <= 346


def test_imbalanced_binary_is_about_one_in_twenty_with_malignant_positive() -> None:
    d = data.imbalanced_binary(1)
    positives = d.y_train.sum() + d.y_val.sum() + d.y_test.sum()
    negatives = sum((y == 0).sum() for y in (d.y_train, d.y_val, d.y_test))
    assert negatives == 357  # every benign case
    assert positives == 18
    assert 18 <= d.negatives_per_positive <= 22
    assert d.y_test.sum() == 9
    # a stratified quarter of the training part is the validation set
    assert d.y_val.sum() == 2 and d.y_train.sum() == 7


def test_multiclass_split_is_stratified() -> None:
    d = data.multiclass_digits(0, size=600)
    assert len(d.y_train) + len(d.y_val) + len(d.y_test) == pytest.approx(600, abs=10)
    train = np.bincount(d.y_train, minlength=10) + np.bincount(d.y_val, minlength=10)
    share = np.bincount(d.y_test, minlength=10) / train
    assert np.all(np.abs(share - 0.4 / 0.6) < 0.15)
    share = np.bincount(d.y_val, minlength=10) / train
    assert np.all(np.abs(share - 0.2) < 0.1)


def test_segmentation_images_masks_and_empty_share() -> None:
    d = data.segmentation_shapes(0, train=200, test=40, size=24)
    assert d.x_train.shape == (200, 1, 24, 24) and d.y_train.shape == (200, 1, 24, 24)
    assert set(np.unique(d.y_train)) == {0.0, 1.0}
    empty = ~d.y_train.reshape(200, -1).any(axis=1)
    assert 0.15 < empty.mean() < 0.35
    # shapes are brighter than the background on average
    assert d.x_train[d.y_train > 0].mean() > d.x_train[d.y_train == 0].mean() + 0.5


def test_boxes_lie_in_the_image_and_cover_the_bright_rectangle() -> None:
    d = data.synthetic_boxes(0, train=50, test=10, size=24, noise=0.0)
    assert np.all(d.y_train >= 0) and np.all(d.y_train <= 1)
    assert np.all(d.y_train[:, 2] > d.y_train[:, 0]) and np.all(d.y_train[:, 3] > d.y_train[:, 1])
    image = d.x_train[0].reshape(24, 24)
    x1, y1, x2, y2 = np.round(d.y_train[0] * 24).astype(int)
    assert np.all(image[y1:y2, x1:x2] == 1.0)
    assert image.sum() == (x2 - x1) * (y2 - y1)


def test_ring_samples_sit_on_the_modes() -> None:
    samples = data.sample_ring(2000, np.random.default_rng(0))
    modes = data.ring_modes()
    nearest = np.linalg.norm(samples[:, None] - modes[None], axis=2).min(axis=1)
    assert np.all(nearest < 0.05 * 6)


@pytest.mark.parametrize(
    "make",
    [
        lambda s: data.regression_with_outliers(s),
        lambda s: data.imbalanced_binary(s),
        lambda s: data.multiclass_digits(s, size=300),
        lambda s: data.segmentation_shapes(s, train=10, test=5, size=16),
        lambda s: data.synthetic_boxes(s, train=10, test=5, size=16),
        lambda s: data.denoising_patches(s, train=8, val=8, test=8),
    ],
    ids=["regression", "imbalanced", "multiclass", "segmentation", "boxes", "denoising"],
)
def test_same_seed_same_data_other_seed_other_data(make) -> None:  # type: ignore[no-untyped-def]
    first, again, other = make(0), make(0), make(1)
    np.testing.assert_array_equal(first.x_train, again.x_train)
    np.testing.assert_array_equal(first.y_test, again.y_test)
    assert first.x_train.shape != other.x_train.shape or not np.array_equal(
        first.x_train, other.x_train
    )


def test_standardize_uses_training_statistics_and_keeps_constant_columns_finite() -> None:
    train = np.array([[1.0, 5.0], [3.0, 5.0]])
    test = np.array([[5.0, 7.0]])
    train_s, test_s = data.standardize(train, test)
    np.testing.assert_allclose(train_s, [[-1.0, 0.0], [1.0, 0.0]])
    np.testing.assert_allclose(test_s, [[3.0, 2.0]])


def test_denoising_parts_share_no_pixel_and_patches_are_cut_from_the_images() -> None:
    pytest.importorskip("skimage")
    images = data.grey_sample_images()
    d = data.denoising_patches(3, train=64, val=32, test=32, patch=32, noise=0.1)
    rows = {}  # part -> image -> set of rows its patches cover
    for part in ("train", "val", "test"):
        clean, noisy = getattr(d, f"y_{part}"), getattr(d, f"x_{part}")
        origin = getattr(d, f"origin_{part}")
        assert clean.shape == noisy.shape == (len(origin), 1, 32, 32)
        rows[part] = {}
        for patch, (index, top, left) in zip(clean, origin, strict=True):
            np.testing.assert_array_equal(patch[0], images[index][top : top + 32, left : left + 32])
            rows[part].setdefault(index, set()).update(range(top, top + 32))
        noise = noisy - clean
        assert abs(float(noise.mean())) < 0.01 and abs(float(noise.std()) - 0.1) < 0.01
    for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
        for index in rows[a]:
            assert not rows[a][index] & rows[b].get(index, set()), (a, b, index)
    # every image gives patches to every part
    assert all(len(rows[part]) == len(images) for part in rows)
