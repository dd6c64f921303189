"""What the table cannot say about the divergences and distillation: the ends of beta,
the T^2 factor, zero probabilities in log space, and mixing with the hard labels."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
from scipy import special

import losskit

RNG = np.random.default_rng(16)
LOGITS = RNG.normal(size=(6, 5)) * 2
TARGET = RNG.dirichlet(np.ones(5), 6)


@pytest.mark.parametrize("as_array", [False, True], ids=["number", "0-d array"])
def test_the_ends_of_beta_are_the_two_kls(as_array):
    def beta(b):
        return np.asarray(b) if as_array else b

    forward = losskit.kl_divergence(LOGITS, TARGET, from_logits=True, reduction="none")
    reverse = losskit.kl_divergence(
        LOGITS, TARGET, from_logits=True, direction="reverse", reduction="none"
    )
    js = functools.partial(losskit.jensen_shannon, LOGITS, TARGET, from_logits=True)
    np.testing.assert_allclose(js(beta=beta(0.0), reduction="none"), forward, rtol=1e-12)
    np.testing.assert_allclose(js(beta=beta(1.0), reduction="none"), reverse, rtol=1e-12)
    assert not np.allclose(forward, reverse)
    # the mixture tends to 0 at the ends, as beta KL: the documented jump
    small = js(beta=beta(1e-6), reduction="none")
    np.testing.assert_allclose(small, 1e-6 * forward, rtol=1e-3)


def test_jensen_shannon_is_symmetric_and_bounded_at_one_half():
    p = special.softmax(LOGITS, axis=-1)
    a = losskit.jensen_shannon(p, TARGET, reduction="none")
    np.testing.assert_allclose(a, losskit.jensen_shannon(TARGET, p, reduction="none"), rtol=1e-12)
    disjoint = losskit.jensen_shannon(np.eye(3), np.roll(np.eye(3), 1, axis=0), reduction="none")
    np.testing.assert_allclose(disjoint, math.log(2.0), rtol=1e-12)
    assert np.all(a < math.log(2.0))


def test_log_targets_with_exact_zeros_match_probability_targets():
    target = np.array([[0.0, 0.25, 0.75], [1.0, 0.0, 0.0]])
    with np.errstate(divide="ignore"):
        log_target = np.log(target)  # -inf where the target is 0
    logits = np.array([[0.5, -1.0, 2.0], [3.0, 0.0, -2.0]])
    for loss in (losskit.kl_divergence, losskit.jensen_shannon, losskit.total_variation):
        by_probs = loss(logits, target, from_logits=True, reduction="none")
        by_logs = loss(logits, log_target, from_logits=True, log_target=True, reduction="none")
        assert np.all(np.isfinite(by_logs))
        np.testing.assert_allclose(by_logs, by_probs, rtol=1e-12, atol=1e-15)


def test_distillation_keeps_its_gradient_size_across_temperatures():
    """Hinton et al.: the gradient of the softened KL shrinks as 1/T^2 for large T; the
    T^2 factor makes it tend to (z - v) / C, the same at every large temperature."""
    torch = pytest.importorskip("torch")
    student = torch.tensor(RNG.normal(size=(4, 10)))
    teacher = torch.tensor(RNG.normal(size=(4, 10)))
    student, teacher = (
        student - student.mean(1, keepdim=True),
        teacher - teacher.mean(1, keepdim=True),
    )
    grads = []
    for temperature in (50.0, 100.0):
        s = student.clone().requires_grad_()
        losskit.distillation(s, None, teacher, temperature=temperature, reduction="sum").backward()
        grads.append(s.grad)
    limit = (student - teacher) / 10
    for g in grads:
        torch.testing.assert_close(g, limit, rtol=0.1, atol=2e-3)
    # without the factor the two gradients would differ by a factor of 4
    assert float(grads[0].norm() / grads[1].norm()) == pytest.approx(1.0, rel=0.05)


@pytest.mark.parametrize("beta", [0.0, 0.5, 1.0])
def test_distillation_with_a_masked_vocabulary_has_finite_gradients(beta):
    """A teacher logit of -inf (a forbidden token) is a probability of exactly 0."""
    torch = pytest.importorskip("torch")
    teacher = torch.tensor(RNG.normal(size=(3, 6)))
    teacher[:, 0] = -math.inf
    student = torch.tensor(RNG.normal(size=(3, 6)), requires_grad=True)
    teacher.requires_grad_()
    loss = losskit.distillation(
        student, torch.tensor([1, 2, 3]), teacher, beta=beta, temperature=2.0
    )
    loss.backward()
    assert torch.isfinite(loss)
    assert torch.all(torch.isfinite(student.grad)) and torch.all(torch.isfinite(teacher.grad))


def test_distillation_leaves_out_ignored_tokens():
    labels = np.array([3, -100, 0, -100, 1, 2])
    kept = labels != -100
    full = losskit.distillation(LOGITS, labels, TARGET, reduction="none", ignore_index=-100)
    assert np.all(full[~kept] == 0)
    mean = losskit.distillation(LOGITS, labels, TARGET, ignore_index=-100)
    assert mean == pytest.approx(
        float(losskit.distillation(LOGITS[kept], labels[kept], TARGET[kept])), rel=1e-12
    )
    with pytest.raises(losskit.LossInputError, match="target must hold the labels"):
        losskit.distillation(LOGITS, None, TARGET, ignore_index=-100)


def test_a_composite_mixes_distillation_with_the_hard_labels():
    labels = np.array([3, -100, 0, 4, 1, 2])
    teacher = RNG.normal(size=LOGITS.shape)
    kd = losskit.combine(
        {
            functools.partial(losskit.distillation, temperature=4.0): 0.9,
            "sparse_categorical_cross_entropy": 0.1,
        },
        from_logits=True,
        ignore_index=-100,
    )
    assert kd.arrays == ("pred", "target", "teacher")
    total, parts = kd.evaluate(LOGITS, labels, teacher)
    soft = losskit.distillation(LOGITS, labels, teacher, temperature=4.0, ignore_index=-100)
    hard = losskit.sparse_categorical_cross_entropy(
        LOGITS, labels, from_logits=True, ignore_index=-100
    )
    assert parts == {
        "distillation": pytest.approx(float(soft), rel=1e-15),
        "sparse_categorical_cross_entropy": pytest.approx(float(hard), rel=1e-15),
    }
    assert total == pytest.approx(0.9 * float(soft) + 0.1 * float(hard), rel=1e-15)
    # a part must take the first of the composite's arrays, in order
    with pytest.raises(losskit.LossInputError, match="or the first of them"):
        losskit.combine("distillation", "gaussian_nll")


def test_the_module_takes_no_labels_or_labels():
    torch = pytest.importorskip("torch")
    import losskit.torch as lt

    student, teacher = torch.tensor(LOGITS), torch.tensor(RNG.normal(size=LOGITS.shape))
    module = lt.Distillation(temperature=2.0, axis=-1)
    expected = losskit.distillation(student, None, teacher, temperature=2.0)
    torch.testing.assert_close(module(student, None, teacher), expected)
    labels = torch.tensor([0, 1, -100, 3, 4, -100])
    torch.testing.assert_close(
        lt.Distillation(temperature=2.0, ignore_index=-100)(student, labels, teacher),
        losskit.distillation(student, labels, teacher, temperature=2.0, ignore_index=-100),
    )


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_the_torch_softened_kl_kernel_matches_the_generic_one(dtype):
    """Hinton's divergence through PyTorch's fused kernels: the same values and gradients
    (student and teacher), with classes masked out of the teacher, of both, and of the
    student only (an infinite loss there, as the generic kernel gives)."""
    torch = pytest.importorskip("torch")
    import array_api_compat

    from losskit.core.kernels import overrides
    from losskit.losses.divergence import softened_kl

    assert softened_kl.kernel_name in overrides("torch")
    xp = array_api_compat.array_namespace(torch.zeros(1))
    gen = torch.Generator().manual_seed(3)
    student = torch.randn(5, 7, generator=gen, dtype=getattr(torch, dtype)) * 3
    teacher = torch.randn(5, 7, generator=gen, dtype=getattr(torch, dtype)) * 3
    teacher[0, 2] = -math.inf  # the teacher forbids a class
    teacher[1, 4] = student[1, 4] = -math.inf  # both do
    tol = {"rtol": 1e-12, "atol": 1e-12} if dtype == "float64" else {"rtol": 1e-5, "atol": 1e-6}
    for temperature in (1.0, 3.0, torch.tensor(2.0, dtype=student.dtype)):
        results = []
        for fn in (softened_kl, softened_kl.generic):
            s, t = student.clone().requires_grad_(), teacher.clone().requires_grad_()
            out = fn(s, t, temperature, -1, xp=xp)
            results.append((out, *torch.autograd.grad(out.sum(), (s, t))))
        for got, want in zip(*results, strict=True):
            assert torch.all(torch.isfinite(got))
            torch.testing.assert_close(got, want, **tol)
    student[2, 0] = -math.inf  # the student forbids a class the teacher does not
    out = softened_kl(student, teacher, 1.0, -1, xp=xp)
    assert math.isinf(float(out[2])) and torch.all(torch.isfinite(out[[0, 1, 3, 4]]))
