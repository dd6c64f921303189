"""The recorded verdicts of a full lab run, to flag quick runs that reach another one.

``reference_verdicts.json`` (next to this module) holds, per built-in scenario, the
verdict of the last full run recorded with::

    losskit lab --out lab-report            # the full run (``make demo``)
    python -m losskit.lab.record lab-report/results.json

and a fingerprint of what the scenario runs (its full-mode description, candidates,
metrics, budget and selection rule).  A quick report compares its verdict with the
record only while the fingerprints match: a changed scenario has no record until the
full run is recorded again.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from losskit.lab.scenario import Scenario

__all__ = [
    "REFERENCE_PATH",
    "load_reference",
    "record_verdicts",
    "reference_note",
    "scenario_fingerprint",
]

REFERENCE_PATH = Path(__file__).with_name("reference_verdicts.json")


def scenario_fingerprint(scenario: Scenario) -> str:
    """A short hash of what the scenario's full mode runs."""
    text = json.dumps(
        [
            scenario.description(False),
            [c.code() for c in scenario.candidates()],
            [c.label for c in scenario.candidates()],
            scenario.primary,
            [m.key for m in scenario.metrics],
            scenario.budget(False),
            scenario.selection_rule(),
        ]
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def record_verdicts(numbers: dict[str, Any]) -> dict[str, Any]:
    """The record of a full run's numbers (``results.json``): per scenario, its
    fingerprint, verdict, repeats and the means of the primary metric."""
    if numbers["mode"] != "full":
        raise ValueError("only a full run (without --quick) is recorded")
    record = {}
    for s in numbers["scenarios"]:
        if s["name"] == "user":  # a user's table is not a built-in scenario
            continue
        record[s["name"]] = {
            "fingerprint": s["fingerprint"],
            "verdict": {"kind": s["verdict"]["kind"], "group": s["verdict"]["group"]},
            "repeats": s["repeats"],
            "title": s["title"],
            "metric": s["primary_metric"],
            "metric_label": next(
                m["label"] for m in s["metrics"] if m["key"] == s["primary_metric"]
            ),
            "means": {
                loss["label"]: loss["summary"][s["primary_metric"]].get("mean")
                for loss in s["losses"]
            },
            # what each label ran: the registered losses (a composite's parts) and the code
            "losses": {
                loss["label"]: {"names": loss["parts"] or [loss["loss"]], "code": loss["code"]}
                for loss in s["losses"]
            },
            "losskit_version": numbers["losskit_version"],
        }
    return record


def load_reference(path: Path | None = None) -> dict[str, Any]:
    """The recorded verdicts ({} when there is no record)."""
    path = REFERENCE_PATH if path is None else path
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two verdicts say the same: the same kind, the same best loss when one is
    named, the same group of losses otherwise."""
    if a["kind"] != b["kind"]:
        return False
    if a["kind"] == "best":
        return a["group"][:1] == b["group"][:1]
    return set(a["group"]) == set(b["group"])


def reference_note(scenario: dict[str, Any], reference: dict[str, Any]) -> str | None:
    """A sentence comparing a quick scenario's verdict with the recorded full run's, or
    None when there is no current record for it."""
    recorded = reference.get(scenario["name"])
    if recorded is None or recorded.get("fingerprint") != scenario["fingerprint"]:
        return None
    from losskit.lab.findings import verdict_text

    seeds = len(recorded["repeats"])
    then = verdict_text(recorded["verdict"]["kind"], recorded["verdict"]["group"])
    full = f"the recorded full run ({seeds} {scenario['repeat_name']}s)"
    if _same(scenario["verdict"], recorded["verdict"]):
        return f"Same verdict as {full}: {then}."
    return (
        f"Quick and full verdicts differ: this quick run gives {scenario['verdict']['text']}, "
        f"{full} gave {then}. Trust the full run: "
        f"losskit lab --scenarios {scenario['name']}."
    )


def main(argv: list[str] | None = None) -> int:
    """``python -m losskit.lab.record RESULTS_JSON``: record a full run's verdicts."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m losskit.lab.record lab-report/results.json", file=sys.stderr)
        return 2
    numbers = json.loads(Path(args[0]).read_text(encoding="utf-8"))
    record = load_reference()
    record.update(record_verdicts(numbers))
    REFERENCE_PATH.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    print(f"recorded {len(numbers['scenarios'])} scenario(s) in {REFERENCE_PATH}")
    return 0
