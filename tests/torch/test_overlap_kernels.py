"""The PyTorch kernel of the overlap statistics against the generic kernel.

Dice, soft IoU, Tversky and focal Tversky take their statistics I, P, T from the kernel
``losskit.losses.segmentation.overlap_statistics``, which ``losskit.torch.fast.segmentation``
overrides for tensors: with integer labels on CPU and numba installed, two compiled
kernels; otherwise composed PyTorch operations.  Both must give the generic kernel's
values and gradients (the generic kernel run on the same tensors, the override switched
off) and its errors: on every sample of the loss table, and on the inputs the compiled
kernels see (ignored positions, per-batch statistics, dtypes, layouts, sizes around the
kernels' task size).
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import zlib

import numpy as np
import pytest

import losskit
from loss_table import CASES, REDUCTIONS, Sample
from losskit.core import kernels as core_kernels
from losskit.losses.segmentation import overlap_statistics

torch = pytest.importorskip("torch")
kernels = pytest.importorskip("losskit.torch.fast._overlap_kernels")

#: The losses whose statistics come from overlap_statistics.
OVERLAP = ("dice", "jaccard", "tversky", "focal_tversky")
LABEL_LOSSES = ["dice", "jaccard", "tversky"]
OVERRIDE = (overlap_statistics.kernel_name, "torch")


@contextlib.contextmanager
def generic_kernel():
    """Run the generic array-API kernel on tensors: the torch override switched off."""
    impl = core_kernels._OVERRIDES.pop(OVERRIDE)
    try:
        yield
    finally:
        core_kernels._OVERRIDES[OVERRIDE] = impl


@pytest.fixture(params=[True, False], ids=["kernels", "composed"])
def kernels_on(request, monkeypatch):
    """Run a test with the compiled kernels, then with the composed PyTorch version."""
    if request.param and not kernels.NUMBA_FOUND:
        pytest.skip("numba is not installed")
    monkeypatch.setattr(kernels, "NUMBA_FOUND", request.param)
    return request.param


def test_the_torch_override_is_registered():
    assert OVERRIDE[0] in core_kernels.overrides("torch")


@pytest.mark.parametrize("name", OVERLAP)
def test_the_overlap_losses_take_their_statistics_from_the_kernel(name, monkeypatch):
    calls = []
    impl = core_kernels._OVERRIDES[OVERRIDE]
    monkeypatch.setitem(
        core_kernels._OVERRIDES, OVERRIDE, lambda *a, **k: calls.append(1) or impl(*a, **k)
    )
    getattr(losskit, name)(torch.rand(2, 3, 4), torch.randint(0, 3, (2, 4)), axis=1)
    assert calls == [1]


# ------------------------------------------------------------- the loss table


def _rng(*keys: object) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(repr(keys).encode()))


def _cases():
    return [case for case in CASES if case.name in OVERLAP]


SAMPLES = [
    pytest.param(case, sample, id=f"{case.name}-{i}-{sample.desc}")
    for case in _cases()
    for i, sample in enumerate([*case.samples(_rng(case.name)), *case.extremes()])
]


def _modes(sample: Sample) -> list[bool]:
    """The statistics with the compiled kernels and composed (integer labels), or
    composed only (masks, which never use the kernels)."""
    labels = sample.args[1].dtype.kind in "iu"
    return [True, False] if labels and kernels.NUMBA_FOUND else [False]


#: The table samples, each with the compiled kernels on or off.
SAMPLE_MODES = [
    pytest.param(*p.values, numba, id=f"{p.id}-{'kernels' if numba else 'composed'}")
    for p in SAMPLES
    for numba in _modes(p.values[1])
]
INVALID = [
    pytest.param(case, bad, id=f"{case.name}-{bad.desc or bad.match}")
    for case in _cases()
    for bad in case.invalid()
]


def _tensor(value, dtype):
    if isinstance(value, np.ndarray):
        return torch.tensor(value, dtype=dtype) if value.dtype.kind == "f" else torch.tensor(value)
    return value


def _run(fn, sample: Sample, dtype, reduction: str, weighted: bool):
    """The loss and the gradients of sum(loss * cotangent) for the sample's grad_args."""
    args = [_tensor(a, dtype) for a in sample.args]
    for i in sample.grad_args:
        args[i].requires_grad_()
    kwargs = {k: _tensor(v, dtype) for k, v in sample.kwargs.items()}
    out = fn(*args, reduction="none", **kwargs)
    if weighted:
        kwargs["weights"] = torch.tensor(_rng("weights").uniform(0.5, 2.0, out.shape), dtype=dtype)
    out = fn(*args, reduction=reduction, **kwargs)
    cotangent = torch.tensor(_rng("cotangent").uniform(0.5, 1.5, out.shape), dtype=out.dtype)
    inputs = [args[i] for i in sample.grad_args]
    grads = torch.autograd.grad((out * cotangent).sum(), inputs, allow_unused=True)
    return out.detach(), [
        torch.zeros_like(x) if g is None else g for x, g in zip(inputs, grads, strict=True)
    ]


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("case, sample, numba", SAMPLE_MODES)
def test_table_samples_agree_with_the_generic_kernel(case, sample, numba, dtype, monkeypatch):
    monkeypatch.setattr(kernels, "NUMBA_FOUND", numba)
    tol = {"rtol": 1e-10, "atol": 1e-12} if dtype == torch.float64 else {"rtol": 1e-5, "atol": 1e-6}
    for reduction in REDUCTIONS:
        for weighted in (False, True):
            value, grads = _run(case.fn, sample, dtype, reduction, weighted)
            with generic_kernel():
                expected, expected_grads = _run(case.fn, sample, dtype, reduction, weighted)
            assert value.dtype == expected.dtype == dtype
            torch.testing.assert_close(value, expected, **tol)
            for got, want in zip(grads, expected_grads, strict=True):
                torch.testing.assert_close(got, want, **tol)


def _message(fn, args, kwargs) -> str | None:
    try:
        fn(*args, **kwargs)
    except losskit.LossInputError as err:
        return str(err)
    return None


@pytest.mark.parametrize("case, bad", INVALID)
def test_errors_are_the_generic_kernels(kernels_on, case, bad):
    args = [_tensor(a, torch.float64) for a in bad.args]
    kwargs = {k: _tensor(v, torch.float64) for k, v in bad.kwargs.items()}
    with generic_kernel():
        expected = _message(case.fn, args, kwargs)
    assert expected is not None
    assert _message(case.fn, args, kwargs) == expected


#: Every other sample of logits (finite differences would push probabilities out of
#: [0, 1]; gradgradcheck takes seconds a sample).
LOGIT_SAMPLES = [p for p in SAMPLES if p.values[1].kwargs.get("from_logits")][::2]


@pytest.mark.parametrize("case, sample", LOGIT_SAMPLES)
def test_second_derivatives_run_the_generic_kernel(case, sample):
    """create_graph=True gives a differentiable gradient (through the generic kernel)."""
    args = [_tensor(a, torch.float64) for a in sample.args]
    kwargs = {k: _tensor(v, torch.float64) for k, v in sample.kwargs.items()}
    inputs = tuple(args[i].requires_grad_() for i in sample.grad_args)

    def loss(*diff):
        full = list(args)
        for i, d in zip(sample.grad_args, diff, strict=True):
            full[i] = d
        return case.fn(*full, reduction="sum", **kwargs)

    assert torch.autograd.gradgradcheck(loss, inputs, atol=1e-5, rtol=1e-4)


# ------------------------------------------------- what the compiled kernels see


def _value_and_grad(fn, pred, target, **options):
    pred = pred.detach().clone().requires_grad_()
    value = fn(pred, target, **options)
    (grad,) = torch.autograd.grad(value, pred)
    return value.detach(), grad


def _generic_value_and_grad(fn, pred, target, **options):
    with generic_kernel():
        return _value_and_grad(fn, pred, target, **options)


def _labels(shape, num_classes, generator, ignore_index=None):
    labels = torch.randint(0, num_classes, shape, generator=generator)
    if ignore_index is not None:
        labels[torch.rand(shape, generator=generator) < 0.3] = ignore_index
    return labels


@pytest.mark.parametrize("name", LABEL_LOSSES)
@pytest.mark.parametrize(
    ("shape", "axis"),
    [((2, 4, 5, 7), 1), ((3, 6, 6, 5), -1), ((2, 3, 2 * kernels.CHUNK + 17), 1), ((1, 2, 1), 1)],
)
@pytest.mark.parametrize("ignore_index", [None, 1, 255])
@pytest.mark.parametrize("batch", [False, True])
def test_agrees_with_the_generic_kernel(kernels_on, name, shape, axis, ignore_index, batch):
    gen = torch.Generator().manual_seed(len(shape) * 31 + shape[-1])
    pred = torch.randn(shape, dtype=torch.float64, generator=gen)
    label_shape = tuple(s for i, s in enumerate(shape) if i != axis % len(shape))
    target = _labels(label_shape, shape[axis], gen, ignore_index)
    options = {"from_logits": True, "axis": axis, "ignore_index": ignore_index, "batch": batch}
    fn = getattr(losskit, name)
    value, grad = _value_and_grad(fn, pred, target, **options)
    expected_value, expected_grad = _generic_value_and_grad(fn, pred, target, **options)
    torch.testing.assert_close(value, expected_value, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(grad, expected_grad, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("num_classes", [3, 300])
@pytest.mark.parametrize("name", LABEL_LOSSES)
def test_many_classes_and_ignored_labels(name, num_classes):
    """Gathered and scattered by label, with ignored positions, few or many classes."""
    rng = _rng(name, num_classes)
    logits = torch.tensor(rng.normal(size=(2, num_classes, 7, 5)) * 3)
    labels = torch.tensor(rng.integers(0, num_classes, (2, 7, 5)))
    labels[0, :2] = -1
    options = {"from_logits": True, "axis": 1, "ignore_index": -1, "reduction": "sum"}
    fn = getattr(losskit, name)
    value, grad = _value_and_grad(fn, logits, labels, **options)
    expected_value, expected_grad = _generic_value_and_grad(fn, logits, labels, **options)
    torch.testing.assert_close(value, expected_value, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(grad, expected_grad, rtol=1e-10, atol=1e-12)


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


def test_autocast_sums_in_float32(kernels_on):
    """Under autocast the statistics are still sums in float32 (not bfloat16 products)."""
    gen = torch.Generator().manual_seed(4)
    pred = torch.randn(2, 3, 30, generator=gen)
    masks = torch.nn.functional.one_hot(_labels((2, 30), 3, gen), 3).movedim(-1, 1).float()
    for target in (masks, masks.argmax(1)):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            value, grad = _value_and_grad(losskit.dice, pred, target, from_logits=True, axis=1)
        expected, expected_grad = _value_and_grad(
            losskit.dice, pred, target, from_logits=True, axis=1
        )
        assert value.dtype == grad.dtype == torch.float32
        torch.testing.assert_close(value, expected)
        torch.testing.assert_close(grad, expected_grad)


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


def test_a_target_that_requires_a_gradient_runs_the_generic_kernel():
    gen = torch.Generator().manual_seed(5)
    pred = torch.rand(2, 3, 6, generator=gen, dtype=torch.float64, requires_grad=True)
    target = torch.rand(2, 3, 6, generator=gen, dtype=torch.float64, requires_grad=True)
    grads = torch.autograd.grad(losskit.dice(pred, target, axis=1), (pred, target))
    with generic_kernel():
        expected = torch.autograd.grad(losskit.dice(pred, target, axis=1), (pred, target))
    for got, want in zip(grads, expected, strict=True):
        torch.testing.assert_close(got, want)


def test_the_kernels_run_when_numba_is_installed(monkeypatch):
    if not kernels.NUMBA_FOUND:
        pytest.skip("numba is not installed")
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
    _, expected = _generic_value_and_grad(losskit.dice, kept, labels, axis=1)
    torch.testing.assert_close(pred.grad, expected)


def test_masks_do_not_use_the_kernels(monkeypatch):
    monkeypatch.setattr(kernels, "label_statistics", None)  # would fail if called
    masks = torch.nn.functional.one_hot(torch.randint(0, 3, (2, 8)), 3).movedim(-1, 1).float()
    assert torch.isfinite(losskit.dice(torch.randn(2, 3, 8), masks, from_logits=True, axis=1))


def test_a_forked_process_does_not_use_the_kernels(monkeypatch):
    prob = torch.rand(1, 2, 3)
    assert kernels.usable(prob) == kernels.NUMBA_FOUND
    monkeypatch.setattr(kernels, "_forked", True)
    assert not kernels.usable(prob)


@pytest.mark.parametrize("name", ["dice", "focal_tversky"])
def test_compiles_with_fullgraph(name):
    fn = getattr(losskit, name)
    pred = torch.randn(2, 4, 6, 6, requires_grad=True)
    target = torch.randint(0, 4, (2, 6, 6))
    compiled = torch.compile(
        lambda p, t: fn(p, t, from_logits=True, axis=1, ignore_index=0), fullgraph=True
    )
    (grad,) = torch.autograd.grad(compiled(pred, target), pred)
    (expected,) = torch.autograd.grad(
        fn(pred, target, from_logits=True, axis=1, ignore_index=0), pred
    )
    torch.testing.assert_close(grad, expected)


def test_a_first_call_compiles_with_fullgraph_in_a_fresh_process():
    """``import losskit.torch`` loads the overrides: no import inside the compiled graph."""
    code = (
        "import torch, losskit, losskit.torch\n"
        "pred, target = torch.randn(2, 3, 4), torch.randint(0, 3, (2, 4))\n"
        "loss = lambda p, t: losskit.dice(p, t, from_logits=True, axis=1)\n"
        "compiled = torch.compile(loss, fullgraph=True, backend='eager')\n"
        "torch.testing.assert_close(compiled(pred, target), loss(pred, target))\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_slow_first_call_says_it_is_compiling(monkeypatch, caplog):
    """The first call per kernel and dtype logs one message once it takes longer than
    ``COMPILE_NOTICE_AFTER``; calls that are quick, or already made, log nothing."""
    import time
    import types

    compiled = types.SimpleNamespace(
        statistics=lambda *args: time.sleep(0.3), softmax_gradient_=lambda *args: None
    )
    monkeypatch.setattr(kernels, "_compiled", lambda: compiled)
    monkeypatch.setattr(kernels, "_ready", set())
    monkeypatch.setattr(kernels, "COMPILE_NOTICE_AFTER", 0.05)
    kernels._log_compiling.cache_clear()
    array = np.zeros(2, dtype=np.float32)
    with caplog.at_level("WARNING", logger="losskit"):
        kernels._launch("softmax_gradient_", array)  # quick: no message
        assert "compiling" not in caplog.text
        kernels._launch("statistics", array)  # slow first call: the message
        kernels._launch("statistics", array.astype(np.float64))  # slow again: no repeat
    assert caplog.text.count("compiling the Dice/IoU/Tversky label kernels") == 1
    kernels._log_compiling.cache_clear()
