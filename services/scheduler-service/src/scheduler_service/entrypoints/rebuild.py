"""Rebuild the projections from the topics: ``python -m scheduler_service.entrypoints.rebuild [--swap]``.

Replays identity, shops, schedules and subscriptions events and the service's own scheduler.events (the
cycle boundaries) into a scratch schema with the same projectors the consumer and the ticker use, reports
events/s and the per-table differences with the live tables; ``--swap`` replaces the live rows.
"""

from __future__ import annotations

import argparse
import json

from scheduler_service.adapters.projections import PROJECTION_TABLES, PROJECTORS, apply
from scheduler_service.config import MIGRATIONS_DIR, ServiceSettings
from scheduler_service.entrypoints.consumer import TOPICS
from servicekit.db import migrate
from shared_events.rebuild import RebuildReport, rebuild
from shared_events.setwrite import set_based

REBUILD_TOPICS = [*TOPICS, "scheduler.events"]
# SubscriptionCreated (most of a replay) writes through setwrite and never decides on a row count: its runs are
# written set-based; OrderDue (the rest) is not projected: the replay skips it (projected=), so it ends no run
BULK = {"SubscriptionCreated": set_based(apply)}


def run(dsn: str, *, bootstrap: str | None = None, swap: bool = False) -> RebuildReport:
    return rebuild(dsn, topics=REBUILD_TOPICS, apply=apply, tables=PROJECTION_TABLES,
                   migrate=lambda conn: migrate(conn, MIGRATIONS_DIR), bootstrap=bootstrap, swap=swap, bulk=BULK,
                   projected=PROJECTORS.keys())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--swap", action="store_true", help="replace the live rows with the rebuilt ones")
    args = parser.parse_args()
    settings = ServiceSettings.from_env().base
    report = run(settings.database_url, bootstrap=settings.kafka_bootstrap, swap=args.swap)
    print(json.dumps({"events": report.events, "undecodable": report.undecodable,
                      "seconds": round(report.seconds, 3), "events_per_second": round(report.events_per_second),
                      "differences": report.differences, "identical": report.identical, "swapped": report.swapped}))
    raise SystemExit(0 if report.identical or report.swapped else 1)


if __name__ == "__main__":
    main()
