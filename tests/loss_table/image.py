"""Table entries for the image losses (SSIM, MS-SSIM).

The reference filters each image with SciPy's ``gaussian_filter`` (``radius`` the half
window, so the taps are losskit's) and keeps the positions where the window fits, as
scikit-image's ``structural_similarity`` crops them; nothing of losskit's banded
matrices is reused.  Peers: MONAI (``SSIMLoss``, ``compute_ms_ssim``; float32 inside)
and kornia (``metrics.ssim`` with ``padding="valid"``), where their conventions match.
"""

from __future__ import annotations

import numpy as np

import losskit

from .spec import Invalid, LossCase, Peer, Sample, reference_reduce

DEFAULT_SCALES = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


# --------------------------------------------------------------------- reference


def _blur(image: np.ndarray, window_size: int, sigma: float) -> np.ndarray:
    """The Gaussian filter over every axis of ``image``, at the positions where the whole
    window fits inside it."""
    from scipy.ndimage import gaussian_filter

    radius = (window_size - 1) // 2
    out = gaussian_filter(image, sigma, radius=radius, mode="constant")
    return out[tuple(slice(radius, s - radius) for s in image.shape)]


def _ssim_cs(x, y, window_size, sigma, data_range):
    """(mean SSIM, mean cs) of two single-channel images or volumes, float64."""
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mx, my = _blur(x, window_size, sigma), _blur(y, window_size, sigma)
    vx = _blur(x * x, window_size, sigma) - mx * mx
    vy = _blur(y * y, window_size, sigma) - my * my
    cov = _blur(x * y, window_size, sigma) - mx * my
    cs = (2 * cov + c2) / (vx + vy + c2)
    lum = (2 * mx * my + c1) / (mx * mx + my * my + c1)
    return float(np.mean(lum * cs)), float(np.mean(cs))


def _per_channel(pred, target, axis):
    """[N, C, *spatial] views of pred and target."""
    return np.moveaxis(pred, axis, 1), np.moveaxis(target, axis, 1)


def _pool(image: np.ndarray) -> np.ndarray:
    """2 x 2 (x 2) average pooling, an odd last row dropped."""
    crop = image[tuple(slice(0, 2 * (s // 2)) for s in image.shape)]
    out = crop
    for axis in range(image.ndim):
        out = 0.5 * (np.take(out, range(0, out.shape[axis], 2), axis=axis)
                     + np.take(out, range(1, out.shape[axis], 2), axis=axis))  # fmt: skip
    return out


def _ssim_ref(
    pred,
    target,
    *,
    data_range=1.0,
    window_size=11,
    sigma=1.5,
    axis=1,
    reduction="mean",
    weights=None,
):
    p, t = _per_channel(pred, target, axis)
    loss = np.empty(p.shape[:2])
    for n in range(p.shape[0]):
        for c in range(p.shape[1]):
            loss[n, c] = 1.0 - _ssim_cs(p[n, c], t[n, c], window_size, sigma, data_range)[0]
    return reference_reduce(loss, reduction, weights)


def _ms_ssim_ref(
    pred,
    target,
    *,
    data_range=1.0,
    window_size=11,
    sigma=1.5,
    axis=1,
    scale_weights=None,
    reduction="mean",
    weights=None,
):
    scales = DEFAULT_SCALES if scale_weights is None else tuple(np.asarray(scale_weights))
    p, t = _per_channel(pred, target, axis)
    loss = np.empty(p.shape[:2])
    for n in range(p.shape[0]):
        for c in range(p.shape[1]):
            x, y, value = p[n, c], t[n, c], 1.0
            for j, w in enumerate(scales):
                s, cs = _ssim_cs(x, y, window_size, sigma, data_range)
                value *= max(s if j == len(scales) - 1 else cs, 0.0) ** w
                x, y = _pool(x), _pool(y)
            loss[n, c] = 1.0 - value
    return reference_reduce(loss, reduction, weights)


# ----------------------------------------------------------------------- samples


def _pair(rng, shape, noise=0.15, high=1.0):
    """A target in [0, high] and a prediction near it (so that SSIM is far from 0)."""
    target = rng.uniform(0.0, high, size=shape)
    pred = np.clip(target + rng.normal(0.0, noise * high, size=shape), 0.0, high)
    return pred, target


def _ssim_samples(rng):
    yield Sample(_pair(rng, (2, 3, 16, 18)), desc="[2,3,16,18] defaults")
    yield Sample(_pair(rng, (1, 1, 12, 12)), {"window_size": 5, "sigma": 0.8}, desc="w=5")
    yield Sample(_pair(rng, (2, 1, 13, 14), high=2.0), {"data_range": 2.0}, desc="L=2")
    yield Sample(_pair(rng, (2, 12, 11, 3)), {"axis": -1, "window_size": 7}, desc="channels-last")
    yield Sample(_pair(rng, (1, 2, 7, 8, 9)), {"window_size": 5}, desc="volume")
    yield Sample(_pair(rng, (3, 2, 11, 11), noise=0.6), desc="window = image")


def _ms_ssim_samples(rng):
    yield Sample(_pair(rng, (1, 1, 48, 48)), {"window_size": 3}, desc="5 scales, w=3")
    yield Sample(
        _pair(rng, (2, 1, 25, 27)),
        {"window_size": 5, "sigma": 1.0, "scale_weights": np.array([0.2, 0.3, 0.5])},
        desc="3 scales, odd sizes",
    )
    yield Sample(
        _pair(rng, (1, 13, 14, 2), high=255.0),
        {"data_range": 255.0, "axis": -1, "window_size": 3, "scale_weights": [0.4, 0.6]},
        desc="channels-last, L=255",
    )
    yield Sample(
        _pair(rng, (1, 1, 12, 13, 14)),
        {"window_size": 3, "scale_weights": np.array([0.5, 0.5])},
        desc="volume",
    )
    yield Sample(
        _pair(rng, (2, 2, 12, 12), noise=1.0),
        {"window_size": 3, "scale_weights": [0.5, 0.5]},
        desc="noisy: cs below 0 clipped",
    )


def _extremes(**options):
    def extremes():
        rng = np.random.default_rng(3)
        shape = (1, 2, 48, 48)
        target = rng.uniform(size=shape)
        yield Sample((np.zeros(shape), np.ones(shape)), dict(options), desc="black vs white")
        yield Sample((1.0 - target, target), dict(options), desc="anti-correlated")
        yield Sample((1e3 * target, target), dict(options), desc="pixels of 1000 at L=1")
        yield Sample((target, target), dict(options), desc="identical")

    return extremes


def _perfect(sample: Sample) -> Sample:
    return Sample((sample.args[1].copy(), sample.args[1]), dict(sample.kwargs))


def _invalid(min_side: int, **options):
    def invalid():
        ok = np.ones((1, 1, min_side, min_side))
        yield Invalid(
            (np.ones((4, 16, 16)), np.ones((4, 16, 16))), dict(options), "[N, C, H, W]", "rank 3"
        )
        yield Invalid((ok, np.ones((1, 1, min_side, min_side + 1))), dict(options), "same shape")
        yield Invalid(
            (np.ones((1, 1, min_side - 1, 40)),) * 2,
            dict(options),
            "does not fit",
            "window bigger than the image",
        )
        yield Invalid((ok, ok), {**options, "data_range": 0.0}, "data_range must lie in")
        yield Invalid((ok, ok), {**options, "data_range": -1.0}, "data_range must lie in")
        yield Invalid((ok, ok), {**options, "window_size": 4}, "window_size must be odd")
        yield Invalid((ok, ok), {**options, "axis": 0}, "not axis 0")
        yield Invalid((ok.astype(np.int64), ok), dict(options), "real floating dtype")

    return invalid


def _ms_invalid():
    yield from _invalid(48, window_size=3)()
    image = np.ones((1, 1, 40, 40))
    yield Invalid(
        (image, image), {"window_size": 3}, "5 scales with window_size=3 need at least 48"
    )
    yield Invalid((image, image), {"scale_weights": []}, "at least one weight")


# ------------------------------------------------------------------------- peers


def _as_torch(sample: Sample):
    import torch

    return [torch.from_numpy(np.ascontiguousarray(a)) for a in sample.args]


def _monai_ssim(sample: Sample, reduction: str):
    """MONAI's SSIMLoss: 1 - the SSIM of each sample averaged over its channels, in
    float32; the same loss as losskit's for one channel (and for every mean)."""
    import monai.losses

    kw = sample.kwargs
    pred, target = _as_torch(sample)
    channels = pred.shape[1]
    if kw.get("axis", 1) != 1 or (reduction != "mean" and channels != 1):
        return None
    loss = monai.losses.SSIMLoss(
        spatial_dims=pred.ndim - 2,
        data_range=kw.get("data_range", 1.0),
        win_size=kw.get("window_size", 11),
        kernel_sigma=kw.get("sigma", 1.5),
        reduction="none" if reduction == "none" else reduction,
    )
    out = loss(pred, target).double().numpy()
    return out.reshape(-1, 1) if reduction == "none" else out


def _kornia_ssim(sample: Sample, reduction: str):
    """kornia's SSIM map with ``padding="valid"`` (its default pads with zeros), images
    [N, C, H, W] and its fixed sigma of 1.5."""
    import kornia.metrics

    kw = sample.kwargs
    pred, target = _as_torch(sample)
    if pred.ndim != 4 or kw.get("axis", 1) != 1 or kw.get("sigma", 1.5) != 1.5:
        return None
    ssim_map = kornia.metrics.ssim(
        pred,
        target,
        kw.get("window_size", 11),
        max_val=kw.get("data_range", 1.0),
        padding="valid",
    )
    return reference_reduce(1.0 - ssim_map.mean(dim=(-2, -1)).numpy(), reduction)


def _kornia_ssim_loss(sample: Sample, reduction: str):
    """kornia's ``ssim_loss`` is (1 - SSIM) / 2: twice it is losskit's mean."""
    import kornia.losses

    kw = sample.kwargs
    pred, target = _as_torch(sample)
    if reduction != "mean" or pred.ndim != 4 or kw.get("axis", 1) != 1:
        return None
    if kw.get("sigma", 1.5) != 1.5:
        return None
    half = kornia.losses.ssim_loss(
        pred, target, kw.get("window_size", 11), max_val=kw.get("data_range", 1.0),
        padding="valid",
    )  # fmt: skip
    return 2.0 * half.numpy()


def _monai_ms_ssim(sample: Sample, reduction: str):
    """MONAI's ``compute_ms_ssim`` (float32): the same as losskit's for one channel (it
    averages cs over the channels before the power)."""
    from monai.metrics.regression import compute_ms_ssim

    kw = sample.kwargs
    pred, target = _as_torch(sample)
    if pred.shape[1] != 1 or kw.get("axis", 1) != 1:
        return None
    scales = kw.get("scale_weights")
    value = compute_ms_ssim(
        pred,
        target,
        spatial_dims=pred.ndim - 2,
        data_range=kw.get("data_range", 1.0),
        kernel_size=kw.get("window_size", 11),
        kernel_sigma=kw.get("sigma", 1.5),
        weights=DEFAULT_SCALES if scales is None else tuple(float(w) for w in scales),
    )
    return reference_reduce(1.0 - value.double().numpy().reshape(-1, 1), reduction)


CASES = [
    LossCase(
        "ssim",
        losskit.ssim,
        _ssim_ref,
        _ssim_samples,
        extremes=_extremes(window_size=11),
        invalid=_invalid(11),
        peers=(
            Peer("monai.losses.SSIMLoss", "monai", _monai_ssim, rtol=1e-5),
            Peer("kornia.metrics.ssim(padding='valid')", "kornia", _kornia_ssim, rtol=1e-9),
            Peer("kornia.losses.ssim_loss x 2", "kornia", _kornia_ssim_loss, rtol=1e-9),
        ),
        perfect=_perfect,
    ),
    LossCase(
        "ms_ssim",
        losskit.ms_ssim,
        _ms_ssim_ref,
        _ms_ssim_samples,
        extremes=_extremes(window_size=3),
        invalid=_ms_invalid,
        peers=(Peer("monai compute_ms_ssim", "monai", _monai_ms_ssim, rtol=1e-5),),
        perfect=_perfect,
    ),
]
