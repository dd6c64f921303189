"""Segmentation of shapes: overlap losses against per-pixel cross-entropy."""

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
from losskit.lab.training import TrainConfig, conv_net
from losskit.losses.distance_maps import distance_maps

__all__ = ["Segmentation"]

#: weight of the boundary loss added to Dice (Kervadec et al. start theirs at 0.01 and
#: raise it by 0.01 an epoch; a fixed 0.1 is about where 25 epochs of that would end)
BOUNDARY_WEIGHT = 0.1


@dataclasses.dataclass(frozen=True)
class ShapesWithDistances(lab_data.SegmentationData):
    """The shapes and the signed distance maps of the training masks (``[N, 1, S, S]``,
    :func:`losskit.distance_maps`), computed once per repeat."""

    distance_train: np.ndarray


@dataclasses.dataclass(frozen=True)
class DiceWithBoundary(Candidate):
    """Dice plus ``weight`` times the boundary loss, whose second array is the signed
    distance map of the mask rather than the mask: it trains on targets ``[N, 2, S, S]``
    holding the masks (channel 0) and their distance maps (channel 1)."""

    weight: float = BOUNDARY_WEIGHT

    def code(self) -> str:
        return (
            "losskit.torch.Dice(from_logits=True, axis=None)(logits, masks) + "
            f"{self.weight:g} * losskit.torch.BoundaryLoss(from_logits=True)(logits, "
            "torch.from_numpy(losskit.distance_maps(masks)))"
        )

    def build(self, auto: Mapping[str, Any] | None = None) -> Callable[..., torch.Tensor]:
        dice = Candidate("", "dice", {"from_logits": True, "axis": None}).build()
        boundary = Candidate("", "boundary_loss", {"from_logits": True}).build()

        def loss(logits: torch.Tensor, masks_and_maps: torch.Tensor) -> torch.Tensor:
            masks, maps = masks_and_maps[:, :1], masks_and_maps[:, 1:]
            return dice(logits, masks) + self.weight * boundary(logits, maps)

        return loss


class Segmentation(Scenario):
    name = "segmentation"
    title = "Segmentation of shapes"
    primary = "iou"
    baseline = "BCE"
    curve_metric = "validation mean IoU"
    metrics = (
        Metric(
            "iou",
            "mean IoU",
            "higher",
            3,
            "intersection over union of the predicted mask (probability ≥ 0.5) and the true "
            "mask, per held-out image, averaged over all of them; an empty prediction on an "
            "empty image scores 1, any predicted pixel on it 0",
        ),
        Metric(
            "dice", "mean Dice", "higher", 3, "Dice score per held-out image, averaged likewise"
        ),
        Metric(
            "empty_correct",
            "empty images kept empty",
            "higher",
            3,
            "share of the held-out images without a shape on which no pixel is predicted",
        ),
        Metric(
            "shape_iou",
            "IoU on images with shapes",
            "higher",
            3,
            "mean IoU over the held-out images that hold a shape",
        ),
    )

    def candidates(self) -> tuple[Candidate, ...]:
        logits = {"from_logits": True}
        binary = {"from_logits": True, "axis": None}  # axis=None: binary masks, sigmoid
        return (
            Candidate("BCE", "binary_cross_entropy", logits),
            Candidate("Dice", "dice", binary),
            Candidate("soft IoU", "jaccard", binary),
            Candidate("Tversky α=0.3 β=0.7", "tversky", {**binary, "alpha": 0.3, "beta": 0.7}),
            Candidate(
                "Dice + BCE",
                "dice+binary_cross_entropy",
                logits,
                parts={"dice": 0.5, "binary_cross_entropy": 0.5},
            ),
            # Berman et al.'s per-image Lovász hinge on the logits, trained from the start
            Candidate("Lovász hinge", "lovasz_hinge", {}),
            # a softmax over the two logits (0, z): class 1's probability is sigmoid(z)
            Candidate("generalised Dice", "generalized_dice", {"from_logits": True, "axis": 1}),
            DiceWithBoundary(
                f"Dice + {BOUNDARY_WEIGHT:g} boundary",
                "dice+boundary_loss",
                parts={"dice": 1.0, "boundary_loss": BOUNDARY_WEIGHT},
            ),
        )

    def _sizes(self, quick: bool) -> dict[str, int]:
        if quick:
            return {"train": 96, "val": 24, "test": 48, "size": 24}
        return {"train": 192, "val": 48, "test": 96, "size": 24}

    def config(self, quick: bool) -> TrainConfig:
        return TrainConfig(epochs=10 if quick else 25, lr=5e-3, batch_size=16)

    def description(self, quick: bool) -> str:
        sizes = self._sizes(quick)
        return (
            f"Synthetic grey images of {sizes['size']}×{sizes['size']} pixels, generated from "
            f"the seed: {sizes['train'] + sizes['val']} for training, of which "
            f"{sizes['val']} are the validation set, and {sizes['test']} held out. Each holds "
            "one or two discs or rectangles (the mask) on a noisy background with a brightness "
            "gradient; a quarter of the images hold no shape at all (an empty mask), and half "
            "of all images hold a thin line as bright as the shapes that is not part of the "
            "mask. Model: a fully convolutional net of three 3×3 convolutions with 8 channels "
            "(dilations 1, 2, 4), trained with Adam in batches of 16 for up to "
            f"{self.config(quick).epochs} epochs. The overlap losses use per-image statistics "
            "(batch=False). Generalised Dice sees two classes, background and shape, as a "
            "softmax over the logits (0, z), so the model and the rule 'shape where z > 0' "
            "are the same as for the others; each class weighs the inverse square of its "
            "area in the image. The boundary loss (Kervadec et al. 2019) weighs each "
            "pixel's probability by the signed distance to the true mask's contour "
            "(losskit.distance_maps, computed once per seed; 0 on an image without a "
            f"shape); it is added to Dice with the fixed weight {BOUNDARY_WEIGHT:g}, where "
            "the paper raises the weight of the boundary term by 0.01 an epoch."
        )

    def prepare(self, repeat: int, quick: bool) -> ShapesWithDistances:
        shapes = lab_data.segmentation_shapes(repeat, **self._sizes(quick))
        fields = {f.name: getattr(shapes, f.name) for f in dataclasses.fields(shapes)}
        return ShapesWithDistances(**fields, distance_train=distance_maps(shapes.y_train))

    def build_model(self, data: lab_data.SegmentationData, candidate: Candidate) -> torch.nn.Module:
        return conv_net(8, (1, 2, 4))

    def training_pairs(
        self, data: ShapesWithDistances, candidate: Candidate
    ) -> tuple[torch.Tensor, torch.Tensor]:
        masks = to_tensor(data.y_train)
        if isinstance(candidate, DiceWithBoundary):
            return to_tensor(data.x_train), torch.cat([masks, to_tensor(data.distance_train)], 1)
        return to_tensor(data.x_train), masks

    def loss_of_batch(
        self, candidate: Candidate, data: ShapesWithDistances, model: torch.nn.Module, seed: int
    ) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
        criterion = candidate.build()
        if candidate.name != "generalized_dice":
            return criterion
        # two classes from one logit z: softmax(0, z) = (1 - sigmoid(z), sigmoid(z)), against
        # one-hot masks (integer labels take a path about 20 times slower on these sizes)
        return lambda z, masks: criterion(
            torch.cat([torch.zeros_like(z), z], 1), torch.cat([1 - masks, masks], 1)
        )

    @staticmethod
    def _masks(model: torch.nn.Module, x: np.ndarray) -> np.ndarray:
        return (model(to_tensor(x))[:, 0] > 0).numpy()  # probability >= 0.5 <=> logit >= 0

    def measure(
        self, model: torch.nn.Module, data: lab_data.SegmentationData, part: str
    ) -> dict[str, float]:
        x, y = (data.x_val, data.y_val) if part == "val" else (data.x_test, data.y_test)
        truth = y[:, 0] > 0.5
        empty = ~truth.reshape(len(truth), -1).any(axis=1)
        dice, iou = m.mask_dice_iou(self._masks(model, x), truth)
        return {
            "iou": float(iou.mean()),
            "dice": float(dice.mean()),
            "empty_correct": float(iou[empty].mean()) if empty.any() else 1.0,
            "shape_iou": float(iou[~empty].mean()) if (~empty).any() else 1.0,
        }

    def artifacts(self, model: torch.nn.Module, data: lab_data.SegmentationData) -> dict[str, Any]:
        return {
            "images": data.x_test[:6, 0],
            "masks": data.y_test[:6, 0] > 0.5,
            "predicted": self._masks(model, data.x_test[:6]),
        }

    def figures(self, results: Mapping[str, list[RunResult]]) -> list[tuple[str, Any]]:
        from losskit.lab.plots import segmentation_examples_figure

        return [("examples", segmentation_examples_figure(results))]
