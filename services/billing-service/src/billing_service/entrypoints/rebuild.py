"""Rebuild billing-service's projections from the topics: ``python -m billing_service.entrypoints.rebuild [--swap]``.

Replays identity, shops, customers and orders events (context) and billing.events (payments, attempts,
refunds) into a scratch schema with the same projectors the live service uses, reports events/s and the
per-table difference with the live tables; ``--swap`` replaces the live rows. Reactions (opening payments,
charging) are never replayed: a rebuild cannot charge anyone.
"""

from __future__ import annotations

import argparse

from billing_service.adapters.projections import CONTEXT_TYPES, PROJECTED_TYPES, PROJECTION_TABLES, project
from billing_service.config import MIGRATIONS_DIR, ServiceSettings
from servicekit import logs
from servicekit.db import migrate
from shared_events.rebuild import RebuildReport, rebuild
from shared_events.setwrite import set_based

TOPICS = ["identity.events", "shops.events", "customers.events", "orders.events", "billing.events"]


# The context projectors (identity, shops, customers, orders) and PaymentPending's never decide on a statement's
# rowcount and write their rows through setwrite: their runs are written set-based. Billing's other payment events
# are applied one by one (they do decide on it).
_SET_BASED = set_based(project)
BULK = {event_type: _SET_BASED for event_type in (*CONTEXT_TYPES, "PaymentPending")}


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
