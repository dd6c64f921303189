"""The plain-words findings follow the numbers: every verdict is checked on made-up runs."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("torch")

from losskit.lab.findings import compare, scenario_findings
from losskit.lab.run import RunRecord, ScenarioResult
from losskit.lab.scenario import Candidate, Metric, RunResult, Scenario
from losskit.lab.training import Curve


class Made(Scenario):
    """A scenario whose runs are given, not trained."""

    name = "made"
    title = "Made up"
    primary = "error"
    baseline = "base"
    metrics = (
        Metric("error", "error", "lower", 2, "an error"),
        Metric("score", "score", "higher", 2, "a score"),
    )

    def __init__(self, labels: list[str]) -> None:
        self.labels = labels

    def candidates(self) -> tuple[Candidate, ...]:
        return tuple(Candidate(label, "mse") for label in self.labels)

    def description(self, quick: bool) -> str:
        return "made up"

    def prepare(self, repeat: int, quick: bool) -> Any:
        raise AssertionError("not trained")

    def train(self, candidate: Candidate, data: Any, repeat: int, quick: bool) -> RunResult:
        raise AssertionError("not trained")


def made_result(
    values: dict[str, list[float]], scores: dict[str, list[float]] | None = None
) -> ScenarioResult:
    scenario = Made(list(values))
    runs = {}
    for label, errors in values.items():
        score = (scores or {}).get(label, [0.5] * len(errors))
        runs[label] = [
            RunRecord(i, RunResult({"error": e, "score": s}, Curve()), 0.0)
            if e is not None
            else RunRecord(i, None, 0.0, "the training loss became nan at epoch 3")
            for i, (e, s) in enumerate(zip(errors, score, strict=True))
        ]
    return ScenarioResult(
        scenario,
        False,
        list(range(len(next(iter(values.values()))))),
        scenario.candidates(),
        runs,
        0.0,
    )


def test_clear_improvement_in_every_seed() -> None:
    result = made_result({"base": [10.0, 11.0, 12.0], "robust": [5.0, 5.5, 6.0]})
    c = compare(result, "robust", "base", result.scenario.metric("error"))
    assert c.verdict == "better"
    assert c.better_in == 3
    assert c.mean_gain == pytest.approx(5.5)
    sentences = scenario_findings(result)
    assert sentences[0].startswith("Best error: robust, 5.50 ± 0.50")
    assert "ahead of the next best, base, in every seed" in sentences[0]
    assert (
        "robust had a lower error than base in all 3 seeds (5.50 against 11.00): 5.50 on average, 5.5 times the seed spread (1.00)."
        in sentences
    )


def test_difference_within_the_spread_is_not_called_a_win() -> None:
    result = made_result({"base": [10.0, 14.0, 12.0], "other": [9.5, 13.0, 12.2]})
    c = compare(result, "other", "base", result.scenario.metric("error"))
    assert c.verdict == "unclear"
    text = " ".join(scenario_findings(result))
    assert "these runs do not separate them" in text
    assert "had a lower error" not in text
    assert "beat" not in text


def test_large_mean_difference_without_agreement_says_so() -> None:
    # the mean gain (3.05) exceeds both spreads (0.17 and 2.2), but one seed goes the
    # other way
    result = made_result({"base": [10.0, 10.2, 10.4, 10.1], "other": [6.0, 6.2, 6.1, 10.5]})
    c = compare(result, "other", "base", result.scenario.metric("error"))
    assert c.verdict == "unclear"
    assert abs(c.mean_gain) > c.spread
    text = " ".join(scenario_findings(result))
    assert "but only in 3 of 4 seeds" in text


def test_worse_in_every_seed_and_grouped_secondary_metric() -> None:
    result = made_result(
        {"base": [1.0, 1.1, 1.2], "bad": [3.0, 3.1, 3.3], "same": [1.0, 1.1, 1.2]},
        scores={"base": [0.5, 0.6, 0.7], "bad": [0.1, 0.1, 0.2], "same": [0.5, 0.6, 0.7]},
    )
    sentences = scenario_findings(result)
    assert any(s.startswith("bad had a higher error than base in all 3 seeds") for s in sentences)
    assert "same gave the same error as base in every seed." in sentences
    assert (
        "On score: bad trailed base in every seed, each by more than the seed spread; "
        "same matched base exactly."
    ) in sentences


def test_two_seeds_read_both_and_one_seed_gives_no_spread() -> None:
    two = made_result({"base": [10.0, 11.0], "robust": [5.0, 5.2]})
    assert any("in both seeds" in s for s in scenario_findings(two))
    one = made_result({"base": [10.0], "robust": [5.0]})
    assert any("a single seed gives no spread" in s for s in scenario_findings(one))


def test_diverged_runs_are_reported_and_left_out() -> None:
    result = made_result({"base": [10.0, 11.0, 12.0], "wild": [None, 5.0, 6.0]})
    assert result.values("wild", "error") == [5.0, 6.0]
    sentences = scenario_findings(result)
    assert any(s.startswith("wild diverged in 1 of 3 seeds") for s in sentences)
    c = compare(result, "wild", "base", result.scenario.metric("error"))
    assert c.n == 2  # compared on the seeds where both finished


def test_zero_is_best_metric_compares_sizes() -> None:
    metric = Metric("bias", "bias", "zero", 1, "signed error")
    assert metric.goodness(-1.0) > metric.goodness(2.0)
    assert metric.goodness(0.5) == metric.goodness(-0.5)
