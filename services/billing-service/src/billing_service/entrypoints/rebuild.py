"""Rebuild billing-service's projections from the topics: ``python -m billing_service.entrypoints.rebuild [--swap]``.

Replays identity, shops, customers and orders events (context) and billing.events (payments, attempts,
refunds) into a scratch schema with the same projectors the live service uses, reports events/s and the
per-table difference with the live tables; ``--swap`` replaces the live rows. Reactions (opening payments,
charging) are never replayed: a rebuild cannot charge anyone.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import psycopg

from billing_service.adapters.projections import (
    CONTEXT_TYPES,
    PROJECTED_TYPES,
    PROJECTION_TABLES,
    attempts_started,
    project,
)
from billing_service.config import MIGRATIONS_DIR, ServiceSettings
from servicekit import logs
from servicekit.db import migrate
from shared_events import Envelope
from shared_events.rebuild import RebuildReport, rebuild
from shared_events.setwrite import set_based

TOPICS = ["identity.events", "shops.events", "customers.events", "orders.events", "billing.events"]


# The context projectors (identity, shops, customers, orders) and PaymentPending's never decide on a statement's
# rowcount and write their rows through setwrite: their runs are written set-based. Billing's other payment events
# are applied one by one (they do decide on it), but for PaymentAttemptStarted, which has a set-based projector of
# its own (attempts_started) and shares the runs: after a cycle's close each order's PaymentRequested, its payment's
# PaymentPending and its first PaymentAttemptStarted come in turn, and separate runs would be one event long.
_SET_BASED = set_based(project)


def replay_run(conn: psycopg.Connection, envs: Sequence[Envelope]) -> None:
    """A run of context, PaymentPending and PaymentAttemptStarted events, with the effect of ``project`` on each in
    turn: the other events set-based, then the attempts set-based. Moving an attempt after the events that follow
    it changes nothing, as only a PaymentPending touches the rows an attempt does (its payment's); a PaymentPending
    of a payment whose attempt is in the segment so far starts a new segment."""
    others: list[Envelope] = []
    started: list[Envelope] = []
    attempted: set[str] = set()
    for env in envs:
        if env.event_type == "PaymentAttemptStarted":
            started.append(env)
            attempted.add(env.payload["payment_id"])
            continue
        if env.event_type == "PaymentPending" and env.payload["payment_id"] in attempted:
            _SET_BASED(conn, others)
            attempts_started(conn, started)
            others, started, attempted = [], [], set()
        others.append(env)
    _SET_BASED(conn, others)
    attempts_started(conn, started)


BULK = {event_type: replay_run for event_type in (*CONTEXT_TYPES, "PaymentPending", "PaymentAttemptStarted")}


def run(dsn: str, *, swap: bool = False, bootstrap: str | None = None) -> RebuildReport:
    return rebuild(dsn, topics=TOPICS, apply=project, tables=PROJECTION_TABLES,
                   migrate=lambda c: migrate(c, MIGRATIONS_DIR), bootstrap=bootstrap, swap=swap, bulk=BULK,
                   projected=PROJECTED_TYPES)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--swap", action="store_true", help="replace the live rows with the rebuilt ones")
    args = parser.parse_args()
    settings = ServiceSettings.from_env()
    logs.configure(settings.base.service_name, settings.base.log_level)
    report = run(settings.base.database_url, swap=args.swap, bootstrap=settings.base.kafka_bootstrap)
    print(f"replayed {report.events} events in {report.seconds:.2f}s ({report.events_per_second:.0f} events/s), "
          f"{report.undecodable} skipped")
    for table, diff in report.differences.items():
        print(f"  {table:<18} {'identical' if diff == 0 else f'{diff} rows differ'}")
    print("swapped" if report.swapped else ("identical" if report.identical else "differences found"))
    raise SystemExit(0 if report.identical or report.swapped else 1)


if __name__ == "__main__":
    main()
