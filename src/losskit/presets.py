"""Named composites: the sums of losses users look for by name (MONAI's ``DiceCELoss``,
``DiceFocalLoss``), declared as data and built by :func:`losskit.combine`.

A preset is its parts (a label, a registered loss and a default weight) and the options
it fixes by default; nothing else.  From each declaration come a function
(``losskit.dice_ce(...)``, returning a :class:`~losskit.Composite`), a PyTorch module
(``losskit.torch.DiceCE``) and a Keras loss (``losskit.keras.DiceCE``).  The math is
the parts' own: a preset is not a second implementation.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from losskit.core.registry import get_loss
from losskit.custom import Composite, combine
from losskit.errors import LossInputError

__all__ = ["PRESETS", "PRESET_FUNCTIONS", "Preset", "dice_ce", "dice_focal", "preset"]


@dataclasses.dataclass(frozen=True)
class Preset:
    """The declaration of a named composite."""

    name: str
    summary: str
    #: (label, registered loss, default weight); ``<label>_weight`` sets the weight
    parts: tuple[tuple[str, str, float], ...]
    #: shared options the preset gives every part that has them (the functions' layout:
    #: classes last; the PyTorch modules take logits on dim 1, as torch.nn)
    defaults: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    notes: str = ""


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "dice_ce",
            "Dice + cross-entropy over integer labels (MONAI's DiceCELoss).",
            (("dice", "dice", 1.0), ("ce", "sparse_categorical_cross_entropy", 1.0)),
            {"axis": -1},
            notes=(
                "The cross-entropy is the mean over the voxels, Dice the mean over samples "
                "and classes: MONAI's DiceCELoss with to_onehot_y=True, softmax=True and "
                "smooth_nr = smooth_dr = losskit's smooth (1.0 here, 1e-5 there). For one-hot "
                "targets, combine dice with categorical_cross_entropy."
            ),
        ),
        Preset(
            "dice_focal",
            "Dice + softmax focal loss over integer labels.",
            (("dice", "dice", 1.0), ("focal", "sparse_categorical_focal", 1.0)),
            {"axis": -1},
            notes=(
                "Both parts use the softmax over the classes. MONAI's DiceFocalLoss applies a "
                "sigmoid focal loss to each channel of the same logits (binary_focal on one-hot "
                "targets, averaged over the classes too) even when its Dice uses the softmax."
            ),
        ),
    )
}


def preset(name: str, **options: Any) -> Composite:
    """The composite of the preset ``name``: its parts with their weights (``<label>_weight``
    to change one) and the shared ``options`` (the preset's defaults, then the given
    ones), each given to every part that has it."""
    if name not in PRESETS:
        raise LossInputError(f"no preset {name!r}; the presets are {sorted(PRESETS)}")
    p = PRESETS[name]
    weights = {}
    for label, loss, weight in p.parts:
        weights[get_loss(loss).fn] = options.pop(f"{label}_weight", weight)
    return combine(weights, **{**p.defaults, **options})


def _preset_function(p: Preset) -> Callable[..., Composite]:
    def build(**options: Any) -> Composite:
        return preset(p.name, **options)

    terms = " + ".join(f"{label}_weight * {loss}" for label, loss, _ in p.parts)
    defaults = ", ".join(f"{k}={v!r}" for k, v in p.defaults.items())
    weights = ", ".join(f"{label}_weight={w:g}" for label, _, w in p.parts)
    build.__name__ = build.__qualname__ = p.name
    build.__doc__ = (
        f"{p.summary}\n\n"
        f"A :class:`~losskit.Composite`, ``{terms}`` (:func:`losskit.combine`), with "
        f"``{weights}`` and ``{defaults}`` by default; every other keyword is an option "
        f"shared by the parts that have it (``from_logits``, ``ignore_index``, ``smooth``...). "
        f"{p.notes}\n\n"
        "Returns:\n    The composite: call it with ``(pred, target)``; ``evaluate`` also "
        "gives each part's value."
    )
    return build


#: the function of each preset, by name
PRESET_FUNCTIONS: dict[str, Callable[..., Composite]] = {
    name: _preset_function(p) for name, p in PRESETS.items()
}
dice_ce = PRESET_FUNCTIONS["dice_ce"]
dice_focal = PRESET_FUNCTIONS["dice_focal"]
