"""PyTorch kernels: faster implementations of the losses' kernels, registered with
:func:`losskit.core.kernels.override`.

Imported automatically the first time a kernel runs with torch tensors (and by
``import losskit.torch``).  An override only computes: preparation, checks and the
reduction stay with the loss, and every override is tested for agreement with its
generic kernel on the samples of the test table.

One module per family: :mod:`.regression`, :mod:`.classification`, :mod:`.segmentation`
(the last still registers whole-loss fast paths with
:func:`losskit.core.registry.register_fast_path`).
"""

from losskit.torch.fast import classification, regression, segmentation  # noqa: F401
