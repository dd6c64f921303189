"""losskit.torch.distributed_contrastive in real process groups (gloo, localhost).

Every rank rebuilds the global batch from a shared seed, computes the loss of its own
rows against every rank's, and compares the loss and the gradients with the
single-process loss on the concatenated batch: the values must be equal, the gradient of
the local rows ``world_size`` times the full batch's (DistributedDataParallel averages
it back), and under DDP the parameters' gradients equal the full batch's.  The ranks
hold different numbers of rows.
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

import torch.distributed as dist  # noqa: E402
from gloo_harness import close, run  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn.parallel import DistributedDataParallel  # noqa: E402

import losskit  # noqa: E402
from losskit.errors import LossInputError  # noqa: E402
from losskit.torch.distributed_contrastive import (  # noqa: E402
    global_info_nce,
    global_nt_xent,
    global_supervised_contrastive,
)

pytestmark = pytest.mark.skipif(not dist.is_available(), reason="torch.distributed unavailable")


# ------------------------------------------------------------------------ data


def _rows(world_size: int) -> list[int]:
    """Unequal numbers of rows per rank: 3, 5, 4, ..."""
    return [3 + (2 * r) % 5 for r in range(world_size)]


def _block(x: torch.Tensor, rank: int, world_size: int) -> torch.Tensor:
    counts = _rows(world_size)
    start = sum(counts[:rank])
    return x[start : start + counts[rank]]


def _batch(world_size: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Inputs [N, 4], paired keys, embeddings, and labels in groups of unequal sizes with
    one singleton (an anchor without a positive)."""
    gen = torch.Generator().manual_seed(11)
    n = sum(_rows(world_size))
    x = torch.randn(n, 4, generator=gen, dtype=torch.float64)
    keys = x + 0.3 * torch.randn(n, 4, generator=gen, dtype=torch.float64)
    labels = torch.randint(0, 3, (n,), generator=gen)
    labels[-1] = 7  # alone: no positive anywhere
    embeddings = torch.randn(n, 5, generator=gen, dtype=torch.float64) + labels[:, None] % 2
    return x, keys, embeddings, labels


CASES = {
    "info_nce": (global_info_nce, losskit.info_nce, {"temperature": 0.2}),
    "info_nce symmetric": (
        global_info_nce,
        losskit.info_nce,
        {"temperature": 0.3, "symmetric": True},
    ),
    "nt_xent": (global_nt_xent, losskit.nt_xent, {"temperature": 0.25}),
    "supervised_contrastive": (
        global_supervised_contrastive,
        losskit.supervised_contrastive,
        {"temperature": 0.15},
    ),
}


def _arrays(name: str, world_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    x, keys, embeddings, labels = _batch(world_size)
    return (x, keys) if name.startswith("info_nce") else (embeddings, labels)


# --------------------------------------------------------------------- workers


def _encode(model, first, second, paired):
    """The model's embeddings of both arrays (of the first only when the second holds
    labels), in one forward call as DDP needs."""
    if not paired:
        return model(first), second
    out = model(torch.cat([first, second]))
    return out[: len(first)], out[len(first) :]


def _worker(rank: int, world_size: int) -> None:
    for name, (distributed, single, options) in CASES.items():
        first, second = _arrays(name, world_size)
        paired = name.startswith("info_nce")
        # a learnable temperature, replicated on every rank
        temperature = torch.tensor(options["temperature"], dtype=torch.float64)
        kw = {**options, "temperature": temperature.clone().requires_grad_()}
        full_first = first.clone().requires_grad_()
        full_second = second.clone().requires_grad_() if paired else second
        full = single(full_first, full_second, **kw)
        wrt = [full_first, kw["temperature"]] + ([full_second] if paired else [])
        full_grads = torch.autograd.grad(full, wrt)

        local_kw = {**options, "temperature": temperature.clone().requires_grad_()}
        mine = _block(first, rank, world_size).clone().requires_grad_()
        other = _block(second, rank, world_size)
        other = other.clone().requires_grad_() if paired else other
        loss = distributed(mine, other, **local_kw)
        close(loss, full.detach(), f"{name} loss")
        loss.backward()
        close(mine.grad, world_size * _block(full_grads[0], rank, world_size), f"{name} grad")
        if paired:
            want = world_size * _block(full_grads[2], rank, world_size)
            close(other.grad, want, f"{name} key grad")
        # the replicated temperature: DDP's average of the ranks' gradients is the full one
        averaged = local_kw["temperature"].grad.clone()
        dist.all_reduce(averaged)
        close(averaged / world_size, full_grads[1], f"{name} temperature grad")

        # the sum over the global batch, and each rank's own rows with "none"
        total = distributed(mine.detach(), other.detach(), reduction="sum", **options)
        close(total, single(first, second, reduction="sum", **options), f"{name} sum")
        rows = distributed(mine.detach(), other.detach(), reduction="none", **options)
        every = single(first, second, reduction="none", **options)
        close(rows, _block(every, rank, world_size), f"{name} none")

        # Under DDP the averaged parameter gradients are the full batch's.
        torch.manual_seed(0)
        encoder = nn.Linear(first.shape[1], 3).double()
        twin = nn.Linear(first.shape[1], 3).double()
        twin.load_state_dict(encoder.state_dict())
        model = DistributedDataParallel(encoder)
        distributed(*_encode(model, mine.detach(), other.detach(), paired), **options).backward()
        single(*_encode(twin, first, second, paired), **options).backward()
        for p, q in zip(encoder.parameters(), twin.parameters(), strict=True):
            close(p.grad, q.grad, f"{name} DDP gradient")

    # the local loss alone (no gather) is not the global one: the data can tell
    x, keys, _, _ = _batch(world_size)
    local = losskit.info_nce(_block(x, rank, world_size), _block(keys, rank, world_size))
    assert not torch.allclose(local, losskit.info_nce(x, keys))


def test_contrastive_losses_in_two_processes():
    run(_worker, 2)


def test_contrastive_losses_in_three_processes():
    run(_worker, 3)


# ---------------------------------------------------------- without a process group


@pytest.mark.parametrize("name", list(CASES))
def test_without_process_group_is_the_single_process_loss(name):
    distributed, single, options = CASES[name]
    first, second = _arrays(name, 1)
    for reduction in ("mean", "sum", "none"):
        a = first.clone().requires_grad_()
        b = first.clone().requires_grad_()
        got = distributed(a, second, reduction=reduction, **options)
        want = single(b, second, reduction=reduction, **options)
        close(got, want, f"{name} {reduction}")
        (grad_got,) = torch.autograd.grad(got.sum(), a)
        (grad_want,) = torch.autograd.grad(want.sum(), b)
        close(grad_got, grad_want, f"{name} {reduction} grad")


def test_no_positive_anywhere_gives_zero_with_zero_gradient():
    x = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    for fn in (global_nt_xent, global_supervised_contrastive):
        loss = fn(x, torch.arange(4))
        assert float(loss) == 0.0
        (grad,) = torch.autograd.grad(loss, x)
        assert torch.equal(grad, torch.zeros_like(x))


def test_half_precision_is_computed_in_float32():
    gen = torch.Generator().manual_seed(0)
    q, k = torch.randn(6, 8, generator=gen), torch.randn(6, 8, generator=gen)
    got = global_info_nce(q.half(), k.half(), symmetric=True)
    assert got.dtype == torch.float16
    want = losskit.info_nce(q.half().float(), k.half().float(), symmetric=True)
    torch.testing.assert_close(got.float(), want, rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda: global_info_nce(torch.ones(3, 2).numpy(), torch.ones(3, 2)),
            "query must be a torch.Tensor",
        ),
        (
            lambda: global_info_nce(torch.ones(3, 2), torch.ones(4, 2)),
            "key must have query's shape",
        ),
        (lambda: global_info_nce(torch.ones(3), torch.ones(3)), "query must be a [N, D] array"),
        (
            lambda: global_info_nce(torch.ones(3, 2), torch.ones(3, 2), temperature=0.0),
            "temperature must lie in",
        ),
        (
            lambda: global_info_nce(torch.ones(3, 2), torch.ones(3, 2), reduction="max"),
            "reduction must be one of",
        ),
        (lambda: global_nt_xent(torch.ones(3, 2), torch.zeros(2)), "labels must have shape (3,)"),
        (
            lambda: global_supervised_contrastive(torch.ones(3, 2), torch.zeros(3), symmetric=True),
            "unexpected keyword",
        ),
    ],
)
def test_bad_input(call, message):
    with pytest.raises(
        (LossInputError, TypeError),
        match=message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)"),
    ):
        call()
