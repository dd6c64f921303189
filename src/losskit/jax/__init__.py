"""JAX helpers beyond the portable losses (which run on JAX arrays as they are).

:mod:`losskit.jax.distributed`: the mean over every token of a batch sharded over
devices (``shard_map``/``pmap``) and split into micro-batches, the counterpart of
:class:`losskit.torch.distributed.GlobalTokenMean`.
:mod:`losskit.jax.linear_cross_entropy`: the output layer's cross-entropy without its
``[tokens, vocabulary]`` logits, chunked inside a ``custom_vjp``.
"""

from losskit.jax.distributed import global_mean, token_count
from losskit.jax.linear_cross_entropy import linear_cross_entropy

__all__ = ["global_mean", "linear_cross_entropy", "token_count"]
