"""The fault-injection harness: the whole platform on a stack of its own, a supervisor that restarts what dies,
a chaos monkey that kill -9s service processes, and the Kafka broker and PostgreSQL crashed once each.

Pieces (tests/faults/test_fault_run.py puts them together, tests/faults/fault_checks.py checks the outcome):

- ``FaultStack``: PostgreSQL, Kafka, localstripe, the SMTP sink and the four services on free ports with a state
  folder of their own (nothing shared with ``make run`` or the other tests' ``infra``), random secrets, PostgreSQL
  with fsync off but synchronous commits (a process crash loses nothing a real crash would keep).
- ``Supervisor``: what Kubernetes does for a Deployment: a process that is gone is started again after a short
  back-off. Processes that exit on their own (not killed by the chaos monkey) are counted apart.
- ``Chaos``: kill -9 (the whole process group: a gunicorn master with its workers) of a random service process
  every few seconds, every process in turn before any is killed twice.
- ``Api``: the clients' side: a request that met a dead API, a 5xx or a 429 is sent again, the same
  Idempotency-Key with it, like any well-behaved client would; what it met is counted for the report.
"""

from __future__ import annotations

import random
import secrets
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import requests

from devstack.procs import free_port, port_open, wait_until
from devstack.stack import SERVICES, ServiceDef, Stack, StackConfig

# -- the stack ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Secrets:
    """Every secret of the run, random, so that a scan of the logs finds them if anything writes them."""

    admin_token: str = field(default_factory=lambda: "rop_fault_admin_" + secrets.token_urlsafe(24))
    stripe_key: str = field(default_factory=lambda: "sk_test_fault" + secrets.token_hex(16))
    webhook_secret: str = field(default_factory=lambda: "whsec_fault" + secrets.token_hex(16))
    link_signing_key: str = field(default_factory=lambda: "links-" + secrets.token_hex(24))


class FaultStack(Stack):
    """A whole platform of its own (free ports, own state folder): kills and restarts hit nothing else."""

    def __init__(self, state: Path, extra_env: dict[str, str] | None = None) -> None:
        self.secrets = Secrets()
        cfg = StackConfig(
            state=state, pg_port=free_port(), kafka_port=free_port(), kafka_controller_port=free_port(),
            stripe_port=free_port(), smtp_port=free_port(), smtp_http_port=free_port(),
            db_prefix="", topic_prefix=f"f{uuid.uuid4().hex[:6]}.", admin_token=self.secrets.admin_token,
            test_clock=True, pg_fast=False, stripe_persist=False,
            service_ports={s.name: free_port() for s in SERVICES},
            external_db=None, external_kafka=None, external_stripe=None,  # never the shared ones: we crash these
        )
        super().__init__(cfg)
        self.extra_env = {
            "APP_ENV": "test",
            "LOG_LEVEL": "INFO",
            "STRIPE_API_KEY": self.secrets.stripe_key,
            "STRIPE_WEBHOOK_SECRET": self.secrets.webhook_secret,
            "PAYMENT_LINK_SIGNING_KEY": self.secrets.link_signing_key,
            "PLACEMENT_RUN_WINDOW_S": "10",  # single placements' summary after 10 s of wall time, not 5 min
            **(extra_env or {}),
        }

    def service_env(self, svc: ServiceDef) -> dict[str, str]:
        env = super().service_env(svc)
        env.update(self.extra_env)
        return env

    @property
    def all_process_names(self) -> list[str]:
        return [n for s in SERVICES for n in self.process_names(s)]

    def service_of(self, process: str) -> tuple[ServiceDef, str]:
        svc_name, _, kind = process.partition(".")
        return next(s for s in SERVICES if s.name == svc_name), kind

    def start(self) -> None:
        self.up()
        self.relax_fsync()
        self.migrate()
        self.start_services()
        self.register_webhook()

    def relax_fsync(self) -> None:
        """fsync off (speed), synchronous_commit left on: a commit is in the OS before it is acknowledged, so
        killing PostgreSQL (pg_ctl -m immediate) loses nothing that was acknowledged, as on a real server."""
        with psycopg.connect(self.admin_db_url, autocommit=True) as conn:
            conn.execute("ALTER SYSTEM SET fsync = off")
            conn.execute("SELECT pg_reload_conf()")

    def register_webhook(self) -> None:
        """localstripe posts payment_intent.* events to billing-service, signed with the run's secret."""
        url = f"{self.service_url('billing-service')}/webhooks/stripe"
        r = requests.post(f"{self.stripe_url}/_config/webhooks/fault-run",
                          data={"url": url, "secret": self.secrets.webhook_secret}, timeout=10)
        r.raise_for_status()

    def respawn(self, process: str) -> None:
        svc, kind = self.service_of(process)
        self.start_service(svc, only=[kind])

    def db(self, service: str) -> str:
        return self.db_url(next(s for s in SERVICES if s.name == service).database)

    # -- infrastructure crashes ----------------------------------------------------------------------------------

    def crash_kafka(self, down_s: float) -> float:
        """kill -9 the broker, leave it down ``down_s`` seconds, start it again; returns the outage in seconds."""
        started = time.monotonic()
        self.procs.kill9(self.kafka.name)
        time.sleep(down_s)
        self.kafka.start()
        return time.monotonic() - started

    def crash_postgres(self, down_s: float) -> float:
        """pg_ctl stop -m immediate (every backend killed, no checkpoint: crash recovery at the next start)."""
        started = time.monotonic()
        self.pg.stop(mode="immediate")
        time.sleep(down_s)
        self.pg.start()
        wait_until(lambda: port_open(self.cfg.pg_port), 60, "PostgreSQL to accept connections again")
        return time.monotonic() - started


# -- supervisor and chaos ---------------------------------------------------------------------------------------


@dataclass
class Kill:
    at: float  # seconds since the run started
    process: str
    pid: int | None
    phase: str


@dataclass
class Exit:
    at: float
    process: str
    phase: str
    log_tail: str


class Supervisor(threading.Thread):
    """Starts again every service process that is gone, after a short back-off (a Deployment's controller)."""

    def __init__(self, stack: FaultStack, clock: Callable[[], float], phase: Callable[[], str],
                 backoff_s: tuple[float, float] = (0.5, 3.0), seed: int = 0) -> None:
        super().__init__(daemon=True, name="supervisor")
        self.stack = stack
        self.clock = clock
        self.phase = phase
        self.backoff_s = backoff_s
        self.random = random.Random(seed)
        self.lock = threading.Lock()  # held by Chaos around a kill, so a restart never races a pid file
        self.stopping = threading.Event()
        self.killed: set[str] = set()  # killed by the chaos monkey, not yet restarted
        self.restarts: Counter[str] = Counter()
        self.exits: list[Exit] = []  # gone without being killed
        self._down_since: dict[str, tuple[float, float]] = {}
        self._log_sizes: dict[str, int] = {}

    def run(self) -> None:
        while not self.stopping.wait(0.2):
            self.tick()

    def tick(self) -> None:
        now = time.monotonic()
        with self.lock:
            for name in self.stack.all_process_names:
                if self.stack.procs.running(name):
                    self._down_since.pop(name, None)
                    continue
                if name not in self._down_since:
                    self._down_since[name] = (now, self.random.uniform(*self.backoff_s))
                    if name not in self.killed:
                        self.exits.append(Exit(self.clock(), name, self.phase(), self._new_log(name)))
                since, backoff = self._down_since[name]
                if now - since >= backoff:
                    self._log_sizes[name] = self._log_size(name)
                    self.stack.respawn(name)
                    self.restarts[name] += 1
                    self.killed.discard(name)
                    self._down_since.pop(name, None)

    def _log_size(self, name: str) -> int:
        try:
            return self.stack.procs.log_path(name).stat().st_size
        except OSError:
            return 0

    def _new_log(self, name: str) -> str:
        path = self.stack.procs.log_path(name)
        try:
            with path.open("rb") as f:
                f.seek(self._log_sizes.get(name, 0))
                return f.read().decode(errors="replace")[-1500:]
        except OSError:
            return ""

    def all_running(self) -> bool:
        return all(self.stack.procs.running(n) for n in self.stack.all_process_names)

    def stop(self) -> None:
        self.stopping.set()
        if self.is_alive():
            self.join(timeout=10)


class Chaos(threading.Thread):
    """kill -9 a random service process every ``interval_s`` (uniform) seconds, each in turn before repeats."""

    def __init__(self, supervisor: Supervisor, interval_s: tuple[float, float], seed: int = 0,
                 victims: list[str] | None = None) -> None:
        super().__init__(daemon=True, name="chaos")
        self.supervisor = supervisor
        self.stack = supervisor.stack
        self.interval_s = interval_s
        self.random = random.Random(seed)
        self.victims = victims or list(self.stack.all_process_names)
        self.kills: list[Kill] = []
        self.stopping = threading.Event()
        self.paused = threading.Event()
        self._bag: list[str] = []

    def next_victim(self) -> str:
        if not self._bag:
            self._bag = list(self.victims)
            self.random.shuffle(self._bag)
        return self._bag.pop()

    def run(self) -> None:
        while not self.stopping.wait(self.random.uniform(*self.interval_s)):
            if not self.paused.is_set():
                self.kill(self.next_victim())

    def kill(self, name: str) -> Kill:
        with self.supervisor.lock:
            self.supervisor.killed.add(name)
            pid = self.stack.procs.kill9(name)
        k = Kill(self.supervisor.clock(), name, pid, self.supervisor.phase())
        self.kills.append(k)
        return k

    def stop(self) -> None:
        self.stopping.set()
        if self.is_alive():
            self.join(timeout=30)


# -- the clients' side ------------------------------------------------------------------------------------------


class ApiError(AssertionError):
    pass


@dataclass
class ClientStats:
    """What the clients met while the platform was being hurt (for the report)."""

    requests: int = 0
    resent: int = 0
    connection_errors: int = 0
    statuses: Counter[str] = field(default_factory=Counter)  # "service status" of every retried answer
    error_bodies: list[str] = field(default_factory=list)  # every 4xx/5xx body (scanned for secrets)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, service: str, status: int | None, body: str | None = None) -> None:
        with self.lock:
            if status is None:
                self.connection_errors += 1
            else:
                self.statuses[f"{service} {status}"] += 1
            if body is not None and len(self.error_bodies) < 20_000:
                self.error_bodies.append(body[:4000])


RETRY = (500, 502, 503, 504)


@dataclass
class Api:
    """One service with one bearer token, sending again what met a dead API (same headers, same key)."""

    service: str
    base: str
    token: str | None
    stats: ClientStats
    patience_s: float = 300.0

    def as_(self, token: str | None) -> Api:
        return Api(self.service, self.base, token, self.stats, self.patience_s)

    def call(self, method: str, path: str, *, expect: tuple[int, ...] = (200, 201, 202, 204),
             json: Any = None, params: dict[str, Any] | None = None, headers: dict[str, str] | None = None,
             retry_statuses: tuple[int, ...] = (), data: Any = None) -> requests.Response:
        h = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        h.update(headers or {})
        deadline = time.monotonic() + self.patience_s
        delay = 0.2
        while True:
            with self.stats.lock:
                self.stats.requests += 1
            try:
                r = requests.request(method, self.base + path, json=json, params=params, headers=h, data=data,
                                     timeout=60)
            except requests.RequestException:
                self.stats.note(self.service, None)
                r = None
            if r is not None:
                if r.status_code >= 400:
                    self.stats.note(self.service, r.status_code, r.text)
                if r.status_code in expect:
                    return r
                if r.status_code not in (*RETRY, 429, *retry_statuses):
                    raise ApiError(f"{method} {self.service}{path} -> {r.status_code}: {r.text[:1500]}")
            if time.monotonic() > deadline:
                raise ApiError(f"{method} {self.service}{path}: gave up after {self.patience_s:.0f}s "
                               f"(last: {None if r is None else r.status_code})")
            with self.stats.lock:
                self.stats.resent += 1
            wait = delay
            if r is not None and r.status_code == 429:
                wait = float(r.headers.get("Retry-After", "1"))
            time.sleep(wait)
            delay = min(delay * 1.6, 3.0)

    def get(self, path: str, **kw: Any) -> Any:
        return self.call("GET", path, **kw).json()

    def post(self, path: str, body: Any = None, *, key: str | None = None, **kw: Any) -> Any:
        headers = dict(kw.pop("headers", None) or {})
        if key:
            headers["Idempotency-Key"] = key
        r = self.call("POST", path, json=body, headers=headers, **kw)
        return r.json() if r.content else None

    def all_pages(self, path: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        q = dict(params or {}, limit=200)
        while True:
            page = self.get(path, params=q)
            items += page["items"]
            if not page.get("next_cursor"):
                return items
            q["cursor"] = page["next_cursor"]


def eventually(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 1.0) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
        except ApiError as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {str(last)[:500]})")
