"""``nn.Module`` losses generated from the functional losses and their metadata.

One class per registered loss (built-in or user-defined), named as the function in
CamelCase (``log_cosh`` -> ``LogCosh``; acronyms stay upper case: ``MSE``, ``MAE``,
``KLDivergence``, ``GaussianNLL``).  Modules hold options only; ``forward`` calls the
function, which runs the PyTorch kernel overrides.  PyTorch conventions:

- ``forward(input, target, *more_arrays, weights=None, normalizer=None)``, the
  function's arrays in order; ``normalizer`` is the mean's given count (gradient
  accumulation: see :mod:`losskit.core.reduction`), per call since it changes per step;
- the defaults follow one rule (:func:`losskit.guide.examples.adapter_defaults`): the
  modules take what ``torch.nn`` takes, **logits** (``from_logits=True``, as
  ``CrossEntropyLoss`` and ``BCEWithLogitsLoss``) and **classes on dim 1**
  (``[N, C, ...]``) for every loss whose function has a class axis by default; the
  overlap losses (Dice, Jaccard, Tversky...) compare binary masks element by element
  by default (``axis=None``, as their functions) and take ``axis=1`` for multi-class
  masks.  Every other option has the function's default;
- array options (``class_weights``, ``pos_weight``, per-class ``alpha``) are buffers,
  so they follow ``.to(device)`` and ``.to(dtype)`` and appear in ``state_dict``;
- every option is checked when the module is built, from its declaration (no call);
- ``forward`` never mutates the module, and works under ``torch.compile(fullgraph=True)``.
"""

from __future__ import annotations

import inspect
from typing import Any

import torch
from array_api_compat import array_namespace
from torch import nn

from losskit.core.inputs import check_distributions
from losskit.core.reduction import check_reduction
from losskit.core.registry import LossInfo, class_name, get_loss
from losskit.errors import LossInputError
from losskit.guide.examples import TORCH_CLASS_AXIS, adapter_defaults

__all__ = ["TORCH_CLASS_AXIS", "class_name", "module_for"]
#: Buffers with at most this many values are written out in full by ``repr``.
REPR_MAX_VALUES = 8

_CACHE: dict[str, type[nn.Module]] = {}


def _describe(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        if value.numel() <= REPR_MAX_VALUES:
            return repr(value.tolist())
        return f"tensor(shape={list(value.shape)}, dtype={value.dtype})"
    return repr(value)


def _forward_names(info: LossInfo) -> tuple[str, ...]:
    """``forward``'s arrays: the function's, the first called ``input`` as in PyTorch."""
    return ("input", *info.arrays[1:])


def _module_doc(info: LossInfo, defaults: dict[str, Any]) -> str:
    name = class_name(info.name)
    arrays = ", ".join(_forward_names(info))
    options = ", ".join(f"{k}={v!r}" for k, v in defaults.items())
    lines = [
        f"PyTorch module for :func:`losskit.{info.name}`: {info.summary}",
        "",
        f"``{name}({options}{', ' if options else ''}reduction='mean')`` takes the "
        f"function's keyword options; ``forward({arrays}, weights=None, normalizer=None)`` "
        "returns the loss.",
    ]
    changed = [k for k, v in defaults.items() if not _same(v, info.options[k])]
    if changed:
        ours = " and ".join(f"``{k}={defaults[k]!r}``" for k in changed)
        theirs = " and ".join(f"``{k}={info.options[k]!r}``" for k in changed)
        what = ["logits"] if "from_logits" in changed else []
        what += ["classes on dim 1 of ``[N, C, ...]`` inputs"] if info.class_axis in changed else []
        lines += [
            "",
            f"Defaults as in ``torch.nn``: {ours} here (the function has {theirs}): "
            f"{' and '.join(what) or 'the PyTorch layout'}.",
        ]
    if info.array_options:
        buffers = ", ".join(f"``{a}``" for a in info.array_options)
        lines += [
            "",
            f"{buffers}: stored as buffers (moved by ``.to()``, saved in ``state_dict``).",
        ]
    lines += ["", "The function's documentation follows.", "", info.fn.__doc__ or ""]
    return "\n".join(lines)


def _softmax_targets(info: LossInfo, options: dict[str, Any], arrays: tuple[Any, ...]) -> bool:
    """Whether ``arrays[1]`` is the same-shape target of a softmax over the class axis:
    the cross-entropy family (a class axis by default), or an overlap loss given a
    class axis and logits.  Such a target must be a distribution along that axis."""
    axis_name = info.class_axis
    if axis_name is None or options.get(axis_name) is None or len(arrays) < 2:
        return False
    if info.arrays[1] != "target":
        return False  # not a target (boundary_loss's distance maps)
    if arrays[1] is None:
        return False  # an optional target left out (distillation without labels)
    if options.get("log_target"):
        return False  # log-probabilities: the function checks their exponentials
    if tuple(arrays[1].shape) != tuple(arrays[0].shape):
        return False  # integer labels, checked by the function
    return info.options[axis_name] is not None or bool(options.get("from_logits"))


def _same(a: Any, b: Any) -> bool:
    return a is b or (type(a) is type(b) and a == b)


def _signature(defaults: dict[str, Any]) -> inspect.Signature:
    """``__init__``'s signature: the options with the module's defaults, then reduction."""
    keyword = inspect.Parameter.KEYWORD_ONLY
    parameters = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    parameters += [inspect.Parameter(n, keyword, default=v) for n, v in defaults.items()]
    parameters.append(inspect.Parameter("reduction", keyword, default="mean"))
    return inspect.Signature(parameters)


def _make_module(info: LossInfo) -> type[nn.Module]:
    defaults = adapter_defaults(info, "pytorch")
    array_options = set(info.array_options)
    names = _forward_names(info)

    def __init__(self: nn.Module, *, reduction: str = "mean", **options: Any) -> None:
        nn.Module.__init__(self)
        unknown = set(options) - set(defaults)
        if unknown:
            raise LossInputError(
                f"{type(self).__name__} got unknown option(s) {sorted(unknown)}; "
                f"its options are {sorted(defaults)} and reduction"
            )
        check_reduction(reduction)
        values = {name: options.get(name, default) for name, default in defaults.items()}
        info.check_options(values)
        self.reduction = reduction
        self._option_names = tuple(defaults)
        for name, value in values.items():
            if name in array_options:
                self.register_buffer(name, _as_buffer(value))
            else:
                setattr(self, name, value)

    def forward(
        self: nn.Module, *arrays: torch.Tensor, weights: Any = None, normalizer: Any = None
    ) -> torch.Tensor:
        if len(arrays) != len(names):
            raise LossInputError(
                f"{type(self).__name__}.forward takes {', '.join(names)}; got "
                f"{len(arrays)} array{'s' if len(arrays) != 1 else ''}"
            )
        options = {name: getattr(self, name) for name in self._option_names}
        if _softmax_targets(info, options, arrays):
            axis = options[info.class_axis]
            check_distributions(arrays[1], axis, array_namespace(arrays[1]))
        if normalizer is not None:
            options["normalizer"] = normalizer
        return info.fn(*arrays, reduction=self.reduction, weights=weights, **options)

    def extra_repr(self: nn.Module) -> str:
        parts = [f"{name}={_describe(getattr(self, name))}" for name in self._option_names]
        return ", ".join([*parts, f"reduction={self.reduction!r}"])

    name = class_name(info.name)
    __init__.__signature__ = _signature(defaults)  # type: ignore[attr-defined]
    return type(
        name,
        (nn.Module,),
        {
            "__init__": __init__,
            "forward": forward,
            "extra_repr": extra_repr,
            "__doc__": _module_doc(info, defaults),
            "__module__": "losskit.torch",
            "__qualname__": name,
            "loss_info": info,
        },
    )


def _as_buffer(value: Any) -> torch.Tensor | None:
    """An array option as a tensor: floating tensors keep their dtype, anything else
    (lists, numbers, integer tensors) becomes the default floating dtype."""
    if value is None:
        return None
    if isinstance(value, torch.Tensor) and value.is_floating_point():
        return value.detach().clone()
    return torch.as_tensor(value, dtype=torch.get_default_dtype())


def module_for(loss_name: str) -> type[nn.Module]:
    """The module class of the registered loss ``loss_name`` (built on first use)."""
    info = get_loss(loss_name)
    cached = _CACHE.get(loss_name)
    if cached is None or cached.loss_info is not info:  # type: ignore[attr-defined]
        cached = _CACHE[loss_name] = _make_module(info)
    return cached


# ------------------------------------------------------------------ presets

_PRESET_CACHE: dict[str, type[nn.Module]] = {}


def preset_module(preset_name: str) -> type[nn.Module]:
    """The module class of a preset (:mod:`losskit.presets`: ``DiceCE``, ``DiceFocal``):
    it holds the composite, with the PyTorch defaults (logits, classes on dim 1)."""
    from losskit.presets import PRESET_FUNCTIONS, PRESETS, preset

    cached = _PRESET_CACHE.get(preset_name)
    if cached is not None:
        return cached
    declaration = PRESETS[preset_name]
    defaults = {**declaration.defaults, "axis": TORCH_CLASS_AXIS, "from_logits": True}

    def __init__(self: nn.Module, *, reduction: str = "mean", **options: Any) -> None:
        nn.Module.__init__(self)
        check_reduction(reduction)
        self.reduction = reduction
        self.composite = preset(preset_name, **{**defaults, **options})

    def forward(self: nn.Module, input: torch.Tensor, target: torch.Tensor, weights: Any = None):
        return self.composite(input, target, reduction=self.reduction, weights=weights)

    def extra_repr(self: nn.Module) -> str:
        return f"{self.composite!r}, reduction={self.reduction!r}"

    name = class_name(preset_name)
    options = ", ".join(f"{k}={v!r}" for k, v in defaults.items())
    doc = (
        f"PyTorch module of the preset :func:`losskit.{preset_name}`: {declaration.summary}\n\n"
        f"``{name}({options}, ..., reduction='mean')``: logits and classes on dim 1 by "
        "default, as torch.nn; ``forward(input, target, weights=None)``. Array options "
        "(class_weights) stay as given (not buffers).\n\n"
        + (PRESET_FUNCTIONS[preset_name].__doc__ or "")
    )
    cls = type(
        name,
        (nn.Module,),
        {
            "__init__": __init__,
            "forward": forward,
            "extra_repr": extra_repr,
            "__doc__": doc,
            "__module__": "losskit.torch",
            "__qualname__": name,
        },
    )
    _PRESET_CACHE[preset_name] = cls
    return cls
