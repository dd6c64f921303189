"""Compiled CPU kernels for the overlap statistics with integer labels (Dice, soft IoU,
Tversky, focal Tversky).

The composed PyTorch version of these losses spends most of its time in index
operations (a gather and scatter_adds in place of a one-hot target), each a separate
pass over the labels.  These two kernels make one pass each, with numba:

- :func:`label_statistics`: I, P and T per sample and class from the probabilities and
  the labels, and the label range check;
- :func:`softmax_gradient_`: the gradient through the softmax, written into the
  probabilities in place.

Both are ``torch.library`` custom ops, so ``torch.compile(fullgraph=True)`` keeps them
in the graph as opaque calls.  numba is optional (it comes with the ``torch`` extra):
:func:`usable` says whether the kernels can run, and the PyTorch kernel otherwise composes
PyTorch operations.  The kernels are compiled on first use (a few seconds, then cached
on disk by numba; a first call slower than a second logs one message through the
``losskit`` logger) and run on ``torch.get_num_threads()`` threads.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import os
import threading
from typing import Any

import torch

Tensor = torch.Tensor
#: positions per parallel task of the kernels; each task accumulates its own sums
CHUNK = 2048

#: numba is installed (found, not imported: it is imported when a kernel first runs)
NUMBA_FOUND = importlib.util.find_spec("numba") is not None
_forked = False


def _after_fork_in_child() -> None:
    # numba's OpenMP thread pool does not survive fork(): a forked child (a DataLoader
    # worker, say) uses the composed PyTorch version instead.
    global _forked
    _forked = True


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def usable(prob: Tensor) -> bool:
    """Whether the kernels can compute on ``prob``: numba is installed, the tensor is a
    float32 or float64 CPU tensor, and the process is not a fork of one that used them."""
    return (
        prob.device.type == "cpu"
        and prob.dtype in (torch.float32, torch.float64)
        and not _forked
        and NUMBA_FOUND
    )


@functools.cache
def _compiled() -> Any:
    from losskit.torch.fast import _overlap_numba  # compiles on first call

    return _overlap_numba


#: (kernel, dtype) pairs that have run in this process: compiled or loaded from numba's cache
_ready: set[tuple[str, Any]] = set()
#: seconds a first call may take before the compiling message is logged
COMPILE_NOTICE_AFTER = 1.0


def _launch(kernel_name: str, *args: Any) -> None:
    import numba

    kernel = getattr(_compiled(), kernel_name)
    numba.set_num_threads(max(1, min(torch.get_num_threads(), numba.config.NUMBA_NUM_THREADS)))
    key = (kernel_name, args[0].dtype)
    if key in _ready:
        kernel(*args)
        return
    # The first call per dtype compiles (5-20 s on 2 cores) or loads numba's on-disk cache
    # (under a second): say so only when it is slow, once, through the "losskit" logger.
    notice = threading.Timer(COMPILE_NOTICE_AFTER, _log_compiling)
    notice.daemon = True
    notice.start()
    try:
        kernel(*args)
    finally:
        notice.cancel()
    _ready.add(key)


@functools.cache  # once per process
def _log_compiling() -> None:
    logging.getLogger("losskit").warning(
        "losskit: compiling the Dice/IoU/Tversky label kernels with numba (a few seconds, "
        "once: numba caches them on disk)"
    )


def _keep_array(keep: Tensor | None) -> tuple[Any, bool]:
    """The mask as a NumPy array and whether there is one (numba needs an array either way)."""
    if keep is None:
        return torch.ones(1, 1, dtype=torch.bool).numpy(), False
    return keep.contiguous().numpy(), True


@torch.library.custom_op("losskit::overlap_label_statistics", mutates_args=())
def label_statistics(prob: Tensor, labels: Tensor, keep: Tensor | None) -> Tensor:
    """``[B, 3, C]``: I, P and T per sample and class, from probabilities ``[B, C, N]``
    and int64 labels ``[B, N]``, over the positions where ``keep`` (``[B, N]``, bool) is
    True.  Raises IndexError on a kept label outside ``[0, C)``."""
    batch, num_classes, positions = prob.shape
    tasks = (positions + CHUNK - 1) // CHUNK
    out = torch.zeros(batch * tasks, 3, num_classes, dtype=torch.float64)
    bad = torch.zeros(batch * tasks, dtype=torch.int64)
    keep_array, has_keep = _keep_array(keep)
    arrays = (prob.contiguous().numpy(), labels.contiguous().numpy(), keep_array)
    _launch("statistics", *arrays, has_keep, out.numpy(), bad.numpy())
    if bool(bad.any()):
        raise IndexError("a label is outside [0, number of classes)")
    return out.view(batch, tasks, 3, num_classes).sum(1).to(prob.dtype)


@label_statistics.register_fake
def _(prob: Tensor, labels: Tensor, keep: Tensor | None) -> Tensor:
    return prob.new_empty((prob.shape[0], 3, prob.shape[1]))


@torch.library.custom_op("losskit::overlap_softmax_gradient_", mutates_args=("prob",))
def softmax_gradient_(
    prob: Tensor, labels: Tensor, keep: Tensor | None, grad_psum: Tensor, grad_inter: Tensor
) -> None:
    r"""Overwrite softmax probabilities ``[B, C, N]`` with the gradient with
    respect to the logits, :math:`p_c (a_c - \sum_k p_k a_k)` where :math:`a_c = G_P[c] +
    G_I[c]\,[y = c]`, and 0 where ``keep`` is False.  ``grad_psum`` and ``grad_inter`` are
    ``[B, C]`` in ``prob``'s dtype."""
    keep_array, has_keep = _keep_array(keep)
    dtype = prob.dtype
    _launch(
        "softmax_gradient_",
        prob.numpy(),
        labels.contiguous().numpy(),
        keep_array,
        has_keep,
        grad_psum.to(dtype).contiguous().numpy(),
        grad_inter.to(dtype).contiguous().numpy(),
    )


@softmax_gradient_.register_fake
def _(
    prob: Tensor, labels: Tensor, keep: Tensor | None, grad_psum: Tensor, grad_inter: Tensor
) -> None:
    return None
