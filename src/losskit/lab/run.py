"""The lab's runner: every scenario, every repeat, every candidate loss."""

from __future__ import annotations

import dataclasses
import multiprocessing
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

import torch

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
    #: training time, summed over the runs
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
    #: wall-clock time of the whole run
    seconds: float
    settings: dict[str, Any] = dataclasses.field(default_factory=dict)
    jobs: int = 1
    #: the ``seeds`` and ``first_seed`` arguments of :func:`run_scenarios`
    seeds: int | None = None
    first_seed: int = 0


def _train(
    scenario: Scenario, candidate: Candidate, data: Any, repeat: int, quick: bool
) -> RunRecord:
    """One run; a diverged training (non-finite loss) is recorded, not raised."""
    start = time.perf_counter()
    try:
        result, error = scenario.train(candidate, data, repeat, quick), None
    except FloatingPointError as exc:
        result, error = None, str(exc)
    return RunRecord(repeat, result, time.perf_counter() - start, error)


#: State of a worker process: the scenarios, the mode and the last data prepared.
_WORKER: dict[str, Any] = {}


def _worker_start(scenarios: Sequence[Scenario], quick: bool, threads: int) -> None:
    torch.set_num_threads(threads)
    _WORKER.update(scenarios=scenarios, quick=quick, data_key=None, data=None)


def _worker_run(scenario_index: int, repeat: int, candidate_index: int) -> RunRecord:
    scenario = _WORKER["scenarios"][scenario_index]
    quick = _WORKER["quick"]
    if _WORKER["data_key"] != (scenario_index, repeat):
        # tasks arrive scenario by scenario and repeat by repeat: keep the last data only
        _WORKER["data"] = scenario.prepare(repeat, quick)
        _WORKER["data_key"] = (scenario_index, repeat)
    candidate = scenario.candidates()[candidate_index]
    return _train(scenario, candidate, _WORKER["data"], repeat, quick)


def run_scenarios(
    scenarios: Sequence[Scenario],
    *,
    quick: bool = False,
    seeds: int | None = None,
    first_seed: int = 0,
    threads: int = 1,
    jobs: int = 1,
    progress: bool = True,
) -> LabResult:
    """Train every candidate of every scenario in every repeat and collect the metrics.

    ``seeds`` is the number of seeds per scenario (each scenario's default when None),
    numbered from ``first_seed``; a cross-validation scenario runs its folds instead.
    ``jobs`` worker processes train side by side, each with ``threads`` PyTorch CPU
    threads (``jobs=1`` trains in this process, with its thread setting restored
    afterwards).

    Every candidate of a repeat sees the same data and starts from the same weights;
    for a given number of ``threads``, a run's results depend only on its seed, not on
    ``jobs`` nor on which process trained it.
    """
    plan = [(s, s.repeats(quick, seeds, first_seed), s.candidates()) for s in scenarios]
    tasks = [
        (s_index, repeat, c_index)
        for s_index, (_, repeats, candidates) in enumerate(plan)
        for repeat in repeats
        for c_index in range(len(candidates))
    ]
    started = time.perf_counter()
    records: dict[tuple[int, int, int], RunRecord] = {}
    remaining = [len(repeats) * len(candidates) for _, repeats, candidates in plan]
    with Progress(len(tasks), enabled=progress) as bar:

        def finished(task: tuple[int, int, int], record: RunRecord) -> None:
            records[task] = record
            scenario, repeats, candidates = plan[task[0]]
            bar.advance(
                f"{scenario.name}: {candidates[task[2]].label}, {scenario.repeat_name} {task[1]}"
            )
            remaining[task[0]] -= 1
            if remaining[task[0]] == 0:
                seconds = sum(r.seconds for t, r in records.items() if t[0] == task[0])
                bar.log(
                    f"{scenario.title}: {len(candidates)} losses x {len(repeats)} "
                    f"{scenario.repeat_name}s, {seconds:.1f} s of training"
                )

        if jobs <= 1:
            with torch_settings(threads):
                data_key, data = None, None
                for task in tasks:
                    scenario, _, candidates = plan[task[0]]
                    if data_key != task[:2]:
                        data_key, data = task[:2], scenario.prepare(task[1], quick)
                    finished(task, _train(scenario, candidates[task[2]], data, task[1], quick))
        else:
            # spawn, not fork: a forked child of a process that has run OpenMP threads
            # can hang in its first parallel region
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(
                jobs,
                mp_context=context,
                initializer=_worker_start,
                initargs=([s for s, _, _ in plan], quick, threads),
            ) as pool:
                futures = {pool.submit(_worker_run, *task): task for task in tasks}
                for future in as_completed(futures):
                    finished(futures[future], future.result())
    results = []
    for s_index, (scenario, repeats, candidates) in enumerate(plan):
        runs = {
            c.label: [records[(s_index, repeat, c_index)] for repeat in repeats]
            for c_index, c in enumerate(candidates)
        }
        seconds = sum(r.seconds for records_ in runs.values() for r in records_)
        results.append(ScenarioResult(scenario, quick, repeats, candidates, runs, seconds))
    return LabResult(
        results,
        quick,
        threads,
        time.perf_counter() - started,
        jobs=jobs,
        seeds=seeds,
        first_seed=first_seed,
    )
