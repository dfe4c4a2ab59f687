"""An OrderDue applied before order-service has heard of its subscription's products from catalog.events (the
scheduler's and the catalog's topics have no order between them) waits for them, then places a full order; a product
the catalog never tells of is waited for a bounded time only (CATALOG_WAIT_S), then placed as before, at quantity 0
(real Kafka and PostgreSQL)."""

import time
from datetime import UTC, datetime

import pytest
from order_harness import OrderStack

pytestmark = pytest.mark.integration

WAIT_S = 10


@pytest.fixture(scope="module")
def orders(infra, tmp_path_factory):
    stack = OrderStack(infra, tmp_path_factory.mktemp("orders"), CATALOG_WAIT_S=WAIT_S, BATCH_WAIT_S=WAIT_S)
    stack.start_all()
    try:
        yield stack
    finally:
        stack.close()


def _quantities(orders, order):
    return [(line["variant_id"], line["unit_price"], line["quantity"]) for line in orders.lines(order["order_id"])]


def _subscriptions_known(orders, subs):
    """What the dues need besides the catalog is projected (so that they do not wait for that instead)."""
    orders.wait_projected("SELECT count(*) = 3 FROM shop_methods m JOIN subscriptions s USING (shop_id) "
                          "WHERE s.subscription_id = %s", [subs[0]], "the shop's methods")
    orders.wait_projected("SELECT count(*) = %s FROM subscriptions WHERE subscription_id = ANY(%s)",
                          [len(subs), subs], "the subscriptions")


def _held_back(orders, shop):
    """A few seconds for the consumer to meet the dues: today it would have placed them (empty) at once."""
    time.sleep(3)
    assert orders.orders(shop) == []


def test_a_due_applied_before_the_catalog_tells_of_its_products_waits_for_them_and_places_a_full_order(orders):
    f = orders.feed
    shop = f.shop()
    customer, _ = f.customer(shop)
    sub = f.subscription(shop, customer, {"eggs": 2, "honey": 1})
    cycle = f.cycle(shop, closes_at=datetime(2099, 1, 1, tzinfo=UTC))
    _subscriptions_known(orders, [sub])
    f.due(shop, cycle, sub, customer, reason="subscription_created")
    _held_back(orders, shop)

    f.variant(shop, "eggs", "Eggs", price=320, on_hand=10)
    f.variant(shop, "honey", "Honey", price=850, on_hand=None)
    order = orders.wait(lambda: orders.order_of(sub), "the order")
    assert order["status"] == "placed" and order["item_total"] == 2 * 320 + 850
    assert _quantities(orders, order) == [("eggs", 320, 2), ("honey", 850, 1)]
    assert orders.on_hand(shop, "eggs") == 8
    assert orders.scalar("SELECT count(*) FROM inbox WHERE outcome = 'dead_lettered'") == 0


def test_an_opening_batch_applied_before_the_catalog_waits_for_it_and_places_every_order_in_full(orders):
    f = orders.feed
    shop = f.shop()
    cycle = f.cycle(shop)
    subs = []
    for n in range(3):
        customer, _ = f.customer(shop)
        subs.append(f.subscription(shop, customer, {"eggs": n + 1}))
    _subscriptions_known(orders, subs)
    for sub in subs:
        f.due(shop, cycle, sub, orders.scalar("SELECT customer_id FROM subscriptions WHERE subscription_id = %s",
                                              [sub]))
    f.boundary("OrderCycleOpened", cycle, due_count=3)
    _held_back(orders, shop)

    f.variant(shop, "eggs", "Eggs", price=320, on_hand=5)
    placed = orders.wait_orders(shop, 3)
    assert all(o["status"] == "placed" for o in placed)
    assert sorted(orders.order_of(s)["item_total"] for s in subs) == [320, 640, 640]  # first come: 1 + 2 + 2 of 5
    assert orders.on_hand(shop, "eggs") == 0


def test_a_product_the_catalog_never_tells_of_holds_the_order_back_only_a_bounded_time(orders):
    f = orders.feed
    shop = f.shop()
    f.variant(shop, "eggs", "Eggs", price=320, on_hand=None)
    customer, _ = f.customer(shop)
    sub = f.subscription(shop, customer, {"eggs": 2, "ghost": 1})
    cycle = f.cycle(shop, closes_at=datetime(2099, 1, 1, tzinfo=UTC))
    started = time.monotonic()
    f.due(shop, cycle, sub, customer, reason="subscription_created")
    order = orders.wait(lambda: orders.order_of(sub), "the order placed after the wait", timeout=WAIT_S + 60)
    assert time.monotonic() - started >= WAIT_S - 1
    assert order["status"] == "placed" and _quantities(orders, order) == [("eggs", 320, 2), ("ghost", 0, 0)]
    assert orders.scalar("SELECT count(*) FROM inbox WHERE outcome = 'dead_lettered'") == 0
