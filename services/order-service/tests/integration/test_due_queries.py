"""The adapter's statements on order_dues (adapters/dues.py) against real PostgreSQL: which dues a use case's
selection releases, in which order, and what is left alone."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import dict_row

from order_service.adapters.dues import DuesOf, release_set_aside, release_waiting
from order_service.config import MIGRATIONS_DIR
from servicekit.db import migrate_dsn

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def dsn(infra):
    dsn = infra.new_database("orders")
    migrate_dsn(dsn, MIGRATIONS_DIR)
    yield dsn
    with psycopg.connect(infra.admin_db_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(conninfo_to_dict(dsn)["dbname"])))


@pytest.fixture
def conn(dsn):
    with psycopg.connect(dsn, row_factory=dict_row) as conn:
        yield conn


def _id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _cycle(conn, shop_id: str, *, closes_at: datetime | None, closed: bool = False, name: str = "cycle") -> str:
    cycle_id = _id(name)
    conn.execute("INSERT INTO order_cycles (order_cycle_id, shop_id, closes_at, closed_at) VALUES (%s, %s, %s, %s)",
                 [cycle_id, shop_id, closes_at, NOW - timedelta(hours=1) if closed else None])
    return cycle_id


def _due(conn, shop_id: str, subscription_id: str, order_cycle_id: str, state: str, *,
         closes_at: datetime = NOW + timedelta(days=2), why: str | None = None) -> None:
    conn.execute(
        "INSERT INTO order_dues (subscription_id, order_cycle_id, shop_id, customer_id, reason, late, opens_at, "
        "closes_at, due_at, event_id, state, skipped_because) "
        "VALUES (%s, %s, %s, 'customer', 'cycle_opened', false, %s, %s, %s, %s, %s, %s)",
        [subscription_id, order_cycle_id, shop_id, NOW - timedelta(days=1), closes_at, NOW - timedelta(days=1),
         uuid.uuid4(), state, why])


def _states(conn, shop_id: str) -> dict[tuple[str, str], tuple[str, str | None]]:
    return {(r["subscription_id"], r["order_cycle_id"]): (r["state"], r["skipped_because"]) for r in conn.execute(
        "SELECT * FROM order_dues WHERE shop_id = %s", [shop_id])}


def test_a_shops_waiting_dues_are_released_in_placement_order_with_whether_their_cycle_has_closed(conn):
    shop, other_shop = _id("shop"), _id("shop")
    later = _cycle(conn, shop, closes_at=NOW + timedelta(days=2), name="cycle-b")
    earlier = _cycle(conn, shop, closes_at=NOW + timedelta(days=1), closed=True, name="cycle-a")
    sub_b, sub_a = "sub-b-" + shop, "sub-a-" + shop
    for sub in (sub_b, sub_a):
        _due(conn, shop, sub, later, "waiting", why="subscription")
        _due(conn, shop, sub, earlier, "waiting", why="subscription")
    _due(conn, shop, "sub-pending-" + shop, later, "pending")
    _due(conn, other_shop, "sub-other-" + other_shop, later, "waiting", why="shop")

    released = release_waiting(conn, DuesOf(shop_id=shop))

    assert [(d["order_cycle_id"], d["subscription_id"]) for d in released] == [
        (earlier, sub_a), (earlier, sub_b), (later, sub_a), (later, sub_b)]
    assert [d["closed_at"] is not None for d in released] == [True, True, False, False]
    assert {d["state"] for d in released} == {"pending"}
    assert set(_states(conn, shop).values()) == {("pending", None)}
    assert set(_states(conn, other_shop).values()) == {("waiting", "shop")}


def test_a_subscriptions_waiting_dues_are_released_and_no_other(conn):
    shop = _id("shop")
    cycle = _cycle(conn, shop, closes_at=NOW + timedelta(days=2))
    _due(conn, shop, "sub-1-" + shop, cycle, "waiting", why="payment_method")
    _due(conn, shop, "sub-2-" + shop, cycle, "waiting", why="payment_method")

    released = release_waiting(conn, DuesOf(subscription_id="sub-1-" + shop))

    assert [d["subscription_id"] for d in released] == ["sub-1-" + shop]
    assert _states(conn, shop) == {("sub-1-" + shop, cycle): ("pending", None),
                                   ("sub-2-" + shop, cycle): ("waiting", "payment_method")}
    assert release_waiting(conn, DuesOf(subscription_id="sub-1-" + shop)) == []


def test_dues_set_aside_are_released_only_while_their_cycle_is_still_open(conn):
    shop = _id("shop")
    sub = "sub-" + shop
    open_cycle = _cycle(conn, shop, closes_at=NOW + timedelta(days=1))
    closed_cycle = _cycle(conn, shop, closes_at=NOW + timedelta(days=1), closed=True)
    past_cycle = _cycle(conn, shop, closes_at=NOW - timedelta(minutes=1))
    unknown_open, unknown_past = "cycle-not-projected-1-" + shop, "cycle-not-projected-2-" + shop
    for cycle in (open_cycle, closed_cycle, past_cycle):
        _due(conn, shop, sub, cycle, "skipped", why="subscription_paused")
    # a cycle not projected yet: the due's own closing time decides
    _due(conn, shop, sub, unknown_open, "skipped", closes_at=NOW + timedelta(hours=1), why="subscription_paused")
    _due(conn, shop, sub, unknown_past, "skipped", closes_at=NOW - timedelta(hours=1), why="subscription_paused")
    waiting_cycle = _cycle(conn, shop, closes_at=NOW + timedelta(days=1))
    _due(conn, shop, sub, waiting_cycle, "waiting", why="shop")

    released = release_set_aside(conn, DuesOf(subscription_id=sub), NOW)

    assert [d["order_cycle_id"] for d in released] == sorted([open_cycle, unknown_open])
    states = _states(conn, shop)
    assert {c for (_, c), (state, _) in states.items() if state == "pending"} == {open_cycle, unknown_open}
    assert states[(sub, closed_cycle)] == states[(sub, past_cycle)] == ("skipped", "subscription_paused")
    assert states[(sub, waiting_cycle)] == ("waiting", "shop")


def test_an_occurrence_narrows_the_dues_set_aside_to_its_own(conn):
    shop = _id("shop")
    sub = "sub-" + shop
    first, second = (_cycle(conn, shop, closes_at=NOW + timedelta(days=1)) for _ in range(2))
    _due(conn, shop, sub, first, "skipped", why="occurrence_skipped")
    _due(conn, shop, sub, second, "skipped", why="occurrence_skipped")

    released = release_set_aside(conn, DuesOf(subscription_id=sub, order_cycle_id=second), NOW)

    assert [d["order_cycle_id"] for d in released] == [second]
    assert _states(conn, shop)[(sub, first)] == ("skipped", "occurrence_skipped")
