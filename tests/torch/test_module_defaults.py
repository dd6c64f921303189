"""The one rule for the PyTorch modules' defaults (logits, classes on dim 1), and the
inputs it could make ambiguous, which are refused rather than misread."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

import losskit  # noqa: E402
import losskit.torch as lt  # noqa: E402

B, H, W = 2, 6, 5


@pytest.fixture
def logits_and_mask():
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(B, H, W, dtype=torch.float64, generator=generator)
    mask = (torch.rand(B, H, W, generator=generator) < 0.3).double()
    return logits, mask


def test_modules_take_logits_like_torch_nn():
    logits = torch.randn(8, 3, dtype=torch.float64)
    labels = torch.randint(0, 3, (8,))
    expected = torch.nn.CrossEntropyLoss()(logits, labels)
    torch.testing.assert_close(lt.SparseCategoricalCrossEntropy()(logits, labels), expected)
    targets = (torch.rand(8, 3) < 0.5).double()
    expected = torch.nn.BCEWithLogitsLoss()(logits, targets)
    torch.testing.assert_close(lt.BinaryCrossEntropy()(logits, targets), expected)


def test_a_binary_mask_goes_to_the_overlap_modules_element_by_element(logits_and_mask):
    logits, mask = logits_and_mask
    got = lt.Dice()(logits, mask)
    expected = losskit.dice(logits, mask, from_logits=True)  # axis=None: binary masks
    torch.testing.assert_close(got, expected)


@pytest.mark.parametrize(
    "module",
    [
        lt.CategoricalCrossEntropy(),
        lt.CategoricalFocal(),
        lt.KLDivergence(),
        lt.Dice(axis=1),
        lt.Jaccard(axis=1),
        lt.Tversky(axis=1),
    ],
    ids=lambda m: type(m).__name__,
)
def test_a_binary_mask_read_with_classes_on_dim_1_is_refused(module, logits_and_mask):
    logits, mask = logits_and_mask
    with pytest.raises(losskit.LossInputError, match="every row must sum to 1 along axis 1"):
        module(logits, mask)
    with pytest.raises(losskit.LossInputError, match="target must hold distributions"):
        module(logits, mask.long())  # an integer mask too


def test_distributions_along_dim_1_are_accepted():
    logits = torch.randn(B, 4, H, W, dtype=torch.float64)
    labels = torch.randint(0, 4, (B, H, W))
    one_hot = torch.nn.functional.one_hot(labels, 4).movedim(-1, 1).double()
    by_labels = lt.Dice(axis=1)(logits, labels)
    torch.testing.assert_close(lt.Dice(axis=1)(logits, one_hot), by_labels)
    soft = torch.softmax(torch.randn(B, 4, H, W, dtype=torch.float64), dim=1)
    expected = losskit.categorical_cross_entropy(logits, soft, axis=1, from_logits=True)
    torch.testing.assert_close(lt.CategoricalCrossEntropy()(logits, soft), expected)


def test_sigmoid_masks_per_class_stay_allowed():
    """axis with probabilities: per-class (multi-label) masks, not a softmax."""
    probs = torch.rand(B, 3, H, W, dtype=torch.float64)
    masks = (torch.rand(B, 3, H, W) < 0.5).double()
    got = lt.Dice(axis=1, from_logits=False)(probs, masks)
    torch.testing.assert_close(got, losskit.dice(probs, masks, axis=1))


def test_explain_and_recommend_show_each_frameworks_defaults(capsys):
    from losskit.cli import main

    assert main(["explain", "sparse_categorical_cross_entropy", "--json"]) == 0
    import json

    data = json.loads(capsys.readouterr().out)
    assert data["options"]["from_logits"] is False and data["options"]["axis"] == -1
    assert data["framework_defaults"]["pytorch"] == {"from_logits": True, "axis": 1}
    assert data["framework_defaults"]["keras"] == {}
    assert main(["explain", "dice"]) == 0
    out = capsys.readouterr().out
    assert "from_logits = False  (losskit.torch: True)" in out
    assert "\naxis = None\n" in out  # the module keeps the function's None
    assert main(["recommend", "--task", "binary", "--probabilities", "--framework", "pytorch"]) == 0
    out = capsys.readouterr().out
    assert "losskit.torch.BinaryCrossEntropy(from_logits=False)" in out
