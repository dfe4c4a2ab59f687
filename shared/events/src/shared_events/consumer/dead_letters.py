"""Dead letters: a message that cannot be decoded or applied goes to ``<topic>.dlq`` with the error and its
original bytes and headers; ``platformctl dlq replay`` sends it back with the ``REPLAY_HEADER`` after a fix."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from shared_events import kafka as kafka_clients
from shared_events.topics import dlq_name

log = logging.getLogger("shared_events.consumer")

REPLAY_HEADER = "dlq.replay"


def is_replay(rec: Any) -> bool:
    """A record replayed from its dead-letter topic on purpose (it gets another try)."""
    return any(k == REPLAY_HEADER for k, _ in (rec.headers or []))


def send(producer: Any, consumer: str, dead: Sequence[tuple[Any, str]]) -> None:
    """Each (record, error) to its topic's dead-letter topic, delivered before this returns."""
    letters = []
    for rec, error in dead:
        log.error(
            "dead-lettered a message",
            extra={"topic": rec.topic, "partition": rec.partition, "offset": rec.offset, "error": error[:2000]},
        )
        # the original's own headers first (event_type, the CloudEvents binding's), so a replay restores them
        headers = [h for h in rec.headers or [] if not h[0].startswith("dlq.")] + [
            ("dlq.error", error[:4000].encode()),
            ("dlq.source.topic", rec.topic.encode()),
            ("dlq.source.partition", str(rec.partition).encode()),
            ("dlq.source.offset", str(rec.offset).encode()),
            ("dlq.consumer", consumer.encode()),
            ("dlq.at", str(time.time()).encode()),
        ]
        letters.append((dlq_name(rec.topic), rec.key, rec.value or b"", headers))
    kafka_clients.deliver(producer, letters)
