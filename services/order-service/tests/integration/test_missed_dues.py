"""Dues the scheduler did not place because it processed them after their cycle closed (OrderDueMissed): listed
once, with why, in the shop's placement summary email and in the cycle's placement summary in the API, whatever
the order they arrive in and however often (real Kafka, PostgreSQL and SMTP sink)."""

from datetime import UTC, datetime, timedelta

import pytest
from order_harness import uid

pytestmark = pytest.mark.integration


def _missed(f, shop, cycle, sub_id, customer_id, *, due_reason="cycle_opened",
            reason="open_processed_after_close", due_at=None):
    return f.send("OrderDueMissed", f"{sub_id}:{cycle['order_cycle_id']}", {
        "subscription_id": sub_id, "order_cycle_id": cycle["order_cycle_id"], "shop_id": shop.shop_id,
        "customer_id": customer_id, "schedule_id": uid(), "opens_at": cycle["opens_at"],
        "closes_at": cycle["closes_at"], "due_at": due_at or cycle["opens_at"], "due_reason": due_reason,
        "reason": reason, "late_placement": "while_open", "lateness_seconds": 7200.0},
        shop_id=shop.shop_id, producer="scheduler-service")


def _summary(orders, shop, cycle):
    resp = orders.api("GET", f"/shops/{shop.shop_id}/order-cycles/{cycle['order_cycle_id']}/placement-summary")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.get_json()


def test_dues_missed_at_the_open_are_listed_once_in_the_opening_summary_though_nothing_was_placed(orders):
    f = orders.feed
    shop = f.shop(locale="fr")
    now = datetime.now(UTC).replace(microsecond=0)
    cycle = f.cycle(shop, opens_at=now - timedelta(days=2), closes_at=now - timedelta(days=1), name="Semaine 9")
    people = []
    for name in ("Alice", "Bruno"):
        customer, email = f.customer(shop, first_name=name, locale="fr")
        people.append((f.subscription(shop, customer, {"oeufs": 1}, cash=True), customer, email))
    # the open arrives before its misses (they travel on other partitions), then the close
    opened = f.boundary("OrderCycleOpened", cycle, due_count=0, missed_count=2)
    closed = f.boundary("OrderCycleClosed", cycle)
    missed = [_missed(f, shop, cycle, sub, customer) for sub, customer, _ in people]

    [mail] = orders.wait_mails(shop.contact_email, 1, "(placement summary)")
    for env in [opened, closed, *missed]:
        f.resend(env)  # every trigger redelivered: no second email, nothing counted twice
    orders.settle()
    orders.wait(lambda: orders.scalar("SELECT count(*) FROM notifications WHERE sent_at IS NULL AND failed_at IS NULL")
                == 0, "every email to be sent")
    assert len(orders.mails(shop.contact_email)) == 1
    for sub, _, email in people:
        assert sub in mail["text"] and email in mail["text"] and sub in mail["html"]
    assert "non passées, traitées après la clôture du cycle : 2" in mail["text"]
    assert "le cycle de vente s'est clos avant que son ouverture soit traitée" in mail["text"]
    assert orders.orders(shop) == []

    summary = _summary(orders, shop, cycle)
    assert (summary["due_count"], summary["missed_count"], summary["dues"]["missed"]) == (0, 2, 2)
    assert summary["dues"]["recorded"] == 0
    assert sorted((m["subscription_id"], m["customer_email"], m["reason"], m["due_reason"])
                  for m in summary["missed"]) == sorted(
        (sub, email, "open_processed_after_close", "cycle_opened") for sub, _, email in people)


def test_a_due_missed_because_a_change_was_seen_after_the_close_is_reported_in_the_next_summary(orders):
    f = orders.feed
    shop = f.shop()
    f.variant(shop, "eggs", "Eggs", price=300, on_hand=None)
    now = datetime.now(UTC).replace(microsecond=0)
    cycle = f.cycle(shop, opens_at=now - timedelta(days=2), closes_at=now - timedelta(hours=1))
    customer, _ = f.customer(shop, first_name="Early")
    sub = f.subscription(shop, customer, {"eggs": 1}, cash=True)
    f.due(shop, cycle, sub, customer)
    f.boundary("OrderCycleOpened", cycle, due_count=1)
    orders.wait_mails(shop.contact_email, 1, "(the opening summary)")
    f.boundary("OrderCycleClosed", cycle)

    late_customer, late_email = f.customer(shop, first_name="Latecomer")
    late_sub = f.subscription(shop, late_customer, {"eggs": 1}, cash=True)
    _missed(f, shop, cycle, late_sub, late_customer, due_reason="subscription_created",
            reason="change_processed_after_close", due_at=now - timedelta(hours=3))

    [later] = orders.wait(lambda: [m for m in orders.mails(shop.contact_email) if late_sub in (m["text"] or "")],
                          "a placement summary listing the missed due")
    assert "recently placed" in later["subject"]
    assert late_email in later["text"]
    assert "made while the order cycle was open but processed only after the cycle closed" in later["text"]
    assert "not placed, processed after the order cycle closed: 1" in later["text"]
    [row] = _summary(orders, shop, cycle)["missed"]
    assert (row["subscription_id"], row["reason"], row["due_reason"]) == (
        late_sub, "change_processed_after_close", "subscription_created")
