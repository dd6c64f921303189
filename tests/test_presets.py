"""The presets (losskit.presets): composites declared as data, with their function,
PyTorch module and Keras loss agreeing with the sum of their parts."""

from __future__ import annotations

import os

import numpy as np
import pytest

import losskit
from losskit.presets import PRESETS

RNG = np.random.default_rng(0)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_a_preset_is_the_weighted_sum_of_its_parts(name):
    logits = RNG.normal(size=(2, 4, 5, 3))
    labels = RNG.integers(0, 3, (2, 4, 5))
    declaration = PRESETS[name]
    label, loss, _ = declaration.parts[1]
    composite = getattr(losskit, name)(from_logits=True, **{f"{label}_weight": 0.25})
    total, parts = composite.evaluate(logits, labels)
    expected = losskit.dice(logits, labels, axis=-1, from_logits=True) + 0.25 * losskit.get_loss(
        loss
    ).fn(logits, labels, axis=-1, from_logits=True)
    assert float(total) == pytest.approx(float(expected), rel=1e-12)
    assert sorted(parts) == sorted(loss_name for _, loss_name, _ in declaration.parts)


def test_preset_options_are_checked_by_combine():
    with pytest.raises(losskit.LossInputError, match="not options of any part"):
        losskit.dice_ce(temperature=2.0)
    with pytest.raises(losskit.LossInputError, match="smooth must lie in"):
        losskit.dice_ce(smooth=-1.0)(np.full((1, 2, 3), 0.5), np.zeros((1, 2), dtype=np.int64))


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_the_torch_module_takes_logits_on_dim_1(name):
    torch = pytest.importorskip("torch")
    import losskit.torch
    from losskit.core.registry import class_name

    logits = torch.tensor(RNG.normal(size=(2, 3, 4, 5)), requires_grad=True)
    labels = torch.tensor(RNG.integers(0, 3, (2, 4, 5)))
    module = getattr(losskit.torch, class_name(name))(reduction="sum")
    value = module(logits, labels)
    expected = getattr(losskit, name)(axis=1, from_logits=True)(logits, labels, reduction="sum")
    assert float(value.detach()) == pytest.approx(float(expected.detach()), rel=1e-12)
    value.backward()
    assert torch.isfinite(logits.grad).all()
    assert class_name(name) in dir(losskit.torch)


def test_the_keras_loss_saves_as_its_parts():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    keras = pytest.importorskip("keras")
    import losskit.keras

    probs = RNG.dirichlet(np.ones(3), (2, 4, 5)).astype("float32")
    labels = RNG.integers(0, 3, (2, 4, 5))
    loss = losskit.keras.DiceCE(ce_weight=0.5)
    expected = float(losskit.dice_ce(ce_weight=0.5)(probs, labels))
    assert float(loss(labels, probs)) == pytest.approx(expected, rel=1e-5)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
    assert float(restored(labels, probs)) == pytest.approx(expected, rel=1e-5)
