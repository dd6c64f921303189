"""losskit.torch.distributed in real process groups (gloo, localhost) against one process.

Every rank rebuilds the whole global batch from a shared seed, runs the distributed
computation on its own part, and compares the loss and the gradients with the
single-process computation on the concatenated batch.  A failed comparison in any rank
fails the test with that rank's traceback.
"""

from __future__ import annotations

import contextlib
import inspect

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import torch.distributed as dist  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from gloo_harness import close, run  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn.parallel import DistributedDataParallel  # noqa: E402

import losskit  # noqa: E402
from losskit.errors import LossInputError  # noqa: E402
from losskit.torch.distributed import (  # noqa: E402
    GlobalTokenMean,
    global_dice,
    global_soft_iou,
    global_tversky,
    vocab_parallel_cross_entropy,
)
from losskit.torch.fast import _overlap_kernels  # noqa: E402
from losskit.torch.linear_cross_entropy import linear_cross_entropy  # noqa: E402

pytestmark = pytest.mark.skipif(not dist.is_available(), reason="torch.distributed unavailable")

IGNORE = -100


# --------------------------------------------------------------------- harness


def split(x: torch.Tensor, rank: int, world_size: int) -> torch.Tensor:
    return x.chunk(world_size)[rank]


# ------------------------------------------------------------- global token mean


class TinyLM(nn.Module):
    """A projection and an output layer; forward returns the summed token loss."""

    def __init__(self, width: int = 6, vocab: int = 13) -> None:
        super().__init__()
        self.proj = nn.Linear(4, width)
        self.head = nn.Linear(width, vocab, bias=False)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return linear_cross_entropy(torch.tanh(self.proj(x)), self.head.weight, y, reduction="sum")


def _micro_batches(world_size: int) -> list[list[tuple[torch.Tensor, torch.Tensor]]]:
    """Two micro-batches per rank, with unequal numbers of ignored targets."""
    gen = torch.Generator().manual_seed(3)
    ranks = []
    for r in range(world_size):
        micro = []
        for k, tokens in enumerate((5, 8)):
            x = torch.randn(tokens, 4, generator=gen, dtype=torch.float64)
            y = torch.randint(0, 13, (tokens,), generator=gen)
            y[: (r + 2 * k) % 5] = IGNORE
            micro.append((x, y))
        ranks.append(micro)
    return ranks


def _model() -> TinyLM:
    torch.manual_seed(0)
    return TinyLM().double()


def _full_batch_grads(world_size: int) -> list[torch.Tensor]:
    model = _model()
    batches = [mb for rank in _micro_batches(world_size) for mb in rank]
    x = torch.cat([b[0] for b in batches])
    y = torch.cat([b[1] for b in batches])
    logits = model.head(torch.tanh(model.proj(x)))
    F.cross_entropy(logits, y, ignore_index=IGNORE).backward()
    return [p.grad for p in model.parameters()]


def _global_mean_worker(rank: int, world_size: int) -> None:
    micro = _micro_batches(world_size)[rank]
    model = DistributedDataParallel(_model())
    mean = GlobalTokenMean([y for _, y in micro])
    expected = sum(int((y != IGNORE).sum()) for rank in _micro_batches(world_size) for _, y in rank)
    assert int(mean.count) == expected and mean.world_size == world_size
    for i, (x, y) in enumerate(micro):
        last = i == len(micro) - 1
        with contextlib.nullcontext() if last else model.no_sync():
            mean(model(x, y)).backward()
    for p, want in zip(model.parameters(), _full_batch_grads(world_size), strict=True):
        close(p.grad, want, "DDP gradient with GlobalTokenMean")
    # The naive recipe, per-micro-batch means averaged, is not the global mean here.
    naive = DistributedDataParallel(_model())
    for i, (x, y) in enumerate(micro):
        with contextlib.nullcontext() if i == len(micro) - 1 else naive.no_sync():
            (naive(x, y) / (y != IGNORE).sum() / len(micro)).backward()
    got = next(naive.parameters()).grad
    assert not torch.allclose(got, _full_batch_grads(world_size)[0])


def test_global_token_mean_without_process_group():
    gen = torch.Generator().manual_seed(1)
    targets = [torch.randint(-1, 4, (n,), generator=gen) for n in (3, 6)]
    mean = GlobalTokenMean(targets, ignore_index=-1)
    valid = sum(int((t != -1).sum()) for t in targets)
    assert int(mean.count) == valid and mean.world_size == 1
    assert float(mean(torch.tensor(12.0))) == pytest.approx(12.0 / valid)
    assert repr(mean) == f"GlobalTokenMean(count={valid}, world_size=1, ignore_index=-1)"
    nothing = GlobalTokenMean(torch.full((4,), -100))
    assert float(nothing(torch.tensor(0.0))) == 0.0


@pytest.mark.parametrize(
    ("targets", "message"),
    [
        ([], "targets must hold at least one tensor"),
        ([torch.zeros(3)], r"targets\[0\] must hold integer"),
    ],
)
def test_global_token_mean_bad_input(targets, message):
    with pytest.raises(LossInputError, match=message):
        GlobalTokenMean(targets)


# ---------------------------------------------------------------- global overlap

CLASSES = 3


@pytest.fixture(autouse=True)
def composed_statistics(monkeypatch):
    """The overlap statistics from composed PyTorch operations, not the numba kernels:
    what is tested here is how the statistics are summed, and each fresh process (each
    rank) would otherwise load or compile the kernels first, seconds each.  The kernels
    are checked against the generic code in test_overlap_kernels.py."""
    monkeypatch.setattr(_overlap_kernels, "NUMBA_FOUND", False)


def _overlap_reference(name: str, p: torch.Tensor, t: torch.Tensor, **kw) -> torch.Tensor:
    """Independent whole-batch formulas, classes on axis 1."""
    dims = [0, *range(2, p.ndim)]
    inter, ps, ts = (p * t).sum(dims), p.sum(dims), t.sum(dims)
    s = kw.get("smooth", 1.0)
    if name == "dice":
        score = (2 * inter + s) / (ps + ts + s)
    elif name == "iou":
        score = (inter + s) / (ps + ts - inter + s)
    else:
        fp, fn = ps - inter, ts - inter
        score = (inter + s) / (inter + kw["alpha"] * fp + kw["beta"] * fn + s)
    return (1 - score).mean()


OVERLAP = {
    "dice": (global_dice, {}),
    "iou": (global_soft_iou, {"smooth": 0.5}),
    "tversky": (global_tversky, {"alpha": 0.7, "beta": 0.3}),
}

#: The single-process loss whose batch=True form each global loss equals.
SINGLE_PROCESS = {"dice": losskit.dice, "iou": losskit.jaccard, "tversky": losskit.tversky}


def _segmentation_batch(world_size: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Features [B, 4, 5, 5], labels [B, 5, 5] with ignored pixels, and the one-hot of the
    labels (ignored pixels as class 0)."""
    gen = torch.Generator().manual_seed(5)
    features = torch.randn(2 * world_size, 4, 5, 5, generator=gen, dtype=torch.float64)
    labels = torch.randint(0, CLASSES, (2 * world_size, 5, 5), generator=gen)
    labels[:, :, :2] = 0  # class 2 is rarer, its statistics differ most between ranks
    onehot = F.one_hot(labels, CLASSES).permute(0, 3, 1, 2).double()
    labels[0, 3:] = IGNORE  # only the first rank's part holds ignored pixels
    labels[-1, 0, 4] = IGNORE
    return features, labels, onehot


def _overlap_worker(rank: int, world_size: int) -> None:
    _overlap_kernels.NUMBA_FOUND = False  # as the fixture composed_statistics does
    features, labels, onehot = _segmentation_batch(world_size)
    for name, (fn, kw) in OVERLAP.items():
        # Gradient with respect to the predictions: world_size times the full-batch slice.
        logits = features[:, :CLASSES].clone().requires_grad_()
        full = _overlap_reference(name, logits.softmax(1), onehot, **kw)
        (full_grad,) = torch.autograd.grad(full, logits)
        mine = split(features[:, :CLASSES], rank, world_size).clone().requires_grad_()
        loss = fn(mine.softmax(1), split(onehot, rank, world_size), axis=1, **kw)
        close(loss, full.detach(), f"{name} loss")
        loss.backward()
        close(mine.grad, world_size * split(full_grad, rank, world_size), f"{name} input grad")
        # Per-rank Dice (no all-reduce) would differ: the test data can tell them apart.
        local = _overlap_reference(name, mine.softmax(1), split(onehot, rank, world_size), **kw)
        assert not torch.allclose(local, full)

        # Under DDP the averaged parameter gradients are the full batch's.
        torch.manual_seed(0)
        conv = nn.Conv2d(4, CLASSES, 1).double()
        ref_conv = nn.Conv2d(4, CLASSES, 1).double()
        ref_conv.load_state_dict(conv.state_dict())
        model = DistributedDataParallel(conv)
        x = split(features, rank, world_size)
        fn(model(x).softmax(1), split(onehot, rank, world_size), axis=1, **kw).backward()
        _overlap_reference(name, ref_conv(features).softmax(1), onehot, **kw).backward()
        for p, q in zip(conv.parameters(), ref_conv.parameters(), strict=True):
            close(p.grad, q.grad, f"{name} DDP gradient")

        # Logits and integer labels with ignored pixels, under DDP: the loss and the
        # averaged gradients are those of losskit's batch=True loss on the full batch.
        options = {"axis": 1, "from_logits": True, "ignore_index": IGNORE, **kw}
        conv.zero_grad()
        ref_conv.zero_grad()
        loss = fn(model(x), split(labels, rank, world_size), **options)
        want = SINGLE_PROCESS[name](ref_conv(features), labels, batch=True, **options)
        close(loss, want.detach(), f"{name} loss from logits and labels")
        loss.backward()
        want.backward()
        for p, q in zip(conv.parameters(), ref_conv.parameters(), strict=True):
            close(p.grad, q.grad, f"{name} DDP gradient from logits and labels")

        # Class weights and a class left out, as in the batch=True loss.
        weighted = {**options, "class_weights": [0.5, 1.0, 2.0], "exclude_class": 1}
        logits = features[:, :CLASSES].clone().requires_grad_()
        full = SINGLE_PROCESS[name](logits, labels, batch=True, **weighted)
        (full_grad,) = torch.autograd.grad(full, logits)
        mine = split(features[:, :CLASSES], rank, world_size).clone().requires_grad_()
        loss = fn(mine, split(labels, rank, world_size), **weighted)
        close(loss, full.detach(), f"{name} loss with class weights")
        loss.backward()
        close(mine.grad, world_size * split(full_grad, rank, world_size), f"{name} weighted grad")

    # Binary masks (axis=None) and per-class losses, across ranks.
    probs = torch.sigmoid(features[:, 0])
    mask = (features[:, 1] > 0).double()
    got = global_dice(split(probs, rank, world_size), split(mask, rank, world_size))
    inter = (probs * mask).sum()
    close(got, 1 - (2 * inter + 1) / (probs.sum() + mask.sum() + 1), "binary dice")
    # Binary logits (sigmoid): the input gradient is world_size times the full batch's slice.
    logits = features[:, 0].clone().requires_grad_()
    full = losskit.tversky(logits, mask, from_logits=True, batch=True, alpha=0.2, beta=0.8)
    (full_grad,) = torch.autograd.grad(full, logits)
    mine = split(features[:, 0], rank, world_size).clone().requires_grad_()
    got = global_tversky(mine, split(mask, rank, world_size), from_logits=True, alpha=0.2, beta=0.8)
    close(got, full.detach(), "binary tversky from logits")
    got.backward()
    close(mine.grad, world_size * split(full_grad, rank, world_size), "binary logits grad")
    per_class = global_soft_iou(
        split(onehot, rank, world_size) * 0.5,
        split(onehot, rank, world_size),
        axis=1,
        smooth=0.0,
        reduction="none",
    )
    close(per_class, torch.full((CLASSES,), 0.5, dtype=torch.float64), "per-class IoU")


@pytest.mark.parametrize("name", list(OVERLAP))
def test_overlap_without_process_group(name):
    fn, kw = OVERLAP[name]
    features, _, onehot = _segmentation_batch(1)
    logits = features[:, :CLASSES].clone().requires_grad_()
    got = fn(logits.softmax(1), onehot, axis=1, **kw)
    want = _overlap_reference(name, logits.softmax(1), onehot, **kw)
    close(got, want, name)
    close(*[torch.autograd.grad(v, logits)[0] for v in (got, want)], f"{name} grad")


LABEL_CASES = [
    {"axis": 1, "from_logits": True},
    {"axis": 1, "from_logits": True, "ignore_index": IGNORE, "reduction": "none"},
    # Channels last, probabilities, and a real class (0) ignored.
    {"axis": -1, "ignore_index": 0, "reduction": "sum"},
    {"axis": 1, "from_logits": True, "class_weights": [1.0, 2.0, 0.5], "exclude_class": 2},
]


@pytest.mark.parametrize("case", LABEL_CASES)
@pytest.mark.parametrize("name", list(OVERLAP))
def test_labels_without_process_group_are_losskit_with_batch(name, case):
    fn, kw = OVERLAP[name]
    features, labels, _ = _segmentation_batch(2)
    if case.get("ignore_index") != IGNORE:
        labels = labels.clamp(min=0)  # IGNORE is a label only when it is ignored
    scores = features[:, :CLASSES]
    if not case.get("from_logits", False):
        scores = scores.softmax(1)
    if case["axis"] == -1:
        scores = scores.movedim(1, -1)
    pred = scores.detach().clone().requires_grad_()
    got = fn(pred, labels, **case, **kw)
    want = SINGLE_PROCESS[name](pred, labels, batch=True, **case, **kw)
    assert got.shape == want.shape == ((CLASSES,) if case.get("reduction") == "none" else ())
    close(got, want, name)
    close(*[torch.autograd.grad(v.sum(), pred)[0] for v in (got, want)], f"{name} grad")


def test_labels_are_the_one_hot_target_and_ignored_pixels_leave_every_statistic():
    features, labels, _ = _segmentation_batch(1)
    logits = features[:, :CLASSES]
    clean = labels.clamp(min=0)
    onehot = F.one_hot(clean, CLASSES).permute(0, 3, 1, 2).double()
    from_labels = global_dice(logits, clean, axis=1, from_logits=True, reduction="none")
    from_one_hot = global_dice(logits, onehot, axis=1, from_logits=True, reduction="none")
    close(from_labels, from_one_hot, "labels against one-hot")
    # Ignoring pixels is the same as cutting them out of the batch.
    kept = labels[0] != IGNORE
    ignored = global_soft_iou(logits[:1], labels[:1], axis=1, from_logits=True, ignore_index=IGNORE)
    cut = global_soft_iou(
        logits[0].permute(1, 2, 0)[kept], labels[0][kept], axis=1, from_logits=True
    )
    close(ignored, cut, "ignored pixels")


def test_float16_logits_are_summed_in_float32():
    features, labels, _ = _segmentation_batch(1)
    logits = features[:, :CLASSES].float()
    got = global_tversky(logits.half(), labels, axis=1, from_logits=True, ignore_index=IGNORE)
    want = global_tversky(
        logits.half().float(), labels, axis=1, from_logits=True, ignore_index=IGNORE
    )
    assert got.dtype == torch.float16
    torch.testing.assert_close(got.float(), want, rtol=1e-3, atol=1e-4)


def test_a_class_axis_alone_is_one_sample():
    # The batch is axis 0, as in losskit.jaccard: a [C] input is one sample, [1, C].
    pred = torch.tensor([[0.5, 0.25, 0.0]])
    loss = global_soft_iou(
        pred, torch.tensor([[1.0, 0.0, 0.0]]), axis=1, smooth=0.0, reduction="none"
    )
    close(loss, torch.tensor([0.5, 1.0, 0.0]), "per-class IoU of a [1, C] input")
    with pytest.raises(LossInputError, match="axis=0 is the batch axis"):
        global_soft_iou(pred.T, torch.tensor([[1.0], [0.0], [0.0]]), axis=0)


def test_the_options_are_the_local_losses_but_batch_and_weights():
    # nor normalizer: the statistics are pooled over the batch and the ranks, no count
    for fn, local in ((global_dice, losskit.dice), (global_tversky, losskit.tversky)):
        local_parameters = inspect.signature(local).parameters
        left_out = ("batch", "weights", "normalizer")
        expected = [p for p in local_parameters if p not in left_out] + ["group"]
        assert list(inspect.signature(fn).parameters) == expected
        for name in ("pred", "target", "reduction"):
            assert inspect.signature(fn).parameters[name] == local_parameters[name]


def test_absent_class_scores_zero_and_pushes_false_positives_down():
    target = torch.zeros(4, 2)
    target[:, 0] = 1.0  # class 1 never present
    pred = torch.tensor([[1.0, 0.0]] * 4, requires_grad=True)
    loss = global_dice(pred, target, axis=1, reduction="none")
    assert torch.equal(loss.detach(), torch.zeros(2))
    loss[1].backward()
    assert (pred.grad[:, 1] > 0).all()
    # smooth=0 and nothing anywhere: a perfect score, not 0 / 0.
    empty = torch.zeros(3, requires_grad=True)
    loss = global_dice(empty, torch.zeros(3), smooth=0.0)
    loss.backward()
    assert float(loss.detach()) == 0.0 and torch.isfinite(empty.grad).all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"pred": torch.full((2, 3), 1.5)}, r"pred must hold probabilities in \[0, 1\]"),
        ({"pred": torch.ones(2, 3, dtype=torch.long)}, "pred must have a real floating dtype"),
        ({"target": torch.ones(3, 2)}, r"target must have pred's shape \(2, 3\) \(one-hot or"),
        ({"axis": None, "target": torch.ones(3, 2)}, r"target must have the same shape as pred"),
        ({"from_logits": 1}, "from_logits must be True or False; got 1"),
        ({"from_logits": "False"}, "from_logits must be True or False; got 'False'"),
        ({"ignore_index": 1.5}, "ignore_index must be an int or None; got 1.5"),
        ({"ignore_index": True}, "ignore_index must be an int or None; got True"),
        ({"ignore_index": -1}, "ignore_index applies to integer labels; target has pred's shape"),
        ({"axis": None, "ignore_index": -1}, "ignore_index applies to integer labels, which"),
        ({"target": torch.tensor([0, 3])}, r"target must hold class labels in \[0, 3\); found"),
        ({"target": torch.tensor([-1, 2])}, r"target must hold class labels in \[0, 3\); found"),
        (
            {"target": torch.tensor([-100, 3]), "ignore_index": -100},
            r"labels in \[0, 3\) \(or ignore_index=-100\); found a label outside",
        ),
        ({"target": torch.tensor([0.0, 1.0])}, "target must hold integer class labels"),
        ({"target": torch.tensor([True, False])}, "target must hold integer class labels"),
        (
            {
                "pred": torch.zeros(2, 1),
                "target": torch.zeros(2, dtype=torch.long),
                "from_logits": True,
            },
            "softmax over axis 1, which needs at least 2 classes",
        ),
        (
            {"pred": torch.zeros(2, 0), "target": torch.zeros(2, dtype=torch.long)},
            r"target must hold class labels in \[0, 0\)",
        ),
        ({"axis": 2}, "axis=2 is out of range"),
        ({"axis": 0}, "axis=0 is the batch axis"),
        ({"batch": True}, r"global_tversky has no option\(s\) \['batch'\]"),
        ({"weights": torch.ones(3)}, r"global_tversky has no option\(s\) \['weights'\]"),
        ({"pred": np.full((2, 3), 0.5)}, "pred must be a torch.Tensor"),
        ({"class_weights": [1.0, 2.0]}, r"class_weights must have shape \(3,\)"),
        ({"class_weights": [1.0, -1.0, 1.0]}, "class_weights must be finite and non-negative"),
        ({"exclude_class": 3}, r"exclude_class must be a class index in \[0, 3\)"),
        ({"axis": None, "exclude_class": 0}, "exclude_class needs a class axis"),
        ({"smooth": -1.0}, "smooth must lie in"),
        ({"reduction": "avg"}, "reduction must be one of"),
        ({"alpha": -0.1}, "alpha must lie in"),
    ],
)
def test_overlap_bad_input(kwargs, message):
    args = {"pred": torch.full((2, 3), 0.5), "target": torch.ones(2, 3), "axis": 1, **kwargs}
    with pytest.raises(LossInputError, match=message):
        global_tversky(**args)


# --------------------------------------------- vocabulary-parallel cross-entropy

VOCAB, WIDTH = 11, 5


def _lm_head(seed: int = 7) -> tuple[torch.Tensor, ...]:
    gen = torch.Generator().manual_seed(seed)
    hidden = torch.randn(2, 9, WIDTH, generator=gen, dtype=torch.float64)
    weight = torch.randn(VOCAB, WIDTH, generator=gen, dtype=torch.float64)
    bias = torch.randn(VOCAB, generator=gen, dtype=torch.float64)
    target = torch.randint(0, VOCAB, (2, 9), generator=gen)
    target[0, ::3] = IGNORE
    return hidden, weight, bias, target


VOCAB_CASES = [
    {"reduction": "mean"},
    {"reduction": "sum", "label_smoothing": 0.2},
    {"reduction": "none", "label_smoothing": 0.1},
    {"reduction": "mean", "z_loss": 0.05},
    # A cap of 1.5 bends logits of order 1 to 5: a wrong tanh' would show.
    {"reduction": "none", "softcap": 1.5},
    {"reduction": "sum", "label_smoothing": 0.1, "z_loss": 0.02, "softcap": 2.0},
]


def _plain_reference(hidden, weight, bias, target, *, reduction, **options) -> torch.Tensor:
    """The whole vocabulary's loss in plain PyTorch (autograd gives the gradients): soft-
    capped logits, F.cross_entropy and PaLM's z-loss on the tokens that are not ignored."""
    logits = F.linear(hidden, weight, bias).flatten(0, -2)
    softcap = options.get("softcap")
    if softcap is not None:
        logits = softcap * torch.tanh(logits / softcap)
    y = target.flatten()
    loss = F.cross_entropy(
        logits,
        y,
        ignore_index=IGNORE,
        label_smoothing=options.get("label_smoothing", 0.0),
        reduction="none",
    )
    keep = y != IGNORE
    loss = loss + options.get("z_loss", 0.0) * torch.logsumexp(logits, dim=1).square() * keep
    if reduction == "none":
        return loss.reshape(target.shape)
    return loss.sum() / (keep.sum() if reduction == "mean" else 1)


def _vocab_parallel_worker(rank: int, world_size: int) -> None:
    hidden, weight, bias, target = _lm_head()
    # Uneven consecutive blocks: 11 rows over 2 ranks is 6 + 5, over 3 ranks 4 + 4 + 3.
    blocks = torch.arange(VOCAB).tensor_split(world_size)
    rows = blocks[rank]
    gen = torch.Generator().manual_seed(11)
    for case in VOCAB_CASES:
        h = hidden.clone().requires_grad_()
        w = weight.clone().requires_grad_()
        b = bias.clone().requires_grad_()
        full = _plain_reference(h, w, b, target, **case)
        grad_output = torch.randn(full.shape, generator=gen, dtype=torch.float64)
        want = torch.autograd.grad(full, (h, w, b), grad_output)
        h_mine = hidden.clone().requires_grad_()
        w_mine = weight[rows].clone().requires_grad_()
        b_mine = bias[rows].clone().requires_grad_()
        loss = vocab_parallel_cross_entropy(h_mine, w_mine, target, bias=b_mine, **case)
        close(loss, full.detach(), f"{case} loss")
        got = torch.autograd.grad(loss, (h_mine, w_mine, b_mine), grad_output)
        close(got[0], want[0], f"{case} hidden grad")
        close(got[1], want[1][rows], f"{case} weight block grad")
        close(got[2], want[2][rows], f"{case} bias block grad")
    # Every target ignored: mean 0 with zero gradients, on every rank.
    w_mine = weight[rows].clone().requires_grad_()
    loss = vocab_parallel_cross_entropy(hidden, w_mine, torch.full_like(target, IGNORE))
    loss.backward()
    assert float(loss.detach()) == 0.0 and not w_mine.grad.any()


def _all_workers(rank: int, world_size: int) -> None:
    _global_mean_worker(rank, world_size)
    _overlap_worker(rank, world_size)
    _vocab_parallel_worker(rank, world_size)


def test_global_mean_overlap_and_vocab_parallel_in_two_processes():
    """All three in one process group: starting processes (and DDP's imports) dominates."""
    run(_all_workers, 2)


def test_vocab_parallel_in_three_processes():
    run(_vocab_parallel_worker, 3)


def test_vocab_parallel_without_process_group_is_cross_entropy():
    hidden, weight, bias, target = _lm_head()
    h = hidden.clone().requires_grad_()
    got = vocab_parallel_cross_entropy(h, weight, target, bias=bias, label_smoothing=0.1)
    want = F.cross_entropy(
        F.linear(hidden, weight, bias).flatten(0, 1), target.flatten(), label_smoothing=0.1
    )
    close(got, want, "loss")
    got.backward()
    h_ref = hidden.clone().requires_grad_()
    F.cross_entropy(
        F.linear(h_ref, weight, bias).flatten(0, 1), target.flatten(), label_smoothing=0.1
    ).backward()
    close(h.grad, h_ref.grad, "hidden grad")


@pytest.mark.parametrize(
    "case", VOCAB_CASES, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items())
)
def test_vocab_parallel_without_process_group_is_the_plain_reference(case):
    # z-loss and soft-capping against autograd through the plain computation.
    hidden, weight, bias, target = _lm_head()
    mine = [t.clone().requires_grad_() for t in (hidden, weight, bias)]
    plain = [t.clone().requires_grad_() for t in (hidden, weight, bias)]
    got = vocab_parallel_cross_entropy(mine[0], mine[1], target, bias=mine[2], **case)
    want = _plain_reference(*plain, target, **case)
    close(got, want.detach(), f"{case} loss")
    grad_output = torch.randn(want.shape, generator=torch.Generator().manual_seed(2)).double()
    got_grads = torch.autograd.grad(got, mine, grad_output)
    want_grads = torch.autograd.grad(want, plain, grad_output)
    for name, g, w in zip(("hidden", "weight", "bias"), got_grads, want_grads, strict=True):
        close(g, w, f"{case} {name} grad")


def test_vocab_parallel_gradcheck_with_every_option():
    hidden, weight, bias, target = _lm_head()
    inputs = [hidden[0].clone(), weight.clone(), bias.clone()]
    options = {"label_smoothing": 0.1, "z_loss": 0.05, "softcap": 1.5, "reduction": "none"}

    def loss(h, w, b):
        return vocab_parallel_cross_entropy(h, w, target[0], bias=b, **options)

    assert torch.autograd.gradcheck(loss, [t.requires_grad_() for t in inputs])


def test_vocab_parallel_bfloat16_computes_in_float32():
    hidden, weight, bias, target = _lm_head()
    low = [t.to(torch.bfloat16).requires_grad_() for t in (hidden, weight, bias)]
    options = {"z_loss": 1e-2, "softcap": 2.0}
    got = vocab_parallel_cross_entropy(low[0], low[1], target, bias=low[2], **options)
    assert got.dtype == torch.bfloat16
    exact = [t.detach().double().requires_grad_() for t in low]
    want = _plain_reference(*exact, target, reduction="mean", **options)
    torch.testing.assert_close(got.double(), want.detach(), rtol=2e-2, atol=2e-2)
    got_grads = torch.autograd.grad(got, low)
    assert [g.dtype for g in got_grads] == [torch.bfloat16] * 3
    for g, w in zip(got_grads, torch.autograd.grad(want, exact), strict=True):
        torch.testing.assert_close(g.double(), w, rtol=5e-2, atol=2e-2)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"weight": torch.ones(VOCAB, WIDTH + 1)}, r"weight must be this rank's non-empty block"),
        ({"bias": torch.ones(VOCAB + 1)}, r"bias must have shape \(11,\)"),
        ({"target": torch.zeros(2, 9)}, "target must hold integer class labels"),
        ({"target": torch.zeros(9, dtype=torch.long)}, r"target must have shape \(2, 9\)"),
        ({"target": torch.full((2, 9), VOCAB)}, r"target must hold class labels in \[0, 11\)"),
        ({"label_smoothing": 1.0}, "label_smoothing must lie in"),
        ({"z_loss": -0.1}, "z_loss must lie in"),
        ({"softcap": 0.0}, "softcap must lie in"),
        ({"reduction": "avg"}, "reduction must be one of"),
    ],
)
def test_vocab_parallel_bad_input(kwargs, message):
    hidden, weight, _, target = _lm_head()
    args = {"hidden": hidden, "weight": weight, "target": target, **kwargs}
    with pytest.raises(LossInputError, match=message):
        vocab_parallel_cross_entropy(**args)


def test_global_token_mean_in_float16_beyond_65504_tokens():
    # the count used to be cast to float16 (inf), which made every loss and gradient 0
    from losskit.torch.distributed import GlobalTokenMean

    out = GlobalTokenMean(torch.arange(70_000) % 5)(torch.tensor(1000.0, dtype=torch.float16))
    assert out.dtype == torch.float16
    torch.testing.assert_close(out.float(), torch.tensor(1000.0 / 70_000), rtol=1e-3, atol=0)


def test_vocab_parallel_checks_dtypes_and_bool_targets():
    from losskit.torch.distributed import GlobalTokenMean, vocab_parallel_cross_entropy

    with pytest.raises(LossInputError, match="weight must have hidden's dtype"):
        vocab_parallel_cross_entropy(
            torch.randn(4, 5, dtype=torch.float64), torch.randn(9, 5), torch.tensor([0, 1, 2, 3])
        )
    with pytest.raises(LossInputError, match=r"targets\[0\] must hold integer"):
        GlobalTokenMean(torch.ones(3, dtype=torch.bool))
