"""SSIM and MS-SSIM beyond the table: scikit-image's test images, the PyTorch fast path
at a realistic size, and the generated PyTorch module and Keras loss on images.

scikit-image's ``structural_similarity(..., gaussian_weights=True, sigma=1.5,
use_sample_covariance=False, data_range=L)`` is the reference SSIM; its sample images
ship with the package (nothing is downloaded).
"""

from __future__ import annotations

import numpy as np
import pytest

import losskit
from array_backends import HAS_TORCH
from losskit.core.kernels import generic_kernels

skimage = pytest.importorskip("skimage")
needs_torch = pytest.mark.skipif(not HAS_TORCH, reason="torch not installed")


def _skimage_ssim(pred, target, channel_axis=None, data_range=1.0):
    from skimage.metrics import structural_similarity

    return structural_similarity(
        pred,
        target,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        data_range=data_range,
        channel_axis=channel_axis,
    )


def _degraded(image: np.ndarray, kind: str, seed: int = 0) -> np.ndarray:
    """``image`` (floats in [0, 1]) with noise, blur or a brightness shift."""
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(seed)
    if kind == "noise":
        return np.clip(image + rng.normal(0.0, 0.1, image.shape), 0.0, 1.0)
    if kind == "blur":
        sigma = (2.0, 2.0, 0.0)[: image.ndim]
        return gaussian_filter(image, sigma)
    return np.clip(image * 0.8 + 0.15, 0.0, 1.0)


GRAY = ("camera", "coins", "moon")
KINDS = ("noise", "blur", "shift")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", GRAY)
def test_ssim_is_one_minus_scikit_image_on_its_gray_images(name, kind):
    target = getattr(skimage.data, name)().astype(np.float64) / 255.0
    pred = _degraded(target, kind)
    expected = 1.0 - _skimage_ssim(pred, target)
    got = float(losskit.ssim(pred[None, None], target[None, None]))
    assert abs(got - expected) < 1e-5
    assert 0.0 < got < 1.0


@pytest.mark.parametrize("kind", KINDS)
def test_ssim_matches_scikit_image_per_channel_on_a_colour_image(kind):
    target = skimage.data.astronaut().astype(np.float64) / 255.0  # [H, W, 3]
    pred = _degraded(target, kind)
    expected = 1.0 - _skimage_ssim(pred, target, channel_axis=-1)
    got = float(losskit.ssim(pred[None], target[None], axis=-1))
    assert abs(got - expected) < 1e-5
    # channels-first gives the same loss
    first = float(losskit.ssim(np.moveaxis(pred, -1, 0)[None], np.moveaxis(target, -1, 0)[None]))
    assert abs(first - got) < 1e-12


def test_ssim_data_range_255_matches_scikit_image_on_8_bit_values():
    target = skimage.data.camera().astype(np.float64)
    pred = np.clip(target + np.random.default_rng(1).normal(0.0, 20.0, target.shape), 0, 255)
    expected = 1.0 - _skimage_ssim(pred, target, data_range=255.0)
    got = float(losskit.ssim(pred[None, None], target[None, None], data_range=255.0))
    assert abs(got - expected) < 1e-5
    # the same images scaled to [0, 1] with data_range=1: the same loss
    scaled = float(losskit.ssim(pred[None, None] / 255, target[None, None] / 255))
    assert abs(scaled - got) < 1e-9


@needs_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_ssim_on_torch_matches_scikit_image(dtype):
    import torch

    target = skimage.data.camera().astype(np.float64) / 255.0
    pred = _degraded(target, "noise")
    expected = 1.0 - _skimage_ssim(pred, target)
    t = getattr(torch, dtype)
    got = losskit.ssim(
        torch.tensor(pred, dtype=t)[None, None], torch.tensor(target, dtype=t)[None, None]
    )
    assert got.dtype == t
    assert abs(float(got) - expected) < 1e-5


@needs_torch
@pytest.mark.parametrize("loss", ["ssim", "ms_ssim"])
def test_torch_fast_path_matches_the_generic_kernel_on_a_batch_in_chunks(loss):
    """Several chunks of the batch (CHUNK_PIXELS made small), both images needing a
    gradient: values and gradients of the override and of the banded matrices agree."""
    import torch

    import losskit.torch.fast.image as fast

    gen = torch.Generator().manual_seed(0)
    shape = (5, 2, 40, 44)
    x = torch.rand(shape, generator=gen, dtype=torch.float64)
    y = (0.6 * x + 0.4 * torch.rand(shape, generator=gen, dtype=torch.float64)).requires_grad_()
    x.requires_grad_()
    options = {"window_size": 5, "sigma": 1.2, "data_range": 1.0}
    if loss == "ms_ssim":
        options["scale_weights"] = [0.2, 0.3, 0.5]
    fn = getattr(losskit, loss)
    old, fast.CHUNK_PIXELS = fast.CHUNK_PIXELS, 2 * 40 * 44 * 2
    try:
        got = fn(x, y, reduction="none", **options)
        got_grads = torch.autograd.grad(got.sum(), (x, y))
    finally:
        fast.CHUNK_PIXELS = old
    with generic_kernels():
        want = fn(x, y, reduction="none", **options)
        want_grads = torch.autograd.grad(want.sum(), (x, y))
    torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-13)
    for g, w in zip(got_grads, want_grads, strict=True):
        torch.testing.assert_close(g, w, rtol=1e-10, atol=1e-14)


@needs_torch
def test_torch_module_of_ssim_on_images():
    import torch

    import losskit.torch

    module = losskit.torch.SSIM(data_range=255.0)
    target = torch.tensor(skimage.data.camera(), dtype=torch.float32)[None, None]
    pred = (target + 10.0 * torch.randn(target.shape)).clamp(0, 255).requires_grad_()
    loss = module(pred, target)
    loss.backward()
    assert torch.isfinite(pred.grad).all()
    expected = float(losskit.ssim(pred.detach(), target, data_range=255.0))
    assert abs(float(loss.detach()) - expected) < 1e-6
    with pytest.raises(losskit.LossInputError, match="window_size must be odd"):
        losskit.torch.MSSSIM(window_size=10)


def test_keras_loss_on_channels_last_images():
    keras = pytest.importorskip("keras")
    import losskit.keras

    rng = np.random.default_rng(0)
    y_true = rng.uniform(size=(2, 24, 24, 3)).astype("float32")
    y_pred = np.clip(y_true + rng.normal(0.0, 0.1, y_true.shape), 0, 1).astype("float32")
    loss = losskit.keras.SSIM(axis=-1)
    got = float(keras.ops.convert_to_numpy(loss(y_true, y_pred)))
    want = float(losskit.ssim(y_pred.astype(np.float64), y_true.astype(np.float64), axis=-1))
    assert abs(got - want) < 1e-5
    restored = losskit.keras.SSIM.from_config(loss.get_config())
    assert restored.axis == -1


def test_ms_ssim_clips_negative_terms_with_a_zero_gradient_and_no_nan():
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    target = jnp.asarray(np.random.default_rng(2).uniform(size=(1, 1, 48, 48)))
    value, grad = jax.value_and_grad(lambda p: losskit.ms_ssim(p, target, window_size=3))(
        1.0 - target
    )
    assert float(value) == 1.0
    assert np.all(np.asarray(grad) == 0.0)


def test_ms_ssim_needs_176_pixels_for_the_defaults():
    image = np.ones((1, 1, 175, 200))
    with pytest.raises(losskit.LossInputError, match="at least 176 pixels"):
        losskit.ms_ssim(image, image)
    square = np.ones((1, 1, 176, 176))
    assert float(losskit.ms_ssim(square, square)) == 0.0
