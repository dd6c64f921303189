"""Regression with outliers: robust losses against squared error."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from losskit.lab import data as lab_data
from losskit.lab import metrics as m
from losskit.lab.findings import Comparison
from losskit.lab.scenario import (
    Candidate,
    Metric,
    RunResult,
    Scenario,
)
from losskit.lab.scenarios._common import mean_of, to_tensor
from losskit.lab.training import TrainConfig, mlp

__all__ = ["RegressionOutliers"]


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
        return to_tensor(data.x_train), to_tensor(data.y_train[:, None])

    def _predict(
        self, model: torch.nn.Module, data: lab_data.RegressionData, x: np.ndarray
    ) -> np.ndarray:
        """Predictions in the target's units."""
        return model(to_tensor(x))[:, 0].double().numpy() * data.scale + data.center

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
        biases = {label: mean_of(values["bias"]) for label, values in summary.items()}
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
