"""A rebuild writes a close's runs of OrderConfirmed and PaymentRequested set-based (entrypoints/rebuild.py's
``_CONFIRMATIONS``), folding an order's PaymentRequested into its confirmation's UPDATE when both are in the run.
The order rows must be the ones ``project`` leaves when it applies the same events one by one, whatever the orders
had seen before the run. The run's projector is called directly: inside a rebuild a failing run is applied again
one by one, which would hide a broken statement behind a slow, correct result."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from order_service.adapters.projections import project
from order_service.config import MIGRATIONS_DIR
from order_service.entrypoints.rebuild import BULK
from shared_events import Envelope, decode, encode
from shared_events.examples import EXAMPLES

pytestmark = pytest.mark.integration

T0 = datetime(2026, 4, 3, 15, 0, tzinfo=UTC)
SHOP = str(uuid.uuid4())


def _order(n: int) -> str:
    return str(uuid.UUID(int=n))


def _env(event_type: str, n: int, version: int, at: int, **extra: object) -> Envelope:
    payload = {**EXAMPLES[event_type], "order_id": _order(n), "shop_id": SHOP, "number": f"R-{n}",
               "subscription_id": str(uuid.UUID(int=100 + n)), **extra}
    env = Envelope(event_type, _order(n), version, payload, "order-service", shop_id=SHOP,
                   occurred_at=T0 + timedelta(seconds=at))
    return decode(encode(env))  # as a replay sees it


def _placed(n: int) -> Envelope:
    return _env("OrderPlaced", n, 1, n)


def _confirmed(n: int) -> Envelope:
    return _env("OrderConfirmed", n, 2, 100 + n, totals={"item_total": 3000 + n, "shipping_fee": 500,
                                                        "payment_fee": 0, "total": 3500 + n})


def _requested(n: int) -> Envelope:
    return _env("PaymentRequested", n, 3, 200 + n, amount=3500 + n)


BEFORE = [_placed(n) for n in range(1, 6)] + [
    _confirmed(3),  # already confirmed (version 2) when the run repeats its confirmation
    _confirmed(4), _requested(4),  # already past the whole run
]
RUN = [
    _confirmed(1), _requested(1),  # the pair: folded into one UPDATE
    _confirmed(2),  # its PaymentRequested comes in a later run
    _confirmed(3), _requested(3),  # at version 2: the fold must still move it to 3
    _confirmed(4), _requested(4),  # nothing to do
    _confirmed(5), _confirmed(5), _requested(5),  # a redelivered confirmation inside the run
]
LATER = [_requested(2)]


def _orders(conn: psycopg.Connection) -> list[tuple]:
    return conn.execute("SELECT * FROM orders ORDER BY order_id").fetchall()


def test_a_confirmation_run_leaves_the_rows_of_applying_each_event_in_turn(make_db):
    one_by_one, set_based = make_db(MIGRATIONS_DIR), make_db(MIGRATIONS_DIR)
    with psycopg.connect(one_by_one) as conn:
        for env in BEFORE + RUN + LATER:
            project(conn, env)
        expected = _orders(conn)
    runs = BULK["OrderConfirmed"]
    assert BULK["PaymentRequested"] is runs
    with psycopg.connect(set_based) as conn:
        for env in BEFORE:
            project(conn, env)
        runs(conn, RUN)
        runs(conn, LATER)
        got = _orders(conn)

    assert got == expected
    with psycopg.connect(one_by_one) as conn:
        states = conn.execute("SELECT number, status, version, total FROM orders ORDER BY number").fetchall()
    assert states == [(f"R-{n}", "confirmed", 3, 3500 + n) for n in range(1, 6)]  # every case above happened
