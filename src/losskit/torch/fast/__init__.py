"""PyTorch fast paths, registered per loss with :func:`losskit.core.registry.register_fast_path`.

Imported automatically the first time a loss is called with a torch tensor.  Each
fast path keeps losskit's conventions and validation, and is tested for agreement
with the generic array-API implementation on every sample of the test table.

One module per family: :mod:`.regression`, :mod:`.classification`, :mod:`.segmentation`,
:mod:`.embedding` and :mod:`.divergence` (kernel overrides, :mod:`losskit.core.kernels`).
"""

from losskit.torch.fast import (  # noqa: F401
    classification,
    divergence,
    embedding,
    regression,
    segmentation,
)
