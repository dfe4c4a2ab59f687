"""Fixtures of the security suite: the running platform (the ``system`` of tests/integration: the four services as
processes on the session's infrastructure) and a world of two shops on it (security_world.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from security_world import World, build_world


def _integration_conftest():  # type: ignore[no-untyped-def]
    import importlib.util

    spec = importlib.util.spec_from_file_location("integration_conftest",
                                                  Path(__file__).parents[1] / "integration" / "conftest.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


# the same fixture as the end-to-end stories (a second instance finds the services running and reuses them)
system = _integration_conftest().system


@pytest.fixture(scope="session")
def world(system) -> World:
    return build_world(system)
