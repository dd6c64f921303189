"""Edge cases where a PyTorch kernel override must give what the generic kernel gives.

The table-driven agreement test (test_kernel_overrides.py) walks the table's samples; these
are the inputs found outside them: empty batches, zero targets in a gradient, memory
layouts that PyTorch's own kernels mishandle.
"""

from __future__ import annotations

import numpy as np
import pytest

import losskit
from losskit.core.kernels import generic_kernels

torch = pytest.importorskip("torch")


def _generic(name):
    """Loss ``name``'s generic implementation, with every kernel's generic implementation."""
    return generic_kernels()(losskit.get_loss(name).generic)


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


def test_sparse_focal_takes_an_empty_batch():
    for shape, axis in (((0, 4), -1), ((0, 4, 3, 3), 1)):
        pred = torch.zeros(shape)
        labels = torch.zeros(tuple(s for i, s in enumerate(shape) if i != axis % len(shape)))
        value, grad = _value_and_grad(
            losskit.sparse_categorical_focal, pred, labels.long(), from_logits=True, axis=axis
        )
        assert value.item() == 0.0 and grad.shape == pred.shape


@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
@pytest.mark.parametrize("from_logits", [False, True])
def test_sparse_cross_entropy_on_channels_last_input(from_logits, label_smoothing):
    # nll_loss's backward refuses a channels-last gradient; a kernel must not pass one.
    gen = torch.Generator().manual_seed(0)
    prob = torch.rand(2, 3, 4, 4, generator=gen).softmax(1)
    pred = prob.log() if from_logits else prob
    labels = torch.randint(0, 3, (2, 4, 4), generator=gen)
    options = {"axis": 1, "from_logits": from_logits, "label_smoothing": label_smoothing}
    channels_last = pred.to(memory_format=torch.channels_last)
    got = _value_and_grad(
        losskit.sparse_categorical_cross_entropy, channels_last, labels, **options
    )
    expected = _value_and_grad(
        _generic("sparse_categorical_cross_entropy"), pred.contiguous(), labels, **options
    )
    torch.testing.assert_close(got, expected)


def test_probability_checks_do_not_warn_about_gradients(recwarn):
    pred = torch.tensor([0.2, 0.7], requires_grad=True)
    losskit.binary_cross_entropy(pred, torch.tensor([1.0, 0.0])).backward()
    assert not [w for w in recwarn if "requires_grad" in str(w.message)]


@pytest.mark.parametrize(
    "name", ["categorical_cross_entropy", "categorical_focal", "kl_divergence"]
)
@pytest.mark.parametrize("library", ["numpy", "torch"])
def test_an_empty_class_axis_is_an_error(name, library):
    zeros = np.zeros if library == "numpy" else torch.zeros
    with pytest.raises(losskit.LossInputError, match="at least one class on axis 1"):
        losskit.get_loss(name).fn(zeros((3, 0)), zeros((3, 0)))


@pytest.mark.parametrize("positions", [0, 7, 1024, 3 * 1024 + 5, 200_000])
def test_sums_by_label_match_float64_one_hot_sums(positions):
    from losskit.torch.fast.segmentation import _sums_by_label

    gen = torch.Generator().manual_seed(positions)
    values = torch.rand(2, positions, generator=gen)
    labels = torch.randint(0, 3, (2, positions), generator=gen)
    one_hot = torch.nn.functional.one_hot(labels, 3).double()
    expected = (values.double().unsqueeze(-1) * one_hot).sum(1)
    got = _sums_by_label(values, labels, 3)
    assert got.shape == (2, 3) and got.dtype == torch.float32
    torch.testing.assert_close(got.double(), expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_bce_with_logits_matches_pytorch_at_extreme_logits(dtype, reduction):
    # the fused function's value and gradient are PyTorch's where its formula is accurate
    x = torch.tensor([-100.0, -30.0, -5.0, 0.0, 5.0, 30.0, 100.0] * 2, dtype=dtype)
    t = torch.tensor([0.0] * 7 + [1.0] * 7, dtype=dtype)
    for pred, target in ((x, t), (x, torch.full_like(x, 0.25))):
        value, grad = _value_and_grad(
            losskit.binary_cross_entropy, pred, target, from_logits=True, reduction=reduction
        )
        expected, expected_grad = _value_and_grad(
            torch.nn.functional.binary_cross_entropy_with_logits, pred, target, reduction=reduction
        )
        torch.testing.assert_close(value, expected, rtol=1e-6, atol=0)
        torch.testing.assert_close(grad, expected_grad)
    # a confident right answer keeps its small loss: 2 exp(-30) / 14, not 0
    value = losskit.binary_cross_entropy(x[5:6], t[5:6] + 1.0, from_logits=True)
    assert value.item() > 0


#: float32 logits over [-20, 20] in steps of 0.05, and -5.13 (issue 14 item 8)
BCE_LOGITS = torch.cat([torch.linspace(-20.0, 20.0, 801), torch.tensor([-5.13])])


def _bce_float64(x: torch.Tensor, t: float) -> torch.Tensor:
    """The loss in float64 of float32 logits and target: max(x, 0) - t x + log1p(exp(-|x|))."""
    x = x.double()
    t = torch.tensor(t, dtype=torch.float32).double()  # the float32 target, exactly
    return x.clamp_min(0.0) - t * x + torch.log1p(torch.exp(-x.abs()))


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("target", [0.0, 0.3, 1.0])
def test_bce_with_logits_in_float32_is_accurate_to_an_ulp(target, reduction):
    """Every per-element loss, through each reduction (mean and sum run the torch
    override, one logit per call), within 2 float32 eps (relative) of its float64 value,
    small losses included: PyTorch's (1 - t) x - log sigmoid(x) is off by 3e-5 at
    x = -5.13, t = 0.  The mean over the whole sweep too."""
    eps = torch.finfo(torch.float32).eps
    expected = _bce_float64(BCE_LOGITS, target)
    t = torch.full_like(BCE_LOGITS, target)
    if reduction == "none":
        got = losskit.binary_cross_entropy(BCE_LOGITS, t, from_logits=True, reduction="none")
    else:
        got = torch.stack(
            [
                losskit.binary_cross_entropy(x, tx, from_logits=True, reduction=reduction)
                for x, tx in zip(BCE_LOGITS.split(1), t.split(1), strict=True)
            ]
        )
    error = ((got.double() - expected).abs() / expected).max().item()
    assert error <= 2 * eps, error
    mean = losskit.binary_cross_entropy(BCE_LOGITS, t, from_logits=True)
    assert abs(mean.item() - expected.mean().item()) <= 2 * eps * expected.mean().item()


def test_bce_with_logits_double_backward_matches_the_generic_implementation():
    pred = torch.randn(20, dtype=torch.float64, requires_grad=True)
    target = torch.rand(20, dtype=torch.float64)
    hessians = []
    for fn in (losskit.binary_cross_entropy, _generic("binary_cross_entropy")):
        (grad,) = torch.autograd.grad(fn(pred, target, from_logits=True), pred, create_graph=True)
        hessians.append(torch.autograd.grad(grad.sum(), pred)[0])
    torch.testing.assert_close(hessians[0], hessians[1])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mae_gradients_match_pytorch_including_ties(reduction):
    pred = torch.tensor([1.0, -2.0, 3.0, 0.5], dtype=torch.float64, requires_grad=True)
    target = torch.tensor([0.0, -2.0, 4.0, 0.5], dtype=torch.float64, requires_grad=True)
    grads = []
    for fn in (losskit.mae, torch.nn.functional.l1_loss):
        out = fn(pred, target, reduction=reduction)
        grads.append(torch.autograd.grad(out.sum(), (pred, target), retain_graph=True))
        # a second backward through the same graph gives the same gradients
        assert torch.equal(torch.autograd.grad(out.sum(), pred)[0], grads[-1][0])
    for ours, theirs in zip(*grads, strict=True):
        torch.testing.assert_close(ours, theirs)
    assert grads[0][0][1] == 0 and grads[0][0][3] == 0  # no gradient where pred == target


def test_mae_double_backward_and_half_precision():
    pred = torch.randn(10, dtype=torch.float64, requires_grad=True)
    target = torch.randn(10, dtype=torch.float64)
    (grad,) = torch.autograd.grad(losskit.mae(pred, target), pred, create_graph=True)
    assert grad.requires_grad
    torch.testing.assert_close(grad, torch.sign(pred - target).detach() / 10)
    half = losskit.mae(pred.detach().half(), target.half())
    assert half.dtype == torch.float16
    torch.testing.assert_close(
        half.double(), (pred - target).abs().mean().detach(), rtol=2e-3, atol=0
    )


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("scale", [1e-3, 0.3, 3.0])
def test_log_cosh_keeps_the_fused_sums_only_where_they_are_accurate(scale, reduction):
    """The fused kernel sums |e| - log 2 and -log sigma(2|e|) apart, which cancels for small errors:
    it is kept for a mean loss of log 2 / 4 or more (scale 3 here), and the generic
    kernel's series runs below (scales 1e-3 and 0.3).  Either way the value is within a few
    float32 units of rounding of float64, and the gradient tanh(e) within a few units of
    the largest."""
    eps = torch.finfo(torch.float32).eps
    error = scale * torch.randn(4099, generator=torch.Generator().manual_seed(0))
    pred = error.clone().requires_grad_()
    out = losskit.log_cosh(pred, torch.zeros_like(error), reduction=reduction)
    out.backward()
    fused = type(out.grad_fn).__name__ == "_LogCoshBackward"
    assert fused == (scale == 3.0)
    e64 = error.double()
    per_element = torch.log1p(2.0 * torch.sinh(e64 / 2) ** 2)
    expected = per_element.mean() if reduction == "mean" else per_element.sum()
    assert abs(out.item() - expected.item()) <= 16 * eps * expected.item()
    expected_grad = torch.tanh(e64) / (error.numel() if reduction == "mean" else 1)
    atol = 4 * eps * expected_grad.abs().max().item()
    torch.testing.assert_close(pred.grad.double(), expected_grad, rtol=4 * eps, atol=atol)
