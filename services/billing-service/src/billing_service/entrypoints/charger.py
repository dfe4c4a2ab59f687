"""The charger: performs every Stripe charge, never twice: ``python -m billing_service.entrypoints.charger``.

One charger leads at a time (a PostgreSQL advisory lock, like the relay); other replicas wait as hot standbys.
So the client-side rate limit (STRIPE_RATE_LIMIT) holds for the whole service. The leader runs a pool of
CHARGER_CONCURRENCY workers that share that limiter; it wakes on NOTIFY when an attempt is recorded, and at
least every half second to start the retries that the service clock says are due.
"""

from __future__ import annotations

import logging
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import psycopg
from psycopg_pool import ConnectionPool

from billing_service.adapters.ratelimit import RateLimiter
from billing_service.adapters.stripe_gateway import StripeGateway
from billing_service.config import ServiceSettings
from billing_service.service_layer.charging import Charging, Work, fault_hook
from servicekit import logs
from servicekit.clock import Clock, make_clock
from servicekit.worker import run_worker
from shared_events import listening, tracing

log = logging.getLogger("billing_service.charger")

LEADER_KEY = zlib.crc32(b"billing-service:charger")
AUTHORISATION_POLL = timedelta(minutes=5)
REFUND_SWEEP_S = 30.0
RETRY_CHECK_S = 0.5


class Charger:
    def __init__(self, settings: ServiceSettings, *, clock: Clock | None = None,
                 gateway: StripeGateway | None = None) -> None:
        self.settings = settings
        self.dsn = settings.base.database_url
        self.clock = clock or make_clock(settings.base.test_clock_url)
        limiter = RateLimiter(settings.stripe.rate_limit, settings.stripe.rate_burst)
        self.charging = Charging(
            gateway=gateway or StripeGateway(settings.stripe, limiter),
            links=settings.links(),
            now=self.clock.now,
            fault=fault_hook(settings.charger_fault, settings.charger_fault_once_file,
                             settings.base.app_env == "production"),
        )
        self.concurrency = settings.charger_concurrency
        self.stop_event = threading.Event()
        self.is_leader = False
        self._in_flight: set[str] = set()
        self._lock = threading.Lock()

    def stop(self) -> None:
        self.stop_event.set()

    def run(self) -> None:
        def lost() -> None:
            self.is_leader = False

        listening.keep_connected(self.dsn, self.stop_event, self._lead, what="charger", lost=lost)

    def _lead(self, leader: psycopg.Connection) -> None:
        listening.listen(leader, "billing_attempts")
        if not listening.lead(leader, LEADER_KEY, self.stop_event):
            return
        self.is_leader = True
        log.info("charger is leading", extra={"rate_limit": self.settings.stripe.rate_limit,
                                              "concurrency": self.concurrency})
        pool = ConnectionPool(self.dsn, min_size=1, max_size=self.concurrency + 1, kwargs={"autocommit": True},
                              name="charger", open=True)
        executor = ThreadPoolExecutor(self.concurrency, thread_name_prefix="charge")
        last = {"sweep": 0.0, "retries": 0.0}
        try:
            while not self.stop_event.is_set():
                leader.execute("SELECT 1")  # still connected, so still the leader
                try:
                    work = self._round(pool, last)
                except psycopg.OperationalError:
                    raise
                except Exception:  # a bad round (a bug, a conflict) must not stop the charger: log, pause, go on
                    log.exception("charger round failed")
                    self.stop_event.wait(1.0)
                    continue
                for item in work:
                    self._submit(executor, pool, item)
                # busy: top the queue up soon; idle: sleep until an attempt is recorded (NOTIFY) or half a second
                listening.notified(leader, 0.05 if work or self._in_flight else 0.5)
        finally:
            executor.shutdown(wait=True)  # attempts in hand finish and commit
            pool.close()
            self.is_leader = False

    def _round(self, pool: ConnectionPool, last: dict[str, float]) -> list[Work]:
        """Start the retries that are due, now and then look again at what is pending, and find work."""
        with pool.connection() as conn:
            if time.monotonic() - last["retries"] >= RETRY_CHECK_S:
                last["retries"] = time.monotonic()
                self.charging.start_due_retries(conn)
            if time.monotonic() - last["sweep"] > REFUND_SWEEP_S:
                last["sweep"] = time.monotonic()
                self.charging.reconcile_refunds(conn)
                self.charging.poll_waiting_authorisations(conn, AUTHORISATION_POLL)
            room = self.concurrency * 2 - len(self._in_flight)
            with self._lock:
                busy = list(self._in_flight)
            return self.charging.due_work(conn, busy, room) if room > 0 else []

    def _submit(self, executor: ThreadPoolExecutor, pool: ConnectionPool, item: Work) -> None:
        def run() -> None:
            try:
                with pool.connection() as conn, tracing.resumed(conn, item.payment_id, "charge payment",
                                                                 {"attempt": item.attempt}):
                    result = self.charging.charge(conn, item)  # the stripe SDK's request: a child span
                log.info("attempt handled", extra={"payment_id": item.payment_id, "attempt": item.attempt,
                                                   "result": result})
            except Exception:  # one attempt's trouble never stops the others; it is picked up again
                log.exception("charging an attempt failed", extra={"payment_id": item.payment_id})
                time.sleep(1.0)
            finally:
                with self._lock:
                    self._in_flight.discard(item.idempotency_key)

        with self._lock:
            self._in_flight.add(item.idempotency_key)
        executor.submit(run)



def main() -> None:
    settings = ServiceSettings.from_env()
    logs.configure(settings.base.service_name, settings.base.log_level)
    charger = Charger(settings)
    run_worker(charger, name=f"{settings.base.service_name}.charger")  # a standby is healthy too


if __name__ == "__main__":
    main()
