"""``nn.Module`` losses generated from the functional losses and their metadata.

One class per registered loss (built-in or user-defined), named as the function in
CamelCase (``log_cosh`` -> ``LogCosh``; acronyms stay upper case: ``MSE``, ``MAE``,
``KLDivergence``, ``GaussianNLL``).  Modules hold options only; ``forward`` calls the
function.  PyTorch conventions:

- ``forward(input, target, *more_arrays, weights=None)``;
- the class dimension defaults to 1 (``[N, C, ...]`` inputs);
- array options (``class_weights``, ``pos_weight``, per-class ``alpha``) are buffers,
  so they follow ``.to(device)`` and appear in ``state_dict``;
- ``forward`` never mutates the module.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from losskit.core.reduction import check_reduction
from losskit.core.registry import LossInfo, get_loss
from losskit.errors import LossInputError

__all__ = ["class_name", "module_for"]

#: Name parts written as acronyms in class names.
ACRONYMS = {"mse": "MSE", "mae": "MAE", "kl": "KL", "nll": "NLL", "iou": "IoU", "gan": "GAN"}

#: Default class dimension of the PyTorch modules: PyTorch's [N, C, ...] layout.
TORCH_CLASS_AXIS = 1

_CACHE: dict[str, type[nn.Module]] = {}


def class_name(loss_name: str) -> str:
    """CamelCase class name of a loss: ``sparse_categorical_focal`` -> ``SparseCategoricalFocal``."""
    return "".join(ACRONYMS.get(part, part.capitalize()) for part in loss_name.split("_"))


def _module_doc(info: LossInfo) -> str:
    axis_note = (
        f"\n\nThe class dimension ``{info.class_axis}`` defaults to {TORCH_CLASS_AXIS} here, "
        "PyTorch's ``[N, C, ...]`` layout."
        if info.class_axis
        else ""
    )
    arrays = ", ".join(["input", *info.arrays[1:]])
    return (
        f"PyTorch module for :func:`losskit.{info.name}`: {info.summary}\n\n"
        f"Constructed with the function's keyword options; ``forward({arrays}, weights=None)``."
        f"{axis_note}\n\n"
        f"{info.fn.__doc__ or ''}"
    )


def _make_module(info: LossInfo) -> type[nn.Module]:
    defaults = dict(info.options)
    if info.class_axis:
        defaults[info.class_axis] = TORCH_CLASS_AXIS
    array_options = set(info.array_options)
    extra_arrays = info.arrays[2:]

    def __init__(self: nn.Module, *, reduction: str = "mean", **options: Any) -> None:
        nn.Module.__init__(self)
        unknown = set(options) - set(defaults)
        if unknown:
            raise LossInputError(
                f"{type(self).__name__} got unknown option(s) {sorted(unknown)}; "
                f"its options are {sorted(defaults)} and reduction"
            )
        check_reduction(reduction)
        self.reduction = reduction
        self._option_names = tuple(defaults)
        for name, default in defaults.items():
            value = options.get(name, default)
            if name in array_options:
                tensor = (
                    None
                    if value is None
                    else torch.as_tensor(value, dtype=torch.get_default_dtype())
                )
                self.register_buffer(name, tensor)
            else:
                setattr(self, name, value)

    def forward(
        self: nn.Module,
        input: torch.Tensor,
        target: torch.Tensor,
        *arrays: torch.Tensor,
        weights: torch.Tensor | None = None,
    ) -> torch.Tensor:
        if len(arrays) != len(extra_arrays):
            raise LossInputError(
                f"{type(self).__name__}.forward takes input, target"
                + "".join(f", {a}" for a in extra_arrays)
                + f"; got {2 + len(arrays)} arrays"
            )
        options = {name: getattr(self, name) for name in self._option_names}
        return info.fn(input, target, *arrays, reduction=self.reduction, weights=weights, **options)

    def extra_repr(self: nn.Module) -> str:
        parts = []
        for name in self._option_names:
            value = getattr(self, name)
            if isinstance(value, torch.Tensor):
                value = value.tolist()
            if name in defaults and value == defaults[name] and not isinstance(value, list):
                continue
            parts.append(f"{name}={value!r}")
        if self.reduction != "mean":
            parts.append(f"reduction={self.reduction!r}")
        return ", ".join(parts)

    cls = type(
        class_name(info.name),
        (nn.Module,),
        {
            "__init__": __init__,
            "forward": forward,
            "extra_repr": extra_repr,
            "__doc__": _module_doc(info),
            "__module__": "losskit.torch",
            "loss_info": info,
        },
    )
    return cls


def module_for(loss_name: str) -> type[nn.Module]:
    """The module class of the registered loss ``loss_name`` (built on first use)."""
    info = get_loss(loss_name)
    cached = _CACHE.get(loss_name)
    if cached is None or cached.loss_info is not info:  # type: ignore[attr-defined]
        cached = _CACHE[loss_name] = _make_module(info)
    return cached
