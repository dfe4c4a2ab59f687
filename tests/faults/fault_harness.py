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
- ``GroupWatch``: looks at the consumer groups of services that run more than one member (``FaultStack.scale_
  consumers``) through Kafka's admin API, to count their rebalances and time how long a group takes to be whole
  again after one of its members was killed.
- ``Api``: the clients' side: a request that met a dead API, a 5xx or a 429 is sent again, the same
  Idempotency-Key with it, like any well-behaved client would; what it met is counted for the report.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import statistics
import subprocess
import sys
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

    def __init__(self, state: Path, extra_env: dict[str, str] | None = None, kafka_nodes: int = 1) -> None:
        self.secrets = Secrets()
        cfg = StackConfig(
            state=state, pg_port=free_port(), kafka_port=free_port(), kafka_controller_port=free_port(),
            kafka_nodes=kafka_nodes, kafka_extra_ports=[(free_port(), free_port()) for _ in range(kafka_nodes - 1)],
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

    # -- more than one member per consumer group (several replicas of a consumer Deployment) ----------------------

    SCALED = ("order-service", "billing-service")
    consumer_members: dict[str, int]

    def scale_consumers(self, members: int, services: tuple[str, ...] = SCALED) -> None:
        """Run ``members`` consumer processes of each of these services: ``<service>.consumer`` and
        ``<service>.consumer-2``, ``-3``..., the same command, environment and Kafka group (Kafka shares the
        topics' partitions among them); the supervisor restarts and the chaos monkey kills each like any other."""
        self.consumer_members = {s: members for s in services}
        for svc in SERVICES:
            for name in self.extra_members(svc.name):
                self.spawn_member(name)

    def extra_members(self, service: str) -> list[str]:
        n = getattr(self, "consumer_members", {}).get(service, 1)
        return [f"{service}.consumer-{i}" for i in range(2, n + 1)]

    def members(self, service: str) -> list[str]:
        """Every consumer process of the service's group."""
        return [f"{service}.consumer", *self.extra_members(service)]

    def spawn_member(self, process: str) -> None:
        svc, _ = self.service_of(process)
        self.procs.spawn(process, [sys.executable, "-m", f"{svc.package}.entrypoints.consumer"],
                         env=self.service_env(svc))

    def process_names(self, svc: ServiceDef) -> list[str]:
        return [*super().process_names(svc), *self.extra_members(svc.name)]

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
        if process in self.extra_members(svc.name):
            self.spawn_member(process)
        else:
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


# -- consumer groups of several members ---------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupLook:
    at: float  # seconds since the run started
    state: str  # Kafka's: STABLE, PREPARING_REBALANCE, COMPLETING_REBALANCE, EMPTY (UNKNOWN: Kafka did not answer)
    members: frozenset[str]  # member ids (a restarted process joins with a new one)
    assigned: int  # members holding partitions


@dataclass
class MemberKill:
    """A member's kill -9 and its group's recovery, in seconds after the kill."""

    process: str
    at: float
    taken_over_s: float | None  # the group stable without the dead member: its partitions read by the others
    whole_s: float | None  # the group stable with all its members again (the restarted one included)


class GroupWatch(threading.Thread):
    """Looks at consumer groups every ``interval_s`` (describe_consumer_groups: state and member ids) and keeps each
    change, so that the report can count rebalances and time the recovery after a member's kill -9: Kafka notices
    the death after the session timeout, shares its partitions among the others, and shares them again when the
    supervisor's restart joins.

    The looks are taken by a child process (``python fault_harness.py watch``, one JSON line per group and look),
    started again whenever it dies: librdkafka's admin client can abort the whole process when a DescribeGroups
    request times out while the broker is down (confluentinc/librdkafka#4605), which the run's Kafka crash causes."""

    def __init__(self, bootstrap: str, groups: dict[str, str], members: dict[str, int],
                 clock: Callable[[], float], interval_s: float = 0.5) -> None:
        super().__init__(daemon=True, name="group-watch")
        self.bootstrap = bootstrap
        self.groups = groups  # service -> Kafka group id
        self.members = members  # service -> members it should have
        self.clock = clock
        self.interval_s = interval_s
        self.looks: dict[str, list[GroupLook]] = {s: [] for s in groups}
        self.stopping = threading.Event()
        self.child: subprocess.Popen[str] | None = None
        self.child_starts = 0
        self.latest: dict[str, GroupLook] = {}  # the last look at each group, whatever it saw
        self.count = 0  # looks taken

    def run(self) -> None:
        service_of = {g: s for s, g in self.groups.items()}
        while not self.stopping.is_set():
            self.child_starts += 1
            self.child = subprocess.Popen(
                [sys.executable, __file__, "watch", self.bootstrap, json.dumps(list(self.groups.values())),
                 str(self.interval_s)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            assert self.child.stdout is not None
            for line in self.child.stdout:
                try:
                    group, state, members, assigned = json.loads(line)
                except ValueError:  # a line cut short by the child's death
                    continue
                self.note(service_of[group], GroupLook(self.clock(), state, frozenset(members), assigned))
            self.child.wait()
            self.stopping.wait(1.0)

    def note(self, service: str, look: GroupLook) -> None:
        self.latest[service] = look
        self.count += 1
        seen = self.looks[service]
        if not seen or (seen[-1].state, seen[-1].members, seen[-1].assigned) != (
                look.state, look.members, look.assigned):
            seen.append(look)

    def stop(self) -> None:
        self.stopping.set()
        if self.child is not None and self.child.poll() is None:
            self.child.terminate()
        if self.is_alive():
            self.join(timeout=10)

    def rebalances(self, service: str) -> int:
        """Rebalances seen: each spell out of STABLE, and each change of a stable group's members that happened
        between two looks."""
        count, rebalancing, last = 0, False, None
        for look in self.looks[service]:
            if look.state == "UNKNOWN":
                continue
            if look.state != "STABLE":
                count += not rebalancing
                rebalancing = True
                continue
            if not rebalancing and last is not None and look.members != last:
                count += 1
            rebalancing, last = False, look.members
        return count

    def whole(self, service: str) -> bool:
        """The group's last look: stable, with every member holding partitions."""
        last = self.latest.get(service) or (self.looks[service][-1] if self.looks[service] else None)
        n = self.members[service]
        return last is not None and last.state == "STABLE" and len(last.members) == last.assigned == n

    def recovery(self, service: str, kills: list[Kill]) -> list[MemberKill]:
        """For each kill of one of the service's members: how long until the group was stable without the dead
        member (a member id of the look before the kill gone), and until it had all its members again."""
        out = []
        looks = [look for look in self.looks[service] if look.state != "UNKNOWN"]
        for k in kills:
            before = [look for look in looks if look.at <= k.at]
            after = [look for look in looks if look.at > k.at]
            if not before:
                out.append(MemberKill(k.process, k.at, None, None))
                continue
            ids = before[-1].members
            taken = next((look for look in after if look.state == "STABLE" and not ids <= look.members), None)
            whole = None if taken is None else next(
                (look for look in after if look.at >= taken.at and look.state == "STABLE"
                 and len(look.members) == look.assigned == self.members[service]), None)
            out.append(MemberKill(k.process, k.at, None if taken is None else taken.at - k.at,
                                  None if whole is None else whole.at - k.at))
        return out


def watch_groups(bootstrap: str, groups: list[str], interval_s: float) -> None:
    """GroupWatch's child: one JSON line [group, state, member ids, members holding partitions] per group and look,
    UNKNOWN when Kafka does not answer. It ends when its parent is gone, and so that the parent starts a fresh one:
    when a round of looks hangs (SIGALRM's default action ends it) or Kafka has not answered for a while (an admin
    client can stay blind after the broker came back)."""
    import signal

    from shared_events import kafka as kafka_clients

    parent = os.getppid()
    admin = kafka_clients.admin(bootstrap, **{"client.id": "fault-group-watch"})
    blind = 0
    while os.getppid() == parent and blind < 20:
        signal.alarm(30)
        try:
            futures = admin.describe_consumer_groups(groups, request_timeout=5)
        except Exception:  # Kafka down: nothing to see
            futures = {}
        for group in groups:
            try:
                d = futures[group].result(timeout=6)
                look = [group, d.state.name, sorted(m.member_id for m in d.members),
                        sum(1 for m in d.members if m.assignment.topic_partitions)]
            except Exception:  # the group unknown for now (Kafka down, the coordinator moving)
                look = [group, "UNKNOWN", [], 0]
            print(json.dumps(look), flush=True)
        blind = blind + 1 if look[1] == "UNKNOWN" else 0
        signal.alarm(0)
        time.sleep(interval_s)


def seconds(values: list[float | None]) -> str:
    """median and max of the measured ones, 'n/a' when none (a recovery not seen before the run ended)."""
    got = [v for v in values if v is not None]
    if not got:
        return "n/a"
    return f"median {statistics.median(got):.1f}s, max {max(got):.1f}s ({len(values) - len(got)} not seen)"


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


# -- three brokers: a leader killed, a broker stopped, and what the clients waited ------------------------------


@dataclass
class BrokerOutage:
    """One broker down (kill -9 or a graceful stop) and the leader elections it caused."""

    what: str  # "kill -9" or "stop"
    node: int
    phase: str
    at: float  # run clock
    wall_down: float  # time.time(), for the outbox rows' timestamps
    because: str = ""  # why this node
    led: list[tuple[str, int]] = field(default_factory=list)  # partitions it led when it went down
    moved_after: dict[tuple[str, int], float] = field(default_factory=dict)  # seconds until another node led it
    back_after: float | None = None  # seconds until the node served again
    wall_back: float | None = None
    in_sync_after: float | None = None  # seconds until every partition had all its replicas in sync again

    def election_line(self) -> str:
        waits = sorted(self.moved_after.values())
        stayed = len(self.led) - len(waits)
        if not waits:
            return f"{len(self.led)} partitions it led: none moved" + (f" ({stayed} waited for it)" if stayed else "")
        mid = waits[len(waits) // 2]
        return (f"{len(self.led)} partitions it led: new leaders after {waits[0]:.1f}s (first), {mid:.1f}s "
                f"(median), {waits[-1]:.1f}s (last)" + (f"; {stayed} waited for the node to return" if stayed else ""))


class BrokerFaults:
    """The broker faults of a run on a cluster (``FaultStack`` with ``kafka_nodes`` 3): kill -9 of the node leading
    the busiest partition, a graceful stop of another, each followed by a restart; while a node is down, a watcher
    polls the cluster's metadata for the partitions it led, so the report can say how long the elections took."""

    def __init__(self, stack: FaultStack, clock: Callable[[], float], phase: Callable[[], str]) -> None:
        self.stack = stack
        self.clock = clock
        self.phase = phase
        self.outages: list[BrokerOutage] = []
        self._baseline: dict[tuple[str, int], int] = {}
        self._clients = threading.local()

    @property
    def kafka(self) -> Any:
        return self.stack.kafka

    def _admin(self) -> Any:
        """One AdminClient per thread (the watchers poll beside the run's own calls)."""
        from shared_events import kafka as kafka_clients

        client = getattr(self._clients, "admin", None)
        if client is None:
            client = self._clients.admin = kafka_clients.admin(self.stack.bootstrap,
                                                               **{"client.id": "fault-run-brokers"})
        return client

    def topics(self) -> list[str]:
        """The event topics of the run and the consumer groups' offsets topic (its leaders are the coordinators)."""
        from shared_events.topics import event_topics

        known = self._admin().list_topics(timeout=10).topics
        names = [self.stack.cfg.topic_prefix + t.name for t in event_topics()] + ["__consumer_offsets"]
        return [n for n in names if n in known]

    def end_offsets(self, topics: list[str]) -> dict[tuple[str, int], int]:
        from shared_events import kafka as kafka_clients

        ends = kafka_clients.end_offsets(self._admin(), [self.stack.cfg.topic_prefix + t for t in topics])
        return {(tp.topic, tp.partition): end for tp, end in ends.items()}

    def mark(self, topics: list[str]) -> None:
        """Remember the topics' end offsets now: ``busiest`` counts the records written since."""
        self._baseline = self.end_offsets(topics)

    def busiest(self, topics: list[str], at_least: int, timeout: float = 60) -> tuple[tuple[str, int], int]:
        """The partition of ``topics`` with the most records since ``mark``, once ``at_least`` records were written
        in all (or ``timeout`` passed); and how many it got."""
        deadline = time.monotonic() + timeout
        while True:
            grown = {tp: end - self._baseline.get(tp, 0) for tp, end in self.end_offsets(topics).items()}
            if sum(grown.values()) >= at_least or time.monotonic() > deadline:
                tp = max(grown, key=lambda k: grown[k])
                return tp, grown[tp]
            time.sleep(0.5)

    def _watch(self, outage: BrokerOutage, started: float, stop: threading.Event) -> None:
        client = self._admin()
        waiting = set(outage.led)
        while waiting and not stop.is_set() and time.monotonic() - started < 180:
            try:
                now = self.kafka.leaders(sorted({t for t, _ in waiting}), timeout=5, client=client)
            except Exception:  # a cluster in the middle of an election: ask again
                now = {}
            seen = time.monotonic() - started
            for tp in list(waiting):
                if now.get(tp, -1) not in (-1, outage.node):
                    outage.moved_after[tp] = seen
                    waiting.discard(tp)
            time.sleep(0.2)

    def _down(self, what: str, node: int, because: str, take_down: Callable[[int], Any], down_s: float) -> BrokerOutage:
        led = [tp for tp, leader in self.kafka.leaders(self.topics(), client=self._admin()).items() if leader == node]
        outage = BrokerOutage(what, node, self.phase(), self.clock(), time.time(), because, led)
        self.outages.append(outage)
        stop = threading.Event()
        started = time.monotonic()
        watcher = threading.Thread(target=self._watch, args=(outage, started, stop), daemon=True,
                                   name=f"elections {node}")
        watcher.start()
        take_down(node)
        time.sleep(down_s)
        self.kafka.start_node(node)
        outage.back_after = time.monotonic() - started
        outage.wall_back = time.time()
        stop.set()
        watcher.join(timeout=30)
        self.wait_in_sync()
        outage.in_sync_after = time.monotonic() - started
        return outage

    def kill_busiest_leader(self, topics: list[str], at_least: int, down_s: float) -> float:
        """kill -9 the node leading the partition of ``topics`` that got the most records since ``mark``; start
        it again ``down_s`` seconds later. Returns how long it was down."""
        (topic, partition), records = self.busiest(topics, at_least)
        node = self.kafka.leader(topic, partition, client=self._admin())
        short = topic.removeprefix(self.stack.cfg.topic_prefix)
        outage = self._down("kill -9", node, f"leader of {short}[{partition}], {records} records since the open",
                            self.kafka.kill_node, down_s)
        return outage.back_after or 0.0

    def stop_another(self, down_s: float) -> float:
        """Stop gracefully a node that was not down before (the one leading the most partitions of them), start it
        again ``down_s`` seconds later. Returns how long it was down."""
        self.wait_in_sync()
        hurt = {o.node for o in self.outages}
        counts = Counter(self.kafka.leaders(self.topics(), client=self._admin()).values())
        node = max((n for n in self.kafka.node_ids if n not in hurt), key=lambda n: counts.get(n, 0))
        outage = self._down("stop", node, f"leader of {counts.get(node, 0)} partitions", self.kafka.stop_node,
                            down_s)
        return outage.back_after or 0.0

    def wait_in_sync(self, timeout: float = 300) -> None:
        """Until every partition has all its replicas in sync (a node back has caught up)."""
        client = self._admin()

        def all_in_sync() -> bool:
            meta = client.list_topics(timeout=10).topics
            return all(len(p.isrs) == len(p.replicas) for t in self.topics() if t in meta
                       for p in meta[t].partitions.values())

        wait_until(all_in_sync, timeout, "every replica back in sync", interval=1.0)

    def lines(self, outbox: dict[int, dict[str, float]], consumers: dict[int, dict[str, float]]) -> list[str]:
        out = []
        for n, o in enumerate(self.outages):
            out.append(f"broker {o.node} {o.what} in phase '{o.phase}' at {o.at:.0f}s ({o.because}): back after "
                       f"{o.back_after or float('nan'):.1f}s, every replica in sync after "
                       f"{o.in_sync_after or float('nan'):.1f}s; {o.election_line()}")
            if outbox.get(n):
                out.append("  producers (outbox rows stored while it was down, longest until published): "
                           + ", ".join(f"{svc} {s:.1f}s" for svc, s in outbox[n].items()))
            if consumers.get(n):
                out.append("  consumers (events published while it was down, longest until applied): "
                           + ", ".join(f"{svc} {s:.1f}s" for svc, s in consumers[n].items()))
        return out

    def check(self) -> Any:
        """Every partition the killed broker led had another leader before it returned."""
        from fault_checks import Check

        problems = [f"broker {o.node} ({o.what}): no new leader seen for {len(o.led) - len(o.moved_after)} of "
                    f"the {len(o.led)} partitions it led before it returned"
                    for o in self.outages if o.what == "kill -9" and len(o.moved_after) < len(o.led)]
        numbers = {f"{o.what} {o.node}": f"{len(o.moved_after)}/{len(o.led)} moved" for o in self.outages}
        return Check("leaders elected", bool(self.outages) and not problems, numbers, problems)


def outbox_waits(stack: FaultStack, windows: list[tuple[float, float]]) -> dict[int, dict[str, float]]:
    """Per window (wall-clock seconds from, to), per service: the longest an outbox row stored in it waited to be
    published (what the relay's producer waited on the elections, or on a relay killed meanwhile)."""
    out: dict[int, dict[str, float]] = {}
    for n, (start, end) in enumerate(windows):
        out[n] = {}
        for svc in SERVICES:
            with psycopg.connect(stack.db(svc.name)) as conn:
                row = conn.execute(
                    "SELECT max(extract(epoch FROM published_at - stored_at)) FROM event_store "
                    "WHERE stored_at BETWEEN to_timestamp(%s) AND to_timestamp(%s)", (start, end)).fetchone()
            if row and row[0] is not None:
                out[n][svc.name] = float(row[0])
    return out


def consumer_waits(stack: FaultStack, windows: list[tuple[float, float]]) -> dict[int, dict[str, float]]:
    """Per window (wall-clock seconds from, to), per consuming service: the longest an event published in it waited
    until the service applied it (its inbox row), read from PostgreSQL only. (Asking Kafka for the consumer groups'
    offsets while a broker is down can abort the asking process: librdkafka's coordinator requests of its admin
    client, confluentinc/librdkafka#3663.)"""
    published: dict[str, float] = {}
    for svc in SERVICES:
        with psycopg.connect(stack.db(svc.name)) as conn:
            for n, (start, end) in enumerate(windows):
                for event_id, at in conn.execute(
                        "SELECT event_id::text, extract(epoch FROM published_at) FROM event_store "
                        "WHERE published_at BETWEEN to_timestamp(%s) AND to_timestamp(%s)", (start, end)):
                    published[f"{n} {event_id}"] = float(at)
    out: dict[int, dict[str, float]] = {n: {} for n in range(len(windows))}
    for svc in SERVICES:
        with psycopg.connect(stack.db(svc.name)) as conn:
            rows = conn.execute("SELECT event_id::text, extract(epoch FROM processed_at) FROM inbox "
                                "WHERE processed_at >= to_timestamp(%s)",
                                (min((w[0] for w in windows), default=0),)).fetchall()
        for n in range(len(windows)):
            waits = [float(at) - published[f"{n} {event_id}"] for event_id, at in rows
                     if f"{n} {event_id}" in published]
            if waits:
                out[n][svc.name] = max(waits)
    return out


if __name__ == "__main__":  # GroupWatch's child: python fault_harness.py watch <bootstrap> <groups as JSON> <interval>
    if sys.argv[1:2] == ["watch"]:
        watch_groups(sys.argv[2], json.loads(sys.argv[3]), float(sys.argv[4]))
