"""Plain-words findings, generated from the numbers of a scenario.

Nothing here is written in advance: every sentence states a comparison computed
from the runs (how many repeats agree, the mean difference, and how it compares with
the spread between repeats) and never more.  The *spread* of a loss is the sample
standard deviation of its metric over the repeats.  The rule (:data:`RULE`): two losses
are *separated* only when at least two repeats finished for both, every repeat agrees
on which is better (a paired comparison) *and* the mean difference exceeds the larger
spread of the two; otherwise they are *not separated*, or *tied* when their values are
equal in every repeat.  A scenario names a best loss only when it is separated from
every other loss; otherwise it names the group the runs cannot tell apart.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

import numpy as np

from losskit.lab.run import ScenarioResult
from losskit.lab.scenario import Metric

__all__ = [
    "RULE",
    "Comparison",
    "Verdict",
    "compare",
    "scenario_findings",
    "scenario_verdict",
    "spread",
]

#: The rule behind every verdict, as the report states it.
RULE = (
    "A loss is called better than another only when, over the repeats (seeds or folds) "
    "both finished, at least two of them, it is better in every repeat (a paired "
    "comparison) and its mean is ahead by more than the larger of the two spreads "
    "(sample standard deviations over the repeats). Otherwise the two are not separated, "
    "or tied when their values are equal in every repeat. A scenario has a best loss only "
    "when that loss is separated from every other one; otherwise the report names the "
    "losses not separated from the best mean."
)


def spread(values: list[float]) -> float:
    """Sample standard deviation (0 for fewer than two values)."""
    return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


@dataclasses.dataclass(frozen=True)
class Comparison:
    """A candidate against a reference on one metric, over the repeats both finished."""

    label: str
    reference: str
    metric: Metric
    values: tuple[float, ...]
    reference_values: tuple[float, ...]

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def gains(self) -> np.ndarray:
        """Per-repeat improvement of the candidate over the reference (> 0 is better)."""
        return np.array(
            [
                self.metric.goodness(a) - self.metric.goodness(b)
                for a, b in zip(self.values, self.reference_values, strict=True)
            ]
        )

    @property
    def better_in(self) -> int:
        return int(np.sum(self.gains > 0))

    @property
    def worse_in(self) -> int:
        return int(np.sum(self.gains < 0))

    @property
    def mean_gain(self) -> float:
        return float(np.mean(self.gains)) if self.n else 0.0

    @property
    def spread(self) -> float:
        """The larger of the two losses' spreads over the repeats."""
        return max(spread(list(self.values)), spread(list(self.reference_values)))

    @property
    def verdict(self) -> str:
        """``"better"`` or ``"worse"`` when every repeat agrees and the mean difference
        exceeds the spread; ``"same"`` when the values are equal in every repeat;
        ``"unclear"`` otherwise."""
        if self.n == 0 or np.all(self.gains == 0):
            return "same" if self.n else "unclear"
        if self.n >= 2 and abs(self.mean_gain) > self.spread:
            if self.better_in == self.n:
                return "better"
            if self.worse_in == self.n:
                return "worse"
        return "unclear"


def compare(result: ScenarioResult, label: str, reference: str, metric: Metric) -> Comparison:
    values, reference_values = result.paired(label, reference, metric.key)
    return Comparison(label, reference, metric, tuple(values), tuple(reference_values))


def _comparative(metric: Metric, better: bool) -> str:
    if metric.better == "higher":
        word = "a higher" if better else "a lower"
    elif metric.better == "lower":
        word = "a lower" if better else "a higher"
    else:
        word = "a smaller" if better else "a larger"
    return f"{word} {metric.label}" + (" in size" if metric.better == "zero" else "")


def _mean(values: tuple[float, ...] | list[float]) -> float:
    return float(np.mean(values))


def describe(c: Comparison, repeat_name: str) -> str:
    """One sentence on a candidate against the reference on the comparison's metric."""
    fmt = c.metric.format
    if c.n == 0:
        return f"{c.label}: no {repeat_name} where both it and {c.reference} finished training."
    numbers = f"{fmt(_mean(c.values))} against {fmt(_mean(c.reference_values))}"
    if c.verdict == "same":
        return f"{c.label} gave the same {c.metric.label} as {c.reference} in every {repeat_name}."
    better = c.mean_gain > 0
    head = f"{c.label} had {_comparative(c.metric, better)} than {c.reference}"
    size = fmt(abs(c.mean_gain))
    if c.n == 1:
        return (
            f"{head} ({numbers}); a single {repeat_name} gives no spread to judge the "
            "difference by: not separated."
        )
    ratio = (
        f"{abs(c.mean_gain) / c.spread:.1f} times the {repeat_name} spread ({fmt(c.spread)})"
        if c.spread > 0
        else f"while the {repeat_name} spread is 0"
    )
    if c.verdict in ("better", "worse"):
        every = f"both {repeat_name}s" if c.n == 2 else f"all {c.n} {repeat_name}s"
        return f"{head} in {every} ({numbers}): {size} on average, {ratio}."
    if abs(c.mean_gain) > c.spread:
        agreeing = c.better_in if better else c.worse_in
        return (
            f"{head} on average ({numbers}, {size}, {ratio}), but only in {agreeing} of "
            f"{c.n} {repeat_name}s: not separated."
        )
    return (
        f"{c.label} and {c.reference} are within the {repeat_name} spread of each other on "
        f"{c.metric.label} ({numbers}; difference {size}, spread {fmt(c.spread)}): not "
        "separated by these runs."
    )


def _join(labels: list[str]) -> str:
    """``A, B and C``; ``A; B and C`` when a label holds a comma."""
    separator = "; " if any("," in label for label in labels) else ", "
    return labels[0] if len(labels) == 1 else separator.join(labels[:-1]) + " and " + labels[-1]


def verdict_text(kind: str, group: list[str] | tuple[str, ...]) -> str:
    """A verdict in a few words: the best loss, or ``not separated: A; B`` or ``tied: A;
    B`` (labels may hold commas, so a semicolon separates them)."""
    if kind == "none" or not group:
        return "-"
    if kind == "best":
        return group[0]
    return f"{kind}: {'; '.join(group)}"


def _grouped(result: ScenarioResult, metric: Metric, baseline: str, others: list[str]) -> str:
    """One sentence grouping the candidates by their verdict against the baseline."""
    groups: dict[str, list[str]] = {"better": [], "worse": [], "same": [], "unclear": []}
    for label in others:
        groups[compare(result, label, baseline, metric).verdict].append(label)
    repeat = result.scenario.repeat_name
    parts = []
    if groups["better"]:
        parts.append(f"{_join(groups['better'])} beat {baseline} in every {repeat}")
    if groups["worse"]:
        parts.append(f"{_join(groups['worse'])} trailed {baseline} in every {repeat}")
    if parts:
        parts[-1] += f", each by more than the {repeat} spread"
    if groups["same"]:
        parts.append(f"{_join(groups['same'])} matched {baseline} exactly")
    if groups["unclear"]:
        verb = "was" if len(groups["unclear"]) == 1 else "were"
        parts.append(f"{_join(groups['unclear'])} {verb} not separated from {baseline}")
    return f"On {metric.label}: " + "; ".join(parts) + "."


def ranking(result: ScenarioResult, metric: Metric) -> list[tuple[str, float, float, int]]:
    """``(label, mean, spread, repeats)`` of the candidates that finished at least once,
    best mean first."""
    rows = []
    for c in result.candidates:
        values = result.values(c.label, metric.key)
        if values:
            rows.append((c.label, _mean(values), spread(values), len(values)))
    return sorted(rows, key=lambda row: -metric.goodness(row[1]))


@dataclasses.dataclass(frozen=True)
class Verdict:
    """What a scenario's runs say about its best loss on the primary metric.

    ``kind`` is ``"best"`` (``group[0]`` is separated from every other loss),
    ``"tied"`` (the losses of ``group`` gave equal values in every repeat),
    ``"not separated"`` (the runs cannot tell the losses of ``group`` apart) or
    ``"none"`` (no loss finished).  ``group`` starts with the best mean and holds every
    loss not separated from it, best mean first.
    """

    kind: Literal["best", "tied", "not separated", "none"]
    group: tuple[str, ...]
    metric: Metric

    @property
    def best(self) -> str | None:
        return self.group[0] if self.group else None

    def text(self) -> str:
        """The verdict in a few words, as the summary table shows it."""
        return verdict_text(self.kind, self.group)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "group": list(self.group), "text": self.text()}


def scenario_verdict(result: ScenarioResult) -> Verdict:
    """The verdict on the primary metric by the rule of :data:`RULE`."""
    metric = result.scenario.metric(result.scenario.primary)
    rows = ranking(result, metric)
    if not rows:
        return Verdict("none", (), metric)
    best = rows[0][0]
    comparisons = [compare(result, best, row[0], metric) for row in rows[1:]]
    group = (best, *(c.reference for c in comparisons if c.verdict != "better"))
    if len(group) == 1:
        return Verdict("best", group, metric)
    if all(c.verdict == "same" for c in comparisons if c.reference in group):
        return Verdict("tied", group, metric)
    return Verdict("not separated", group, metric)


def best_sentence(result: ScenarioResult) -> str:
    scenario = result.scenario
    metric = scenario.metric(scenario.primary)
    rows = ranking(result, metric)
    if not rows:
        return "No loss finished training."
    verdict = scenario_verdict(result)
    label, mean, sd, n = rows[0]
    repeat = scenario.repeat_name
    over = f"mean ± spread over {n} {repeat}{'s' if n != 1 else ''}"
    if verdict.kind == "tied":
        return (
            f"Best {metric.label}: tied between {_join(list(verdict.group))}, "
            f"{metric.format(mean)} ± {metric.format(sd)} ({over}), the same value in every "
            f"{repeat}."
        )
    head = f"Best {metric.label}: {label}, {metric.format(mean)} ± {metric.format(sd)} ({over})"
    if len(rows) == 1:
        return head + "; the only loss that finished."
    runner_up = rows[1][0]
    c = compare(result, label, runner_up, metric)
    if verdict.kind == "best":
        return (
            head + f", separated from every other loss: ahead of the next best, {runner_up}, "
            f"in every {repeat}, by more than the {repeat} spread."
        )
    means = {row[0]: row[1] for row in rows}
    others = [f"{other} ({metric.format(means[other])})" for other in verdict.group[1:]]
    if c.verdict == "same":
        detail = f"{runner_up} gave the same value in every {repeat}"
    elif c.n < 2:
        detail = f"a single {repeat} gives no spread to judge by"
    elif c.better_in == c.n:
        detail = (
            f"{label} is ahead of {runner_up} in every {repeat}, but by less than the "
            f"{repeat} spread"
        )
    else:
        ties = c.n - c.better_in - c.worse_in
        detail = f"{label} is ahead of {runner_up} in {c.better_in} of {c.n} {repeat}s" + (
            f", level in {ties}" if ties else ""
        )
    return (
        f"Best {metric.label} on average: {label}, {metric.format(mean)} ± {metric.format(sd)} "
        f"({over}), but not separated from {_join(others)} ({detail}): these runs name no "
        "single best loss."
    )


def scenario_findings(result: ScenarioResult) -> list[str]:
    """The plain-words findings of one scenario, best loss first."""
    scenario = result.scenario
    repeat = scenario.repeat_name
    baseline = scenario.baseline
    primary = scenario.metric(scenario.primary)
    labels = [c.label for c in result.candidates]
    others = [label for label in labels if label != baseline]
    sentences = [best_sentence(result)]
    for label in others:
        sentences.append(describe(compare(result, label, baseline, primary), repeat))
    for metric in scenario.metrics:
        if metric.key != primary.key and others:
            sentences.append(_grouped(result, metric, baseline, others))
    values = result.metric_values()
    finished = {label: v for label, v in values.items() if all(len(x) for x in v.values())}
    sentences += scenario.extra_findings(finished)
    for label, records in result.runs.items():
        failed = [r for r in records if r.result is None]
        if failed:
            sentences.append(
                f"{label} diverged in {len(failed)} of {len(records)} {repeat}s "
                f"({failed[0].error}); those runs are left out of the numbers."
            )
    return sentences
