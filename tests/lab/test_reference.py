"""The recorded full-run verdicts that quick reports compare with stay current."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")
pytest.importorskip("sklearn")

from losskit.lab.reference import load_reference, scenario_fingerprint
from losskit.lab.scenarios import builtin_scenarios


def test_every_built_in_scenario_has_a_current_full_run_record() -> None:
    record = load_reference()
    stale = [
        s.name
        for s in builtin_scenarios()
        if record.get(s.name, {}).get("fingerprint") != scenario_fingerprint(s)
    ]
    # a scenario changed since the last recorded full run: `make lab-record`
    assert not stale, f"no current full-run record for {stale}"
    for s in builtin_scenarios():
        verdict = record[s.name]["verdict"]
        labels = {c.label for c in s.candidates()}
        assert verdict["kind"] in ("best", "tied", "not separated")
        assert set(verdict["group"]) <= labels and verdict["group"]
