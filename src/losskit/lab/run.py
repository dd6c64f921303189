"""The lab's runner: every scenario, every repeat, every candidate loss."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from typing import Any

from losskit.lab.progress import Progress
from losskit.lab.scenario import Candidate, RunResult, Scenario
from losskit.lab.training import torch_settings

__all__ = ["LabResult", "RunRecord", "ScenarioResult", "run_scenarios"]


@dataclasses.dataclass
class RunRecord:
    """One candidate trained in one repeat; ``result`` is None when training diverged
    (``error`` then says how)."""

    repeat: int
    result: RunResult | None
    seconds: float
    error: str | None = None


@dataclasses.dataclass
class ScenarioResult:
    scenario: Scenario
    quick: bool
    repeats: list[int]
    candidates: tuple[Candidate, ...]
    #: candidate label -> one record per repeat, in repeat order
    runs: dict[str, list[RunRecord]]
    seconds: float

    def values(self, label: str, metric: str) -> list[float]:
        """The metric of ``label`` in every repeat where training succeeded."""
        return [r.result.metrics[metric] for r in self.runs[label] if r.result is not None]

    def paired(self, label: str, other: str, metric: str) -> tuple[list[float], list[float]]:
        """The metric of two candidates in the repeats where both succeeded."""
        pairs = [
            (a.result.metrics[metric], b.result.metrics[metric])
            for a, b in zip(self.runs[label], self.runs[other], strict=True)
            if a.result is not None and b.result is not None
        ]
        return [a for a, _ in pairs], [b for _, b in pairs]

    def metric_values(self) -> dict[str, dict[str, list[float]]]:
        """``{label: {metric: [value per successful repeat]}}``."""
        return {
            c.label: {m.key: self.values(c.label, m.key) for m in self.scenario.metrics}
            for c in self.candidates
        }

    def results(self) -> dict[str, list[RunResult]]:
        """The successful runs of each candidate."""
        return {
            label: [r.result for r in records if r.result is not None]
            for label, records in self.runs.items()
        }


@dataclasses.dataclass
class LabResult:
    scenarios: list[ScenarioResult]
    quick: bool
    threads: int
    seconds: float
    settings: dict[str, Any] = dataclasses.field(default_factory=dict)


def run_scenarios(
    scenarios: Sequence[Scenario],
    *,
    quick: bool = False,
    seeds: int | None = None,
    first_seed: int = 0,
    threads: int = 2,
    progress: bool = True,
) -> LabResult:
    """Train every candidate of every scenario in every repeat and collect the metrics.

    ``seeds`` is the number of seeds per scenario (each scenario's default when None),
    numbered from ``first_seed``; a cross-validation scenario runs its folds instead.

    Every candidate of a repeat sees the same data and starts from the same weights;
    for a given number of ``threads`` (PyTorch's CPU threads, restored afterwards), a
    repeat's results depend only on its seed.
    """
    plan = [(s, s.repeats(quick, seeds, first_seed), s.candidates()) for s in scenarios]
    total = sum(len(repeats) * len(candidates) for _, repeats, candidates in plan)
    started = time.perf_counter()
    results = []
    with torch_settings(threads), Progress(total, enabled=progress) as bar:
        for scenario, repeats, candidates in plan:
            scenario_start = time.perf_counter()
            runs: dict[str, list[RunRecord]] = {c.label: [] for c in candidates}
            for repeat in repeats:
                data = scenario.prepare(repeat, quick)
                for candidate in candidates:
                    run_start = time.perf_counter()
                    try:
                        result, error = scenario.train(candidate, data, repeat, quick), None
                    except FloatingPointError as exc:
                        result, error = None, str(exc)
                    runs[candidate.label].append(
                        RunRecord(repeat, result, time.perf_counter() - run_start, error)
                    )
                    bar.advance(
                        f"{scenario.name}: {candidate.label}, {scenario.repeat_name} {repeat}"
                    )
            seconds = time.perf_counter() - scenario_start
            results.append(ScenarioResult(scenario, quick, repeats, candidates, runs, seconds))
            bar.log(
                f"{scenario.title}: {len(candidates)} losses x {len(repeats)} "
                f"{scenario.repeat_name}s in {seconds:.1f} s"
            )
    return LabResult(results, quick, threads, time.perf_counter() - started)
