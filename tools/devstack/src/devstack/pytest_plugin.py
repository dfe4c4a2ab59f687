"""pytest fixtures for integration tests against the real components.

Order of preference for each component (infra-notes section 3.2):
1. the address in the environment (DATABASE_URL = a server URL, KAFKA_BOOTSTRAP_SERVERS, STRIPE_API_BASE);
2. testcontainers, when a Docker engine answers;
3. processes started here for the test session (a throwaway PostgreSQL cluster, a Kafka broker, localstripe,
   an SMTP sink on free ports), stopped at the end.
Tests create their own databases and topic prefixes with random names, so they never see each other's data.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from devstack.infra import kafka_nodes
from devstack.procs import free_port
from devstack.stack import SERVICES, Stack, StackConfig, repo_root


def docker_available() -> bool:
    try:
        import docker

        docker.from_env(timeout=3).ping()
        return True
    except Exception:  # noqa: BLE001 - any failure means "no engine"
        return False


@dataclass
class Infra:
    stack: Stack
    admin_db_url: str
    bootstrap: str
    stripe_url: str
    smtp_api: str
    smtp_port: int

    def new_database(self, prefix: str = "t") -> str:
        from servicekit.db import ensure_database, with_database

        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        ensure_database(self.admin_db_url, name)
        return with_database(self.admin_db_url, name)


def _containers(stack_cfg: StackConfig):  # type: ignore[no-untyped-def]
    """Start PostgreSQL and Kafka with testcontainers (only when a Docker engine answers)."""
    try:
        from testcontainers.community.postgres import PostgresContainer  # type: ignore[import-not-found]
    except ImportError:
        from testcontainers.postgres import PostgresContainer
    from testcontainers.core.container import DockerContainer

    pg = PostgresContainer("postgres:15", driver=None).start()
    kafka_port = free_port()
    kafka = (
        DockerContainer("apache/kafka:4.1.1")
        .with_bind_ports(9092, kafka_port)
        .with_env("KAFKA_ADVERTISED_LISTENERS", f"PLAINTEXT://127.0.0.1:{kafka_port},CONTROLLER://localhost:9093")
        .with_env("KAFKA_AUTO_CREATE_TOPICS_ENABLE", "false")
        .start()
    )
    stack_cfg.external_db = pg.get_connection_url()
    stack_cfg.external_kafka = f"127.0.0.1:{kafka_port}"
    return [pg, kafka]


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    base = repo_root() / ".local" / "test"
    base.mkdir(parents=True, exist_ok=True)
    state = Path(tempfile.mkdtemp(prefix="run-", dir=base))
    state.chmod(0o755)
    cfg = StackConfig(
        state=state,
        pg_port=free_port(),
        kafka_port=free_port(),
        kafka_controller_port=free_port(),
        kafka_extra_ports=[(free_port(), free_port()) for _ in range(kafka_nodes() - 1)],  # KAFKA_NODES=3
        stripe_port=free_port(),
        smtp_port=free_port(),
        smtp_http_port=free_port(),
        db_prefix=f"s{uuid.uuid4().hex[:6]}_",
        topic_prefix=f"s{uuid.uuid4().hex[:6]}.",
        admin_token="rop_test_admin_" + uuid.uuid4().hex,
        test_clock=True,
        pg_fast=True,
        stripe_persist=False,
        service_ports={s.name: free_port() for s in SERVICES},
        web_port=free_port(),
        mailpit=None,  # tests read the project's SMTP sink
    )
    containers = []
    if not (cfg.external_db and cfg.external_kafka) and os.environ.get("DEVSTACK_NO_DOCKER") != "1" \
            and docker_available():
        containers = _containers(cfg)
    stack = Stack(cfg)
    stack.up()
    try:
        yield Infra(stack, stack.admin_db_url, stack.bootstrap, stack.stripe_url, stack.smtp.api_url,
                    cfg.smtp_port)
    finally:
        stack.down()
        for c in containers:
            c.stop()
        if os.environ.get("DEVSTACK_KEEP") != "1":
            shutil.rmtree(state, ignore_errors=True)


@pytest.fixture
def topic_prefix(infra: Infra, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh set of topics for this test (TOPIC_PREFIX is set for the test's own process).

    They are deleted after the test (unless DEVSTACK_KEEP=1): a long-lived broker (`make up`) shared by
    every suite would otherwise keep ~70 partitions per test until it runs out of heap.
    """
    from shared_events.topics import ensure_topics

    prefix = f"t{uuid.uuid4().hex[:10]}."
    monkeypatch.setenv("TOPIC_PREFIX", prefix)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", infra.bootstrap)
    ensure_topics(infra.bootstrap, prefix)
    yield prefix
    if os.environ.get("DEVSTACK_KEEP") != "1":
        _delete_topics(infra.bootstrap, prefix)


def _delete_topics(bootstrap: str, prefix: str) -> None:
    """Best effort: a cleanup failure must not fail the test."""
    try:
        from devstack.testing import delete_topics

        delete_topics(bootstrap, prefix)
    except Exception as exc:  # noqa: BLE001
        warnings.warn(f"could not delete the topics {prefix}*: {exc}", stacklevel=1)


@pytest.fixture
def make_db(infra: Infra) -> Callable[[Path | None], str]:
    """make_db(service_migrations_dir) -> DSN of a new, migrated database."""
    from servicekit.db import migrate_dsn

    def make(migrations: Path | None = None) -> str:
        dsn = infra.new_database()
        migrate_dsn(dsn, migrations or Path(tempfile.mkdtemp()))
        return dsn

    return make
