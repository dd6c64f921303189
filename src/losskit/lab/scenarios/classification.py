"""Classification scenarios: imbalanced binary labels, and many classes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from losskit.lab import data as lab_data
from losskit.lab import metrics as m
from losskit.lab.scenario import (
    AUTO,
    Candidate,
    Metric,
    Scenario,
    takes_integer_labels,
)
from losskit.lab.scenarios._common import class_metrics, to_tensor
from losskit.lab.training import TrainConfig, mlp

__all__ = ["ImbalancedBinary", "MultiClass"]


class ImbalancedBinary(Scenario):
    name = "imbalanced"
    title = "Imbalanced binary classification"
    primary = "average_precision"
    baseline = "BCE"
    curve_metric = "validation average precision"
    #: the test set holds 9 positives, so the metrics are coarse: more seeds
    default_seeds = (5, 2)
    min_precision = 0.9
    metrics = (
        Metric(
            "average_precision",
            "average precision",
            "higher",
            3,
            "area under the held-out precision-recall curve (a random ranking scores about "
            "the share of positives, here about 0.05)",
        ),
        Metric(
            "recall_at_precision",
            f"recall at precision {min_precision}",
            "higher",
            3,
            f"the largest share of malignant cases found at a threshold that keeps precision "
            f"at {min_precision} or more",
        ),
        Metric("f1", "F1 at 0.5", "higher", 3, "F1 score when predicting positive at p ≥ 0.5"),
    )

    def candidates(self) -> tuple[Candidate, ...]:
        return (
            Candidate("BCE", "binary_cross_entropy", {"from_logits": True}),
            Candidate(
                "BCE + pos_weight",
                "binary_cross_entropy",
                {"from_logits": True, "pos_weight": AUTO},
            ),
            Candidate("focal γ=2", "binary_focal", {"from_logits": True, "gamma": 2.0}),
            Candidate(
                "focal γ=2 α=0.75",
                "binary_focal",
                {"from_logits": True, "gamma": 2.0, "alpha": 0.75},
            ),
        )

    def config(self, quick: bool) -> TrainConfig:
        return TrainConfig(epochs=100 if quick else 200, lr=0.01, weight_decay=1e-4)

    def description(self, quick: bool) -> str:
        return (
            "scikit-learn's breast-cancer data: 30 standardised features of a tumour; malignant "
            "is the positive class. All 357 benign cases are kept and 18 malignant ones drawn "
            "at random, about 1 positive in 20, then each class is split in half between "
            "training and test, so the test set holds only 9 positives and every metric moves "
            "in steps; a quarter of the training part (stratified: 2 positives) is the "
            "validation set. pos_weight is set to negatives / positives of the training set. "
            "Model: a multi-layer perceptron with one hidden layer of 32 units, trained with "
            f"Adam on the full training set for up to {self.config(quick).epochs} epochs."
        )

    def prepare(self, repeat: int, quick: bool) -> lab_data.BinaryData:
        return lab_data.imbalanced_binary(repeat)

    def build_model(self, data: lab_data.BinaryData, candidate: Candidate) -> torch.nn.Module:
        return mlp(data.x_train.shape[1], (32,), 1)

    def loss_of_batch(
        self, candidate: Candidate, data: lab_data.BinaryData, model: torch.nn.Module, seed: int
    ) -> Any:
        return candidate.build({"pos_weight": data.negatives_per_positive})

    def training_pairs(
        self, data: lab_data.BinaryData, candidate: Candidate
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return to_tensor(data.x_train), to_tensor(data.y_train[:, None].astype(np.float32))

    def measure(
        self, model: torch.nn.Module, data: lab_data.BinaryData, part: str
    ) -> dict[str, float]:
        x, y = (data.x_val, data.y_val) if part == "val" else (data.x_test, data.y_test)
        p = torch.sigmoid(model(to_tensor(x))[:, 0]).double().numpy()
        return {
            "average_precision": m.average_precision(p, y),
            "recall_at_precision": m.recall_at_precision(p, y, self.min_precision),
            "f1": m.f1_at_threshold(p, y),
        }


# ------------------------------------------------------------------- multi-class


class MultiClass(Scenario):
    name = "multiclass"
    title = "Multi-class classification"
    primary = "accuracy"
    baseline = "CE one-hot"
    curve_metric = "validation accuracy"
    metrics = (
        Metric("accuracy", "accuracy", "higher", 3, "share of held-out digits classified right"),
        Metric(
            "ece",
            "ECE",
            "lower",
            3,
            "expected calibration error: the gap between confidence and accuracy, averaged "
            "over 15 confidence bins (0 is perfectly calibrated)",
        ),
        Metric("nll", "log loss", "lower", 3, "mean negative log-probability of the true class"),
    )

    def candidates(self) -> tuple[Candidate, ...]:
        return (
            Candidate("CE one-hot", "categorical_cross_entropy", {"from_logits": True}),
            Candidate("sparse CE", "sparse_categorical_cross_entropy", {"from_logits": True}),
            Candidate(
                "sparse CE, smoothing 0.1",
                "sparse_categorical_cross_entropy",
                {"from_logits": True, "label_smoothing": 0.1},
            ),
            Candidate("focal γ=2", "categorical_focal", {"from_logits": True, "gamma": 2.0}),
        )

    def config(self, quick: bool) -> TrainConfig:
        return TrainConfig(epochs=8 if quick else 25, lr=3e-3, batch_size=64, weight_decay=1e-4)

    def description(self, quick: bool) -> str:
        size = "a stratified subsample of 600 of its 1797" if quick else "all 1797"
        return (
            f"scikit-learn's digits: {size} handwritten digits of 8×8 pixels, 10 classes, "
            "64 standardised features, 40% held out (stratified), and 20% of the training "
            "part (stratified) as the validation set. The one-hot and the sparse "
            "cross-entropy compute the same loss from different label formats. Model: a "
            "multi-layer perceptron with one hidden layer of 64 units, trained with Adam in "
            f"batches of 64 for up to {self.config(quick).epochs} epochs."
        )

    def prepare(self, repeat: int, quick: bool) -> lab_data.ClassData:
        return lab_data.multiclass_digits(repeat, size=600 if quick else None)

    def build_model(self, data: lab_data.ClassData, candidate: Candidate) -> torch.nn.Module:
        return mlp(data.x_train.shape[1], (64,), data.classes)

    def training_pairs(
        self, data: lab_data.ClassData, candidate: Candidate
    ) -> tuple[torch.Tensor, torch.Tensor]:
        labels = to_tensor(data.y_train)
        # sparse losses take integer labels, categorical ones one-hot targets
        targets = (
            labels
            if takes_integer_labels(candidate.name)
            else torch.nn.functional.one_hot(labels, data.classes).float()
        )
        return to_tensor(data.x_train), targets

    def measure(
        self, model: torch.nn.Module, data: lab_data.ClassData, part: str
    ) -> dict[str, float]:
        x, y = (data.x_val, data.y_val) if part == "val" else (data.x_test, data.y_test)
        return class_metrics(torch.softmax(model(to_tensor(x)), dim=1).double().numpy(), y)

    def extra_findings(self, summary: Mapping[str, Mapping[str, list[float]]]) -> list[str]:
        one_hot, sparse = summary.get("CE one-hot"), summary.get("sparse CE")
        if one_hot is None or sparse is None:
            return []
        gap = max(abs(a - b) for a, b in zip(one_hot["accuracy"], sparse["accuracy"], strict=True))
        if gap == 0:
            return [
                "Cross-entropy with one-hot labels and sparse cross-entropy with integer labels "
                "gave the same accuracy in every seed, as expected from the same loss."
            ]
        return [
            "Cross-entropy with one-hot labels and sparse cross-entropy with integer labels "
            f"compute the same loss; their accuracies differ by up to {gap:.3f} between the "
            "two runs of a seed, from floating-point rounding that changes the training path."
        ]
