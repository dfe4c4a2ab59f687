"""Turns time into events: ``python -m scheduler_service.entrypoints.ticker`` (run as many replicas as wanted).

Loop: emit every boundary that is due (catching up, in time order, whatever was missed while no ticker
ran), then sleep until the next boundary. No polling cadence: the sleep ends at the next boundary's time,
or earlier when PostgreSQL NOTIFYs that the cycles changed (``scheduler_wakeup``) or, in test clock mode,
that the clock moved (``test_clock``). When other replicas hold the due shops it looks again shortly.
Work spreads over replicas by per-shop claims (see service_layer/boundaries.py). /metrics, /healthz and
/readyz on WORKER_HTTP_PORT.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime

import psycopg

from scheduler_service import bootstrap
from scheduler_service.adapters.clock import PlatformClock
from scheduler_service.config import ServiceSettings
from scheduler_service.service_layer.boundaries import BeforeCommit, report_pending, run_due
from servicekit import logs
from servicekit.worker import run_worker
from shared_events.listening import Listener

log = logging.getLogger("scheduler_service.ticker")

CONTENDED_RETRY_S = 0.05


class Ticker:
    def __init__(self, dsn: str, clock: PlatformClock, *, worker: str, max_wait_s: float = 60.0,
                 retry_failed_s: float = 30.0, before_commit: BeforeCommit | None = None) -> None:
        self.dsn = dsn
        self.clock = clock
        self.worker = worker
        self.max_wait_s = max_wait_s
        self.retry_failed_s = retry_failed_s  # a shop whose boundary failed is left alone this long
        self.before_commit = before_commit
        self.wake = threading.Event()
        self.stop_event = threading.Event()
        self.ready = False
        self.emitted = 0
        self.failing: dict[str, float] = {}  # shop -> monotonic time to try its boundaries again

    def stop(self) -> None:
        self.stop_event.set()
        self.wake.set()

    def run(self) -> None:
        listeners = [Listener(self.dsn, "scheduler_wakeup", self.wake).start()]
        if self.clock.store is not None:
            listeners.append(Listener(self.clock.store.dsn, "test_clock", self.wake).start())
        backoff = 0.5
        try:
            while not self.stop_event.is_set():
                try:
                    with psycopg.connect(self.dsn, autocommit=True) as conn:
                        while not self.stop_event.is_set():
                            self.wake.clear()  # before looking: a change while we work wakes the next wait
                            self.wake.wait(self._tick(conn))
                            backoff = 0.5
                except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                    self.ready = False
                    log.warning("ticker lost PostgreSQL, retrying", extra={"error": str(exc)})
                except Exception:  # a bug must not stop time: log, back off, try again
                    log.exception("ticker failed; retrying")
                self.stop_event.wait(backoff)
                backoff = min(backoff * 2, 10.0)
        finally:
            for listener in listeners:
                listener.stop()

    def _tick(self, conn: psycopg.Connection) -> float:
        """Emit what is due; return how long to sleep."""
        now_m = time.monotonic()
        self.failing = {shop: at for shop, at in self.failing.items() if at > now_m}
        result = run_due(conn, self.clock, worker=self.worker, before_commit=self.before_commit,
                         skip_shops=self.failing)
        for shop in result.failed:
            self.failing[shop] = now_m + self.retry_failed_s
        for e in result.emitted:
            log.info("boundary emitted", extra={"order_cycle_id": e.boundary.order_cycle_id, "kind": e.boundary.kind,
                                                "boundary_at": e.boundary.fire_at.isoformat(),
                                                "lateness_seconds": e.lateness_seconds, "due_count": e.due_count,
                                                "lag_seconds": round(e.lag_seconds, 4)})
        self.emitted += len(result.emitted)
        self.ready = True
        now = self.clock.now()
        next_at = report_pending(conn, now, skip_shops=self.failing)
        retry_in = min(self.failing.values()) - time.monotonic() if self.failing else None
        return sleep_seconds(now, next_at, test_mode=self.clock.test_mode, max_wait_s=self.max_wait_s,
                             contended=result.contended, retry_in=retry_in)


def sleep_seconds(now: datetime, next_at: datetime | None, *, test_mode: bool, max_wait_s: float,
                  contended: bool = False, retry_in: float | None = None) -> float:
    """How long the ticker sleeps (a NOTIFY ends it earlier): until the next boundary; shortly when other
    replicas hold due shops; until a failed shop's retry; never longer than ``max_wait_s``. In test clock mode
    the frozen clock only moves with a NOTIFY, so only the safety net applies."""
    if contended:
        return CONTENDED_RETRY_S
    wait = max_wait_s
    if next_at is not None and not test_mode:
        wait = min(wait, max((next_at - now).total_seconds(), 0.0))
    if retry_in is not None:
        wait = min(wait, max(retry_in, 0.0))
    return wait


def main() -> None:
    settings = ServiceSettings.from_env()
    logs.configure(settings.base.service_name, settings.base.log_level)
    ticker = Ticker(settings.base.database_url, bootstrap.clock(settings), worker=settings.worker_id,
                    max_wait_s=settings.ticker_max_wait_s, retry_failed_s=settings.ticker_retry_failed_s,
                    before_commit=bootstrap.fault_hook(settings))
    run_worker(ticker, name=f"{settings.base.service_name}.ticker", ready=lambda: ticker.ready)


if __name__ == "__main__":
    main()
