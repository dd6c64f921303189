"""The numba kernels behind :mod:`losskit.torch.fast._overlap_kernels` (imported, and so
compiled, on first use).  Arrays are NumPy views of contiguous CPU tensors:
probabilities ``[B, C, N]``, int64 labels ``[B, N]``, a bool ``keep`` mask ``[B, N]``
(ignored unless ``has_keep``).  Work is split into tasks of CHUNK positions of one sample.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from losskit.torch.fast._overlap_kernels import CHUNK

# Reassociation lets the compiler vectorise the sums; each task's sums run over at most
# CHUNK terms in float64, so the order of the additions does not show in the result.
jit = numba.njit(
    parallel=True, cache=True, fastmath={"reassoc", "nsz", "contract"}, boundscheck=False
)


@numba.njit(inline="always")
def _task_span(task: int, tasks: int, positions: int) -> tuple[int, int, int]:
    """Task ``task``'s sample and its ``[start, stop)`` range of positions, with ``tasks``
    tasks of CHUNK positions per sample."""
    start = task % tasks * CHUNK
    return task // tasks, start, min(start + CHUNK, positions)


@jit
def statistics(prob: Any, labels: Any, keep: Any, has_keep: bool, out: Any, bad: Any) -> None:
    """``out[task] = (I, P, T)`` over the task's positions; ``bad[task]`` counts the kept
    labels outside ``[0, C)``."""
    batch, num_classes, positions = prob.shape
    tasks = (positions + CHUNK - 1) // CHUNK
    for task in numba.prange(batch * tasks):
        b, start, stop = _task_span(task, tasks, positions)
        lab = labels[b, start:stop]
        # two copies of each loop, with and without the mask, so that both vectorise
        outside = 0
        if has_keep:
            kept = keep[b, start:stop]
            for n in range(stop - start):
                outside += ((lab[n] < 0) | (lab[n] >= num_classes)) & kept[n]
        else:
            for n in range(stop - start):
                outside += (lab[n] < 0) | (lab[n] >= num_classes)
        bad[task] = outside
        for c in range(num_classes):
            row = prob[b, c, start:stop]
            inter = 0.0
            mass = 0.0
            count = 0  # an integer: a float count written as a select does not vectorise
            if has_keep:
                for n in range(stop - start):
                    hit = kept[n] & (lab[n] == c)
                    mass += row[n] if kept[n] else 0.0
                    inter += row[n] if hit else 0.0
                    count += hit
            else:
                for n in range(stop - start):
                    hit = lab[n] == c
                    mass += row[n]
                    inter += row[n] if hit else 0.0
                    count += hit
            out[task, 0, c] = inter
            out[task, 1, c] = mass
            out[task, 2, c] = count


@jit
def softmax_gradient_(
    prob: Any, labels: Any, keep: Any, has_keep: bool, grad_psum: Any, grad_inter: Any
) -> None:
    """``prob[:, c] <- p_c (a_c - sum_k p_k a_k)`` with ``a_c = G_P[c] + G_I[c] [y = c]``;
    0 where not kept."""
    batch, num_classes, positions = prob.shape
    tasks = (positions + CHUNK - 1) // CHUNK
    for task in numba.prange(batch * tasks):
        b, start, stop = _task_span(task, tasks, positions)
        lab = labels[b, start:stop]
        s = np.zeros(stop - start, dtype=prob.dtype)
        for c in range(num_classes):
            row = prob[b, c, start:stop]
            off, on = grad_psum[b, c], grad_psum[b, c] + grad_inter[b, c]
            for n in range(stop - start):
                s[n] += row[n] * (on if lab[n] == c else off)
        for c in range(num_classes):
            row = prob[b, c, start:stop]
            off, on = grad_psum[b, c], grad_psum[b, c] + grad_inter[b, c]
            for n in range(stop - start):
                row[n] *= (on if lab[n] == c else off) - s[n]
            if has_keep:
                kept = keep[b, start:stop]
                for n in range(stop - start):
                    row[n] = row[n] if kept[n] else 0.0
