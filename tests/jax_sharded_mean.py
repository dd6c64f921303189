"""Run as a script by ``test_jax_distributed.py`` with 4 host devices
(``XLA_FLAGS=--xla_force_host_platform_device_count=4``, which JAX reads when it is
first imported, hence the separate process).  Prints the losses and gradients of the
sharded global token mean, of the single-device mean and of the mean of per-shard
means, as JSON."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

import losskit
from losskit.jax import global_mean, token_count

IGNORE = -100


def ce(logits, labels, **kwargs):
    return losskit.sparse_categorical_cross_entropy(
        logits, labels, from_logits=True, ignore_index=IGNORE, **kwargs
    )


def main() -> None:
    devices = jax.device_count()
    mesh = jax.make_mesh((devices,), ("data",))
    rng = np.random.default_rng(0)
    batch, length, vocab = 2 * devices, 6, 5
    logits = jnp.asarray(rng.normal(size=(batch, length, vocab)), dtype=jnp.float32)
    labels = rng.integers(0, vocab, (batch, length))
    # padding that differs from shard to shard: shard means weigh tokens unequally
    lengths = np.array([6, 6, 1, 2, 5, 3, 6, 1] * (devices // 4 + 1))[:batch]
    labels[np.arange(length)[None, :] >= lengths[:, None]] = IGNORE
    labels = jnp.asarray(labels, dtype=jnp.int32)

    def shard(fn):
        mapped = jax.shard_map(fn, mesh=mesh, in_specs=(P("data"), P("data")), out_specs=P())
        return jax.jit(jax.value_and_grad(mapped))

    def with_normalizer(x, y):
        n = token_count(y, ignore_index=IGNORE, axis_name="data")
        return jax.lax.psum(ce(x, y, normalizer=n), "data")

    def micro_batches(x, y):
        # each shard's rows in two micro-batches; the count covers both
        parts = [(x[:1], y[:1]), (x[1:], y[1:])]
        n = token_count([p[1] for p in parts], ignore_index=IGNORE, axis_name="data")
        share = sum(ce(px, py, normalizer=n) for px, py in parts)
        return jax.lax.psum(share, "data")

    def sum_then_divide(x, y):
        total = ce(x, y, reduction="sum")
        return global_mean(total, token_count(y, ignore_index=IGNORE), axis_name="data")

    def mean_of_shard_means(x, y):
        return jax.lax.pmean(ce(x, y), "data")

    single = jax.jit(jax.value_and_grad(lambda x: ce(x, labels)))
    reference, reference_grad = single(logits)
    results = {"devices": devices, "single": float(reference)}
    rows = NamedSharding(mesh, P("data"))
    sharded = jax.device_put(logits, rows), jax.device_put(labels, rows)
    for name, fn in [
        ("normalizer", with_normalizer),
        ("micro_batches", micro_batches),
        ("global_mean", sum_then_divide),
        ("shard_means", mean_of_shard_means),
    ]:
        value, grad = shard(fn)(*sharded)
        results[name] = float(value)
        results[name + "_grad_error"] = float(jnp.max(jnp.abs(grad - reference_grad)))
    # pmap with a named axis: one row per device
    pmapped = jax.pmap(
        lambda x, y: jax.lax.psum(
            ce(x, y, normalizer=token_count(y, ignore_index=IGNORE, axis_name="d")), "d"
        ),
        axis_name="d",
    )
    per_device = logits.reshape(devices, -1, length, vocab), labels.reshape(devices, -1, length)
    results["pmap"] = [float(v) for v in pmapped(*per_device)]
    print(json.dumps(results))


if __name__ == "__main__":
    main()
