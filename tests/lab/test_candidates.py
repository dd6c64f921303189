"""Candidates: the code the report shows builds the loss the lab trains with."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

import losskit  # noqa: E402
import losskit.torch  # noqa: E402
from losskit.lab.scenario import AUTO, Candidate  # noqa: E402


def test_module_candidate_code_and_build() -> None:
    candidate = Candidate("Huber", "huber", {"delta": 0.5})
    assert candidate.code() == "losskit.torch.Huber(delta=0.5)"
    module = candidate.build()
    assert isinstance(module, losskit.torch.Huber) and module.delta == 0.5
    built_from_code = eval(candidate.code(), {"losskit": losskit})
    pred, target = torch.tensor([0.0, 3.0]), torch.tensor([1.0, 0.0])
    assert torch.equal(module(pred, target), built_from_code(pred, target))


def test_auto_option_is_filled_from_the_data_and_shown_as_its_rule() -> None:
    candidate = Candidate(
        "weighted", "binary_cross_entropy", {"from_logits": True, "pos_weight": AUTO}
    )
    assert candidate.code() == (
        "losskit.torch.BinaryCrossEntropy(from_logits=True, pos_weight=negatives / positives)"
    )
    module = candidate.build({"pos_weight": 19.5})
    assert float(module.pos_weight) == 19.5


def test_composite_candidate_code_and_build() -> None:
    candidate = Candidate(
        "Dice + BCE",
        "dice+binary_cross_entropy",
        {"from_logits": True},
        parts={"dice": 0.5, "binary_cross_entropy": 0.5},
    )
    assert candidate.code() == (
        "losskit.combine({'dice': 0.5, 'binary_cross_entropy': 0.5}, from_logits=True)"
    )
    composite = candidate.build()
    assert repr(composite) == repr(eval(candidate.code(), {"losskit": losskit}))
    logits = torch.tensor([[[2.0, -1.0], [0.5, -3.0]]], requires_grad=True)
    masks = torch.tensor([[[1.0, 0.0], [1.0, 0.0]]])
    total, parts = composite.evaluate(logits, masks)
    expected = 0.5 * losskit.dice(logits, masks, from_logits=True) + 0.5 * (
        losskit.binary_cross_entropy(logits, masks, from_logits=True)
    )
    assert torch.allclose(total, expected)
    assert set(parts) == {"dice", "binary_cross_entropy"}
    total.backward()
    assert logits.grad is not None and torch.all(torch.isfinite(logits.grad))


def test_unknown_loss_name_is_a_clear_error() -> None:
    with pytest.raises(losskit.LossInputError, match="registered loss"):
        Candidate("x", "no_such_loss").build()


def test_code_of_the_candidates_with_their_own_inputs_computes_their_loss() -> None:
    """The boundary candidate's code reads masks and logits, the distribution head's
    decoded boxes and edge logits: evaluated on them, it gives the loss trained."""
    from losskit.lab.scenarios.boxes import BINS, BinsHead, _boxes_from_outputs, _edge_logits
    from losskit.lab.scenarios.segmentation import DiceWithBoundary, Segmentation

    torch.manual_seed(0)
    (boundary,) = [c for c in Segmentation().candidates() if isinstance(c, DiceWithBoundary)]
    logits = torch.randn(3, 1, 12, 12)
    masks = (torch.rand(3, 1, 12, 12) > 0.6).float()
    distance = torch.from_numpy(losskit.distance_maps(masks))
    trained = boundary.build()(logits, torch.cat([masks, distance], 1))
    shown = eval(
        boundary.code(), {"losskit": losskit, "torch": torch, "logits": logits, "masks": masks}
    )
    assert float(shown) == pytest.approx(float(trained), rel=1e-6)

    outputs = torch.randn(5, 4 * (BINS + 1))
    target = torch.tensor([[0.1, 0.2, 0.5, 0.9]] * 5)
    inputs = {"boxes": _boxes_from_outputs(outputs), "edge_logits": _edge_logits(outputs)}
    for parts in ({"smooth_l1": 1.0}, {"box_iou": 2.0, "distribution_focal": 0.25}):
        candidate = BinsHead("", "+".join(parts), parts=parts)
        shown = eval(candidate.code(), {"losskit": losskit, "target": target, **inputs})
        assert float(shown) == pytest.approx(float(candidate.build()(outputs, target)), rel=1e-6)
