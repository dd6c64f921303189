"""The lab's runner: every scenario, every repeat, every candidate loss."""

from __future__ import annotations

import dataclasses
import multiprocessing
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

import torch

from losskit.errors import LossInputError
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
    #: the Ray cluster's address when the runs went to Ray
    ray: str | None = None
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


#: A grid task: (scenario index, repeat, candidate index).
Task = tuple[int, int, int]


class _TaskRunner:
    """The one place that turns a grid task into its :class:`RunRecord`, wherever it
    runs (this process, a worker process, a Ray worker).  It keeps the data of the last
    (scenario, repeat) prepared: tasks arrive scenario by scenario and repeat by repeat."""

    def __init__(self, scenarios: Sequence[Scenario], quick: bool) -> None:
        self.scenarios = scenarios
        self.quick = quick
        self._data_key: tuple[int, int] | None = None
        self._data: Any = None

    def __call__(self, task: Task) -> RunRecord:
        scenario_index, repeat, candidate_index = task
        scenario = self.scenarios[scenario_index]
        if self._data_key != (scenario_index, repeat):
            self._data = scenario.prepare(repeat, self.quick)
            self._data_key = (scenario_index, repeat)
        candidate = scenario.candidates()[candidate_index]
        return _train(scenario, candidate, self._data, repeat, self.quick)


#: The task runner of a worker process, and which lab run it belongs to (a Ray worker
#: process outlives a run: the next run in the same session finds it warm).
_WORKER: dict[str, Any] = {}


def _worker_start(
    scenarios: Sequence[Scenario], quick: bool, threads: int, run_id: str | None = None
) -> None:
    torch.set_num_threads(threads)
    _WORKER.update(runner=_TaskRunner(scenarios, quick), run_id=run_id)


def _worker_run(task: Task) -> RunRecord:
    return _WORKER["runner"](task)


def _ray_run(
    run_id: str, scenarios: Sequence[Scenario], quick: bool, threads: int, task: Task
) -> tuple[Task, RunRecord]:
    """A Ray task: one grid task, in a Ray worker process."""
    if _WORKER.get("run_id") != run_id:
        _worker_start(scenarios, quick, threads, run_id)
    return task, _worker_run(task)


RAY_MISSING = (
    "the lab's Ray backend (losskit lab --ray, run_scenarios(ray=...)) needs Ray, which is "
    "not installed: pip install 'losskit[lab-ray]'"
)


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ImportError(RAY_MISSING) from None
    return ray


def _run_on_ray(
    address: str,
    scenarios: Sequence[Scenario],
    tasks: Sequence[Task],
    quick: bool,
    threads: int,
    jobs: int,
    bar: Progress,
    finished: Any,
) -> None:
    """Run ``tasks`` on Ray workers, calling ``finished(task, record)`` as each ends.

    A Ray session already open in this process (``ray.init`` called before) is used as
    it is; otherwise ``ray.init(address)`` connects to the cluster (``"auto"``: the one
    this machine belongs to; ``"local"``: a new one on this machine), and disconnects at
    the end.
    """
    ray = _import_ray()
    started_here = not ray.is_initialized()
    if started_here:
        # no dashboard for a cluster started for this run; workers' output stays in
        # Ray's logs, not across the progress bar
        dashboard = {"include_dashboard": False} if address == "local" else {}
        try:
            ray.init(address=address, log_to_driver=False, **dashboard)
        except ConnectionError as error:
            raise ConnectionError(
                f"no Ray cluster at {address!r} ({error}); start one with `ray start --head`, "
                "or use 'local' to start one for this run"
            ) from None
    try:
        cpus = int(ray.cluster_resources().get("CPU", 1))
        largest = max(
            (int(node["Resources"].get("CPU", 0)) for node in ray.nodes() if node["Alive"]),
            default=0,
        )
        if threads > largest:
            # a run would wait forever for a node with that many CPUs
            raise LossInputError(
                f"threads (--threads) must be at most {largest} on this Ray cluster: each run "
                f"reserves its threads' CPUs on one node, and its largest node has {largest}; "
                f"got {threads}"
            )
        workers = jobs if jobs > 1 else max(1, cpus // threads)
        workers = min(workers, len(tasks))
        bar.log(f"Ray: {workers} worker(s) x {threads} thread(s) on a cluster of {cpus} CPU(s)")
        remote = ray.remote(num_cpus=threads)(_ray_run)
        # the scenarios are sent to the cluster once, not with every task
        shared = ray.put(list(scenarios))
        run_id = uuid.uuid4().hex
        # at most `workers` tasks at a time, handed out in grid order
        queue = list(reversed(tasks))
        running: list[Any] = []
        while queue or running:
            while queue and len(running) < workers:
                running.append(remote.remote(run_id, shared, quick, threads, queue.pop()))
            done, running = ray.wait(running, num_returns=1)
            finished(*ray.get(done[0]))
    finally:
        if started_here:
            ray.shutdown()


def run_scenarios(
    scenarios: Sequence[Scenario],
    *,
    quick: bool = False,
    seeds: int | None = None,
    first_seed: int = 0,
    threads: int = 1,
    jobs: int = 1,
    ray: str | None = None,
    progress: bool = True,
) -> LabResult:
    """Train every candidate of every scenario in every repeat and collect the metrics.

    ``seeds`` is the number of seeds per scenario (each scenario's default when None),
    numbered from ``first_seed``; a cross-validation scenario runs its folds instead.
    ``jobs`` worker processes train side by side, each with ``threads`` PyTorch CPU
    threads (``jobs=1`` trains in this process, with its thread setting restored
    afterwards).  ``ray`` runs the same tasks on a Ray cluster instead: its address, or
    ``"auto"`` for the cluster this machine belongs to, or ``"local"`` to start one here
    (a session this process opened with ``ray.init`` is used as it is); there, ``jobs``
    above 1 is the number of Ray workers, and by default the cluster's CPUs are shared
    out at ``threads`` per worker.  losskit must be importable on every node.

    Every candidate of a repeat sees the same data and starts from the same weights;
    for a given number of ``threads``, a run's results depend only on its seed, not on
    ``jobs``, ``ray`` nor on which process trained it.
    """
    if ray is not None:
        _import_ray()  # fail before any work when Ray is missing
    plan = [(s, s.repeats(quick, seeds, first_seed), s.candidates()) for s in scenarios]
    tasks: list[Task] = [
        (s_index, repeat, c_index)
        for s_index, (_, repeats, candidates) in enumerate(plan)
        for repeat in repeats
        for c_index in range(len(candidates))
    ]
    started = time.perf_counter()
    records: dict[Task, RunRecord] = {}
    remaining = [len(repeats) * len(candidates) for _, repeats, candidates in plan]
    with Progress(len(tasks), enabled=progress) as bar:

        def finished(task: Task, record: RunRecord) -> None:
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

        scenarios = [s for s, _, _ in plan]
        if ray is not None:
            _run_on_ray(ray, scenarios, tasks, quick, threads, jobs, bar, finished)
        elif jobs <= 1:
            with torch_settings(threads):
                runner = _TaskRunner(scenarios, quick)
                for task in tasks:
                    finished(task, runner(task))
        else:
            # spawn, not fork: a forked child of a process that has run OpenMP threads
            # can hang in its first parallel region
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(
                jobs,
                mp_context=context,
                initializer=_worker_start,
                initargs=(scenarios, quick, threads),
            ) as pool:
                futures = {pool.submit(_worker_run, task): task for task in tasks}
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
        ray=ray,
        seeds=seeds,
        first_seed=first_seed,
    )
