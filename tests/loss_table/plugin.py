"""The table's known gaps for a pytest run without ``tests/conftest.py``.

The Keras checks run in subprocesses with ``--noconftest``; they load this module
with ``-p loss_table.plugin`` so the gaps reach their tests too.
"""

from __future__ import annotations

import pytest

from .params import mark_known_gaps


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    mark_known_gaps(items)
