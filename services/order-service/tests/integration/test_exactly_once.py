"""One order per OrderDue and one confirmation per order, even when the consumer dies like kill -9:
after its PostgreSQL commit and before its Kafka offset commit (the fault hook), or at any moment."""

import signal
import time

import pytest

pytestmark = pytest.mark.integration


def _shop_with_dues(s, n):
    f = s.feed
    shop = f.shop()
    f.variant(shop, "eggs", "Eggs", price=320, on_hand=5 * n)
    cycle = f.cycle(shop)
    subs = []
    for _ in range(n):
        customer, _ = f.customer(shop)
        subs.append((f.subscription(shop, customer, {"eggs": 2}), customer))
    half = n // 2
    for sub, customer in subs[:half]:
        f.due(shop, cycle, sub, customer)
    f.boundary("OrderCycleOpened", cycle, due_count=n)
    for sub, customer in subs[half:]:
        f.due(shop, cycle, sub, customer)
    return shop, cycle, subs


def _assert_once(s, shop, n, *, confirmed=False):
    s.settle()
    placed = s.orders(shop)
    assert len(placed) == n
    assert len({o["subscription_id"] for o in placed}) == n
    expected = ["OrderPlaced", "OrderConfirmed", "PaymentRequested"] if confirmed else ["OrderPlaced"]
    assert all(s.events(o["order_id"]) == expected for o in placed)
    assert s.on_hand(shop, "eggs") == 5 * n - 2 * n  # the stock was taken once per order
    assert s.scalar("SELECT count(*) FROM notifications WHERE shop_id = %s AND kind = 'order_placed'",
                    [shop.shop_id]) == n
    assert s.scalar("SELECT count(*) FROM notifications WHERE shop_id = %s AND kind = 'placement_summary'",
                    [shop.shop_id]) == 1


def test_a_consumer_killed_between_its_commit_and_its_offset_commit_places_and_confirms_each_order_once(
        fresh_orders, tmp_path):
    s = fresh_orders
    shop, cycle, _ = _shop_with_dues(s, 40)
    s.start("relay")
    crashed_once = tmp_path / "placement-crash"
    first = s.start("consumer", CONSUMER_FAULT="crash_after_db_commit", CONSUMER_FAULT_ONCE_FILE=crashed_once)
    assert first.wait(timeout=90) == 137, s.log("consumer")
    assert s.scalar("SELECT count(*) FROM inbox") > 0  # it had committed something before dying
    s.start("consumer", CONSUMER_FAULT="crash_after_db_commit", CONSUMER_FAULT_ONCE_FILE=crashed_once)
    s.wait_orders(shop, 40)
    _assert_once(s, shop, 40)

    s.stop("consumer")
    crashed_again = tmp_path / "close-crash"
    s.start("consumer", CONSUMER_FAULT="crash_after_db_commit", CONSUMER_FAULT_ONCE_FILE=crashed_again)
    s.feed.boundary("OrderCycleClosed", cycle)
    assert s.procs["consumer"].wait(timeout=90) == 137, s.log("consumer")
    assert crashed_again.exists()
    s.start("consumer")
    s.wait_orders(shop, 40, status="confirmed")
    _assert_once(s, shop, 40, confirmed=True)
    assert s.scalar("SELECT count(*) FROM notifications WHERE shop_id = %s AND kind = 'confirmation_summary'",
                    [shop.shop_id]) <= 1


def test_a_consumer_killed_at_any_moment_of_an_opening_batch_still_places_one_order_per_due(fresh_orders):
    s = fresh_orders
    shop, _, _ = _shop_with_dues(s, 150)
    s.start("relay")
    for delay in (0.5, 1.5, 3.0):  # a few kill -9 at different points, then one that is left to finish
        consumer = s.start("consumer")
        time.sleep(delay + 2.0)  # process start-up, group join, then part of the work
        consumer.send_signal(signal.SIGKILL)
        consumer.wait(timeout=30)
        s.procs.pop("consumer")
    s.start("consumer")
    s.wait_orders(shop, 150, timeout=120)
    _assert_once(s, shop, 150)
    published = s.wait_published(lambda evs: sum(e.event_type == "OrderPlaced" for e in evs) >= 150,
                                 "the orders published")
    assert len({e.aggregate_id for e in published if e.event_type == "OrderPlaced"}) == 150
