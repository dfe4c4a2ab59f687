"""The client-side rate limiter holds its configured rate end to end (generous bounds: the exact pacing is
unit-tested with a fake clock; throughput is measured in bench/billing_drain.py), and the projections rebuilt
from the topics equal the live ones."""

import pytest

from billing_service.entrypoints import rebuild
from devstack.testing import rows, scalar, wait_for

pytestmark = pytest.mark.integration

CARD_OK = "4242424242424242"
CARD_DECLINED_AT_CHARGE = "4000000000000341"
CARD_3DS_REQUIRED = "4000002760003184"


def test_a_burst_of_payment_requests_is_charged_no_faster_than_the_configured_rate(billing):
    rate, n = 5.0, 16
    billing.start("consumer")
    billing.start("relay")
    shop = billing.shop()
    customers = [billing.customer(shop, CARD_OK) for _ in range(4)]
    orders = [billing.order(shop, customers[i % 4]["customer_id"], 500 + i) for i in range(n)]
    wait_for(lambda: scalar(billing.dsn, "SELECT count(*) FROM payment_attempts") == n, what="all attempts recorded")
    billing.start("charger", STRIPE_RATE_LIMIT=str(rate), CHARGER_CONCURRENCY="8")

    wait_for(lambda: scalar(billing.dsn, "SELECT count(*) FROM payments WHERE status = 'succeeded'") == n,
             timeout=60, what="every payment charged")
    [(first, last)] = rows(billing.dsn, "SELECT min(finished_at), max(finished_at) FROM charge_calls")
    achieved = (n - 1) / (last - first).total_seconds()
    assert rate * 0.5 <= achieved <= rate * 1.25, f"{achieved:.2f} requests/s for a limit of {rate}/s"
    assert scalar(billing.dsn, "SELECT max(calls) FROM charge_calls") == 1
    for order in orders[:4]:
        customer = next(c for c in customers if c["customer_id"] == order["customer_id"])
        assert len(billing.succeeded_charges(customer["stripe_customer_id"], order["order_id"])) == 1


def test_projections_rebuilt_from_the_topics_equal_the_live_ones_and_a_damaged_one_is_repaired(billing):
    billing.start_all()
    shop = billing.shop()
    ok, declined, secure = (billing.customer(shop, c) for c in (CARD_OK, CARD_DECLINED_AT_CHARGE, CARD_3DS_REQUIRED))
    cash_customer = billing.customer(shop, None)
    paid = billing.order(shop, ok["customer_id"], 1500)
    failed = billing.order(shop, declined["customer_id"], 1600)
    waiting = billing.order(shop, secure["customer_id"], 1700)
    cash = billing.order(shop, cash_customer["customer_id"], 1800, kind="cash")
    manager = billing.token("manager", [shop])
    billing.token("customer", [shop], ok["customer_id"])
    p_paid = billing.wait_payment(paid["order_id"], "succeeded")
    billing.wait_payment(failed["order_id"], "failed")
    billing.wait_payment(waiting["order_id"], "requires_action")
    p_cash = billing.wait_payment(cash["order_id"], "pending")
    base = f"/api/v1/shops/{shop}/payments"
    assert billing.client.post(f"{base}/{p_paid['payment_id']}/refunds", json={"amount": 300},
                               headers=billing.auth(manager)).status_code == 201
    assert billing.client.post(f"{base}/{p_cash['payment_id']}/mark-paid", json={"note": "cash"},
                               headers=billing.auth(manager)).status_code == 200
    wait_for(lambda: scalar(billing.dsn, "SELECT count(*) FROM event_store WHERE published_at IS NULL") == 0,
             what="the relay to publish every billing event")

    report = rebuild.run(billing.dsn, bootstrap=billing.infra.bootstrap)
    assert report.events >= 30 and report.undecodable == 0
    assert report.differences == {t: 0 for t in report.differences} and report.identical
    assert set(report.differences) >= {"payments", "payment_attempts", "refunds", "customers", "shops", "orders"}

    with billing.app.extensions["pool"].connection() as conn:  # damage the live projection
        conn.execute("UPDATE payments SET status = 'failed', amount_refunded = 0 WHERE payment_id = %s",
                     [p_paid["payment_id"]])
    damaged = rebuild.run(billing.dsn, bootstrap=billing.infra.bootstrap)
    assert damaged.differences["payments"] == 2 and not damaged.identical
    repaired = rebuild.run(billing.dsn, bootstrap=billing.infra.bootstrap, swap=True)
    assert repaired.swapped
    assert billing.payment(paid["order_id"])["status"] == "succeeded"
    assert rebuild.run(billing.dsn, bootstrap=billing.infra.bootstrap).identical
