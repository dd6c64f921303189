"""Edge cases where a PyTorch fast path must give what the generic implementation gives.

The table-driven agreement test (test_fast_paths.py) walks the table's samples; these
are the inputs found outside them: empty batches, zero targets in a gradient, memory
layouts that PyTorch's own kernels mishandle.
"""

from __future__ import annotations

import pytest

import losskit

torch = pytest.importorskip("torch")


def _generic(name):
    return losskit.get_loss(name).generic


def _value_and_grad(fn, pred, target, **options):
    pred = pred.detach().clone().requires_grad_()
    out = fn(pred, target, **options)
    out.backward()
    return out.detach(), pred.grad


@pytest.mark.parametrize("name", ["dice", "jaccard", "tversky"])
@pytest.mark.parametrize("labels", [True, False], ids=["labels", "masks"])
def test_overlap_losses_take_an_empty_batch(name, labels):
    pred = torch.zeros(0, 3, 4, 4)
    target = torch.zeros(0, 4, 4, dtype=torch.long) if labels else torch.zeros(0, 3, 4, 4)
    fn = getattr(losskit, name)
    value, grad = _value_and_grad(fn, pred, target, axis=1, from_logits=True)
    assert value.item() == 0.0 and grad.shape == pred.shape
    per_class = fn(pred, target, axis=1, from_logits=True, reduction="none")
    expected = _generic(name)(pred, target, axis=1, from_logits=True, reduction="none")
    assert per_class.shape == expected.shape == (0, 3)


@pytest.mark.parametrize("log_input", [True, False])
def test_poisson_nll_full_has_a_finite_target_gradient_at_zero_counts(log_input):
    pred = torch.tensor([0.5, 1.0, 2.0], dtype=torch.float64)
    grads = []
    for fn in (losskit.poisson_nll, _generic("poisson_nll")):
        target = torch.tensor([0.0, 1.0, 3.0], dtype=torch.float64, requires_grad=True)
        fn(pred, target, log_input=log_input, full=True).backward()
        grads.append(target.grad)
    assert torch.isfinite(grads[0]).all()
    torch.testing.assert_close(grads[0], grads[1])
