"""Placement and confirmation runs, and the shop's summary email of each.

A batch run (a cycle's opening batch, its close) is complete when it is recorded; single placements
in the middle of a cycle (and late ones) join the shop's open run of that cycle, which collects them
for ``window_s`` before its summary. A placement summary also lists, once, the cycle's missed dues not
reported yet (OrderDueMissed: processed after the close in a shop that places nothing late) and why.
A confirmation run also waits for the first outcome of every card payment it requested (``awaiting``), or for
its deadline, so that failed payments and authorisations required are in its summary.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from order_service.adapters import bulk, notifications
from order_service.adapters.db import all_rows, one_row
from shared_events import Envelope

ISSUE_LIMIT = 500  # issues listed in one summary email; the counts are always complete
RUN_NAMESPACE = uuid.UUID("6c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f")


def open_run(conn: psycopg.Connection, *, kind: str, shop_id: str, order_cycle_id: str, batch: bool,
             trigger: Envelope, window_s: float, deadline_s: float) -> str:
    """The run these orders belong to: a new one for a batch, else the shop's open one for the cycle."""
    if not batch:
        row = one_row(conn, "SELECT run_id FROM runs WHERE kind = %s AND shop_id = %s AND order_cycle_id = %s "
                            "AND NOT batch AND summary_id IS NULL AND window_ends_at > clock_timestamp() "
                            "ORDER BY created_at DESC LIMIT 1 FOR UPDATE", [kind, shop_id, order_cycle_id])
        if row:
            return str(row["run_id"])
    run_id = run_id_for(kind, order_cycle_id, trigger)
    conn.execute(
        """
        INSERT INTO runs (run_id, kind, shop_id, order_cycle_id, batch, started_at, window_ends_at, deadline_at)
        VALUES (%s, %s, %s, %s, %s, %s, clock_timestamp() + make_interval(secs => %s),
                clock_timestamp() + make_interval(secs => %s))
        ON CONFLICT (run_id) DO NOTHING
        """,
        [run_id, kind, shop_id, order_cycle_id, batch, trigger.occurred_at, 0 if batch else window_s,
         max(deadline_s, 0 if batch else window_s)],
    )
    return run_id


def run_id_for(kind: str, order_cycle_id: str, trigger: Envelope) -> str:
    """The id of the run a trigger opens (the same however often it is handled)."""
    return str(uuid.uuid5(RUN_NAMESPACE, f"{kind}:{order_cycle_id}:{trigger.event_id}"))


def exists(conn: psycopg.Connection, run_id: str) -> bool:
    return one_row(conn, "SELECT 1 AS x FROM runs WHERE run_id = %s", [run_id]) is not None


def add_orders(conn: psycopg.Connection, run_id: str, order_ids: Iterable[str], awaiting: Iterable[str] = ()
               ) -> None:
    """Orders of the run; those in ``awaiting`` need a payment outcome before the summary."""
    ids = list(order_ids)
    waiting = set(awaiting)
    if not ids:
        return
    added = bulk.staged(conn, "run_orders", "run_orders", ("run_id", "order_id", "needs_outcome"),
                        [(run_id, i, i in waiting) for i in ids],
                        "INSERT INTO run_orders (run_id, order_id, needs_outcome) "
                        "SELECT run_id, order_id, needs_outcome FROM {staged} ON CONFLICT DO NOTHING "
                        "RETURNING needs_outcome")
    more = sum(1 for r in added if r["needs_outcome"])
    if more:
        conn.execute("UPDATE runs SET awaiting = awaiting + %s WHERE run_id = %s", [more, run_id])


def add_problems(conn: psycopg.Connection, run_id: str, *, errors: Sequence[dict[str, Any]] = (),
                 skipped: int = 0) -> None:
    if errors or skipped:
        conn.execute("UPDATE runs SET errors = errors || %s, skipped = skipped + %s WHERE run_id = %s",
                     [Jsonb(list(errors)), skipped, run_id])


def record_outcome(conn: psycopg.Connection, order_id: str, outcome: str) -> tuple[bool, list[str]]:
    """The first payment outcome of an order counts for its confirmation run. Returns (summary of its run
    already sent, runs now complete and waiting for their summary)."""
    first = all_rows(conn, "UPDATE run_orders SET outcome = %s WHERE order_id = %s AND needs_outcome "
                           "AND outcome IS NULL RETURNING run_id", [outcome, order_id])
    complete = []
    for row in first:
        run = one_row(conn, "UPDATE runs SET awaiting = awaiting - 1 WHERE run_id = %s "
                            "RETURNING run_id, awaiting, summary_id, window_ends_at <= clock_timestamp() AS due",
                      [row["run_id"]])
        if run and run["awaiting"] <= 0 and run["summary_id"] is None and run["due"]:
            complete.append(str(run["run_id"]))
    already = one_row(conn, "SELECT 1 AS x FROM run_orders r JOIN runs USING (run_id) WHERE r.order_id = %s "
                            "AND r.needs_outcome AND runs.summary_id IS NOT NULL", [order_id]) is not None
    return already and not first, complete


def summarise_if_complete(conn: psycopg.Connection, run_id: str) -> None:
    row = one_row(conn, "SELECT 1 AS x FROM runs WHERE run_id = %s AND summary_id IS NULL AND awaiting <= 0 "
                        "AND window_ends_at <= clock_timestamp() FOR UPDATE", [run_id])
    if row:
        summarise(conn, run_id)


def runs_due(conn: psycopg.Connection, limit: int = 20) -> list[str]:
    """Runs whose window has passed with nothing awaited, or whose deadline has passed (the notifier's sweep)."""
    return [str(r["run_id"]) for r in all_rows(
        conn,
        "SELECT run_id FROM runs WHERE summary_id IS NULL AND ((awaiting <= 0 AND window_ends_at <= clock_timestamp()) "
        "OR deadline_at <= clock_timestamp()) ORDER BY created_at LIMIT %s FOR UPDATE SKIP LOCKED",
        [limit])]


def has_unreported_misses(conn: psycopg.Connection, shop_id: str, order_cycle_id: str) -> bool:
    return one_row(conn, "SELECT 1 AS x FROM order_dues WHERE order_cycle_id = %s AND shop_id = %s "
                         "AND state = 'missed' AND reported_in IS NULL LIMIT 1", [order_cycle_id, shop_id]) is not None


def _claim_misses(conn: psycopg.Connection, run: dict[str, Any]) -> tuple[int, list[dict[str, Any]]]:
    """The cycle's missed dues not reported yet become this run's: (how many, the first ISSUE_LIMIT of them)."""
    claimed = all_rows(
        conn,
        """
        WITH claimed AS (
            UPDATE order_dues SET reported_in = %s
            WHERE order_cycle_id = %s AND shop_id = %s AND state = 'missed' AND reported_in IS NULL
            RETURNING subscription_id, customer_id, reason AS due_reason, skipped_because AS reason, due_at
        )
        SELECT claimed.subscription_id, claimed.customer_id, c.email AS customer_email,
               concat_ws(' ', c.first_name, c.last_name) AS customer_name, claimed.due_reason, claimed.reason,
               claimed.due_at
        FROM claimed LEFT JOIN customers c ON c.customer_id = claimed.customer_id
        ORDER BY c.email, claimed.subscription_id
        """, [run["run_id"], run["order_cycle_id"], run["shop_id"]])
    listed = [{**m, "due_at": m["due_at"].isoformat()} for m in claimed[:ISSUE_LIMIT]]
    return len(claimed), listed


def summarise(conn: psycopg.Connection, run_id: str) -> str:
    """Queue the run's summary email to the shop (once) and close the run."""
    run = one_row(conn, "SELECT * FROM runs WHERE run_id = %s", [run_id])
    assert run is not None
    payload = (_placement_summary if run["kind"] == "placement" else _confirmation_summary)(conn, run_id)
    payload.update(run_id=run_id, order_cycle_id=run["order_cycle_id"], batch=run["batch"],
                   errors=run["errors"], started_at=run["started_at"].isoformat())
    counts = payload["counts"]
    counts.update(orders=counts["total"], errors=len(run["errors"]), skipped=run["skipped"])
    counts["total"] = counts["orders"] + counts["errors"] + counts["skipped"]
    if run["kind"] == "placement":
        counts["missed"], payload["missed"] = _claim_misses(conn, run)
        counts["total"] += counts["missed"]
    notice = notifications.Notice(f"{run['kind']}_summary", run_id, run["shop_id"], payload=payload)
    notifications.queue(conn, [notice])
    conn.execute("UPDATE runs SET summary_id = %s, summarised_at = clock_timestamp() WHERE run_id = %s",
                 [notice.notification_id, run_id])
    return notice.notification_id


def _placement_summary(conn: psycopg.Connection, run_id: str) -> dict[str, Any]:
    counts = one_row(
        conn,
        """
        SELECT count(*) AS total,
               count(*) FILTER (WHERE o.status = 'empty') AS empty,
               count(*) FILTER (WHERE o.status <> 'empty' AND EXISTS (SELECT 1 FROM order_lines l
                   WHERE l.order_id = o.order_id AND l.quantity < l.requested_quantity)) AS capped
        FROM run_orders r JOIN orders o ON o.order_id = r.order_id WHERE r.run_id = %s
        """, [run_id])
    assert counts is not None
    counts["placed"] = counts["total"] - counts["empty"]
    issues = all_rows(
        conn,
        """
        SELECT * FROM (
            SELECT o.order_id, o.number, CASE WHEN o.status = 'empty' THEN 'empty' ELSE 'capped' END AS kind,
                   c.email AS customer_email, concat_ws(' ', c.first_name, c.last_name) AS customer_name,
                   (SELECT coalesce(jsonb_agg(jsonb_build_object('name', l.name, 'requested', l.requested_quantity,
                                                                 'quantity', l.quantity) ORDER BY l.position), '[]')
                    FROM order_lines l WHERE l.order_id = o.order_id AND l.quantity < l.requested_quantity) AS lines
            FROM run_orders r JOIN orders o ON o.order_id = r.order_id
            LEFT JOIN customers c ON c.customer_id = o.customer_id
            WHERE r.run_id = %s) x
        WHERE kind = 'empty' OR lines <> '[]'::jsonb
        ORDER BY kind, number LIMIT %s
        """, [run_id, ISSUE_LIMIT])
    return {"counts": dict(counts), "issues": issues,
            "more_issues": max(0, counts["empty"] + counts["capped"] - len(issues))}


def _confirmation_summary(conn: psycopg.Connection, run_id: str) -> dict[str, Any]:
    base = """
        FROM run_orders r JOIN orders o ON o.order_id = r.order_id
        LEFT JOIN order_payments p ON p.order_id = o.order_id
        LEFT JOIN customers c ON c.customer_id = o.customer_id
        WHERE r.run_id = %s
    """
    counts = one_row(
        conn,
        f"""
        SELECT count(*) AS total,
               count(*) FILTER (WHERE NOT coalesce(o.payment_required, false)) AS no_payment_needed,
               count(*) FILTER (WHERE p.state = 'paid') AS paid,
               count(*) FILTER (WHERE o.payment_required AND o.payment_kind = 'cash'
                                AND coalesce(p.state, 'pending') = 'pending') AS cash_pending,
               count(*) FILTER (WHERE p.state = 'failed') AS failed,
               count(*) FILTER (WHERE p.state = 'authorization_required') AS authorization_required,
               count(*) FILTER (WHERE o.payment_required AND o.payment_kind = 'stripe'
                                AND coalesce(p.state, 'requested') IN ('requested', 'pending', 'processing'))
                   AS awaiting_outcome
        {base}
        """, [run_id])
    assert counts is not None
    issues = all_rows(
        conn,
        f"""
        SELECT * FROM (
            SELECT o.order_id, o.number, c.email AS customer_email,
                   concat_ws(' ', c.first_name, c.last_name) AS customer_name, o.total, o.currency,
                   CASE WHEN p.state = 'failed' THEN 'failed_payment'
                        WHEN p.state = 'authorization_required' THEN 'authorization_required'
                        WHEN o.payment_required AND o.payment_kind = 'stripe'
                             AND coalesce(p.state, 'requested') IN ('requested', 'pending', 'processing')
                        THEN 'awaiting_payment' END AS kind,
                   p.message, p.authorization_url
            {base}) x
        WHERE kind IS NOT NULL ORDER BY kind, number LIMIT %s
        """, [run_id, ISSUE_LIMIT])  # noqa: S608 - composed from constants of this module
    listed = counts["failed"] + counts["authorization_required"] + counts["awaiting_outcome"]
    return {"counts": dict(counts), "issues": issues, "more_issues": max(0, listed - len(issues))}
