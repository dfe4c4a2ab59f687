"""Reactions to scheduler.events: record dues, place the opening batch, place mid-cycle and late dues,
record missed dues for the shop's summary, confirm at close (DEVELOPING "Scheduler -> orders" and "At close")."""

from __future__ import annotations

from collections.abc import Sequence

import psycopg

from order_service.adapters import bulk, runs
from order_service.adapters.db import all_rows, one_row
from order_service.config import ReactionSettings
from order_service.service_layer.confirmation import confirm_cycle
from order_service.service_layer.placement import place_dues, place_opening_batch
from shared_events import Envelope


def record_due(conn: psycopg.Connection, env: Envelope) -> dict | None:
    """Record the due and, for an opening due, count it towards its cycle's batch: one statement (a cycle
    opening is 100,000 of them). Returns the due with its cycle's close and batch state, or None when it
    was recorded before (a replay)."""
    p = env.payload
    return one_row(
        conn,
        """
        WITH due AS (
            INSERT INTO order_dues (subscription_id, order_cycle_id, shop_id, customer_id, reason, late, opens_at,
                                    closes_at, due_at, event_id)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING *
        ), batch AS (
            INSERT INTO cycle_batches (order_cycle_id, shop_id, dues_recorded)
            SELECT order_cycle_id, shop_id, 1 FROM due WHERE reason = 'cycle_opened'
            ON CONFLICT (order_cycle_id) DO UPDATE SET dues_recorded = cycle_batches.dues_recorded + 1
            RETURNING due_count, dues_recorded, missed_count, missed_recorded, placed_at
        )
        SELECT due.*, (SELECT closed_at FROM order_cycles c WHERE c.order_cycle_id = due.order_cycle_id)
                   AS cycle_closed_at,
               batch.due_count, batch.dues_recorded, batch.missed_count, batch.missed_recorded,
               batch.placed_at AS batch_placed_at
        FROM due LEFT JOIN batch ON true
        """,
        [p["subscription_id"], p["order_cycle_id"], p["shop_id"], p["customer_id"], p["reason"], p["late"],
         p["opens_at"], p["closes_at"], p["due_at"], env.event_id],
    )


def on_order_due(conn: psycopg.Connection, env: Envelope, cfg: ReactionSettings) -> None:
    """Opening dues wait for their batch; any other due is placed at once; a due of a closed cycle is
    placed and confirmed at once."""
    due = record_due(conn, env)
    if due is None:
        return
    if due["late"] or due["cycle_closed_at"] is not None:
        place_dues(conn, [due], env, cfg, batch=False, late=True)
        return
    if due["reason"] == "cycle_opened" and due["batch_placed_at"] is None:
        if batch_complete(due):
            place_batch(conn, due["order_cycle_id"], env, cfg)
        return
    place_dues(conn, [due], env, cfg, batch=False, late=False)


def batch_complete(batch: dict) -> bool:
    """Every due and every missed due the scheduler counted in OrderCycleOpened is recorded (and it was seen)."""
    return (batch["due_count"] is not None and batch["dues_recorded"] >= batch["due_count"]
            and batch["missed_recorded"] >= batch["missed_count"])


def on_order_due_missed(conn: psycopg.Connection, env: Envelope, cfg: ReactionSettings) -> None:
    """A due the scheduler will not place (processed after the close, the shop places nothing late): recorded
    once (state missed), then reported in a placement summary. One missed at the open counts towards the
    cycle's opening batch, whose summary lists it; one made due by a late-seen change joins the shop's open
    placement run of the cycle, summarised when its window ends."""
    p = env.payload
    missed = one_row(
        conn,
        """
        WITH due AS (
            INSERT INTO order_dues (subscription_id, order_cycle_id, shop_id, customer_id, reason, late, opens_at,
                                    closes_at, due_at, event_id, state, skipped_because)
            VALUES (%s, %s, %s, %s, %s, true, %s, %s, %s, %s, 'missed', %s) ON CONFLICT DO NOTHING RETURNING *
        ), batch AS (
            INSERT INTO cycle_batches (order_cycle_id, shop_id, missed_recorded)
            SELECT order_cycle_id, shop_id, 1 FROM due WHERE reason = 'cycle_opened'
            ON CONFLICT (order_cycle_id) DO UPDATE SET missed_recorded = cycle_batches.missed_recorded + 1
            RETURNING due_count, dues_recorded, missed_count, missed_recorded, placed_at
        )
        SELECT due.order_cycle_id, due.shop_id, due.reason, batch.* FROM due LEFT JOIN batch ON true
        """,
        [p["subscription_id"], p["order_cycle_id"], p["shop_id"], p["customer_id"], p["due_reason"], p["opens_at"],
         p["closes_at"], p["due_at"], env.event_id, p["reason"]],
    )
    if missed is None:  # recorded before, or the occurrence already had a due
        return
    if missed["reason"] != "cycle_opened":
        runs.open_run(conn, kind="placement", shop_id=missed["shop_id"], order_cycle_id=missed["order_cycle_id"],
                      batch=False, trigger=env, window_s=cfg.run_window_s, deadline_s=cfg.run_window_s)
    elif missed["placed_at"] is None and batch_complete(missed):
        place_batch(conn, missed["order_cycle_id"], env, cfg)


DUE_COLUMNS = ("subscription_id", "order_cycle_id", "shop_id", "customer_id", "reason", "late", "opens_at",
               "closes_at", "due_at", "event_id")


def on_order_dues(conn: psycopg.Connection, envs: Sequence[Envelope], cfg: ReactionSettings) -> None:
    """Many OrderDue at once (a cycle opening is 100,000 of them), with the same outcome as ``on_order_due``
    for each in turn: all are recorded in one statement, each opening batch they complete is placed, then
    dues of closed cycles are placed and confirmed, then mid-cycle dues are placed (grouped by shop and
    cycle, each order caused by its own due)."""
    by_id = {env.event_id: env for env in envs}
    position = {env.event_id: i for i, env in enumerate(envs)}
    rows = [(*(env.payload[c] for c in DUE_COLUMNS[:-1]), env.event_id) for env in envs]
    columns = ", ".join(DUE_COLUMNS)
    new = bulk.staged(conn, "order_dues", "order_dues", DUE_COLUMNS, rows,
                      f"INSERT INTO order_dues ({columns}) SELECT {columns} FROM {{staged}} "  # noqa: S608 - column names from the DUE_COLUMNS constant
                      "ON CONFLICT DO NOTHING RETURNING *")
    if not new:
        return
    counted: dict[str, list[dict]] = {}
    for due in new:
        if due["reason"] == "cycle_opened":
            counted.setdefault(due["order_cycle_id"], []).append(due)
    batches = {r["order_cycle_id"]: r for r in all_rows(
        conn,
        """
        INSERT INTO cycle_batches (order_cycle_id, shop_id, dues_recorded)
        SELECT * FROM unnest(%s::text[], %s::text[], %s::int[])
        ON CONFLICT (order_cycle_id) DO UPDATE SET dues_recorded = cycle_batches.dues_recorded + EXCLUDED.dues_recorded
        RETURNING *
        """,
        [list(counted), [d[0]["shop_id"] for d in counted.values()], [len(d) for d in counted.values()]])}
    closed = {r["order_cycle_id"] for r in all_rows(
        conn, "SELECT order_cycle_id FROM order_cycles WHERE order_cycle_id = ANY(%s) AND closed_at IS NOT NULL",
        [sorted({d["order_cycle_id"] for d in new})])}
    late, single = [], []
    for due in new:
        batch = batches.get(due["order_cycle_id"])
        if due["late"] or due["order_cycle_id"] in closed:
            late.append(due)
        elif due["reason"] != "cycle_opened" or (batch is not None and batch["placed_at"] is not None):
            single.append(due)
    for cycle_id, batch in batches.items():
        if batch["placed_at"] is None and cycle_id not in closed and batch_complete(batch):
            last = max((by_id[str(d["event_id"])] for d in counted[cycle_id]), key=lambda e: position[e.event_id])
            place_batch(conn, cycle_id, last, cfg)
    for group, is_late in ((late, True), (single, False)):
        by_run: dict[tuple[str, str], list[dict]] = {}
        for due in group:
            by_run.setdefault((due["shop_id"], due["order_cycle_id"]), []).append(due)
        for dues in by_run.values():
            causes = {(d["subscription_id"], d["order_cycle_id"]): by_id[str(d["event_id"])] for d in dues}
            place_dues(conn, dues, list(causes.values())[-1], cfg, batch=False, late=is_late, causes=causes)


def on_cycle_opened(conn: psycopg.Connection, env: Envelope, cfg: ReactionSettings) -> None:
    p = env.payload
    batch = one_row(
        conn,
        """
        INSERT INTO cycle_batches (order_cycle_id, shop_id, due_count, missed_count) VALUES (%s, %s, %s, %s)
        ON CONFLICT (order_cycle_id) DO UPDATE SET due_count = EXCLUDED.due_count,
            missed_count = EXCLUDED.missed_count RETURNING *
        """,
        [p["order_cycle_id"], p["shop_id"], p["due_count"], p.get("missed_count") or 0],
    )
    assert batch is not None
    if batch["placed_at"] is None and batch_complete(batch):
        place_batch(conn, p["order_cycle_id"], env, cfg)


def place_batch(conn: psycopg.Connection, order_cycle_id: str, trigger: Envelope, cfg: ReactionSettings) -> None:
    """The cycle's opening batch: every recorded cycle_opened due, stock shared by the shop's policy; its
    summary also lists the dues missed at the open."""
    place_opening_batch(conn, order_cycle_id, trigger, cfg)
    conn.execute("UPDATE cycle_batches SET placed_at = %s WHERE order_cycle_id = %s",
                 [trigger.occurred_at, order_cycle_id])


def on_cycle_closed(conn: psycopg.Connection, env: Envelope, cfg: ReactionSettings) -> None:
    """Confirm every placed order of the cycle. Dues still waiting (their batch never completed) are
    placed first, late, so that nothing due is ever forgotten."""
    p = env.payload
    conn.execute(
        """
        INSERT INTO cycle_batches (order_cycle_id, shop_id, confirmed_at) VALUES (%s, %s, %s)
        ON CONFLICT (order_cycle_id) DO UPDATE SET confirmed_at = coalesce(cycle_batches.confirmed_at,
                                                                            EXCLUDED.confirmed_at)
        """,
        [p["order_cycle_id"], p["shop_id"], env.occurred_at],
    )
    waiting = all_rows(conn, "SELECT * FROM order_dues WHERE order_cycle_id = %s AND state = 'pending' "
                             "ORDER BY subscription_id", [p["order_cycle_id"]])
    by_shop: dict[str, list[dict]] = {}
    for due in waiting:
        by_shop.setdefault(due["shop_id"], []).append(due)
    for dues in by_shop.values():
        place_dues(conn, dues, env, cfg, batch=False, late=True, confirm=False)
    confirm_cycle(conn, p["order_cycle_id"], p["shop_id"], env, cfg)
