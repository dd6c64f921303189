"""Every PyTorch kernel override agrees with the generic array-API code.

Two levels:

- each override registered with :func:`losskit.core.kernels.override` is checked
  against its generic kernel on the calls that the test table's samples make (values,
  gradients, second derivatives), so a new override is covered without edits, and an
  override that no sample reaches fails;
- every loss that runs a PyTorch override on the table's samples is checked, on every sample of the loss table (``loss_table.CASES``), against its
  generic implementation with the overrides off: values and gradients for each
  reduction, without weights, with random weights and with all-zero weights, in
  float64 (to float64 precision), in float32, and under ``torch.autocast(cpu,
  bfloat16)``, where the losses compute in float32 as PyTorch's own losses do.  Errors
  must be the generic path's, message for message.
"""

from __future__ import annotations

import contextlib
import functools
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import losskit  # noqa: E402
from loss_table import CASES, REDUCTIONS, LossCase, Sample  # noqa: E402
from loss_table.params import (  # noqa: E402
    extreme_params,
    invalid_params,
    rng,
    sample_params,
    samples_of,
)
from losskit.core import kernels  # noqa: E402
from losskit.core.reduction import reduce_loss  # noqa: E402
from losskit.torch import fast  # noqa: E402, F401  (registers the overrides)

SAMPLES = sample_params()
TORCH_OVERRIDES = sorted(kernels.overrides("torch"))


def _generic(fn):
    """``fn`` run with every kernel's generic implementation (the overrides off)."""
    return kernels.generic_kernels()(fn)


def test_overrides_load_on_the_first_call_with_a_tensor():
    """Without ``losskit.torch`` imported, the first kernel call with a tensor loads them."""
    code = (
        "import sys, torch, losskit\n"
        "assert 'losskit.torch.fast' not in sys.modules\n"
        "losskit.mse(torch.ones(2), torch.zeros(2))\n"
        "assert 'losskit.torch.fast' in sys.modules\n"
        "from losskit.core import kernels\n"
        "assert 'losskit.losses.regression.squared_error' in kernels.overrides('torch')\n"
        "kernels.load_overrides('numpy')  # no override module for numpy: a no-op\n"
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


def _forward(fn, sample: Sample, reduction: str, weights, dtype, autocast: bool = False):
    """The loss of a sample, and its arguments (the sample's grad_args require a gradient)."""
    args = [_convert(a, dtype) for a in sample.args]
    for i in sample.grad_args:
        args[i].requires_grad_()
    kwargs = {k: _convert(v, dtype) for k, v in sample.kwargs.items()}
    if weights is not None:
        kwargs["weights"] = torch.tensor(weights, dtype=dtype)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        return fn(*args, reduction=reduction, **kwargs), args


def _run(fn, sample: Sample, reduction: str, weights, dtype, autocast: bool = False):
    """Loss value and gradients (of sum(loss * cotangent)) for the sample's grad_args."""
    out, args = _forward(fn, sample, reduction, weights, dtype, autocast)
    cotangent = torch.tensor(
        rng("cotangent", tuple(out.shape)).uniform(0.5, 1.5, size=tuple(out.shape)),
        dtype=out.dtype,
    )
    inputs = [args[i] for i in sample.grad_args]
    grads = torch.autograd.grad((out * cotangent).sum(), inputs, allow_unused=True)
    return out, [
        torch.zeros_like(x) if g is None else g for x, g in zip(inputs, grads, strict=True)
    ]


def _assert_agree(
    case, sample, reduction, weights, dtype, rtol, atol, autocast=False, any_loss=False
):
    """``info.fn`` against the generic implementation with the overrides off; skipped,
    unless ``any_loss``, for a loss that runs no PyTorch code of its own."""
    if not any_loss and not _runs_torch_code(case.name):
        pytest.skip("no torch override runs for this loss")
    info = losskit.get_loss(case.name)
    generic = _generic(info.generic)
    fast_out, fast_grads = _run(info.fn, sample, reduction, weights, dtype, autocast)
    if autocast:
        # The loss computes in float32 from the bfloat16 inputs: so does the reference.
        ref_sample = Sample(
            tuple(_round_bf16(a) for a in sample.args),
            {k: _round_bf16(v) for k, v in sample.kwargs.items()},
            grad_args=sample.grad_args,
        )
        ref_out, ref_grads = _run(
            generic, ref_sample, reduction, _round_bf16(weights), torch.float32
        )
        assert fast_out.dtype == torch.float32
    else:
        ref_out, ref_grads = _run(generic, sample, reduction, weights, dtype)
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


# --------------------------------------------- overrides against their generic kernels


def _snapshot(value):
    """A recorded kernel argument: tensors copied, with whether they required a gradient."""
    if isinstance(value, torch.Tensor):
        return ("tensor", value.detach().clone(), value.requires_grad)
    if isinstance(value, tuple):
        return tuple(_snapshot(v) for v in value)
    if isinstance(value, dict):
        return {k: _snapshot(v) for k, v in value.items()}
    return value


def _restore(value, inputs: list):
    """A recorded argument as a fresh tensor; those that required a gradient join ``inputs``."""
    if isinstance(value, tuple) and len(value) == 3 and value[0] == "tensor":
        tensor = value[1].clone().requires_grad_(value[2])
        if value[2]:
            inputs.append(tensor)
        return tensor
    if isinstance(value, tuple):
        return tuple(_restore(v, inputs) for v in value)
    if isinstance(value, dict):
        return {k: _restore(v, inputs) for k, v in value.items()}
    return value


@contextlib.contextmanager
def _recording_overrides(record):
    """Inside the block, ``record(kernel name, args, kwargs)`` is called for every call in
    which a torch override computes (rather than returning NotImplemented)."""

    def recorder(name, impl):
        def run(*args, **kwargs):
            out = impl(*args, **kwargs)
            if out is not NotImplemented:
                record(name, args, kwargs)
            return out

        return run

    with pytest.MonkeyPatch.context() as patch:
        for name, impl in kernels.overrides("torch").items():
            patch.setitem(kernels._OVERRIDES, (name, "torch"), recorder(name, impl))
        yield


@functools.cache
def _override_calls() -> dict[str, list[tuple[str, tuple, dict]]]:
    """Per torch override, the calls in which it computed (rather than returning
    NotImplemented) while every sample of the table ran, in float64 and float32, with
    each reduction, unweighted and weighted: (loss name, args, kwargs)."""
    calls: dict[str, list[tuple[str, tuple, dict]]] = {name: [] for name in TORCH_OVERRIDES}
    running = {"loss": ""}

    def record(name, args, kwargs):
        calls[name].append((running["loss"], _snapshot(args), _snapshot(kwargs)))

    with _recording_overrides(record):
        for case in CASES:
            running["loss"] = case.name
            for sample in samples_of(case):
                for dtype in (torch.float64, torch.float32):
                    for reduction in REDUCTIONS:
                        for weighting in ("unweighted", "weighted"):
                            weights = _weights(case, sample, weighting)
                            _forward(case.fn, sample, reduction, weights, dtype)
    return calls


def _runs_torch_code(loss: str) -> bool:
    """Whether a loss runs a torch override on the table's samples."""
    return any(call[0] == loss for calls in _override_calls().values() for call in calls)


def _kernel(name: str):
    """The kernel called ``name`` (its module and qualified name)."""
    module, _, qualname = name.rpartition(".")
    return getattr(sys.modules[module], qualname)


def _kernel_outputs(name: str, args, kwargs):
    """The override's and the generic kernel's outputs on one recorded call, as tuples of
    tensors (a kernel may return several, as the overlap statistics do), the generic
    one reduced as the override was asked to (when it did), and the inputs that require
    a gradient."""
    inputs: list = []
    args, kwargs = _restore(args, inputs), _restore(kwargs, inputs)
    out = kernels.overrides("torch")[name](*args, **kwargs)
    ref = _kernel(name).generic(*args, **kwargs)
    if not isinstance(out, tuple):
        if out.shape != ref.shape:  # the override applied the reduction itself
            assert out.ndim == 0 and kwargs["reduction"] in ("mean", "sum")
            ref = reduce_loss(ref, reduction=kwargs["reduction"], xp=kwargs["xp"])
        out, ref = (out,), (ref,)
    return out, ref, inputs


def _cotangent_sum(outs) -> torch.Tensor:
    """sum(out * cotangent) over the outputs: what their gradients are taken of."""
    return sum(
        (
            o
            * torch.tensor(
                rng("cotangent", tuple(o.shape)).uniform(0.5, 1.5, size=tuple(o.shape)),
                dtype=o.dtype,
            )
        ).sum()
        for o in outs
    )


#: float32 tolerance of kernels whose values amplify rounding: SSIM divides differences of
#: second moments (E[x^2] - E[x]^2, each rounded at about eps |E[x^2]|) by C2 = (0.03 L)^2,
#: so two float32 summation orders of the window (a convolution, a matrix product) agree
#: to about eps / 0.03^2 = 1.3e-4 of the data range, not to 1e-5.
FLOAT32_TOLERANCE = {"losskit.losses.image.ssim_statistics": 3e-4}
FLOAT32_TOLERANCE_OF_LOSS = {"ssim": 3e-4, "ms_ssim": 3e-4}


@pytest.mark.parametrize("name", TORCH_OVERRIDES)
def test_override_agrees_with_its_generic_kernel(name):
    """Values, dtypes and gradients on every call the table makes, in float64 and float32."""
    calls = _override_calls()[name]
    assert calls, f"no sample of the test table runs the torch override of {name}"
    for loss, args, kwargs in calls:
        outs, refs, inputs = _kernel_outputs(name, args, kwargs)
        assert len(outs) == len(refs), loss
        for out, ref in zip(outs, refs, strict=True):
            assert out.dtype == ref.dtype and out.shape == ref.shape, loss
            tol = 1e-10 if out.dtype == torch.float64 else FLOAT32_TOLERANCE.get(name, 1e-5)
            torch.testing.assert_close(
                out, ref, rtol=tol, atol=tol, msg=lambda m, loss=loss: f"{loss}: {m}"
            )
        if not inputs:
            continue
        got = torch.autograd.grad(_cotangent_sum(outs), inputs, allow_unused=True)
        expected = torch.autograd.grad(_cotangent_sum(refs), inputs, allow_unused=True)
        for x, g, e in zip(inputs, got, expected, strict=True):
            g = torch.zeros_like(x) if g is None else g
            e = torch.zeros_like(x) if e is None else e
            tol = 1e-10 if x.dtype == torch.float64 else FLOAT32_TOLERANCE.get(name, 1e-5)
            torch.testing.assert_close(
                g, e, rtol=tol, atol=tol, msg=lambda m, loss=loss: f"{loss}: {m}"
            )


def _benchmark_rows():
    """The calls of the benchmark rows (benchmarks/cases.py) that justify each override,
    on small inputs: (row, call, kernel the row runs, or the list of its calls)."""
    gen = torch.Generator().manual_seed(0)
    pred = torch.randn(64, generator=gen, requires_grad=True)
    target = torch.randn(64, generator=gen)
    binary = torch.rand(64, generator=gen).round()
    logits = torch.randn(16, 10, generator=gen, requires_grad=True)
    labels = torch.randint(0, 10, (16,), generator=gen)
    volume = torch.randn(2, 4, 3, 3, 3, generator=gen, requires_grad=True)
    voxels = torch.randint(0, 4, (2, 3, 3, 3), generator=gen)
    queries = torch.randn(8, 4, generator=gen, requires_grad=True)
    keys = torch.randn(8, 4, generator=gen, requires_grad=True)
    anchor, positive, negative = (
        torch.randn(8, 4, generator=gen, requires_grad=True) for _ in range(3)
    )
    teacher = torch.randn(16, 10, generator=gen)
    regression = "losskit.losses.regression."
    classification = "losskit.losses.classification."
    embedding = "losskit.losses.embedding."
    return [
        ("MSE", lambda: losskit.mse(pred, target), regression + "squared_error"),
        ("MAE", lambda: losskit.mae(pred, target), regression + "absolute_error"),
        ("Huber", lambda: losskit.huber(pred, target, delta=1.0), regression + "huber_error"),
        ("log-cosh", lambda: losskit.log_cosh(pred, target), regression + "log_cosh_error"),
        (
            "BCE with logits",
            lambda: losskit.binary_cross_entropy(pred, binary, from_logits=True),
            classification + "binary_cross_entropy_of_logits",
        ),
        (
            "cross-entropy",
            lambda: losskit.sparse_categorical_cross_entropy(logits, labels, from_logits=True),
            classification + "sparse_cross_entropy",
        ),
        (
            "focal (multi-class)",
            lambda: losskit.sparse_categorical_focal(
                volume, voxels, gamma=2.0, from_logits=True, axis=1
            ),
            classification + "sparse_focal",
        ),
        *(
            (
                f"InfoNCE ({'symmetric' if symmetric else 'one-way'})",
                lambda symmetric=symmetric: losskit.info_nce(queries, keys, symmetric=symmetric),
                embedding + "contrastive_cross_entropy",
            )
            for symmetric in (True, False)
        ),
        (
            "triplet margin",
            lambda: losskit.triplet_margin(anchor, positive, negative),
            # the anchor's distances to the positive and to the negative
            [embedding + "pair_distance"] * 2,
        ),
        (
            "distillation, T=4",
            lambda: losskit.distillation(logits, None, teacher, temperature=4.0),
            "losskit.losses.divergence.softened_kl",
        ),
    ]


def test_each_benchmark_row_runs_its_override():
    """The overrides exist for these rows (issue 13: an override that no benchmark row
    shows faster is deleted); each row's call must reach its override, and the override
    must compute."""
    computed = []
    with _recording_overrides(lambda name, args, kwargs: computed.append(name)):
        for row, call, kernel_names in _benchmark_rows():
            computed.clear()
            call().backward()
            expected = [kernel_names] if isinstance(kernel_names, str) else kernel_names
            assert computed == expected, row


@pytest.mark.parametrize("name", TORCH_OVERRIDES)
def test_override_has_second_derivatives_and_allows_retain_graph(name):
    """create_graph=True gives a differentiable gradient; retain_graph=True a second one."""
    calls = [
        (loss, args, kwargs)
        for loss, args, kwargs in _override_calls()[name]
        if args[0][1].dtype == torch.float64 and args[0][1].numel() > 0 and args[0][2]
    ]
    assert calls, f"no float64 call with a gradient reaches the torch override of {name}"
    impl = kernels.overrides("torch")[name]
    # a few calls per reduction (a kernel without one: None)
    for reduction in (None, "none", "mean", "sum"):
        same = [c for c in calls if c[2].get("reduction") == reduction][:2]
        for loss, args, kwargs in same:
            inputs: list = []
            fixed_args, fixed_kwargs = _restore(args, inputs), _restore(kwargs, inputs)

            def kernel_of(*diff, fixed_args=fixed_args, fixed_kwargs=fixed_kwargs, inputs=inputs):
                swap = {id(x): d for x, d in zip(inputs, diff, strict=True)}
                a = tuple(swap.get(id(v), v) for v in fixed_args)
                k = {key: swap.get(id(v), v) for key, v in fixed_kwargs.items()}
                return impl(*a, **k)

            assert torch.autograd.gradgradcheck(kernel_of, tuple(inputs), atol=1e-5, rtol=1e-4), (
                loss
            )
            outs = kernel_of(*inputs)
            out = sum(o.sum() for o in (outs if isinstance(outs, tuple) else (outs,)))
            first = torch.autograd.grad(out, inputs, retain_graph=True)
            second = torch.autograd.grad(out, inputs)
            for a, b in zip(first, second, strict=True):
                torch.testing.assert_close(a, b)


# ------------------------------------------------------- losses against the generic code


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
    """Under autocast, float16/bfloat16 inputs are computed in float32: by the core's input
    preparation (the families below)."""
    module = losskit.get_loss(case.name).generic.__module__
    if module not in AUTOCAST_FLOAT32_FAMILIES:
        pytest.skip("the loss computes in the inputs' dtype under autocast")
    _assert_agree(
        case, sample, reduction, None, torch.bfloat16, 1e-5, 1e-5, autocast=True, any_loss=True
    )


#: Families whose losses prepare their inputs with losskit.core.inputs, which computes
#: float16/bfloat16 predictions in float32 under autocast, as PyTorch's losses do.
AUTOCAST_FLOAT32_FAMILIES = (
    "losskit.losses.regression",
    "losskit.losses.classification",
    "losskit.losses.divergence",
    "losskit.losses.preference",
    "losskit.losses.sequence",
)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("case, sample", extreme_params())
def test_extremes_agree_with_generic(case, sample, dtype):
    """Huge logits, probabilities 0 and 1, huge errors: the same finite values and gradients."""
    tol = 1e-10 if dtype == torch.float64 else FLOAT32_TOLERANCE_OF_LOSS.get(case.name, 1e-5)
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
    # The public function runs the torch overrides on tensors and the generic kernels on
    # NumPy arrays (which have no overrides).
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

    (Losses read a NaN *target* off the reduced loss; this checks that a NaN loss caused
    by pred is not mistaken for a bad target.)"""
    pred = sample.args[0].copy()
    if pred.size == 0 or pred.dtype.kind != "f":
        pytest.skip("no floating prediction")
    pred.flat[0] = np.nan
    info = losskit.get_loss(case.name)
    args = [_convert(a, torch.float64) for a in (pred, *sample.args[1:])]
    kwargs = {k: _convert(v, torch.float64) for k, v in sample.kwargs.items()}
    for reduction in ("mean", "sum"):
        try:
            expected = _generic(info.generic)(*args, reduction=reduction, **kwargs)
        except losskit.LossInputError as err:  # e.g. a probability check rejects NaN
            with pytest.raises(losskit.LossInputError, match=str(err)[:30]):
                info.fn(*args, reduction=reduction, **kwargs)
            continue
        torch.testing.assert_close(
            info.fn(*args, reduction=reduction, **kwargs), expected, equal_nan=True
        )


# ------------------------------------------------- the fused autograd.Functions

#: losses whose torch override is a fused autograd.Function (analytic backward)
FUSED = ("mae", "log_cosh", "binary_cross_entropy", "sparse_categorical_focal")
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
    generic = _generic(info.generic)(logits, labels, **kwargs)
    (generic_grad,) = torch.autograd.grad(generic, logits)
    torch.testing.assert_close(value, generic, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(fast_grad, generic_grad, rtol=1e-10, atol=1e-12)
