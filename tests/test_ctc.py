"""CTC behaviour the table cannot hold: an impossible target gives inf (finite
differences do not apply), with a zero gradient on every backend and through PyTorch's
kernel, and the batch-first layout against ``torch.nn.CTCLoss``'s ``[T, B, C]``."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest

import losskit
from array_backends import HAS_JAX, HAS_TORCH
from losskit.core.kernels import generic_kernels

RNG = np.random.default_rng(17)
LOGITS = RNG.normal(size=(3, 5, 4)) * 2
# [1, 1, 1] needs 5 frames and has 4; [2, 3] fits in 5; [3] fits in 2
TARGET = np.array([[1, 1, 1], [2, 3, 0], [3, 0, 0]])
INPUT_LENGTHS, TARGET_LENGTHS = np.array([4, 5, 2]), np.array([3, 2, 1])


def test_an_impossible_target_is_inf_or_zero_with_zero_infinity():
    loss = losskit.ctc(
        LOGITS, TARGET, INPUT_LENGTHS, TARGET_LENGTHS, from_logits=True, reduction="none"
    )
    assert np.isinf(loss[0]) and np.all(np.isfinite(loss[1:])) and np.all(loss[1:] > 0)
    zeroed = losskit.ctc(
        LOGITS,
        TARGET,
        INPUT_LENGTHS,
        TARGET_LENGTHS,
        from_logits=True,
        zero_infinity=True,
        reduction="none",
    )
    np.testing.assert_array_equal(zeroed, np.where(np.isinf(loss), 0.0, loss))


@pytest.mark.skipif(not HAS_TORCH, reason="torch not installed")
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_a_weight_of_zero_drops_an_impossible_target(reduction):
    """weights=0 on the inf sequence leaves the others' loss, and a finite gradient:
    the shared reduction never forms 0 * inf."""
    import torch

    x = torch.tensor(LOGITS, requires_grad=True)
    args = [torch.from_numpy(a) for a in (TARGET, INPUT_LENGTHS, TARGET_LENGTHS)]
    weights = torch.tensor([0.0, 1.0, 1.0], dtype=x.dtype)
    loss = losskit.ctc(x, *args, from_logits=True, weights=weights, reduction=reduction)
    (grad,) = torch.autograd.grad(loss.sum(), x)
    assert torch.isfinite(loss).all() and torch.isfinite(grad).all()
    assert torch.all(grad[0] == 0)
    rest = losskit.ctc(
        x[1:], *(a[1:] for a in args), from_logits=True, weights=weights[1:], reduction=reduction
    )
    torch.testing.assert_close(loss[1:] if reduction == "none" else loss, rest)


@pytest.mark.skipif(not HAS_TORCH, reason="torch not installed")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_torch_kernel_and_generic_agree_on_inf_and_give_a_zero_gradient_there(dtype):
    import torch

    results = []
    for generic in (False, True):
        x = torch.tensor(LOGITS, dtype=getattr(torch, dtype), requires_grad=True)
        args = [torch.from_numpy(a) for a in (TARGET, INPUT_LENGTHS, TARGET_LENGTHS)]
        with generic_kernels() if generic else contextlib.nullcontext():
            loss = losskit.ctc(torch.log_softmax(x, -1), *args, reduction="none")
        (grad,) = torch.autograd.grad(torch.where(torch.isinf(loss), 0.0, loss).sum(), x)
        results.append((loss.detach(), grad))
    (fast, fast_grad), (ref, ref_grad) = results
    torch.testing.assert_close(fast, ref)
    assert torch.isfinite(fast_grad).all() and torch.isfinite(ref_grad).all()
    torch.testing.assert_close(fast_grad, ref_grad)


@pytest.mark.skipif(not HAS_TORCH, reason="torch not installed")
def test_the_gradient_of_an_inf_loss_is_zero_not_nan():
    import torch

    for generic in (False, True):
        x = torch.tensor(LOGITS[:1], requires_grad=True)
        args = [torch.from_numpy(a[:1]) for a in (TARGET, INPUT_LENGTHS, TARGET_LENGTHS)]
        with generic_kernels() if generic else contextlib.nullcontext():
            loss = losskit.ctc(x, *args, from_logits=True, reduction="sum")
        assert torch.isinf(loss)
        (grad,) = torch.autograd.grad(loss, x)
        assert torch.all(grad == 0)


@pytest.mark.skipif(not HAS_JAX, reason="jax not installed")
def test_jax_gradient_of_an_inf_loss_is_zero_under_jit():
    import jax
    import jax.numpy as jnp

    args = [jnp.asarray(a[:1]) for a in (TARGET, INPUT_LENGTHS, TARGET_LENGTHS)]
    value, grad = jax.jit(
        jax.value_and_grad(lambda x: losskit.ctc(x, *args, from_logits=True, reduction="sum"))
    )(jnp.asarray(LOGITS[:1]))
    assert np.isinf(value) and np.all(np.asarray(grad) == 0)


@pytest.mark.skipif(not HAS_TORCH, reason="torch not installed")
def test_module_is_batch_first_where_torch_nn_is_time_first():
    import torch

    import losskit.torch

    log_probs = torch.log_softmax(torch.tensor(LOGITS), -1)
    args = [torch.from_numpy(a) for a in (TARGET, INPUT_LENGTHS, TARGET_LENGTHS)]
    ours = losskit.torch.CTC(zero_infinity=True)(log_probs, *args)
    theirs = torch.nn.CTCLoss(zero_infinity=True)(log_probs.transpose(0, 1), *args)
    torch.testing.assert_close(ours, theirs)
