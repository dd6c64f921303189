"""JAX helpers beyond the portable losses (which run on JAX arrays as they are).

:mod:`losskit.jax.distributed`: the mean over every token of a batch sharded over
devices (``shard_map``/``pmap``) and split into micro-batches, the counterpart of
:class:`losskit.torch.distributed.GlobalTokenMean`.
"""

from losskit.jax.distributed import global_mean, token_count

__all__ = ["global_mean", "token_count"]
