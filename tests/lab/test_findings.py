"""The plain-words findings follow the numbers: every verdict is checked on made-up runs."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("torch")

from losskit.lab.findings import compare, scenario_findings, scenario_verdict
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
    assert "separated from every other loss" in sentences[0]
    assert "ahead of the next best, base, in every seed" in sentences[0]
    verdict = scenario_verdict(result)
    assert (verdict.kind, verdict.group, verdict.text()) == ("best", ("robust",), "robust")
    assert (
        "robust had a lower error than base in all 3 seeds (5.50 against 11.00): 5.50 on average, 5.5 times the seed spread (1.00)."
        in sentences
    )


def test_difference_within_the_spread_is_not_called_a_win() -> None:
    result = made_result({"base": [10.0, 14.0, 12.0], "other": [9.5, 13.0, 12.2]})
    c = compare(result, "other", "base", result.scenario.metric("error"))
    assert c.verdict == "unclear"
    sentences = scenario_findings(result)
    text = " ".join(sentences)
    assert "not separated by these runs" in text
    assert "had a lower error" not in text
    assert "beat" not in text
    # the best sentence names no winner
    assert sentences[0].startswith("Best error on average: other")
    assert "not separated from base" in sentences[0]
    assert "these runs name no single best loss" in sentences[0]
    verdict = scenario_verdict(result)
    assert verdict.kind == "not separated" and verdict.group == ("other", "base")
    assert verdict.text() == "not separated: other; base"


def test_large_mean_difference_without_agreement_says_so() -> None:
    # the mean gain (3.05) exceeds both spreads (0.17 and 2.2), but one seed goes the
    # other way
    result = made_result({"base": [10.0, 10.2, 10.4, 10.1], "other": [6.0, 6.2, 6.1, 10.5]})
    c = compare(result, "other", "base", result.scenario.metric("error"))
    assert c.verdict == "unclear"
    assert abs(c.mean_gain) > c.spread
    text = " ".join(scenario_findings(result))
    assert "but only in 3 of 4 seeds: not separated" in text
    assert scenario_verdict(result).kind == "not separated"


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


def test_issue_example_within_spread_is_not_separated() -> None:
    # the quick run of issue 20: focal alpha=0.75 at 0.839 ± 0.046 against BCE at
    # 0.822 ± 0.029 (a score, higher is better), each ahead in one seed
    result = made_result(
        {"base": [1.0, 1.0], "focal": [1.0, 1.0]},
        scores={"base": [0.843, 0.801], "focal": [0.806, 0.872]},
    )
    result.scenario.primary = "score"  # the instance only
    verdict = scenario_verdict(result)
    assert verdict.kind == "not separated"
    assert verdict.group == ("focal", "base")
    first = scenario_findings(result)[0]
    assert first.startswith("Best score on average: focal, 0.84 ± 0.05")
    assert "not separated from base (0.82)" in first
    assert "ahead of base in 1 of 2 seeds" in first


def test_exact_tie_shows_every_tied_loss() -> None:
    result = made_result(
        {"base": [3.0, 3.5, 4.0], "twin": [2.0, 2.1, 2.2], "copy": [2.0, 2.1, 2.2]}
    )
    verdict = scenario_verdict(result)
    assert verdict.kind == "tied"
    assert set(verdict.group) == {"twin", "copy"}
    assert verdict.text() in ("tied: twin; copy", "tied: copy; twin")
    first = scenario_findings(result)[0]
    assert first.startswith("Best error: tied between ")
    assert "twin" in first and "copy" in first and "the same value in every seed" in first


def test_best_against_several_names_the_whole_group() -> None:
    # "a" is clearly ahead of "b", but "c" is noisy: not separated from "a"
    result = made_result({"b": [5.0, 5.1, 5.2], "a": [1.0, 1.1, 1.2], "c": [0.5, 9.0, 2.0]})
    verdict = scenario_verdict(result)
    assert verdict.kind == "not separated" and verdict.group == ("a", "c")
    assert "b" not in verdict.group


# ------------------------------------------------------------------- the report


def made_numbers(result: ScenarioResult, quick: bool) -> dict[str, Any]:
    from losskit.lab.report import lab_numbers
    from losskit.lab.run import LabResult

    result.quick = quick
    return lab_numbers(LabResult([result], quick, 1, 0.0, seeds=3))


def test_summary_table_and_html_show_the_verdict_and_every_tie() -> None:
    from losskit.lab.report import _html_section, summary_table

    result = made_result(
        {"base": [3.0, 3.5, 4.0], "twin": [2.0, 2.1, 2.2], "copy": [2.0, 2.1, 2.2]}
    )
    numbers = made_numbers(result, quick=False)
    _, rows = summary_table(numbers)
    assert rows[0][2] in ("tied: twin; copy", "tied: copy; twin")
    section = _html_section(numbers["scenarios"][0], [])
    # the error column (the third) of both tied losses is bold, the baseline's is not;
    # the score column, 0.5 for every loss, is bold everywhere
    body = section.split("<tbody>")[1].split("</tbody>")[0]
    cells = {
        row.split("</td>")[0].removeprefix("<td>"): row.split("<td")[1:]
        for row in body.removeprefix("<tr>").split("<tr>")
    }
    assert {label: 'class="best"' in c[2] for label, c in cells.items()} == {
        "base": False,
        "twin": True,
        "copy": True,
    }
    assert all('class="best"' in c[3] for c in cells.values())


def test_header_says_what_was_run_and_ends_with_the_command() -> None:
    result = made_result({"base": [3.0, 3.5, 4.0], "other": [2.0, 2.1, 2.2]})
    # a scenario defined in Python: no losskit lab command runs it
    assert made_numbers(result, quick=True)["command"] is None
    result.scenario.name = "regression"  # as if it were the built-in one
    numbers = made_numbers(result, quick=True)
    assert numbers["command"] == "losskit lab --scenarios regression --quick --seeds 3"
    assert numbers["what_was_run"][0].startswith("Quick mode")
    assert "indicative" in numbers["what_was_run"][0]
    assert "2 losses (base; other) × 3 seeds (0 to 2)" in numbers["what_was_run"][1]
    assert "Run without --quick" in numbers["quick_warning"]
    result = made_result({"base": [3.0, 3.5], "other": [2.0, 2.1]})
    result.scenario.name = "regression"
    full = made_numbers(result, quick=False)
    assert full["quick_warning"] is None and "--quick" not in full["command"]


def test_quick_verdict_against_the_recorded_full_run() -> None:
    from losskit.lab.reference import reference_note
    from losskit.lab.report import summary_table

    # the quick run names a clear winner; the recorded full run could not separate them
    numbers = made_numbers(
        made_result({"base": [10.0, 11.0, 12.0], "robust": [5.0, 5.5, 6.0]}), quick=True
    )
    scenario = numbers["scenarios"][0]
    assert scenario["verdict"]["text"] == "robust"
    full_verdict = {"kind": "not separated", "group": ["base", "robust"], "text": "x"}
    record = {"made": {"fingerprint": scenario["fingerprint"], "verdict": full_verdict,
                       "repeats": [0, 1, 2]}}  # fmt: skip
    note = reference_note(scenario, record)
    assert note is not None and note.startswith("Quick and full verdicts differ")
    assert "losskit lab --scenarios made" in note
    scenario["reference"] = note
    assert summary_table(numbers)[1][0][2] == "robust (the full run differs)"
    # the same verdict is said to agree; a stale record (another fingerprint) is ignored
    same = {"kind": "best", "group": ["robust"], "text": "robust"}
    record["made"]["verdict"] = same
    assert reference_note(scenario, record).startswith("Same verdict")
    record["made"]["fingerprint"] = "0" * 16
    assert reference_note(scenario, record) is None
