"""Regression tests for the findings of an outside review (one test per fixed finding)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

import losskit
from losskit.cli import main
from losskit.guide.catalogue import parse_loss_spec


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_eval_on_empty_arrays_reports_a_zero_mean_and_no_samples(capsys, tmp_path):
    # `reshape(0, -1)` used to crash the per-sample breakdown with a traceback.
    np.save(tmp_path / "p.npy", np.zeros((0, 3)))
    np.save(tmp_path / "t.npy", np.zeros((0, 3)))
    code, out, err = run_cli(
        capsys,
        "eval",
        "mse",
        "--pred",
        str(tmp_path / "p.npy"),
        "--target",
        str(tmp_path / "t.npy"),
        "--json",
    )
    assert code == 0, err
    result = json.loads(out)
    assert result["value"] == 0.0
    assert result["breakdown"] == {"kind": "sample", "samples": 0, "rows": []}


def test_loss_specs_take_colon_separated_options_as_the_lab_does(capsys, tmp_path):
    # "from_logits=true:ignore_index=-100" used to become from_logits="true:ignore..."
    # (a true-looking string) with ignore_index silently dropped.
    np.save(tmp_path / "x.npy", np.array([[2.0, 0.0, -1.0], [0.5, 0.5, 0.5]]))
    np.save(tmp_path / "y.npy", np.array([0, -100]))
    spec = "sparse_categorical_cross_entropy:from_logits=true:ignore_index=-100"
    code, out, err = run_cli(
        capsys,
        "eval",
        spec,
        "--pred",
        str(tmp_path / "x.npy"),
        "--target",
        str(tmp_path / "y.npy"),
        "--json",
    )
    assert code == 0, err
    expected = losskit.sparse_categorical_cross_entropy(
        np.load(tmp_path / "x.npy"), np.array([0, -100]), from_logits=True, ignore_index=-100
    )
    assert np.isclose(json.loads(out)["value"], expected)
    assert (
        parse_loss_spec("huber:delta=2")
        == parse_loss_spec("huber:delta=2,")
        == (
            "huber",
            {"delta": 2},
        )
    )


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("binary_cross_entropy:from_logits=yes", "'from_logits' of 'binary_cross_entropy': from_l"),
        ("huber:delta=-1", "delta must lie in"),
        ("box_iou:variant=wiou", "variant must be one of"),
    ],
)
def test_loss_specs_check_option_values_before_any_data(capsys, spec, match):
    # `losskit explain huber:delta=-1` used to print an example with the invalid option.
    with pytest.raises(losskit.LossInputError, match=match):
        parse_loss_spec(spec)
    code, _, err = run_cli(capsys, "explain", spec)
    assert code == 2 and match.split()[0] in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("recommend", "--task", "regression", "--top", "0"), "--top: must be at least 1"),
        (("recommend", "--task", "regression", "--top", "-2"), "--top: must be at least 1"),
        (("eval", "mse", "--top", "-1"), "--top: must be at least 0"),
    ],
)
def test_top_counts_out_of_range_are_usage_errors(capsys, argv, message):
    # `recommend --top 0` used to print "no registered loss fits this description".
    code, out, err = run_cli(capsys, *argv)
    assert code == 2 and message in err and "no registered loss" not in out


@pytest.mark.parametrize("divisor", [0, 0.0, float("nan"), float("inf")])
def test_dividing_a_composite_needs_a_finite_nonzero_number(divisor):
    # `/ nan` used to give NaN weights (a NaN loss), `/ inf` a silent zero weight and
    # `/ 0` a TypeError about unsupported operands.
    with pytest.raises(losskit.LossInputError, match="divided by a finite, non-zero"):
        losskit.combine("mse") / divisor


@pytest.mark.parametrize(
    "scale", [lambda c: c * 1e308 * 10, lambda c: c / 1e-320, lambda c: 1e200 * (c * 1e200)]
)
def test_scaling_a_composite_never_makes_an_infinite_weight(scale):
    composite = losskit.combine({"mse": 2.0, "mae": 1.0})
    with pytest.raises(losskit.LossInputError, match="must be a finite number; got inf"):
        scale(composite)
    halved = composite / 2
    assert [p.weight for p in halved.parts] == [1.0, 0.5]


def test_box_iou_eps_is_an_area_floor_that_tiny_boxes_reach():
    # The docs said "only boxes without area reach" eps; boxes of side 1e-4 do.
    pred = np.array([[0.0, 0.0, 1e-4, 1e-4]])
    target = np.array([[0.5e-4, 0.0, 1.5e-4, 1e-4]])  # half overlap: IoU = 1/3
    assert float(losskit.box_iou(pred, target)) > 0.9
    assert np.isclose(float(losskit.box_iou(pred, target, eps=1e-14)), 2.0 / 3.0)
    assert (
        "Boxes whose union is smaller than eps"
        in losskit.get_loss("box_iou").declared_options["eps"].doc
    )


def _box_gradient(pred: list[float], variant: str) -> np.ndarray:
    torch = pytest.importorskip("torch")
    boxes = torch.tensor([pred], dtype=torch.float64, requires_grad=True)
    losskit.box_iou(
        boxes, torch.tensor([[0.0, 0.0, 1.0, 1.0]], dtype=torch.float64), variant=variant
    ).backward()
    return boxes.grad.numpy()[0]


def test_inverted_predicted_boxes_get_the_gradient_the_docs_describe():
    # docs/conventions.md said GIoU and DIoU "still pull" an inverted box to the target;
    # an inverted box centred on the target gets no gradient from either.
    for variant in ("giou", "diou"):
        assert np.all(_box_gradient([0.8, 0.8, 0.2, 0.2], variant) == 0)
    # off-centre and inside the target's span: DIoU moves the centre, GIoU does nothing
    assert np.all(_box_gradient([2.0, 2.0, 0.0, 0.0], "giou") == 0)
    assert np.all(_box_gradient([2.0, 2.0, 0.0, 0.0], "diou") > 0)
    # corners outside the target's span: GIoU has a gradient again
    assert np.any(_box_gradient([12.0, 12.0, 10.0, 10.0], "giou") != 0)


@pytest.mark.parametrize(
    ("cls", "options", "match"),
    [
        ("Huber", {"delta": -1.0}, "delta must lie in"),
        ("BoxIoU", {"variant": "wiou"}, "variant must be one of"),
        ("GANDiscriminator", {"variant": "hinge", "from_logits": False}, "from_logits=False"),
    ],
)
def test_keras_losses_check_their_options_when_built(cls, options, match):
    # The Keras classes used to accept Huber(delta=-1) and fail at the first batch, where
    # the PyTorch modules check options when they are built.
    os.environ.setdefault("KERAS_BACKEND", "jax")  # before Keras is first imported
    pytest.importorskip("keras")
    import losskit.keras

    with pytest.raises(losskit.LossInputError, match=match):
        getattr(losskit.keras, cls)(**options)
    assert getattr(losskit.keras, cls)().get_config()["reduction"] == "sum_over_batch_size"
