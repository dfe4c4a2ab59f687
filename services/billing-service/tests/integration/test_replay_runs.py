"""A rebuild writes runs of billing's events set-based (entrypoints/rebuild.py's ``replay_run``): the rows must be
the ones ``project`` leaves when it applies the same events one by one, however the runs interleave payments,
their attempts and the orders around them. ``replay_run`` is called directly here: inside a rebuild a failing
run is applied again one by one, which would hide a broken set-based statement behind a slow, correct result."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from billing_service.adapters.projections import project
from billing_service.config import MIGRATIONS_DIR
from billing_service.entrypoints.rebuild import replay_run
from shared_events import Envelope
from shared_events.examples import EXAMPLES

pytestmark = pytest.mark.integration

T0 = datetime(2026, 4, 3, 15, 0, tzinfo=UTC)
SHOP = str(uuid.uuid4())
CUSTOMER = str(uuid.uuid4())


def _order(n: int) -> tuple[str, str]:
    return str(uuid.UUID(int=n)), str(uuid.UUID(int=1000 + n))  # order, payment


def _env(event_type: str, aggregate_id: str, version: int, payload: dict, at: int) -> Envelope:
    return Envelope(event_type, aggregate_id, version, payload, "billing-service", shop_id=SHOP,
                    occurred_at=T0 + timedelta(seconds=at))


def _placed(n: int, at: int) -> Envelope:
    order, _ = _order(n)
    return _env("OrderPlaced", order, 1, {**EXAMPLES["OrderPlaced"], "order_id": order, "shop_id": SHOP,
                                          "customer_id": CUSTOMER, "number": f"R-{n}"}, at)


def _pending(n: int, at: int) -> Envelope:
    order, payment = _order(n)
    return _env("PaymentPending", payment, 1, {**EXAMPLES["PaymentPending"], "payment_id": payment, "order_id": order,
                                               "shop_id": SHOP, "customer_id": CUSTOMER, "amount": 1000 + n}, at)


def _started(n: int, attempt: int, version: int, at: int) -> Envelope:
    order, payment = _order(n)
    return _env("PaymentAttemptStarted", payment, version,
                {**EXAMPLES["PaymentAttemptStarted"], "payment_id": payment, "order_id": order, "shop_id": SHOP,
                 "customer_id": CUSTOMER, "attempt": attempt, "idempotency_key": f"order-{order}-attempt-{attempt}",
                 "amount": 1000 + n}, at)


RUN = [
    _placed(1, 0), _pending(1, 1), _started(1, 1, 2, 2),
    _started(2, 1, 2, 3),  # before its payment exists: applied in turn, it changes nothing
    _placed(2, 4), _pending(2, 5),  # the payment of an attempt already in the run: a new segment
    _placed(3, 6), _pending(3, 7), _started(3, 1, 2, 8),
    _started(1, 2, 3, 9),  # a second attempt of a payment in the same run
    _started(3, 1, 2, 10),  # redelivered: not newer than the payment's row, skipped (inserted again, it would clash)
    _started(2, 1, 2, 11),  # now the payment exists
    _placed(4, 12), _pending(4, 13),
]


def _rows(conn: psycopg.Connection) -> dict[str, list[tuple]]:
    return {table: conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
            for table in ("orders", "payments", "payment_attempts")}


def test_a_set_based_run_leaves_the_rows_of_applying_each_event_in_turn(make_db):
    one_by_one, set_based = make_db(MIGRATIONS_DIR), make_db(MIGRATIONS_DIR)
    with psycopg.connect(one_by_one) as conn:
        for env in RUN:
            project(conn, env)
        expected = _rows(conn)
    with psycopg.connect(set_based) as conn:
        replay_run(conn, RUN)
        got = _rows(conn)

    assert got == expected
    payments = {_order(n)[1]: n for n in range(1, 5)}
    attempts = {(payments[r[0]], r[2]) for r in expected["payment_attempts"]}
    assert attempts == {(1, 1), (1, 2), (2, 1), (3, 1)}  # the run is not trivial: every case above happened
    assert sorted((payments[r[0]], r[8], r[9]) for r in expected["payments"]) == [
        (1, "processing", 2), (2, "processing", 1), (3, "processing", 1), (4, "pending", 0)]


def test_an_order_that_loses_its_last_product_to_the_catalog_is_empty_with_nothing_to_charge(make_db):
    order, _ = _order(9)
    withdrawn = _env("OrderLineWithdrawn", order, 2, {
        **EXAMPLES["OrderLineWithdrawn"], "order_id": order, "shop_id": SHOP, "customer_id": CUSTOMER,
        "status": "empty", "totals": {"item_total": 0, "shipping_fee": 0, "payment_fee": 0, "total": 0}}, 20)
    with psycopg.connect(make_db(MIGRATIONS_DIR)) as conn:
        project(conn, _placed(9, 19))
        project(conn, withdrawn)
        assert conn.execute("SELECT status, total, version FROM orders WHERE order_id = %s", [order]).fetchone() == (
            "empty", 0, 2)
