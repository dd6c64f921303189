"""The data of :func:`~losskit.lab.compare`: arrays, tensors or a DataLoader read into
NumPy, and targets checked for the task."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from losskit.errors import LossInputError

__all__ = ["checked_targets", "read_rows"]


def read_rows(data: Any, argument: str) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)`` NumPy arrays from arrays, tensors or a DataLoader of ``(x, y)`` batches;
    floating inputs become float32."""
    if isinstance(data, torch.utils.data.DataLoader):
        batches = list(data)
        if not batches or not all(isinstance(b, Sequence) and len(b) == 2 for b in batches):
            raise LossInputError(f"{argument}: the DataLoader must yield (inputs, targets) batches")
        x = np.concatenate([_array(b[0], argument) for b in batches])
        y = np.concatenate([_array(b[1], argument) for b in batches])
    elif isinstance(data, Sequence) and len(data) == 2:
        x, y = _array(data[0], argument), _array(data[1], argument)
    else:
        raise LossInputError(
            f"{argument} must be (inputs, targets) arrays or tensors, or a torch DataLoader of "
            f"such batches; got {type(data).__name__}"
        )
    if len(x) != len(y):
        raise LossInputError(
            f"{argument}: inputs and targets have different lengths ({len(x)} and {len(y)})"
        )
    if len(x) < 2:
        raise LossInputError(f"{argument}: needs at least 2 rows; got {len(x)}")
    if np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float32)
    return x, y


def _array(value: Any, argument: str) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    try:
        return np.asarray(value)
    except (TypeError, ValueError) as error:
        raise LossInputError(f"{argument}: not an array ({error})") from None


def checked_targets(y: np.ndarray, task: str, argument: str) -> np.ndarray:
    """Targets as the task reads them: float32 values, or int64 class indices."""
    if task == "regression":
        if not np.issubdtype(y.dtype, np.number):
            raise LossInputError(f"{argument}: regression targets must be numbers; got {y.dtype}")
        return y.astype(np.float32)
    if not np.issubdtype(y.dtype, np.number) or not np.all(np.equal(np.mod(y, 1), 0)):
        raise LossInputError(f"{argument}: {task} targets must be whole-number class labels")
    y = y.astype(np.int64)
    if task == "binary" and not set(np.unique(y).tolist()) <= {0, 1}:
        raise LossInputError(
            f"{argument}: binary targets must be 0 or 1; got {sorted(set(np.unique(y).tolist()))[:5]}"
        )
    if task == "multi-class" and (y.ndim != 1 or y.min() < 0):
        raise LossInputError(
            f"{argument}: multi-class targets must be class indices 0..C-1 of shape [N]"
        )
    return y
