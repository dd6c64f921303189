"""PyTorch kernels: faster implementations of the losses' kernels, registered with
:func:`losskit.core.kernels.override`.

Imported automatically the first time a kernel runs with torch tensors (and by
``import losskit.torch``).  An override only computes: preparation, checks and the
reduction stay with the loss, and every override is tested for agreement with its
generic kernel on the samples of the test table.

One module per family: :mod:`.regression`, :mod:`.classification`, :mod:`.segmentation`
(the overlap statistics, with :mod:`._overlap_kernels` and :mod:`._overlap_numba`),
:mod:`.embedding`, :mod:`.image` (SSIM), :mod:`.divergence` and :mod:`.sequence` (CTC); the shared helpers are in
:mod:`._common`.  An override that may return ``NotImplemented`` (arguments it does not
cover) leaves them to the generic kernel; one whose formula is not finite where the
generic kernel takes a limit registers with ``generic_if_not_finite=True``.  Each
override is here because a benchmark row (``benchmarks/README.md``) shows it faster than
the generic kernel.
"""

from losskit.torch.fast import (  # noqa: F401
    classification,
    divergence,
    embedding,
    image,
    regression,
    segmentation,
    sequence,
)
