"""Applies the events order-service consumes, exactly once each: ``python -m order_service.entrypoints.consumer``.

Each event is first projected (facts -> rows, the same functions a rebuild replays), then reacted to
(orders placed, changed, confirmed; emails queued), in one savepoint of the batch's transaction.

A cycle's opening brings 100,000 OrderDue at once: the shared consumer hands each run of consecutive OrderDue of
a poll to ``service_layer.cycles.on_order_dues`` at once (``bulk``), the handler that also applies one OrderDue
alone (the run of one), when a run fails and the consumer isolates its faulty event. Runs of VariantUpdated and
VariantDeleted go to ``service_layer.withdrawals.on_catalog_events`` the same way (a variant gone from the catalog
leaves every open order that holds it).
"""

from __future__ import annotations

from collections.abc import Sequence

import psycopg

from order_service.adapters.projections import project
from order_service.config import ReactionSettings, ServiceSettings
from order_service.service_layer.cycles import on_order_dues
from order_service.service_layer.reactions import react
from order_service.service_layer.withdrawals import CATALOG_TYPES, on_catalog_events
from servicekit import logs
from servicekit.config import Settings
from servicekit.runners import make_consumer
from servicekit.worker import run_worker
from shared_events import Envelope
from shared_events.consumer import BulkHandler, Handler

TOPICS = ["identity.events", "scheduler.events", "subscriptions.events", "customers.events", "shops.events",
          "schedules.events", "catalog.events", "billing.events"]


def handler(_settings: Settings | None = None, reactions: ReactionSettings | None = None) -> Handler:
    cfg = reactions or ReactionSettings.from_env()

    def handle(conn: psycopg.Connection, env: Envelope) -> None:
        project(conn, env)
        react(conn, env, cfg)

    return handle


def bulk(reactions: ReactionSettings) -> dict[str, BulkHandler]:
    """The event types applied a run at once: OrderDue (not projected: its reaction is all there is), and the
    catalog's VariantUpdated and VariantDeleted (one function for both, so that they share runs: projected, then the
    open orders lose the variants gone, set-based)."""
    def catalog(conn: psycopg.Connection, envs: Sequence[Envelope]) -> None:
        on_catalog_events(conn, envs, reactions)

    return {"OrderDue": lambda conn, envs: on_order_dues(conn, envs, reactions),
            **{event_type: catalog for event_type in CATALOG_TYPES}}


def main() -> None:
    settings = ServiceSettings.from_env()
    logs.configure(settings.base.service_name, settings.base.log_level)
    cfg = settings.reactions
    # set-based: its projectors never decide on a row count, and its reactions use the connection itself
    # (each use sees every write queued before it), so a run's projected rows are written set-based
    consumer = make_consumer(settings.base, TOPICS, handler(settings.base, cfg), group=settings.consumer_group,
                             set_based=True, bulk=bulk(cfg))
    run_worker(consumer, name=f"{settings.base.service_name}.consumer")


if __name__ == "__main__":
    main()
