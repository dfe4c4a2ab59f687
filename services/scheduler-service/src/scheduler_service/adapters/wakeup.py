"""Wake-ups by PostgreSQL NOTIFY: a listener thread per channel sets one event the ticker waits on."""

from __future__ import annotations

import logging
import threading

import psycopg

log = logging.getLogger("scheduler_service.wakeup")


class Listener:
    """LISTEN on ``channel`` of ``dsn`` in a daemon thread; every notification sets ``event``.

    Reconnects after an error and sets the event then too (a notification may have been missed).
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
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.dsn, autocommit=True) as conn:
                    conn.execute(f"LISTEN {self.channel}")
                    self.event.set()
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=1.0):
                            self.event.set()
            except psycopg.Error as exc:
                log.warning("listener lost its connection", extra={"channel": self.channel, "error": str(exc)})
                self.event.set()
                self._stop.wait(1.0)
