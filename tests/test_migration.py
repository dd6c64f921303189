"""The migration page's translations: the peer's call and losskit's give the same number."""

from __future__ import annotations

import importlib
import importlib.util

import numpy as np
import pytest

import losskit
from losskit.guide.migration import PEERS, TRANSLATIONS, Translation


def _torch_inputs(kind: str, rng: np.random.Generator) -> dict:
    import torch

    def t(x):
        return torch.tensor(x)

    if kind == "real":
        return {
            "pred": t(rng.normal(size=(8, 3))),
            "target": t(rng.normal(size=(8, 3))),
            "var": t(rng.uniform(0.2, 2.0, size=(8, 3))),
            "counts": t(rng.poisson(2.0, size=(8, 3)).astype(float)),
        }
    if kind == "binary logits":
        return {
            "logits": t(rng.normal(size=(8, 3)) * 2),
            "labels": t(rng.integers(0, 2, (8, 3)).astype(float)),
        }
    if kind == "binary probabilities":
        return {
            "probs": t(rng.uniform(0.05, 0.95, size=(8, 3))),
            "labels": t(rng.integers(0, 2, (8, 3)).astype(float)),
        }
    if kind == "class logits":
        classes = rng.integers(0, 5, 8)
        masked = classes.copy()
        masked[[1, 4]] = -100
        soft = np.exp(rng.normal(size=(8, 5)))
        return {
            "logits": t(rng.normal(size=(8, 5)) * 2),
            "classes": t(classes),
            "masked": t(masked),
            "soft": t(soft / soft.sum(axis=1, keepdims=True)),
        }
    if kind == "boxes":
        corners = rng.uniform(0, 10, size=(2, 8, 2))
        sizes = rng.uniform(1, 5, size=(2, 8, 2))
        boxes = np.concatenate([corners, corners + sizes], axis=-1)
        return {"boxes": t(boxes[0]), "true_boxes": t(boxes[1])}
    if kind == "binary masks":
        return {
            "logits": t(rng.normal(size=(2, 1, 12, 12)) * 2),
            "masks": t((rng.uniform(size=(2, 1, 12, 12)) < 0.3).astype(float)),
        }
    if kind == "class masks":
        return {
            "logits": t(rng.normal(size=(2, 4, 12, 12)) * 2),
            "classes": t(rng.integers(0, 4, (2, 12, 12))),
        }
    raise KeyError(kind)


def _inputs(kind: str, rng: np.random.Generator) -> dict:
    if kind.startswith("keras "):
        kind = kind.removeprefix("keras ")
        logits = rng.normal(size=(8, 5)).astype(np.float32) * 2
        if kind == "real":
            return {
                "y_true": rng.normal(size=(8, 3)).astype(np.float32),
                "y_pred": rng.normal(size=(8, 3)).astype(np.float32),
            }
        if kind == "binary logits":
            return {
                "y_true": rng.integers(0, 2, (8, 3)).astype(np.float32),
                "y_pred": logits[:, :3],
            }
        if kind == "class logits":
            return {"y_true": rng.integers(0, 5, 8), "y_pred": logits}
        if kind == "class probabilities":
            probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
            return {"y_true": np.eye(5, dtype=np.float32)[rng.integers(0, 5, 8)], "y_pred": probs}
    if kind.startswith("jax "):
        import jax.numpy as jnp

        return {k: jnp.asarray(v.numpy()) for k, v in _torch_inputs(kind[4:], rng).items()}
    return _torch_inputs(kind, rng)


def _value(x) -> float:
    return float(np.asarray(x.detach() if hasattr(x, "detach") else x))


@pytest.mark.parametrize(
    "translation", TRANSLATIONS, ids=lambda t: f"{t.peer}: {t.theirs.split('(')[0]}"
)
def test_the_peer_and_losskit_give_the_same_loss(translation: Translation):
    module_name = PEERS[translation.peer][0]
    if importlib.util.find_spec(module_name) is None:
        pytest.skip(f"{module_name} is not installed")
    pytest.importorskip("torch")
    if translation.inputs.startswith("jax "):
        pytest.importorskip("jax")
    namespace = {
        "np": np,
        "losskit": importlib.import_module("losskit"),
        module_name: importlib.import_module(module_name),
    }
    import torch

    namespace["torch"] = torch
    importlib.import_module("losskit.torch")
    if translation.peer == "keras":
        importlib.import_module("losskit.keras")
    for name in ("optax", "monai", "kornia", "torchvision", "segmentation_models_pytorch"):
        if name in translation.theirs and importlib.util.find_spec(name) is not None:
            namespace[name] = importlib.import_module(name)
            if name in ("monai", "kornia"):
                importlib.import_module(f"{name}.losses")
            if name == "torchvision":
                importlib.import_module("torchvision.ops")
    inputs = _inputs(translation.inputs, np.random.default_rng(0))
    theirs = _value(eval(translation.theirs, {**namespace, **inputs}))
    ours = _value(eval(translation.ours, {**namespace, **inputs}))
    assert ours == pytest.approx(theirs, rel=2e-5, abs=1e-6), (translation.theirs, theirs, ours)


def test_every_peer_has_translations_and_losskit_names_exist():
    assert {t.peer for t in TRANSLATIONS} == set(PEERS)
    for translation in TRANSLATIONS:
        head = translation.ours.split("(")[0]
        parts = head.split(".")
        assert parts[0] == "losskit"
        if parts[1] not in ("torch", "keras"):
            assert parts[1] in losskit.available(), head
