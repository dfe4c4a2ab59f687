"""Fixtures of the fault-injection suite: a whole platform of its own per run (see fault_harness.py)."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from fault_harness import FaultStack

from devstack.stack import repo_root


@pytest.fixture
def fault_stack(request: pytest.FixtureRequest) -> Iterator[FaultStack]:
    """PostgreSQL, Kafka, localstripe, the SMTP sink and the four services on free ports, in a state folder of
    their own under .local/test/ (removed afterwards unless DEVSTACK_KEEP=1 or the test failed). A test
    parametrized indirectly with ``{"kafka_nodes": 3}`` gets a three-node Kafka cluster."""
    base = repo_root() / ".local" / "test"
    base.mkdir(parents=True, exist_ok=True)
    state = Path(tempfile.mkdtemp(prefix="faults-", dir=base))
    state.chmod(0o755)
    stack = FaultStack(state, kafka_nodes=getattr(request, "param", {}).get("kafka_nodes", 1))
    try:
        stack.start()
        yield stack
    finally:
        stack.down()
        failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
        if os.environ.get("DEVSTACK_KEEP") != "1" and not failed:
            shutil.rmtree(state, ignore_errors=True)
        elif failed:
            print(f"\nfault run state (logs, data) kept in {state}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    rep = outcome.get_result()
    if rep.when == "call":
        item.rep_call = rep  # type: ignore[attr-defined]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The full run (marker ``slow``) is `make faults`' (``-m slow``); a plain `make test` skips it."""
    if "slow" in (config.getoption("markexpr") or ""):
        return
    here = Path(__file__).parent
    skip = pytest.mark.skip(reason="the full fault run: make faults (pytest -m slow tests/faults)")
    for item in items:
        if item.get_closest_marker("slow") and here in Path(str(item.fspath)).parents:
            item.add_marker(skip)
