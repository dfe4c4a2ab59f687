"""Process entrypoints shared by the services: the outbox relay and the event consumer.

Each service's ``entrypoints/relay.py`` and ``entrypoints/consumer.py`` are a few
lines calling these. They read the environment, log JSON, expose metrics and stop
gracefully on SIGTERM.

Fault injection for tests (refused when APP_ENV=production):
RELAY_FAULT=crash_before_mark makes the relay die like kill -9 after Kafka
acknowledged a batch and before it stamped it published; CONSUMER_FAULT=
crash_after_db_commit makes a consumer die after its PostgreSQL commit and before
its Kafka offset commit. Each fires once if *_FAULT_ONCE_FILE names a marker file (servicekit.faults).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping

from servicekit import logs, metrics
from servicekit.config import Settings
from servicekit.faults import crash_hook
from shared_events.consumer import BulkHandler, ConsumerStats, EventConsumer, Handler
from shared_events.relay import Relay


def _fault_hook(settings: Settings, variable: str = "RELAY_FAULT", wanted: str = "crash_before_mark",
                once_variable: str = "RELAY_FAULT_ONCE_FILE") -> Callable[[list], None] | None:
    return crash_hook(os.environ.get(variable), wanted, os.environ.get(once_variable),
                      production=settings.app_env == "production")


def make_relay(settings: Settings) -> Relay:
    def on_batch(n: int, _seconds: float) -> None:
        metrics.EVENTS_PUBLISHED.labels(settings.service_name).inc(n)

    return Relay(settings.database_url, settings.service_name, bootstrap=settings.kafka_bootstrap,
                 on_batch=on_batch, before_mark=_fault_hook(settings))


def run_relay(service_name: str, default_port: int = 8000) -> None:
    from servicekit.worker import run_worker

    settings = Settings.from_env(service_name, default_port)
    logs.configure(service_name, settings.log_level)
    relay = make_relay(settings)
    # ready = connected to its database (a standby relay is ready too: it takes over when the leader goes)
    run_worker(relay, name=f"{service_name}.relay", ready=lambda: relay.connected)


def make_consumer(settings: Settings, topics: Iterable[str], handler: Handler, *, group: str | None = None,
                  bulk: Mapping[str, BulkHandler] | None = None, **kwargs: object) -> EventConsumer:
    """The service's consumer. Its Kafka group is CONSUMER_GROUP, else ``group`` (the service's default), else the
    service's name; its inbox is the service's name whatever the group, so a new group (a blue/green switch,
    offsets lost) replays the topics without applying anything twice. ``bulk``: event type -> a handler of a run
    of such events at once (EventConsumer)."""
    name = settings.consumer_group or group or settings.service_name

    def on_batch(stats: ConsumerStats, _seconds: float) -> None:
        pass

    consumer = EventConsumer(settings.database_url, settings.service_name, topics, handler, group=name,
                             bootstrap=settings.kafka_bootstrap, on_batch=on_batch,
                             after_db_commit=_fault_hook(settings, "CONSUMER_FAULT", "crash_after_db_commit",
                                                         "CONSUMER_FAULT_ONCE_FILE"),
                             bulk=bulk, **kwargs)  # type: ignore[arg-type]
    last = {"applied": 0, "dead": 0, "dup": 0}

    def count(stats: ConsumerStats, _seconds: float) -> None:
        metrics.EVENTS_CONSUMED.labels(name, "applied").inc(stats.applied - last["applied"])
        metrics.EVENTS_CONSUMED.labels(name, "dead_lettered").inc(stats.dead_lettered - last["dead"])
        metrics.EVENTS_CONSUMED.labels(name, "duplicate").inc(stats.duplicates - last["dup"])
        last.update(applied=stats.applied, dead=stats.dead_lettered, dup=stats.duplicates)

    consumer.on_batch = count
    return consumer


def run_consumer(service_name: str, topics: Iterable[str], handler_factory: Callable[[Settings], Handler], *,
                 default_port: int = 8000, group: str | None = None, set_based: bool = False,
                 bulk: Mapping[str, BulkHandler] | None = None) -> None:
    """Run the service's consumer until SIGTERM (``group``: its default Kafka group, CONSUMER_GROUP overrides it;
    ``bulk``: event type -> a handler of a run of such events at once)."""
    from servicekit.worker import run_worker

    settings = Settings.from_env(service_name, default_port)
    logs.configure(service_name, settings.log_level)
    consumer = make_consumer(settings, topics, handler_factory(settings), group=group, set_based=set_based,
                             bulk=bulk)
    run_worker(consumer, name=f"{service_name}.consumer")


if __name__ == "__main__":  # python -m servicekit.runners relay <service-name>
    import sys

    if len(sys.argv) == 3 and sys.argv[1] == "relay":
        run_relay(sys.argv[2])
    else:
        raise SystemExit("usage: python -m servicekit.runners relay <service-name>")
