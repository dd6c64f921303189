"""The loss lab on your own Keras model: a small network on scikit-learn's breast cancer
data (binary).

When the factory returns a ``keras.Model``, ``losskit.lab.compare`` trains it with
Keras's ``compile`` and ``fit`` (losskit's Keras losses), keeps the epoch with the best
validation average precision through a callback, and reports as ``losskit lab`` does.

Run with ``KERAS_BACKEND=jax python examples/own_model_keras.py [REPORT_DIR]`` (or the
TensorFlow or PyTorch backend); needs Keras 3, a backend and the ``lab`` extra.
"""

from __future__ import annotations

import sys

import keras
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

import losskit
from losskit.lab import LabResult, compare, print_report, write_report


def small_net() -> keras.Model:
    """30 standardised features -> 16 ReLU units -> one logit (no sigmoid: the losses
    take logits)."""
    return keras.Sequential(
        [keras.Input((30,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(1)]
    )


def breast_cancer() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """(train, test) with 30% held out, stratified; features standardised with the
    training part's statistics."""
    x, y = load_breast_cancer(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.3, random_state=0, stratify=y
    )
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    return ((x_train - mean) / std, y_train), ((x_test - mean) / std, y_test)


def run(*, seeds: int = 3, epochs: int = 30) -> LabResult:
    train, test = breast_cancer()
    return compare(
        small_net,
        train,
        test,
        losses={
            "cross-entropy": "binary_cross_entropy",
            "focal": "binary_focal:gamma=2",
            "cross-entropy + focal": losskit.combine(
                {"binary_cross_entropy": 1.0, "binary_focal": 1.0}, from_logits=True
            ),
        },
        task="binary",
        seeds=seeds,
        epochs=epochs,
        lr=1e-2,
        batch_size=32,
        progress=True,
    )


if __name__ == "__main__":
    lab = run()
    print_report(lab, write_report(lab, sys.argv[1] if len(sys.argv) > 1 else "own-model-report"))
