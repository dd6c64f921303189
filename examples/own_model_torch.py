"""The loss lab on your own PyTorch model: a small CNN on scikit-learn's 8x8 digits.

``losskit.lab.compare`` trains a fresh ``SmallCNN`` with each loss and seed (every loss
of a seed starts from the same weights), keeps the epoch with the best validation
accuracy (20% of the training images, stratified), and compares the held-out metrics
as ``losskit lab`` does: a table in the terminal, ``own-model-report/report.html``,
``results.json`` and PNG figures.

Run with ``python examples/own_model_torch.py [REPORT_DIR]`` (needs the ``lab`` extra:
PyTorch, scikit-learn, matplotlib); about half a minute on one CPU thread.
"""

from __future__ import annotations

import sys

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

import losskit
from losskit.lab import LabResult, compare, print_report, write_report


class SmallCNN(nn.Module):
    """Two 3x3 convolutions on a 1x8x8 image, then 10 logits (no softmax: the losses
    take logits)."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.classify = nn.Linear(32 * 2 * 2, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classify(self.features(x).flatten(1))


def digits() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """(train, test) images [N, 1, 8, 8] scaled to [0, 1], with labels 0-9; 40% held out,
    stratified."""
    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.4, random_state=0, stratify=y
    )
    return (x_train, y_train), (x_test, y_test)


def run(*, seeds: int = 3, epochs: int = 15) -> LabResult:
    train, test = digits()
    return compare(
        SmallCNN,  # a class is a factory: SmallCNN() is a fresh model
        train,
        test,
        losses={
            "cross-entropy": "sparse_categorical_cross_entropy",
            "focal, gamma=2": "sparse_categorical_focal:gamma=2",
            "label smoothing 0.1": losskit.torch.SparseCategoricalCrossEntropy(label_smoothing=0.1),
        },
        task="multi-class",
        seeds=seeds,
        epochs=epochs,
        lr=3e-3,
        batch_size=64,
        progress=True,
    )


if __name__ == "__main__":
    lab = run()
    print_report(lab, write_report(lab, sys.argv[1] if len(sys.argv) > 1 else "own-model-report"))
