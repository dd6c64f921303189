"""Fixtures shared by the whole suite."""

from __future__ import annotations

import pytest

from array_backends import BACKEND_FACTORIES, Backend, backend_params


@pytest.fixture(params=backend_params())
def backend(request: pytest.FixtureRequest) -> Backend:
    return BACKEND_FACTORIES[request.param]()
