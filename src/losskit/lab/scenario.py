"""What a lab scenario is: data, candidate losses, a model, metrics.

A scenario trains the same model, from the same initial weights, once per candidate
loss and per repeat (a seed, or a cross-validation fold), and measures the result
with metrics that do not depend on the loss.  The runner (:mod:`losskit.lab.run`)
loops over repeats and candidates; the report (:mod:`losskit.lab.report`) reads the
metrics.
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, Literal

import torch
from torch import nn

from losskit.core.registry import get_loss
from losskit.core.specs import AUTO
from losskit.custom import combine
from losskit.guide.entries import guide_entry
from losskit.lab.metrics import Metric
from losskit.lab.training import Curve, TrainConfig, fit
from losskit.torch.modules import class_name, module_for

__all__ = [
    "AUTO",
    "AUTO_RULES",
    "Candidate",
    "Metric",
    "RunResult",
    "Scenario",
    "seeded_model",
    "takes_integer_labels",
    "takes_sign_labels",
]

#: How each option that may be :data:`AUTO` (``"auto"``: a value computed from the
#: training data) is computed, as shown in the report.
AUTO_RULES = {"pos_weight": "negatives / positives"}


@dataclasses.dataclass(frozen=True)
class Candidate:
    """A loss to try: a registered loss ``name`` with ``options``, shown as ``label``.

    An option given as :data:`AUTO` is filled in from the training data by the
    scenario (for example ``pos_weight`` = negatives / positives).  With ``parts``
    (weights by loss name) the candidate is the composite
    ``losskit.combine(parts, **options)`` and ``name`` only names it.
    """

    label: str
    name: str
    options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    parts: Mapping[str, float] | None = None

    def resolved(self, auto: Mapping[str, Any]) -> dict[str, Any]:
        """The options with every :data:`AUTO` value replaced from ``auto``."""
        return {k: (auto[k] if _is_auto(v) else v) for k, v in self.options.items()}

    def code(self) -> str:
        """How to build this loss with losskit (an :data:`AUTO` option shows the rule
        that computes it)."""
        arguments = ", ".join(
            f"{k}={AUTO_RULES.get(k, k) if _is_auto(v) else _literal(v)}"
            for k, v in self.options.items()
        )
        if self.parts is not None:
            weights = ", ".join(f"{name!r}: {_literal(w)}" for name, w in self.parts.items())
            return f"losskit.combine({{{weights}}}{', ' if arguments else ''}{arguments})"
        return f"losskit.torch.{class_name(self.name)}({arguments})"

    def build(self, auto: Mapping[str, Any] | None = None) -> Callable[..., torch.Tensor]:
        """The loss to train with: losskit's PyTorch module, or the composite."""
        options = self.resolved(auto or {})
        if self.parts is not None:
            return combine(dict(self.parts), **options)
        get_loss(self.name)  # a clear error for an unknown name
        return module_for(self.name)(**options)


def _is_auto(value: Any) -> bool:
    return isinstance(value, str) and value == AUTO


def _literal(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else repr(value)


@dataclasses.dataclass
class RunResult:
    """One trained model: its held-out metrics, its training curve, and anything the
    scenario's figures need (``artifacts``, kept out of the JSON)."""

    metrics: dict[str, float]
    curve: Curve
    artifacts: dict[str, Any] = dataclasses.field(default_factory=dict)


class Scenario(abc.ABC):
    """A comparison of candidate losses on one data set."""

    #: short identifier, used on the command line and in file names
    name: str
    title: str
    metrics: tuple[Metric, ...]
    #: key of the metric that decides the best loss
    primary: str
    #: label of the candidate every other one is compared with
    baseline: str
    #: key of the metric whose validation value chooses the epoch kept (the primary
    #: metric when None)
    selection_metric: str | None = None
    #: what a repeat is: a "seed" or a "fold"
    repeat_name: str = "seed"
    #: label of the y-axis of the held-out training curve
    curve_metric: str = ""
    #: what the training curve's loss is, and what its x-axis counts
    train_loss_label: str = "training loss"
    curve_unit: str = "epoch"
    #: number of seeds when none are given: (full mode, quick mode)
    default_seeds: tuple[int, int] = (3, 2)

    @abc.abstractmethod
    def candidates(self) -> tuple[Candidate, ...]:
        """The losses compared, baseline included."""

    @abc.abstractmethod
    def description(self, quick: bool) -> str:
        """Plain-words description of the data, the model and the training."""

    @abc.abstractmethod
    def prepare(self, repeat: int, quick: bool) -> Any:
        """The data of one repeat (shared by every candidate): a training part, a
        validation part carved out of it, and a held-out (test) part."""

    # ------------------------------------------------------------ the train template
    #
    # ``train`` builds the model from the repeat's seed, trains it with the candidate's
    # loss, keeps the weights of the evaluated epoch with the best validation value of
    # the primary metric (a metric that does not depend on the loss), and measures
    # that model on the held-out part.  A scenario fills in the hooks below; one that
    # trains otherwise (the GAN's alternating steps) overrides ``train``.

    def config(self, quick: bool) -> TrainConfig:
        """Epochs, learning rate, batch size of the training."""
        raise NotImplementedError

    def build_model(self, data: Any, candidate: Candidate) -> nn.Module:
        """A fresh model (called right after seeding torch with the repeat's seed)."""
        raise NotImplementedError

    def training_pairs(self, data: Any, candidate: Candidate) -> tuple[torch.Tensor, torch.Tensor]:
        """``(inputs, targets)`` the loss trains on, in the form the candidate takes."""
        raise NotImplementedError

    def measure(
        self, model: nn.Module, data: Any, part: Literal["val", "test"]
    ) -> dict[str, float]:
        """Every metric of the scenario for ``model`` on the validation or test part
        (called in eval mode, without gradients)."""
        raise NotImplementedError

    def loss_of_batch(
        self, candidate: Candidate, data: Any, model: nn.Module, seed: int
    ) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
        """``loss(model(x), y)`` of a batch: the candidate's loss by default."""
        return candidate.build()

    def sampler(self, data: Any) -> Callable[[torch.Generator], list[torch.Tensor]] | None:
        """The batches of an epoch, when not random batches of the configured size."""
        return None

    def artifacts(self, model: nn.Module, data: Any) -> dict[str, Any]:
        """What the scenario's figures need from the trained model."""
        return {}

    def model_seed(self, repeat: int) -> int:
        """The seed of a repeat's initial weights and batch order."""
        return repeat

    def train(self, candidate: Candidate, data: Any, repeat: int, quick: bool) -> RunResult:
        """Train with ``candidate`` on ``data``, keep the best epoch by the validation
        primary metric, and measure the held-out metrics."""
        seed = self.model_seed(repeat)
        model = seeded_model(seed, lambda: self.build_model(data, candidate))
        inputs, targets = self.training_pairs(data, candidate)
        curve = fit(
            model,
            self.loss_of_batch(candidate, data, model, seed),
            inputs,
            targets,
            self.config(quick),
            seed=seed,
            heldout_metric=lambda mod: self.measure(mod, data, "val")[self.selection_key],
            sampler=self.sampler(data),
            goodness=self.metric(self.selection_key).goodness,
        )
        model.eval()
        with torch.no_grad():
            metrics = self.measure(model, data, "test")
            artifacts = self.artifacts(model, data)
        return RunResult(metrics=metrics, curve=curve, artifacts=artifacts)

    def repeats(self, quick: bool, count: int | None, first_seed: int) -> list[int]:
        """The seeds to run: ``count`` of them (this scenario's default when None),
        from ``first_seed`` on."""
        if count is None:
            count = self.default_seeds[1] if quick else self.default_seeds[0]
        return list(range(first_seed, first_seed + count))

    def budget(self, quick: bool) -> str:
        """The training budget in words (``"300 epochs"``; empty when the scenario has
        no :meth:`config`)."""
        try:
            return f"{self.config(quick).epochs} {self.curve_unit}s"
        except NotImplementedError:
            return ""

    def selection_rule(self) -> str:
        """How the trained model of a run is chosen, in words."""
        return (
            f"the {self.curve_unit} with the best validation "
            f"{self.metric(self.selection_key).label}"
        )

    @property
    def selection_key(self) -> str:
        """The key of the metric that chooses the epoch kept."""
        return self.selection_metric or self.primary

    def command_args(self) -> list[str] | None:
        """The ``losskit lab`` arguments that select this scenario, when ``--scenarios
        NAME`` does not (the user-data scenario's ``--data ...``)."""
        return None

    def metric(self, key: str) -> Metric:
        for m in self.metrics:
            if m.key == key:
                return m
        raise KeyError(key)

    def extra_findings(self, summary: Mapping[str, Mapping[str, list[float]]]) -> list[str]:
        """Scenario-specific sentences from ``summary[label][metric]`` (one value per
        repeat); none by default."""
        return []

    def figures(self, results: Mapping[str, list[RunResult]]) -> list[tuple[str, Any]]:
        """Extra figures ``(file stem, matplotlib figure)`` from the runs of each label."""
        return []


def takes_integer_labels(loss_name: str) -> bool:
    """Whether loss ``loss_name`` reads class labels as integers (its metadata lists
    integer labels); a classification loss that does not takes one-hot targets."""
    return "integer labels" in guide_entry(loss_name).input_forms


def takes_sign_labels(loss_name: str) -> bool:
    """Whether loss ``loss_name`` takes labels -1/+1 and raw scores (hinge losses)
    rather than 0/1 labels and logits."""
    return "sign labels" in guide_entry(loss_name).input_forms


def seeded_model(seed: int, build: Callable[[], nn.Module]) -> nn.Module:
    """``build()`` right after seeding torch: every candidate of a repeat starts from the
    same weights."""
    torch.manual_seed(seed)
    return build()
