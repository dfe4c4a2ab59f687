"""Applies the events scheduler-service consumes, exactly once each:
``python -m scheduler_service.entrypoints.consumer``.

Each event is projected (facts, rebuildable) and then reacted to (a mid-cycle OrderDue, live only), in the
runner's transaction that also records it in the inbox. Replicas share the topics' partitions (one
consumer group, CONSUMER_GROUP, default the service name); the inbox is the service's whatever the group.
"""

from __future__ import annotations

from scheduler_service import DEFAULT_PORT, SERVICE_NAME
from scheduler_service.adapters import projections
from scheduler_service.adapters.clock import PlatformClock
from scheduler_service.service_layer import reactions
from servicekit.config import Settings
from servicekit.runners import run_consumer
from shared_events import Envelope
from shared_events.consumer import Handler

TOPICS = ["identity.events", "shops.events", "schedules.events", "subscriptions.events"]


def handler(settings: Settings) -> Handler:
    clock = PlatformClock(settings.test_clock_url)

    def handle(conn, env: Envelope) -> None:  # type: ignore[no-untyped-def]
        projections.apply(conn, env)
        reactions.react(conn, env, clock.now)

    return handle


if __name__ == "__main__":
    run_consumer(SERVICE_NAME, TOPICS, handler, default_port=DEFAULT_PORT)
