"""At close: every placed, non-cancelled order confirmed exactly once, payment requested when there is
something to pay; billing's outcomes update the order (real Kafka and PostgreSQL)."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

pytestmark = pytest.mark.integration


def _cycle_with_orders(orders):
    f = orders.feed
    shop = f.shop()
    f.variant(shop, "eggs", "Eggs", price=320, on_hand=20)
    f.variant(shop, "gift", "Gift", price=0, on_hand=None)
    f.variant(shop, "rare", "Rare", price=999, on_hand=0)
    cycle = f.cycle(shop)
    wanted = {"card": ({"eggs": 2}, False), "cash": ({"eggs": 1}, True), "free": ({"gift": 1}, False),
              "empty": ({"rare": 1}, False), "cancelled": ({"eggs": 1}, False), "card2": ({"eggs": 3}, False),
              "card3": ({"eggs": 1}, False)}
    subs = {}
    for name, (items, cash) in wanted.items():
        customer, _ = f.customer(shop)
        subs[name] = f.subscription(shop, customer, items, cash=cash)
        f.due(shop, cycle, subs[name], customer)
    f.boundary("OrderCycleOpened", cycle, due_count=len(subs))
    orders.wait_orders(shop, len(subs))
    cancelled = orders.order_of(subs["cancelled"])
    assert orders.api("POST", f"/shops/{shop.shop_id}/orders/{cancelled['order_id']}/cancel").status_code == 200
    return shop, cycle, subs


def test_the_close_confirms_each_placed_order_once_and_requests_payment_only_when_there_is_something_to_pay(orders):
    shop, cycle, subs = _cycle_with_orders(orders)
    f = orders.feed
    closed = f.boundary("OrderCycleClosed", cycle)
    orders.wait(lambda: orders.order_of(subs["card"])["status"] == "confirmed", "the confirmation")
    f.resend(closed)  # redelivered
    f.boundary("OrderCycleClosed", cycle)  # and told again (a new event for the same close)
    orders.settle()

    status = {name: orders.order_of(sub)["status"] for name, sub in subs.items()}
    assert status == {"card": "confirmed", "cash": "confirmed", "free": "confirmed", "empty": "empty",
                      "cancelled": "cancelled", "card2": "confirmed", "card3": "confirmed"}
    for name in ("card", "cash", "card2", "card3"):
        order = orders.order_of(subs[name])
        assert order["payment_required"] and order["total"] > 0
        assert orders.events(order["order_id"]) == ["OrderPlaced", "OrderConfirmed", "PaymentRequested"]
    free = orders.order_of(subs["free"])
    assert free["total"] == 0 and free["payment_required"] is False
    assert orders.events(free["order_id"]) == ["OrderPlaced", "OrderConfirmed"]
    assert orders.events(orders.order_of(subs["empty"])["order_id"]) == ["OrderPlaced"]

    published = orders.wait_published(
        lambda evs: sum(e.event_type == "PaymentRequested" and e.shop_id == shop.shop_id for e in evs) >= 4,
        "the payment requests")
    requests = {e.payload["subscription_id"]: e.payload for e in published
                if e.event_type == "PaymentRequested" and e.shop_id == shop.shop_id}
    assert len(requests) == 4
    assert requests[subs["cash"]]["payment_kind"] == "cash"
    assert requests[subs["card"]]["amount"] == orders.order_of(subs["card"])["total"]
    assert requests[subs["card"]]["payment_method_id"] == shop.card_id


def test_billings_outcomes_update_the_orders_payment_state_and_the_confirmation_summary(orders):
    shop, cycle, subs = _cycle_with_orders(orders)
    f = orders.feed
    f.boundary("OrderCycleClosed", cycle)
    orders.wait(lambda: orders.order_of(subs["card"])["status"] == "confirmed", "the confirmation")
    card, card2, card3, cash = (orders.order_of(subs[n]) for n in ("card", "card2", "card3", "cash"))
    pay = {n: str(uuid.uuid4()) for n in ("card", "card2", "card3", "cash")}

    def path(order):
        return f"/shops/{shop.shop_id}/orders/{order['order_id']}"

    assert orders.api("GET", path(card)).json["payment"]["state"] == "requested"
    f.payment("PaymentPending", card, pay["card"], amount=card["total"], currency="EUR", method="stripe",
              order_number=card["number"])
    f.payment("PaymentSucceeded", card, pay["card"], attempt=1, amount=card["total"], currency="EUR",
              stripe_payment_intent_id="pi_1", stripe_charge_id="ch_1")
    f.payment("PaymentFailed", card2, pay["card2"], attempt=1, code="card_declined", decline_code="insufficient_funds",
              message="Your bank declined the payment: there were not enough funds on the card.", retryable=True,
              final=False, next_attempt_at=datetime.now(UTC) + timedelta(days=1), stripe_payment_intent_id="pi_2")
    f.payment("PaymentAuthorizationRequired", card3, pay["card3"], attempt=1, amount=card3["total"], currency="EUR",
              stripe_payment_intent_id="pi_3", authorization_url="https://billing.example/pay/authorize/pi_3")
    f.payment("PaymentPending", cash, pay["cash"], amount=cash["total"], currency="EUR", method="cash",
              order_number=cash["number"])
    orders.wait(lambda: orders.scalar("SELECT count(*) FROM order_payments WHERE shop_id = %s", [shop.shop_id]) == 4,
                "the payments")
    orders.settle()

    assert orders.api("GET", path(card)).json["payment"]["state"] == "paid"
    failed = orders.api("GET", path(card2)).json["payment"]
    assert failed["state"] == "failed" and "not enough funds" in failed["message"] and failed["final"] is False
    auth = orders.api("GET", path(card3)).json["payment"]
    assert auth["state"] == "authorization_required"
    assert auth["authorization_url"] == "https://billing.example/pay/authorize/pi_3"
    assert orders.api("GET", path(cash)).json["payment"]["state"] == "pending"

    summary = orders.api("GET", f"/shops/{shop.shop_id}/order-cycles/{cycle['order_cycle_id']}/confirmation-summary")
    assert summary.status_code == 200
    counts = summary.json["orders"]
    assert (counts["confirmed"], counts["paid"], counts["failed"], counts["authorization_required"],
            counts["cash_pending"], counts["no_payment_needed"], counts["cancelled"]) == (5, 1, 1, 1, 1, 1, 1)
    assert sorted(i["kind"] for i in summary.json["issues"]) == ["authorization_required", "failed_payment"]

    f.payment("PaymentMarkedPaid", cash, pay["cash"], amount=cash["total"], note="paid at pickup")
    f.payment("PaymentRefunded", card, pay["card"], refund_id=str(uuid.uuid4()), amount=100, total_refunded=100,
              currency="EUR", stripe_refund_id="re_1")
    orders.wait(lambda: orders.api("GET", path(card)).json["payment"]["state"] == "partially_refunded", "the refund")
    assert orders.api("GET", path(cash)).json["payment"]["state"] == "paid"
    history = orders.api("GET", f"{path(card)}/history").json["items"]
    assert [h["event_type"] for h in history] == ["OrderPlaced", "OrderConfirmed", "PaymentRequested",
                                                  "PaymentPending", "PaymentSucceeded", "ReceiptIssued",
                                                  "PaymentRefunded"]
