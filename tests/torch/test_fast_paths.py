"""Every PyTorch fast path agrees with the generic array-API implementation.

Walks every sample of the loss table (``loss_table.CASES``): values and gradients of
``info.fn`` (which dispatches to the fast path for torch tensors) against
``info.generic``, for each reduction, without weights, with random weights and with
all-zero weights, in float64 (to float64 precision), in float32, and under
``torch.autocast(cpu, bfloat16)``, where the fast paths compute in float32 as
PyTorch's own losses do.  Errors must be the generic path's, message for message.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import losskit  # noqa: E402
from loss_table import REDUCTIONS, LossCase, Sample  # noqa: E402
from loss_table.params import extreme_params, invalid_params, rng, sample_params  # noqa: E402
from losskit.core.registry import _FAST_PATHS  # noqa: E402
from losskit.torch import fast  # noqa: E402, F401  (registers the fast paths)

SAMPLES = sample_params()


#: Losses with a PyTorch fast path; the others run the generic implementation.
FAST = {
    *("mse", "mae", "huber", "smooth_l1", "log_cosh", "quantile", "poisson_nll", "gaussian_nll"),
    *("binary_cross_entropy", "binary_focal", "categorical_cross_entropy"),
    *("sparse_categorical_cross_entropy", "categorical_focal", "sparse_categorical_focal"),
    *("kl_divergence", "hinge", "squared_hinge"),
}


def test_the_listed_losses_have_a_torch_fast_path():
    missing = [name for name in FAST if (name, "torch") not in _FAST_PATHS]
    assert not missing, f"no torch fast path for {missing}"


def test_fast_paths_load_on_the_first_call_with_a_tensor():
    """Without ``losskit.torch`` imported, the first call with a tensor registers them."""
    code = (
        "import sys, torch, losskit\n"
        "from losskit.core import registry\n"
        "assert 'losskit.torch.fast' not in sys.modules\n"
        "assert ('mse', 'torch') not in registry._FAST_PATHS\n"
        "losskit.mse(torch.ones(2), torch.zeros(2))\n"
        "assert ('mse', 'torch') in registry._FAST_PATHS\n"
        "registry.load_fast_paths('numpy')  # no fast-path module for numpy: a no-op\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def _convert(value, dtype):
    if isinstance(value, np.ndarray):
        return torch.tensor(value, dtype=dtype) if value.dtype.kind == "f" else torch.tensor(value)
    return value


def _weights(case: LossCase, sample: Sample, kind: str) -> np.ndarray | None:
    if kind == "unweighted":
        return None
    shape = np.shape(case.reference(*sample.args, reduction="none", **sample.kwargs))
    if kind == "zero":
        return np.zeros(shape)
    return rng(case.name, "weights", shape).uniform(0.0, 2.0, size=shape)


def _run(fn, sample: Sample, reduction: str, weights, dtype, autocast: bool = False):
    """Loss value and gradients (of sum(loss * cotangent)) for the sample's grad_args."""
    args = [_convert(a, dtype) for a in sample.args]
    for i in sample.grad_args:
        args[i].requires_grad_()
    kwargs = {k: _convert(v, dtype) for k, v in sample.kwargs.items()}
    if weights is not None:
        kwargs["weights"] = torch.tensor(weights, dtype=dtype)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        out = fn(*args, reduction=reduction, **kwargs)
    cotangent = torch.tensor(
        rng("cotangent", tuple(out.shape)).uniform(0.5, 1.5, size=tuple(out.shape)),
        dtype=out.dtype,
    )
    inputs = [args[i] for i in sample.grad_args]
    grads = torch.autograd.grad((out * cotangent).sum(), inputs, allow_unused=True)
    return out, [
        torch.zeros_like(x) if g is None else g for x, g in zip(inputs, grads, strict=True)
    ]


def _assert_agree(case, sample, reduction, weights, dtype, rtol, atol, autocast=False):
    if (case.name, "torch") not in _FAST_PATHS:
        pytest.skip("no torch fast path")
    info = losskit.get_loss(case.name)
    fast_out, fast_grads = _run(info.fn, sample, reduction, weights, dtype, autocast)
    if autocast:
        # The fast path computes in float32 from the bfloat16 inputs: so does the reference.
        ref_sample = Sample(
            tuple(_round_bf16(a) for a in sample.args),
            {k: _round_bf16(v) for k, v in sample.kwargs.items()},
            grad_args=sample.grad_args,
        )
        ref_out, ref_grads = _run(
            info.generic, ref_sample, reduction, _round_bf16(weights), torch.float32
        )
        assert fast_out.dtype == torch.float32
    else:
        ref_out, ref_grads = _run(info.generic, sample, reduction, weights, dtype)
        assert fast_out.dtype == dtype
    assert fast_out.shape == ref_out.shape
    torch.testing.assert_close(fast_out, ref_out, rtol=rtol, atol=atol, check_dtype=False)
    for g_fast, g_ref in zip(fast_grads, ref_grads, strict=True):
        torch.testing.assert_close(
            g_fast.float() if autocast else g_fast,
            g_ref.float() if autocast else g_ref,
            rtol=rtol if not autocast else 1e-2,
            atol=atol if not autocast else 1e-2,
            check_dtype=False,
        )


def _round_bf16(value):
    """A float64 array rounded to bfloat16 and back (what the autocast test feeds in)."""
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        return torch.tensor(value).to(torch.bfloat16).double().numpy()
    return value


@pytest.mark.parametrize("weighting", ["unweighted", "weighted", "zero"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case, sample", SAMPLES)
def test_float64_agrees_with_generic(case, sample, reduction, weighting):
    weights = _weights(case, sample, weighting)
    _assert_agree(case, sample, reduction, weights, torch.float64, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case, sample", SAMPLES)
def test_float32_agrees_with_generic(case, sample, reduction):
    weights = _weights(case, sample, "weighted")
    _assert_agree(case, sample, reduction, weights, torch.float32, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("reduction", ["mean", "none"])
@pytest.mark.parametrize("case, sample", SAMPLES)
def test_autocast_computes_in_float32(case, sample, reduction):
    _assert_agree(case, sample, reduction, None, torch.bfloat16, 1e-5, 1e-5, autocast=True)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("case, sample", extreme_params())
def test_extremes_agree_with_generic(case, sample, dtype):
    """Huge logits, probabilities 0 and 1, huge errors: the same finite values and gradients."""
    tol = 1e-10 if dtype == torch.float64 else 1e-5
    for reduction in REDUCTIONS:
        _assert_agree(case, sample, reduction, None, dtype, rtol=tol, atol=tol)


def _message(fn, args, kwargs) -> str | None:
    try:
        fn(*args, **kwargs)
    except losskit.LossInputError as err:
        return str(err)
    return None


@pytest.mark.parametrize("case, bad", invalid_params())
def test_errors_are_the_generic_ones(case, bad):
    # The public function checks the options, then runs the torch fast path on tensors
    # and the generic code on NumPy arrays (which have no fast path).
    info = losskit.get_loss(case.name)
    args = [_convert(a, torch.float64) for a in bad.args]
    kwargs = {k: _convert(v, torch.float64) for k, v in bad.kwargs.items()}
    expected = _message(info.fn, bad.args, bad.kwargs)
    assert expected is not None
    got = _message(info.fn, args, kwargs)
    assert got is not None and got.replace("torch.", "") == expected


@pytest.mark.parametrize("case, sample", SAMPLES)
def test_nan_predictions_give_nan_not_an_error(case, sample):
    """A NaN in pred is the model's, not bad input: the loss is NaN, as on the generic path.

    (The fast paths read a NaN *target* off the reduced loss; this checks that a NaN
    loss caused by pred is not mistaken for a bad target.)"""
    pred = sample.args[0].copy()
    if pred.size == 0 or pred.dtype.kind != "f":
        pytest.skip("no floating prediction")
    pred.flat[0] = np.nan
    info = losskit.get_loss(case.name)
    args = [_convert(a, torch.float64) for a in (pred, *sample.args[1:])]
    kwargs = {k: _convert(v, torch.float64) for k, v in sample.kwargs.items()}
    for reduction in ("mean", "sum"):
        try:
            expected = info.generic(*args, reduction=reduction, **kwargs)
        except losskit.LossInputError as err:  # e.g. a probability check rejects NaN
            with pytest.raises(losskit.LossInputError, match=str(err)[:30]):
                info.fn(*args, reduction=reduction, **kwargs)
            continue
        torch.testing.assert_close(
            info.fn(*args, reduction=reduction, **kwargs), expected, equal_nan=True
        )


# ------------------------------------------------- the fused autograd.Functions

FUSED = ("log_cosh", "binary_focal", "categorical_focal", "sparse_categorical_focal")
FUSED_SAMPLES = sample_params(
    lambda case, sample: (
        case.name in FUSED and sample.kwargs.get("from_logits", True) and sample.args[0].size > 0
    )
)[::2]


def _differentiable_args(sample: Sample):
    args = [_convert(a, torch.float64) for a in sample.args]
    kwargs = {k: _convert(v, torch.float64) for k, v in sample.kwargs.items()}
    return args, kwargs, [args[i].requires_grad_() for i in sample.grad_args]


@pytest.mark.parametrize("case, sample", FUSED_SAMPLES)
def test_fused_losses_have_second_derivatives(case, sample):
    """create_graph=True gives a differentiable gradient (through the generic path)."""
    args, kwargs, inputs = _differentiable_args(sample)

    def loss(*diff):
        full = list(args)
        for i, d in zip(sample.grad_args, diff, strict=True):
            full[i] = d
        return case.fn(*full, reduction="sum", **kwargs)

    assert torch.autograd.gradgradcheck(loss, tuple(inputs), atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("case, sample", FUSED_SAMPLES)
def test_fused_losses_allow_retain_graph(case, sample):
    args, kwargs, inputs = _differentiable_args(sample)
    out = case.fn(*args, **kwargs)
    first = torch.autograd.grad(out, inputs, retain_graph=True)
    second = torch.autograd.grad(out, inputs)
    for a, b in zip(first, second, strict=True):
        torch.testing.assert_close(a, b)


# ------------------------------------------------------------------ torch.compile


BAD_VALUES = [
    ("mse", (np.ones(3), np.array([1.0, np.nan, 0.0])), {}),
    ("binary_cross_entropy", (np.full(3, 0.5), np.array([0.0, 2.0, 1.0])), {}),
    ("binary_cross_entropy", (np.array([0.5, 1.5, 0.2]), np.ones(3)), {}),
    ("sparse_categorical_focal", (np.zeros((2, 3)), np.array([0, 1])), {"from_logits": True}),
]


@pytest.mark.parametrize("name, args, kwargs", BAD_VALUES, ids=[b[0] for b in BAD_VALUES])
def test_value_checks_are_skipped_under_torch_compile(name, args, kwargs):
    """Compiled code never reads the data to validate it: no graph break, no error."""
    fn = getattr(losskit, name)
    tensors = [_convert(a, torch.float32) for a in args]
    eager_raises = _message(fn, tensors, kwargs) is not None
    compiled = torch.compile(lambda *a: fn(*a, **kwargs), fullgraph=True, backend="eager")
    out = compiled(*tensors)
    assert out.shape == ()
    if name == "sparse_categorical_focal":  # valid input: the compiled value is the eager one
        assert not eager_raises
        torch.testing.assert_close(out, fn(*tensors, **kwargs))
    else:
        assert eager_raises


@pytest.mark.parametrize("num_classes", [3, 300])
@pytest.mark.parametrize("name", ["sparse_categorical_focal"])
def test_label_losses_with_many_classes_and_ignored_labels(name, num_classes):
    """Gathered and scattered by label, with ignored positions, few or many classes."""
    info = losskit.get_loss(name)
    gen = rng(name, num_classes)
    logits = torch.tensor(gen.normal(size=(2, num_classes, 7, 5)) * 3).requires_grad_()
    labels = torch.tensor(gen.integers(0, num_classes, (2, 7, 5)))
    labels[0, :2] = -1
    kwargs = {"from_logits": True, "axis": 1, "ignore_index": -1, "reduction": "sum"}
    value = info.fn(logits, labels, **kwargs)
    (fast_grad,) = torch.autograd.grad(value, logits)
    generic = info.generic(logits, labels, **kwargs)
    (generic_grad,) = torch.autograd.grad(generic, logits)
    torch.testing.assert_close(value, generic, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(fast_grad, generic_grad, rtol=1e-10, atol=1e-12)
