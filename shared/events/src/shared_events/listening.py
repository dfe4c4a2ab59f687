"""Workers that wait on PostgreSQL: a connection kept open (connected again when PostgreSQL is lost), LISTEN on a
channel, a wait that ends at a NOTIFY or a timeout, and leadership by a session advisory lock (one leader among the
replicas; the others stand by and take over when its connection goes, since the lock goes with it).

The relay (shared_events.relay), billing's charger, order-service's notifier and scheduler's wake-ups are written
with these.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import psycopg
from psycopg import sql

log = logging.getLogger("shared_events.listening")

LOST = (psycopg.OperationalError,)  # PostgreSQL went away (or never answered): connect again


def keep_connected(dsn: str, stop: threading.Event, work: Callable[[psycopg.Connection], None], *, what: str,
                   lost: Callable[[], None] | None = None, errors: tuple[type[Exception], ...] = LOST,
                   retry_s: float = 1.0) -> None:
    """Call ``work`` with an autocommit connection to ``dsn`` until ``stop`` is set (``work`` returns when it is).
    When PostgreSQL is lost (``errors``): ``lost()``, a warning, and a new connection ``retry_s`` later."""
    while not stop.is_set():
        try:
            with psycopg.connect(dsn, autocommit=True) as conn:
                work(conn)
        except errors as exc:
            if lost is not None:
                lost()
            log.warning("%s lost PostgreSQL, retrying", what, extra={"worker": what, "error": str(exc)})
            stop.wait(retry_s)


def listen(conn: psycopg.Connection, channel: str) -> None:
    conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))


def notified(conn: psycopg.Connection, timeout: float) -> bool:
    """Wait for a notification on the channels ``conn`` listens on, at most ``timeout`` seconds; True when one
    came."""
    return any(True for _ in conn.notifies(timeout=timeout, stop_after=1))


def drain(conn: psycopg.Connection) -> None:
    """Take the notifications already received (what they announce is about to be read anyway)."""
    for _ in conn.notifies(timeout=0):
        pass


def lead(conn: psycopg.Connection, key: int, stop: threading.Event, *,
         standby: Callable[[psycopg.Connection, float], object] = notified, standby_s: float = 2.0) -> bool:
    """Take the session advisory lock ``key`` on ``conn``; while another replica holds it, stand by
    (``standby(conn, standby_s)`` between tries: a notification or the timeout). True once held; False when
    ``stop`` is set first."""
    while not stop.is_set():
        got = conn.execute("SELECT pg_try_advisory_lock(%s)", [key]).fetchone()
        if got and got[0]:
            return True
        standby(conn, standby_s)
    return False


class Listener:
    """LISTEN on ``channel`` of ``dsn`` in a daemon thread; every notification sets ``event``.

    Connects again after an error and sets the event then too (a notification may have been missed).
    """

    def __init__(self, dsn: str, channel: str, event: threading.Event) -> None:
        self.dsn = dsn
        self.channel = channel
        self.event = event
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"listen-{channel}", daemon=True)

    def start(self) -> Listener:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        keep_connected(self.dsn, self._stop, self._listen, what=f"listener on {self.channel}", lost=self.event.set,
                       errors=(psycopg.Error,))

    def _listen(self, conn: psycopg.Connection) -> None:
        listen(conn, self.channel)
        self.event.set()
        while not self._stop.is_set():
            for _ in conn.notifies(timeout=1.0):
                self.event.set()
