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


class _SSIMStatistics(torch.autograd.Function):
    """(mean SSIM, mean contrast-structure) of each image and channel, ``[N, C]``."""

    @staticmethod
    def forward(
        ctx: Any, x: Tensor, y: Tensor, window_size: int, sigma: float, data_range: float
    ) -> tuple[Tensor, Tensor]:
        channels = x.shape[1]
        # the five maps as the channels of one channels-last tensor: one depthwise
        # convolution, which oneDNN runs about 3x faster in this layout
        maps = _channels_last_stack((x, y, x * x, y * y, x * y))
        kernel = _window(window_size, sigma, 5 * channels, x)
        moments = F.conv2d(maps, kernel, groups=5 * channels)
        del maps
        mu_x, mu_y, xx, yy, xy = torch.split(moments, channels, dim=1)
        c1, c2 = (K1 * data_range) ** 2, (K2 * data_range) ** 2
        tiny = torch.finfo(x.dtype).tiny
        luminance, cs = _terms(mu_x, mu_y, xx, yy, xy, c1, c2, tiny)
        ctx.save_for_backward(x, y, moments)
        ctx.options = (window_size, sigma, data_range, c1, c2, tiny)
        positions = float(mu_x.shape[-1] * mu_x.shape[-2])
        s = torch.sum(luminance * cs, dim=(-2, -1)) / positions
        return s, torch.sum(cs, dim=(-2, -1)) / positions

    @staticmethod
    def backward(ctx: Any, grad_s: Tensor | None, grad_cs: Tensor | None) -> tuple[Any, ...]:
        x, y, moments = ctx.saved_tensors
        channels = x.shape[1]
        mu_x, mu_y, xx, yy, xy = torch.split(moments, channels, dim=1)
        window_size, sigma, data_range, c1, c2, tiny = ctx.options
        need_x, need_y = ctx.needs_input_grad[:2]
        if torch.is_grad_enabled():  # create_graph=True: a differentiable gradient
            grads = _generic_gradients(
                x, y, (need_x, need_y), grad_s, grad_cs, window_size, sigma, data_range
            )
            return (*grads, None, None, None)
        positions = float(mu_x.shape[-1] * mu_x.shape[-2])
        zero = torch.zeros((), dtype=x.dtype, device=x.device)
        gs = (grad_s if grad_s is not None else zero)[..., None, None] / positions
        gc = (grad_cs if grad_cs is not None else zero)[..., None, None] / positions
        luminance, cs = _terms(mu_x, mu_y, xx, yy, xy, c1, c2, tiny)
        b1 = torch.clamp(mu_x * mu_x + mu_y * mu_y + c1, min=tiny)
        var_sum = torch.clamp(xx + yy - mu_x * mu_x - mu_y * mu_y + c2, min=tiny)
        # d out / d L and d out / d CS at each position (out = gs L CS + gc CS)
        d_l = gs * cs
        d_cs = gs * luminance + gc
        # with L = (2 mx my + C1) / B1 and CS = (2 (E[xy] - mx my) + C2) / (vx + vy + C2):
        # dL/dmx = 2 (my - L mx) / B1, dCS/dmx = 2 (mx CS - my) / B2,
        # dCS/dE[x^2] = dCS/dE[y^2] = -CS / B2, dCS/dE[xy] = 2 / B2
        d_l, d_cs = d_l * (2.0 / b1), d_cs / var_sum
        g_xy = 2.0 * d_cs
        g_sq = -d_cs * cs
        maps = [g_sq, g_xy]
        if need_x:
            maps.append(d_l * (mu_y - luminance * mu_x) + 2.0 * d_cs * (mu_x * cs - mu_y))
        if need_y:
            maps.append(d_l * (mu_x - luminance * mu_y) + 2.0 * d_cs * (mu_y * cs - mu_x))
        stacked = _channels_last_stack(maps)
        del maps, g_sq, g_xy, d_l, d_cs, luminance, cs
        kernel = _window(window_size, sigma, stacked.shape[1], x)
        # the transpose of the valid filter is the full correlation (symmetric window)
        blurred = F.conv2d(stacked, kernel, groups=stacked.shape[1], padding=window_size - 1)
        del stacked
        t_sq, t_xy, *t_mu = torch.split(blurred, channels, dim=1)
        grad_x = grad_y = None
        if need_x:
            grad_x = _like(t_mu.pop(0) + 2.0 * x * t_sq + y * t_xy, x)
        if need_y:
            grad_y = _like(t_mu.pop(0) + 2.0 * y * t_sq + x * t_xy, y)
        return grad_x, grad_y, None, None, None


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


def _like(grad: Tensor, x: Tensor) -> Tensor:
    """``grad`` in ``x``'s memory layout (autograd accumulates it into ``x.grad``)."""
    if x.is_contiguous() and not grad.is_contiguous():
        return grad.contiguous()
    return grad


def _terms(
    mu_x: Tensor,
    mu_y: Tensor,
    xx: Tensor,
    yy: Tensor,
    xy: Tensor,
    c1: float,
    c2: float,
    tiny: float,
) -> tuple[Tensor, Tensor]:
    """The luminance and contrast-structure maps, as the generic kernel forms them."""
    mu_xy = mu_x * mu_y
    mu_xx_yy = mu_x * mu_x + mu_y * mu_y
    cs = (2.0 * (xy - mu_xy) + c2) / torch.clamp(xx + yy - mu_xx_yy + c2, min=tiny)
    luminance = (2.0 * mu_xy + c1) / torch.clamp(mu_xx_yy + c1, min=tiny)
    return luminance, cs


def _generic_gradients(
    x: Tensor,
    y: Tensor,
    needs: tuple[bool, bool],
    grad_s: Tensor | None,
    grad_cs: Tensor | None,
    window_size: int,
    sigma: float,
    data_range: float,
) -> tuple[Tensor | None, Tensor | None]:
    """Gradients through the generic kernel, recorded for double backward."""
    import array_api_compat.torch as xp

    def total(a: Tensor, b: Tensor) -> Tensor:
        s, cs = ssim_statistics.generic(
            a, b, window_size=window_size, sigma=sigma, data_range=data_range, xp=xp
        )
        out = torch.zeros((), dtype=a.dtype, device=a.device)
        if grad_s is not None:
            out = out + torch.sum(s * grad_s)
        if grad_cs is not None:
            out = out + torch.sum(cs * grad_cs)
        return out

    one = torch.ones((), dtype=x.dtype, device=x.device)
    return generic_backward(total, (x, y), needs, one)  # type: ignore[return-value]


@override(ssim_statistics, "torch")
def _ssim_statistics(
    x: Tensor, y: Tensor, *, window_size: int, sigma: Any, data_range: Any, xp: Any
) -> Any:
    if x.ndim != 4 or not (is_static_number(sigma) and is_static_number(data_range)):
        return NotImplemented  # volumes, or a traced sigma or data_range
    if not math.isfinite(float(sigma)) or not math.isfinite(float(data_range)):
        return NotImplemented
    return _SSIMStatistics.apply(x, y, window_size, float(sigma), float(data_range))
