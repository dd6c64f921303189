r"""The mean over every token of a batch sharded over devices, in JAX.

A batch sharded over devices (``jax.shard_map`` or ``jax.pmap`` with a named axis) and
split into micro-batches has one loss: the sum of every token's loss over the number
of every valid token, :math:`\sum_{d,k} S_{dk} / N`.  Each shard's own mean weighs its
tokens by its own count, and the mean of those means is a different loss (and
gradient) whenever the counts differ, which padding makes the rule.

Two ways to the global mean inside the mapped function, both with a collective over
the device axis (``axis_name``):

- pass the global count to the loss as ``normalizer``, then sum the shards' shares::

      n = token_count(labels, ignore_index=-100, axis_name="data")
      share = losskit.sparse_categorical_cross_entropy(
          logits, labels, from_logits=True, ignore_index=-100, normalizer=n)
      loss = jax.lax.psum(share, "data")

  With micro-batches, ``n`` counts the labels of all of them (``token_count`` takes a
  sequence) and the shares of the micro-batches are summed (their gradients
  accumulated) before the step.
- or sum first and divide once: ``global_mean(loss_sum, count, axis_name="data")``.

JAX differentiates through ``psum`` itself: unlike PyTorch's DDP, nothing averages
the gradients behind the loss's back, so no factor of the device count appears (the
role of ``world_size`` in ``GlobalTokenMean``).  With no valid token anywhere the
count is taken as 1 and the loss is 0, with a zero gradient.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp

from losskit.core.validation import check_ignore_index
from losskit.errors import LossInputError

__all__ = ["global_mean", "token_count"]

AxisName = Any  # a name of a mapped axis, a tuple of names, or None


def token_count(
    target: Any | Sequence[Any],
    *,
    ignore_index: int | None = None,
    axis_name: AxisName = None,
) -> jax.Array:
    """The number of labels other than ``ignore_index`` in ``target`` (one array or a
    sequence of micro-batches' arrays), summed over the devices of ``axis_name`` (None:
    this device's alone).  An int32 0-d array; pass it as a loss's ``normalizer``.

    Examples:
        >>> import jax.numpy as jnp
        >>> from losskit.jax import token_count
        >>> int(token_count([jnp.array([1, 2, -100]), jnp.array([0])], ignore_index=-100))
        3
    """
    check_ignore_index(ignore_index, optional=True)
    parts = list(target) if isinstance(target, (list, tuple)) else [target]
    if not parts:
        raise LossInputError("target must hold at least one array; got an empty sequence")
    count = jnp.zeros((), dtype=jnp.int32)
    for i, t in enumerate(parts):
        t = jnp.asarray(t)
        if not jnp.issubdtype(t.dtype, jnp.integer):
            raise LossInputError(f"target[{i}] must hold integer class labels; got dtype {t.dtype}")
        kept = t.size if ignore_index is None else jnp.sum(t != ignore_index, dtype=jnp.int32)
        count = count + kept
    return count if axis_name is None else jax.lax.psum(count, axis_name)


def global_mean(loss_sum: Any, count: Any, *, axis_name: AxisName) -> jax.Array:
    r"""The global mean :math:`\sum_d S_d / \sum_d N_d` from each device's summed loss
    :math:`S_d` (``reduction="sum"``) and count :math:`N_d`, summed over the devices of
    ``axis_name``; the same value on every device.  A total count of 0 divides by 1.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> from losskit.jax import global_mean
        >>> sums, counts = jnp.array([6.0, 1.0]), jnp.array([3, 0])
        >>> means = jax.vmap(lambda s, n: global_mean(s, n, axis_name="d"), axis_name="d")
        >>> [round(float(v), 4) for v in means(sums, counts)]  # 7 / 3 on both
        [2.3333, 2.3333]
    """
    if axis_name is None:
        raise LossInputError("axis_name must name the mapped device axis; got None")
    total = jax.lax.psum(loss_sum, axis_name)
    n = jax.lax.psum(jnp.asarray(count), axis_name)
    n = jnp.asarray(n, dtype=jnp.result_type(total.dtype, jnp.float32))
    safe = jnp.where(n == 0, jnp.ones_like(n), n)
    return (total / safe).astype(total.dtype)
