"""Image restoration: denoising photographs with pixel losses against SSIM."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from losskit.lab import data as lab_data
from losskit.lab import metrics as m
from losskit.lab.scenario import Candidate, Metric, RunResult, Scenario
from losskit.lab.scenarios._common import to_tensor
from losskit.lab.training import TrainConfig

__all__ = ["Denoising", "ResidualDenoiser"]


class ResidualDenoiser(nn.Module):
    """A small residual denoiser: 3x3 convolutions with ReLU between estimate the noise,
    which is subtracted from the input (Zhang et al.'s DnCNN, much shallower).  Input and
    output ``[N, 1, H, W]``."""

    def __init__(self, channels: int, layers: int) -> None:
        super().__init__()
        stack: list[nn.Module] = [nn.Conv2d(1, channels, 3, padding=1), nn.ReLU()]
        for _ in range(layers - 2):
            stack += [nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU()]
        stack.append(nn.Conv2d(channels, 1, 3, padding=1))
        self.noise = nn.Sequential(*stack)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x - self.noise(x)


class Denoising(Scenario):
    name = "denoising"
    title = "Image denoising"
    primary = "psnr"
    baseline = "MSE"
    curve_metric = "validation PSNR (dB)"
    metrics = (
        Metric(
            "psnr",
            "PSNR (dB)",
            "higher",
            2,
            "peak signal-to-noise ratio 10 log10(1 / MSE) of each held-out denoised patch "
            "against the clean one, averaged over the patches",
        ),
        Metric(
            "ssim",
            "SSIM",
            "higher",
            3,
            "mean structural similarity of each held-out patch, scikit-image's convention "
            "(Gaussian window σ = 1.5, 11 taps, positions where the window fits), averaged "
            "over the patches",
        ),
        Metric(
            "mae",
            "MAE",
            "lower",
            4,
            "mean absolute error of the held-out denoised pixels (the range is 0 to 1)",
        ),
    )
    noise = 0.1
    #: the denoiser's width and number of convolutions
    channels, layers = 12, 3

    def candidates(self) -> tuple[Candidate, ...]:
        return (
            Candidate("MSE", "mse"),
            Candidate("MAE", "mae"),
            Candidate("SSIM", "ssim", {"data_range": 1.0}),
            # Zhao et al. (2017)'s mix of (MS-)SSIM and L1, here with single-scale SSIM
            Candidate(
                "0.84 SSIM + 0.16 MAE", "ssim+mae", {"data_range": 1.0}, {"ssim": 0.84, "mae": 0.16}
            ),
        )

    def _sizes(self, quick: bool) -> dict[str, int]:
        if quick:
            return {"train": 160, "val": 48, "test": 96}
        return {"train": 256, "val": 96, "test": 192}

    def config(self, quick: bool) -> TrainConfig:
        return TrainConfig(epochs=6 if quick else 12, lr=2e-3, batch_size=32, curve_points=12)

    def description(self, quick: bool) -> str:
        sizes = self._sizes(quick)
        images = ", ".join(lab_data.DENOISING_IMAGES)
        return (
            f"Grey 32×32 patches of scikit-image's sample photographs ({images}) with "
            f"Gaussian noise of standard deviation {self.noise:g} added (pixel values 0 to 1; "
            "the noisy patches score about 20 dB PSNR and 0.36 SSIM), noisy in, clean out. "
            f"{sizes['train']} training patches come from the top 60% of the rows of every "
            f"image, {sizes['val']} validation patches from the next 15% and {sizes['test']} "
            "held-out patches from the bottom 25%, so no held-out pixel is seen in training; "
            "positions and noise are drawn from the seed. Model: a residual denoiser "
            f"({self.layers} convolutions of 3×3, {self.channels} channels) that estimates the "
            "noise and subtracts it, "
            f"trained with Adam in batches of 32 for up to {self.config(quick).epochs} epochs. "
            "SSIM is trained as 1 − SSIM with the window of the SSIM metric, and the mix "
            "weights it as Zhao et al. (2017) weigh MS-SSIM and L1 (single-scale SSIM here: "
            "a 32×32 patch is too small for five scales). The epoch kept is the one with the "
            "best validation PSNR: the selection asks every loss for the same thing, but it "
            "is MSE's own criterion, so the PSNR verdict is, if anything, tilted towards MSE, "
            "and the SSIM column towards the SSIM losses (which optimise it directly)."
        )

    def prepare(self, repeat: int, quick: bool) -> lab_data.DenoisingData:
        return lab_data.denoising_patches(repeat, **self._sizes(quick), noise=self.noise)

    def build_model(self, data: lab_data.DenoisingData, candidate: Candidate) -> nn.Module:
        return ResidualDenoiser(self.channels, self.layers)

    def training_pairs(
        self, data: lab_data.DenoisingData, candidate: Candidate
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return to_tensor(data.x_train), to_tensor(data.y_train)

    def measure(
        self, model: nn.Module, data: lab_data.DenoisingData, part: str
    ) -> dict[str, float]:
        x, clean = (data.x_val, data.y_val) if part == "val" else (data.x_test, data.y_test)
        denoised = model(to_tensor(x)).numpy()[:, 0]
        clean = clean[:, 0]
        return {
            "psnr": float(m.peak_signal_noise_ratio(denoised, clean).mean()),
            "ssim": float(m.structural_similarity(denoised, clean).mean()),
            "mae": m.mean_absolute_error(denoised, clean),
        }

    def artifacts(self, model: nn.Module, data: lab_data.DenoisingData) -> dict[str, Any]:
        count = 4  # the patches are cut from the images in turn: one per image
        return {
            "noisy": data.x_test[:count, 0],
            "clean": data.y_test[:count, 0],
            "denoised": model(to_tensor(data.x_test[:count])).numpy()[:, 0],
        }

    def figures(self, results: Mapping[str, list[RunResult]]) -> list[tuple[str, Any]]:
        from losskit.lab.plots import denoising_examples_figure

        return [("examples", denoising_examples_figure(results))]
