"""What the loss lab measured, for the guide to cite: the recorded full run of the
built-in scenarios (``losskit/lab/reference_verdicts.json``, regenerated with
``losskit lab --out lab-report && python -m losskit.lab.record lab-report/results.json``).

Read as plain JSON, so that ``explain`` and ``recommend`` need neither PyTorch nor the
lab's other dependencies.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

__all__ = ["lab_evidence"]

RECORD_PATH = Path(__file__).resolve().parents[1] / "lab" / "reference_verdicts.json"


@functools.cache
def _record() -> dict[str, Any]:
    try:
        return json.loads(RECORD_PATH.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}


def _verdict(scenario: dict[str, Any]) -> str:
    """The scenario's verdict in words, with the means of the losses it names."""
    kind, group = scenario["verdict"]["kind"], scenario["verdict"]["group"]
    named = ", ".join(f"{label} {scenario['means'][label]:.3g}" for label in group)
    if kind == "best":
        return f"best: {named}, separated from every other loss"
    return f"{kind}: {named}"


def _same_loss(loss: str) -> set[str]:
    """``loss`` and its namesake for the other label form: a ``sparse_`` loss is the loss
    of the same name without the prefix, given integer labels instead of one-hot ones
    (the same values), so a lab run of either speaks for both."""
    dense = loss.removeprefix("sparse_")
    return {loss, dense, f"sparse_{dense}"}


def lab_evidence(loss: str) -> list[str]:
    """One sentence per built-in lab scenario that trained ``loss`` (alone or as part
    of a composite, or its namesake for the other label form): the mean primary metric
    of each setting tried, over the repeats, and the scenario's verdict.

    >>> any("Imbalanced" in s for s in lab_evidence("binary_focal"))
    True
    >>> lab_evidence("total_variation")
    []
    """
    names = _same_loss(loss)
    sentences = []
    for scenario in _record().values():
        tried = [
            f"{label} {scenario['means'][label]:.3g}"
            for label, ran in scenario.get("losses", {}).items()
            if names & set(ran["names"]) and scenario["means"].get(label) is not None
        ]
        if tried:
            sentences.append(
                f"{scenario['title']} ({len(scenario['repeats'])} runs, "
                f"{scenario['metric_label']}): {'; '.join(tried)}. Verdict, "
                f"{_verdict(scenario)}."
            )
    return sentences
