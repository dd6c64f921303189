"""The lab on Ray (``run_scenarios(ray=...)``, ``losskit lab --ray``) against a local
Ray instance: one session for the whole module (Ray takes seconds to start), tiny runs.

Ray is part of ``make test``'s install (the ``lab-ray`` extra, through ``dev``): these
tests import it, they are not skipped when it is missing."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")


@pytest.fixture(scope="module")
def ray_session() -> Iterator[Any]:
    import ray

    # two CPUs, no dashboard, a small object store: a light instance on a shared machine
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        object_store_memory=100 * 2**20,
    )
    yield ray
    ray.shutdown()


def _runs(lab: Any) -> list[Any]:
    """Every run's label, seed, metrics and learning curve, in grid order."""
    return [
        (label, record.repeat, record.result.metrics, record.result.curve.as_dict())
        for scenario in lab.scenarios
        for label, records in scenario.runs.items()
        for record in records
    ]


def test_ray_gives_the_numbers_of_a_local_run(ray_session: Any) -> None:
    from losskit.lab.run import run_scenarios
    from losskit.lab.scenarios import MultiClass

    def run(**backend: Any) -> Any:
        return run_scenarios(
            [MultiClass()], quick=True, seeds=2, threads=1, progress=False, **backend
        )

    on_ray, local = run(ray="auto"), run()
    assert on_ray.ray == "auto" and local.ray is None
    runs = _runs(on_ray)
    assert len(runs) == 2 * len(MultiClass().candidates())
    # every run trained (none diverged) and differs between seeds: equality is not vacuous
    assert all(metrics for _, _, metrics, _ in runs)
    assert runs[0][2] != runs[1][2]
    assert runs == _runs(local)


def test_lab_command_runs_on_ray(ray_session: Any, run_lab: Any) -> None:
    run = run_lab("--quick", "--scenarios", "multiclass", "--seeds", "1", "--ray", "auto", "--json")
    assert run.code == 0, run.err
    assert run.numbers["ray"] == "auto"
    assert "Ray cluster (auto)" in (run.report / "report.html").read_text(encoding="utf-8")
    # the command that reproduces the report does not need the cluster
    assert "--ray" not in run.numbers["command"]


def test_missing_ray_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, run_lab: Any) -> None:
    from losskit.lab.run import run_scenarios
    from losskit.lab.scenarios import MultiClass

    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    run = run_lab("--quick", "--scenarios", "multiclass", "--ray", "auto")
    assert run.code == 2
    assert "--ray needs Ray" in run.err and "losskit[lab-ray]" in run.err
    with pytest.raises(ImportError, match=r"run_scenarios\(ray=\.\.\.\)"):
        run_scenarios([MultiClass()], quick=True, seeds=1, ray="auto", progress=False)


def test_more_threads_than_a_node_has_is_an_error(ray_session: Any) -> None:
    from losskit import LossInputError
    from losskit.lab.run import run_scenarios
    from losskit.lab.scenarios import MultiClass

    # the local instance has 2 CPUs: a run reserving 3 could never start
    with pytest.raises(LossInputError, match=r"threads \(--threads\) must be at most 2"):
        run_scenarios([MultiClass()], quick=True, seeds=1, threads=3, ray="auto", progress=False)
