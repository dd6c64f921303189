"""The compiled (numba) kernels of the overlap losses with integer labels.

With numba installed, Dice, soft IoU and Tversky on CPU tensors with integer labels and
softmax logits run two compiled kernels; without it, composed PyTorch operations.  Both
must give the generic implementation's value and gradient, for every option the kernels
see: ignored positions, per-batch statistics, dtypes, layouts, sizes around the kernels'
task size.
"""

from __future__ import annotations

import pytest

import losskit

torch = pytest.importorskip("torch")
kernels = pytest.importorskip("losskit.torch.fast._overlap_kernels")

pytestmark = pytest.mark.skipif(not kernels.NUMBA_FOUND, reason="numba is not installed")

LOSSES = ["dice", "jaccard", "tversky"]


@pytest.fixture(params=[True, False], ids=["kernels", "composed"])
def kernels_on(request, monkeypatch):
    """Run a test with the compiled kernels, then with the composed PyTorch version."""
    monkeypatch.setattr(kernels, "NUMBA_FOUND", request.param)
    return request.param


def _value_and_grad(fn, pred, target, **options):
    pred = pred.detach().clone().requires_grad_()
    value = fn(pred, target, **options)
    (grad,) = torch.autograd.grad(value, pred)
    return value.detach(), grad


def _labels(shape, num_classes, generator, ignore_index=None):
    labels = torch.randint(0, num_classes, shape, generator=generator)
    if ignore_index is not None:
        labels[torch.rand(shape, generator=generator) < 0.3] = ignore_index
    return labels


@pytest.mark.parametrize("name", LOSSES)
@pytest.mark.parametrize(
    ("shape", "axis"),
    [((2, 4, 5, 7), 1), ((3, 6, 6, 5), -1), ((2, 3, 2 * kernels.CHUNK + 17), 1), ((1, 2, 1), 1)],
)
@pytest.mark.parametrize("ignore_index", [None, 1, 255])
@pytest.mark.parametrize("batch", [False, True])
def test_agrees_with_the_generic_implementation(kernels_on, name, shape, axis, ignore_index, batch):
    gen = torch.Generator().manual_seed(len(shape) * 31 + shape[-1])
    pred = torch.randn(shape, dtype=torch.float64, generator=gen)
    label_shape = tuple(s for i, s in enumerate(shape) if i != axis % len(shape))
    target = _labels(label_shape, shape[axis], gen, ignore_index)
    options = {"from_logits": True, "axis": axis, "ignore_index": ignore_index, "batch": batch}
    value, grad = _value_and_grad(getattr(losskit, name), pred, target, **options)
    expected_value, expected_grad = _value_and_grad(
        losskit.get_loss(name).generic, pred, target, **options
    )
    torch.testing.assert_close(value, expected_value, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(grad, expected_grad, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_low_precision_inputs_agree_with_float64(kernels_on, dtype):
    gen = torch.Generator().manual_seed(3)
    pred = torch.randn(2, 3, 40, 40, generator=gen)
    target = _labels((2, 40, 40), 3, gen)
    value, grad = _value_and_grad(losskit.dice, pred.to(dtype), target, from_logits=True, axis=1)
    ref_value, ref_grad = _value_and_grad(
        losskit.dice, pred.double(), target, from_logits=True, axis=1
    )
    assert value.dtype == grad.dtype == dtype
    tol = {torch.float32: 1e-5, torch.float16: 2e-3, torch.bfloat16: 2e-2}[dtype]
    torch.testing.assert_close(value.double(), ref_value, rtol=tol, atol=tol)
    torch.testing.assert_close(grad.double(), ref_grad, rtol=tol, atol=tol * 1e-3)


def test_a_label_out_of_range_is_an_input_error(kernels_on):
    pred = torch.randn(2, 3, 50)
    target = torch.randint(0, 3, (2, 50))
    target[1, 17] = 3
    with pytest.raises(losskit.LossInputError, match="target"):
        losskit.dice(pred, target, from_logits=True, axis=1)
    target[1, 17] = -1
    with pytest.raises(losskit.LossInputError, match="target"):
        losskit.dice(pred, target, from_logits=True, axis=1)
    target[1, 17] = 255  # an ignored label may lie outside the classes
    assert torch.isfinite(losskit.dice(pred, target, from_logits=True, axis=1, ignore_index=255))


def test_a_second_backward_gives_the_same_gradient(kernels_on):
    pred = torch.randn(2, 4, 30, requires_grad=True)
    target = torch.randint(0, 4, (2, 30))
    loss = losskit.tversky(pred, target, from_logits=True, axis=1, alpha=0.3, beta=0.7)
    (first,) = torch.autograd.grad(loss, pred, retain_graph=True)
    (second,) = torch.autograd.grad(loss, pred)
    torch.testing.assert_close(first, second)


def test_the_kernels_run_when_numba_is_installed(monkeypatch):
    calls = []
    for name in ("label_statistics", "softmax_gradient_"):
        original = getattr(kernels, name)
        monkeypatch.setattr(
            kernels, name, lambda *a, _f=original, _n=name: calls.append(_n) or _f(*a)
        )
    pred = torch.randn(2, 3, 8, requires_grad=True)
    losskit.dice(pred, torch.randint(0, 3, (2, 8)), from_logits=True, axis=1).backward()
    assert calls == ["label_statistics", "softmax_gradient_"]


def test_probabilities_given_directly_are_not_overwritten():
    # from_logits=False: the statistics kernel reads the caller's tensor, and the gradient
    # (which has no softmax to go through) must not be written into it
    prob = torch.rand(2, 3, 8).softmax(1)
    kept = prob.clone()
    pred = prob.requires_grad_()
    labels = torch.randint(0, 3, (2, 8))
    losskit.dice(pred, labels, axis=1).backward()
    assert torch.equal(prob.detach(), kept)
    _, expected = _value_and_grad(losskit.get_loss("dice").generic, kept, labels, axis=1)
    torch.testing.assert_close(pred.grad, expected)


def test_masks_do_not_use_the_kernels(monkeypatch):
    monkeypatch.setattr(kernels, "label_statistics", None)  # would fail if called
    masks = torch.nn.functional.one_hot(torch.randint(0, 3, (2, 8)), 3).movedim(-1, 1).float()
    assert torch.isfinite(losskit.dice(torch.randn(2, 3, 8), masks, from_logits=True, axis=1))


def test_a_forked_process_does_not_use_the_kernels(monkeypatch):
    prob = torch.rand(1, 2, 3)
    assert kernels.usable(prob)
    monkeypatch.setattr(kernels, "_forked", True)
    assert not kernels.usable(prob)


def test_compiles_with_fullgraph():
    pred = torch.randn(2, 4, 6, 6, requires_grad=True)
    target = torch.randint(0, 4, (2, 6, 6))
    compiled = torch.compile(
        lambda p, t: losskit.dice(p, t, from_logits=True, axis=1, ignore_index=0), fullgraph=True
    )
    (grad,) = torch.autograd.grad(compiled(pred, target), pred)
    (expected,) = torch.autograd.grad(
        losskit.dice(pred, target, from_logits=True, axis=1, ignore_index=0), pred
    )
    torch.testing.assert_close(grad, expected)
