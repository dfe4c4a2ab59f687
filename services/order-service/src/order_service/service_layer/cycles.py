"""Reactions to scheduler.events: record dues, place the opening batch, place mid-cycle and late dues,
record missed dues for the shop's summary, confirm at close (DEVELOPING "Scheduler -> orders" and "At close").
The rules are domain.dues'; the rows, adapters.dues'."""

from __future__ import annotations

from collections.abc import Sequence

import psycopg

from order_service.adapters import dues, runs
from order_service.config import ReactionSettings
from order_service.domain.dues import Route, ready_to_place, route
from order_service.service_layer.confirmation import confirm_cycle
from order_service.service_layer.placement import Placing, place_dues, place_opening_batch
from shared_events import Envelope


def on_order_dues(conn: psycopg.Connection, envs: Sequence[Envelope], cfg: ReactionSettings) -> None:
    """OrderDue events, one or many at once (a cycle opening is 100,000 of them: the consumer hands them over in
    runs): all are recorded, each opening batch they complete is placed, then dues of closed cycles are placed
    and confirmed, then mid-cycle dues are placed (grouped by shop and cycle, each order caused by its own due).
    A due recorded before (a replay) is left alone."""
    recorded = dues.record(conn, envs)
    by_id = {env.event_id: env for env in envs}
    routes: dict[Route, list[dict]] = {Route.LATE: [], Route.WITH_BATCH: [], Route.ALONE: []}
    for due in recorded.dues:
        batch = recorded.batches.get(due["order_cycle_id"])
        routes[route(late=due["late"], reason=due["reason"], cycle_closed=due["order_cycle_id"] in recorded.closed,
                     batch_placed=batch is not None and batch.placed)].append(due)
    for cycle_id, batch in recorded.batches.items():
        if cycle_id not in recorded.closed and ready_to_place(batch):
            place_batch(conn, cycle_id, _completing(recorded.dues, cycle_id, envs), cfg)
    for kind in (Route.LATE, Route.ALONE):
        by_run: dict[tuple[str, str], list[dict]] = {}
        for due in routes[kind]:
            by_run.setdefault((due["shop_id"], due["order_cycle_id"]), []).append(due)
        for run in by_run.values():
            causes = {(d["subscription_id"], d["order_cycle_id"]): by_id[str(d["event_id"])] for d in run}
            place_dues(conn, run, Placing.alone(list(causes.values())[-1], late=kind is Route.LATE, causes=causes,
                                                patient=True), cfg)


def _completing(recorded: list[dict], cycle_id: str, envs: Sequence[Envelope]) -> Envelope:
    """The due that completed its cycle's opening batch: the last of the cycle's new opening dues, in the events'
    order."""
    ids = {str(d["event_id"]) for d in recorded if d["order_cycle_id"] == cycle_id and d["reason"] == "cycle_opened"}
    return next(env for env in reversed(envs) if env.event_id in ids)


def on_order_due(conn: psycopg.Connection, env: Envelope, cfg: ReactionSettings) -> None:
    """One OrderDue: the run of one."""
    on_order_dues(conn, [env], cfg)


def on_order_due_missed(conn: psycopg.Connection, env: Envelope, cfg: ReactionSettings) -> None:
    """A due the scheduler will not place (processed after the close, the shop places nothing late): recorded
    once (state missed), then reported in a placement summary. One missed at the open counts towards the
    cycle's opening batch, whose summary lists it; one made due by a late-seen change joins the shop's open
    placement run of the cycle, summarised when its window ends."""
    missed = dues.record_missed(conn, env)
    if missed is None:  # recorded before, or the occurrence already had a due
        return
    if missed.reason != "cycle_opened":
        runs.open_run(conn, kind="placement", shop_id=missed.shop_id, order_cycle_id=missed.order_cycle_id,
                      batch=False, trigger=env, window_s=cfg.run_window_s, deadline_s=cfg.run_window_s)
    elif missed.batch is not None and ready_to_place(missed.batch):
        place_batch(conn, missed.order_cycle_id, env, cfg)


def on_cycle_opened(conn: psycopg.Connection, env: Envelope, cfg: ReactionSettings) -> None:
    p = env.payload
    batch = dues.announce_batch(conn, p["order_cycle_id"], p["shop_id"], p["due_count"], p.get("missed_count") or 0)
    if ready_to_place(batch):
        place_batch(conn, p["order_cycle_id"], env, cfg)


def place_batch(conn: psycopg.Connection, order_cycle_id: str, trigger: Envelope, cfg: ReactionSettings) -> None:
    """The cycle's opening batch: every recorded cycle_opened due, stock shared by the shop's policy; its
    summary also lists the dues missed at the open."""
    place_opening_batch(conn, order_cycle_id, trigger, cfg)
    dues.batch_placed(conn, order_cycle_id, trigger.occurred_at)


def on_cycle_closed(conn: psycopg.Connection, env: Envelope, cfg: ReactionSettings) -> None:
    """Confirm every placed order of the cycle. Dues still waiting (their batch never completed) are
    placed first, late, so that nothing due is ever forgotten."""
    p = env.payload
    dues.batch_confirmed(conn, p["order_cycle_id"], p["shop_id"], env.occurred_at)
    by_shop: dict[str, list[dict]] = {}
    for due in dues.pending(conn, p["order_cycle_id"]):
        by_shop.setdefault(due["shop_id"], []).append(due)
    for waiting in by_shop.values():
        place_dues(conn, waiting, Placing.at_close(env), cfg)
    confirm_cycle(conn, p["order_cycle_id"], p["shop_id"], env, cfg)
