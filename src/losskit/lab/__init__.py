"""The loss lab: train the same small model with each candidate loss, side by side.

``losskit lab`` (or ``python -m losskit.lab``) runs the built-in scenarios on data
available offline and writes a report; ``losskit lab --data FILE --target COLUMN
--task ...`` runs the comparison on the user's own table with k-fold
cross-validation.  From Python::

    from losskit.lab import builtin_scenarios, run_scenarios, write_report
    lab = run_scenarios(builtin_scenarios(), quick=True)
    write_report(lab, "lab-report")

:func:`compare` runs the same comparison on the user's own model, data and losses.

Needs the ``lab`` extra (PyTorch, scikit-learn, matplotlib).
"""

from losskit.lab.own_model import compare
from losskit.lab.report import lab_numbers, print_report, write_report
from losskit.lab.run import LabResult, ScenarioResult, run_scenarios
from losskit.lab.scenario import AUTO, Candidate, Metric, RunResult, Scenario
from losskit.lab.scenarios import builtin_scenarios

__all__ = [
    "AUTO",
    "Candidate",
    "LabResult",
    "Metric",
    "RunResult",
    "Scenario",
    "ScenarioResult",
    "builtin_scenarios",
    "compare",
    "lab_numbers",
    "print_report",
    "run_scenarios",
    "write_report",
]
