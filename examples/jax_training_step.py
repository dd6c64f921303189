"""A JAX training step with losskit: ``jax.jit``, ``jax.grad``, optax and ``jax.vmap``.

A small MLP classifies synthetic 4-D points into 3 classes with losskit's
cross-entropy; ``jax.vmap`` then gives the loss and the gradient of every example
separately (to find the hardest examples, or to clip per-example gradients).

Run with ``python examples/jax_training_step.py`` (needs ``jax`` and ``optax``).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

import losskit

Params = dict[str, Any]

NUM_FEATURES, NUM_HIDDEN, NUM_CLASSES = 4, 32, 3
optimizer = optax.adam(learning_rate=1e-2)


def make_data(num_examples: int = 512, seed: int = 0) -> tuple[jax.Array, jax.Array]:
    """Points x [N, 4] and labels [N]: the class whose random direction x points along."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(num_examples, NUM_FEATURES)).astype(np.float32)
    directions = rng.normal(size=(NUM_FEATURES, NUM_CLASSES)).astype(np.float32)
    labels = np.argmax(x @ directions, axis=-1)
    return jnp.asarray(x), jnp.asarray(labels)


def init_params(key: jax.Array) -> Params:
    k1, k2 = jax.random.split(key)
    return {
        "w1": jax.random.normal(k1, (NUM_FEATURES, NUM_HIDDEN), jnp.float32) / 2.0,
        "b1": jnp.zeros(NUM_HIDDEN, jnp.float32),
        "w2": jax.random.normal(k2, (NUM_HIDDEN, NUM_CLASSES), jnp.float32) / 6.0,
        "b2": jnp.zeros(NUM_CLASSES, jnp.float32),
    }


def predict(params: Params, x: jax.Array) -> jax.Array:
    """Logits [..., 3] for points [..., 4]: works on a batch and on a single example."""
    hidden = jnp.tanh(x @ params["w1"] + params["b1"])
    return hidden @ params["w2"] + params["b2"]


def loss_fn(params: Params, x: jax.Array, labels: jax.Array) -> jax.Array:
    """Mean cross-entropy of the batch (labels are integers: no one-hot needed)."""
    logits = predict(params, x)
    return losskit.sparse_categorical_cross_entropy(
        logits, labels, from_logits=True, label_smoothing=0.05
    )


@jax.jit
def train_step(
    params: Params, opt_state: optax.OptState, x: jax.Array, labels: jax.Array
) -> tuple[Params, optax.OptState, jax.Array]:
    """One optimizer step, compiled once by ``jax.jit``."""
    loss, grads = jax.value_and_grad(loss_fn)(params, x, labels)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss


def example_loss(params: Params, x: jax.Array, label: jax.Array) -> jax.Array:
    """The loss of ONE example: x [4] and a 0-d label."""
    return losskit.sparse_categorical_cross_entropy(
        predict(params, x), label, from_logits=True, label_smoothing=0.05, reduction="none"
    )


#: per-example losses [N]: ``example_loss`` mapped over the batch axis of x and labels
per_example_losses = jax.jit(jax.vmap(example_loss, in_axes=(None, 0, 0)))
#: per-example gradients: a pytree whose leaves have a leading batch axis [N, ...]
per_example_grads = jax.jit(jax.vmap(jax.grad(example_loss), in_axes=(None, 0, 0)))


def train(steps: int = 200, seed: int = 0) -> tuple[Params, list[float]]:
    """Full-batch training from a fixed seed; returns the parameters and the losses."""
    x, labels = make_data(seed=seed)
    params = init_params(jax.random.key(seed))
    opt_state = optimizer.init(params)
    history = []
    for _ in range(steps):
        params, opt_state, loss = train_step(params, opt_state, x, labels)
        history.append(float(loss))
    return params, history


def main() -> None:
    params, history = train()
    for step in range(0, len(history), 50):
        print(f"step {step:3d}  loss {history[step]:.4f}")
    print(f"final     loss {history[-1]:.4f}")

    x, labels = make_data()
    accuracy = float(jnp.mean(jnp.argmax(predict(params, x), axis=-1) == labels))
    print(f"accuracy  {accuracy:.3f}")

    losses = per_example_losses(params, x, labels)
    hardest = jnp.argsort(losses)[-3:][::-1]
    print("hardest examples:", [int(i) for i in hardest], "losses", np.round(losses[hardest], 3))

    grads = per_example_grads(params, x, labels)
    norms = jnp.sqrt(sum(jnp.sum(g.reshape(g.shape[0], -1) ** 2, axis=1) for g in grads.values()))
    print(
        f"per-example gradient norms: median {float(jnp.median(norms)):.4f}, "
        f"max {float(jnp.max(norms)):.4f}"
    )


if __name__ == "__main__":
    main()
