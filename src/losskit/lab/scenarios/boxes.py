"""Box regression: IoU-family losses against coordinate losses."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
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

#: the distribution head's last bin: each edge is predicted over bins 0, 1, ..., BINS
#: (17 bins of 1/16 of the image side, 1.5 pixels; mmdetection's GFL has reg_max 16)
BINS = 16
#: GFL's weights (Li et al. 2020, as mmdetection's GFL head): 2 GIoU + 0.25 DFL
GFL_PARTS = {"box_iou": 2.0, "distribution_focal": 0.25}


def _boxes_from_outputs(outputs: torch.Tensor) -> torch.Tensor:
    """The model's outputs -> boxes (x1, y1, x2, y2) in units of the image side.

    Four outputs: sigmoids give the centre and the size, so width and height are always
    positive.  ``4 * (BINS + 1)`` outputs (the distribution head): each edge is the
    expectation of the softmax over its bins, divided by ``BINS``; its corners may be
    inverted (an empty box, IoU 0).
    """
    if outputs.shape[-1] == 4:
        cx, cy, w, h = torch.sigmoid(outputs).unbind(-1)
        return torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], dim=-1)
    bins = torch.arange(BINS + 1, dtype=outputs.dtype)
    edges = torch.softmax(_edge_logits(outputs), dim=-1) @ bins
    return edges / BINS


def _edge_logits(outputs: torch.Tensor) -> torch.Tensor:
    """``[N, 4 * (BINS + 1)]`` -> ``[N, 4, BINS + 1]``: the logits of each edge's bins."""
    return outputs.reshape(len(outputs), 4, BINS + 1)


#: the losses a distribution-head candidate may sum: the box losses read the decoded
#: boxes, the distribution focal loss the bins of each edge against the true edge (in bins)
_BINS_LOSSES = {
    "smooth_l1": ("SmoothL1(beta=0.05)(boxes, target)", {"beta": 0.05}),
    "box_iou": ("BoxIoU(variant='giou')(boxes, target)", {"variant": "giou"}),
    "distribution_focal": (f"DistributionFocal()(edge_logits, {BINS} * target)", {}),
}


@dataclasses.dataclass(frozen=True)
class BinsHead(Candidate):
    """A weighted sum of the losses ``parts`` (names of :data:`_BINS_LOSSES`) on the
    distribution head."""

    def code(self) -> str:
        assert self.parts is not None
        return " + ".join(
            f"{weight:g} * losskit.torch.{_BINS_LOSSES[name][0]}"
            for name, weight in self.parts.items()
        )

    def build(self, auto: Mapping[str, Any] | None = None) -> Callable[..., torch.Tensor]:
        assert self.parts is not None
        terms = [
            (name, weight, Candidate("", name, _BINS_LOSSES[name][1]).build())
            for name, weight in self.parts.items()
        ]

        def loss(outputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
            boxes = _boxes_from_outputs(outputs)
            # clamped: a float32 edge at 1 may round a hair above the last bin
            edges = (BINS * target).clamp(0, BINS)
            return sum(
                weight
                * (
                    criterion(_edge_logits(outputs), edges)
                    if name == "distribution_focal"
                    else criterion(boxes, target)
                )
                for name, weight, criterion in terms
            )

        return loss


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
            # the baseline's loss on the distribution head: what the head does without DFL
            BinsHead("smooth L1 (bins)", "smooth_l1", parts={"smooth_l1": 1.0}),
            BinsHead("GIoU + DFL (bins)", "box_iou+distribution_focal", parts=GFL_PARTS),
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
            "compare the boxes. GIoU + DFL (bins) is generalised focal loss's box "
            f"regression (Li et al. 2020): the same hidden layer with a head of {BINS + 1} "
            "logits per box edge (bins of 1/16 of the side, 1.5 pixels), each edge decoded "
            "as the expectation of their softmax; it trains on 2 × GIoU of the decoded boxes "
            "+ 0.25 × distribution focal loss of the bins, GFL's weights. Its head and "
            "decoding differ from the others', so smooth L1 (bins) trains the same head with "
            "smooth L1 on the decoded boxes: smooth L1 against smooth L1 (bins) measures the "
            "head, smooth L1 (bins) against GIoU + DFL (bins) the losses. (GIoU alone did "
            "not train this head in a trial run, its IoU stayed 0: at the start every edge "
            "decodes to the middle of the image, so every box is empty.) Adam in batches of "
            "32 "
            "for up to "
            f"{self.config(quick).epochs} epochs."
        )

    def prepare(self, repeat: int, quick: bool) -> lab_data.BoxData:
        return lab_data.synthetic_boxes(repeat, **self._sizes(quick))

    def build_model(self, data: lab_data.BoxData, candidate: Candidate) -> torch.nn.Module:
        outputs = 4 * (BINS + 1) if isinstance(candidate, BinsHead) else 4
        return mlp(data.x_train.shape[1], (128,), outputs)

    def loss_of_batch(
        self, candidate: Candidate, data: lab_data.BoxData, model: torch.nn.Module, seed: int
    ) -> Any:
        criterion = candidate.build()
        if isinstance(candidate, BinsHead):
            return criterion
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
