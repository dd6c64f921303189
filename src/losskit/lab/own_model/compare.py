"""compare(): the checks of its arguments, then the lab's runner on one
:class:`~losskit.lab.own_model.scenario.OwnModelScenario`."""

from __future__ import annotations

import math
import pickle
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch

from losskit.core.names import normalise_task
from losskit.errors import LossInputError
from losskit.lab import metrics as m
from losskit.lab.metrics import Metric
from losskit.lab.own_model.data import checked_targets, read_rows
from losskit.lab.own_model.losses import candidates_of, keras_loss
from losskit.lab.own_model.scenario import OwnModelScenario, is_keras
from losskit.lab.run import LabResult, run_scenarios
from losskit.lab.training import TrainConfig
from losskit.lab.userdata import USER_TASKS

__all__ = ["OWN_MODEL_TASKS", "compare"]

#: The tasks :func:`compare` runs (canonical names; ``multiclass`` works too).
OWN_MODEL_TASKS: tuple[str, ...] = USER_TASKS


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
    if is_keras(model):
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
    x, y = read_rows(train, "train")
    test_rows = read_rows(test, "test")
    sets = {"train": (x, checked_targets(y, task, "train"))}
    sets["test"] = (test_rows[0], checked_targets(test_rows[1], task, "test"))
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
        vx, vy = read_rows(validation, "validation")
        held = (vx, checked_targets(vy, task, "validation"))
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
    candidates = candidates_of(losses, task)
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
                value = keras.ops.convert_to_numpy(keras_loss(candidate, auto)(y_true, out))
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
