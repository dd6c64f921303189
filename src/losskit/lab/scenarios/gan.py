"""A GAN on a ring of Gaussians: the generator and discriminator loss pairs."""

from __future__ import annotations

from collections.abc import Mapping
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
from losskit.lab.training import BestCheckpoint, Curve, mlp
from losskit.torch.modules import module_for

__all__ = ["GAN"]


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
