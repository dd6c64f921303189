"""Distilling a digit classifier into a smaller one."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from losskit.lab import data as lab_data
from losskit.lab import metrics as m
from losskit.lab.data import Splits
from losskit.lab.findings import Comparison, describe
from losskit.lab.scenario import (
    Candidate,
    Metric,
    Scenario,
    seeded_model,
)
from losskit.lab.scenarios._common import class_metrics, to_tensor
from losskit.lab.training import TrainConfig, fit, mlp
from losskit.torch.modules import module_for

__all__ = ["Distillation"]


@dataclasses.dataclass(frozen=True)
class _DistillationData(Splits):
    """The student's digits, and the teacher's outputs on them."""

    classes: int
    #: the teacher's logits on the training digits
    teacher_train: torch.Tensor
    #: the teacher's probabilities on the validation and test digits
    teacher_val: np.ndarray
    teacher_test: np.ndarray


class Distillation(Scenario):
    """A small student taught by a larger teacher on few labelled digits."""

    name = "distillation"
    title = "Distilling a digit classifier into a smaller one"
    primary = "accuracy"
    baseline = "CE, no teacher"
    curve_metric = "validation accuracy"
    teacher_hidden = (128, 128)
    student_hidden = (8,)
    temperature = 4.0
    labelled = 100  # training digits with labels, 10 of each class
    validation = 30  # validation digits, 3 of each class
    default_seeds = (5, 2)
    metrics = (
        Metric("accuracy", "accuracy", "higher", 3, "share of held-out digits classified right"),
        Metric(
            "ece",
            "ECE",
            "lower",
            3,
            "expected calibration error of the student: the gap between confidence and "
            "accuracy over 15 confidence bins (0 is perfectly calibrated)",
        ),
        Metric("nll", "log loss", "lower", 3, "mean negative log-probability of the true class"),
        Metric(
            "agreement",
            "agreement",
            "higher",
            3,
            "share of held-out digits on which the student's class is the teacher's",
        ),
    )

    def candidates(self) -> tuple[Candidate, ...]:
        t = self.temperature
        hard = "sparse_categorical_cross_entropy"
        return (
            Candidate("CE, no teacher", hard, {"from_logits": True}),
            Candidate(
                f"KD T={t:g}, 0.9 soft + 0.1 CE",
                "distillation",
                {"temperature": t, "from_logits": True},
                parts={"distillation": 0.9, hard: 0.1},
            ),
            Candidate(
                "KD T=1, 0.9 soft + 0.1 CE",
                "distillation",
                {"from_logits": True},
                parts={"distillation": 0.9, hard: 0.1},
            ),
            Candidate(f"KD T={t:g}, soft only", "distillation", {"temperature": t}),
            Candidate(
                f"KD T={t:g} reverse KL + 0.1 CE",
                "distillation",
                {"temperature": t, "beta": 1.0, "from_logits": True},
                parts={"distillation": 0.9, hard: 0.1},
            ),
            Candidate(
                f"KD T={t:g} JSD β=0.5 + 0.1 CE",
                "distillation",
                {"temperature": t, "beta": 0.5, "from_logits": True},
                parts={"distillation": 0.9, hard: 0.1},
            ),
        )

    def config(self, quick: bool) -> TrainConfig:
        return TrainConfig(epochs=40 if quick else 60, lr=3e-3, batch_size=32, weight_decay=1e-4)

    def description(self, quick: bool) -> str:
        teacher = " and ".join(str(h) for h in self.teacher_hidden)
        return (
            "scikit-learn's digits: 8×8 handwritten digits, 64 standardised features, 40% "
            f"held out (stratified). Only {self.labelled} of the training digits, "
            f"{self.labelled // 10} of each class, are used for training, and "
            f"{self.validation} others ({self.validation // 10} of each class) as the "
            "validation set. A teacher, a multi-layer perceptron with hidden layers of "
            f"{teacher} units, is trained on the {self.labelled} with cross-entropy for each "
            f"seed; the student, with one hidden layer of {self.student_hidden[0]} units, is "
            "trained on the same digits with Adam in batches of 32 for up to "
            f"{self.config(quick).epochs} epochs, from the same initial weights for every "
            "loss. The distillation losses match the teacher's softened distribution on the "
            "training digits (the T² factor included); the composites add the hard-label "
            "cross-entropy with weight 0.1. Calibration is measured on the student's plain "
            "softmax (temperature 1)."
        )

    def prepare(self, repeat: int, quick: bool) -> _DistillationData:
        data = lab_data.multiclass_digits(repeat)
        rng = np.random.default_rng(repeat)
        # stratified subsets of the training and validation digits
        _, keep = lab_data._stratified_split(data.y_train, self.labelled / len(data.y_train), rng)
        _, check = lab_data._stratified_split(data.y_val, self.validation / len(data.y_val), rng)
        x_train, y_train = data.x_train[keep], data.y_train[keep]
        teacher = seeded_model(
            10_000 + repeat, lambda: mlp(x_train.shape[1], self.teacher_hidden, data.classes)
        )
        fit(
            teacher,
            module_for("sparse_categorical_cross_entropy")(),
            to_tensor(x_train),
            to_tensor(y_train),
            TrainConfig(epochs=60, lr=1e-3, batch_size=32, weight_decay=1e-4),
            seed=10_000 + repeat,
            heldout_metric=lambda mod: 0.0,
        )
        teacher.eval()
        with torch.no_grad():
            train_logits, val_logits, test_logits = (
                teacher(to_tensor(x)).double() for x in (x_train, data.x_val[check], data.x_test)
            )
        return _DistillationData(
            x_train=x_train,
            y_train=y_train,
            x_val=data.x_val[check],
            y_val=data.y_val[check],
            x_test=data.x_test,
            y_test=data.y_test,
            classes=data.classes,
            teacher_train=train_logits.float(),
            teacher_val=torch.softmax(val_logits, dim=1).numpy(),
            teacher_test=torch.softmax(test_logits, dim=1).numpy(),
        )

    def extra_findings(self, summary: Mapping[str, Mapping[str, list[float]]]) -> list[str]:
        """The calibration of Hinton's recipe against the baseline, judged by the seed
        spread, and what the temperature does."""
        hinton = f"KD T={self.temperature:g}, 0.9 soft + 0.1 CE"
        base, kd, cold = (
            summary.get(self.baseline),
            summary.get(hinton),
            summary.get("KD T=1, 0.9 soft + 0.1 CE"),
        )
        if base is None or kd is None:
            return []
        sentences = []
        # accuracy, the primary metric, has a sentence per loss already; calibration only
        # a grouped verdict: here its numbers, for the usual recipe
        metric = self.metric("ece")
        comparison = Comparison(hinton, self.baseline, metric, tuple(kd["ece"]), tuple(base["ece"]))
        sentences.append(describe(comparison, self.repeat_name))
        if cold is not None:
            # the same sentence whatever the numbers: the largest per-seed gap
            gap = float(np.max(np.abs(np.array(cold["accuracy"]) - np.array(base["accuracy"]))))
            sentences.append(
                f"At T=1, distillation's accuracy stayed within {gap:.3f} of plain "
                f"cross-entropy's in every {self.repeat_name}: without a temperature the "
                "teacher's soft targets are almost its training labels."
            )
        return sentences

    def build_model(self, data: _DistillationData, candidate: Candidate) -> torch.nn.Module:
        return mlp(data.x_train.shape[1], self.student_hidden, data.classes)

    def training_pairs(
        self, data: _DistillationData, candidate: Candidate
    ) -> tuple[torch.Tensor, torch.Tensor]:
        # one target tensor per row: the label, then the teacher's logits
        labels = to_tensor(data.y_train)
        return to_tensor(data.x_train), torch.cat(
            [labels[:, None].float(), data.teacher_train], dim=1
        )

    def loss_of_batch(
        self, candidate: Candidate, data: _DistillationData, model: torch.nn.Module, seed: int
    ) -> Any:
        criterion = candidate.build()
        with_teacher = candidate.parts is not None or candidate.name == "distillation"

        def loss(logits: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
            y = rows[:, 0].long()
            if with_teacher:
                return criterion(logits, y, rows[:, 1:])
            return criterion(logits, y)

        return loss

    def measure(
        self, model: torch.nn.Module, data: _DistillationData, part: str
    ) -> dict[str, float]:
        x, y, teacher = (
            (data.x_val, data.y_val, data.teacher_val)
            if part == "val"
            else (data.x_test, data.y_test, data.teacher_test)
        )
        p = torch.softmax(model(to_tensor(x)), dim=1).double().numpy()
        return {
            **class_metrics(p, y),
            "agreement": float(np.mean(p.argmax(1) == teacher.argmax(1))),
        }

    def artifacts(self, model: torch.nn.Module, data: _DistillationData) -> dict[str, Any]:
        return {"teacher_accuracy": m.accuracy(data.teacher_test, data.y_test)}
