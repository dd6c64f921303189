"""Regression tests for the findings of an outside review (one test per fixed finding)."""

from __future__ import annotations

import json

import numpy as np

from losskit.cli import main


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_eval_on_empty_arrays_reports_a_zero_mean_and_no_samples(capsys, tmp_path):
    # `reshape(0, -1)` used to crash the per-sample breakdown with a traceback.
    np.save(tmp_path / "p.npy", np.zeros((0, 3)))
    np.save(tmp_path / "t.npy", np.zeros((0, 3)))
    code, out, err = run_cli(
        capsys,
        "eval",
        "mse",
        "--pred",
        str(tmp_path / "p.npy"),
        "--target",
        str(tmp_path / "t.npy"),
        "--json",
    )
    assert code == 0, err
    result = json.loads(out)
    assert result["value"] == 0.0
    assert result["breakdown"] == {"kind": "sample", "samples": 0, "rows": []}
