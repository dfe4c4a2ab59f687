"""Small helpers for integration tests (importable from any test module)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg


def wait_for(predicate: Callable[[], Any], timeout: float = 60, what: str = "condition",
             interval: float = 0.2) -> Any:
    """Poll until predicate() is truthy; return its value or fail the test."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last value: {last!r})")


def scalar(dsn: str, query: str, params: Any = ()) -> Any:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(query, params).fetchone()
        return row[0] if row else None


def rows(dsn: str, query: str, params: Any = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(query, params).fetchall()


def process_env(dsn: str, bootstrap: str, topic_prefix: str, **extra: Any) -> dict[str, str]:
    env = dict(os.environ, DATABASE_URL=dsn, KAFKA_BOOTSTRAP_SERVERS=bootstrap, TOPIC_PREFIX=topic_prefix,
               APP_ENV="test", LOG_LEVEL="INFO", PYTHONUNBUFFERED="1")
    env.update({k: str(v) for k, v in extra.items()})
    return env


def start_process(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """python <args> in the background, output to log."""
    return subprocess.Popen([sys.executable, *args], env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)


def load_module(path: Path, name: str | None = None) -> Any:
    spec = importlib.util.spec_from_file_location(name or path.stem, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def group_lag(bootstrap: str, group: str, topics: list[str]) -> int | None:
    """Records not yet committed by a consumer group on the given physical topics (None = no commits yet)."""
    from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        committed = admin.list_group_offsets(group).get(group, {})
        if not committed:
            return None
        parts = [TopicPartition(t, p) for t in topics for p in (consumer.partitions_for_topic(t) or [])]
        end = consumer.end_offsets(parts)
        return sum(end[tp] - (committed[tp].offset if tp in committed else 0) for tp in parts)
    finally:
        admin.close()
        consumer.close()


def race(calls: list[Callable[[], Any]], timeout: float = 30) -> list[Any]:
    """Run the calls at the same moment, each in its own thread (released together by a barrier); return their
    results in order."""
    import threading

    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(n: int, call: Callable[[], Any]) -> None:
        barrier.wait()
        results[n] = call()

    threads = [threading.Thread(target=run, args=(n, call)) for n, call in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    return results
