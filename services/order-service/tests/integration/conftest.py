"""Fixtures of order-service's integration tests (the harness lives in order_harness.py).

``orders`` is one running order-service (its database, topics and worker processes) shared by the tests
of a module; each test works in shops of its own, so tests never see each other's data. Tests that
kill or restart workers make their own stack (``fresh_orders``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from order_harness import OrderStack


@pytest.fixture(scope="module")
def orders(infra, tmp_path_factory):
    stack = OrderStack(infra, tmp_path_factory.mktemp("orders"))
    stack.start_all()
    try:
        yield stack
    finally:
        stack.close()


@pytest.fixture
def fresh_orders(infra, tmp_path):
    stack = OrderStack(infra, tmp_path)
    try:
        yield stack
    finally:
        stack.close()
