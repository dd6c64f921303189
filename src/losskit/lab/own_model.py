"""The lab on your own model: :func:`compare`.

The user brings a model factory, the data and the candidate losses; the lab trains a
fresh model per loss and seed, keeps the epoch with the best validation value of a
metric that does not depend on the loss, and measures it on the held-out part, with
the same runner, report and verdicts as the built-in scenarios.  A factory that
returns a ``torch.nn.Module`` trains with the lab's PyTorch loop
(:func:`losskit.lab.training.fit`); one that returns a ``keras.Model`` trains with
Keras's ``fit``, keeping the best epoch through a callback.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import pickle
import sys
import warnings
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from losskit.core.names import normalise_task
from losskit.core.registry import get_loss
from losskit.core.specs import parse_loss_specs
from losskit.custom import Composite
from losskit.errors import LossInputError
from losskit.lab import metrics as m
from losskit.lab.data import carve_validation
from losskit.lab.metrics import Metric
from losskit.lab.run import LabResult, run_scenarios
from losskit.lab.scenario import (
    AUTO_RULES,
    Candidate,
    RunResult,
    Scenario,
    takes_integer_labels,
    takes_sign_labels,
)
from losskit.lab.training import BestCheckpoint, Curve, TrainConfig, checkpoint_epochs
from losskit.lab.userdata import USER_TASKS, trainable_losses

__all__ = ["OWN_MODEL_TASKS", "OwnLoss", "OwnModelScenario", "compare"]

#: The tasks :func:`compare` runs (canonical names; ``multiclass`` works too).
OWN_MODEL_TASKS: tuple[str, ...] = USER_TASKS

#: Rows evaluated at a time when measuring a model.
EVAL_ROWS = 1024


@dataclasses.dataclass(frozen=True)
class OwnLoss(Candidate):
    """A candidate given as an object (a losskit PyTorch module or Keras loss, a
    :func:`losskit.combine` composite, any callable ``(pred, target) -> scalar``);
    ``name`` is its registered loss name when it has one, else ``"custom"``."""

    loss: Any = dataclasses.field(default=None, compare=False)

    def code(self) -> str:
        return repr(self.loss)

    def build(self, auto: Mapping[str, Any] | None = None) -> Any:
        return self.loss


def _registered_names(candidate: Candidate) -> list[str]:
    """The registered losses a candidate is made of (none for a plain callable)."""
    if isinstance(candidate, OwnLoss):
        if isinstance(candidate.loss, Composite):
            return [part.info.name for part in candidate.loss.parts]
        info = getattr(candidate.loss, "loss_info", None)
        return [info.name] if info is not None else []
    return [candidate.name]


def _label_form(candidate: Candidate, task: str) -> str:
    """How the candidate takes the targets: ``"integer"`` or ``"one-hot"`` class labels,
    ``"sign"`` (-1/+1) or ``"as given"`` (a callable the lab knows nothing about)."""
    names = _registered_names(candidate)
    if not names:
        return "as given"
    if task == "multi-class":
        return "integer" if takes_integer_labels(names[0]) else "one-hot"
    if task == "binary" and takes_sign_labels(names[0]):
        return "sign"
    return "as given"


def _candidates(losses: Any, task: str) -> tuple[Candidate, ...]:
    """The candidates of ``losses``: a list of specs and loss objects, or a
    ``{label: loss}`` dict; see :func:`compare`."""
    if isinstance(losses, str | Mapping):
        items = [losses] if isinstance(losses, str) else list(losses.items())
    elif isinstance(losses, Sequence):
        items = list(losses)
    else:
        raise LossInputError(
            f"losses must be a list of losses or a {{label: loss}} dict; got {type(losses).__name__}"
        )
    allowed = trainable_losses(task)
    candidates: list[Candidate] = []
    for item in items:
        label, loss = item if isinstance(item, tuple) else (None, item)
        if isinstance(loss, str):
            try:
                parsed = parse_loss_specs(loss, auto_options=tuple(AUTO_RULES))
            except LossInputError as error:
                raise LossInputError(f"losses: {error}") from None
            if label is not None and len(parsed) != 1:
                raise LossInputError(f"losses: {label!r} must name one loss; got {loss!r}")
            for text, name, options in parsed:
                if "from_logits" in get_loss(name).options:
                    options = {"from_logits": True, **options}
                candidate = Candidate(label or text, name, options)
                candidate.build({"pos_weight": 1.0})  # a bad option value fails now
                candidates.append(candidate)
        elif callable(loss):
            info = getattr(loss, "loss_info", None)
            name = info.name if info is not None else "custom"
            if isinstance(loss, Composite):
                name = "combine"
            label = label or _object_label(loss)
            parts = {p.label: p.weight for p in loss.parts} if isinstance(loss, Composite) else None
            candidates.append(OwnLoss(label, name, parts=parts, loss=loss))
        else:
            raise LossInputError(
                f"losses: expected loss names, specs ('binary_focal:gamma=2'), losskit modules, "
                f"losskit.combine(...) composites or callables (pred, target) -> scalar; got "
                f"{type(loss).__name__}"
            )
    if not candidates:
        raise LossInputError("losses: no loss given")
    for candidate in candidates:
        unfit = [n for n in _registered_names(candidate) if n not in allowed]
        if unfit:
            raise LossInputError(
                f"losses: {unfit[0]!r} ({candidate.label}) is not a loss the lab trains for "
                f"task={task!r}; choose from {', '.join(allowed)}"
            )
    labels = [c.label for c in candidates]
    repeated = sorted(label for label, count in Counter(labels).items() if count > 1)
    if repeated:
        raise LossInputError(
            f"losses: {repeated} given more than once; pass a {{label: loss}} dict to name them"
        )
    return tuple(candidates)


def _object_label(loss: Any) -> str:
    """A loss object's label: a losskit module or Keras loss as its class with the
    options that differ from their defaults, a composite as its repr, a function by
    its name."""
    if isinstance(loss, Composite):
        return repr(loss)
    if getattr(loss, "loss_info", None) is not None:
        defaults = inspect.signature(type(loss)).parameters
        changed = []
        for key, parameter in defaults.items():
            if key in ("name", "dtype"):  # a Keras loss's own bookkeeping
                continue
            value = getattr(loss, key, parameter.default)
            try:
                same = bool(value == parameter.default)
            except (TypeError, ValueError, RuntimeError):  # arrays compare element-wise
                same = False
            if not same:
                changed.append(f"{key}={value!r}")
        return f"{type(loss).__name__}({', '.join(changed)})"
    return getattr(loss, "__name__", None) or type(loss).__name__


# --------------------------------------------------------------------------- data


def _rows(data: Any, argument: str) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)`` NumPy arrays from arrays, tensors or a DataLoader of ``(x, y)`` batches;
    floating inputs become float32."""
    if isinstance(data, torch.utils.data.DataLoader):
        batches = list(data)
        if not batches or not all(isinstance(b, Sequence) and len(b) == 2 for b in batches):
            raise LossInputError(f"{argument}: the DataLoader must yield (inputs, targets) batches")
        x = np.concatenate([_array(b[0], argument) for b in batches])
        y = np.concatenate([_array(b[1], argument) for b in batches])
    elif isinstance(data, Sequence) and len(data) == 2:
        x, y = _array(data[0], argument), _array(data[1], argument)
    else:
        raise LossInputError(
            f"{argument} must be (inputs, targets) arrays or tensors, or a torch DataLoader of "
            f"such batches; got {type(data).__name__}"
        )
    if len(x) != len(y):
        raise LossInputError(
            f"{argument}: inputs and targets have different lengths ({len(x)} and {len(y)})"
        )
    if len(x) < 2:
        raise LossInputError(f"{argument}: needs at least 2 rows; got {len(x)}")
    if np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float32)
    return x, y


def _array(value: Any, argument: str) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    try:
        return np.asarray(value)
    except (TypeError, ValueError) as error:
        raise LossInputError(f"{argument}: not an array ({error})") from None


def _checked_targets(y: np.ndarray, task: str, argument: str) -> np.ndarray:
    """Targets as the task reads them: float32 values, or int64 class indices."""
    if task == "regression":
        if not np.issubdtype(y.dtype, np.number):
            raise LossInputError(f"{argument}: regression targets must be numbers; got {y.dtype}")
        return y.astype(np.float32)
    if not np.issubdtype(y.dtype, np.number) or not np.all(np.equal(np.mod(y, 1), 0)):
        raise LossInputError(f"{argument}: {task} targets must be whole-number class labels")
    y = y.astype(np.int64)
    if task == "binary" and not set(np.unique(y).tolist()) <= {0, 1}:
        raise LossInputError(
            f"{argument}: binary targets must be 0 or 1; got {sorted(set(np.unique(y).tolist()))[:5]}"
        )
    if task == "multi-class" and (y.ndim != 1 or y.min() < 0):
        raise LossInputError(
            f"{argument}: multi-class targets must be class indices 0..C-1 of shape [N]"
        )
    return y


@dataclasses.dataclass(frozen=True)
class _Parts:
    """The data of one seed: the part trained on, the validation part, the held-out part."""

    x_fit: np.ndarray
    y_fit: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


# ----------------------------------------------------------------------- scenario


def _is_keras(model: Any) -> bool:
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

    def prepare(self, repeat: int, quick: bool) -> _Parts:
        x, y = self.train_rows
        if isinstance(self.validation, float):
            stratify = None
            if self.task != "regression":
                counts = np.bincount(y)
                stratify = y if counts[counts > 0].min() >= 2 else None
            fit, val = carve_validation(len(y), self.validation, repeat, stratify)
            return _Parts(x[fit], y[fit], x[val], y[val], *self.test_rows)
        return _Parts(x, y, *self.validation, *self.test_rows)

    def targets(self, y: np.ndarray, candidate: Candidate) -> np.ndarray:
        """``y`` in the form the candidate's loss takes, shaped as the model's output."""
        form = _label_form(candidate, self.task)
        if self.task == "multi-class":
            if form == "one-hot":
                return np.eye(self.output_shape[-1], dtype=np.float32)[y]
            return y
        y = y.astype(np.float32)
        if y.size == len(y) * math.prod(self.output_shape):
            y = y.reshape((len(y), *self.output_shape))
        return 2.0 * y - 1.0 if form == "sign" else y

    def build_model(self, data: _Parts, candidate: Candidate) -> Any:
        return self.factory()

    def training_pairs(self, data: _Parts, candidate: Candidate) -> tuple[torch.Tensor, ...]:
        return (
            torch.from_numpy(data.x_fit),
            torch.from_numpy(self.targets(data.y_fit, candidate)),
        )

    def loss_of_batch(self, candidate: Candidate, data: _Parts, model: Any, seed: int) -> Any:
        return candidate.build({"pos_weight": _negatives_per_positive(data.y_fit)})

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

    def measure(self, model: Any, data: _Parts, part: str) -> dict[str, float]:
        x, y = (data.x_val, data.y_val) if part == "val" else (data.x_test, data.y_test)
        outputs = self.outputs(model, x)
        if self.scorers is None:
            return m.task_scores(self.task, outputs, y)
        return {key: float(fn(outputs, y)) for key, fn in self.scorers.items()}

    def train(self, candidate: Candidate, data: _Parts, repeat: int, quick: bool) -> RunResult:
        if not self.keras_model:
            return super().train(candidate, data, repeat, quick)
        return self._train_keras(candidate, data, repeat)

    def _train_keras(self, candidate: Candidate, data: _Parts, seed: int) -> RunResult:
        """Keras's ``fit``; a callback evaluates the validation metric at the curve's
        epochs and the weights of the best one are restored at the end."""
        import keras

        keras.utils.set_random_seed(seed)
        model = self.factory()
        c = self._config
        optimizer = keras.optimizers.Adam(learning_rate=c.lr, weight_decay=c.weight_decay or None)
        auto = {"pos_weight": _negatives_per_positive(data.y_fit)}
        model.compile(optimizer=optimizer, loss=_keras_loss(candidate, auto))
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
            data.x_fit,
            self.targets(data.y_fit, candidate),
            batch_size=c.batch_size or len(data.y_fit),
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


def _keras_loss(candidate: Candidate, auto: Mapping[str, Any]) -> Any:
    """The candidate as a Keras loss, called ``loss(y_true, y_pred)``."""
    import keras

    from losskit.keras import Combined, loss_class

    if not isinstance(candidate, OwnLoss):
        return loss_class(candidate.name)(**candidate.resolved(auto))
    loss = candidate.loss
    if isinstance(loss, Composite):
        return Combined(loss)
    if isinstance(loss, keras.losses.Loss):
        return loss
    if isinstance(loss, torch.nn.Module):
        raise LossInputError(
            f"losses: {candidate.label} is a PyTorch module, and the model is a Keras model; "
            "give its name or spec (or a losskit.keras loss) instead"
        )

    def swapped(y_true: Any, y_pred: Any) -> Any:
        # Keras passes (y_true, y_pred); the user's callable takes (pred, target)
        return loss(y_pred, y_true)

    return swapped


# ----------------------------------------------------------------------- compare


def _user_metrics(
    metrics: Mapping[str, Callable[[np.ndarray, np.ndarray], float]], better: Any
) -> tuple[Metric, ...]:
    if not isinstance(metrics, Mapping) or not metrics:
        raise LossInputError(
            "metrics must be a non-empty {name: fn(outputs, targets) -> float} dict"
        )
    result = []
    for key, fn in metrics.items():
        if not callable(fn):
            raise LossInputError(f"metrics: {key!r} must be a function; got {type(fn).__name__}")
        direction = better.get(key, "higher") if isinstance(better, Mapping) else better
        if direction not in ("higher", "lower", "zero"):
            raise LossInputError(
                f"better must be 'higher', 'lower' or 'zero' (or a dict of them by metric); "
                f"got {direction!r} for {key!r}"
            )
        result.append(Metric(key, key, direction, 4, f"your metric {key!r}"))
    return tuple(result)


def _probe(factory: Callable[[], Any], x: np.ndarray, seed: int) -> tuple[bool, tuple[int, ...]]:
    """(whether the factory builds a Keras model, the model's output shape per row), from
    one model run on two training rows."""
    if not callable(factory):
        raise LossInputError(
            f"model must be a function that returns a fresh model; got {type(factory).__name__}"
        )
    torch.manual_seed(seed)
    model = factory()
    if _is_keras(model):
        import keras

        out = keras.ops.convert_to_numpy(model(x[:2], training=False))
        return True, tuple(out.shape[1:])
    if not isinstance(model, torch.nn.Module):
        raise LossInputError(
            f"model() must return a torch.nn.Module or a keras.Model; got {type(model).__name__}"
        )
    with torch.no_grad():
        out = model.eval()(torch.from_numpy(x[:2]))
    return False, tuple(out.shape[1:])


def _check_shapes(
    task: str, output_shape: tuple[int, ...], sets: Mapping[str, tuple[np.ndarray, np.ndarray]]
) -> None:
    for argument, (_, y) in sets.items():
        if task == "multi-class":
            classes = output_shape[-1] if len(output_shape) == 1 else 0
            if not classes:
                raise LossInputError(
                    f"model: a multi-class model outputs [N, C] logits; its output per row has "
                    f"shape {list(output_shape)}"
                )
            if y.max() >= classes:
                raise LossInputError(
                    f"{argument}: holds class {int(y.max())}, and the model outputs {classes} logits"
                )
        elif y.size != len(y) * math.prod(output_shape):
            raise LossInputError(
                f"{argument}: targets of shape {list(y.shape)} do not match the model's output "
                f"per row, of shape {list(output_shape)}"
            )


def compare(
    model: Callable[[], Any],
    train: Any,
    test: Any,
    *,
    losses: Any,
    task: str,
    metrics: Mapping[str, Callable[[np.ndarray, np.ndarray], float]] | None = None,
    better: str | Mapping[str, str] = "higher",
    primary: str | None = None,
    seeds: int = 3,
    first_seed: int = 0,
    epochs: int = 20,
    lr: float = 1e-3,
    batch_size: int | None = 64,
    weight_decay: float = 0.0,
    validation: float | Any = 0.2,
    name: str = "own",
    title: str | None = None,
    threads: int = 1,
    jobs: int = 1,
    ray: str | None = None,
    progress: bool = False,
) -> LabResult:
    """Train ``model()`` with each of ``losses`` for ``seeds`` seeds and compare them as the
    built-in scenarios are compared; ``write_report(result, DIR)`` and
    :func:`losskit.lab.print_report` show the result.

    Args:
        model: a function returning a fresh model (``torch.nn.Module`` or ``keras.Model``)
            whose outputs are logits for classification (no final sigmoid or softmax):
            ``[N]`` or ``[N, 1]`` for binary, ``[N, C]`` for multi-class, the targets'
            shape for regression.  It is called after seeding, so every loss of a seed
            starts from the same weights.
        train, test: ``(x, y)`` NumPy arrays or torch tensors, or a torch ``DataLoader``
            of ``(x, y)`` batches (read once into memory: the lab draws its own batches
            from the seed, so every loss sees the same ones).  Floating inputs are cast
            to float32; ``y`` holds values (regression), 0/1 labels (binary) or class
            indices (multi-class).
        losses: a list of registered names or specs (``"binary_focal:gamma=2"``, the
            syntax of ``losskit lab --losses``; ``from_logits`` is on by default,
            ``pos_weight=auto`` is negatives / positives of the training part),
            ``losskit.torch`` modules, :func:`losskit.combine` composites or callables
            ``(pred, target) -> scalar``; or a ``{label: loss}`` dict.  The first is the
            baseline.  The targets reach a registered loss in the form it takes (integer
            or one-hot classes, -1/+1 for hinge losses), and a callable as given.
        task: ``"regression"``, ``"binary"`` or ``"multi-class"``; picks the default
            metrics (:data:`losskit.lab.metrics.TASK_METRICS`).
        metrics: your own metrics instead, ``{name: fn(outputs, y) -> float}`` with the
            model's raw outputs as NumPy; ``better`` is ``"higher"``, ``"lower"`` or
            ``"zero"``, or a dict of them by name.
        primary: the metric that decides the best loss and chooses the epoch kept on
            the validation part (the task's default, or the first of ``metrics``).
        validation: the share of ``train`` set aside to choose the epoch (drawn for each
            seed, stratified for classes), or ``(x, y)`` / a ``DataLoader`` of its own.
        epochs, lr, batch_size, weight_decay: the training (Adam); ``batch_size=None``
            trains on the whole training part at every step.
        name, title: the scenario's short name (the figures' file names; not a
            built-in scenario's) and its title in the report.
        threads, jobs, ray, progress: as for :func:`losskit.lab.run_scenarios`.  Other
            processes need the model factory, losses and metrics to pickle (functions
            defined at the top of a module do; a lambda or a local function does not):
            when they do not, the runs happen in this process, with a warning.

    Raises:
        LossInputError: naming the argument that is wrong.
    """
    task = normalise_task(task, among=OWN_MODEL_TASKS, argument="task")
    x, y = _rows(train, "train")
    test_rows = _rows(test, "test")
    sets = {"train": (x, _checked_targets(y, task, "train"))}
    sets["test"] = (test_rows[0], _checked_targets(test_rows[1], task, "test"))
    if isinstance(validation, float):
        if not 0.0 < validation < 1.0:
            raise LossInputError(
                f"validation must be a share between 0 and 1, or (x, y); got {validation}"
            )
        if round(validation * len(y)) < 1 or round((1 - validation) * len(y)) < 1:
            raise LossInputError(
                f"validation: {validation} of {len(y)} training rows leaves a part empty"
            )
        held: float | tuple[np.ndarray, np.ndarray] = validation
    else:
        vx, vy = _rows(validation, "validation")
        held = (vx, _checked_targets(vy, task, "validation"))
        sets["validation"] = held
    shapes = {k: v[0].shape[1:] for k, v in sets.items()}
    if len(set(shapes.values())) != 1:
        raise LossInputError(
            f"test, validation: inputs must have the shape of train's; got {shapes}"
        )
    for argument, value in (("seeds", seeds), ("epochs", epochs), ("threads", threads)):
        if not isinstance(value, int) or value < 1:
            raise LossInputError(f"{argument} must be a positive integer; got {value!r}")
    if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
        raise LossInputError(f"batch_size must be a positive integer or None; got {batch_size!r}")
    if not lr > 0:
        raise LossInputError(f"lr must be positive; got {lr!r}")
    from losskit.lab.scenarios import BUILTIN_SCENARIOS

    if not name or name in {cls.name for cls in BUILTIN_SCENARIOS}:
        raise LossInputError(
            f"name must be a non-empty name other than a built-in scenario's; got {name!r}"
        )
    candidates = _candidates(losses, task)
    keras_model, output_shape = _probe(model, x, first_seed)
    _check_shapes(task, output_shape, sets)
    if metrics is None:
        chosen, scorers = m.TASK_METRICS[task], None
    else:
        chosen, scorers = _user_metrics(metrics, better), dict(metrics)
    primary = primary or (m.TASK_PRIMARY[task] if metrics is None else chosen[0].key)
    if primary not in [metric.key for metric in chosen]:
        raise LossInputError(
            f"primary must be one of the metrics {[metric.key for metric in chosen]}; got {primary!r}"
        )
    scenario = OwnModelScenario(
        model,
        candidates,
        task=task,
        train=sets["train"],
        test=sets["test"],
        validation=held,
        config=TrainConfig(epochs=epochs, lr=lr, batch_size=batch_size, weight_decay=weight_decay),
        metrics=chosen,
        scorers=scorers,
        primary=primary,
        name=name,
        title=title or f"Your model: {task}",
        keras_model=keras_model,
        output_shape=output_shape,
    )
    _check_losses(scenario)
    if jobs > 1 or ray is not None:
        try:
            pickle.dumps(scenario)
        except Exception as error:  # pickle raises several types for what it cannot send
            warnings.warn(
                f"the model factory, a loss or a metric cannot be sent to another process "
                f"({error}); training in this process instead",
                stacklevel=2,
            )
            jobs, ray = 1, None
    lab = run_scenarios(
        [scenario],
        seeds=seeds,
        first_seed=first_seed,
        threads=threads,
        jobs=jobs,
        ray=ray,
        progress=progress,
    )
    lab.settings = {"api": "losskit.lab.compare", "task": task, "first_seed": first_seed}
    return lab


def _check_losses(scenario: OwnModelScenario) -> None:
    """Every loss, on the model's output for two training rows: a loss that does not fit
    the model or the targets fails here, before any training."""
    x, y = scenario.train_rows
    torch.manual_seed(0)
    model = scenario.factory()
    for candidate in scenario.candidates():
        targets = scenario.targets(y[:2], candidate)
        auto = {"pos_weight": 1.0}
        try:
            if scenario.keras_model:
                import keras

                # as in fit: both arrays are tensors of the backend
                y_true = keras.ops.convert_to_tensor(targets)
                out = model(x[:2], training=False)
                value = keras.ops.convert_to_numpy(_keras_loss(candidate, auto)(y_true, out))
            else:
                out = model(torch.from_numpy(x[:2]))
                value = candidate.build(auto)(out, torch.from_numpy(targets)).detach().numpy()
        except Exception as error:  # the user's callable may raise anything
            raise LossInputError(
                f"losses: {candidate.label} fails on the model's output (shape "
                f"{[len(targets), *scenario.output_shape]}) and targets of shape "
                f"{list(targets.shape)}: {error}"
            ) from error
        if np.ndim(value) != 0:
            raise LossInputError(
                f"losses: {candidate.label} returns shape {list(np.shape(value))}; the lab "
                "trains on a scalar loss (reduction='mean' or 'sum')"
            )
