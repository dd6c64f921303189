"""The generated ``losskit.torch`` modules: one per loss, agreeing with the functions.

Walks the loss table: every sample through the module and through the function,
the class dimension defaulting to 1, buffers, state, ``repr``, docstrings,
construction-time option checks, ``torch.compile(fullgraph=True)`` and autocast.
"""

from __future__ import annotations

import copy
import inspect
import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import torch.nn.functional as F  # noqa: E402

import losskit  # noqa: E402
import losskit.torch as lt  # noqa: E402
from loss_table import CASES, CASES_BY_NAME, REDUCTIONS, Invalid, LossCase, Sample  # noqa: E402
from loss_table.params import (  # noqa: E402
    case_params,
    invalid_params,
    rng,
    sample_params,
    samples_of,
)
from losskit.core import registry  # noqa: E402
from losskit.core.registry import available, class_name  # noqa: E402

SAMPLES = sample_params()


def _tensor(value, dtype=torch.float64):
    """NumPy arrays and lists of numbers as tensors (floating ones in ``dtype``)."""
    if isinstance(value, list):
        value = np.asarray(value, dtype=np.float64)
    if isinstance(value, np.ndarray):
        return torch.tensor(value, dtype=dtype) if value.dtype.kind == "f" else torch.tensor(value)
    return value


def _module(case: LossCase, sample: Sample, **extra):
    """The module with the sample's options; the class axis and from_logits, whose
    module defaults differ (logits, dim 1), are passed explicitly with the *function's*
    values unless the sample sets them."""
    info = losskit.get_loss(case.name)
    options = {k: _tensor(v) for k, v in sample.kwargs.items()}
    for name in (info.class_axis, "from_logits"):
        if name in info.options and name not in options:
            options[name] = info.options[name]
    return getattr(lt, class_name(case.name))(**options, **extra)


# ------------------------------------------------------------------------- naming


def test_every_registered_loss_has_a_module():
    for name in available():
        cls = getattr(lt, class_name(name))
        assert issubclass(cls, torch.nn.Module)
        assert cls.__name__ == class_name(name) and cls.__module__ == "losskit.torch"
        assert cls.loss_info is losskit.get_loss(name)
    # __all__ is fixed at import: it lists the built-ins; user losses are found by name
    builtins = {n for n in available() if losskit.get_loss(n).builtin}
    assert set(lt.__all__) >= {class_name(n) for n in builtins}


@pytest.mark.parametrize(
    "loss, expected",
    [
        ("mse", "MSE"),
        ("mae", "MAE"),
        ("log_cosh", "LogCosh"),
        ("huber", "Huber"),
        ("sparse_categorical_cross_entropy", "SparseCategoricalCrossEntropy"),
        ("kl_divergence", "KLDivergence"),
        ("gaussian_nll", "GaussianNLL"),
        ("dice", "Dice"),
        ("ctc", "CTC"),
    ],
)
def test_class_names(loss, expected):
    assert getattr(lt, expected) is lt.module_for(loss)


def test_unknown_attribute_raises():
    with pytest.raises(AttributeError, match="NoSuchLoss"):
        lt.NoSuchLoss  # noqa: B018


# ------------------------------------------------------------------- agreement


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case, sample", SAMPLES)
def test_module_agrees_with_function(case, sample, reduction):
    args = [_tensor(a) for a in sample.args]
    kwargs = {k: _tensor(v) for k, v in sample.kwargs.items()}
    weights = torch.tensor(
        rng("w").uniform(0, 2, size=tuple(case.fn(*args, reduction="none", **kwargs).shape))
    )
    module = _module(case, sample, reduction=reduction)
    expected = case.fn(*args, reduction=reduction, **kwargs)
    torch.testing.assert_close(module(*args), expected, rtol=0, atol=0)
    torch.testing.assert_close(
        module(*args, weights=weights),
        case.fn(*args, reduction=reduction, weights=weights, **kwargs),
        rtol=0,
        atol=0,
    )


def _function_axis(case: LossCase, sample: Sample):
    info = losskit.get_loss(case.name)
    return sample.kwargs.get(info.class_axis, info.options[info.class_axis])


def _module_moves_the_class_axis(case: LossCase, sample: Sample) -> bool:
    info = losskit.get_loss(case.name)
    return (
        info.class_axis is not None
        # the overlap losses' modules keep the function's axis=None (binary masks)
        and info.options[info.class_axis] is not None
        and sample.args[0].ndim >= 2
        and _function_axis(case, sample) is not None
    )


CLASS_AXIS_SAMPLES = sample_params(_module_moves_the_class_axis)


@pytest.mark.parametrize("case, sample", CLASS_AXIS_SAMPLES)
def test_class_dimension_defaults_to_1(case, sample):
    """Classes moved to dimension 1 with the module's default equal the function's
    result with the classes where they were."""
    info = losskit.get_loss(case.name)
    axis = _function_axis(case, sample)
    pred, target, *rest = sample.args
    moved_pred = np.moveaxis(pred, axis, 1)
    moved_target = np.moveaxis(target, axis, 1) if target.shape == pred.shape else target
    # further arrays of pred's shape (a teacher's logits) have their classes moved too
    rest = [np.moveaxis(a, axis, 1) if a.shape == pred.shape else a for a in rest]
    options = {k: _tensor(v) for k, v in sample.kwargs.items() if k != info.class_axis}
    if "from_logits" in info.options:  # the module's default is logits, the function's not
        options.setdefault("from_logits", info.options["from_logits"])
    module = getattr(lt, class_name(case.name))(**options, reduction="none")
    assert getattr(module, info.class_axis) == 1
    expected = case.fn(
        *[_tensor(a) for a in sample.args], reduction="none", **{**options, "axis": axis}
    )
    got = module(_tensor(moved_pred), _tensor(moved_target), *[_tensor(a) for a in rest])
    torch.testing.assert_close(got, expected)


# ----------------------------------------------------------------------- buffers


BUFFER_SAMPLES = [
    pytest.param(case, sample, name, id=f"{case.name}-{name}-{sample.desc}")
    for case in CASES
    for sample in samples_of(case)
    for name in losskit.get_loss(case.name).array_options
    if sample.kwargs.get(name) is not None
]


@pytest.mark.parametrize("case, sample, name", BUFFER_SAMPLES)
def test_array_options_are_buffers(case, sample, name):
    module = _module(case, sample)
    assert name in dict(module.named_buffers())
    assert name in module.state_dict()
    buffer = module.state_dict()[name]
    torch.testing.assert_close(buffer, torch.as_tensor(sample.kwargs[name], dtype=buffer.dtype))
    assert module.to(torch.float32).state_dict()[name].dtype == torch.float32
    assert module.to(torch.float64).state_dict()[name].dtype == torch.float64
    assert getattr(module.to("meta"), name).device.type == "meta"


def test_buffers_from_numbers_take_the_default_dtype():
    module = lt.SparseCategoricalCrossEntropy(class_weights=[1.0, 2.0])
    assert module.class_weights.dtype == torch.get_default_dtype()
    assert lt.BinaryCrossEntropy(pos_weight=3.0).pos_weight.shape == ()
    assert "pos_weight" not in lt.BinaryCrossEntropy().state_dict()


@pytest.mark.parametrize("case, sample, name", BUFFER_SAMPLES)
def test_state_dict_round_trip(case, sample, name):
    module = _module(case, sample)
    fresh = _module(case, Sample(sample.args, {**sample.kwargs, name: None}))
    fresh.register_buffer(name, torch.zeros_like(getattr(module, name)))
    fresh.load_state_dict(module.state_dict())
    args = [_tensor(a) for a in sample.args]
    torch.testing.assert_close(fresh(*args), module(*args))


@pytest.mark.parametrize("case, sample", SAMPLES[::3])
def test_forward_does_not_mutate_the_module(case, sample):
    module = _module(case, sample)
    state = copy.deepcopy(module.state_dict())
    attributes = dict(vars(module))
    module(*[_tensor(a) for a in sample.args])
    after = module.state_dict()
    assert state.keys() == after.keys()
    for key in state:
        torch.testing.assert_close(after[key], state[key], rtol=0, atol=0)
    assert {k: v for k, v in vars(module).items() if k != "_buffers"} == {
        k: v for k, v in attributes.items() if k != "_buffers"
    }


# -------------------------------------------------------------- repr and docs


@pytest.mark.parametrize("name", available())
def test_repr_shows_every_option(name):
    module = getattr(lt, class_name(name))(reduction="sum")
    text = repr(module)
    assert text.startswith(f"{class_name(name)}(")
    for option in losskit.get_loss(name).options:
        assert f"{option}=" in text
    assert "reduction='sum'" in text


def test_repr_shows_option_values():
    assert repr(lt.Huber(delta=2.5)) == "Huber(delta=2.5, reduction='mean')"
    text = repr(lt.SparseCategoricalCrossEntropy(class_weights=[1.0, 2.0], ignore_index=-1))
    assert "class_weights=[1.0, 2.0]" in text and "ignore_index=-1" in text and "axis=1" in text
    assert "shape=[100]" in repr(lt.SparseCategoricalCrossEntropy(class_weights=torch.ones(100)))


@pytest.mark.parametrize("name", available())
def test_docstring_comes_from_the_function(name):
    info = losskit.get_loss(name)
    doc = getattr(lt, class_name(name)).__doc__
    assert info.fn.__doc__ and info.fn.__doc__ in doc
    assert info.summary in doc
    defaults = doc.split("Defaults as in ``torch.nn``: ", 1)[-1].split(" here", 1)[0]
    if info.class_axis and info.options[info.class_axis] is not None:
        assert f"``{info.class_axis}=1``" in defaults
    if "from_logits" in info.options and not info.options["from_logits"]:
        assert "``from_logits=True``" in defaults


@pytest.mark.parametrize("name", available())
def test_signature_lists_the_options(name):
    info = losskit.get_loss(name)
    parameters = inspect.signature(getattr(lt, class_name(name))).parameters
    assert list(parameters) == [*info.options, "reduction"]
    # the rule: logits, and classes on dim 1 where the function has a class axis
    if info.class_axis:
        function_axis = info.options[info.class_axis]
        assert parameters[info.class_axis].default == (None if function_axis is None else 1)
    if "from_logits" in info.options:
        assert parameters["from_logits"].default is True


# --------------------------------------------------------- construction checks


def _is_option_error(case: LossCase, bad: Invalid) -> bool:
    """A range, type or choice check of one scalar option, which never depends on the inputs."""
    if len(bad.kwargs) != 1:
        return False
    (key,) = bad.kwargs
    return key not in losskit.get_loss(case.name).array_options and bad.match.startswith(
        (f"{key} must lie in", f"{key} must be an int", f"{key} must be one of")
    )


OPTION_ERRORS = invalid_params(_is_option_error)


def test_option_errors_are_collected():
    assert len(OPTION_ERRORS) >= 10


@pytest.mark.parametrize("case, bad", OPTION_ERRORS)
def test_invalid_options_raise_when_the_module_is_built(case, bad):
    """The function's message, raised by the constructor rather than the first forward."""
    with pytest.raises(losskit.LossInputError) as from_function:
        case.fn(*bad.args, **bad.kwargs)
    with pytest.raises(losskit.LossInputError) as from_module:
        getattr(lt, class_name(case.name))(**bad.kwargs)
    assert str(from_module.value) == str(from_function.value)


def test_unknown_option_raises():
    with pytest.raises(losskit.LossInputError, match=r"unknown option\(s\) \['detla'\]"):
        lt.Huber(detla=1.0)


def test_forward_checks_the_number_of_arrays():
    with pytest.raises(losskit.LossInputError, match="takes input, target, var; got 2 arrays"):
        lt.GaussianNLL()(torch.zeros(3), torch.zeros(3))
    with pytest.raises(losskit.LossInputError, match=r"takes input, target; got 1 array$"):
        lt.MSE()(torch.zeros(3))


# ------------------------------------------------------------ user-defined losses


@pytest.fixture
def user_loss():
    from losskit.core.options import array_option, real
    from losskit.core.registry import register_loss

    @register_loss(
        tasks="custom",
        summary="Absolute error raised to a power.",
        formula=r"\ell = |e|^p",
        builtin=False,
        options=(
            real("power", "the exponent", 0.0, closed="neither"),
            array_option("scale", "multiplies the loss"),
        ),
    )
    def power_error_for_tests(
        pred, target, *, power=2.0, scale=None, reduction="mean", weights=None
    ):
        """Absolute error to a power, scaled."""
        loss = (pred - target).abs() ** power
        if scale is not None:
            loss = scale * loss
        return loss.mean() if reduction == "mean" else loss.sum() if reduction == "sum" else loss

    yield power_error_for_tests
    del registry._REGISTRY["power_error_for_tests"]


def test_user_defined_losses_get_a_module(user_loss):
    cls = lt.PowerErrorForTests
    assert "Absolute error to a power" in cls.__doc__
    module = cls(power=3.0, scale=[1.0, 2.0])
    assert "scale" in module.state_dict()
    pred, target = torch.tensor([1.0, 2.0]), torch.tensor([0.0, 0.0])
    torch.testing.assert_close(
        module(pred, target), user_loss(pred, target, power=3.0, scale=module.scale)
    )
    with pytest.raises(losskit.LossInputError, match="power must lie in"):
        cls(power=0.0)


def test_modules_pickle():
    module = lt.SparseCategoricalCrossEntropy(class_weights=[1.0, 2.0, 3.0], from_logits=True)
    restored = pickle.loads(pickle.dumps(module))
    assert type(restored) is type(module)
    torch.testing.assert_close(restored.class_weights, module.class_weights)


# ------------------------------------------------------------------ torch.compile


def _compile_sample(case: LossCase) -> Sample:
    """A sample with options set (logits where there is a choice), not empty."""
    samples = [s for s in samples_of(case) if s.args[0].size > 0]
    with_logits = [s for s in samples if s.kwargs.get("from_logits")]
    return max(with_logits or samples, key=lambda s: len(s.kwargs))


def _compiled_agrees(case: LossCase, backend: str) -> None:
    sample = _compile_sample(case)
    module = _module(case, sample)
    compiled = torch.compile(module, fullgraph=True, backend=backend)
    results = []
    for fn in (module, compiled):
        args = [_tensor(a, torch.float32) for a in sample.args]
        for i in sample.grad_args:
            args[i].requires_grad_()
        out = fn(*args)
        grads = torch.autograd.grad(out, [args[i] for i in sample.grad_args])
        results.append((out, grads))
    (eager, eager_grads), (got, got_grads) = results
    torch.testing.assert_close(got, eager, rtol=1e-5, atol=1e-6)
    for g, e in zip(got_grads, eager_grads, strict=True):
        torch.testing.assert_close(g, e, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case", case_params())
def test_torch_compile_fullgraph(case):
    """Every module compiles as one graph (no break from validation), forward and backward."""
    torch._dynamo.reset()
    _compiled_agrees(case, "aot_eager")


@pytest.mark.parametrize(
    ("module", "option", "values"),
    [
        (lt.Huber, "delta", (0.5, 1.5, 2.5)),
        (lambda **o: lt.BinaryCrossEntropy(from_logits=True, **o), "label_smoothing", (0.0, 0.1)),
    ],
    ids=["Huber", "BinaryCrossEntropy"],
)
def test_torch_compile_fullgraph_with_several_option_values(module, option, values):
    """A float option taking a second value makes dynamo pass it as a symbolic float: the
    option checks must trace it too (math.isnan could not)."""
    torch._dynamo.reset()
    gen = torch.Generator().manual_seed(0)
    pred, target = torch.randn(5, 3, generator=gen), torch.rand(5, 3, generator=gen)
    for value in values:
        criterion = module(**{option: value})
        compiled = torch.compile(criterion, fullgraph=True, backend="aot_eager")
        torch.testing.assert_close(compiled(pred, target), criterion(pred, target))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["mse", "log_cosh", "sparse_categorical_focal"])
def test_torch_compile_inductor(name):
    """The default backend (inductor, generating C++) on a PyTorch kernel and two fused losses."""
    torch._dynamo.reset()
    _compiled_agrees(CASES_BY_NAME[name], "inductor")


# ----------------------------------------------------------------------- autocast


def _bf16(*shape, low=-3.0, high=3.0, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return (torch.rand(*shape, generator=gen) * (high - low) + low).to(torch.bfloat16)


AUTOCAST = {
    "MSE": (lambda: lt.MSE(), F.mse_loss, "regression"),
    "MAE": (lambda: lt.MAE(), F.l1_loss, "regression"),
    "Huber": (
        lambda: lt.Huber(delta=0.5),
        lambda x, y: F.huber_loss(x, y, delta=0.5),
        "regression",
    ),
    "SmoothL1": (
        lambda: lt.SmoothL1(beta=0.5),
        lambda x, y: F.smooth_l1_loss(x, y, beta=0.5),
        "regression",
    ),
    "PoissonNLL": (lambda: lt.PoissonNLL(), F.poisson_nll_loss, "counts"),
    "BCEWithLogits": (
        lambda: lt.BinaryCrossEntropy(from_logits=True),
        F.binary_cross_entropy_with_logits,
        "binary",
    ),
    "SparseCE": (
        lambda: lt.SparseCategoricalCrossEntropy(from_logits=True, label_smoothing=0.1),
        lambda x, y: F.cross_entropy(x, y, label_smoothing=0.1),
        "labels",
    ),
    "CategoricalCE": (
        lambda: lt.CategoricalCrossEntropy(from_logits=True),
        F.cross_entropy,
        "soft",
    ),
    "KL": (
        lambda: lt.KLDivergence(from_logits=True),
        lambda x, y: F.kl_div(F.log_softmax(x, 1), y, reduction="batchmean"),
        "soft",
    ),
}


def _autocast_inputs(kind: str):
    if kind == "regression":
        return _bf16(16, 5), _bf16(16, 5, seed=1)
    if kind == "counts":
        return _bf16(16, 5), torch.randint(0, 5, (16, 5)).to(torch.bfloat16)
    if kind == "binary":
        return _bf16(16, 5), _bf16(16, 5, low=0.0, high=1.0, seed=1)
    if kind == "labels":
        return _bf16(16, 5), torch.randint(0, 5, (16,))
    soft = torch.softmax(_bf16(16, 5, seed=1).float(), 1).to(torch.bfloat16)
    return _bf16(16, 5), soft


@pytest.mark.parametrize("name", list(AUTOCAST))
def test_autocast_matches_pytorch(name):
    """Under autocast the modules compute in float32, like the PyTorch loss they mirror."""
    make, peer, kind = AUTOCAST[name]
    x, y = _autocast_inputs(kind)
    x.requires_grad_()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        ours = make()(x, y)
        theirs = peer(x, y)
    assert ours.dtype == theirs.dtype == torch.float32
    # autocast hands float32 copies of the inputs to PyTorch's loss kernels
    as_float32 = [t.float() if t.is_floating_point() else t for t in (x, y)]
    torch.testing.assert_close(ours, peer(*as_float32), rtol=1e-5, atol=1e-6)
    (grad,) = torch.autograd.grad(ours, x)
    assert grad.dtype == torch.bfloat16


#: Dense-detection losses have no PyTorch peer; under autocast they must match their own
#: float32 computation (a cross-entropy on autocast's float32 list, as PyTorch's are).
DETECTION_AUTOCAST = {
    "varifocal": (lambda: losskit.varifocal, "binary"),
    "quality_focal": (lambda: losskit.quality_focal, "binary"),
    "distribution_focal": (lambda: losskit.distribution_focal, "edges"),
}


@pytest.mark.parametrize("name", list(DETECTION_AUTOCAST))
def test_dense_detection_losses_compute_in_float32_under_autocast(name):
    make, kind = DETECTION_AUTOCAST[name]
    fn = make()
    if kind == "binary":
        x, y = _bf16(16, 5), _bf16(16, 5, low=0.0, high=1.0, seed=1)
        kwargs = {"from_logits": True}
    else:  # 8 bins (n = 7), targets in [0, 7]
        x, y = _bf16(16, 4, 8), _bf16(16, 4, low=0.0, high=7.0, seed=1)
        kwargs = {}
    x.requires_grad_()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        ours = fn(x, y, **kwargs)
    assert ours.dtype == torch.float32
    torch.testing.assert_close(ours, fn(x.float(), y.float(), **kwargs), rtol=1e-6, atol=1e-7)
    (grad,) = torch.autograd.grad(ours, x)
    assert grad.dtype == torch.bfloat16
