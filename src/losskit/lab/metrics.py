"""Evaluation metrics of the lab, in NumPy, independent of the losses being compared.

Every metric takes NumPy arrays (predictions first) and returns a Python float.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import numpy as np

from losskit.errors import LossInputError

__all__ = [
    "TASK_METRICS",
    "TASK_PRIMARY",
    "Metric",
    "accuracy",
    "average_precision",
    "box_iou",
    "expected_calibration_error",
    "f1_at_threshold",
    "knn_accuracy",
    "log_loss",
    "mask_dice_iou",
    "mean_absolute_error",
    "mode_coverage",
    "peak_signal_noise_ratio",
    "precision_recall_curve",
    "r2_score",
    "recall_at_1",
    "recall_at_precision",
    "root_mean_squared_error",
    "sliced_wasserstein",
    "structural_similarity",
    "task_scores",
]


@dataclasses.dataclass(frozen=True)
class Metric:
    """A held-out metric.  ``better`` says which way is good: ``"higher"``, ``"lower"``,
    or ``"zero"`` (closest to 0, for a signed error such as the bias)."""

    key: str
    label: str
    better: Literal["higher", "lower", "zero"]
    digits: int
    description: str

    def format(self, value: float) -> str:
        return f"{value:.{self.digits}f}"

    def goodness(self, value: float) -> float:
        """A number that grows as the metric improves."""
        if self.better == "higher":
            return value
        if self.better == "lower":
            return -value
        return -abs(value)


# -------------------------------------------------------------------- regression


def root_mean_squared_error(pred: np.ndarray, target: np.ndarray) -> float:
    """sqrt(mean((pred - target)^2))."""
    return float(np.sqrt(np.mean((np.asarray(pred) - np.asarray(target)) ** 2)))


def mean_absolute_error(pred: np.ndarray, target: np.ndarray) -> float:
    """mean(|pred - target|)."""
    return float(np.mean(np.abs(np.asarray(pred) - np.asarray(target))))


def r2_score(pred: np.ndarray, target: np.ndarray) -> float:
    """1 - sum((target - pred)^2) / sum((target - mean(target))^2), scikit-learn's
    ``r2_score`` (for a constant target: 1 for a perfect prediction, else 0)."""
    from sklearn.metrics import r2_score as sklearn_r2

    return float(sklearn_r2(np.asarray(target, dtype=np.float64), np.asarray(pred)))


# ------------------------------------------------------------------------ binary


def precision_recall_curve(
    scores: np.ndarray, labels: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(precision, recall, threshold) for "predict positive when score >= threshold":
    scikit-learn's ``precision_recall_curve``, one entry per distinct score (tied
    scores enter together) from the lowest threshold to the highest, then the end
    point precision 1, recall 0."""
    from sklearn.metrics import precision_recall_curve as sklearn_curve

    labels = np.asarray(labels).ravel().astype(bool)
    return sklearn_curve(labels, np.asarray(scores, dtype=np.float64).ravel())


def average_precision(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the precision-recall curve as a step sum: sum_k (R_k - R_{k-1}) P_k,
    scikit-learn's ``average_precision_score``.

    The precision at each threshold weighs the recall it adds (no interpolation);
    the score of a random ranking is about the share of positives.  0 when there
    is no positive.
    """
    from sklearn.metrics import average_precision_score

    labels = np.asarray(labels).ravel().astype(bool)
    if not np.any(labels):
        return 0.0
    return float(average_precision_score(labels, np.asarray(scores, dtype=np.float64).ravel()))


def recall_at_precision(scores: np.ndarray, labels: np.ndarray, min_precision: float) -> float:
    """The largest recall over thresholds whose precision is at least ``min_precision``
    (0 when no threshold reaches it)."""
    if not np.any(labels):
        return 0.0
    precision, recall, _ = precision_recall_curve(scores, labels)
    reached = precision >= min_precision
    return float(recall[reached].max()) if np.any(reached) else 0.0


def f1_at_threshold(probabilities: np.ndarray, labels: np.ndarray, threshold: float = 0.5) -> float:
    """F1 = 2 TP / (2 TP + FP + FN) of "positive when probability >= threshold"
    (0 when there is neither a positive nor a positive prediction)."""
    predicted = np.asarray(probabilities).ravel() >= threshold
    labels = np.asarray(labels).ravel().astype(bool)
    true_positives = np.sum(predicted & labels)
    denominator = predicted.sum() + labels.sum()
    return float(2.0 * true_positives / denominator) if denominator else 0.0


# ------------------------------------------------------------------- multi-class


def accuracy(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """Share of rows whose most probable class is the label; ``probabilities`` is [N, C]."""
    return float(np.mean(np.argmax(probabilities, axis=1) == np.asarray(labels)))


def log_loss(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """Mean negative log-probability of the label, ``probabilities`` ``[N, C]`` (each
    probability clipped below at 1e-12)."""
    p = np.asarray(probabilities, dtype=np.float64)
    true_class = p[np.arange(len(p)), np.asarray(labels)]
    return float(-np.mean(np.log(np.clip(true_class, 1e-12, None))))


def expected_calibration_error(
    probabilities: np.ndarray, labels: np.ndarray, bins: int = 15
) -> float:
    """ECE = sum_b (n_b / N) |accuracy_b - confidence_b| over equal-width confidence bins.

    The confidence of a row is its largest probability; bin b holds the rows whose
    confidence lies in ((b - 1) / bins, b / bins].  0 for a perfectly calibrated model.
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    confidence = probabilities.max(axis=1)
    correct = np.argmax(probabilities, axis=1) == np.asarray(labels)
    # bin index from 0 to bins - 1; a confidence of exactly b / bins goes to bin b - 1
    index = np.clip(np.ceil(confidence * bins).astype(int) - 1, 0, bins - 1)
    error = 0.0
    for b in np.unique(index):
        members = index == b
        error += members.mean() * abs(correct[members].mean() - confidence[members].mean())
    return float(error)


# --------------------------------------------------------------------- embeddings


def recall_at_1(embeddings: np.ndarray, labels: np.ndarray) -> float:
    """Share of the embeddings whose nearest other embedding, by cosine similarity, has
    their label (retrieval recall@1 of each one against all the others)."""
    from sklearn.neighbors import NearestNeighbors

    index = NearestNeighbors(n_neighbors=1, metric="cosine", algorithm="brute").fit(embeddings)
    # without a query array, scikit-learn leaves each point out of its own neighbours
    nearest = index.kneighbors(return_distance=False)[:, 0]
    labels = np.asarray(labels)
    return float(np.mean(labels[nearest] == labels))


def knn_accuracy(
    train: np.ndarray,
    train_labels: np.ndarray,
    test: np.ndarray,
    test_labels: np.ndarray,
    k: int = 5,
) -> float:
    """Accuracy on ``test`` of the majority label of the ``k`` nearest ``train``
    embeddings by cosine similarity."""
    from sklearn.neighbors import KNeighborsClassifier

    classifier = KNeighborsClassifier(n_neighbors=k, metric="cosine", algorithm="brute")
    return float(classifier.fit(train, train_labels).score(test, test_labels))


# ------------------------------------------------------------------ segmentation


def mask_dice_iou(pred_mask: np.ndarray, true_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-image (Dice, IoU) of boolean masks ``[N, ...]``.

    Dice = 2|P ∩ T| / (|P| + |T|) and IoU = |P ∩ T| / |P ∪ T|; an empty prediction on
    an empty image scores 1 on both (nothing to find, nothing found), while any
    predicted pixel on an empty image scores 0.
    """
    pred = np.asarray(pred_mask, dtype=bool).reshape(len(pred_mask), -1)
    true = np.asarray(true_mask, dtype=bool).reshape(len(true_mask), -1)
    intersection = np.sum(pred & true, axis=1)
    union = np.sum(pred | true, axis=1)
    total = pred.sum(axis=1) + true.sum(axis=1)
    both_empty = union == 0
    dice = np.where(both_empty, 1.0, 2.0 * intersection / np.maximum(total, 1))
    iou = np.where(both_empty, 1.0, intersection / np.maximum(union, 1))
    return dice, iou


# ---------------------------------------------------------------- restoration


def peak_signal_noise_ratio(
    pred: np.ndarray, target: np.ndarray, data_range: float = 1.0
) -> np.ndarray:
    """Per-image PSNR in dB, ``10 log10(L^2 / mean((pred - target)^2))`` over the pixels of
    each image ``[N, ...] -> [N]`` (scikit-image's ``peak_signal_noise_ratio`` per image);
    infinite for an exact image."""
    pred = np.asarray(pred, dtype=np.float64).reshape(len(pred), -1)
    target = np.asarray(target, dtype=np.float64).reshape(len(target), -1)
    mse = np.mean((pred - target) ** 2, axis=1)
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(data_range**2 / mse)


def structural_similarity(
    pred: np.ndarray, target: np.ndarray, data_range: float = 1.0, sigma: float = 1.5
) -> np.ndarray:
    """Per-image mean SSIM of grey images ``[N, H, W] -> [N]`` (Wang et al. 2004), with
    scikit-image's ``structural_similarity(gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False, data_range=L)`` convention: Gaussian window truncated at
    3.5 sigma (11 taps for sigma 1.5), C1 = (0.01 L)^2, C2 = (0.03 L)^2, and the mean over
    the positions where the whole window fits in the image."""
    from scipy.ndimage import gaussian_filter

    x = np.asarray(pred, dtype=np.float64)
    y = np.asarray(target, dtype=np.float64)

    def local_mean(a: np.ndarray) -> np.ndarray:  # over the two image axes only
        return gaussian_filter(a, sigma=(0.0, sigma, sigma), truncate=3.5)

    mx, my = local_mean(x), local_mean(y)
    vx = local_mean(x * x) - mx * mx
    vy = local_mean(y * y) - my * my
    cxy = local_mean(x * y) - mx * my
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    ssim = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
    half = int(3.5 * sigma + 0.5)  # the window's half width: its border is left out
    return ssim[:, half:-half, half:-half].mean(axis=(1, 2))


# ------------------------------------------------------------------------- boxes


def box_iou(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """IoU of matching boxes in ``(x1, y1, x2, y2)`` format, ``[N, 4] -> [N]``.

    A predicted box with inverted corners has zero area (its IoU is 0).
    """
    pred = np.asarray(pred, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    width = np.clip(
        np.minimum(pred[:, 2], target[:, 2]) - np.maximum(pred[:, 0], target[:, 0]), 0, None
    )
    height = np.clip(
        np.minimum(pred[:, 3], target[:, 3]) - np.maximum(pred[:, 1], target[:, 1]), 0, None
    )
    intersection = width * height

    def area(b: np.ndarray) -> np.ndarray:
        return np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)

    union = area(pred) + area(target) - intersection
    return np.where(union > 0, intersection / np.where(union > 0, union, 1.0), 0.0)


# ---------------------------------------------------------------------- GAN


def mode_coverage(
    samples: np.ndarray, modes: np.ndarray, radius: float, min_share: float
) -> tuple[int, float]:
    """(modes covered, share of samples near a mode) for samples of a Gaussian mixture.

    A sample is near a mode when it lies within ``radius`` of it; a mode is covered
    when at least ``min_share`` of the samples are near it.
    """
    distance = np.linalg.norm(samples[:, None, :] - modes[None, :, :], axis=2)
    nearest = np.argmin(distance, axis=1)
    near = distance[np.arange(len(samples)), nearest] <= radius
    counts = np.bincount(nearest[near], minlength=len(modes))
    return int(np.sum(counts >= min_share * len(samples))), float(near.mean())


def sliced_wasserstein(a: np.ndarray, b: np.ndarray, projections: int = 64, seed: int = 0) -> float:
    """Sliced 1-Wasserstein distance between two equal-size point clouds ``[N, D]``.

    The mean, over random unit directions θ, of the 1-D Wasserstein distance between
    the projections a·θ and b·θ, which for equal sizes is mean |sort(a·θ) - sort(b·θ)|.
    It is 0 for identical clouds and in the units of the data.
    """
    if a.shape != b.shape:
        raise LossInputError(f"a and b must have the same shape; got {a.shape} and {b.shape}")
    directions = np.random.default_rng(seed).normal(size=(projections, a.shape[1]))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    projected_a = np.sort(a @ directions.T, axis=0)
    projected_b = np.sort(b @ directions.T, axis=0)
    return float(np.mean(np.abs(projected_a - projected_b)))


# ------------------------------------------------------------- metrics of a task

#: The held-out metrics of each task the lab runs on the user's own data or model,
#: measured on the model's outputs (logits or scores; see :func:`task_scores`).
TASK_METRICS: dict[str, tuple[Metric, ...]] = {
    "regression": (
        Metric("rmse", "RMSE", "lower", 4, "root mean squared error on the held-out part"),
        Metric("mae", "MAE", "lower", 4, "mean absolute error on the held-out part"),
        Metric("r2", "R²", "higher", 3, "share of the target's variance explained (1 is perfect)"),
    ),
    "binary": (
        Metric(
            "average_precision",
            "average precision",
            "higher",
            3,
            "area under the held-out precision-recall curve (a random ranking scores about the "
            "share of positives)",
        ),
        Metric("f1", "F1 at 0.5", "higher", 3, "F1 score when predicting positive at p ≥ 0.5"),
        Metric(
            "recall_at_precision",
            "recall at precision 0.9",
            "higher",
            3,
            "the largest share of positives found at a threshold that keeps precision at 0.9",
        ),
    ),
    "multi-class": (
        Metric("accuracy", "accuracy", "higher", 3, "share of held-out rows classified right"),
        Metric(
            "ece",
            "ECE",
            "lower",
            3,
            "expected calibration error over 15 confidence bins (0 is perfectly calibrated)",
        ),
        Metric("nll", "log loss", "lower", 3, "mean negative log-probability of the true class"),
    ),
}

#: The metric of each task that decides the best loss and chooses the epoch kept.
TASK_PRIMARY: dict[str, str] = {
    "regression": "rmse",
    "binary": "average_precision",
    "multi-class": "accuracy",
}


def task_scores(task: str, outputs: np.ndarray, targets: np.ndarray) -> dict[str, float]:
    """Every metric of :data:`TASK_METRICS` ``[task]`` for a model's ``outputs``:
    predictions ``[N]`` or ``[N, 1]`` (regression), one logit or score per row
    (binary: probability = sigmoid), or logits ``[N, C]`` (multi-class: probabilities =
    softmax); ``targets`` are values, 0/1 labels or class indices."""
    outputs = np.asarray(outputs, dtype=np.float64)
    targets = np.asarray(targets)
    if task == "regression":
        pred = outputs.reshape(len(outputs))
        return {
            "rmse": root_mean_squared_error(pred, targets),
            "mae": mean_absolute_error(pred, targets),
            "r2": r2_score(pred, targets),
        }
    if task == "binary":
        # sigmoid(z) = exp(-logaddexp(0, -z)), without overflow for large |z|
        p = np.exp(-np.logaddexp(0.0, -outputs.reshape(len(outputs))))
        return {
            "average_precision": average_precision(p, targets),
            "f1": f1_at_threshold(p, targets),
            "recall_at_precision": recall_at_precision(p, targets, 0.9),
        }
    # softmax with the row's largest logit subtracted first (same value, no overflow)
    shifted = outputs - outputs.max(axis=1, keepdims=True)
    p = np.exp(shifted)
    p /= p.sum(axis=1, keepdims=True)
    return {
        "accuracy": accuracy(p, targets),
        "ece": expected_calibration_error(p, targets),
        "nll": log_loss(p, targets),
    }
