"""Keras 3 losses: a ``keras.losses.Loss`` for every losskit loss.

``losskit.keras.Huber(delta=1.0)``, ``losskit.keras.SparseCategoricalCrossEntropy(...)``:
one class per registered loss, user-defined ones included (looked up by name on
access), generated from the functional definitions; see :mod:`losskit.keras.losses`
for the conventions (``call(y_true, y_pred)``, Keras's ``reduction`` and
``sample_weight``).  Works with the TensorFlow, JAX and PyTorch backends of Keras (and
NumPy, which Keras can only evaluate with).  :class:`Combined` is the Keras loss of a
composite (:func:`losskit.combine`).

Importing the module registers the classes of every loss registered so far with
Keras's serialization, so ``keras.saving.load_model`` finds them, and teaches
``keras.losses.get`` (hence ``model.compile``) losskit's names (``"losskit>Huber"``),
functions and composites.
"""

from __future__ import annotations

from typing import Any

from losskit.core.registry import available, class_name
from losskit.keras.losses import (
    KERAS_REDUCTIONS,
    SUPPORTED_BACKENDS,
    Combined,
    loss_class,
    preset_class,
)
from losskit.presets import PRESETS

for _loss_name in available():
    loss_class(_loss_name)
del _loss_name

__all__ = [
    "KERAS_REDUCTIONS",
    "Combined",
    "SUPPORTED_BACKENDS",
    "loss_class",
    *(class_name(n) for n in available()),
    *(class_name(n) for n in PRESETS),
]


def __getattr__(attr: str) -> Any:
    for name in available():
        if class_name(name) == attr:
            return loss_class(name)
    for name in PRESETS:
        if class_name(name) == attr:
            return preset_class(name)
    raise AttributeError(f"module 'losskit.keras' has no attribute {attr!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | {class_name(n) for n in (*available(), *PRESETS)})
