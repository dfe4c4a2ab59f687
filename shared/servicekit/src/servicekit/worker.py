"""Running a long-lived worker (consumer, relay, scheduler loop) as a process.

SIGTERM/SIGINT call the worker's stop(): it finishes what it holds, commits and
returns. An optional tiny HTTP server answers /healthz, /readyz and /metrics for
Kubernetes probes and Prometheus (WORKER_HTTP_PORT; 0 or unset = off).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Protocol

from servicekit import metrics
from shared_events import gctuning

log = logging.getLogger("servicekit.worker")


class Worker(Protocol):
    def run(self) -> None: ...
    def stop(self) -> None: ...


LIVENESS_STALE_S = float(os.environ.get("WORKER_LIVENESS_STALE_S", "120"))


def _alive(worker: object) -> bool:
    """Live while the main loop keeps beating (workers stamp ``heartbeat`` = time.monotonic() each turn)."""
    import time

    beat = getattr(worker, "heartbeat", None)
    return beat is None or time.monotonic() - beat < LIVENESS_STALE_S


def _serve_health(port: int, ready: Callable[[], object],
                  alive: Callable[[], object] = lambda: True) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body: bytes
            if self.path == "/metrics":
                body, ctype = metrics.render()
                code = 200
            elif self.path == "/healthz":
                ok = bool(alive())
                body, ctype, code = (b'{"status":"ok"}' if ok else b'{"status":"stuck"}'), "application/json", (
                    200 if ok else 503)
            elif self.path == "/readyz":
                ok = bool(ready())
                body, ctype, code = (b'{"status":"ready"}' if ok else b'{"status":"not ready"}'), "application/json", (
                    200 if ok else 503)
            else:
                body, ctype, code = b"{}", "application/json", 404
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("0.0.0.0", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True, name="health-http").start()
    return server


def run_worker(worker: Worker, *, name: str, ready: Callable[[], object] = lambda: True) -> None:
    """Run until SIGTERM/SIGINT, then stop gracefully."""

    def _stop(signum: int, _frame: object) -> None:
        log.info("stopping", extra={"worker": name, "signal": signum})
        worker.stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    port = int(os.environ.get("WORKER_HTTP_PORT", "0") or 0)
    server = _serve_health(port, ready, lambda: _alive(worker)) if port else None
    log.info("started", extra={"worker": name})
    gctuning.for_batches()
    try:
        worker.run()
    finally:
        if server:
            server.shutdown()
        log.info("stopped", extra={"worker": name})
