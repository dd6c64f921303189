"""losskit.keras under each Keras backend, each in its own process.

Keras fixes its backend when it is first imported, so each backend runs
``backend_checks.py`` in a fresh pytest process with ``KERAS_BACKEND`` set.  Keras's
NumPy backend cannot train; its run covers the evaluation checks only.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
pytest.importorskip("keras")


def _env(backend: str) -> dict[str, str]:
    # Leave out the outer run's pytest and xdist variables.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_XDIST", "PYTEST_CUR"))}
    env["KERAS_BACKEND"] = backend
    env["LOSSKIT_KERAS_CHECKS"] = "1"
    # tests/ importable at start-up, for the plugin that marks the table's known gaps
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "tests"), env.get("PYTHONPATH")]))
    return env


@pytest.mark.parametrize("backend", ["tensorflow", "jax", "torch", "numpy"])
def test_backend(backend, tmp_path):
    if importlib.util.find_spec(backend) is None:  # not imported here: it runs in the child
        pytest.skip(f"{backend} not installed")
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "--noconftest",  # the shared conftest enables JAX's float64, not Keras's setting
        "-p",
        "loss_table.plugin",  # the known gaps, which tests/conftest.py marks in the main run
        "-p",
        "no:cacheprovider",
        "--basetemp",
        str(tmp_path),
        "-W",
        "ignore::DeprecationWarning",
        str(HERE / "backend_checks.py"),
    ]
    result = subprocess.run(
        command, cwd=ROOT, env=_env(backend), capture_output=True, text=True, timeout=900
    )
    report = result.stdout[-8000:] + result.stderr[-4000:]
    assert result.returncode == 0, report
    assert " passed" in result.stdout and " failed" not in result.stdout, report


IMPORT = "import losskit.keras"


def test_missing_tensorflow_says_how_to_install_it_or_choose_another_backend():
    """Keras's default backend is TensorFlow; without it, Keras cannot even be imported
    (simulated by hiding the installed TensorFlow from the import system)."""
    script = "import sys; sys.modules['tensorflow'] = None; " + IMPORT
    result = subprocess.run(
        [sys.executable, "-c", script], env=_env("tensorflow"), capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "ImportError: Keras is configured for its default backend, TensorFlow" in (result.stderr)
    assert "losskit[tensorflow]" in result.stderr and "KERAS_BACKEND=jax" in result.stderr


def test_unsupported_backend_raises_import_error():
    """A Keras backend losskit does not know (simulated by reporting another name from
    Keras's backend query) is refused with the supported ones."""
    pytest.importorskip("jax")
    script = "import keras; keras.backend.backend = lambda: 'mlx'; " + IMPORT
    result = subprocess.run(
        [sys.executable, "-c", script], env=_env("jax"), capture_output=True, text=True
    )
    assert result.returncode != 0
    assert (
        "ImportError: losskit.keras supports the Keras backends tensorflow, jax, torch, numpy"
        in result.stderr
    )
    assert "Keras runs on 'mlx'" in result.stderr
