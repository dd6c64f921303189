"""The lab's evaluation metrics against independent references and hand-worked cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("torch")
sklearn_metrics = pytest.importorskip("sklearn.metrics")

from losskit.lab import metrics as m  # noqa: E402

# The lab's own implementations before it used scikit-learn's, kept as the reference the
# scikit-learn-backed metrics are checked against.


def old_precision_recall_curve(
    scores: np.ndarray, labels: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    scores = np.asarray(scores, dtype=np.float64).ravel()
    labels = np.asarray(labels).ravel().astype(bool)
    order = np.argsort(-scores, kind="stable")
    scores, labels = scores[order], labels[order]
    cuts = np.r_[np.nonzero(np.diff(scores))[0], scores.size - 1]
    true_positives = np.cumsum(labels)[cuts]
    precision = true_positives / (cuts + 1)
    recall = true_positives / max(int(labels.sum()), 1)
    return precision, recall, scores[cuts]


def old_average_precision(scores: np.ndarray, labels: np.ndarray) -> float:
    if not np.any(labels):
        return 0.0
    precision, recall, _ = old_precision_recall_curve(scores, labels)
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def old_recall_at_precision(scores: np.ndarray, labels: np.ndarray, min_precision: float) -> float:
    if not np.any(labels):
        return 0.0
    precision, recall, _ = old_precision_recall_curve(scores, labels)
    reached = precision >= min_precision
    return float(recall[reached].max()) if np.any(reached) else 0.0


def old_r2_score(pred: np.ndarray, target: np.ndarray) -> float:
    target = np.asarray(target, dtype=np.float64)
    residual = np.sum((target - np.asarray(pred)) ** 2)
    total = np.sum((target - target.mean()) ** 2)
    return float(1.0 - residual / total) if total > 0 else 0.0


@pytest.mark.parametrize("seed", range(6))
def test_scikit_learn_backed_metrics_equal_the_old_ones(seed: int) -> None:
    rng = np.random.default_rng(seed)
    labels = rng.random(80) < 0.15
    labels[:2] = [True, False]
    scores = np.round(rng.random(80) + 0.4 * labels, 1)  # rounding creates ties
    assert m.average_precision(scores, labels) == pytest.approx(
        old_average_precision(scores, labels), abs=1e-12
    )
    for level in (0.5, 0.75, 0.9, 1.0):
        assert m.recall_at_precision(scores, labels, level) == old_recall_at_precision(
            scores, labels, level
        )
    # the curve: the old one, highest threshold first, is scikit-learn's reversed,
    # without its end point
    precision, recall, thresholds = m.precision_recall_curve(scores, labels)
    old_p, old_r, old_t = old_precision_recall_curve(scores, labels)
    np.testing.assert_allclose(precision[:-1][::-1], old_p)
    np.testing.assert_allclose(recall[:-1][::-1], old_r)
    np.testing.assert_allclose(thresholds[::-1], old_t)
    assert (precision[-1], recall[-1]) == (1.0, 0.0)
    pred, target = rng.normal(size=30), rng.normal(size=30)
    assert m.r2_score(pred, target) == pytest.approx(old_r2_score(pred, target), abs=1e-12)
    # no positive: 0, as before
    none = np.zeros(80, dtype=bool)
    assert m.average_precision(scores, none) == old_average_precision(scores, none) == 0.0


@pytest.mark.parametrize("seed", range(5))
def test_average_precision_matches_scikit_learn_with_ties(seed: int) -> None:
    rng = np.random.default_rng(seed)
    labels = rng.random(60) < 0.2
    labels[0] = True
    scores = np.round(rng.random(60) + 0.5 * labels, 1)  # rounding creates ties
    expected = sklearn_metrics.average_precision_score(labels, scores)
    assert m.average_precision(scores, labels) == pytest.approx(expected, abs=1e-12)


def test_average_precision_perfect_and_no_positive() -> None:
    assert m.average_precision(np.array([0.9, 0.8, 0.1]), np.array([1, 1, 0])) == 1.0
    assert m.average_precision(np.array([0.9, 0.8]), np.array([0, 0])) == 0.0


def test_recall_at_precision_by_hand() -> None:
    # ranking: + + - + - ; precision at each cut 1, 1, 2/3, 3/4, 3/5; recall 1/3 .. 1
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5])
    labels = np.array([1, 1, 0, 1, 0])
    assert m.recall_at_precision(scores, labels, 0.9) == pytest.approx(2 / 3)
    assert m.recall_at_precision(scores, labels, 0.75) == pytest.approx(1.0)
    assert m.recall_at_precision(np.array([0.9, 0.1]), np.array([0, 1]), 0.9) == 0.0


def test_f1_at_threshold_matches_scikit_learn() -> None:
    rng = np.random.default_rng(3)
    p = rng.random(50)
    labels = rng.random(50) < 0.3
    expected = sklearn_metrics.f1_score(labels, p >= 0.5)
    assert m.f1_at_threshold(p, labels) == pytest.approx(expected)


def test_expected_calibration_error_by_hand() -> None:
    # two bins (15 bins, confidences 0.9 and 0.6): bin of 0.9 holds 2 rows, 1 right;
    # bin of 0.6 holds 2 rows, 2 right.  ECE = 0.5 * |0.5 - 0.9| + 0.5 * |1 - 0.6| = 0.4
    p = np.array([[0.9, 0.1], [0.9, 0.1], [0.4, 0.6], [0.6, 0.4]])
    labels = np.array([0, 1, 1, 0])
    assert m.expected_calibration_error(p, labels) == pytest.approx(0.4)
    # perfectly confident and right: 0
    assert m.expected_calibration_error(np.eye(3), np.arange(3)) == 0.0


def test_mask_scores_and_the_empty_convention() -> None:
    true = np.zeros((3, 4, 4), dtype=bool)
    pred = np.zeros((3, 4, 4), dtype=bool)
    true[0, :2, :2] = True  # 4 pixels
    pred[0, :2, :1] = True  # 2 of them
    pred[2, 0, 0] = True  # a pixel on an empty image
    dice, iou = m.mask_dice_iou(pred, true)
    np.testing.assert_allclose(iou, [0.5, 1.0, 0.0])
    np.testing.assert_allclose(dice, [2 * 2 / 6, 1.0, 0.0])


def test_box_iou_by_hand() -> None:
    pred = np.array([[0, 0, 2, 2], [0, 0, 1, 1], [1, 1, 0, 0]], dtype=float)
    target = np.array([[1, 1, 3, 3], [0, 0, 1, 1], [0, 0, 1, 1]], dtype=float)
    np.testing.assert_allclose(m.box_iou(pred, target), [1 / 7, 1.0, 0.0])


def test_mode_coverage_counts_modes_and_quality() -> None:
    modes = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    samples = np.concatenate(
        [np.zeros((50, 2)), np.full((45, 2), [10.0, 0.0]), np.full((5, 2), 50.0)]
    )
    covered, near = m.mode_coverage(samples, modes, radius=1.0, min_share=0.1)
    assert covered == 2
    assert near == pytest.approx(0.95)


def test_sliced_wasserstein_zero_for_same_cloud_and_scale_of_a_shift() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(size=(400, 2))
    assert m.sliced_wasserstein(a, a) == 0.0
    shift = np.array([3.0, 4.0])
    # for a shift s, every direction θ moves the projections by |s·θ|; averaged over
    # directions uniform on the circle that is |s| * 2 / π
    value = m.sliced_wasserstein(a + shift, a, projections=4000)
    assert value == pytest.approx(5.0 * 2 / math.pi, rel=0.03)


def test_regression_metrics_by_hand() -> None:
    pred, target = np.array([1.0, 2.0, 4.0]), np.array([1.0, 3.0, 2.0])
    assert m.root_mean_squared_error(pred, target) == pytest.approx(math.sqrt(5 / 3))
    assert m.mean_absolute_error(pred, target) == pytest.approx(1.0)
    assert m.r2_score(target, target) == 1.0
    assert m.r2_score(np.full(3, target.mean()), target) == pytest.approx(0.0)


def test_sliced_wasserstein_refuses_clouds_of_different_sizes() -> None:
    from losskit import LossInputError

    with pytest.raises(LossInputError, match="same shape"):
        m.sliced_wasserstein(np.zeros((3, 2)), np.zeros((4, 2)))


def test_recall_at_1_by_hand() -> None:
    # directions: a and a' close, b and b' close, c nearest to a; magnitudes do not count
    x = np.array([[1.0, 0.0], [10.0, 1.0], [0.0, 1.0], [0.1, 3.0], [1.0, 0.05]])
    labels = np.array([0, 0, 1, 1, 2])
    # nearest others: 0 -> 4 (miss), 1 -> 4 (miss), 2 -> 3, 3 -> 2, 4 -> 0 (miss)
    assert m.recall_at_1(x, labels) == pytest.approx(2 / 5)
    # duplicates: a point is never its own neighbour, its copy is
    assert m.recall_at_1(np.repeat(x, 2, axis=0), np.repeat(labels, 2)) == 1.0


def test_knn_accuracy_by_hand() -> None:
    train = np.array([[1.0, 0.0], [2.0, 0.1], [0.0, 1.0], [0.1, 5.0], [0.0, 2.0]])
    train_labels = np.array([0, 0, 1, 1, 1])
    test = np.array([[3.0, 0.2], [0.2, 1.0]])
    assert m.knn_accuracy(train, train_labels, test, np.array([0, 1]), k=1) == 1.0
    assert m.knn_accuracy(train, train_labels, test, np.array([1, 1]), k=1) == 0.5
    # with k = 5 every test point gets the majority label of all five: 1
    assert m.knn_accuracy(train, train_labels, test, np.array([0, 1]), k=5) == 0.5


def test_psnr_and_ssim_equal_scikit_image_on_a_known_pair() -> None:
    skimage_metrics = pytest.importorskip("skimage.metrics")
    from skimage import data as samples

    clean = samples.camera()[200:264, 200:264] / 255.0
    rng = np.random.default_rng(0)
    pair = np.stack([clean, np.clip(clean + rng.normal(0, 0.1, clean.shape), 0, 1)])
    blurred = np.stack([clean, (clean + np.roll(clean, 1, axis=0)) / 2])
    psnr = m.peak_signal_noise_ratio(pair[1:], pair[:1])
    expected = skimage_metrics.peak_signal_noise_ratio(pair[0], pair[1], data_range=1.0)
    np.testing.assert_allclose(psnr, [expected], rtol=1e-12)
    ssim = m.structural_similarity(blurred[1:], blurred[:1])
    expected = skimage_metrics.structural_similarity(
        blurred[1],
        blurred[0],
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        data_range=1.0,
    )
    np.testing.assert_allclose(ssim, [expected], rtol=1e-10)
    assert 0.5 < expected < 0.99  # a pair that is neither identical nor unrelated
    # identical images: SSIM 1 and PSNR infinite
    assert m.structural_similarity(pair[:1], pair[:1])[0] == pytest.approx(1.0)
    assert m.peak_signal_noise_ratio(pair[:1], pair[:1])[0] == np.inf
