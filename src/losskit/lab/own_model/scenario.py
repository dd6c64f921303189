"""The user's model, data and losses as a lab scenario: PyTorch models train with the
lab's loop, Keras models with ``fit`` and a checkpoint callback."""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch

from losskit.lab import metrics as m
from losskit.lab.data import Splits, carve_validation
from losskit.lab.metrics import Metric
from losskit.lab.own_model.losses import keras_loss, label_form
from losskit.lab.scenario import (
    Candidate,
    RunResult,
    Scenario,
)
from losskit.lab.training import BestCheckpoint, Curve, TrainConfig, checkpoint_epochs

__all__ = ["EVAL_ROWS", "OwnModelScenario", "is_keras"]


#: Rows evaluated at a time when measuring a model.
EVAL_ROWS = 1024


def is_keras(model: Any) -> bool:
    keras = sys.modules.get("keras")
    return keras is not None and isinstance(model, keras.Model)


class OwnModelScenario(Scenario):
    """The user's model, data and losses as a lab scenario (built by :func:`compare`)."""

    def __init__(
        self,
        factory: Callable[[], Any],
        candidates: tuple[Candidate, ...],
        *,
        task: str,
        train: tuple[np.ndarray, np.ndarray],
        test: tuple[np.ndarray, np.ndarray],
        validation: float | tuple[np.ndarray, np.ndarray],
        config: TrainConfig,
        metrics: tuple[Metric, ...],
        scorers: Mapping[str, Callable[[np.ndarray, np.ndarray], float]] | None,
        primary: str,
        name: str,
        title: str,
        keras_model: bool,
        output_shape: tuple[int, ...],
    ) -> None:
        self.factory = factory
        self._candidates = candidates
        self.task = task
        self.train_rows, self.test_rows, self.validation = train, test, validation
        self._config = config
        self.metrics = metrics
        self.scorers = scorers
        self.primary = primary
        self.name, self.title = name, title
        self.baseline = candidates[0].label
        self.curve_metric = f"validation {self.metric(primary).label}"
        self.keras_model = keras_model
        self.output_shape = output_shape

    def candidates(self) -> tuple[Candidate, ...]:
        return self._candidates

    def config(self, quick: bool) -> TrainConfig:
        return self._config

    def description(self, quick: bool) -> str:
        x, _ = self.train_rows
        if isinstance(self.validation, float):
            validation = (
                f"{self.validation:.0%}"
                + (" (stratified by class)" if self.task != "regression" else "")
                + ", drawn anew for each seed, is the validation part"
            )
        else:
            validation = f"{len(self.validation[1])} rows given for validation"
        c = self._config
        batch = "the whole training part" if c.batch_size is None else f"batches of {c.batch_size}"
        factory = getattr(self.factory, "__name__", type(self.factory).__name__)
        return (
            f"Your model ({factory}(), a {'Keras' if self.keras_model else 'PyTorch'} model) "
            f"on your data, task {self.task}: {len(x)} training rows of shape "
            f"{list(x.shape[1:])}, of which {validation}; {len(self.test_rows[1])} held-out rows. "
            f"Trained with Adam (learning rate {c.lr:g}) on {batch} for up to {c.epochs} epochs."
        )

    def prepare(self, repeat: int, quick: bool) -> Splits:
        x, y = self.train_rows
        if isinstance(self.validation, float):
            stratify = None
            if self.task != "regression":
                counts = np.bincount(y)
                stratify = y if counts[counts > 0].min() >= 2 else None
            fit, val = carve_validation(len(y), self.validation, repeat, stratify)
            return Splits(x[fit], y[fit], x[val], y[val], *self.test_rows)
        return Splits(x, y, *self.validation, *self.test_rows)

    def targets(self, y: np.ndarray, candidate: Candidate) -> np.ndarray:
        """``y`` in the form the candidate's loss takes, shaped as the model's output."""
        form = label_form(candidate, self.task)
        if self.task == "multi-class":
            if form == "one-hot":
                return np.eye(self.output_shape[-1], dtype=np.float32)[y]
            return y
        y = y.astype(np.float32)
        if y.size == len(y) * math.prod(self.output_shape):
            y = y.reshape((len(y), *self.output_shape))
        return 2.0 * y - 1.0 if form == "sign" else y

    def build_model(self, data: Splits, candidate: Candidate) -> Any:
        return self.factory()

    def training_pairs(self, data: Splits, candidate: Candidate) -> tuple[torch.Tensor, ...]:
        return (
            torch.from_numpy(data.x_train),
            torch.from_numpy(self.targets(data.y_train, candidate)),
        )

    def loss_of_batch(self, candidate: Candidate, data: Splits, model: Any, seed: int) -> Any:
        return candidate.build({"pos_weight": _negatives_per_positive(data.y_train)})

    def outputs(self, model: Any, x: np.ndarray) -> np.ndarray:
        """The model's outputs on ``x``, as NumPy, :data:`EVAL_ROWS` rows at a time."""
        chunks = []
        for start in range(0, len(x), EVAL_ROWS):
            rows = x[start : start + EVAL_ROWS]
            if self.keras_model:
                import keras

                chunks.append(keras.ops.convert_to_numpy(model(rows, training=False)))
            else:
                chunks.append(model(torch.from_numpy(rows)).detach().numpy())
        return np.concatenate(chunks).astype(np.float64)

    def measure(self, model: Any, data: Splits, part: str) -> dict[str, float]:
        x, y = (data.x_val, data.y_val) if part == "val" else (data.x_test, data.y_test)
        outputs = self.outputs(model, x)
        if self.scorers is None:
            return m.task_scores(self.task, outputs, y)
        return {key: float(fn(outputs, y)) for key, fn in self.scorers.items()}

    def train(self, candidate: Candidate, data: Splits, repeat: int, quick: bool) -> RunResult:
        if not self.keras_model:
            return super().train(candidate, data, repeat, quick)
        return self._train_keras(candidate, data, repeat)

    def _train_keras(self, candidate: Candidate, data: Splits, seed: int) -> RunResult:
        """Keras's ``fit``; a callback evaluates the validation metric at the curve's
        epochs and the weights of the best one are restored at the end."""
        import keras

        keras.utils.set_random_seed(seed)
        model = self.factory()
        c = self._config
        optimizer = keras.optimizers.Adam(learning_rate=c.lr, weight_decay=c.weight_decay or None)
        auto = {"pos_weight": _negatives_per_positive(data.y_train)}
        model.compile(optimizer=optimizer, loss=keras_loss(candidate, auto))
        epochs = checkpoint_epochs(c)
        curve = Curve()
        best = BestCheckpoint(self.metric(self.selection_key).goodness)
        weights = _KerasWeights(model)
        losses: list[float] = []
        scenario = self

        class Checkpoints(keras.callbacks.Callback):
            def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
                losses.append(float((logs or {})["loss"]))
                if epoch + 1 not in epochs:
                    return
                value = sum(losses) / len(losses)
                losses.clear()
                if not math.isfinite(value):
                    raise FloatingPointError(
                        f"the training loss became {value} at epoch {epoch + 1}"
                    )
                heldout = scenario.measure(model, data, "val")[scenario.selection_key]
                curve.epochs.append(epoch + 1)
                curve.train_loss.append(value)
                curve.heldout.append(heldout)
                best.offer(weights, epoch + 1, heldout)  # type: ignore[arg-type]

        model.fit(
            data.x_train,
            self.targets(data.y_train, candidate),
            batch_size=c.batch_size or len(data.y_train),
            epochs=c.epochs,
            shuffle=True,
            verbose=0,
            callbacks=[Checkpoints()],
        )
        curve.best_epoch = best.restore(weights)  # type: ignore[arg-type]
        return RunResult(metrics=self.measure(model, data, "test"), curve=curve)


class _KerasWeights:
    """A Keras model seen through ``state_dict``/``load_state_dict``, for
    :class:`~losskit.lab.training.BestCheckpoint`."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def state_dict(self) -> list[np.ndarray]:
        return self.model.get_weights()

    def load_state_dict(self, state: list[np.ndarray]) -> None:
        self.model.set_weights(state)


def _negatives_per_positive(y: np.ndarray) -> float:
    return float((y == 0).sum() / max((y == 1).sum(), 1))
