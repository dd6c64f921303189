"""``python -m losskit.lab.record lab-report/results.json``: record a full run's verdicts
in ``reference_verdicts.json`` (see :mod:`losskit.lab.reference`)."""

from losskit.lab.reference import main

if __name__ == "__main__":
    raise SystemExit(main())
