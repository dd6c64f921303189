"""Helpers shared by the built-in scenarios."""

from __future__ import annotations

import numpy as np
import torch

from losskit.lab import metrics as m


def to_tensor(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a))


def mean_of(values: list[float]) -> float:
    return float(np.mean(values))


def class_metrics(p: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Accuracy, ECE and log loss of class probabilities ``p`` ``[N, C]``."""
    return {
        "accuracy": m.accuracy(p, labels),
        "ece": m.expected_calibration_error(p, labels),
        "nll": m.log_loss(p, labels),
    }
