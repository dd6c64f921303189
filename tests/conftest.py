"""Fixtures and hooks shared by the whole suite."""

from __future__ import annotations

import pytest

from array_backends import BACKEND_FACTORIES, Backend, backend_params
from loss_table.params import mark_known_gaps


@pytest.fixture(params=backend_params())
def backend(request: pytest.FixtureRequest) -> Backend:
    return BACKEND_FACTORIES[request.param]()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The table entries' known gaps (``LossCase.gaps``): xfail(strict=True) or skip."""
    mark_known_gaps(items)
