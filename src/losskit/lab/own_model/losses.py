"""The candidate losses of :func:`~losskit.lab.compare`: specs, loss objects and
callables as lab candidates, the label form each takes, and each as a Keras loss."""

from __future__ import annotations

import dataclasses
import inspect
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from losskit.core.registry import get_loss
from losskit.core.specs import parse_loss_specs
from losskit.custom import Composite
from losskit.errors import LossInputError
from losskit.lab.scenario import (
    AUTO_RULES,
    Candidate,
    takes_integer_labels,
    takes_sign_labels,
)
from losskit.lab.userdata import trainable_losses

__all__ = ["OwnLoss", "candidates_of", "keras_loss", "label_form"]


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


def label_form(candidate: Candidate, task: str) -> str:
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


def candidates_of(losses: Any, task: str) -> tuple[Candidate, ...]:
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


def keras_loss(candidate: Candidate, auto: Mapping[str, Any]) -> Any:
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
