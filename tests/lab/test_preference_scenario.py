"""The preference scenario's bandit: its pairs, its reference policy, its runs."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from losskit.lab.scenario import Candidate, seeded_model  # noqa: E402
from losskit.lab.scenarios.preference import BanditData, Preference  # noqa: E402
from losskit.lab.training import torch_settings  # noqa: E402


@pytest.fixture(scope="module")
def scenario() -> Preference:
    return Preference()


@pytest.fixture(scope="module")
def data(scenario: Preference) -> BanditData:
    with torch_settings(1):
        return scenario.prepare(0, quick=False)


def test_pairs_are_labelled_by_the_hidden_reward_with_the_stated_noise(
    scenario: Preference, data: BanditData
) -> None:
    rows = np.arange(len(data.chosen))
    assert np.all(data.chosen != data.rejected)
    gap = np.abs(data.reward_train[rows, data.chosen] - data.reward_train[rows, data.rejected])
    right = data.reward_train[rows, data.chosen] > data.reward_train[rows, data.rejected]
    # Bradley-Terry picks the better response with probability sigmoid(scale |gap|), and a
    # flip of a share `flip` of the labels swaps that
    bradley_terry = 1.0 / (1.0 + np.exp(-scenario.preference_scale * gap))
    expected = np.mean((1 - scenario.flip) * bradley_terry + scenario.flip * (1 - bradley_terry))
    standard_error = np.sqrt(expected * (1 - expected) / len(rows))
    assert abs(right.mean() - expected) < 4 * standard_error
    assert 0.7 < right.mean() < 0.9  # neither noiseless nor a coin


def test_pairs_come_from_the_reference_policy(data: BanditData) -> None:
    # responses the reference finds likelier appear more often in the pairs
    p = np.exp(data.reference_train)
    rows = np.arange(len(p))
    drawn = np.concatenate([p[rows, data.chosen], p[rows, data.rejected]]).mean()
    assert drawn > 1.5 * p.mean()


def test_the_reference_policy_is_the_initial_policy(scenario: Preference, data: BanditData) -> None:
    candidate = scenario.candidates()[0]
    model = seeded_model(5, lambda: scenario.build_model(data, candidate))
    model.eval()
    with torch.no_grad():
        logps = torch.log_softmax(model(torch.from_numpy(data.x_train)).double(), dim=1)
    np.testing.assert_allclose(logps.numpy(), data.reference_train, atol=1e-6)
    with torch.no_grad():
        metrics = scenario.measure(model, data, "test")
    # no gain, no distance, no pair whose log-ratio margin moved
    assert metrics == pytest.approx({"reward": 0.0, "kl": 0.0, "pair_accuracy": 0.0}, abs=1e-6)
    # the reference is better than a uniform answer but far from the best response
    reward = data.test.reward
    of_reference = np.sum(np.exp(data.test.reference) * reward, axis=1).mean()
    assert reward.mean() < of_reference < reward.max(axis=1).mean()


def test_dpo_with_a_large_beta_stays_near_the_reference(
    scenario: Preference, data: BanditData
) -> None:
    with torch_settings(1):
        loose, tight = (
            scenario.train(Candidate(f"DPO β={beta}", "dpo", {"beta": beta}), data, 0, quick=True)
            for beta in (0.1, 10.0)
        )
    assert loose.metrics["reward"] > 0.3  # the pairs teach DPO at β=0.1 the better responses
    assert tight.metrics["kl"] < 0.05 < loose.metrics["kl"]
    assert tight.metrics["kl"] < loose.metrics["kl"] / 10


def test_quick_run_of_one_seed_gives_metrics_in_range(scenario: Preference) -> None:
    from losskit.lab.run import run_scenarios

    lab = run_scenarios([scenario], quick=True, seeds=1, threads=1, progress=False)
    (result,) = lab.scenarios
    assert set(result.runs) == {c.label for c in scenario.candidates()}
    for label, records in result.runs.items():
        (record,) = records
        metrics = record.result.metrics
        assert -1.0 < metrics["reward"] <= 1.0, label
        assert metrics["kl"] >= 0.0, label
        assert 0.0 <= metrics["pair_accuracy"] <= 1.0, label
    best = max(records[0].result.metrics["reward"] for records in result.runs.values())
    assert best > 0.3
