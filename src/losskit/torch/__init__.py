"""PyTorch layer: an ``nn.Module`` for every loss, kernel overrides, and large-scale tools.

``losskit.torch.Huber(delta=1.0)``, ``losskit.torch.SparseCategoricalCrossEntropy(...)``:
one module per registered loss, user-defined ones included (looked up by name on
first access), generated from the functional definitions; see
:mod:`losskit.torch.modules`.  :func:`linear_cross_entropy` is the output layer's
cross-entropy without the logits matrix; :mod:`losskit.torch.distributed` normalises
losses over micro-batches and ranks.
"""

from __future__ import annotations

from typing import Any

import losskit
from losskit.core.kernels import load_overrides
from losskit.core.registry import available
from losskit.presets import PRESETS
from losskit.torch.linear_cross_entropy import LinearCrossEntropy, linear_cross_entropy
from losskit.torch.modules import class_name, module_for, preset_module

# Load the kernel overrides now rather than on the first call with a tensor: that lazy
# import would otherwise happen inside the first compiled forward and break
# torch.compile's graph.
load_overrides("torch")

__all__ = [
    "LinearCrossEntropy",
    "linear_cross_entropy",
    *(class_name(n) for n in available()),
    *(class_name(n) for n in PRESETS),
]


def __getattr__(attr: str) -> Any:
    for name in available():
        if class_name(name) == attr:
            return module_for(name)
    for name in PRESETS:
        if class_name(name) == attr:
            return preset_module(name)
    raise AttributeError(f"module 'losskit.torch' has no attribute {attr!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | {class_name(n) for n in (*available(), *PRESETS)})


del losskit, load_overrides
