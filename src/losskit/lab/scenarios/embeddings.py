"""Embeddings of handwritten digits: metric-learning and contrastive losses."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from losskit.core.registry import get_loss
from losskit.lab import data as lab_data
from losskit.lab import metrics as m
from losskit.lab.scenario import (
    Candidate,
    Metric,
    Scenario,
)
from losskit.lab.scenarios._common import to_tensor
from losskit.lab.training import TrainConfig, mlp

__all__ = ["Embeddings"]


class _EmbeddingNet(torch.nn.Module):
    """An encoder to ``dim`` embedding values, and the extra parameters a loss trains
    with it: a linear classifier head (cross-entropy) or one centre per class (ArcFace,
    CosFace).  ``forward`` returns the embeddings."""

    def __init__(self, inputs: int, dim: int, classes: int, extra: str | None) -> None:
        super().__init__()
        self.encoder = mlp(inputs, (64,), dim)
        self.head = torch.nn.Linear(dim, classes) if extra == "head" else None
        self.centres = (
            torch.nn.Parameter(torch.randn(classes, dim) / dim**0.5) if extra == "centres" else None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)


class Embeddings(Scenario):
    name = "embedding"
    title = "Embeddings of handwritten digits"
    primary = "recall_at_1"
    baseline = "cross-entropy head"
    curve_metric = "validation recall@1"
    dim = 16
    per_class = 6  # examples of each class in every batch
    metrics = (
        Metric(
            "recall_at_1",
            "recall@1",
            "higher",
            3,
            "share of held-out digits whose nearest other held-out digit (cosine similarity of "
            "the embeddings) is the same digit",
        ),
        Metric(
            "knn_accuracy",
            "5-NN accuracy",
            "higher",
            3,
            "held-out digits classified by the majority of their 5 nearest training digits in "
            "the embedding (cosine similarity)",
        ),
    )

    def candidates(self) -> tuple[Candidate, ...]:
        return (
            Candidate(
                "cross-entropy head", "sparse_categorical_cross_entropy", {"from_logits": True}
            ),
            Candidate("SupCon τ=0.1", "supervised_contrastive", {"temperature": 0.1}),
            Candidate("NT-Xent τ=0.1", "nt_xent", {"temperature": 0.1}),
            Candidate("InfoNCE τ=0.1, pairs", "info_nce", {"temperature": 0.1, "symmetric": True}),
            Candidate(
                "triplet cosine m=0.2", "triplet_margin", {"margin": 0.2, "distance": "cosine"}
            ),
            Candidate("ArcFace s=16 m=0.5", "arcface", {"scale": 16.0, "margin": 0.5}),
            Candidate("CosFace s=16 m=0.35", "cosface", {"scale": 16.0, "margin": 0.35}),
        )

    def config(self, quick: bool) -> TrainConfig:
        return TrainConfig(epochs=8 if quick else 20, lr=3e-3, weight_decay=1e-4)

    def description(self, quick: bool) -> str:
        size = "a stratified subsample of 900 of its 1797" if quick else "all 1797"
        return (
            f"scikit-learn's digits: {size} handwritten digits of 8×8 pixels, 64 standardised "
            "features, 40% held out (stratified), 20% of the training part (stratified) as "
            "the validation set. Model: a multi-layer perceptron with one hidden layer of 64 "
            f"units to a {self.dim}-value embedding, trained with Adam for up to "
            f"{self.config(quick).epochs} epochs on batches of {self.per_class} digits of "
            "each class. The cross-entropy baseline trains a linear classifier on the "
            "embedding and retrieves with the embedding; ArcFace and CosFace learn one centre "
            "per class with it. SupCon and NT-Xent take the labels; InfoNCE sees only pairs "
            "(two digits of the same class, the other pairs of the batch, some of the same "
            "class, as negatives); the triplet loss takes for each digit a random positive "
            "and negative from the batch, without mining. Retrieval (among the held-out "
            "digits, or among the validation digits to choose the epoch) and the 5-NN "
            "classifier (against the training digits) compare embeddings by cosine similarity."
        )

    def prepare(self, repeat: int, quick: bool) -> lab_data.ClassData:
        return lab_data.multiclass_digits(repeat, size=900 if quick else None)

    def _sampler(self, labels: np.ndarray, classes: int) -> Any:
        """Batches of ``per_class`` rows of every class, class by class: the shuffled
        members of each class dealt out in groups; a class's remainder is left out."""
        members = [torch.from_numpy(np.flatnonzero(labels == c)) for c in range(classes)]
        k = self.per_class
        batches_per_epoch = min(len(m) for m in members) // k

        def sample(generator: torch.Generator) -> list[torch.Tensor]:
            shuffled = [m[torch.randperm(len(m), generator=generator)] for m in members]
            return [
                torch.cat([s[b * k : (b + 1) * k] for s in shuffled])
                for b in range(batches_per_epoch)
            ]

        return sample

    def _loss_of_batch(
        self, candidate: Candidate, net: _EmbeddingNet, classes: int, seed: int
    ) -> Any:
        """The candidate's loss on a batch of embeddings laid out class by class."""
        criterion = candidate.build()
        arrays = get_loss(candidate.name).arrays
        k = self.per_class
        negatives = torch.Generator().manual_seed(seed)

        def loss(embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
            if net.head is not None:
                return criterion(net.head(embeddings), labels)
            if net.centres is not None:
                return criterion(embeddings, labels, net.centres)
            if arrays == ("query", "key"):
                # two digits of a class form a pair: even and odd places within the class
                grouped = embeddings.reshape(classes, k, -1)
                return criterion(grouped[:, 0::2].flatten(0, 1), grouped[:, 1::2].flatten(0, 1))
            if arrays == ("anchor", "positive", "negative"):
                grouped = embeddings.reshape(classes, k, -1)
                positive = grouped.roll(1, dims=1)  # another digit of the class
                shift = torch.randint(1, classes, (classes, 1), generator=negatives)
                rows = (torch.arange(classes)[:, None] + shift) % classes
                negative = grouped[rows.expand(classes, k), torch.arange(k)]
                return criterion(*(t.flatten(0, 1) for t in (grouped, positive, negative)))
            return criterion(embeddings, labels)

        return loss

    def build_model(self, data: lab_data.ClassData, candidate: Candidate) -> torch.nn.Module:
        arrays = get_loss(candidate.name).arrays
        extra = "centres" if "centres" in arrays else "head" if arrays[1] == "target" else None
        return _EmbeddingNet(data.x_train.shape[1], self.dim, data.classes, extra)

    def loss_of_batch(
        self, candidate: Candidate, data: lab_data.ClassData, model: torch.nn.Module, seed: int
    ) -> Any:
        return self._loss_of_batch(candidate, model, data.classes, seed)

    def training_pairs(
        self, data: lab_data.ClassData, candidate: Candidate
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return to_tensor(data.x_train), to_tensor(data.y_train)

    def sampler(self, data: lab_data.ClassData) -> Any:
        return self._sampler(data.y_train, data.classes)

    def measure(
        self, model: torch.nn.Module, data: lab_data.ClassData, part: str
    ) -> dict[str, float]:
        x, y = (data.x_val, data.y_val) if part == "val" else (data.x_test, data.y_test)
        train, queries = (model(to_tensor(a)).double().numpy() for a in (data.x_train, x))
        return {
            "recall_at_1": m.recall_at_1(queries, y),
            "knn_accuracy": m.knn_accuracy(train, data.y_train, queries, y),
        }
