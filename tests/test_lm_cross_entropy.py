"""The language-model options of the portable sparse cross-entropy: z_loss, softcap and
return_lse, against losskit.torch's linear_cross_entropy and on every backend."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from scipy import special

import losskit
from array_backends import HAS_JAX, HAS_TORCH

ce = losskit.sparse_categorical_cross_entropy
IGNORE = -100


def _inputs(seed=0, tokens=24, vocab=11, scale=4.0):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(tokens, vocab)) * scale
    labels = rng.integers(0, vocab, tokens)
    labels[rng.random(tokens) < 0.25] = IGNORE
    return logits, labels


@pytest.mark.skipif(not HAS_TORCH, reason="torch not installed")
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize(
    "options",
    [
        {"z_loss": 1e-2},
        {"softcap": 3.0},
        {"z_loss": 1e-3, "softcap": 5.0, "label_smoothing": 0.1},
    ],
    ids=["z_loss", "softcap", "all"],
)
def test_equals_linear_cross_entropy_on_the_same_logits(options, reduction):
    """The two share option names and conventions: same loss, same gradients."""
    import torch

    from losskit.torch.linear_cross_entropy import linear_cross_entropy

    gen = torch.Generator().manual_seed(0)
    hidden = torch.randn(3, 10, 8, generator=gen, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(13, 8, generator=gen, dtype=torch.float64, requires_grad=True)
    target = torch.randint(0, 13, (3, 10), generator=gen)
    target[0, 3:] = IGNORE
    target[2, :2] = IGNORE
    fused = linear_cross_entropy(
        hidden, weight, target, reduction=reduction, chunk_size=7, **options
    )
    portable = ce(
        hidden @ weight.T,
        target,
        from_logits=True,
        ignore_index=IGNORE,
        reduction=reduction,
        **options,
    )
    torch.testing.assert_close(portable, fused)
    upstream = torch.rand_like(fused)
    grads = torch.autograd.grad((fused * upstream).sum(), (hidden, weight))
    expected = torch.autograd.grad((portable * upstream).sum(), (hidden, weight))
    for got, want in zip(grads, expected, strict=True):
        torch.testing.assert_close(got, want)


def test_z_loss_is_palm_lse_squared_over_kept_tokens():
    logits, labels = _inputs()
    keep = labels != IGNORE
    lse = special.logsumexp(logits, axis=-1)
    base = ce(logits, labels, from_logits=True, ignore_index=IGNORE)
    with_z = ce(logits, labels, from_logits=True, ignore_index=IGNORE, z_loss=0.3)
    np.testing.assert_allclose(with_z - base, 0.3 * np.mean(lse[keep] ** 2), rtol=1e-12)
    none = ce(logits, labels, from_logits=True, ignore_index=IGNORE, z_loss=0.3, reduction="none")
    assert np.all(none[~keep] == 0.0)  # an ignored token has no z-loss either


def test_softcap_caps_the_logits_before_the_softmax():
    logits, labels = _inputs(scale=40.0)
    c = 5.0
    capped = c * np.tanh(logits / c)
    np.testing.assert_allclose(
        ce(logits, labels, from_logits=True, ignore_index=IGNORE, softcap=c),
        ce(capped, labels, from_logits=True, ignore_index=IGNORE),
        rtol=1e-12,
    )
    # a cap far above the logits changes nothing
    np.testing.assert_allclose(
        ce(logits, labels, from_logits=True, ignore_index=IGNORE, softcap=1e9),
        ce(logits, labels, from_logits=True, ignore_index=IGNORE),
        rtol=1e-9,
    )


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_return_lse_gives_the_log_sum_exp_of_the_capped_logits(reduction):
    logits, labels = _inputs()
    loss, lse = ce(
        logits,
        labels,
        from_logits=True,
        ignore_index=IGNORE,
        softcap=6.0,
        z_loss=1e-4,
        return_lse=True,
        reduction=reduction,
    )
    np.testing.assert_allclose(lse, special.logsumexp(6.0 * np.tanh(logits / 6.0), axis=-1))
    assert lse.shape == labels.shape
    np.testing.assert_array_equal(
        loss,
        ce(
            logits,
            labels,
            from_logits=True,
            ignore_index=IGNORE,
            softcap=6.0,
            z_loss=1e-4,
            reduction=reduction,
        ),
    )
    # with the normalizer too: the loss is divided, the lse passed through
    scaled, lse2 = ce(
        logits, labels, from_logits=True, ignore_index=IGNORE, return_lse=True, normalizer=50
    )
    np.testing.assert_allclose(lse2, special.logsumexp(logits, axis=-1), rtol=1e-14)
    np.testing.assert_allclose(
        scaled, ce(logits, labels, from_logits=True, ignore_index=IGNORE, reduction="sum") / 50
    )


@pytest.mark.skipif(not HAS_TORCH, reason="torch not installed")
def test_torch_lse_is_differentiable_and_the_fast_path_defers():
    import torch
    import torch.nn.functional as F

    from losskit.core.kernels import overrides
    from losskit.losses.classification import sparse_cross_entropy

    logits = torch.randn(6, 5, dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([0, 1, 2, 3, 4, 0])
    _, lse = ce(logits, labels, from_logits=True, return_lse=True)
    (grad,) = torch.autograd.grad(lse.sum(), logits)
    torch.testing.assert_close(grad, torch.softmax(logits, -1))
    fast = overrides("torch")[sparse_cross_entropy.kernel_name]
    common = dict(
        from_logits=True,
        axis=-1,
        label_smoothing=0.0,
        poly_epsilon=0.0,
        reduction="mean",
        xp=None,
    )
    for lm in ({"z_loss": 0.1}, {"softcap": 3.0}, {"return_lse": True}):
        assert fast(logits, labels, None, **common, **lm) is NotImplemented
    # and runs PyTorch's cross_entropy without them
    plain = fast(logits, labels, None, **common, z_loss=0.0, softcap=None, return_lse=False)
    torch.testing.assert_close(plain, F.cross_entropy(logits, labels))
    # the module passes the options and returns the pair
    from losskit.torch import SparseCategoricalCrossEntropy

    module = SparseCategoricalCrossEntropy(z_loss=1e-3, softcap=4.0, return_lse=True)
    loss, lse = module(logits, labels)
    torch.testing.assert_close(lse, torch.logsumexp(4.0 * torch.tanh(logits / 4.0), -1))
    torch.testing.assert_close(loss, ce(logits, labels, from_logits=True, z_loss=1e-3, softcap=4.0))


@pytest.mark.skipif(not HAS_JAX, reason="jax not installed")
def test_traced_options_and_lse_under_jax_jit():
    import jax
    import jax.numpy as jnp

    logits, labels = _inputs()
    x, y = jnp.asarray(logits, dtype=jnp.float32), jnp.asarray(labels)

    @jax.jit
    def loss(x, z, c):
        return ce(x, y, from_logits=True, ignore_index=IGNORE, z_loss=z, softcap=c, return_lse=True)

    value, lse = loss(x, jnp.asarray(1e-2), jnp.asarray(4.0))
    expected = ce(logits, labels, from_logits=True, ignore_index=IGNORE, z_loss=1e-2, softcap=4.0)
    np.testing.assert_allclose(value, expected, rtol=1e-5)
    np.testing.assert_allclose(lse, special.logsumexp(4.0 * np.tanh(logits / 4.0), -1), rtol=1e-5)
    assert value.dtype == jnp.float32 and lse.dtype == jnp.float32
    # the gradient with respect to the z-loss weight is the mean of lse^2 over kept tokens
    dz = jax.grad(lambda z: loss(x, z, jnp.asarray(4.0))[0])(jnp.asarray(1e-2))
    np.testing.assert_allclose(dz, np.mean(np.asarray(lse)[labels != IGNORE] ** 2), rtol=1e-5)


def test_keras_refuses_return_lse():
    pytest.importorskip("keras")
    code = (
        "import losskit.keras as lk, losskit\n"
        "try:\n"
        "    lk.SparseCategoricalCrossEntropy(from_logits=True, return_lse=True)\n"
        "except losskit.LossInputError as e:\n"
        "    print(e)\n"
        "lk.SparseCategoricalCrossEntropy(from_logits=True, z_loss=1e-4, softcap=30.0)\n"
    )
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    run = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "return_lse" in run.stdout and "one value" in run.stdout
