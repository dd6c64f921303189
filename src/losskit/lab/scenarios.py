"""The built-in scenarios of ``losskit lab``.

Each scenario's ``candidates`` is a curated comparison for its data (a baseline and the
alternatives worth comparing with it, with their options), not every registered loss of
the task: the lab on a user's table (:mod:`losskit.lab.userdata`) offers every loss the
registry says it can train.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from losskit.core.registry import get_loss
from losskit.lab import data as lab_data
from losskit.lab import metrics as m
from losskit.lab.findings import Comparison, describe
from losskit.lab.scenario import (
    AUTO,
    Candidate,
    Metric,
    RunResult,
    Scenario,
    seeded_model,
    takes_integer_labels,
)
from losskit.lab.training import BestCheckpoint, Curve, TrainConfig, conv_net, fit, mlp
from losskit.torch.modules import module_for

__all__ = [
    "BUILTIN_SCENARIOS",
    "GAN",
    "Boxes",
    "Distillation",
    "ImbalancedBinary",
    "MultiClass",
    "RegressionOutliers",
    "Segmentation",
    "builtin_scenarios",
]


def _tensor(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a))


def _mean(values: list[float]) -> float:
    return float(np.mean(values))


def _class_metrics(p: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Accuracy, ECE and log loss of class probabilities ``p`` ``[N, C]``."""
    return {
        "accuracy": m.accuracy(p, labels),
        "ece": m.expected_calibration_error(p, labels),
        "nll": m.log_loss(p, labels),
    }


# -------------------------------------------------------------------- regression


class RegressionOutliers(Scenario):
    name = "regression"
    title = "Regression with outliers"
    primary = "rmse"
    baseline = "MSE"
    #: the validation targets are corrupted like the training ones: the epoch is chosen
    #: by their MAE, which the outliers sway less than the RMSE
    selection_metric = "mae"
    curve_metric = "validation MAE (corrupted targets)"
    metrics = (
        Metric("rmse", "RMSE", "lower", 1, "root mean squared error on clean held-out targets"),
        Metric("mae", "MAE", "lower", 1, "mean absolute error on clean held-out targets"),
        Metric(
            "bias",
            "bias",
            "zero",
            1,
            "mean of prediction minus truth on held-out data (the outliers push it up)",
        ),
    )
    outlier_share = 0.2

    def candidates(self) -> tuple[Candidate, ...]:
        return (
            Candidate("MSE", "mse"),
            Candidate("MAE", "mae"),
            Candidate("Huber δ=1", "huber", {"delta": 1.0}),
            Candidate("log-cosh", "log_cosh"),
            Candidate("quantile q=0.5", "quantile", {"q": 0.5}),
        )

    def config(self, quick: bool) -> TrainConfig:
        if quick:
            return TrainConfig(epochs=100, lr=0.01, weight_decay=1e-2)
        return TrainConfig(epochs=300, lr=0.003, weight_decay=1e-2)

    def description(self, quick: bool) -> str:
        config = self.config(quick)
        scale = lab_data.regression_with_outliers(0, outlier_share=self.outlier_share).scale
        return (
            "scikit-learn's diabetes data: 442 patients, 10 standardised features, the target "
            "is a measure of disease progression one year later. 30% of the patients are held "
            f"out with their true targets. In the training part, {self.outlier_share:.0%} of the "
            "targets are shifted up by 3 to 6 standard deviations, as a faulty instrument would "
            "do; 20% of the training part, corrupted alike, is the validation set, and since "
            "its targets hold outliers too, the epoch kept is chosen by validation MAE rather "
            "than RMSE. The model "
            "trains on targets centred by the median and divided by the interquartile "
            "range / 1.349 of the corrupted training targets (a robust standard deviation), so "
            f"Huber's δ=1 is one robust standard deviation: {scale:.0f} in the target's units "
            "for seed 0 (it varies a little with the seed). Predictions are converted back, "
            "and every error and bias below is in the target's units. Model: a multi-layer "
            "perceptron with one hidden layer of 16 units, trained with Adam (weight decay "
            f"{config.weight_decay:g}) on the full training set for up to {config.epochs} "
            "epochs."
        )

    def prepare(self, repeat: int, quick: bool) -> lab_data.RegressionData:
        return lab_data.regression_with_outliers(repeat, outlier_share=self.outlier_share)

    def build_model(self, data: lab_data.RegressionData, candidate: Candidate) -> torch.nn.Module:
        return mlp(data.x_train.shape[1], (16,), 1)

    def training_pairs(
        self, data: lab_data.RegressionData, candidate: Candidate
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return _tensor(data.x_train), _tensor(data.y_train[:, None])

    def _predict(
        self, model: torch.nn.Module, data: lab_data.RegressionData, x: np.ndarray
    ) -> np.ndarray:
        """Predictions in the target's units."""
        return model(_tensor(x))[:, 0].double().numpy() * data.scale + data.center

    def measure(
        self, model: torch.nn.Module, data: lab_data.RegressionData, part: str
    ) -> dict[str, float]:
        x, y = (data.x_val, data.y_val) if part == "val" else (data.x_test, data.y_test)
        y_true = y.astype(np.float64) * data.scale + data.center
        y_pred = self._predict(model, data, x)
        return {
            "rmse": m.root_mean_squared_error(y_pred, y_true),
            "mae": m.mean_absolute_error(y_pred, y_true),
            "bias": float(np.mean(y_pred - y_true)),
        }

    def artifacts(self, model: torch.nn.Module, data: lab_data.RegressionData) -> dict[str, Any]:
        return {
            "y_true": data.y_test.astype(np.float64) * data.scale + data.center,
            "y_pred": self._predict(model, data, data.x_test),
        }

    def extra_findings(self, summary: Mapping[str, Mapping[str, list[float]]]) -> list[str]:
        biases = {label: _mean(values["bias"]) for label, values in summary.items()}
        by_size = sorted(biases, key=lambda label: abs(biases[label]))
        if len(by_size) < 2:
            return []
        smallest, runner_up, largest = by_size[0], by_size[1], by_size[-1]
        metric = self.metric("bias")
        c = Comparison(
            smallest,
            runner_up,
            metric,
            tuple(summary[smallest]["bias"]),
            tuple(summary[runner_up]["bias"]),
        )
        separated = (
            f"separated from the next, {runner_up}, in every {self.repeat_name}"
            if c.verdict == "better"
            else f"not separated from the next, {runner_up}"
        )
        return [
            "The corrupted targets all lie above the truth, so a loss that follows them "
            "predicts too high on clean data. Mean held-out bias (prediction minus truth): "
            + ", ".join(f"{label} {value:+.1f}" for label, value in biases.items())
            + f"; largest in size for {largest}, smallest for {smallest} ({separated})."
        ]

    def figures(self, results: Mapping[str, list[RunResult]]) -> list[tuple[str, Any]]:
        from losskit.lab.plots import regression_fit_figure

        return [("fit", regression_fit_figure(results))]


# ------------------------------------------------------------------------ binary


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
        return _tensor(data.x_train), _tensor(data.y_train[:, None].astype(np.float32))

    def measure(
        self, model: torch.nn.Module, data: lab_data.BinaryData, part: str
    ) -> dict[str, float]:
        x, y = (data.x_val, data.y_val) if part == "val" else (data.x_test, data.y_test)
        p = torch.sigmoid(model(_tensor(x))[:, 0]).double().numpy()
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
        labels = _tensor(data.y_train)
        # sparse losses take integer labels, categorical ones one-hot targets
        targets = (
            labels
            if takes_integer_labels(candidate.name)
            else torch.nn.functional.one_hot(labels, data.classes).float()
        )
        return _tensor(data.x_train), targets

    def measure(
        self, model: torch.nn.Module, data: lab_data.ClassData, part: str
    ) -> dict[str, float]:
        x, y = (data.x_val, data.y_val) if part == "val" else (data.x_test, data.y_test)
        return _class_metrics(torch.softmax(model(_tensor(x)), dim=1).double().numpy(), y)

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


# ------------------------------------------------------------------ segmentation


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
            "(batch=False)."
        )

    def prepare(self, repeat: int, quick: bool) -> lab_data.SegmentationData:
        return lab_data.segmentation_shapes(repeat, **self._sizes(quick))

    def build_model(self, data: lab_data.SegmentationData, candidate: Candidate) -> torch.nn.Module:
        return conv_net(8, (1, 2, 4))

    def training_pairs(
        self, data: lab_data.SegmentationData, candidate: Candidate
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return _tensor(data.x_train), _tensor(data.y_train)

    @staticmethod
    def _masks(model: torch.nn.Module, x: np.ndarray) -> np.ndarray:
        return (model(_tensor(x))[:, 0] > 0).numpy()  # probability >= 0.5 <=> logit >= 0

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


# ---------------------------------------------------------------------------- GAN


class GAN(Scenario):
    name = "gan"
    title = "GAN on a ring of Gaussians"
    primary = "distance"
    baseline = "non-saturating"
    curve_metric = "validation distance to the real data"
    train_loss_label = "generator loss"
    curve_unit = "step"
    modes = 8
    std = 0.05
    radius = 4 * std
    metrics = (
        Metric(
            "distance",
            "distance",
            "lower",
            3,
            "sliced Wasserstein distance between 2000 generated and 2000 real samples (0 when "
            "the clouds match; the ring has radius 2)",
        ),
        Metric(
            "modes",
            "modes covered",
            "higher",
            1,
            f"modes (of {modes}) near which at least a quarter of their fair share of the "
            f"generated samples lie (within {radius:g}, four standard deviations)",
        ),
        Metric(
            "quality",
            "samples near a mode",
            "higher",
            3,
            f"share of generated samples within {radius:g} of some mode",
        ),
    )

    def candidates(self) -> tuple[Candidate, ...]:
        return tuple(
            Candidate(label, "gan_generator", {"variant": variant})
            for label, variant in (
                ("minimax", "minimax"),
                ("non-saturating", "non_saturating"),
                ("least squares", "least_squares"),
                ("hinge", "hinge"),
            )
        )

    def _steps(self, quick: bool) -> int:
        return 400 if quick else 1200

    def description(self, quick: bool) -> str:
        return (
            f"A mixture of {self.modes} Gaussians (standard deviation {self.std:g}) evenly "
            "placed on a circle of radius 2, sampled afresh at every step. Generator: a "
            "multi-layer perceptron from 4 Gaussian noise inputs through two hidden layers of "
            "64 units to a point in the plane; discriminator: the same shape to one logit. Each "
            "variant trains the discriminator with losskit.torch.GANDiscriminator and the "
            "generator with losskit.torch.GANGenerator of the same variant (minimax and "
            "non-saturating share the discriminator loss and differ in the generator's). "
            f"Adam (learning rate 0.001, betas 0.5 and 0.9), batches of 128, {self._steps(quick)} "
            "alternating steps; the generator kept is the one, among 30 steps spread over the "
            "run, whose samples lie closest to 1000 validation samples of the ring, and it is "
            "measured against 2000 other samples."
        )

    def budget(self, quick: bool) -> str:
        return f"{self._steps(quick)} steps"

    def prepare(self, repeat: int, quick: bool) -> dict[str, np.ndarray]:
        """The real samples of this seed that the training never sees: 1000 to choose the
        step (validation) and 2000 held out."""
        return {
            "val": lab_data.sample_ring(1000, np.random.default_rng(20_000 + repeat), std=self.std),
            "test": lab_data.sample_ring(
                2000, np.random.default_rng(10_000 + repeat), std=self.std
            ),
        }

    def train(
        self, candidate: Candidate, data: dict[str, np.ndarray], repeat: int, quick: bool
    ) -> RunResult:
        variant = candidate.options["variant"]

        generator_loss = candidate.build()
        discriminator_loss = module_for("gan_discriminator")(variant=variant)
        torch.manual_seed(repeat)
        generator, discriminator = mlp(4, (64, 64), 2), mlp(2, (64, 64), 1)
        optimizers = [
            torch.optim.Adam(net.parameters(), lr=1e-3, betas=(0.5, 0.9))
            for net in (generator, discriminator)
        ]
        noise = torch.Generator().manual_seed(repeat)
        modes = torch.from_numpy(lab_data.ring_modes(self.modes))
        noises = {
            part: torch.randn(len(data[part]), 4, generator=torch.Generator().manual_seed(seed))
            for part, seed in (("test", 7), ("val", 8))
        }
        batch, steps = 128, self._steps(quick)
        checkpoints = set(np.linspace(1, steps, 30).round().astype(int).tolist())
        curve, running, count = Curve(), 0.0, 0
        best = BestCheckpoint(self.metric(self.selection_key).goodness)

        def samples(part: str) -> np.ndarray:
            with torch.no_grad():
                return generator(noises[part]).numpy()

        for step in range(1, steps + 1):
            pick = torch.randint(0, self.modes, (batch,), generator=noise)
            real = modes[pick] + self.std * torch.randn(batch, 2, generator=noise)
            fake = generator(torch.randn(batch, 4, generator=noise))
            d_loss = discriminator_loss(discriminator(real), discriminator(fake.detach()))
            optimizers[1].zero_grad(set_to_none=True)
            d_loss.backward()
            optimizers[1].step()
            g_loss = generator_loss(discriminator(fake))
            optimizers[0].zero_grad(set_to_none=True)
            g_loss.backward()
            optimizers[0].step()
            running += float(g_loss.detach())
            count += 1
            if step in checkpoints:
                if not np.isfinite(running):
                    raise FloatingPointError(f"the generator loss became {running} at step {step}")
                curve.epochs.append(step)
                curve.train_loss.append(running / count)
                curve.heldout.append(m.sliced_wasserstein(samples("val"), data["val"]))
                best.offer(generator, step, curve.heldout[-1])
                running, count = 0.0, 0
        curve.best_epoch = best.restore(generator)
        generated = samples("test")
        covered, near = m.mode_coverage(
            generated, lab_data.ring_modes(self.modes), self.radius, 0.25 / self.modes
        )
        return RunResult(
            metrics={
                "distance": m.sliced_wasserstein(generated, data["test"]),
                "modes": float(covered),
                "quality": near,
            },
            curve=curve,
            artifacts={"samples": generated, "modes": lab_data.ring_modes(self.modes)},
        )

    def figures(self, results: Mapping[str, list[RunResult]]) -> list[tuple[str, Any]]:
        from losskit.lab.plots import gan_samples_figure

        return [("samples", gan_samples_figure(results))]


# ------------------------------------------------------------------------- boxes


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
        return _tensor(data.x_train), _tensor(data.y_train)

    @staticmethod
    def _boxes(model: torch.nn.Module, x: np.ndarray) -> np.ndarray:
        return _boxes_from_outputs(model(_tensor(x))).numpy()

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


# --------------------------------------------------------------------- embeddings


class _EmbeddingNet(torch.nn.Module):
    """An encoder to ``dim`` embedding values, and the extra parameters a loss trains
    with it: a linear classifier head (cross-entropy) or one centre per class (ArcFace,
    CosFace).  ``forward`` returns the embeddings."""

    def __init__(self, inputs: int, dim: int, classes: int, extra: str | None) -> None:
        super().__init__()
        self.encoder = mlp(inputs, (64,), dim)
        self.head = torch.nn.Linear(dim, classes) if extra == "head" else None
        self.centres = (
            torch.nn.Parameter(torch.randn(classes, dim) / dim**0.5) if extra == "centres" else None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)


class Embeddings(Scenario):
    name = "embedding"
    title = "Embeddings of handwritten digits"
    primary = "recall_at_1"
    baseline = "cross-entropy head"
    curve_metric = "validation recall@1"
    dim = 16
    per_class = 6  # examples of each class in every batch
    metrics = (
        Metric(
            "recall_at_1",
            "recall@1",
            "higher",
            3,
            "share of held-out digits whose nearest other held-out digit (cosine similarity of "
            "the embeddings) is the same digit",
        ),
        Metric(
            "knn_accuracy",
            "5-NN accuracy",
            "higher",
            3,
            "held-out digits classified by the majority of their 5 nearest training digits in "
            "the embedding (cosine similarity)",
        ),
    )

    def candidates(self) -> tuple[Candidate, ...]:
        return (
            Candidate(
                "cross-entropy head", "sparse_categorical_cross_entropy", {"from_logits": True}
            ),
            Candidate("SupCon τ=0.1", "supervised_contrastive", {"temperature": 0.1}),
            Candidate("NT-Xent τ=0.1", "nt_xent", {"temperature": 0.1}),
            Candidate("InfoNCE τ=0.1, pairs", "info_nce", {"temperature": 0.1, "symmetric": True}),
            Candidate(
                "triplet cosine m=0.2", "triplet_margin", {"margin": 0.2, "distance": "cosine"}
            ),
            Candidate("ArcFace s=16 m=0.5", "arcface", {"scale": 16.0, "margin": 0.5}),
            Candidate("CosFace s=16 m=0.35", "cosface", {"scale": 16.0, "margin": 0.35}),
        )

    def config(self, quick: bool) -> TrainConfig:
        return TrainConfig(epochs=8 if quick else 20, lr=3e-3, weight_decay=1e-4)

    def description(self, quick: bool) -> str:
        size = "a stratified subsample of 900 of its 1797" if quick else "all 1797"
        return (
            f"scikit-learn's digits: {size} handwritten digits of 8×8 pixels, 64 standardised "
            "features, 40% held out (stratified), 20% of the training part (stratified) as "
            "the validation set. Model: a multi-layer perceptron with one hidden layer of 64 "
            f"units to a {self.dim}-value embedding, trained with Adam for up to "
            f"{self.config(quick).epochs} epochs on batches of {self.per_class} digits of "
            "each class. The cross-entropy baseline trains a linear classifier on the "
            "embedding and retrieves with the embedding; ArcFace and CosFace learn one centre "
            "per class with it. SupCon and NT-Xent take the labels; InfoNCE sees only pairs "
            "(two digits of the same class, the other pairs of the batch, some of the same "
            "class, as negatives); the triplet loss takes for each digit a random positive "
            "and negative from the batch, without mining. Retrieval (among the held-out "
            "digits, or among the validation digits to choose the epoch) and the 5-NN "
            "classifier (against the training digits) compare embeddings by cosine similarity."
        )

    def prepare(self, repeat: int, quick: bool) -> lab_data.ClassData:
        return lab_data.multiclass_digits(repeat, size=900 if quick else None)

    def _sampler(self, labels: np.ndarray, classes: int) -> Any:
        """Batches of ``per_class`` rows of every class, class by class: the shuffled
        members of each class dealt out in groups; a class's remainder is left out."""
        members = [torch.from_numpy(np.flatnonzero(labels == c)) for c in range(classes)]
        k = self.per_class
        batches_per_epoch = min(len(m) for m in members) // k

        def sample(generator: torch.Generator) -> list[torch.Tensor]:
            shuffled = [m[torch.randperm(len(m), generator=generator)] for m in members]
            return [
                torch.cat([s[b * k : (b + 1) * k] for s in shuffled])
                for b in range(batches_per_epoch)
            ]

        return sample

    def _loss_of_batch(
        self, candidate: Candidate, net: _EmbeddingNet, classes: int, seed: int
    ) -> Any:
        """The candidate's loss on a batch of embeddings laid out class by class."""
        criterion = candidate.build()
        arrays = get_loss(candidate.name).arrays
        k = self.per_class
        negatives = torch.Generator().manual_seed(seed)

        def loss(embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
            if net.head is not None:
                return criterion(net.head(embeddings), labels)
            if net.centres is not None:
                return criterion(embeddings, labels, net.centres)
            if arrays == ("query", "key"):
                # two digits of a class form a pair: even and odd places within the class
                grouped = embeddings.reshape(classes, k, -1)
                return criterion(grouped[:, 0::2].flatten(0, 1), grouped[:, 1::2].flatten(0, 1))
            if arrays == ("anchor", "positive", "negative"):
                grouped = embeddings.reshape(classes, k, -1)
                positive = grouped.roll(1, dims=1)  # another digit of the class
                shift = torch.randint(1, classes, (classes, 1), generator=negatives)
                rows = (torch.arange(classes)[:, None] + shift) % classes
                negative = grouped[rows.expand(classes, k), torch.arange(k)]
                return criterion(*(t.flatten(0, 1) for t in (grouped, positive, negative)))
            return criterion(embeddings, labels)

        return loss

    def build_model(self, data: lab_data.ClassData, candidate: Candidate) -> torch.nn.Module:
        arrays = get_loss(candidate.name).arrays
        extra = "centres" if "centres" in arrays else "head" if arrays[1] == "target" else None
        return _EmbeddingNet(data.x_train.shape[1], self.dim, data.classes, extra)

    def loss_of_batch(
        self, candidate: Candidate, data: lab_data.ClassData, model: torch.nn.Module, seed: int
    ) -> Any:
        return self._loss_of_batch(candidate, model, data.classes, seed)

    def training_pairs(
        self, data: lab_data.ClassData, candidate: Candidate
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return _tensor(data.x_train), _tensor(data.y_train)

    def sampler(self, data: lab_data.ClassData) -> Any:
        return self._sampler(data.y_train, data.classes)

    def measure(
        self, model: torch.nn.Module, data: lab_data.ClassData, part: str
    ) -> dict[str, float]:
        x, y = (data.x_val, data.y_val) if part == "val" else (data.x_test, data.y_test)
        train, queries = (model(_tensor(a)).double().numpy() for a in (data.x_train, x))
        return {
            "recall_at_1": m.recall_at_1(queries, y),
            "knn_accuracy": m.knn_accuracy(train, data.y_train, queries, y),
        }


# ------------------------------------------------------------------ distillation


@dataclasses.dataclass(frozen=True)
class _DistillationData:
    """The student's digits, and the teacher's outputs on them."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
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
            _tensor(x_train),
            _tensor(y_train),
            TrainConfig(epochs=60, lr=1e-3, batch_size=32, weight_decay=1e-4),
            seed=10_000 + repeat,
            heldout_metric=lambda mod: 0.0,
        )
        teacher.eval()
        with torch.no_grad():
            train_logits, val_logits, test_logits = (
                teacher(_tensor(x)).double() for x in (x_train, data.x_val[check], data.x_test)
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
        labels = _tensor(data.y_train)
        return _tensor(data.x_train), torch.cat(
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
        p = torch.softmax(model(_tensor(x)), dim=1).double().numpy()
        return {
            **_class_metrics(p, y),
            "agreement": float(np.mean(p.argmax(1) == teacher.argmax(1))),
        }

    def artifacts(self, model: torch.nn.Module, data: _DistillationData) -> dict[str, Any]:
        return {"teacher_accuracy": m.accuracy(data.teacher_test, data.y_test)}


# ------------------------------------------------------------------- sequences


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
        return _tensor(data.x_train), torch.from_numpy(targets)

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
        read = _greedy_decode(model(_tensor(x)).transpose(1, 2))
        truth = [[c for c in row if c != 0] for row in labels.tolist()]
        errors = sum(_edit_distance(r, t) for r, t in zip(read, truth, strict=True))
        exact = sum(r == t for r, t in zip(read, truth, strict=True))
        return {
            "sequence_accuracy": exact / len(truth),
            "cer": errors / sum(len(t) for t in truth),
        }


BUILTIN_SCENARIOS: tuple[type[Scenario], ...] = (
    RegressionOutliers,
    ImbalancedBinary,
    MultiClass,
    Segmentation,
    GAN,
    Boxes,
    Embeddings,
    Distillation,
    Sequences,
)


def builtin_scenarios() -> list[Scenario]:
    """One instance of every built-in scenario, in report order."""
    return [cls() for cls in BUILTIN_SCENARIOS]
