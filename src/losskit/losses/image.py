"""Image losses: structural similarity (SSIM) and its multi-scale form (MS-SSIM).

Both compare a batch of predicted images with a batch of target images through local
statistics under a Gaussian window (Wang et al. 2004): the means, variances and
covariance of the two images around each pixel.  The conventions:

- **Layout.** ``[N, C, H, W]`` images or ``[N, C, D, H, W]`` volumes; ``axis`` names the
  channel axis (1 by default, -1 for channels-last Keras images).  Each channel is
  compared with its own channel; the loss of a sample and channel is one number,
  ``reduction="none"`` returns them as ``[N, C]``.
- **Window.** A sampled Gaussian of ``window_size`` taps (odd) and standard deviation
  ``sigma``, normalised to sum 1, applied separably along every spatial axis.  The
  filter is *valid* (no padding): the statistics exist only where the window fits
  inside the image, and the SSIM is the mean over those positions.  This is
  scikit-image's ``structural_similarity(..., gaussian_weights=True, sigma=1.5,
  use_sample_covariance=False)`` (which filters with padding and then crops the
  border away) and MONAI's convention; kornia pads by default.
- **Constants.** :math:`C_1 = (K_1 L)^2`, :math:`C_2 = (K_2 L)^2` with :math:`K_1 = 0.01`,
  :math:`K_2 = 0.03` and :math:`L` = ``data_range``, the difference between the largest
  and smallest value a pixel can take (1 for images in [0, 1], 255 for 8-bit images).
- **Precision.** float16 and bfloat16 images are filtered in float32 (the second moments
  of pixels above 256 overflow float16) and the loss is returned in the input's dtype.

The window is written once for every backend as small matrix products: a banded
``[S - w + 1, S]`` matrix holding the window on each row is applied along each spatial
axis (:func:`gaussian_band`).  The five local statistics are one kernel,
:func:`ssim_statistics`, which a backend may override
(:mod:`losskit.torch.fast.image`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from losskit.core.inputs import elementwise_inputs
from losskit.core.kernels import kernel
from losskit.core.namespace import (
    accumulation_dtype,
    as_array,
    device,
    finfo_tiny,
    is_array,
    shape,
    stop_gradient,
)
from losskit.core.options import array_option, integer, real
from losskit.core.reduction import Reduction, reduce_loss
from losskit.core.registry import register_loss
from losskit.core.validation import check_normalized_axis
from losskit.errors import LossInputError

__all__ = ["MS_SSIM_WEIGHTS", "gaussian_band", "ms_ssim", "ssim", "ssim_statistics"]

Array = Any

#: stability constants of Wang et al. (2004): C1 = (K1 L)^2, C2 = (K2 L)^2
K1, K2 = 0.01, 0.03
#: the weights of the five scales of Wang, Simoncelli & Bovik (2003), finest first
MS_SSIM_WEIGHTS: tuple[float, ...] = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


# ------------------------------------------------------------------ options


DATA_RANGE = real(
    "data_range",
    "L, the range of pixel values (max - min): 1.0 (default) for images in [0, 1], 255 for "
    "8-bit images. It sets C1 = (0.01 L)^2 and C2 = (0.03 L)^2; a wrong L changes the loss.",
    0.0,
    closed="neither",
)
WINDOW_SIZE = integer(
    "window_size",
    "taps of the Gaussian window along each spatial axis, odd; 11 (default) as Wang et al.",
    1,
)
SIGMA = real(
    "sigma",
    "standard deviation of the Gaussian window in pixels, > 0; 1.5 (default) as Wang et al.",
    0.0,
    closed="neither",
)
CHANNEL_AXIS = integer(
    "axis",
    "the channel axis: 1 (default) for [N, C, H, W], -1 for channels-last [N, H, W, C]. "
    "Axis 0 is the batch.",
)


def _odd_window(options: Mapping[str, Any]) -> None:
    size = options["window_size"]
    if isinstance(size, int) and size % 2 == 0:
        raise LossInputError(
            f"window_size must be odd (the window is centred on a pixel); got {size}"
        )


# ------------------------------------------------------------------ inputs


def _images(pred: Array, target: Array, axis: int) -> tuple[Any, Array, Array]:
    """pred and target as ``[N, C, *spatial]`` in the compute dtype, checked."""
    xp, pred, target = elementwise_inputs(pred, target)
    if pred.ndim not in (4, 5):
        raise LossInputError(
            "pred must be a batch of images [N, C, H, W] or of volumes [N, C, D, H, W] "
            f"(channel axis given by axis); got shape {tuple(pred.shape)}"
        )
    channel = check_normalized_axis(axis, pred.ndim)
    if channel == 0:
        raise LossInputError("axis must name the channel axis, not axis 0 (the batch); got axis=0")
    if channel != 1:
        pred, target = xp.moveaxis(pred, channel, 1), xp.moveaxis(target, channel, 1)
    spatial = tuple(pred.shape[2:])
    if any(s is None for s in spatial):
        raise LossInputError(
            f"pred's spatial sizes must be known when the loss is traced; got {spatial}"
        )
    compute = accumulation_dtype(pred, xp)
    if compute != pred.dtype:
        # second moments of 16-bit pixels are formed and summed in float32
        pred, target = xp.astype(pred, compute), xp.astype(target, compute)
    return xp, pred, target


def _too_small(spatial: tuple[int, ...], window_size: int, scales: int) -> None:
    need = window_size * 2 ** (scales - 1)
    if min(spatial) < need:
        if scales == 1:
            detail = f"each spatial side needs at least window_size={window_size} pixels"
        else:
            detail = (
                f"{scales} scales with window_size={window_size} need at least {need} pixels "
                f"on each spatial side (the coarsest scale, 1/{2 ** (scales - 1)} of the "
                "side, must hold the window); give fewer scales with scale_weights or a "
                "smaller window_size"
            )
        raise LossInputError(
            f"window_size={window_size} does not fit the images of spatial shape {spatial}: "
            f"{detail}"
        )


def _float_option(value: Any, like: Array, name: str, xp: Any) -> Any:
    """A float option as it enters the arithmetic: a Python float, or a 0-d array in
    ``like``'s dtype (a traced value, or an array given by the user)."""
    if is_array(value):
        return as_array(value, like, name, xp)
    if isinstance(value, (int, float)):
        return float(value)
    return value  # a symbolic float of torch.compile


# ------------------------------------------------------------------ the window


def gaussian_band(size: int, window_size: int, sigma: Any, like: Array, *, xp: Any) -> Array:
    """The valid Gaussian filter along an axis of ``size`` as a ``[size - w + 1, size]``
    matrix: row i holds the normalised window on columns i .. i + w - 1 and 0 elsewhere,
    so ``band @ x`` filters ``x`` along its first axis without padding.

    ``sigma`` may be a traced value: the band is built with array operations only.
    """
    dtype, dev = like.dtype, device(like)
    radius = (window_size - 1) / 2
    taps = xp.arange(window_size, dtype=dtype, device=dev) - radius
    two_var = 2.0 * sigma * sigma
    norm = xp.sum(xp.exp(-(taps * taps) / two_var))
    rows = xp.reshape(xp.arange(size - window_size + 1, dtype=dtype, device=dev), (-1, 1))
    cols = xp.reshape(xp.arange(size, dtype=dtype, device=dev), (1, -1))
    offset = cols - rows - radius  # distance from the window's centre, in pixels
    inside = xp.abs(offset) <= radius
    # exp(-offset^2 / 2 sigma^2) outside the band underflows to 0, finite with its
    # gradient: no double where needed
    weight = xp.exp(-(offset * offset) / two_var)
    return xp.where(inside, weight, xp.zeros_like(weight)) / norm


def _filter(x: Array, bands: list[Array], lead: int, xp: Any) -> Array:
    """Filter ``x`` (``lead`` leading axes, then one spatial axis per band) along each
    spatial axis with its band.

    The last axis is filtered by ``x @ band^T``; the filtered axes are then merged into
    one and swapped with the next axis to filter, so every product is a matrix product
    over the last axis (BLAS's best case).  The output's spatial axes end up merged and
    in another order, which the statistics (means of pixel-wise maps) do not see.
    """
    sizes = list(shape(x))
    head = sizes[:lead]
    spatial = sizes[lead:]
    x = xp.matmul(x, xp.matrix_transpose(bands[-1]))
    done = bands[-1].shape[0]
    for k in range(len(bands) - 2, -1, -1):
        x = xp.reshape(x, (*head, *spatial[:k], spatial[k], done))
        x = xp.matmul(xp.matrix_transpose(x), xp.matrix_transpose(bands[k]))
        done = done * bands[k].shape[0]
    return xp.reshape(x, (*head, done))


@kernel
def ssim_statistics(
    x: Array, y: Array, *, window_size: int, sigma: Any, data_range: Any, output: str, xp: Any
) -> Array:
    """The mean SSIM (``output="ssim"``) or the mean contrast-structure term
    (``output="cs"``) of each image and channel, ``[N, C]``: the means over valid window
    positions of

    .. math::
        s = \\frac{(2\\mu_x\\mu_y + C_1)(2\\sigma_{xy} + C_2)}
                  {(\\mu_x^2 + \\mu_y^2 + C_1)(\\sigma_x^2 + \\sigma_y^2 + C_2)},
        \\qquad
        cs = \\frac{2\\sigma_{xy} + C_2}{\\sigma_x^2 + \\sigma_y^2 + C_2}

    for ``x``, ``y`` of shape ``[N, C, *spatial]``, the window being ``gaussian_band``'s.
    """
    spatial = tuple(x.shape[2:])
    bands = [gaussian_band(s, window_size, sigma, x, xp=xp) for s in spatial]
    # (Co)variances are E[xy] - E[x]E[y], which cancels where a window's spread is small
    # beside its mean (smooth images, coarse MS-SSIM scales: 40 float32 eps of the loss).
    # They do not change when each image is shifted by its mean, which makes the
    # subtracted means small; the luminance term takes the means back.  The result does
    # not depend on the shift, so it is a constant to autodiff.
    x_shift, y_shift = (_image_mean(v, xp) for v in (x, y))
    x, y = x - x_shift, y - y_shift
    # the five maps filtered at once: one matrix product per axis
    moments = _filter(xp.stack([x, y, x * x, y * y, x * y]), bands, 3, xp)
    mu_x, mu_y, xx, yy, xy = (moments[i, ...] for i in range(5))
    c1 = (K1 * data_range) ** 2
    c2 = (K2 * data_range) ** 2
    # population (co)variances under the window
    two_cov = 2.0 * (xy - mu_x * mu_y) + c2
    var_sum = (xx + yy - (mu_x * mu_x + mu_y * mu_y)) + c2
    tiny = finfo_tiny(x, xp)
    # the denominators are >= C1 C2 > 0 up to rounding; the floor keeps a C2 that
    # underflows (data_range below 1e-17 in float32) from dividing 0 by 0
    cs = two_cov / xp.clip(var_sum, tiny, None)
    if output == "cs":
        return xp.mean(cs, axis=-1)
    # the means of each window, unshifted: [N, C, positions] plus [N, C, 1]
    mu_x = mu_x + xp.reshape(x_shift, (*shape(x_shift)[:2], 1))
    mu_y = mu_y + xp.reshape(y_shift, (*shape(y_shift)[:2], 1))
    mu_xy = mu_x * mu_y
    luminance = (2.0 * mu_xy + c1) / xp.clip(mu_x * mu_x + mu_y * mu_y + c1, tiny, None)
    return xp.mean(luminance * cs, axis=-1)


def _image_mean(x: Array, xp: Any) -> Array:
    """The mean of each image and channel of ``[N, C, *spatial]``, keeping its axes, as
    a constant to autodiff."""
    return stop_gradient(xp.mean(x, axis=tuple(range(2, x.ndim)), keepdims=True), xp)


def _pool(x: Array, xp: Any) -> Array:
    """2 x 2 (x 2) average pooling over the spatial axes of ``[N, C, *spatial]``; an odd
    last row (column, slice) is dropped, as MONAI's ``avg_pool``."""
    head = list(shape(x))[:2]
    spatial = [s // 2 for s in x.shape[2:]]
    x = x[(..., *(slice(0, 2 * s) for s in spatial))]
    # one spatial axis at a time: the gradient of a mean over several split axes at once
    # broadcasts along several axes of an 8-D array, which TensorFlow does not support
    for i, size in enumerate(spatial):
        before, after = spatial[:i], list(x.shape[3 + i :])
        x = xp.mean(xp.reshape(x, (*head, *before, size, 2, *after)), axis=2 + i + 1)
    return x


def _positive_power(v: Array, w: Any, xp: Any) -> Array:
    """max(v, 0)^w with a finite gradient: 0 (and gradient 0) for v below the smallest
    normal number, where w v^(w-1) would overflow (w < 1)."""
    keep = v > finfo_tiny(v, xp)
    safe = xp.where(keep, v, xp.ones_like(v))
    powered = safe**w
    return xp.where(keep, powered, xp.zeros_like(powered))


# ------------------------------------------------------------------ losses


@register_loss(
    tasks="regression",
    summary="SSIM loss, 1 - structural similarity under a Gaussian window, per image and channel.",
    options=(DATA_RANGE, WINDOW_SIZE, SIGMA, CHANNEL_AXIS),
    constraints=(_odd_window,),
)
def ssim(
    pred: Array,
    target: Array,
    *,
    data_range: float = 1.0,
    window_size: int = 11,
    sigma: float = 1.5,
    axis: int = 1,
    reduction: Reduction = "mean",
    weights: Array | None = None,
) -> Array:
    r"""Structural-similarity loss (Wang et al. 2004): one minus the mean SSIM.

    For each image and channel, with :math:`\mu`, :math:`\sigma^2` and :math:`\sigma_{xy}`
    the means, variances and covariance of the prediction :math:`x` and the target
    :math:`y` under a Gaussian window centred at position :math:`p`, over the :math:`P`
    positions where the window fits inside the image:

    .. math::
        \ell = 1 - \frac{1}{P}\sum_p
            \frac{(2\mu_x\mu_y + C_1)(2\sigma_{xy} + C_2)}
                 {(\mu_x^2 + \mu_y^2 + C_1)(\sigma_x^2 + \sigma_y^2 + C_2)},
        \quad C_1 = (0.01 L)^2,\ C_2 = (0.03 L)^2

    The loss lies in [0, 2]: 0 for identical images, 1 for unrelated ones, above 1 for
    anti-correlated ones.  It is scikit-image's ``1 - structural_similarity(...,
    gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=L)`` and
    MONAI's ``SSIMLoss``; kornia's ``ssim_loss`` pads the image and halves the loss.

    Args:
        pred: predicted images ``[N, C, H, W]`` or volumes ``[N, C, D, H, W]`` (channel
            axis as ``axis`` says), floating.
        target: target images, ``pred``'s shape (never broadcast).
        data_range: :math:`L`, the range of pixel values (max - min): 1.0 (default) for
            images in [0, 1], 255 for 8-bit images.  It is not read from the data.
        window_size: taps of the Gaussian window along each axis, odd; 11 (default).
        sigma: standard deviation of the window, in pixels; 1.5 (default).
        axis: the channel axis; 1 (default), -1 for channels-last images.
        {reduction}

    Returns:
        The reduced loss, or for ``"none"`` the loss of each image and channel, ``[N, C]``.

    Examples:
        >>> import numpy as np, losskit
        >>> rng = np.random.default_rng(0)
        >>> target = rng.uniform(size=(1, 1, 16, 16))
        >>> float(losskit.ssim(target, target))
        0.0
        >>> round(float(losskit.ssim(np.clip(target + 0.1, 0, 1), target)), 4)
        0.0148

    References:
        Wang, Z., Bovik, A. C., Sheikh, H. R. & Simoncelli, E. P. (2004). Image quality
        assessment: from error visibility to structural similarity. IEEE TIP 13(4).
    """
    xp, x, y = _images(pred, target, axis)
    _too_small(tuple(x.shape[2:]), window_size, 1)
    sigma = _float_option(sigma, x, "sigma", xp)
    data_range = _float_option(data_range, x, "data_range", xp)
    value = ssim_statistics(
        x, y, window_size=window_size, sigma=sigma, data_range=data_range, output="ssim", xp=xp
    )
    loss = 1.0 - value
    if loss.dtype != pred.dtype:
        loss = xp.astype(loss, pred.dtype)
    return reduce_loss(loss, reduction=reduction, weights=weights, xp=xp)


@register_loss(
    tasks="regression",
    summary="MS-SSIM loss: 1 - multi-scale structural similarity (five scales by default).",
    options=(
        DATA_RANGE,
        WINDOW_SIZE,
        SIGMA,
        CHANNEL_AXIS,
        array_option(
            "scale_weights",
            "exponent of each scale, finest first; None (default): Wang et al.'s five, "
            "(0.0448, 0.2856, 0.3001, 0.2363, 0.1333). Their number is the number of scales.",
        ),
    ),
    constraints=(_odd_window,),
)
def ms_ssim(
    pred: Array,
    target: Array,
    *,
    data_range: float = 1.0,
    window_size: int = 11,
    sigma: float = 1.5,
    axis: int = 1,
    scale_weights: Array | None = None,
    reduction: Reduction = "mean",
    weights: Array | None = None,
) -> Array:
    r"""Multi-scale structural-similarity loss (Wang, Simoncelli & Bovik 2003).

    The images are compared at :math:`M` scales (5 by default), each one a 2 x 2 average
    pooling of the one before.  With :math:`cs_j` the mean contrast-structure term at
    scale :math:`j` and :math:`s_M` the mean SSIM at the coarsest scale (see
    :func:`ssim`), for each image and channel:

    .. math::
        \ell = 1 - \bigl[s_M\bigr]_+^{w_M} \prod_{j=1}^{M-1} \bigl[cs_j\bigr]_+^{w_j}

    where :math:`[v]_+ = \max(v, 0)`: a negative term (anti-correlated structure)
    counts as 0, as in MONAI, so the power of a negative number never
    makes a NaN; its gradient is then 0.  The luminance enters at the coarsest scale
    only, inside :math:`s_M`.  The loss lies in [0, 1].

    Each spatial side needs at least ``window_size * 2**(M - 1)`` pixels (176 for the
    defaults): the coarsest scale must hold the window.  A side of odd length loses its
    last row when pooled.  MONAI's ``MultiScaleSSIMMetric`` averages :math:`cs_j` over
    the channels before the power; here each channel has its own loss (the same for
    one channel).

    Args:
        pred: predicted images ``[N, C, H, W]`` or volumes ``[N, C, D, H, W]`` (channel
            axis as ``axis`` says), floating.
        target: target images, ``pred``'s shape (never broadcast).
        data_range: :math:`L`, the range of pixel values (max - min): 1.0 (default) for
            images in [0, 1], 255 for 8-bit images.  It is not read from the data.
        window_size: taps of the Gaussian window along each axis, odd; 11 (default).
        sigma: standard deviation of the window, in pixels; 1.5 (default).
        axis: the channel axis; 1 (default), -1 for channels-last images.
        scale_weights: the exponents :math:`w_j`, finest scale first; None (default):
            (0.0448, 0.2856, 0.3001, 0.2363, 0.1333).  Their number is :math:`M`.
        {reduction}

    Returns:
        The reduced loss, or for ``"none"`` the loss of each image and channel, ``[N, C]``.

    Examples:
        >>> import numpy as np, losskit
        >>> rng = np.random.default_rng(0)
        >>> target = rng.uniform(size=(1, 1, 176, 176))
        >>> float(losskit.ms_ssim(target, target))
        0.0
        >>> round(float(losskit.ms_ssim(0.5 * target, target)), 4)
        0.1793

    References:
        Wang, Z., Simoncelli, E. P. & Bovik, A. C. (2003). Multiscale structural
        similarity for image quality assessment. Asilomar Conference on Signals, Systems
        and Computers.
    """
    given = scale_weights is not None
    count = len(MS_SSIM_WEIGHTS) if not given else _count(scale_weights)
    if count == 0:
        raise LossInputError("scale_weights must hold at least one weight; got none")
    xp, x, y = _images(pred, target, axis)
    _too_small(tuple(x.shape[2:]), window_size, count)
    sigma = _float_option(sigma, x, "sigma", xp)
    data_range = _float_option(data_range, x, "data_range", xp)
    if given:
        w = as_array(scale_weights, x, "scale_weights", xp)
        exponents = [w[j] for j in range(count)]
    else:
        exponents = list(MS_SSIM_WEIGHTS)
    value = None
    for j in range(count):
        last = j == count - 1
        term = ssim_statistics(
            x,
            y,
            window_size=window_size,
            sigma=sigma,
            data_range=data_range,
            output="ssim" if last else "cs",
            xp=xp,
        )
        term = _positive_power(term, exponents[j], xp)
        value = term if value is None else value * term
        if j < count - 1:
            x, y = _pool(x, xp), _pool(y, xp)
    loss = 1.0 - value
    if loss.dtype != pred.dtype:
        loss = xp.astype(loss, pred.dtype)
    return reduce_loss(loss, reduction=reduction, weights=weights, xp=xp)


def _count(scale_weights: Any) -> int:
    """The number of scales: the length of ``scale_weights``, a 1-D sequence or array."""
    if is_array(scale_weights) and scale_weights.ndim == 1:
        return int(scale_weights.shape[0])
    if isinstance(scale_weights, (list, tuple)):
        return len(scale_weights)
    raise LossInputError(
        f"scale_weights must be a 1-D list or array, one weight per scale; got {scale_weights!r}"
    )
