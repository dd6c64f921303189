"""The PyTorch kernels of the embedding losses against the generic array-API kernels.

The whole-matrix path of ``contrastive_cross_entropy`` and the Euclidean
``pair_distance`` run on every torch sample of the test table, with the positives on the
diagonal; here they are also compared with the generic kernels with the positives
further along (the distributed losses' layout), and the blocked path, which only runs on
large matrices, is forced on small ones (tiny blocks, a ragged last block).
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

import array_api_compat  # noqa: E402

import losskit  # noqa: E402
import losskit.torch as lt  # noqa: E402
from losskit.core.kernels import overrides  # noqa: E402
from losskit.losses.embedding import contrastive_cross_entropy, pair_distance  # noqa: E402
from losskit.torch.fast import embedding as fast  # noqa: E402

XP = array_api_compat.array_namespace(torch.zeros(1))


@pytest.fixture
def blocks(monkeypatch):
    """Every similarity matrix in blocks of 4 rows."""
    monkeypatch.setattr(fast, "BLOCK_BYTES", 0)
    monkeypatch.setattr(fast, "BLOCK_ROWS", 4)


def _unit(*shape, seed=0):
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return x / x.norm(dim=1, keepdim=True)


def test_the_kernels_are_overridden_for_torch():
    names = set(overrides("torch"))
    assert {pair_distance.kernel_name, contrastive_cross_entropy.kernel_name} <= names


def _loss_and_grads(fn, query, key, scale, offset, symmetric):
    q, k = query.clone().requires_grad_(), key.clone().requires_grad_()
    s = scale.clone().requires_grad_() if isinstance(scale, torch.Tensor) else scale
    loss = fn(q, k, s, offset, symmetric, xp=XP)
    cotangent = torch.rand(loss.shape, generator=torch.Generator().manual_seed(1), dtype=loss.dtype)
    wrt = [q, k] + ([s] if isinstance(s, torch.Tensor) else [])
    return loss, torch.autograd.grad((loss * cotangent).sum(), wrt)


LAYOUTS = [
    pytest.param((13, 13), 0, True, id="symmetric"),
    pytest.param((13, 13), 0, False, id="one-way"),
    pytest.param((9, 20), 0, False, id="more keys"),
    pytest.param((5, 12), 7, False, id="positives from column 7"),
]
SCALES = [
    pytest.param(5.0, id="float"),
    pytest.param(torch.tensor(3.0, dtype=torch.float64), id="tensor"),
]


def _agree(shape, offset, symmetric, scale):
    query, key = _unit(shape[0], 6), _unit(shape[1], 6, seed=1)
    got = _loss_and_grads(contrastive_cross_entropy, query, key, scale, offset, symmetric)
    want = _loss_and_grads(contrastive_cross_entropy.generic, query, key, scale, offset, symmetric)
    torch.testing.assert_close(got[0], want[0], rtol=1e-12, atol=1e-12)
    for g, w in zip(got[1], want[1], strict=True):
        torch.testing.assert_close(g, w, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("shape, offset, symmetric", LAYOUTS)
def test_cross_entropy_kernel_matches_the_generic_kernel(shape, offset, symmetric, scale):
    _agree(shape, offset, symmetric, scale)


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("shape, offset, symmetric", LAYOUTS)
def test_blocked_kernel_matches_the_generic_kernel(blocks, shape, offset, symmetric, scale):
    _agree(shape, offset, symmetric, scale)


def test_blocked_info_nce_with_a_learnable_temperature(blocks):
    query, key = _unit(10, 5), _unit(10, 5, seed=2)
    results = []
    for path in ("blocked", "generic"):
        q, k = query.clone().requires_grad_(), key.clone().requires_grad_()
        t = torch.tensor(0.2, dtype=torch.float64, requires_grad=True)
        if path == "generic":
            fast.BLOCK_BYTES = 1 << 62
        loss = losskit.info_nce(q, k, temperature=t, symmetric=True)
        results.append((loss, *torch.autograd.grad(loss, [q, k, t])))
    for got, want in zip(*results, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12)


def test_blocked_path_keeps_memory_to_blocks(blocks):
    """The blocked path saves the inputs and the log-sum-exps, never an [N, M] matrix."""
    query, key = _unit(12, 3).requires_grad_(), _unit(12, 3, seed=3).requires_grad_()
    saved = []

    def pack(t):
        saved.append(tuple(t.shape))
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        contrastive_cross_entropy(query, key, 2.0, 0, True, xp=XP)
    assert (12, 12) not in saved and saved


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16])
def test_euclidean_pair_distance_matches_the_generic_kernel(dtype):
    gen = torch.Generator().manual_seed(4)
    x = torch.randn(6, 3, generator=gen).to(dtype)
    y = torch.randn(6, 3, generator=gen).to(dtype)
    y[2] = x[2]  # coinciding rows: gradient 0, not NaN
    grads = []
    for fn in (pair_distance, pair_distance.generic):
        a, b = x.clone().requires_grad_(), y.clone().requires_grad_()
        d = fn(a, b, "euclidean", xp=XP)
        assert d.dtype == (torch.float32 if dtype == torch.float16 else dtype)
        grads.append((d, *torch.autograd.grad(d.sum(), [a, b])))
    for got, want in zip(*grads, strict=True):
        assert torch.isfinite(got).all()
        torch.testing.assert_close(
            got, want, rtol=1e-3 if dtype == torch.float16 else 1e-12, atol=1e-12
        )
    assert torch.equal(grads[0][1][2], torch.zeros(3, dtype=dtype))


def test_a_temperature_parameter_is_a_parameter_of_the_module():
    temperature = torch.nn.Parameter(torch.tensor(0.1))
    module = lt.InfoNCE(temperature=temperature, symmetric=True)
    assert [p is temperature for p in module.parameters()] == [True]
    q, k = torch.randn(5, 4), torch.randn(5, 4)
    module(q, k).backward()
    assert temperature.grad is not None and torch.isfinite(temperature.grad)
    torch.testing.assert_close(
        module(q, k), losskit.info_nce(q, k, temperature=0.1, symmetric=True)
    )


@pytest.mark.parametrize("path", ["whole", "blocked"])
def test_info_nce_compiles_as_one_graph(monkeypatch, path):
    if path == "blocked":
        monkeypatch.setattr(fast, "BLOCK_BYTES", 0)
        monkeypatch.setattr(fast, "BLOCK_ROWS", 4)
    torch._dynamo.reset()
    module = lt.InfoNCE(temperature=0.2, symmetric=True)
    compiled = torch.compile(module, fullgraph=True, backend="aot_eager")
    gen = torch.Generator().manual_seed(5)
    q, k = torch.randn(10, 4, generator=gen), torch.randn(10, 4, generator=gen)
    results = []
    for fn in (module, compiled):
        a, b = q.clone().requires_grad_(), k.clone().requires_grad_()
        loss = fn(a, b)
        results.append((loss, *torch.autograd.grad(loss, [a, b])))
    for got, want in zip(results[1], results[0], strict=True):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
