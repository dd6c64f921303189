"""Table entries for the divergences and the distillation loss."""

from __future__ import annotations

import numpy as np
from scipy import special

import losskit

from .classification import _class_extremes, _class_invalid, _class_pred
from .spec import Invalid, LossCase, Peer, Sample, one_hot, reference_reduce, rng_probs

# -------------------------------------------------------------------- references


def _probs(pred, from_logits, axis):
    return special.softmax(pred, axis=axis) if from_logits else pred


def _target_probs(target, log_target):
    return np.exp(target) if log_target else target


def _kl_np(a, b, axis):
    """KL(a || b) summed over ``axis``; rel_entr has 0 log 0 = 0."""
    return np.sum(special.rel_entr(a, b), axis=axis)


def _js_np(y, q, beta, axis):
    if beta == 0:
        return _kl_np(y, q, axis)
    if beta == 1:
        return _kl_np(q, y, axis)
    m = beta * y + (1 - beta) * q
    return beta * _kl_np(y, m, axis) + (1 - beta) * _kl_np(q, m, axis)


def _kl_ref(
    pred,
    target,
    *,
    from_logits=False,
    log_target=False,
    direction="forward",
    axis=-1,
    reduction="mean",
    weights=None,
):
    q, y = _probs(pred, from_logits, axis), _target_probs(target, log_target)
    loss = _kl_np(y, q, axis) if direction == "forward" else _kl_np(q, y, axis)
    return reference_reduce(loss, reduction, weights)


def _js_ref(
    pred,
    target,
    *,
    beta=0.5,
    from_logits=False,
    log_target=False,
    axis=-1,
    reduction="mean",
    weights=None,
):
    q, y = _probs(pred, from_logits, axis), _target_probs(target, log_target)
    return reference_reduce(_js_np(y, q, float(beta), axis), reduction, weights)


def _tv_ref(
    pred, target, *, from_logits=False, log_target=False, axis=-1, reduction="mean", weights=None
):
    q, y = _probs(pred, from_logits, axis), _target_probs(target, log_target)
    return reference_reduce(0.5 * np.sum(np.abs(q - y), axis=axis), reduction, weights)


def _distillation_ref(
    pred,
    target,
    teacher,
    *,
    temperature=1.0,
    beta=0.0,
    ignore_index=None,
    axis=-1,
    reduction="mean",
    weights=None,
):
    t = float(temperature)
    q = special.softmax(pred / t, axis=axis)
    p = special.softmax(teacher / t, axis=axis)
    loss = t**2 * _js_np(p, q, float(beta), axis)
    norm = None
    if ignore_index is not None:
        norm = (target != ignore_index).astype(np.float64)
        loss = loss * norm
    return reference_reduce(loss, reduction, weights, norm)


# ----------------------------------------------------------------------- samples


def _distribution_samples(options):
    """Probabilities and logits, classes last and on axis 1, target as probabilities or
    log-probabilities, each with every value of ``options`` (a list of kwargs)."""

    def samples(rng):
        for from_logits in (False, True):
            for log_target in (False, True):
                for extra in options:
                    target = rng_probs(rng, (5, 4))
                    yield Sample(
                        (
                            _class_pred(rng, (5, 4), from_logits, -1),
                            np.log(target) if log_target else target,
                        ),
                        {"from_logits": from_logits, "log_target": log_target, **extra},
                        desc=f"logits={from_logits} log_target={log_target} {extra}",
                    )
            target = rng_probs(rng, (2, 3, 4), 1)
            yield Sample(
                (_class_pred(rng, (2, 3, 4), from_logits, 1), target),
                {"from_logits": from_logits, "axis": 1, **options[-1]},
                desc=f"axis=1 logits={from_logits} {options[-1]}",
            )

    return samples


_KL_OPTIONS = [{"direction": "forward"}, {"direction": "reverse"}]
_JS_OPTIONS = [{"beta": 0.0}, {"beta": 1.0}, {"beta": 0.3}, {}]


def _kl_samples(rng):
    yield from _distribution_samples(_KL_OPTIONS)(rng)
    # 0 log 0 = 0: a one-hot target, forward (reverse is infinite there)
    target = one_hot(rng.integers(0, 4, 5), 4)
    yield Sample((rng_probs(rng, (5, 4)), target), desc="one-hot target (0 log 0)")
    yield Sample(
        (rng.normal(size=(5, 4)), np.log(np.where(target > 0, 1.0, 1e-300))),
        {"from_logits": True, "log_target": True},
        desc="log-target near -inf",
    )


def _js_samples(rng):
    yield from _distribution_samples(_JS_OPTIONS)(rng)
    target = one_hot(rng.integers(0, 4, 5), 4)
    for beta in (0.5, 0.9):
        yield Sample(
            (rng_probs(rng, (5, 4)), target), {"beta": beta}, desc=f"one-hot target beta={beta}"
        )
    yield Sample(
        (rng.normal(size=(4, 3)) * 2, rng_probs(rng, (4, 3))),
        {"beta": np.asarray(0.25), "from_logits": True},
        desc="beta as a 0-d array",
    )


def _tv_samples(rng):
    yield from _distribution_samples([{}])(rng)
    target = one_hot(rng.integers(0, 4, 5), 4)
    yield Sample((rng_probs(rng, (5, 4)), target), desc="one-hot target")


def _distillation_samples(rng):
    for beta in (0.0, 1.0, 0.5):
        for temperature in (1.0, 4.0):
            yield Sample(
                (rng.normal(size=(6, 5)) * 2, rng.integers(0, 5, 6), rng.normal(size=(6, 5)) * 2),
                {"temperature": temperature, "beta": beta},
                desc=f"T={temperature} beta={beta}",
                grad_args=(0, 2),
            )
    labels = rng.integers(0, 5, (2, 4))
    labels[0, 1] = labels[1, 3] = -100
    yield Sample(
        (rng.normal(size=(2, 4, 5)), labels, rng.normal(size=(2, 4, 5))),
        {"temperature": 2.0, "ignore_index": -100},
        desc="tokens with ignore_index",
        plain_mean=False,
        grad_args=(0, 2),
    )
    labels = rng.integers(0, 5, (3, 2))
    labels[1, 0] = -100
    yield Sample(
        (rng.normal(size=(3, 5, 2)), labels, rng.normal(size=(3, 5, 2))),
        {"axis": 1, "temperature": 3.0, "beta": 0.2, "ignore_index": -100},
        desc="axis=1, ignored tokens, beta=0.2",
        plain_mean=False,
        grad_args=(0, 2),
    )
    yield Sample(
        (rng.normal(size=(4, 5)), rng.integers(0, 5, 4), rng.normal(size=(4, 5))),
        {"temperature": np.asarray(3.0), "beta": np.asarray(0.2)},
        desc="temperature and beta as 0-d arrays",
    )
    every = np.full((2, 3), -100)
    yield Sample(
        (rng.normal(size=(2, 3, 4)), every, rng.normal(size=(2, 3, 4))),
        {"ignore_index": -100},
        desc="every token ignored",
        plain_mean=False,
    )


# ---------------------------------------------------------------------- extremes


def _divergence_extremes():
    for sample in _class_extremes():
        for kwargs in ({}, {"direction": "reverse"}):
            yield Sample(sample.args, {**sample.kwargs, **kwargs}, desc=f"{sample.desc} {kwargs}")
    target = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    yield Sample(
        (np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4]]), np.log(np.maximum(target, 1e-300))),
        {"from_logits": True, "log_target": True, "direction": "reverse"},
        desc="log-target -690, logits ±1e4, reverse",
    )


def _js_extremes():
    for sample in _class_extremes():
        for beta in (0.0, 0.5, 1.0):
            yield Sample(sample.args, {**sample.kwargs, "beta": beta}, desc=f"{sample.desc} {beta}")


def _distillation_extremes():
    student = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4]])
    teacher = np.array([[-1e4, 1e4, 0.0], [0.0, 0.0, 0.0]])
    for beta in (0.0, 0.5, 1.0):
        yield Sample(
            (student, np.array([0, 2]), teacher),
            {"beta": beta, "temperature": 0.5},
            desc=f"logits ±1e4 beta={beta}",
        )


# ----------------------------------------------------------------------- invalid


def _kl_invalid():
    yield from _class_invalid(set())()
    p = rng_probs(np.random.default_rng(0), (3, 4))
    yield Invalid(
        (p, np.full((3, 4), 0.9)),
        {},
        "target must hold distributions",
        "rows sum 3.6",
        value_check=True,
    )
    yield Invalid(
        (p, np.zeros((3, 4))), {}, "every row must sum to 1", "rows sum 0", value_check=True
    )
    yield Invalid(
        (p, p),
        {"log_target": True},
        "target must hold log-probabilities with log_target=True",
        "probabilities as log-probabilities",
        value_check=True,
    )


def _kl_options_invalid():
    p = rng_probs(np.random.default_rng(0), (3, 4))
    yield Invalid((p, p), {"direction": "backward"}, "direction must be one of", "direction")
    yield Invalid((p, p), {"log_target": "yes"}, "log_target must be True or False", "flag")


def _js_invalid():
    yield from _class_invalid(set())()
    p = rng_probs(np.random.default_rng(0), (3, 4))
    yield Invalid((p, p), {"beta": 1.5}, "beta must lie in", "beta > 1")
    yield Invalid((p, p), {"beta": np.ones(2) * 0.5}, "beta must be a number or a 0-d", "beta 1-D")


def _distillation_invalid():
    rng = np.random.default_rng(0)
    s, t, y = rng.normal(size=(3, 4)), rng.normal(size=(3, 4)), np.array([0, 1, 2])
    yield Invalid((s, y, t[:, :3]), {}, "teacher must have shape (3, 4)", "teacher shape")
    yield Invalid((s, y[:2], t), {}, "target must have shape (3,)", "label count")
    yield Invalid((s, y * 1.0, t), {}, "target must", "float labels")
    yield Invalid((s, y, t), {"temperature": 0.0}, "temperature must lie in", "T = 0")
    yield Invalid((s, y, t), {"beta": -0.1}, "beta must lie in", "beta < 0")
    yield Invalid((s, y, t), {"axis": 2}, "axis=2 is out of range", "axis")


# -------------------------------------------------------------------------- peers


def _t(a):
    import torch

    return torch.from_numpy(np.asarray(a))


def _kl_torch(sample: Sample, reduction: str):
    """torch.nn.functional.kl_div(input, target) is KL(target || exp(input)), summed over
    classes here; the reverse direction swaps the two."""
    import torch.nn.functional as F

    pred, target = sample.args
    kw = sample.kwargs
    axis = kw.get("axis", -1)
    log_q = special.log_softmax(pred, axis=axis) if kw.get("from_logits") else np.log(pred)
    log_target = kw.get("log_target", False)
    if kw.get("direction", "forward") == "forward":
        inp, tgt, tgt_is_log = log_q, target, log_target
    else:
        log_y = target if log_target else np.log(target)
        inp, tgt, tgt_is_log = log_y, log_q, True
    pointwise = F.kl_div(_t(inp), _t(tgt), reduction="none", log_target=tgt_is_log).numpy()
    if reduction == "mean" and pred.ndim == 2 and axis in (-1, 1):
        return F.kl_div(_t(inp), _t(tgt), reduction="batchmean", log_target=tgt_is_log).numpy()
    return reference_reduce(pointwise.sum(axis=axis), reduction)


def _js_scipy(sample: Sample, reduction: str):
    """scipy's Jensen-Shannon *distance*, base e, squared: the divergence at beta = 1/2."""
    from scipy.spatial.distance import jensenshannon

    pred, target = sample.args
    kw = sample.kwargs
    if float(kw.get("beta", 0.5)) != 0.5:
        return None
    axis = kw.get("axis", -1)
    q = _probs(pred, kw.get("from_logits", False), axis)
    y = _target_probs(target, kw.get("log_target", False))
    return reference_reduce(jensenshannon(q, y, axis=axis) ** 2, reduction)


def _hinton_torch(sample: Sample, reduction: str):
    """Hinton's distillation term as written with PyTorch: kl_div of the softened
    log-softmaxes times T^2, the kept tokens selected by the labels."""
    import torch
    import torch.nn.functional as F

    pred, labels, teacher = sample.args
    kw = sample.kwargs
    if float(kw.get("beta", 0.0)) != 0.0:
        return None
    t = float(kw.get("temperature", 1.0))
    axis = kw.get("axis", -1)
    log_q = torch.log_softmax(_t(pred) / t, dim=axis)
    log_p = torch.log_softmax(_t(teacher) / t, dim=axis)
    per_token = F.kl_div(log_q, log_p, reduction="none", log_target=True).sum(axis) * t**2
    keep = None
    if kw.get("ignore_index") is not None:
        keep = (labels != kw["ignore_index"]).astype(np.float64)
    return reference_reduce(
        per_token.numpy() * (1 if keep is None else keep), reduction, None, keep
    )


def _perfect_same(sample: Sample) -> Sample:
    """pred equal to the target: every divergence is 0."""
    _pred, target = sample.args
    kw = dict(sample.kwargs)
    y = np.exp(target) if kw.get("log_target") else target
    return Sample((y.copy(), target), {k: v for k, v in kw.items() if k != "from_logits"})


def _perfect_student(sample: Sample) -> Sample:
    _pred, labels, teacher = sample.args
    return Sample((teacher.copy(), labels, teacher), dict(sample.kwargs))


CASES = [
    LossCase(
        "kl_divergence",
        losskit.kl_divergence,
        _kl_ref,
        _kl_samples,
        extremes=_divergence_extremes,
        invalid=lambda: [*_kl_invalid(), *_kl_options_invalid()],
        peers=(Peer("torch.nn.functional.kl_div", "torch", _kl_torch),),
        perfect=_perfect_same,
    ),
    LossCase(
        "jensen_shannon",
        losskit.jensen_shannon,
        _js_ref,
        _js_samples,
        extremes=_js_extremes,
        invalid=_js_invalid,
        peers=(Peer("scipy.spatial.distance.jensenshannon", "scipy", _js_scipy, rtol=1e-9),),
        perfect=_perfect_same,
    ),
    LossCase(
        "total_variation",
        losskit.total_variation,
        _tv_ref,
        _tv_samples,
        extremes=_class_extremes,
        invalid=lambda: _class_invalid(set())(),
        perfect=_perfect_same,
    ),
    LossCase(
        "distillation",
        losskit.distillation,
        _distillation_ref,
        _distillation_samples,
        extremes=_distillation_extremes,
        invalid=_distillation_invalid,
        peers=(Peer("Hinton's distillation with torch kl_div", "torch", _hinton_torch),),
        perfect=_perfect_student,
    ),
]
