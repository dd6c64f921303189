"""The JAX example (examples/jax_training_step.py) runs, trains, and its vmap, jit and
grad claims hold; losskit under jax.vmap."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

jax = pytest.importorskip("jax")
pytest.importorskip("optax")
import jax.numpy as jnp  # noqa: E402

import losskit  # noqa: E402
from losskit.core.namespace import is_traced  # noqa: E402

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "jax_training_step.py"


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("jax_training_step", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_example_script_trains():
    """Run as a user would, in its own process (JAX's default float32, no x64)."""
    result = subprocess.run(
        [sys.executable, str(EXAMPLE)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    losses = [float(v) for v in re.findall(r"loss (\d+\.\d+)", result.stdout)]
    assert len(losses) == 5, result.stdout
    assert losses == sorted(losses, reverse=True) and losses[-1] < 0.3 * losses[0], losses
    accuracy = float(re.search(r"accuracy\s+(\d\.\d+)", result.stdout).group(1))
    assert accuracy > 0.95, result.stdout
    assert "hardest examples:" in result.stdout and "gradient norms" in result.stdout


def test_vmap_per_example_losses_match_the_batch_loss(example):
    x, labels = example.make_data(num_examples=64)
    params = example.init_params(jax.random.key(1))
    per_example = example.per_example_losses(params, x, labels)
    unreduced = losskit.sparse_categorical_cross_entropy(
        example.predict(params, x), labels, from_logits=True, label_smoothing=0.05, reduction="none"
    )
    assert per_example.shape == (64,)
    np.testing.assert_allclose(per_example, unreduced, rtol=1e-5)
    np.testing.assert_allclose(jnp.mean(per_example), example.loss_fn(params, x, labels), rtol=1e-5)


def test_vmap_per_example_grads_average_to_the_batch_grad(example):
    x, labels = example.make_data(num_examples=64)
    params = example.init_params(jax.random.key(2))
    per_example = example.per_example_grads(params, x, labels)
    batch = jax.grad(example.loss_fn)(params, x, labels)
    for name, grad in batch.items():
        assert per_example[name].shape == (64, *grad.shape)
        np.testing.assert_allclose(jnp.mean(per_example[name], axis=0), grad, atol=1e-6)


def test_jitted_step_matches_the_eager_step(example):
    x, labels = example.make_data(num_examples=64)
    params = example.init_params(jax.random.key(3))
    opt_state = example.optimizer.init(params)
    jitted = example.train_step(params, opt_state, x, labels)
    eager = example.train_step.__wrapped__(params, opt_state, x, labels)
    np.testing.assert_allclose(jitted[2], eager[2], rtol=1e-6)
    for name in params:
        np.testing.assert_allclose(jitted[0][name], eager[0][name], rtol=1e-5, atol=1e-7)


def test_training_lowers_the_loss(example):
    _, history = example.train(steps=40)
    assert history[-1] < 0.5 * history[0], history


# ----------------------------------------------------- losskit under jax.vmap itself


def test_vmap_tracers_count_as_traced():
    seen = []

    def record(v):
        seen.append((type(v).__name__, is_traced(v)))
        return v

    jax.vmap(record)(jnp.ones((3, 2)))
    assert seen == [("BatchTracer", True)]


@pytest.mark.parametrize(
    ("fn", "pred", "target"),
    [
        (losskit.huber, np.linspace(-3, 3, 12).reshape(4, 3), np.zeros((4, 3))),
        (losskit.binary_cross_entropy, np.linspace(-3, 3, 12).reshape(4, 3), np.ones((4, 3))),
        (
            lambda p, t, **kw: losskit.sparse_categorical_cross_entropy(
                p, t, from_logits=True, **kw
            ),
            np.linspace(-3, 3, 12).reshape(4, 3),
            np.array([0, 2, 1, 1]),
        ),
    ],
)
def test_vmap_over_examples_equals_unreduced(fn, pred, target):
    if fn is losskit.binary_cross_entropy:
        pred = 1 / (1 + np.exp(-pred))  # probabilities
    pred, target = jnp.asarray(pred), jnp.asarray(target)
    mapped = jax.vmap(lambda p, t: fn(p, t, reduction="sum"))(pred, target)
    expected = jnp.sum(fn(pred, target, reduction="none").reshape(4, -1), axis=1)
    np.testing.assert_allclose(mapped, expected, rtol=1e-12)


def test_value_checks_are_skipped_under_vmap_but_not_eagerly():
    """Under vmap the data is not concrete, as under jit: value checks are skipped, and
    static checks (shapes, options) still raise."""
    logits = jnp.zeros((2, 3))
    bad_labels = jnp.array([0, 7])
    with pytest.raises(losskit.LossInputError, match=r"labels in \[0, 3\)"):
        losskit.sparse_categorical_cross_entropy(logits, bad_labels, from_logits=True)
    jax.vmap(lambda p, t: losskit.sparse_categorical_cross_entropy(p, t, from_logits=True))(
        logits, bad_labels
    )  # no error: the labels are tracers
    with pytest.raises(losskit.LossInputError, match="same shape"):
        jax.vmap(losskit.mse)(jnp.zeros((2, 3)), jnp.zeros((2, 4)))


def test_docs_jax_examples_run():
    """Every Python block of docs/jax.md, in one fresh process (JAX's default float32)."""
    docs = EXAMPLE.parents[1] / "docs" / "jax.md"
    blocks = re.findall(r"```python\n(.*?)```", docs.read_text(), flags=re.DOTALL)
    assert len(blocks) >= 3
    script = "\n".join(f"exec({block!r}, {{'__name__': 'docs_jax'}})" for block in blocks)
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    final_loss = float(result.stdout.strip().splitlines()[0])
    assert final_loss < 0.2  # the first block says: from log(3) down to about 0.16
