"""Rebuild subscription-service's projections from the topics: ``python -m subscription_service.entrypoints.rebuild
[--swap]``.

Replays its own topics (identity, shops, customers, schedules, subscriptions) and the ones it projects from
(catalog, scheduler, orders, billing) into a scratch schema with the same projectors the write path and the
consumer use, prints events/s and the per-table differences with the live tables, and with ``--swap`` replaces the
live rows.
"""

from __future__ import annotations

import argparse
import sys

from servicekit import logs
from servicekit.db import migrate
from shared_events.rebuild import RebuildReport, rebuild
from shared_events.setwrite import set_based
from subscription_service.adapters.projections import ALL_TOPICS, PROJECTION_TABLES, PROJECTORS, apply
from subscription_service.config import MIGRATIONS_DIR, ServiceSettings

# No projector of this service decides on a statement's rowcount, and they write rows through setwrite.write (the
# sql.upsert and sql.update helpers): every run of projected events is written set-based.
_SET_BASED = set_based(apply)
BULK = {event_type: _SET_BASED for event_type in PROJECTORS}


def run(dsn: str, bootstrap: str | None = None, swap: bool = False) -> RebuildReport:
    return rebuild(dsn, topics=ALL_TOPICS, apply=apply, tables=PROJECTION_TABLES,
                   migrate=lambda c: migrate(c, MIGRATIONS_DIR), bootstrap=bootstrap, swap=swap, bulk=BULK,
                   projected=PROJECTORS.keys())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--swap", action="store_true", help="replace the live rows with the rebuilt ones")
    args = parser.parse_args(argv)
    settings = ServiceSettings.base_from_env()
    logs.configure(settings.service_name, settings.log_level)
    report = run(settings.database_url, settings.kafka_bootstrap, args.swap)
    print(f"replayed {report.events} events in {report.seconds:.2f}s ({report.events_per_second:.0f}/s), "
          f"{report.undecodable} skipped")
    for table, diff in report.differences.items():
        print(f"  {table:<20} {'identical' if diff == 0 else f'{diff} rows differ'}")
    print("swapped" if report.swapped else ("identical" if report.identical else "differences found"))
    return 0 if report.identical or report.swapped else 1


if __name__ == "__main__":
    sys.exit(main())
