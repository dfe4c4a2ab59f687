"""Fixtures of scheduler-service's integration tests (helpers live in scheduler_harness.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from scheduler_harness import START, Harness

from scheduler_service.config import MIGRATIONS_DIR
from servicekit.clock import init_test_clock


@pytest.fixture
def clock_dsn(make_db) -> str:
    dsn = make_db(None)
    init_test_clock(dsn, START)
    return dsn


@pytest.fixture
def harness(infra, topic_prefix, make_db, clock_dsn, tmp_path):
    h = Harness(infra, make_db(MIGRATIONS_DIR), clock_dsn, topic_prefix, tmp_path)
    try:
        yield h
    finally:
        h.close()
