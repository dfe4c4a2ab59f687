"""schedules.events -> order_cycles, schedules."""

from __future__ import annotations

import psycopg

from shared_events import Envelope
from subscription_service.adapters.projections.sql import update, upsert


def cycle_created(conn: psycopg.Connection, env: Envelope) -> None:
    p = env.payload
    upsert(conn, "order_cycles", {"order_cycle_id": p["order_cycle_id"]},
           {"name": p["name"], "opens_at": p["opens_at"], "closes_at": p["closes_at"], "updated_at": env.occurred_at,
            "version": env.aggregate_version},
           insert_only={"shop_id": p["shop_id"], "created_at": env.occurred_at})


def cycle_moved(conn: psycopg.Connection, env: Envelope) -> None:
    p = env.payload
    update(conn, "order_cycles", {"order_cycle_id": p["order_cycle_id"]},
           {"name": p["name"], "opens_at": p["opens_at"], "closes_at": p["closes_at"], "updated_at": env.occurred_at,
            "version": env.aggregate_version})


def cycle_deleted(conn: psycopg.Connection, env: Envelope) -> None:
    update(conn, "order_cycles", {"order_cycle_id": env.payload["order_cycle_id"]},
           {"deleted_at": env.occurred_at, "updated_at": env.occurred_at, "version": env.aggregate_version})


def schedule_created(conn: psycopg.Connection, env: Envelope) -> None:
    p = env.payload
    upsert(conn, "schedules", {"schedule_id": p["schedule_id"]},
           {"name": p["name"], "order_cycle_ids": list(p["order_cycle_ids"]), "updated_at": env.occurred_at,
            "version": env.aggregate_version},
           insert_only={"shop_id": p["shop_id"], "created_at": env.occurred_at})


def _schedule(conn: psycopg.Connection, env: Envelope, **values: object) -> None:
    update(conn, "schedules", {"schedule_id": env.payload["schedule_id"]},
           {**values, "updated_at": env.occurred_at, "version": env.aggregate_version})


PROJECTORS = {
    "OrderCycleCreated": cycle_created,
    "OrderCycleMoved": cycle_moved,
    "OrderCycleDeleted": cycle_deleted,
    "ScheduleCreated": schedule_created,
    "ScheduleRenamed": lambda c, e: _schedule(c, e, name=e.payload["name"]),
    "ScheduleOrderCyclesChanged": lambda c, e: _schedule(c, e, order_cycle_ids=list(e.payload["order_cycle_ids"])),
    "ScheduleDeleted": lambda c, e: _schedule(c, e, deleted_at=e.occurred_at),
}
