"""PyTorch kernel of the SSIM losses (an override of
:func:`losskit.losses.image.ssim_statistics`).

The generic kernel filters with banded matrices (dense matrix products, 96% of whose
products are by zero at 256 pixels) and lets autograd keep every intermediate map.
Here the window is PyTorch's depthwise convolution (``groups`` = channels, the 2-D
Gaussian as one ``w x w`` kernel: on the CPU oneDNN's depthwise kernel beats two 1-D
passes), and the statistics are an autograd Function with an analytic backward that
keeps only the five filtered moments: the gradient with respect to a moment map is a
pixel-wise formula, and the gradient with respect to the image is that map filtered
by the transposed window (a convolution with padding ``w - 1``; the Gaussian is
symmetric).  Images only (``[N, C, H, W]``); volumes and traced ``sigma`` or
``data_range`` take the generic kernel.  ``benchmarks/README.md``'s SSIM row is the
reason this exists.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from losskit.core.kernels import override
from losskit.core.namespace import is_static_number
from losskit.losses.image import K1, K2, ssim_statistics
from losskit.torch.fast._common import generic_backward

Tensor = torch.Tensor


def _window(window_size: int, sigma: float, channels: int, like: Tensor) -> Tensor:
    """The normalised 2-D Gaussian, ``[channels, 1, w, w]`` for a depthwise convolution."""
    radius = (window_size - 1) / 2
    taps = torch.arange(window_size, dtype=like.dtype, device=like.device) - radius
    g = torch.exp(-(taps * taps) / (2.0 * sigma * sigma))
    g = g / g.sum()
    return torch.outer(g, g).expand(channels, 1, window_size, window_size).contiguous()


#: images per chunk: about 2^20 pixels per map, so the five stacked maps of a chunk and
#: their filtered moments take a few tens of MiB whatever the batch size
CHUNK_PIXELS = 2**20


def _chunks(x: Tensor) -> list[slice]:
    per_image = max(1, x[0].numel())
    step = max(1, CHUNK_PIXELS // per_image)
    return [slice(i, i + step) for i in range(0, x.shape[0], step)]


class _SSIMStatistics(torch.autograd.Function):
    """The mean SSIM or contrast-structure term of each image and channel, ``[N, C]``.

    The output is linear in nothing, but its derivative with respect to the five moment
    maps is, at each position, a fixed map times the upstream gradient of the image and
    channel: forward stores those maps (three, four when both images need a gradient)
    instead of the moments, and works through the batch a chunk at a time.
    """

    @staticmethod
    def forward(
        ctx: Any,
        x: Tensor,
        y: Tensor,
        window_size: int,
        sigma: float,
        data_range: float,
        want_cs: bool,
    ) -> Tensor:
        need_x, need_y = ctx.needs_input_grad[:2]
        n, channels = x.shape[:2]
        out_shape = (n, channels, x.shape[2] - window_size + 1, x.shape[3] - window_size + 1)
        positions = float(out_shape[2] * out_shape[3])
        c1, c2 = (K1 * data_range) ** 2, (K2 * data_range) ** 2
        tiny = torch.finfo(x.dtype).tiny
        kernel = _window(window_size, sigma, 5 * channels, x)
        grads_wanted = need_x or need_y
        saved = [
            torch.empty(out_shape, dtype=x.dtype, device=x.device) if want else None
            for want in (grads_wanted, grads_wanted, need_x, need_y)
        ]
        out = torch.empty((n, channels), dtype=x.dtype, device=x.device)
        for rows in _chunks(x):
            (xc, x_shift), (yc, y_shift) = _shifted(x[rows]), _shifted(y[rows])
            # the five maps as the channels of one channels-last tensor: one depthwise
            # convolution, which oneDNN runs about 3x faster in this layout
            maps = _channels_last_stack((xc, yc, xc * xc, yc * yc, xc * yc))
            moments = F.conv2d(maps, kernel, groups=5 * channels)
            del maps
            mu_x, mu_y, xx, yy, xy = torch.split(moments, channels, dim=1)
            b2 = torch.clamp(xx + yy - (mu_x * mu_x + mu_y * mu_y) + c2, min=tiny)
            cs = (2.0 * (xy - mu_x * mu_y) + c2) / b2
            del xx, yy, xy
            luminance = true_x = true_y = b1 = None
            if not want_cs:
                # the unshifted means, for the luminance term
                true_x, true_y = mu_x + x_shift, mu_y + y_shift
                b1 = torch.clamp(true_x * true_x + true_y * true_y + c1, min=tiny)
                luminance = (2.0 * true_x * true_y + c1) / b1
            out[rows] = torch.sum(cs if want_cs else luminance * cs, dim=(-2, -1)) / positions
            if not grads_wanted:
                continue
            # d out / d CS and d out / d L at each position, per unit of upstream gradient
            # (times P): with L = (2 mx my + C1) / B1, CS = (2 (E[xy] - mx my) + C2) / B2,
            # dL/dmx = 2 (my - L mx) / B1, dCS/dmx = 2 (mx CS - my) / B2,
            # dCS/dE[x^2] = dCS/dE[y^2] = -CS / B2 and dCS/dE[xy] = 2 / B2
            d_cs = (1.0 if want_cs else luminance) / b2
            saved[0][rows] = -d_cs * cs
            saved[1][rows] = 2.0 * d_cs
            d_l = None if want_cs else (2.0 * cs) / b1
            # (CS in the shifted means, L in the true ones: the same derivative per mean)
            for slot, (a, b, true_a, true_b) in (
                (2, (mu_x, mu_y, true_x, true_y)),
                (3, (mu_y, mu_x, true_y, true_x)),
            ):
                if saved[slot] is None:
                    continue
                grad = 2.0 * d_cs * (a * cs - b)
                if d_l is not None:
                    grad = grad + d_l * (true_b - luminance * true_a)
                saved[slot][rows] = grad
        ctx.save_for_backward(x, y, *saved)
        ctx.options = (window_size, sigma, data_range, want_cs, positions)
        return out

    @staticmethod
    def backward(ctx: Any, grad_out: Tensor) -> tuple[Any, ...]:
        x, y, u_sq, u_xy, v_x, v_y = ctx.saved_tensors
        window_size, sigma, data_range, want_cs, positions = ctx.options
        need_x, need_y = ctx.needs_input_grad[:2]
        if torch.is_grad_enabled():  # create_graph=True: a differentiable gradient
            grads = _generic_gradients(
                x, y, (need_x, need_y), grad_out, window_size, sigma, data_range, want_cs
            )
            return (*grads, None, None, None, None)
        channels = x.shape[1]
        scale = (grad_out / positions)[..., None, None]
        grad_x = torch.empty_like(x) if need_x else None
        grad_y = torch.empty_like(y) if need_y else None
        count = 2 + need_x + need_y
        kernel = _window(window_size, sigma, count * channels, x)
        for rows in _chunks(x):
            g = scale[rows]
            maps = [g * u_sq[rows], g * u_xy[rows]]
            maps += [g * v[rows] for v in (v_x, v_y) if v is not None]
            stacked = _channels_last_stack(maps)
            del maps
            # the transpose of the valid filter is the full correlation (symmetric window)
            blurred = F.conv2d(stacked, kernel, groups=count * channels, padding=window_size - 1)
            del stacked
            t_sq, t_xy, *t_mu = torch.split(blurred, channels, dim=1)
            (xc, _), (yc, _) = _shifted(x[rows]), _shifted(y[rows])
            if grad_x is not None:
                grad_x[rows] = t_mu.pop(0) + 2.0 * xc * t_sq + yc * t_xy
            if grad_y is not None:
                grad_y[rows] = t_mu.pop(0) + 2.0 * yc * t_sq + xc * t_xy
        return grad_x, grad_y, None, None, None, None


def _shifted(images: Tensor) -> tuple[Tensor, Tensor]:
    """``images`` minus the mean of each image and channel, and that mean: the
    (co)variances do not change, and their E[xy] - E[x]E[y] no longer cancels where a
    window's spread is small beside its mean (see the generic kernel)."""
    mean = images.mean(dim=(-2, -1), keepdim=True)
    return images - mean, mean


def _channels_last_stack(maps: Any) -> Tensor:
    """``torch.cat(maps, dim=1)`` written into a channels-last tensor."""
    first = maps[0]
    n, c, h, w = first.shape
    out = torch.empty(
        (n, c * len(maps), h, w),
        dtype=first.dtype,
        device=first.device,
        memory_format=torch.channels_last,
    )
    for i, m in enumerate(maps):
        out[:, i * c : (i + 1) * c] = m
    return out


def _generic_gradients(
    x: Tensor,
    y: Tensor,
    needs: tuple[bool, bool],
    grad_out: Tensor,
    window_size: int,
    sigma: float,
    data_range: float,
    want_cs: bool,
) -> tuple[Tensor | None, Tensor | None]:
    """Gradients through the generic kernel, recorded for double backward."""
    import array_api_compat.torch as xp

    def generic(a: Tensor, b: Tensor) -> Tensor:
        return ssim_statistics.generic(
            a,
            b,
            window_size=window_size,
            sigma=sigma,
            data_range=data_range,
            output="cs" if want_cs else "ssim",
            xp=xp,
        )

    return generic_backward(generic, (x, y), needs, grad_out)  # type: ignore[return-value]


@override(ssim_statistics, "torch")
def _ssim_statistics(
    x: Tensor,
    y: Tensor,
    *,
    window_size: int,
    sigma: Any,
    data_range: Any,
    output: str,
    xp: Any,
) -> Any:
    if x.ndim != 4 or not (is_static_number(sigma) and is_static_number(data_range)):
        return NotImplemented  # volumes, or a traced sigma or data_range
    if not math.isfinite(float(sigma)) or not math.isfinite(float(data_range)):
        return NotImplemented
    return _SSIMStatistics.apply(x, y, window_size, float(sigma), float(data_range), output == "cs")
