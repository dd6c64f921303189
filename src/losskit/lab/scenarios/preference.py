"""Preference losses on a contextual bandit: DPO, IPO, cDPO, SimPO, ORPO, KTO."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from losskit.lab.findings import Comparison, describe
from losskit.lab.scenario import Candidate, Metric, RunResult, Scenario, seeded_model
from losskit.lab.scenarios._common import to_tensor
from losskit.lab.training import TrainConfig, fit, mlp
from losskit.torch.modules import module_for

__all__ = ["Preference"]


@dataclasses.dataclass(frozen=True)
class Contexts:
    """Validation or held-out contexts: the hidden reward and the reference policy's
    log-probabilities of every response, and one pair per context drawn from the
    reference, as (better, worse) by the hidden reward."""

    x: np.ndarray
    reward: np.ndarray
    reference: np.ndarray
    better: np.ndarray
    worse: np.ndarray


@dataclasses.dataclass(frozen=True)
class BanditData:
    """Contexts, the hidden reward of each of their responses, the reference policy and
    the preference pairs of one repeat."""

    #: the context of each training pair, its chosen and its rejected response
    x_train: np.ndarray
    chosen: np.ndarray
    rejected: np.ndarray
    #: the hidden reward and the reference policy's log-probabilities of every response,
    #: per training pair
    reward_train: np.ndarray
    reference_train: np.ndarray
    val: Contexts
    test: Contexts
    #: the reference policy's weights: every policy starts from them
    reference_state: dict[str, torch.Tensor]


def _sample_pairs(
    reference_logps: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Two different responses per context, each drawn from the reference policy (the
    second from the reference restricted to the responses other than the first)."""
    p = np.exp(reference_logps)
    first = np.array([rng.choice(len(row), p=row) for row in p])
    rest = p.copy()
    rest[np.arange(len(p)), first] = 0.0
    rest /= rest.sum(axis=1, keepdims=True)
    second = np.array([rng.choice(len(row), p=row) for row in rest])
    return first, second


def _log_probs(model: torch.nn.Module, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return torch.log_softmax(model(to_tensor(x)).double(), dim=1).numpy()


class Preference(Scenario):
    """Pairs from a reference policy, labelled by a hidden reward, on a contextual bandit."""

    name = "preference"
    title = "Preference pairs on a contextual bandit"
    primary = "reward"
    baseline = "DPO β=0.1"
    curve_metric = "validation reward gain"
    default_seeds = (3, 2)
    features = 8
    responses = 8
    hidden = (32,)
    #: the demonstrator's softmax temperature on the hidden reward
    demonstrator_temperature = 1.0
    #: the annotators' Bradley-Terry scale: P(y1 preferred) = sigmoid(scale (r1 - r2))
    preference_scale = 4.0
    #: share of preference labels flipped after the Bradley-Terry draw
    flip = 0.1
    metrics = (
        Metric(
            "reward",
            "reward gain",
            "higher",
            3,
            "the policy's expected hidden reward on held-out contexts, as a share of the "
            "way from the reference policy's (0) to always answering the best response (1)",
        ),
        Metric(
            "kl",
            "KL to reference",
            "lower",
            3,
            "mean KL(policy || reference) over held-out contexts, in nats (0 is the "
            "reference itself; reported, not a goal in itself)",
        ),
        Metric(
            "pair_accuracy",
            "pair accuracy",
            "higher",
            3,
            "share of held-out pairs (drawn from the reference) on which the policy raised "
            "the better response's log-probability, relative to the reference, more than "
            "the worse one's (DPO's implicit-reward accuracy, against the hidden reward)",
        ),
    )

    def candidates(self) -> tuple[Candidate, ...]:
        return (
            Candidate("DPO β=0.1", "dpo", {"beta": 0.1}),
            Candidate("IPO β=0.1", "dpo", {"beta": 0.1, "form": "ipo"}),
            Candidate("cDPO β=0.1, ε=0.1", "dpo", {"beta": 0.1, "label_smoothing": 0.1}),
            Candidate("SimPO β=2, γ=0.5", "simpo", {"beta": 2.0, "gamma": 0.5}),
            Candidate("SimPO β=0.1, γ=0", "simpo", {"beta": 0.1, "gamma": 0.0}),
            Candidate("ORPO λ=0.1", "orpo", {"lambda_": 0.1}),
            Candidate("KTO β=0.1", "kto", {"beta": 0.1}),
        )

    def _sizes(self, quick: bool) -> tuple[int, int, int, int]:
        """Demonstrations, training pairs, validation and held-out contexts."""
        return (1000, 500, 300, 1000) if quick else (1000, 1000, 300, 2000)

    def config(self, quick: bool) -> TrainConfig:
        return TrainConfig(epochs=20 if quick else 50, lr=3e-3, batch_size=64, curve_points=15)

    def description(self, quick: bool) -> str:
        demos, pairs, val, test = self._sizes(quick)
        config = self.config(quick)
        return (
            f"A contextual bandit: contexts are {self.features} standard normal features, "
            f"each has {self.responses} candidate responses, and the hidden reward of "
            "response y is a fixed random linear function of the context (w_y · x, w_y "
            f"drawn per seed, reward spread about 1). The reference policy, an MLP with "
            f"one hidden layer of {self.hidden[0]} units and a softmax over the responses, "
            f"is trained by cross-entropy on {demos} noisy demonstrations (a demonstrator "
            f"who answers with probability softmax(reward / {self.demonstrator_temperature:g})). "
            f"{pairs} preference pairs, one per training context: two different responses "
            "drawn from the reference, the preferred one drawn by Bradley-Terry on the "
            f"hidden reward with scale {self.preference_scale:g} (P(y1 preferred) = "
            f"sigmoid({self.preference_scale:g} (r1 - r2))), then {self.flip:.0%} of the "
            "labels flipped. Every policy starts from the reference's weights and is trained "
            f"on the pairs with Adam (learning rate {config.lr:g}, batches of "
            f"{config.batch_size}) for up to {config.epochs} epochs. A response's "
            "log-probability is log π(y|x), a sequence of one token (length 1), so SimPO's "
            "and ORPO's length-normalised (average) log-probabilities are the "
            "log-probabilities themselves. IPO uses DPO's β as the IPO paper's τ (target "
            "margin 1/(2β) = 5 nats at β=0.1). KTO takes each pair as one desirable "
            "(chosen) and one undesirable (rejected) response, with the exact KL of the "
            "batch's contexts as its reference point (the bandit allows it; KTO estimates "
            f"it in practice). The epoch kept has the best expected reward on {val} "
            f"validation contexts (the hidden reward is known here, unlike in practice); "
            f"metrics on {test} held-out contexts, exact sums over the responses (pair "
            "accuracy on one pair per context drawn from the reference). "
            "The best policy for this reward always answers the best response (it is "
            "deterministic), so moving away from the reference costs nothing on the "
            "primary metric; the KL column shows how far each loss moved. Simplified: "
            "one-token responses, a known reward, a small model."
        )

    def prepare(self, repeat: int, quick: bool) -> BanditData:
        demos, pairs, val, test = self._sizes(quick)
        rng = np.random.default_rng(30_000 + repeat)
        weights = rng.normal(size=(self.features, self.responses)) / np.sqrt(self.features)
        contexts = rng.normal(size=(demos + pairs + val + test, self.features)).astype(np.float32)
        reward = contexts.astype(np.float64) @ weights
        x_demo, x_train, x_val, x_test = np.split(contexts, np.cumsum([demos, pairs, val]))
        r_demo, r_train, r_val, r_test = np.split(reward, np.cumsum([demos, pairs, val]))
        # the reference policy: cross-entropy on noisy demonstrations
        demo_p = np.exp(r_demo / self.demonstrator_temperature)
        demo_p /= demo_p.sum(axis=1, keepdims=True)
        answers = np.array([rng.choice(self.responses, p=row) for row in demo_p])
        reference = seeded_model(
            10_000 + repeat, lambda: mlp(self.features, self.hidden, self.responses)
        )
        fit(
            reference,
            module_for("sparse_categorical_cross_entropy")(from_logits=True),
            to_tensor(x_demo),
            torch.from_numpy(answers),
            TrainConfig(epochs=30, lr=3e-3, batch_size=64, weight_decay=1e-4),
            seed=10_000 + repeat,
            heldout_metric=lambda mod: 0.0,
        )
        reference.eval()
        reference_train = _log_probs(reference, x_train)
        # preference pairs from the reference, labelled by Bradley-Terry, some flipped
        first, second = _sample_pairs(reference_train, rng)
        rows = np.arange(pairs)
        gap = r_train[rows, first] - r_train[rows, second]
        first_wins = rng.random(pairs) < 1.0 / (1.0 + np.exp(-self.preference_scale * gap))
        first_wins ^= rng.random(pairs) < self.flip
        chosen, rejected = np.where(first_wins, first, second), np.where(first_wins, second, first)
        return BanditData(
            x_train=x_train,
            chosen=chosen,
            rejected=rejected,
            reward_train=r_train,
            reference_train=reference_train,
            val=self._contexts(reference, x_val, r_val, rng),
            test=self._contexts(reference, x_test, r_test, rng),
            reference_state={k: v.clone() for k, v in reference.state_dict().items()},
        )

    @staticmethod
    def _contexts(
        reference: torch.nn.Module, x: np.ndarray, reward: np.ndarray, rng: np.random.Generator
    ) -> Contexts:
        logps = _log_probs(reference, x)
        a, b = _sample_pairs(logps, rng)
        rows = np.arange(len(x))
        a_better = reward[rows, a] > reward[rows, b]
        return Contexts(
            x=x,
            reward=reward,
            reference=logps,
            better=np.where(a_better, a, b),
            worse=np.where(a_better, b, a),
        )

    def build_model(self, data: BanditData, candidate: Candidate) -> torch.nn.Module:
        policy = mlp(self.features, self.hidden, self.responses)
        policy.load_state_dict(data.reference_state)
        return policy

    def training_pairs(
        self, data: BanditData, candidate: Candidate
    ) -> tuple[torch.Tensor, torch.Tensor]:
        # one target row per pair: chosen, rejected, then the reference's log-probabilities
        rows = np.column_stack([data.chosen, data.rejected, data.reference_train])
        return to_tensor(data.x_train), to_tensor(rows.astype(np.float32))

    def loss_of_batch(
        self, candidate: Candidate, data: BanditData, model: torch.nn.Module, seed: int
    ) -> Any:
        criterion = candidate.build()

        def loss(logits: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
            chosen, rejected = rows[:, :1].long(), rows[:, 1:2].long()
            reference = rows[:, 2:]
            logps = torch.log_softmax(logits, dim=1)
            policy_chosen = logps.gather(1, chosen)[:, 0]
            policy_rejected = logps.gather(1, rejected)[:, 0]
            if candidate.name in ("simpo", "orpo"):
                # one-token responses: the average log-probability is the log-probability
                return criterion(policy_chosen, policy_rejected)
            reference_chosen = reference.gather(1, chosen)[:, 0]
            reference_rejected = reference.gather(1, rejected)[:, 0]
            if candidate.name == "kto":
                # each pair gives one desirable and one undesirable response; the reference
                # point is the batch's exact KL(policy || reference)
                kl = (logps.exp() * (logps - reference)).sum(dim=1).mean()
                desirable = torch.arange(2 * len(rows)) < len(rows)
                return criterion(
                    torch.cat([policy_chosen, policy_rejected]),
                    torch.cat([reference_chosen, reference_rejected]),
                    desirable,
                    kl.detach(),
                )
            return criterion(policy_chosen, policy_rejected, reference_chosen, reference_rejected)

        return loss

    def measure(self, model: torch.nn.Module, data: BanditData, part: str) -> dict[str, float]:
        contexts = data.val if part == "val" else data.test
        reward, reference = contexts.reward, contexts.reference
        logps = _log_probs(model, contexts.x)
        p = np.exp(logps)
        expected = np.sum(p * reward, axis=1).mean()
        of_reference = np.sum(np.exp(reference) * reward, axis=1).mean()
        best = reward.max(axis=1).mean()
        rows = np.arange(len(reward))
        ratio = logps - reference  # the implicit reward, up to beta
        margin = ratio[rows, contexts.better] - ratio[rows, contexts.worse]
        return {
            "reward": float((expected - of_reference) / (best - of_reference)),
            "kl": float(np.sum(p * (logps - reference), axis=1).mean()),
            "pair_accuracy": float(np.mean(margin > 0)),
        }

    def extra_findings(self, summary: Mapping[str, Mapping[str, list[float]]]) -> list[str]:
        """How far IPO and DPO moved from the reference, judged by the seed spread."""
        dpo, ipo = summary.get(self.baseline), summary.get("IPO β=0.1")
        if dpo is None or ipo is None:
            return []
        kl = self.metric("kl")
        comparison = Comparison("IPO β=0.1", self.baseline, kl, tuple(ipo["kl"]), tuple(dpo["kl"]))
        return [describe(comparison, self.repeat_name)]

    def figures(self, results: Mapping[str, list[RunResult]]) -> list[tuple[str, Any]]:
        return [("reward-kl", _reward_against_kl(results))]


def _reward_against_kl(results: Mapping[str, list[RunResult]]) -> Any:
    """Each run's held-out reward gain against its KL to the reference."""
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6.4, 4.2))
    markers = "osD^vP*X"
    for index, (label, runs) in enumerate(results.items()):
        if not runs:
            continue
        axis.scatter(
            [run.metrics["kl"] for run in runs],
            [run.metrics["reward"] for run in runs],
            label=label,
            marker=markers[index % len(markers)],
            alpha=0.8,
        )
    axis.axhline(0.0, color="black", lw=0.8)
    axis.set_xscale("symlog", linthresh=0.01)
    axis.set_xlim(left=0.0)
    axis.set_xlabel("KL(policy || reference) on held-out contexts, nats")
    axis.set_ylabel("reward gain (0 = reference, 1 = best response)")
    axis.set_title(
        "Preference losses: reward gained against distance from the reference", fontsize=10
    )
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    figure.tight_layout()
    return figure
