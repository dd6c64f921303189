"""Box regression: IoU-family losses against coordinate losses."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from losskit.lab import data as lab_data
from losskit.lab import metrics as m
from losskit.lab.scenario import (
    Candidate,
    Metric,
    RunResult,
    Scenario,
)
from losskit.lab.scenarios._common import to_tensor
from losskit.lab.training import TrainConfig, mlp

__all__ = ["Boxes"]


def _boxes_from_outputs(outputs: torch.Tensor) -> torch.Tensor:
    """Four outputs -> a valid box (x1, y1, x2, y2): sigmoids give the centre and the
    size in units of the image side, so width and height are always positive."""
    cx, cy, w, h = torch.sigmoid(outputs).unbind(-1)
    return torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], dim=-1)


class Boxes(Scenario):
    name = "boxes"
    title = "Box regression"
    primary = "iou"
    baseline = "smooth L1"
    curve_metric = "validation mean IoU"
    metrics = (
        Metric("iou", "mean IoU", "higher", 3, "mean IoU of predicted and true held-out boxes"),
        Metric(
            "hit_rate", "IoU ≥ 0.5", "higher", 3, "share of held-out boxes found with IoU ≥ 0.5"
        ),
        Metric(
            "precise_rate",
            "IoU ≥ 0.75",
            "higher",
            3,
            "share of held-out boxes found with IoU ≥ 0.75",
        ),
    )

    def candidates(self) -> tuple[Candidate, ...]:
        return (
            Candidate("smooth L1", "smooth_l1", {"beta": 0.05}),
            Candidate("IoU", "box_iou", {"variant": "iou"}),
            Candidate("GIoU", "box_iou", {"variant": "giou"}),
            Candidate("DIoU", "box_iou", {"variant": "diou"}),
            Candidate("CIoU", "box_iou", {"variant": "ciou"}),
        )

    def _sizes(self, quick: bool) -> dict[str, int]:
        if quick:
            return {"train": 500, "val": 100, "test": 200, "size": 24}
        return {"train": 1500, "val": 300, "test": 300, "size": 24}

    def config(self, quick: bool) -> TrainConfig:
        return TrainConfig(epochs=8 if quick else 15, lr=1e-3, batch_size=32)

    def description(self, quick: bool) -> str:
        sizes = self._sizes(quick)
        return (
            f"Synthetic noisy grey images of {sizes['size']}×{sizes['size']} pixels, generated "
            f"from the seed ({sizes['train'] + sizes['val']} for training, of which "
            f"{sizes['val']} are the validation set, and {sizes['test']} held out), each "
            "holding one bright rectangle of random position and size; the target is its box "
            "(x1, y1, x2, y2) in units of the image side. Model: a multi-layer perceptron with "
            "one hidden layer of 128 units on the raw pixels; its four outputs go through "
            "sigmoids to a centre and a size, so every predicted box is valid. Smooth L1 "
            "compares the four coordinates (β = 0.05 is about one pixel); the IoU losses "
            "compare the boxes. Adam in batches of 32 for up to "
            f"{self.config(quick).epochs} epochs."
        )

    def prepare(self, repeat: int, quick: bool) -> lab_data.BoxData:
        return lab_data.synthetic_boxes(repeat, **self._sizes(quick))

    def build_model(self, data: lab_data.BoxData, candidate: Candidate) -> torch.nn.Module:
        return mlp(data.x_train.shape[1], (128,), 4)

    def loss_of_batch(
        self, candidate: Candidate, data: lab_data.BoxData, model: torch.nn.Module, seed: int
    ) -> Any:
        criterion = candidate.build()
        return lambda outputs, target: criterion(_boxes_from_outputs(outputs), target)

    def training_pairs(
        self, data: lab_data.BoxData, candidate: Candidate
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return to_tensor(data.x_train), to_tensor(data.y_train)

    @staticmethod
    def _boxes(model: torch.nn.Module, x: np.ndarray) -> np.ndarray:
        return _boxes_from_outputs(model(to_tensor(x))).numpy()

    def measure(
        self, model: torch.nn.Module, data: lab_data.BoxData, part: str
    ) -> dict[str, float]:
        x, y = (data.x_val, data.y_val) if part == "val" else (data.x_test, data.y_test)
        iou = m.box_iou(self._boxes(model, x), y)
        return {
            "iou": float(iou.mean()),
            "hit_rate": float(np.mean(iou >= 0.5)),
            "precise_rate": float(np.mean(iou >= 0.75)),
        }

    def artifacts(self, model: torch.nn.Module, data: lab_data.BoxData) -> dict[str, Any]:
        size = data.size
        return {
            "images": data.x_test[:5].reshape(-1, size, size),
            "boxes": data.y_test[:5],
            "predicted": self._boxes(model, data.x_test[:5]),
        }

    def figures(self, results: Mapping[str, list[RunResult]]) -> list[tuple[str, Any]]:
        from losskit.lab.plots import box_examples_figure

        return [("examples", box_examples_figure(results))]
