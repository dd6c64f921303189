"""Small models and the training loop shared by the scenarios."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import math
from collections.abc import Callable, Iterator

import numpy as np
import torch
from torch import nn

__all__ = [
    "BestCheckpoint",
    "Curve",
    "TrainConfig",
    "checkpoint_epochs",
    "conv_net",
    "evaluate",
    "fit",
    "mlp",
    "torch_settings",
]


@contextlib.contextmanager
def torch_settings(threads: int) -> Iterator[None]:
    """Run a block with ``threads`` CPU threads, then restore the caller's setting.

    The CPU kernels the lab uses (linear layers, convolutions, element-wise operations,
    indexing) give the same result on every run for a fixed number of threads, so a
    seed fixes the results.  ``torch.use_deterministic_algorithms`` is not switched on:
    it adds nothing on CPU for these operations and its first call costs seconds.
    """
    old_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(old_threads)


def mlp(inputs: int, hidden: tuple[int, ...], outputs: int) -> nn.Sequential:
    """A ReLU multi-layer perceptron ``inputs -> hidden... -> outputs``."""
    layers: list[nn.Module] = []
    width = inputs
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU()]
        width = h
    layers.append(nn.Linear(width, outputs))
    return nn.Sequential(*layers)


def conv_net(channels: int, dilations: tuple[int, ...]) -> nn.Sequential:
    """A fully convolutional net: 3x3 convolutions with the given dilations (the
    receptive field grows with them), ReLU between, and a 1x1 convolution to one
    logit per pixel.  Input ``[N, 1, H, W]``, output ``[N, 1, H, W]``."""
    layers: list[nn.Module] = []
    width = 1
    for d in dilations:
        layers += [nn.Conv2d(width, channels, 3, padding=d, dilation=d), nn.ReLU()]
        width = channels
    layers.append(nn.Conv2d(width, 1, 1))
    return nn.Sequential(*layers)


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    epochs: int
    lr: float
    #: rows per step; None trains on the whole training set at every step
    batch_size: int | None = None
    weight_decay: float = 0.0
    #: number of points on the training curve (validation evaluations spread over the
    #: epochs, among which the best one is kept)
    curve_points: int = 30


@dataclasses.dataclass
class Curve:
    """The training curve of one run: the training loss (mean over the steps since the
    last point) and the validation metric, at the given epochs (or steps, for a scenario
    that counts steps); ``best_epoch`` is the point whose model was kept."""

    epochs: list[int] = dataclasses.field(default_factory=list)
    train_loss: list[float] = dataclasses.field(default_factory=list)
    heldout: list[float] = dataclasses.field(default_factory=list)
    best_epoch: int | None = None

    def as_dict(self) -> dict[str, list[float] | list[int] | int | None]:
        return {
            "epoch": self.epochs,
            "train_loss": self.train_loss,
            "heldout": self.heldout,
            "best_epoch": self.best_epoch,
        }


class BestCheckpoint:
    """The model's weights at its best validation value so far.

    ``offer(model, step, value)`` keeps a copy of the weights when ``goodness(value)``
    is at least the best so far (on a tie, the later point: the longer-trained model);
    ``restore(model)`` loads the kept weights back.
    """

    def __init__(self, goodness: Callable[[float], float]) -> None:
        self.goodness = goodness
        self.best: float = -math.inf
        self.step: int | None = None
        self.state: dict[str, torch.Tensor] | None = None

    def offer(self, model: nn.Module, step: int, value: float) -> None:
        score = self.goodness(value)
        if math.isfinite(score) and score >= self.best:
            self.best, self.step = score, step
            self.state = copy.deepcopy(model.state_dict())

    def restore(self, model: nn.Module) -> int | None:
        if self.state is not None:
            model.load_state_dict(self.state)
        return self.step


def checkpoint_epochs(config: TrainConfig) -> set[int]:
    """The epochs at which the validation metric is evaluated: ``config.curve_points``
    of them spread over the run, the last epoch included."""
    return set(
        np.linspace(1, config.epochs, min(config.curve_points, config.epochs))
        .round()
        .astype(int)
        .tolist()
    )


def fit(
    model: nn.Module,
    loss_of_batch: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    inputs: torch.Tensor,
    targets: torch.Tensor,
    config: TrainConfig,
    *,
    seed: int,
    heldout_metric: Callable[[nn.Module], float],
    sampler: Callable[[torch.Generator], list[torch.Tensor]] | None = None,
    goodness: Callable[[float], float] | None = None,
) -> Curve:
    """Train ``model`` with Adam on ``loss_of_batch(model(x), y)``.

    The batch order comes from a generator seeded with ``seed``, so a run is
    reproducible: random batches of ``config.batch_size`` rows, or the row indices of
    each batch of an epoch as ``sampler(generator)`` gives them.  ``heldout_metric(model)``
    (the validation metric) is evaluated (in eval mode, without gradients) at
    ``config.curve_points`` epochs spread over the run.  With ``goodness`` (a number
    that grows as the metric improves), the model ends with the weights of the
    evaluated epoch whose metric was best (:class:`BestCheckpoint`), recorded as the
    curve's ``best_epoch``; without it, with the weights of the last epoch.
    """
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    generator = torch.Generator().manual_seed(seed)
    rows = len(inputs)
    batch = rows if config.batch_size is None else min(config.batch_size, rows)
    checkpoints = checkpoint_epochs(config)
    curve = Curve()
    best = BestCheckpoint(goodness) if goodness is not None else None
    running, steps = 0.0, 0
    for epoch in range(1, config.epochs + 1):
        if sampler is not None:
            batches: list[torch.Tensor | None] = list(sampler(generator))
        elif batch < rows:
            order = torch.randperm(rows, generator=generator)
            batches = [order[start : start + batch] for start in range(0, rows, batch)]
        else:
            batches = [None]
        for index in batches:
            x, y = (inputs, targets) if index is None else (inputs[index], targets[index])
            loss = loss_of_batch(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            running += float(loss.detach())
            steps += 1
        if epoch in checkpoints:
            value = running / steps
            if not math.isfinite(value):
                raise FloatingPointError(f"the training loss became {value} at epoch {epoch}")
            curve.epochs.append(epoch)
            curve.train_loss.append(value)
            curve.heldout.append(evaluate(model, heldout_metric))
            if best is not None:
                best.offer(model, epoch, curve.heldout[-1])
            running, steps = 0.0, 0
    if best is not None:
        curve.best_epoch = best.restore(model)
    return curve


def evaluate(model: nn.Module, metric: Callable[[nn.Module], float]) -> float:
    """``metric(model)`` in eval mode and without gradients; the mode is restored."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            return float(metric(model))
    finally:
        model.train(was_training)
