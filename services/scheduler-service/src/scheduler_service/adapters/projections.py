"""Projectors: facts from events into the scheduler's tables (rebuildable, no decisions, no "now").

``apply(conn, env)`` is used by the live consumer, by the ticker for its own OrderCycleOpened/Closed (in the
transaction that stores them) and by the rebuild, so a replay produces the same rows. Every write is
guarded by the aggregate version, so a redelivered or replayed event changes nothing. Each row depends only
on the events of its own aggregate, which Kafka keeps in order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import sql

from scheduler_service.domain.model import CLOSE, OPEN, REMINDER, WHILE_OPEN
from scheduler_service.domain.rules import fire_times
from servicekit.auth import apply_identity_event
from shared_events import Envelope
from shared_events.consumer import RetryLater
from shared_events.setwrite import upsert_statement, write

PROJECTION_TABLES = ["shops", "order_cycles", "schedules", "schedule_cycles", "subscriptions",
                     "skipped_occurrences", "cycle_boundaries", "api_tokens"]

Projector = Callable[[psycopg.Connection, Envelope], None]


# -- shops.events --------------------------------------------------------------------------------------------

_SHOP_COLUMNS = {"timezone": "timezone", "subscriptions_enabled": "subscriptions_enabled",
                 "late_placement": "late_placement", "order_reminder_hours_before_close": "order_reminder_hours"}
_SHOP_DEFAULTS = {"timezone": "UTC", "subscriptions_enabled": True, "late_placement": WHILE_OPEN,
                  "order_reminder_hours_before_close": None}


def _upsert_shop(conn: psycopg.Connection, env: Envelope, values: dict[str, Any]) -> None:
    """Insert with defaults for what is not given, or update only the given settings (version-guarded)."""
    given = [k for k in _SHOP_COLUMNS if k in values]
    row = {**_SHOP_DEFAULTS, **{k: values[k] for k in given}}
    updates: list[sql.Composable] = [sql.SQL("{c} = EXCLUDED.{c}").format(c=sql.Identifier(_SHOP_COLUMNS[k]))
                                     for k in given]
    updates.append(sql.SQL("version = EXCLUDED.version"))
    conn.execute(
        sql.SQL(
            "INSERT INTO shops (shop_id, timezone, subscriptions_enabled, late_placement, order_reminder_hours, "
            "version) VALUES (%s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (shop_id) DO UPDATE SET {} WHERE shops.version < EXCLUDED.version"
        ).format(sql.SQL(", ").join(updates)),
        [env.payload["shop_id"], row["timezone"], row["subscriptions_enabled"], row["late_placement"],
         row["order_reminder_hours_before_close"], env.aggregate_version],
    )


def shop_created(conn: psycopg.Connection, env: Envelope) -> None:
    _upsert_shop(conn, env, {**_SHOP_DEFAULTS, **env.payload["settings"]})


def shop_updated(conn: psycopg.Connection, env: Envelope) -> None:
    _upsert_shop(conn, env, env.payload["changes"])


# -- schedules.events: order cycles ---------------------------------------------------------------------------

def _upsert_cycle(conn: psycopg.Connection, env: Envelope, defined_at: Any, deleted: bool) -> None:
    p = env.payload
    open_fires_at, close_fires_at = fire_times(p["opens_at"], p["closes_at"], defined_at)
    conn.execute(
        """
        INSERT INTO order_cycles (order_cycle_id, shop_id, name, opens_at, closes_at, defined_at, open_fires_at,
                                  close_fires_at, deleted, version)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
        ON CONFLICT (order_cycle_id) DO UPDATE SET name = EXCLUDED.name, opens_at = EXCLUDED.opens_at,
            closes_at = EXCLUDED.closes_at, defined_at = EXCLUDED.defined_at, open_fires_at = EXCLUDED.open_fires_at,
            close_fires_at = EXCLUDED.close_fires_at, deleted = EXCLUDED.deleted, version = EXCLUDED.version
        WHERE order_cycles.version < EXCLUDED.version
        """,
        [p["order_cycle_id"], p["shop_id"], p["name"], p["opens_at"], p["closes_at"], defined_at, open_fires_at,
         close_fires_at, deleted, env.aggregate_version],
    )


def cycle_created(conn: psycopg.Connection, env: Envelope) -> None:
    _upsert_cycle(conn, env, env.occurred_at, False)


def cycle_moved(conn: psycopg.Connection, env: Envelope) -> None:
    p = env.payload
    row = conn.execute("SELECT opens_at, closes_at, defined_at, version, deleted FROM order_cycles "
                       "WHERE order_cycle_id = %s", [p["order_cycle_id"]]).fetchone()
    if row is not None and row[3] >= env.aggregate_version:
        return
    if row is None:  # its OrderCycleCreated was never applied: the move defines the cycle
        _upsert_cycle(conn, env, env.occurred_at, False)
        return
    same_times = (row[0], row[1]) == (p["opens_at"], p["closes_at"])
    # only a change of the times redefines them (a rename must not shift a pending open)
    _upsert_cycle(conn, env, row[2] if same_times else env.occurred_at, bool(row[4]))


def cycle_deleted(conn: psycopg.Connection, env: Envelope) -> None:
    conn.execute("UPDATE order_cycles SET deleted = true, version = %s WHERE order_cycle_id = %s AND version < %s",
                 [env.aggregate_version, env.payload["order_cycle_id"], env.aggregate_version])


# -- schedules.events: schedules -----------------------------------------------------------------------------

def _advance_schedule(conn: psycopg.Connection, env: Envelope, deleted: bool) -> bool:
    """Record the schedule's new version; False when this event is not newer than what we have."""
    row = conn.execute(
        "INSERT INTO schedules (schedule_id, shop_id, deleted, version) VALUES (%s, %s, %s, %s) "
        "ON CONFLICT (schedule_id) DO UPDATE SET deleted = EXCLUDED.deleted, version = EXCLUDED.version "
        "WHERE schedules.version < EXCLUDED.version RETURNING 1",
        [env.payload["schedule_id"], env.payload["shop_id"], deleted, env.aggregate_version],
    ).fetchone()
    return row is not None


def _set_members(conn: psycopg.Connection, schedule_id: str, cycle_ids: list[str]) -> None:
    conn.execute("DELETE FROM schedule_cycles WHERE schedule_id = %s", [schedule_id])
    if cycle_ids:
        conn.execute("INSERT INTO schedule_cycles (schedule_id, order_cycle_id) "
                     "SELECT %s, unnest(%s::text[]) ON CONFLICT DO NOTHING", [schedule_id, list(cycle_ids)])


def schedule_created(conn: psycopg.Connection, env: Envelope) -> None:
    if _advance_schedule(conn, env, False):
        _set_members(conn, env.payload["schedule_id"], env.payload["order_cycle_ids"])


def schedule_cycles_changed(conn: psycopg.Connection, env: Envelope) -> None:
    if _advance_schedule(conn, env, False):
        _set_members(conn, env.payload["schedule_id"], env.payload["order_cycle_ids"])


def schedule_renamed(conn: psycopg.Connection, env: Envelope) -> None:
    row = conn.execute("SELECT deleted FROM schedules WHERE schedule_id = %s", [env.payload["schedule_id"]]).fetchone()
    _advance_schedule(conn, env, bool(row[0]) if row else False)


def schedule_deleted(conn: psycopg.Connection, env: Envelope) -> None:
    if _advance_schedule(conn, env, True):
        _set_members(conn, env.payload["schedule_id"], [])


# -- subscriptions.events --------------------------------------------------------------------------------------

_NEW_SUBSCRIPTION = upsert_statement(
    "subscriptions", ("subscription_id", "shop_id", "customer_id", "schedule_id", "begins_at", "ends_at", "paused",
                      "cancelled", "created_at", "version"), ("subscription_id",),
    ("shop_id", "customer_id", "schedule_id", "begins_at", "ends_at", "paused", "cancelled", "created_at", "version"))


def subscription_created(conn: psycopg.Connection, env: Envelope) -> None:
    """Through setwrite: a rebuild writes a run of them set-based (never decided on its row count)."""
    p, terms = env.payload, env.payload["terms"]
    write(conn, _NEW_SUBSCRIPTION, [p["subscription_id"], p["shop_id"], p["customer_id"], p["schedule_id"],
                                    terms.get("begins_at"), terms.get("ends_at"), False, False, env.occurred_at,
                                    env.aggregate_version])


def _update_subscription(conn: psycopg.Connection, env: Envelope, sets: dict[str, Any]) -> bool:
    """Version-guarded update; False if not newer. RetryLater if the subscription is not known yet."""
    assignments: list[sql.Composable] = [sql.SQL("{} = %s").format(sql.Identifier(k)) for k in sets]
    assignments.append(sql.SQL("version = %s"))
    row = conn.execute(
        sql.SQL("UPDATE subscriptions SET {} WHERE subscription_id = %s AND version < %s RETURNING 1").format(
            sql.SQL(", ").join(assignments)),
        [*sets.values(), env.aggregate_version, env.payload["subscription_id"], env.aggregate_version],
    ).fetchone()
    if row is not None:
        return True
    exists = conn.execute("SELECT 1 FROM subscriptions WHERE subscription_id = %s",
                          [env.payload["subscription_id"]]).fetchone()
    if exists is None:
        raise RetryLater(f"subscription {env.payload['subscription_id']} not known yet")
    return False


def subscription_updated(conn: psycopg.Connection, env: Envelope) -> None:
    changes = env.payload["changes"]
    _update_subscription(conn, env, {k: changes[k] for k in ("begins_at", "ends_at") if k in changes})


def subscription_paused(conn: psycopg.Connection, env: Envelope) -> None:
    """``resumes_at`` set: a pause until a date, whose end the ticker emits (PauseEnded)."""
    _update_subscription(conn, env, {"paused": True, "resumes_at": env.payload.get("resumes_at"),
                                     "paused_version": env.aggregate_version})


def subscription_unpaused(conn: psycopg.Connection, env: Envelope) -> None:
    _update_subscription(conn, env, {"paused": False, "resumes_at": None})


def subscription_cancelled(conn: psycopg.Connection, env: Envelope) -> None:
    _update_subscription(conn, env, {"cancelled": True})


def occurrence_skipped(conn: psycopg.Connection, env: Envelope) -> None:
    if _update_subscription(conn, env, {}):
        conn.execute("INSERT INTO skipped_occurrences (subscription_id, order_cycle_id) VALUES (%s, %s) "
                     "ON CONFLICT DO NOTHING", [env.payload["subscription_id"], env.payload["order_cycle_id"]])


def occurrence_resumed(conn: psycopg.Connection, env: Envelope) -> None:
    if _update_subscription(conn, env, {}):
        conn.execute("DELETE FROM skipped_occurrences WHERE subscription_id = %s AND order_cycle_id = %s",
                     [env.payload["subscription_id"], env.payload["order_cycle_id"]])


# -- scheduler.events (our own) ---------------------------------------------------------------------------------

def _boundary(kind: str) -> Projector:
    def project(conn: psycopg.Connection, env: Envelope) -> None:
        p = env.payload
        conn.execute(
            """
            INSERT INTO cycle_boundaries (order_cycle_id, kind, shop_id, opens_at, closes_at, boundary_at, emitted_at,
                                          lateness_seconds, due_count, event_id)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (order_cycle_id, kind) DO NOTHING
            """,
            [p["order_cycle_id"], kind, p["shop_id"], p["opens_at"], p["closes_at"], p["boundary_at"],
             env.occurred_at, p["lateness_seconds"], p.get("due_count"), env.event_id],
        )

    return project


def pause_ended(conn: psycopg.Connection, env: Envelope) -> None:
    """The pause's end (our own event): due from now on, if that pause still stands (a later unpause or pause
    changed ``paused_version`` or ``resumes_at``). The subscription's version is subscription-service's: unchanged."""
    p = env.payload
    conn.execute("UPDATE subscriptions SET paused = false, resumes_at = NULL WHERE subscription_id = %s "
                 "AND paused AND paused_version = %s AND resumes_at IS NOT NULL",
                 [p["subscription_id"], p["paused_version"]])


PROJECTORS: dict[str, Projector] = {
    "TokenIssued": apply_identity_event,
    "TokenRevoked": apply_identity_event,
    "ShopCreated": shop_created,
    "ShopUpdated": shop_updated,
    "OrderCycleCreated": cycle_created,
    "OrderCycleMoved": cycle_moved,
    "OrderCycleDeleted": cycle_deleted,
    "ScheduleCreated": schedule_created,
    "ScheduleRenamed": schedule_renamed,
    "ScheduleOrderCyclesChanged": schedule_cycles_changed,
    "ScheduleDeleted": schedule_deleted,
    "SubscriptionCreated": subscription_created,
    "SubscriptionUpdated": subscription_updated,
    "SubscriptionPaused": subscription_paused,
    "SubscriptionUnpaused": subscription_unpaused,
    "SubscriptionCancelled": subscription_cancelled,
    "OccurrenceSkipped": occurrence_skipped,
    "OccurrenceResumed": occurrence_resumed,
    "OrderCycleOpened": _boundary(OPEN),
    "OrderCycleClosed": _boundary(CLOSE),
    "OrderCycleClosingSoon": _boundary(REMINDER),
    "PauseEnded": pause_ended,
}


def apply(conn: psycopg.Connection, env: Envelope) -> None:
    """Apply one event to the projections (events of other types are ignored)."""
    project = PROJECTORS.get(env.event_type)
    if project is not None:
        project(conn, env)
