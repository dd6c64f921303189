"""linear_cross_entropy against the unfused computation, F.cross_entropy(h @ W.T + b, y)."""

from __future__ import annotations

import itertools
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

torch = pytest.importorskip("torch")

import torch.nn.functional as F  # noqa: E402
from torch.utils._python_dispatch import TorchDispatchMode  # noqa: E402

from losskit.errors import LossInputError  # noqa: E402
from losskit.torch.distributed import vocab_parallel_cross_entropy  # noqa: E402
from losskit.torch.fast.logit_blocks import VocabularySlice, cross_entropy_block  # noqa: E402
from losskit.torch.linear_cross_entropy import (  # noqa: E402
    LinearCrossEntropy,
    linear_cross_entropy,
)

TOKENS, WIDTH, VOCAB = 29, 12, 37
IGNORE = -100


def make_inputs(
    *,
    dtype: torch.dtype = torch.float32,
    shape: tuple[int, ...] = (TOKENS,),
    bias: bool = False,
    ignore_every: int = 0,
    scale: float = 1.0,
    seed: int = 0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    hidden = (scale * torch.randn(*shape, WIDTH, generator=gen)).to(dtype).requires_grad_()
    weight = torch.randn(VOCAB, WIDTH, generator=gen).to(dtype).requires_grad_()
    b = torch.randn(VOCAB, generator=gen).to(dtype).requires_grad_() if bias else None
    target = torch.randint(0, VOCAB, shape, generator=gen)
    if ignore_every:
        target.view(-1)[::ignore_every] = IGNORE
    return hidden, weight, b, target


def reference(
    hidden: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    target: torch.Tensor,
    *,
    label_smoothing: float = 0.0,
    z_loss: float = 0.0,
    softcap: float | None = None,
    reduction: str = "mean",
) -> torch.Tensor:
    """The unfused computation: full logits, F.cross_entropy, PaLM's z-loss."""
    logits = F.linear(hidden, weight, bias).flatten(0, -2)
    if softcap is not None:
        logits = softcap * torch.tanh(logits / softcap)
    y = target.flatten()
    loss = F.cross_entropy(logits, y, label_smoothing=label_smoothing, reduction="none")
    keep = y != IGNORE
    loss = loss + z_loss * torch.logsumexp(logits, dim=1).square() * keep
    if reduction == "none":
        return loss.reshape(target.shape)
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / keep.sum().clamp(min=1)


def grads(out: torch.Tensor, inputs: list[torch.Tensor], seed: int = 1) -> tuple[torch.Tensor, ...]:
    """Gradients for a random grad_output, so per-token scaling of "none" is exercised."""
    gen = torch.Generator().manual_seed(seed)
    grad_output = torch.randn(out.shape, generator=gen, dtype=torch.float64).to(out.dtype)
    return torch.autograd.grad(out, inputs, grad_output)


OPTIONS = [
    {},
    {"label_smoothing": 0.1},
    {"z_loss": 1e-2},
    {"softcap": 3.0},
    {"label_smoothing": 0.2, "z_loss": 1e-3, "softcap": 5.0},
]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: ",".join(o) or "plain")
@pytest.mark.parametrize("bias", [False, True], ids=["no-bias", "bias"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
def test_matches_unfused(reduction, options, bias, dtype):
    hidden, weight, b, target = make_inputs(dtype=dtype, bias=bias, ignore_every=4)
    inputs = [t for t in (hidden, weight, b) if t is not None]
    # chunk_size 8 does not divide the 29 tokens: the last chunk is short.
    out = linear_cross_entropy(
        hidden, weight, target, bias=b, reduction=reduction, chunk_size=8, **options
    )
    ref = reference(hidden, weight, b, target, reduction=reduction, **options)
    assert out.dtype == dtype and out.shape == ref.shape
    torch.testing.assert_close(out, ref)
    for got, want in zip(grads(out, inputs), grads(ref, inputs), strict=True):
        torch.testing.assert_close(got, want)


def test_leading_axes_and_default_chunking():
    hidden, weight, _, target = make_inputs(shape=(3, 5), ignore_every=3)
    for reduction in ("mean", "none"):
        out = linear_cross_entropy(hidden, weight, target, reduction=reduction)
        ref = reference(hidden, weight, None, target, reduction=reduction)
        assert out.shape == target.shape if reduction == "none" else out.ndim == 0
        torch.testing.assert_close(out, ref)
        for got, want in zip(
            grads(out, [hidden, weight]), grads(ref, [hidden, weight]), strict=True
        ):
            torch.testing.assert_close(got, want)


@pytest.mark.parametrize("chunk_size", [1, 7, TOKENS, 1000])
def test_chunk_size_does_not_change_the_result(chunk_size):
    hidden, weight, b, target = make_inputs(dtype=torch.float64, bias=True, ignore_every=5)
    out = linear_cross_entropy(hidden, weight, target, bias=b, chunk_size=chunk_size)
    ref = reference(hidden, weight, b, target)
    torch.testing.assert_close(out, ref, rtol=1e-13, atol=1e-13)
    for got, want in zip(
        grads(out, [hidden, weight, b]), grads(ref, [hidden, weight, b]), strict=True
    ):
        torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-13)


def test_extreme_logits_stay_finite_and_exact():
    # Logits of order 1e3: exp would overflow without the max shift.
    hidden, weight, _, target = make_inputs(dtype=torch.float64, scale=300.0)
    out = linear_cross_entropy(hidden, weight, target, z_loss=1e-4, chunk_size=10)
    ref = reference(hidden, weight, None, target, z_loss=1e-4)
    assert torch.isfinite(out)
    torch.testing.assert_close(out, ref)
    for got, want in zip(grads(out, [hidden, weight]), grads(ref, [hidden, weight]), strict=True):
        assert torch.isfinite(got).all()
        torch.testing.assert_close(got, want)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_every_target_ignored(reduction):
    hidden, weight, b, target = make_inputs(bias=True)
    target = torch.full_like(target, IGNORE)
    out = linear_cross_entropy(hidden, weight, target, bias=b, reduction=reduction, z_loss=0.1)
    assert torch.equal(out, torch.zeros_like(out))
    for g in grads(out, [hidden, weight, b]):
        assert torch.equal(g, torch.zeros_like(g))


def test_empty_input():
    hidden, weight, _, target = make_inputs(shape=(0,))
    out = linear_cross_entropy(hidden, weight, target)
    assert float(out.detach()) == 0.0
    out.backward()
    assert hidden.grad.shape == (0, WIDTH)
    assert torch.equal(weight.grad, torch.zeros_like(weight))


@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_bfloat16_accumulates_in_float32(reduction):
    hidden, weight, b, target = make_inputs(dtype=torch.bfloat16, bias=True, ignore_every=6)
    out = linear_cross_entropy(hidden, weight, target, bias=b, reduction=reduction, chunk_size=4)
    assert out.dtype == torch.bfloat16
    inputs = [hidden, weight, b]
    got = grads(out, inputs)
    assert [g.dtype for g in got] == [torch.bfloat16] * 3
    # Exact reference: float64 on the same bfloat16 values.
    exact = [t.detach().double().requires_grad_() for t in inputs]
    ref = reference(*exact[:2], exact[2], target, reduction=reduction)
    want = grads(ref, exact)
    # The unfused bfloat16 computation, for scale: losskit must be about as accurate.
    unfused = reference(hidden, weight, b, target, reduction=reduction)
    plain = grads(unfused, inputs)
    for ours, theirs, exact_value in [(out, unfused, ref), *zip(got, plain, want, strict=True)]:
        our_err = (ours.double() - exact_value).abs().max()
        their_err = (theirs.double() - exact_value).abs().max()
        assert our_err <= 2 * their_err + 1e-2 * exact_value.abs().max()


def test_only_the_gradients_asked_for():
    hidden, weight, b, target = make_inputs(bias=True)
    hidden.requires_grad_(False)
    out = linear_cross_entropy(hidden, weight, target, bias=b, label_smoothing=0.1)
    ref = reference(hidden, weight, b, target, label_smoothing=0.1)
    for got, want in zip(grads(out, [weight, b]), grads(ref, [weight, b]), strict=True):
        torch.testing.assert_close(got, want)
    with torch.no_grad():
        torch.testing.assert_close(
            linear_cross_entropy(hidden, weight, target, bias=b),
            reference(hidden, weight, b, target),
        )


class _LargestOutput(TorchDispatchMode):
    """Records the largest number of elements of any tensor an operator returns."""

    def __init__(self) -> None:
        super().__init__()
        self.largest = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in out if isinstance(out, (tuple, list)) else [out]:
            if isinstance(t, torch.Tensor):
                self.largest = max(self.largest, t.numel())
        return out


@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_never_materialises_the_logits(reduction):
    tokens, vocab, chunk = 512, 300, 16
    hidden = torch.randn(tokens, 8, requires_grad=True)
    weight = torch.randn(vocab, 8, requires_grad=True)
    target = torch.randint(0, vocab, (tokens,))
    with _LargestOutput() as mode:
        out = linear_cross_entropy(hidden, weight, target, reduction=reduction, chunk_size=chunk)
        out.sum().backward()
    assert mode.largest <= max(chunk * vocab, weight.numel(), hidden.numel())
    with _LargestOutput() as mode:
        F.cross_entropy(hidden @ weight.T, target).backward()
    assert mode.largest == tokens * vocab  # the check does see full logits


def test_backward_runs_once():
    hidden, weight, _, target = make_inputs()
    out = linear_cross_entropy(hidden, weight, target)
    out.backward(retain_graph=True)
    with pytest.raises(RuntimeError, match="once per forward"):
        out.backward()


def test_gradcheck_per_token():
    hidden, weight, b, target = make_inputs(dtype=torch.float64, shape=(6,), bias=True)
    target[2] = IGNORE

    def fn(h, w, bias):
        return linear_cross_entropy(
            h,
            w,
            target,
            bias=bias,
            reduction="none",
            label_smoothing=0.1,
            z_loss=0.05,
            softcap=2.0,
            chunk_size=4,
        )

    assert torch.autograd.gradcheck(fn, (hidden, weight, b))


BAD_INPUTS = [
    ({"hidden": [[1.0]]}, "hidden must be a torch.Tensor"),
    ({"hidden": torch.ones(TOKENS, WIDTH, dtype=torch.long)}, "hidden must be a floating"),
    ({"weight": torch.ones(VOCAB, WIDTH + 1)}, r"weight must have shape \[num_classes, 12\]"),
    ({"weight": torch.ones(VOCAB, WIDTH, dtype=torch.float64)}, "weight must have hidden's dtype"),
    ({"bias": torch.ones(VOCAB + 1)}, r"bias must have shape \(37,\)"),
    ({"target": torch.zeros(TOKENS)}, "target must hold integer class labels"),
    ({"target": torch.zeros(TOKENS, 1, dtype=torch.long)}, r"target must have shape \(29,\)"),
    ({"target": torch.full((TOKENS,), VOCAB)}, r"target must hold class labels in \[0, 37\)"),
    ({"label_smoothing": 1.0}, r"label_smoothing must lie in \[0.0, 1.0\)"),
    ({"label_smoothing": -0.1}, "label_smoothing must lie in"),
    ({"z_loss": -1.0}, "z_loss must lie in"),
    ({"softcap": 0.0}, "softcap must lie in"),
    ({"reduction": "avg"}, "reduction must be one of"),
    ({"chunk_size": 0}, "chunk_size must be a positive int"),
    ({"ignore_index": 1.5}, "ignore_index must be an int"),
]


@pytest.mark.parametrize(("change", "message"), BAD_INPUTS, ids=[m for _, m in BAD_INPUTS])
def test_bad_input_names_the_argument(change, message):
    hidden, weight, b, target = make_inputs(bias=True)
    args = {"hidden": hidden, "weight": weight, "target": target, "bias": b, **change}
    with pytest.raises(LossInputError, match=message):
        linear_cross_entropy(**args)


def test_error_is_a_value_error():
    assert issubclass(LossInputError, ValueError)


def test_module_holds_the_options():
    module = LinearCrossEntropy(label_smoothing=0.1, z_loss=1e-3, softcap=4.0, reduction="sum")
    assert repr(module) == (
        "LinearCrossEntropy(ignore_index=-100, label_smoothing=0.1, z_loss=0.001, "
        "softcap=4.0, reduction='sum', chunk_size=None)"
    )
    hidden, weight, b, target = make_inputs(dtype=torch.float64, bias=True, ignore_every=3)
    options = {"label_smoothing": 0.1, "z_loss": 1e-3, "softcap": 4.0, "reduction": "sum"}
    torch.testing.assert_close(
        module(hidden, weight, target, b), reference(hidden, weight, b, target, **options)
    )
    assert list(module.parameters()) == []


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"reduction": "max"}, "reduction"),
        ({"chunk_size": -1}, "chunk_size"),
        ({"softcap": -2.0}, "softcap"),
    ],
)
def test_module_checks_options_when_built(options, message):
    with pytest.raises(LossInputError, match=message):
        LinearCrossEntropy(**options)


def test_options_walk_every_reduction_in_float32_against_float64():
    # float32 results stay within float32 rounding of the exact (float64) loss.
    for reduction, options in itertools.product(["mean", "sum"], OPTIONS):
        hidden, weight, _, target = make_inputs(ignore_every=4)
        out = linear_cross_entropy(
            hidden, weight, target, reduction=reduction, chunk_size=5, **options
        )
        exact = reference(
            hidden.double(), weight.double(), None, target, reduction=reduction, **options
        )
        torch.testing.assert_close(out.double(), exact, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.int8, torch.int16, torch.int32])
def test_narrow_integer_targets_match_int64(dtype):
    # uint8 used to index as a boolean mask, int8/int16 not at all (IndexError)
    gen = torch.Generator().manual_seed(0)
    hidden, weight = torch.randn(4, 3, generator=gen), torch.randn(5, 3, generator=gen)
    target = torch.tensor([0, 1, 2, 4])
    expected = torch.nn.functional.cross_entropy(hidden @ weight.T, target)
    for fn in (linear_cross_entropy, vocab_parallel_cross_entropy):
        torch.testing.assert_close(fn(hidden, weight, target.to(dtype)), expected)


# ------------------------------------------------ the shared logit-block kernel


def plain_block_reference(logits: torch.Tensor, target: torch.Tensor, **options) -> torch.Tensor:
    """Per-token loss of [tokens, V] logits in plain PyTorch, for autograd to differentiate."""
    softcap = options.get("softcap")
    x = logits if softcap is None else softcap * torch.tanh(logits / softcap)
    loss = F.cross_entropy(
        x, target, label_smoothing=options.get("label_smoothing", 0.0), reduction="none"
    )
    return loss + options.get("z_loss", 0.0) * torch.logsumexp(x, dim=1).square()


class _ThreadAllReduce:
    """An all-reduce between threads, each holding one block of the vocabulary."""

    def __init__(self, blocks: int) -> None:
        self.barrier = threading.Barrier(blocks, timeout=60)
        self.slots: list[torch.Tensor | None] = [None] * blocks

    def __call__(self, block: int, x: torch.Tensor, op: str) -> torch.Tensor:
        self.slots[block] = x
        self.barrier.wait()
        stacked = torch.stack(self.slots)
        out = stacked.amax(dim=0) if op == "max" else stacked.sum(dim=0)
        self.barrier.wait()  # every block has read the slots before any is overwritten
        return out


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: ",".join(o) or "plain")
def test_kernel_on_vocabulary_slices_is_autograd_on_the_whole(options):
    # Three uneven slices of the vocabulary (13 + 12 + 12 classes), each in a thread, with
    # a softcap small enough to bend the logits: the loss is the whole vocabulary's and
    # each slice's gradient is its columns of autograd's through the plain computation.
    gen = torch.Generator().manual_seed(4)
    logits = (3.0 * torch.randn(TOKENS, VOCAB, generator=gen, dtype=torch.float64)).requires_grad_()
    target = torch.randint(0, VOCAB, (TOKENS,), generator=gen)
    ref = plain_block_reference(logits, target, **options)
    (ref_grad,) = torch.autograd.grad(ref.sum(), logits)  # tokens are independent
    kernel_options = {"label_smoothing": 0.0, "z_loss": 0.0, "softcap": None, **options}
    bounds = torch.arange(VOCAB).tensor_split(3)
    all_reduce = _ThreadAllReduce(len(bounds))

    def run_block(block: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        rows = bounds[block]
        vocabulary = VocabularySlice(int(rows[0]), VOCAB, lambda x, op: all_reduce(block, x, op))
        chunk = logits.detach()[:, rows].t().clone()  # [V_b, tokens], owned by the kernel
        return cross_entropy_block(
            chunk, target, want_grad=True, vocabulary=vocabulary, **kernel_options
        )

    with ThreadPoolExecutor(len(bounds)) as pool:
        results = [f.result() for f in [pool.submit(run_block, b) for b in range(len(bounds))]]
    for loss, _ in results:
        torch.testing.assert_close(loss, ref.detach(), rtol=1e-12, atol=1e-12)
    grad = torch.cat([g for _, g in results]).t()
    torch.testing.assert_close(grad, ref_grad, rtol=1e-12, atol=1e-12)
    # The whole vocabulary as one block (vocabulary=None) gives the same.
    loss, whole = cross_entropy_block(
        logits.detach().t().clone(), target, want_grad=True, **kernel_options
    )
    torch.testing.assert_close(loss, ref.detach(), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(whole.t(), ref_grad, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: ",".join(o) or "plain")
def test_vocab_parallel_in_one_process_is_linear_cross_entropy(options, reduction):
    # Both losses run the same kernel: one on chunks of tokens, the other on the whole
    # [tokens, V] logits of one process. Their losses and gradients agree.
    hidden, weight, b, target = make_inputs(dtype=torch.float64, bias=True, ignore_every=4)
    inputs = [hidden, weight, b]
    ours = linear_cross_entropy(
        hidden, weight, target, bias=b, reduction=reduction, chunk_size=8, **options
    )
    theirs = vocab_parallel_cross_entropy(
        hidden, weight, target, bias=b, reduction=reduction, **options
    )
    torch.testing.assert_close(ours, theirs, rtol=1e-13, atol=1e-13)
    for got, want in zip(grads(ours, inputs), grads(theirs, inputs), strict=True):
        torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-13)
