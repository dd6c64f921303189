"""Distance maps of target masks, for :func:`~losskit.boundary_loss` and
:func:`~losskit.hausdorff_dt`: computed once per target on the CPU, with SciPy's exact
Euclidean distance transform (``scipy.ndimage.distance_transform_edt``).

The maps depend on the target only, so they belong in the data pipeline (a
``Dataset.__getitem__``, a ``tf.data`` map), not in the loss: the losses take them as an
array and stay portable, differentiable and jit-compatible.  SciPy is imported on first
use (``pip install scipy``); losskit itself does not depend on it.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from losskit.errors import LossInputError

__all__ = ["distance_maps"]


def _numpy(x: Any) -> np.ndarray:
    """A NumPy copy of an array of any library, on the CPU."""
    if hasattr(x, "detach") and hasattr(x, "cpu"):  # torch, on any device
        x = x.detach().cpu()
    return np.asarray(x)


def _edt() -> Any:
    try:
        return importlib.import_module("scipy.ndimage").distance_transform_edt
    except ModuleNotFoundError as err:
        raise ImportError(
            "losskit.distance_maps computes distance transforms with SciPy, which is not "
            "installed: pip install scipy (or pip install 'losskit[segmentation]')"
        ) from err


def _one_map(mask: np.ndarray, signed: bool, spacing: Any, edt: Any) -> np.ndarray:
    """The distance map of one boolean mask; zeros for an empty or full mask (no boundary)."""
    if not mask.any() or mask.all():
        return np.zeros(mask.shape)
    outside = edt(~mask, sampling=spacing)  # background: distance to the nearest foreground
    inside = edt(mask, sampling=spacing)  # foreground: distance to the nearest background
    if signed:
        # Kervadec et al.'s convention: the foreground voxels next to the boundary are 0,
        # deeper ones negative; the background positive, at least one voxel.
        return np.where(mask, 1.0 - inside, outside)
    return np.where(mask, inside, outside)


def distance_maps(
    target: Any,
    *,
    axis: int | None = None,
    classes: int | None = None,
    signed: bool = True,
    spacing: float | Sequence[float] | None = None,
    dtype: Any = np.float32,
) -> np.ndarray:
    r"""Euclidean distance maps of the target masks of each sample (and class), on the CPU.

    - ``signed=True`` (default; for :func:`~losskit.boundary_loss`): the signed distance to
      the mask's boundary, Kervadec et al.'s: outside the mask the distance to the nearest
      mask voxel (:math:`\ge 1`), inside :math:`1 -` the distance to the nearest
      background voxel (:math:`\le 0`, 0 on the mask's own border).  MONAI's
      ``BoundaryLoss`` computes the same maps.
    - ``signed=False`` (for :func:`~losskit.hausdorff_dt`): the unsigned distance of every
      voxel to the nearest voxel of the other side, :math:`\ge 1` (the maps of MONAI's
      ``HausdorffDTLoss``).

    An empty mask, or one that fills its whole image, has no boundary: its map is 0.

    Args:
        target: masks (thresholded at 0.5) ``[B, ...]`` with ``axis=None``; one-hot masks
            with classes on ``axis``; or, with ``classes``, integer labels ``[B, ...]``
            (labels outside ``[0, classes)``, such as an ignore index, belong to no class).
            NumPy, or any array NumPy can read (PyTorch tensors on any device).
        axis: the class axis of ``target`` (one-hot), or where the class axis goes in the
            output (labels); None for binary masks.
        classes: the number of classes of integer labels; None for masks.
        signed: signed (boundary loss) or unsigned (Hausdorff) distances.
        spacing: the voxel size along the spatial axes (a number, or one per axis), for
            anisotropic scans; distances are then in those units.  Default 1.
        dtype: the NumPy dtype of the result.

    Returns:
        A NumPy array: masks' shape, or the labels' shape with ``classes`` inserted at
        ``axis``.

    Examples:
        >>> import numpy as np, losskit
        >>> mask = np.array([[0, 0, 1, 1, 1, 0]])
        >>> losskit.distance_maps(mask)
        array([[ 2.,  1.,  0., -1.,  0.,  1.]], dtype=float32)
        >>> losskit.distance_maps(mask, signed=False)
        array([[2., 1., 1., 2., 1., 1.]], dtype=float32)
    """
    t = _numpy(target)
    if t.ndim < 2 and not (classes is not None and t.ndim >= 1):
        raise LossInputError(
            f"target must have a batch axis and at least one spatial axis; got shape {t.shape}"
        )
    if classes is not None:
        if axis is None:
            raise LossInputError("classes needs axis, where the class axis goes in the output")
        if not np.issubdtype(t.dtype, np.integer):
            raise LossInputError(f"integer labels expected with classes; got dtype {t.dtype}")
        if isinstance(classes, bool) or not isinstance(classes, int) or classes < 1:
            raise LossInputError(f"classes must be a positive integer; got {classes!r}")
        out_ndim = t.ndim + 1
        ax = axis % out_ndim if -out_ndim <= axis < out_ndim else None
        if ax is None or ax == 0:
            raise LossInputError(
                f"axis must name a class axis other than the batch axis 0; got {axis}"
            )
        masks = np.stack([t == c for c in range(classes)], axis=ax)
    elif axis is not None:
        if not -t.ndim <= axis < t.ndim or axis % t.ndim == 0:
            raise LossInputError(
                f"axis must name a class axis of target other than the batch axis 0; got {axis}"
            )
        ax = axis % t.ndim
        masks = t > 0.5
    else:
        ax = None
        masks = t > 0.5
    edt = _edt()
    # [B, C, spatial...]: one transform per sample and class
    layout = masks[:, None] if ax is None else np.moveaxis(masks, ax, 1)
    out = np.zeros(layout.shape, dtype=np.float64)
    for b in range(layout.shape[0]):
        for c in range(layout.shape[1]):
            out[b, c] = _one_map(layout[b, c], signed, spacing, edt)
    out = out[:, 0] if ax is None else np.moveaxis(out, 1, ax)
    return out.astype(dtype)
