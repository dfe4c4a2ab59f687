"""JSON structured logs, one object per line, carrying the request's correlation id, and the trace and span ids
of the current span when tracing is on (servicekit.tracing).

Secrets never reach a log line: Authorization headers are not logged and any
value that looks like a bearer token, a Stripe secret key or a webhook secret is
masked by the formatter as a last line of defence.
"""

from __future__ import annotations

import contextvars
import logging
import re
import sys

from pythonjsonlogger.json import JsonFormatter

from servicekit import tracing

correlation_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("correlation_id", default=None)

_SECRET = re.compile(r"(sk_(?:test|live)_[A-Za-z0-9]+|rk_(?:test|live)_[A-Za-z0-9]+|whsec_[A-Za-z0-9]+|"
                     r"rop_[A-Za-z0-9_\-]{20,}|Bearer\s+[A-Za-z0-9._\-]+)")


def mask(text: str) -> str:
    return _SECRET.sub("[redacted]", text)


class _Formatter(JsonFormatter):
    def __init__(self, service: str) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s", rename_fields={"levelname": "level"},
                         timestamp=False)
        self.service = service

    def add_fields(self, log_record, record, message_dict):  # type: ignore[no-untyped-def]
        super().add_fields(log_record, record, message_dict)
        log_record["service"] = self.service
        cid = correlation_id.get()
        if cid:
            log_record["correlation_id"] = cid
        if ids := tracing.current_ids():
            log_record["trace_id"], log_record["span_id"] = ids

    def format(self, record: logging.LogRecord) -> str:
        return mask(super().format(record))


def configure(service: str, level: str = "INFO") -> None:
    """The process's JSON log lines, and its traces when an OTLP endpoint is configured (servicekit.tracing)."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(_Formatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("kafka", "urllib3", "stripe"):  # "kafka": librdkafka's log (shared_events.kafka's clients)
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    tracing.configure(service)
