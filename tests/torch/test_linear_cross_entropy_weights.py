"""linear_cross_entropy's per-token weights, and agreement with PyTorch's own
F.linear_cross_entropy (its chunked path, LinearCrossEntropyOptions)."""

from __future__ import annotations

import warnings

import pytest

torch = pytest.importorskip("torch")

import torch.nn.functional as F  # noqa: E402

from losskit.errors import LossInputError  # noqa: E402
from losskit.torch.linear_cross_entropy import (  # noqa: E402
    LinearCrossEntropy,
    linear_cross_entropy,
)

TOKENS, WIDTH, VOCAB = 23, 10, 31
IGNORE = -100


def make_inputs(*, dtype=torch.float64, shape=(TOKENS,), seed=0):
    gen = torch.Generator().manual_seed(seed)
    hidden = torch.randn(*shape, WIDTH, generator=gen, dtype=dtype).requires_grad_()
    weight = torch.randn(VOCAB, WIDTH, generator=gen, dtype=dtype).requires_grad_()
    bias = torch.randn(VOCAB, generator=gen, dtype=dtype).requires_grad_()
    target = torch.randint(0, VOCAB, shape, generator=gen)
    target.view(-1)[::5] = IGNORE
    # weights in [0, 2), with some exact zeros, some on ignored tokens too
    weights = 2 * torch.rand(shape, generator=gen, dtype=dtype)
    weights.view(-1)[1::4] = 0.0
    return hidden, weight, bias, target, weights


def unfused(hidden, weight, bias, target, weights, *, reduction, z_loss=0.0, softcap=None):
    """Full logits, F.cross_entropy per token, PaLM's z-loss, then losskit's weighted
    reduction: sum(w l) / sum(w) over the tokens that are not ignored."""
    logits = F.linear(hidden, weight, bias).flatten(0, -2)
    if softcap is not None:
        logits = softcap * torch.tanh(logits / softcap)
    y = target.flatten()
    keep = y != IGNORE
    loss = F.cross_entropy(logits, y, reduction="none")
    loss = loss + z_loss * torch.logsumexp(logits, dim=1).square()
    w = weights.flatten() * keep
    loss = torch.where(w == 0, 0.0, loss) * w
    if reduction == "none":
        return loss.reshape(target.shape)
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / w.sum()


def random_grads(out, inputs, seed=1):
    gen = torch.Generator().manual_seed(seed)
    grad_output = torch.randn(out.shape, generator=gen, dtype=torch.float64).to(out.dtype)
    return torch.autograd.grad(out, inputs, grad_output)


OPTIONS = [{}, {"z_loss": 1e-2}, {"softcap": 3.0}, {"z_loss": 1e-3, "softcap": 5.0}]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: ",".join(o) or "plain")
def test_weights_match_unfused_float64(reduction, options):
    hidden, weight, bias, target, weights = make_inputs()
    inputs = [hidden, weight, bias]
    out = linear_cross_entropy(
        hidden,
        weight,
        target,
        bias=bias,
        weights=weights,
        reduction=reduction,
        chunk_size=4,
        **options,
    )
    ref = unfused(hidden, weight, bias, target, weights, reduction=reduction, **options)
    assert out.dtype == torch.float64 and out.shape == ref.shape
    torch.testing.assert_close(out, ref, rtol=1e-12, atol=1e-12)
    for got, want in zip(random_grads(out, inputs), random_grads(ref, inputs), strict=True):
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_weights_gradients_against_finite_differences(reduction):
    """gradcheck's test, by hand: "mean" and "sum" run backward once per forward, which
    gradcheck's re-entrance check does not allow.  Directional derivatives along random
    directions, central differences in float64, against the analytic gradients."""
    hidden, weight, bias, target, weights = make_inputs(shape=(7,))
    gen = torch.Generator().manual_seed(2)
    grad_output = torch.randn(target.shape if reduction == "none" else (), generator=gen)
    grad_output = grad_output.double()

    def fn(h, w, b):
        out = linear_cross_entropy(
            h,
            w,
            target,
            bias=b,
            weights=weights,
            reduction=reduction,
            z_loss=0.05,
            softcap=2.0,
            chunk_size=3,
        )
        return (out * grad_output).sum()

    inputs = (hidden, weight, bias)
    analytic = torch.autograd.grad(fn(*inputs), inputs)
    eps = 1e-6
    for _ in range(3):
        directions = [torch.randn(x.shape, generator=gen, dtype=x.dtype) for x in inputs]
        with torch.no_grad():
            up = fn(*(x + eps * d for x, d in zip(inputs, directions, strict=True)))
            down = fn(*(x - eps * d for x, d in zip(inputs, directions, strict=True)))
        numeric = (up - down) / (2 * eps)
        expected = sum((g * d).sum() for g, d in zip(analytic, directions, strict=True))
        torch.testing.assert_close(numeric, expected, rtol=1e-6, atol=1e-8)


def test_weights_with_leading_axes_and_float32():
    hidden, weight, bias, target, weights = make_inputs(dtype=torch.float32, shape=(3, 6))
    out = linear_cross_entropy(hidden, weight, target, bias=bias, weights=weights)
    ref = unfused(hidden, weight, bias, target, weights, reduction="mean")
    torch.testing.assert_close(out, ref)
    for got, want in zip(
        random_grads(out, [hidden, weight, bias]),
        random_grads(ref, [hidden, weight, bias]),
        strict=True,
    ):
        torch.testing.assert_close(got, want)


def test_unit_weights_are_no_weights():
    hidden, weight, bias, target, _ = make_inputs()
    for reduction in ("mean", "sum", "none"):
        plain = linear_cross_entropy(hidden, weight, target, bias=bias, reduction=reduction)
        ones = torch.ones(target.shape, dtype=hidden.dtype)
        weighted = linear_cross_entropy(
            hidden, weight, target, bias=bias, weights=ones, reduction=reduction
        )
        torch.testing.assert_close(weighted, plain, rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_weight_zero_drops_a_token_whose_loss_is_not_finite(reduction):
    hidden, weight, bias, target, weights = make_inputs()
    with torch.no_grad():
        hidden[3] = torch.inf  # its logits are +-inf or NaN: its loss is not finite
    weights[3] = 0.0
    out = linear_cross_entropy(
        hidden, weight, target, bias=bias, weights=weights, reduction=reduction
    )
    assert torch.isfinite(out).all()
    clean = hidden.detach().clone()
    clean[3] = 0.0
    ref = unfused(clean, weight, bias, target, weights, reduction=reduction)
    torch.testing.assert_close(out, ref)
    g_hidden, g_weight = random_grads(out, [hidden, weight])
    assert torch.isfinite(g_weight).all() and torch.isfinite(g_hidden).all()
    assert torch.equal(g_hidden[3], torch.zeros(WIDTH, dtype=hidden.dtype))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_every_weight_zero_is_zero_with_zero_gradients(reduction):
    hidden, weight, bias, target, weights = make_inputs()
    out = linear_cross_entropy(
        hidden,
        weight,
        target,
        bias=bias,
        weights=torch.zeros_like(weights),
        reduction=reduction,
        z_loss=0.1,
    )
    assert torch.equal(out, torch.zeros_like(out))
    for g in random_grads(out, [hidden, weight, bias]):
        assert torch.equal(g, torch.zeros_like(g))


def test_module_passes_weights():
    hidden, weight, bias, target, weights = make_inputs()
    module = LinearCrossEntropy(z_loss=1e-3, reduction="sum")
    torch.testing.assert_close(
        module(hidden, weight, target, bias, weights),
        unfused(hidden, weight, bias, target, weights, reduction="sum", z_loss=1e-3),
    )


BAD_WEIGHTS = [
    (lambda w: w.tolist(), "weights must be a torch.Tensor"),
    (lambda w: w.long(), "weights must be a floating torch.Tensor"),
    (lambda w: w[:-1], r"weights must have target's shape \(23,\)"),
    (lambda w: w[:, None], r"weights must have target's shape \(23,\)"),
    (lambda w: w - 1.0, "weights must be finite and non-negative"),
    (lambda w: w.index_fill(0, torch.tensor([2]), torch.inf), "weights must be finite"),
    (lambda w: w.index_fill(0, torch.tensor([2]), torch.nan), "weights must be finite"),
    (lambda w: w.clone().requires_grad_(), "weights must not require grad"),
]


@pytest.mark.parametrize(("change", "message"), BAD_WEIGHTS, ids=[m for _, m in BAD_WEIGHTS])
def test_bad_weights_name_the_argument(change, message):
    hidden, weight, bias, target, weights = make_inputs()
    with pytest.raises(LossInputError, match=message):
        linear_cross_entropy(hidden, weight, target, bias=bias, weights=change(weights))


# --- PyTorch's own chunked linear cross-entropy --------------------------------------

torch_has_lce = hasattr(F, "linear_cross_entropy") and hasattr(
    torch.nn, "LinearCrossEntropyOptions"
)


@pytest.mark.skipif(not torch_has_lce, reason="torch has no F.linear_cross_entropy")
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("with_bias", [False, True], ids=["no-bias", "bias"])
def test_agrees_with_torch_linear_cross_entropy_float64(reduction, with_bias):
    hidden, weight, bias, target, _ = make_inputs()
    bias = bias if with_bias else None
    inputs = [t for t in (hidden, weight, bias) if t is not None]
    ours = linear_cross_entropy(
        hidden, weight, target, bias=bias, ignore_index=IGNORE, reduction=reduction, chunk_size=4
    )
    options = torch.nn.LinearCrossEntropyOptions(batch_chunk_size=4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # its chunked path, not a fallback to the unfused one
        theirs = F.linear_cross_entropy(
            hidden,
            weight,
            target,
            linear_bias=bias,
            ignore_index=IGNORE,
            reduction=reduction,
            options=options,
        )
    torch.testing.assert_close(ours, theirs, rtol=1e-12, atol=1e-12)
    for got, want in zip(random_grads(ours, inputs), random_grads(theirs, inputs), strict=True):
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12)
