"""Rebuild order-service's projections from Kafka: ``python -m order_service.entrypoints.rebuild [--swap]``.

Replays our own orders.events and every topic we project from into a scratch schema, reports events/s
and the per-table difference with the live tables; ``--swap`` replaces the live rows.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable

import psycopg

from order_service.adapters import order_projection
from order_service.adapters.projections import PROJECTION_TABLES, PROJECTORS, project
from order_service.config import MIGRATIONS_DIR, ServiceSettings
from servicekit.db import migrate
from shared_events import Envelope
from shared_events.rebuild import RebuildReport, rebuild
from shared_events.setwrite import set_based

TOPICS = ["identity.events", "shops.events", "customers.events", "schedules.events", "subscriptions.events",
          "scheduler.events", "catalog.events", "billing.events", "orders.events"]


def _once_each(fn: Callable[[psycopg.Connection, list[Envelope]], object]) -> Callable[..., None]:
    """A set-based projector for a run of events of one type, given each (order, version) once: applied one by
    one, a second copy of an event (the relay may publish one twice) changes nothing, so dropping it is the same."""

    def apply_run(conn: psycopg.Connection, envs: list[Envelope]) -> None:
        seen: set[tuple[str, int]] = set()
        unique = []
        for env in envs:
            if (env.aggregate_id, env.aggregate_version) not in seen:
                seen.add((env.aggregate_id, env.aggregate_version))
                unique.append(env)
        fn(conn, unique)

    return apply_run


def _confirmations(conn: psycopg.Connection, envs: list[Envelope]) -> None:
    """A run of OrderConfirmed and PaymentRequested (a close writes them in pairs, so they alternate): an order's
    PaymentRequested always follows its OrderConfirmed (its next version, same partition) and an order is
    confirmed once, so applying the run's confirmations first and then its payment requests is the same as
    applying the run in order.

    A PaymentRequested whose OrderConfirmed is in the same run (version v + 1 after v) is folded into it: one
    UPDATE of the order row to version v + 1 instead of two (each a new row version with six index entries).
    Same rows: with the order below v both apply; at v the confirmation's columns already hold this same event's
    values and only the version moves on, as the PaymentRequested alone would; at v + 1 or later neither applies."""
    confirmed = {(e.aggregate_id, e.aggregate_version): e for e in envs if e.event_type == "OrderConfirmed"}
    folded: dict[tuple[str, int], Envelope] = {}
    alone = []
    for e in envs:
        if e.event_type == "PaymentRequested":
            if (e.aggregate_id, e.aggregate_version - 1) in confirmed:
                folded[(e.aggregate_id, e.aggregate_version - 1)] = e
            else:
                alone.append(e)
    order_projection.apply_confirmed(conn, list(confirmed.values()), then=folded)
    order_projection.apply_versions(conn, alone)


# the replay applies runs of these the way placement and confirmation write them: one statement per run
_CONFIRMATIONS = _once_each(_confirmations)
# the context projectors (tokens, shops, customers, subscriptions, cycles, catalog, payments) never decide on a
# statement's rowcount and write rows through setwrite (_update and the inserts): their runs are written set-based;
# the order events' own projector does decide on it, one by one
_SET_BASED = set_based(project)
BULK = {**{t: _SET_BASED for t in PROJECTORS if t not in order_projection.PROJECTORS},
        "OrderPlaced": _once_each(order_projection.apply_placed),
        "OrderConfirmed": _CONFIRMATIONS, "PaymentRequested": _CONFIRMATIONS}


def run(dsn: str, *, bootstrap: str | None = None, swap: bool = False) -> RebuildReport:
    return rebuild(dsn, topics=TOPICS, apply=project, tables=PROJECTION_TABLES,
                   migrate=lambda conn: migrate(conn, MIGRATIONS_DIR), bootstrap=bootstrap, swap=swap, bulk=BULK,
                   projected=PROJECTORS.keys())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--swap", action="store_true", help="replace the live projections with the rebuilt ones")
    args = parser.parse_args()
    settings = ServiceSettings.from_env().base
    report = run(settings.database_url, bootstrap=settings.kafka_bootstrap, swap=args.swap)
    print(json.dumps({"events": report.events, "undecodable": report.undecodable,
                      "events_per_second": round(report.events_per_second), "differences": report.differences,
                      "identical": report.identical, "swapped": report.swapped}))
    raise SystemExit(0 if report.identical or report.swapped else 1)


if __name__ == "__main__":
    main()
