"""The built-in scenarios of ``losskit lab``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from losskit.lab import data as lab_data
from losskit.lab import metrics as m
from losskit.lab.scenario import AUTO, Candidate, Metric, RunResult, Scenario, seeded_model
from losskit.lab.training import TrainConfig, conv_net, fit, mlp

__all__ = [
    "BUILTIN_SCENARIOS",
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


# -------------------------------------------------------------------- regression


class RegressionOutliers(Scenario):
    name = "regression"
    title = "Regression with outliers"
    primary = "rmse"
    baseline = "MSE"
    curve_metric = "held-out RMSE"
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

    def _config(self, quick: bool) -> TrainConfig:
        if quick:
            return TrainConfig(epochs=100, lr=0.01, weight_decay=1e-2)
        return TrainConfig(epochs=300, lr=0.003, weight_decay=1e-2)

    def description(self, quick: bool) -> str:
        config = self._config(quick)
        return (
            "scikit-learn's diabetes data: 442 patients, 10 standardised features, the target "
            "is a measure of disease progression one year later. 30% of the patients are held "
            f"out with their true targets. In the training part, {self.outlier_share:.0%} of the "
            "targets are shifted up by 3 to 6 standard deviations, as a faulty instrument would "
            "do. Model: a multi-layer perceptron with one hidden layer of 16 units, trained "
            f"with Adam (weight decay {config.weight_decay:g}) on the full training set for "
            f"{config.epochs} epochs. Errors are in the target's units."
        )

    def prepare(self, repeat: int, quick: bool) -> lab_data.RegressionData:
        return lab_data.regression_with_outliers(repeat, outlier_share=self.outlier_share)

    def train(
        self, candidate: Candidate, data: lab_data.RegressionData, repeat: int, quick: bool
    ) -> RunResult:
        criterion = candidate.module()
        model = seeded_model(repeat, lambda: mlp(data.x_train.shape[1], (16,), 1))
        x_test = _tensor(data.x_test)

        def predict(model: torch.nn.Module) -> np.ndarray:
            return model(x_test)[:, 0].numpy() * data.scale + data.center

        y_true = data.y_test * data.scale + data.center
        curve = fit(
            model,
            criterion,
            _tensor(data.x_train),
            _tensor(data.y_train[:, None]),
            self._config(quick),
            seed=repeat,
            heldout_metric=lambda mod: m.root_mean_squared_error(predict(mod), y_true),
        )
        model.eval()
        with torch.no_grad():
            y_pred = predict(model)
        return RunResult(
            metrics={
                "rmse": m.root_mean_squared_error(y_pred, y_true),
                "mae": m.mean_absolute_error(y_pred, y_true),
                "bias": float(np.mean(y_pred - y_true)),
            },
            curve=curve,
            artifacts={"y_true": y_true, "y_pred": y_pred},
        )

    def extra_findings(self, summary: Mapping[str, Mapping[str, list[float]]]) -> list[str]:
        biases = {label: _mean(values["bias"]) for label, values in summary.items()}
        smallest = min(biases, key=lambda label: abs(biases[label]))
        largest = max(biases, key=lambda label: abs(biases[label]))
        if largest == smallest:
            return []
        return [
            "The corrupted targets all lie above the truth, so a loss that follows them "
            "predicts too high on clean data. Mean held-out bias (prediction minus truth): "
            + ", ".join(f"{label} {value:+.1f}" for label, value in biases.items())
            + f"; largest in size for {largest}, smallest for {smallest}."
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
    curve_metric = "held-out average precision"
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

    def _config(self, quick: bool) -> TrainConfig:
        return TrainConfig(epochs=100 if quick else 200, lr=0.01, weight_decay=1e-4)

    def description(self, quick: bool) -> str:
        return (
            "scikit-learn's breast-cancer data: 30 standardised features of a tumour; malignant "
            "is the positive class. All 357 benign cases are kept and 18 malignant ones drawn "
            "at random, about 1 positive in 20, then each class is split in half between "
            "training and test, so the test set holds only 9 positives and every metric moves "
            "in steps. pos_weight is set to negatives / positives of the training set. Model: "
            "a multi-layer perceptron with one hidden layer of 32 units, trained with Adam on "
            f"the full training set for {self._config(quick).epochs} epochs."
        )

    def prepare(self, repeat: int, quick: bool) -> lab_data.BinaryData:
        return lab_data.imbalanced_binary(repeat)

    def train(
        self, candidate: Candidate, data: lab_data.BinaryData, repeat: int, quick: bool
    ) -> RunResult:
        criterion = candidate.module({"pos_weight": data.negatives_per_positive})
        model = seeded_model(repeat, lambda: mlp(data.x_train.shape[1], (32,), 1))
        x_test = _tensor(data.x_test)

        def scores(model: torch.nn.Module) -> np.ndarray:
            return torch.sigmoid(model(x_test)[:, 0]).numpy()

        curve = fit(
            model,
            criterion,
            _tensor(data.x_train),
            _tensor(data.y_train[:, None].astype(np.float32)),
            self._config(quick),
            seed=repeat,
            heldout_metric=lambda mod: m.average_precision(scores(mod), data.y_test),
        )
        model.eval()
        with torch.no_grad():
            p = scores(model)
        return RunResult(
            metrics={
                "average_precision": m.average_precision(p, data.y_test),
                "recall_at_precision": m.recall_at_precision(p, data.y_test, self.min_precision),
                "f1": m.f1_at_threshold(p, data.y_test),
            },
            curve=curve,
        )


# ------------------------------------------------------------------- multi-class


class MultiClass(Scenario):
    name = "multiclass"
    title = "Multi-class classification"
    primary = "accuracy"
    baseline = "CE one-hot"
    curve_metric = "held-out accuracy"
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

    def _config(self, quick: bool) -> TrainConfig:
        return TrainConfig(epochs=8 if quick else 25, lr=3e-3, batch_size=64, weight_decay=1e-4)

    def description(self, quick: bool) -> str:
        size = "a stratified subsample of 600 of its 1797" if quick else "all 1797"
        return (
            f"scikit-learn's digits: {size} handwritten digits of 8×8 pixels, 10 classes, "
            "64 standardised features, 40% held out (stratified). The one-hot and the sparse "
            "cross-entropy compute the same loss from different label formats. Model: a "
            "multi-layer perceptron with one hidden layer of 64 units, trained with Adam in "
            f"batches of 64 for {self._config(quick).epochs} epochs."
        )

    def prepare(self, repeat: int, quick: bool) -> lab_data.ClassData:
        return lab_data.multiclass_digits(repeat, size=600 if quick else None)

    def train(
        self, candidate: Candidate, data: lab_data.ClassData, repeat: int, quick: bool
    ) -> RunResult:
        criterion = candidate.module()
        model = seeded_model(repeat, lambda: mlp(data.x_train.shape[1], (64,), data.classes))
        labels = _tensor(data.y_train)
        # categorical losses take one-hot targets, sparse ones integer labels
        targets = (
            torch.nn.functional.one_hot(labels, data.classes).float()
            if candidate.name.startswith("categorical")
            else labels
        )
        x_test = _tensor(data.x_test)

        def probabilities(model: torch.nn.Module) -> np.ndarray:
            return torch.softmax(model(x_test), dim=1).double().numpy()

        curve = fit(
            model,
            criterion,
            _tensor(data.x_train),
            targets,
            self._config(quick),
            seed=repeat,
            heldout_metric=lambda mod: m.accuracy(probabilities(mod), data.y_test),
        )
        model.eval()
        with torch.no_grad():
            p = probabilities(model)
        true_class = p[np.arange(len(p)), data.y_test]
        return RunResult(
            metrics={
                "accuracy": m.accuracy(p, data.y_test),
                "ece": m.expected_calibration_error(p, data.y_test),
                "nll": float(-np.mean(np.log(np.clip(true_class, 1e-12, None)))),
            },
            curve=curve,
        )

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
    curve_metric = "held-out mean IoU"
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
        )

    def _sizes(self, quick: bool) -> dict[str, int]:
        if quick:
            return {"train": 96, "test": 48, "size": 24}
        return {"train": 192, "test": 96, "size": 24}

    def _config(self, quick: bool) -> TrainConfig:
        return TrainConfig(epochs=10 if quick else 25, lr=5e-3, batch_size=16)

    def description(self, quick: bool) -> str:
        sizes = self._sizes(quick)
        return (
            f"Synthetic grey images of {sizes['size']}×{sizes['size']} pixels, generated from "
            f"the seed: {sizes['train']} for training and {sizes['test']} held out. Each holds "
            "one or two discs or rectangles (the mask) on a noisy background with a brightness "
            "gradient; a quarter of the images hold no shape at all (an empty mask), and half "
            "of all images hold a thin line as bright as the shapes that is not part of the "
            "mask. Model: a fully convolutional net of three 3×3 convolutions with 8 channels "
            "(dilations 1, 2, 4), trained with Adam in batches of 16 for "
            f"{self._config(quick).epochs} epochs. The overlap losses use per-image statistics "
            "(batch=False)."
        )

    def prepare(self, repeat: int, quick: bool) -> lab_data.SegmentationData:
        return lab_data.segmentation_shapes(repeat, **self._sizes(quick))

    def train(
        self, candidate: Candidate, data: lab_data.SegmentationData, repeat: int, quick: bool
    ) -> RunResult:
        criterion = candidate.module()
        model = seeded_model(repeat, lambda: conv_net(8, (1, 2, 4)))
        x_test = _tensor(data.x_test)
        truth = data.y_test[:, 0] > 0.5
        empty = ~truth.reshape(len(truth), -1).any(axis=1)

        def predicted(model: torch.nn.Module) -> np.ndarray:
            return (model(x_test)[:, 0] > 0).numpy()  # probability >= 0.5 <=> logit >= 0

        curve = fit(
            model,
            criterion,
            _tensor(data.x_train),
            _tensor(data.y_train),
            self._config(quick),
            seed=repeat,
            heldout_metric=lambda mod: float(m.mask_dice_iou(predicted(mod), truth)[1].mean()),
        )
        model.eval()
        with torch.no_grad():
            masks = predicted(model)
        dice, iou = m.mask_dice_iou(masks, truth)
        return RunResult(
            metrics={
                "iou": float(iou.mean()),
                "dice": float(dice.mean()),
                "empty_correct": float(iou[empty].mean()) if empty.any() else 1.0,
                "shape_iou": float(iou[~empty].mean()),
            },
            curve=curve,
            artifacts={"images": data.x_test[:6, 0], "masks": truth[:6], "predicted": masks[:6]},
        )

    def figures(self, results: Mapping[str, list[RunResult]]) -> list[tuple[str, Any]]:
        from losskit.lab.plots import segmentation_examples_figure

        return [("examples", segmentation_examples_figure(results))]


BUILTIN_SCENARIOS: tuple[type[Scenario], ...] = (
    RegressionOutliers,
    ImbalancedBinary,
    MultiClass,
    Segmentation,
)


def builtin_scenarios() -> list[Scenario]:
    """One instance of every built-in scenario, in report order."""
    return [cls() for cls in BUILTIN_SCENARIOS]
