"""Harness for scheduler-service against real PostgreSQL and Kafka.

The scheduler is fed subscription-service-shaped events published straight to Kafka (``Feed``), never
through subscription-service code. Its consumer, relay and ticker run as real processes (``Harness.start``);
the API runs in-process (Flask test client) on the same databases. Time is the shared test clock.
"""

from __future__ import annotations

import signal
import subprocess
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from devstack.testing import process_env, scalar, start_process, wait_for
from scheduler_service.config import ServiceSettings
from servicekit.clock import DbTestClock
from servicekit.config import Settings
from shared_events import Envelope, decode, encode, new_envelope
from shared_events import kafka as kafka_clients
from shared_events.examples import ADDRESS, ITEMS, SETTINGS
from shared_events.topics import physical

ADMIN_TOKEN = "rop_test_scheduler_admin_" + "x" * 24
ACTOR = {"type": "manager", "id": "test-manager"}
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday


def new_id() -> str:
    return str(uuid.uuid4())


class Feed:
    """Publishes what subscription-service would publish, keyed and versioned per aggregate."""

    def __init__(self, bootstrap: str, clock_dsn: str) -> None:
        self.producer = kafka_clients.producer(bootstrap)
        self.clock = DbTestClock(clock_dsn)
        self.versions: dict[str, int] = defaultdict(int)
        self.cycles: dict[str, dict[str, Any]] = {}
        self.schedules: dict[str, list[str]] = {}
        self.sent = 0

    def emit(self, event_type: str, aggregate_id: str, payload: dict[str, Any], shop_id: str,
             at: datetime | None = None) -> Envelope:
        self.versions[aggregate_id] += 1
        env = new_envelope(event_type, aggregate_id, self.versions[aggregate_id], payload,
                           producer="subscription-service", shop_id=shop_id, occurred_at=at or self.clock.now())
        kafka_clients.send(self.producer, physical(env.topic_family), aggregate_id.encode(), encode(env))
        self.sent += 1
        return env

    def flush(self) -> None:
        self.producer.flush()

    def close(self) -> None:
        self.producer.close()

    # -- shops --------------------------------------------------------------------------------------------------
    def shop(self, *, timezone: str = "Europe/Paris", enabled: bool = True, late: str = "while_open") -> str:
        shop_id = new_id()
        settings = {**SETTINGS, "timezone": timezone, "subscriptions_enabled": enabled, "late_placement": late}
        self.emit("ShopCreated", shop_id, {"shop_id": shop_id, "settings": settings, "actor": ACTOR,
                                           "reason": None}, shop_id)
        return shop_id

    def update_shop(self, shop_id: str, **changes: Any) -> Envelope:
        previous = {k: SETTINGS.get(k) for k in changes}
        return self.emit("ShopUpdated", shop_id, {"shop_id": shop_id, "changes": changes, "previous": previous,
                                                  "actor": ACTOR, "reason": None}, shop_id)

    # -- order cycles and schedules -------------------------------------------------------------------------------
    def cycle(self, shop_id: str, opens_at: datetime, closes_at: datetime, name: str = "Week") -> str:
        cycle_id = new_id()
        self.cycles[cycle_id] = {"shop_id": shop_id, "name": name, "opens_at": opens_at, "closes_at": closes_at}
        self.emit("OrderCycleCreated", cycle_id, {"order_cycle_id": cycle_id, **self.cycles[cycle_id],
                                                  "actor": ACTOR, "reason": None}, shop_id)
        return cycle_id

    def move_cycle(self, cycle_id: str, *, opens_at: datetime | None = None, closes_at: datetime | None = None,
                   name: str | None = None) -> Envelope:
        c = self.cycles[cycle_id]
        payload = {"order_cycle_id": cycle_id, "shop_id": c["shop_id"], "name": name or c["name"],
                   "opens_at": opens_at or c["opens_at"], "closes_at": closes_at or c["closes_at"],
                   "previous_opens_at": c["opens_at"], "previous_closes_at": c["closes_at"], "actor": ACTOR,
                   "reason": None}
        c.update(name=payload["name"], opens_at=payload["opens_at"], closes_at=payload["closes_at"])
        return self.emit("OrderCycleMoved", cycle_id, payload, c["shop_id"])

    def delete_cycle(self, cycle_id: str) -> Envelope:
        shop_id = self.cycles[cycle_id]["shop_id"]
        return self.emit("OrderCycleDeleted", cycle_id, {"order_cycle_id": cycle_id, "shop_id": shop_id,
                                                         "actor": ACTOR, "reason": None}, shop_id)

    def schedule(self, shop_id: str, cycle_ids: list[str], name: str = "Weekly box") -> str:
        schedule_id = new_id()
        self.schedules[schedule_id] = list(cycle_ids)
        self.emit("ScheduleCreated", schedule_id, {"schedule_id": schedule_id, "shop_id": shop_id, "name": name,
                                                   "order_cycle_ids": list(cycle_ids), "actor": ACTOR,
                                                   "reason": None}, shop_id)
        return schedule_id

    def change_schedule(self, schedule_id: str, shop_id: str, *, add: list[str] = (), remove: list[str] = ()
                        ) -> Envelope:  # type: ignore[assignment]
        after = [c for c in self.schedules[schedule_id] if c not in remove] + [c for c in add
                                                                               if c not in self.schedules[schedule_id]]
        self.schedules[schedule_id] = after
        return self.emit("ScheduleOrderCyclesChanged", schedule_id,
                         {"schedule_id": schedule_id, "shop_id": shop_id, "added": list(add), "removed": list(remove),
                          "order_cycle_ids": after, "actor": ACTOR, "reason": None}, shop_id)

    # -- subscriptions ------------------------------------------------------------------------------------------
    def subscription(self, shop_id: str, schedule_id: str, begins_at: datetime, ends_at: datetime | None = None,
                     customer_id: str | None = None, at: datetime | None = None) -> str:
        sub_id = new_id()
        terms = {"items": ITEMS, "shipping_method_id": new_id(), "payment_method_id": new_id(),
                 "payment_kind": "cash", "bill_address": ADDRESS, "ship_address": ADDRESS, "begins_at": begins_at,
                 "ends_at": ends_at, "shipping_fee_estimate": 500, "payment_fee_estimate": 0}
        self.emit("SubscriptionCreated", sub_id, {"subscription_id": sub_id, "shop_id": shop_id,
                                                  "customer_id": customer_id or new_id(), "schedule_id": schedule_id,
                                                  "currency": "EUR", "terms": terms, "actor": ACTOR, "reason": None},
                  shop_id, at)
        return sub_id

    def _sub_event(self, event_type: str, sub_id: str, shop_id: str, **extra: Any) -> Envelope:
        return self.emit(event_type, sub_id, {"subscription_id": sub_id, "shop_id": shop_id, **extra,
                                              "actor": ACTOR, "reason": None}, shop_id)

    def update_subscription(self, sub_id: str, shop_id: str, **changes: Any) -> Envelope:
        return self._sub_event("SubscriptionUpdated", sub_id, shop_id, changes=changes,
                               previous={k: None for k in changes if k == "ends_at"})

    def pause(self, sub_id: str, shop_id: str, until: datetime | None = None) -> Envelope:
        """``until``: a pause until a date (its instant; the date is the UTC one here)."""
        extra = {"resumes_at": until, "resumes_on": until.date().isoformat()} if until is not None else {}
        return self._sub_event("SubscriptionPaused", sub_id, shop_id, open_orders="none", open_order_cycle_ids=[],
                               **extra)

    def unpause(self, sub_id: str, shop_id: str) -> Envelope:
        return self._sub_event("SubscriptionUnpaused", sub_id, shop_id)

    def cancel(self, sub_id: str, shop_id: str) -> Envelope:
        return self._sub_event("SubscriptionCancelled", sub_id, shop_id, open_orders="none", open_order_cycle_ids=[])

    def skip(self, sub_id: str, shop_id: str, cycle_id: str) -> Envelope:
        return self._sub_event("OccurrenceSkipped", sub_id, shop_id, order_cycle_id=cycle_id)

    def resume(self, sub_id: str, shop_id: str, cycle_id: str) -> Envelope:
        return self._sub_event("OccurrenceResumed", sub_id, shop_id, order_cycle_id=cycle_id)


class Api:
    """The scheduler API in-process, as the platform admin (or another bearer token)."""

    def __init__(self, app: Any, token: str = ADMIN_TOKEN) -> None:
        self.app = app
        self.client = app.test_client()
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get(path, headers=self.headers, **kw)

    def post(self, path: str, body: Any) -> Any:
        return self.client.post(path, json=body, headers=self.headers)

    def set_clock(self, at: datetime) -> dict[str, Any]:
        resp = self.post("/api/v1/test-clock", {"at": at.isoformat()})
        assert resp.status_code == 200, resp.get_json()
        return resp.get_json()

    def advance(self, to: datetime | None = None, seconds: float | None = None) -> dict[str, Any]:
        body = {"to": to.isoformat()} if to is not None else {"seconds": seconds}
        resp = self.post("/api/v1/test-clock/advance", body)
        assert resp.status_code == 200, resp.get_json()
        return resp.get_json()


class Harness:
    """One scheduler deployment: its database, the shared test clock, its topics, its processes."""

    def __init__(self, infra: Any, dsn: str, clock_dsn: str, prefix: str, tmp_path: Path) -> None:
        self.infra = infra
        self.dsn = dsn
        self.clock_dsn = clock_dsn
        self.prefix = prefix
        self.tmp_path = tmp_path
        self.group = f"scheduler-test-{uuid.uuid4().hex[:8]}"
        self.feed = Feed(infra.bootstrap, clock_dsn)
        self.procs: dict[str, subprocess.Popen] = {}
        self._apps: list[Any] = []

    # -- processes ----------------------------------------------------------------------------------------------
    def env(self, **extra: Any) -> dict[str, str]:
        values = {"TEST_CLOCK_URL": self.clock_dsn, "CONSUMER_GROUP": self.group, "ADMIN_TOKEN": ADMIN_TOKEN,
                  "SERVICE_NAME": "scheduler-service", "TICKER_MAX_WAIT_S": 5, "TICKER_RETRY_FAILED_S": 1,
                  "SCHEDULER_OPEN_SLICE": 2, **extra}  # every open of more than two subscriptions is sliced
        return process_env(self.dsn, self.infra.bootstrap, self.prefix, **values)

    def start(self, worker: str, name: str | None = None, **extra: Any) -> subprocess.Popen:
        name = name or worker
        proc = start_process(["-m", f"scheduler_service.entrypoints.{worker}"], self.env(WORKER_ID=name, **extra),
                             self.log(name))
        self.procs[name] = proc
        return proc

    def log(self, name: str) -> Path:
        return self.tmp_path / f"{name}.log"

    def stop(self, name: str, timeout: float = 30) -> int:
        proc = self.procs.pop(name)
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait()

    def start_all(self) -> None:
        for worker in ("consumer", "relay", "ticker"):
            self.start(worker)

    def close(self) -> None:
        for name in list(self.procs):
            self.stop(name)
        for app in self._apps:
            app.extensions["pool"].close()
        self.feed.close()

    # -- API -------------------------------------------------------------------------------------------------------
    def settings(self, dsn: str | None = None, test_clock: bool = True) -> ServiceSettings:
        base = Settings(service_name="scheduler-service", database_url=dsn or self.dsn,
                        kafka_bootstrap=self.infra.bootstrap, topic_prefix=self.prefix, admin_token=ADMIN_TOKEN,
                        app_env="test", test_clock_url=self.clock_dsn if test_clock else None, log_level="WARNING",
                        public_base_url="http://scheduler.test", rate_limit_per_minute=1_000_000,
                        max_body_bytes=1_000_000)
        return ServiceSettings(base=base, worker_id="api-test", ticker_max_wait_s=5, ticker_retry_failed_s=1,
                               fault=None, fault_once_file=None)

    def api(self, token: str = ADMIN_TOKEN, test_clock: bool = True) -> Api:
        from scheduler_service.entrypoints.flask_app import create_app

        app = create_app(self.settings(test_clock=test_clock))
        self._apps.append(app)
        return Api(app, token)

    # -- waiting and reading ----------------------------------------------------------------------------------------
    def now(self) -> datetime:
        return self.feed.clock.now()

    def wait_applied(self, timeout: float = 60) -> None:
        """Until the consumer has applied (or dead-lettered) everything the feed published."""
        self.feed.flush()
        wanted = self.feed.sent
        wait_for(lambda: scalar(self.dsn, "SELECT count(*) FROM inbox") >= wanted, timeout,
                 f"the consumer to apply {wanted} events")
        dead = scalar(self.dsn, "SELECT count(*) FROM inbox WHERE outcome = 'dead_lettered'")
        assert dead == 0, f"{dead} events were dead-lettered: see {self.log('consumer')}"

    def outbox(self, *types: str) -> list[Envelope]:
        with psycopg.connect(self.dsn) as conn:
            rows = conn.execute("SELECT body FROM event_store WHERE topic = 'scheduler.events' ORDER BY position"
                                ).fetchall()
        events = [decode(bytes(r[0])) for r in rows]
        return [e for e in events if not types or e.event_type in types]

    def dues(self, **match: Any) -> list[Envelope]:
        return [e for e in self.outbox("OrderDue") if all(e.payload[k] == v for k, v in match.items())]

    def wait_published(self, timeout: float = 60) -> None:
        wait_for(lambda: scalar(self.dsn, "SELECT count(*) FROM event_store WHERE published_at IS NULL") == 0,
                 timeout, "the relay to publish the outbox")

    def kafka_events(self) -> list[Envelope]:
        """Every record of this deployment's scheduler.events topic, in (partition, offset) order."""
        return read_topic(self.infra.bootstrap, physical("scheduler.events", self.prefix))


def read_topic(bootstrap: str, topic: str) -> list[Envelope]:
    return [decode(r.value) for r in kafka_clients.read_topic(topic, bootstrap)]


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


def days(n: float) -> timedelta:
    return timedelta(days=n)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)
