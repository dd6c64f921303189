"""Reading rows of handwritten digits: CTC against aligned frame cross-entropy."""

from __future__ import annotations

from typing import Any

import torch

from losskit.lab import data as lab_data
from losskit.lab.scenario import (
    Candidate,
    Metric,
    Scenario,
)
from losskit.lab.scenarios._common import to_tensor
from losskit.lab.training import TrainConfig

__all__ = ["Sequences"]


def _greedy_decode(log_probs: torch.Tensor) -> list[list[int]]:
    """Best path of ``[B, T, C]`` scores: the most likely class per frame, repeats
    merged, blanks (0) dropped."""
    best = log_probs.argmax(dim=-1).tolist()
    rows = []
    for path in best:
        rows.append([c for i, c in enumerate(path) if c != 0 and (i == 0 or path[i - 1] != c)])
    return rows


def _edit_distance(a: list[int], b: list[int]) -> int:
    """Levenshtein distance between two label sequences."""
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


class _ColumnWindows(torch.nn.Module):
    """Scores per column from the ``window`` columns around it: ``[B, 8, T]`` pixels to
    ``[B, classes, T]`` scores, one small MLP shared by every column (a 1-D convolution
    written as matrix products, which are much faster on a CPU at this size)."""

    def __init__(self, window: int, hidden: int, classes: int) -> None:
        super().__init__()
        self.window = window
        self.mlp = torch.nn.Sequential(
            torch.nn.Linear(8 * window, hidden),
            torch.nn.ReLU(),
            torch.nn.Linear(hidden, hidden),
            torch.nn.ReLU(),
            torch.nn.Linear(hidden, classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        half = self.window // 2
        padded = torch.nn.functional.pad(x, (half, half))
        windows = padded.unfold(2, self.window, 1)  # [B, 8, T, window]
        columns = windows.permute(0, 2, 1, 3).flatten(2)  # [B, T, 8 * window]
        return self.mlp(columns).transpose(1, 2)


class Sequences(Scenario):
    name = "sequences"
    title = "Reading rows of handwritten digits"
    primary = "sequence_accuracy"
    baseline = "frame CE, true alignment"
    curve_metric = "validation sequence accuracy"
    metrics = (
        Metric(
            "sequence_accuracy",
            "sequence accuracy",
            "higher",
            3,
            "share of held-out rows read exactly (best path: the likeliest class per "
            "column, repeats merged, blanks dropped)",
        ),
        Metric(
            "cer",
            "character error rate",
            "lower",
            3,
            "edit distance between the read and the true digits over the number of true digits",
        ),
    )

    def candidates(self) -> tuple[Candidate, ...]:
        ctc = {"from_logits": True, "zero_infinity": True}
        return (
            Candidate(
                "frame CE, true alignment",
                "sparse_categorical_cross_entropy",
                {"from_logits": True},
            ),
            Candidate("CTC, mean per target length", "ctc", ctc),
            Candidate("CTC, sum per row", "ctc", {**ctc, "reduction": "sum"}),
        )

    def _rows(self, quick: bool) -> tuple[int, int, int]:
        return (500, 150, 300) if quick else (1000, 250, 500)

    def config(self, quick: bool) -> TrainConfig:
        return TrainConfig(epochs=40 if quick else 45, lr=1e-2, batch_size=64)

    def description(self, quick: bool) -> str:
        fit, val, test = self._rows(quick)
        return (
            "Rows of 1 to 4 of scikit-learn's digits side by side, 1 to 3 blank columns "
            f"before each, read column by column (48 frames of 8 pixels): {fit} training, "
            f"{val} validation and {test} held-out rows, built from disjoint digit images "
            "(60/40 stratified, 20% of the training images for validation). CTC is given "
            "only each row's digits; the frame-wise cross-entropy baseline is given the "
            "class of every column (the alignment, which real data rarely has). Model: "
            "an MLP (two hidden layers of 64) on the 13 columns around each column, 11 "
            "classes per column (blank and 10 digits), trained with Adam in batches of 64 "
            f"for up to {self.config(quick).epochs} epochs."
        )

    def prepare(self, repeat: int, quick: bool) -> lab_data.SequenceData:
        return lab_data.digit_sequences(repeat, rows=self._rows(quick))

    def build_model(self, data: lab_data.SequenceData, candidate: Candidate) -> torch.nn.Module:
        return _ColumnWindows(window=13, hidden=64, classes=11)

    def training_pairs(
        self, data: lab_data.SequenceData, candidate: Candidate
    ) -> tuple[torch.Tensor, torch.Tensor]:
        targets = data.labels_train if candidate.name == "ctc" else data.frames_train
        return to_tensor(data.x_train), torch.from_numpy(targets)

    def loss_of_batch(
        self, candidate: Candidate, data: lab_data.SequenceData, model: torch.nn.Module, seed: int
    ) -> Any:
        loss = candidate.build()
        if candidate.name != "ctc":
            return loss  # scores [B, 11, T] against column classes [B, T]

        def ctc(scores: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
            frames = torch.full((len(labels),), scores.shape[-1], dtype=torch.int64)
            # rows are padded with the blank, which no digit is
            return loss(scores.transpose(1, 2), labels, frames, (labels != 0).sum(dim=1))

        return ctc

    def measure(
        self, model: torch.nn.Module, data: lab_data.SequenceData, part: str
    ) -> dict[str, float]:
        x, labels = (
            (data.x_val, data.labels_val)
            if part == "val"
            else (
                data.x_test,
                data.labels_test,
            )
        )
        read = _greedy_decode(model(to_tensor(x)).transpose(1, 2))
        truth = [[c for c in row if c != 0] for row in labels.tolist()]
        errors = sum(_edit_distance(r, t) for r, t in zip(read, truth, strict=True))
        exact = sum(r == t for r, t in zip(read, truth, strict=True))
        return {
            "sequence_accuracy": exact / len(truth),
            "cer": errors / sum(len(t) for t in truth),
        }
