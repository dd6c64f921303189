# All set-up happens here: `make test` and `make demo` work on a fresh clone.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# constraints.txt pins torch and TensorFlow to their CPU builds; every install goes through it.
PIP_INSTALL := $(PIP) install --quiet --disable-pip-version-check -c constraints.txt
STAMP := $(VENV)/.installed

.PHONY: install test lint minimal-import docs bench demo lab-record clean

# dev includes lab-ray, so Ray (which needs no torch of its own) for tests/lab/test_ray.py.
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) --upgrade pip
	$(PIP_INSTALL) -e ".[dev]"
	@if $(PIP) list 2>/dev/null | grep -qi '^nvidia-'; then \
		echo "error: CUDA packages were installed; check constraints.txt" >&2; exit 1; fi
	touch $@

install: $(STAMP)

lint: install
	$(PY) -m ruff check src tests benchmarks examples docs/*.py
	$(PY) -m ruff format --check src tests benchmarks examples docs/*.py

# `import losskit` with nothing but the runtime dependencies (no torch, no jax).
minimal-import:
	rm -rf .venv-min
	$(PYTHON) -m venv .venv-min
	.venv-min/bin/python -m pip install --quiet --disable-pip-version-check .
	.venv-min/bin/python -c "import losskit, numpy as np; print('minimal import ok:', float(losskit.mse(np.ones(3), np.zeros(3))))"
	rm -rf .venv-min

# The docs site, generated from the losses' metadata; strict: any warning fails.
docs: install
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict --site-dir site

test: install lint minimal-import docs
	$(PY) -m pytest -n 2 --doctest-modules src/losskit tests

# The loss lab on the built-in scenarios: the table, lab-report/report.html and the PNGs.
demo: install
	$(VENV)/bin/losskit lab

# A full lab run recorded as the reference the quick runs and the guide cite
# (src/losskit/lab/reference_verdicts.json; tests/lab/test_reference.py says when it is stale).
lab-record: install
	$(VENV)/bin/losskit lab --out lab-report --no-progress
	$(PY) -m losskit.lab.record lab-report/results.json

# losskit against PyTorch, MONAI, kornia, Keras and optax: prints the table and rewrites
# benchmarks/README.md (about 5 minutes on 2 cores).
bench: install
	$(PIP_INSTALL) -e ".[bench]"
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) .venv-min .pytest_cache .ruff_cache .hypothesis
