"""Placement on OrderDue: one order per due whatever is redelivered or replayed, stock capped in the shop's
allocation order, empty orders, mid-cycle and late dues (real Kafka and PostgreSQL)."""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

pytestmark = pytest.mark.integration


def test_an_opening_batch_is_placed_once_whatever_order_and_however_often_its_events_arrive(orders):
    f = orders.feed
    shop = f.shop()
    f.variant(shop, "eggs", "Eggs", price=320, on_hand=None)
    cycle = f.cycle(shop)
    subs = [(f.subscription(shop, cust, {"eggs": 2}), cust) for cust, _ in (f.customer(shop) for _ in range(5))]
    dues = [f.due(shop, cycle, s, c) for s, c in subs[:3]]
    opened = f.boundary("OrderCycleOpened", cycle, due_count=5)
    dues += [f.due(shop, cycle, s, c) for s, c in subs[3:]]
    for env in [*dues, opened]:  # every event delivered twice
        f.resend(env)
    # and a second OrderDue for the same occurrence (a replayed scheduler, a new event id)
    f.due(shop, cycle, subs[0][0], subs[0][1])

    placed = orders.wait_orders(shop, 5)
    orders.settle()
    assert len(orders.orders(shop)) == 5
    assert {o["subscription_id"] for o in placed} == {s for s, _ in subs}
    assert all(orders.events(o["order_id"]) == ["OrderPlaced"] for o in placed)
    assert {o["status"] for o in placed} == {"placed"}
    assert all(o["total"] == 640 + 500 + round((640 + 500) * 0.015) for o in placed)

    events = orders.wait_published(lambda evs: sum(e.event_type == "OrderPlaced" and e.shop_id == shop.shop_id
                                                   for e in evs) >= 5, "the OrderPlaced events")
    mine = [e for e in events if e.event_type == "OrderPlaced" and e.shop_id == shop.shop_id]
    assert sorted(e.payload["subscription_id"] for e in mine) == sorted(s for s, _ in subs)
    assert all(e.aggregate_version == 1 and not e.payload["late"] for e in mine)


def _competing(orders, policy, on_hand, wanted, created_days_ago):
    """Subscriptions of one shop competing for eggs; published newest first, so only created_at can rank them."""
    f = orders.feed
    shop = f.shop(policy=policy)
    f.variant(shop, "eggs", "Eggs", price=320, on_hand=on_hand)
    f.variant(shop, "jam", "Jam", price=450, on_hand=None)
    cycle = f.cycle(shop)
    now = datetime.now(UTC)
    subs = {}
    for quantity, days in sorted(zip(wanted, created_days_ago, strict=True), key=lambda x: x[1]):
        customer, _ = f.customer(shop)
        sub = f.subscription(shop, customer, {"eggs": quantity, "jam": 1}, created_at=now - timedelta(days=days))
        subs[sub] = (customer, days)
    for sub, (customer, _) in subs.items():
        f.due(shop, cycle, sub, customer)
    f.boundary("OrderCycleOpened", cycle, due_count=len(subs))
    placed = orders.wait_orders(shop, len(subs))
    eggs = {}
    for order in placed:
        line = next(ln for ln in orders.lines(order["order_id"]) if ln["variant_id"] == "eggs")
        eggs[subs[order["subscription_id"]][1]] = (line["requested_quantity"], line["quantity"])
    return shop, cycle, placed, eggs


def test_first_come_serves_the_subscriptions_created_first_when_stock_runs_short(orders):
    shop, cycle, placed, eggs = _competing(orders, "first_come", on_hand=7, wanted=[3, 3, 3, 3],
                                           created_days_ago=[40, 30, 20, 10])
    # oldest first: 3, 3, then the 1 left, then none; what was asked is kept beside what was given
    assert [eggs[d] for d in (40, 30, 20, 10)] == [(3, 3), (3, 3), (3, 1), (3, 0)]
    assert orders.on_hand(shop, "eggs") == 0
    assert all(o["status"] == "placed" and o["allocation_policy"] == "first_come" for o in placed)  # jam for all

    events = orders.wait_published(lambda evs: sum(e.event_type == "OrderPlaced" and e.shop_id == shop.shop_id
                                                   for e in evs) == 4, "the OrderPlaced events")
    deltas = sorted(sum(d["delta"] for d in e.payload["stock_delta"] if d["variant_id"] == "eggs")
                    for e in events if e.event_type == "OrderPlaced" and e.shop_id == shop.shop_id)
    assert deltas == [0, 1, 3, 3]

    summary = orders.api("GET", f"/shops/{shop.shop_id}/order-cycles/{cycle['order_cycle_id']}/placement-summary")
    assert summary.status_code == 200, summary.json
    assert summary.json["orders"]["capped"] == 2 and summary.json["orders"]["placed"] == 4
    assert sorted(i["lines"][0]["quantity"] for i in summary.json["issues"]) == [0, 1]


def test_an_opening_batch_placed_in_slices_serves_exactly_the_first_come_order(orders):
    """The batch is read in first-come order by the database and placed two dues at a time (the harness's
    slices): unranked subscriptions first by creation time, then ranked ones by rank, ties by id; each gets its
    eggs before anyone after it in that order."""
    f = orders.feed
    shop = f.shop(policy="first_come")
    f.variant(shop, "eggs", "Eggs", price=320, on_hand=9)
    cycle = f.cycle(shop)
    now = datetime.now(UTC)
    same = now - timedelta(days=3)
    # (id, created days ago, rank) in the order they must be served; published in another order
    expected = [("u-old", 9, None), ("u-same-a", 3, None), ("u-same-b", 3, None), ("r-1", 1, 1),
                ("r-2-a", 8, 2), ("r-2-b", 8, 2), ("r-7", 20, 7), ("r-30", 0, 30)]
    subs = {}
    for name, days, rank in reversed(expected):
        customer, _ = f.customer(shop)
        created = same if days == 3 else now - timedelta(days=days)
        sub = f.subscription(shop, customer, {"eggs": 2}, created_at=created, sequence=rank,
                             sub_id=f"{name}-{shop.shop_id}")
        subs[sub] = (name, customer)
    for sub, (_, customer) in subs.items():
        f.due(shop, cycle, sub, customer)
    f.boundary("OrderCycleOpened", cycle, due_count=len(subs))
    placed = orders.wait_orders(shop, len(subs))
    got = {subs[o["subscription_id"]][0]: orders.lines(o["order_id"])[0]["quantity"] for o in placed}
    assert [got[name] for name, _, _ in expected] == [2, 2, 2, 2, 1, 0, 0, 0]


def test_fair_share_splits_short_stock_in_proportion_to_demand_with_deterministic_rounding(orders):
    _, _, _, eggs = _competing(orders, "fair_share", on_hand=6, wanted=[2, 4, 6], created_days_ago=[30, 20, 10])
    assert [eggs[d] for d in (30, 20, 10)] == [(2, 1), (4, 2), (6, 3)]
    # 10 eggs for 3 x 4: 3 each, the unit left by rounding goes to the subscription created first
    _, _, _, eggs = _competing(orders, "fair_share", on_hand=10, wanted=[4, 4, 4], created_days_ago=[5, 15, 25])
    assert [eggs[d][1] for d in (25, 15, 5)] == [4, 3, 3]


def test_an_order_with_nothing_available_is_recorded_empty_and_nothing_is_charged(orders):
    f = orders.feed
    shop = f.shop()
    f.variant(shop, "eggs", "Eggs", price=320, on_hand=0)
    f.variant(shop, "honey", "Honey", price=900, on_hand=50, available=False)
    cycle = f.cycle(shop)
    customer, _ = f.customer(shop)
    sub = f.subscription(shop, customer, {"eggs": 2, "honey": 1})
    f.due(shop, cycle, sub, customer)
    f.boundary("OrderCycleOpened", cycle, due_count=1)
    [order] = orders.wait_orders(shop, 1)
    assert order["status"] == "empty" and order["total"] == 0
    assert [(ln["requested_quantity"], ln["quantity"]) for ln in orders.lines(order["order_id"])] == [(2, 0), (1, 0)]

    f.boundary("OrderCycleClosed", cycle)
    orders.wait(lambda: orders.scalar("SELECT confirmed_at FROM cycle_batches WHERE order_cycle_id = %s",
                                      [cycle["order_cycle_id"]]), "the close to be handled")
    assert orders.events(order["order_id"]) == ["OrderPlaced"]  # never confirmed, never charged


def test_a_mid_cycle_due_is_placed_at_once_and_late_dues_are_placed_and_confirmed_at_once(orders):
    f = orders.feed
    shop = f.shop()
    f.variant(shop, "eggs", "Eggs", price=320, on_hand=None)
    cycle = f.cycle(shop)
    mid_customer, _ = f.customer(shop)
    mid = f.subscription(shop, mid_customer, {"eggs": 1})
    f.due(shop, cycle, mid, mid_customer, reason="subscription_created")  # no OrderCycleOpened needed
    orders.wait(lambda: orders.order_of(mid), "the mid-cycle order")
    assert orders.order_of(mid)["status"] == "placed"

    closed_cycle = f.cycle(shop, opens_at=datetime.now(UTC) - timedelta(days=3),
                           closes_at=datetime.now(UTC) - timedelta(days=1))
    late_customer, _ = f.customer(shop)
    late = f.subscription(shop, late_customer, {"eggs": 2})
    f.due(shop, closed_cycle, late, late_customer, reason="subscription_created", late=True)
    orders.wait(lambda: (orders.order_of(late) or {}).get("status") == "confirmed", "the late order confirmed")
    order = orders.order_of(late)
    assert order["late"] and order["payment_required"]
    assert orders.events(order["order_id"]) == ["OrderPlaced", "OrderConfirmed", "PaymentRequested"]

    # a due that arrives after its cycle's close was handled (keys spread dues over partitions)
    f.boundary("OrderCycleClosed", cycle)
    orders.wait(lambda: orders.order_of(mid)["status"] == "confirmed", "the mid-cycle order confirmed at close")
    after_customer, _ = f.customer(shop)
    after = f.subscription(shop, after_customer, {"eggs": 1})
    f.due(shop, cycle, after, after_customer)
    orders.wait(lambda: (orders.order_of(after) or {}).get("status") == "confirmed", "the due after close")
    assert orders.order_of(after)["late"]


def test_a_due_that_arrives_before_its_subscription_waits_for_it(orders):
    f = orders.feed
    shop = f.shop()
    f.variant(shop, "eggs", "Eggs", price=320, on_hand=None)
    cycle = f.cycle(shop)
    customer, _ = f.customer(shop)
    early_sub = "sub-not-yet-" + customer
    f.due(shop, cycle, early_sub, customer)
    f.boundary("OrderCycleOpened", cycle, due_count=1)
    # whichever of the due and the open comes second completes the batch, which cannot be placed yet: that
    # event is retried (not dead-lettered) until the subscription is known
    orders.wait(lambda: orders.scalar("SELECT count(*) FROM cycle_batches WHERE order_cycle_id = %s",
                                      [cycle["order_cycle_id"]]), "the first of the two to be recorded")
    time.sleep(2)
    assert orders.orders(shop) == []
    assert orders.scalar("SELECT placed_at FROM cycle_batches WHERE order_cycle_id = %s",
                         [cycle["order_cycle_id"]]) is None
    # the subscription is published after its due (another partition lagging): the batch waits, then places it
    f.send("SubscriptionCreated", early_sub, {
        "subscription_id": early_sub, "shop_id": shop.shop_id, "customer_id": customer, "schedule_id": "s",
        "currency": "EUR", "actor": None, "reason": None,
        "terms": {"items": [{"variant_id": "eggs", "quantity": 1, "price_estimate": None}],
                  "shipping_method_id": shop.ship_id, "payment_method_id": shop.card_id, "payment_kind": "stripe",
                  "bill_address": _address(), "ship_address": _address(), "begins_at": datetime.now(UTC),
                  "ends_at": None}}, shop_id=shop.shop_id)
    [order] = orders.wait_orders(shop, 1)
    assert order["subscription_id"] == early_sub


def _address():
    from order_harness import ADDRESS

    return ADDRESS


def test_dues_whose_subscription_is_late_wait_for_it_without_holding_up_the_batch_or_their_partition(orders):
    f = orders.feed
    shop = f.shop()
    f.variant(shop, "eggs", "Eggs", price=320, on_hand=None)
    cycle = f.cycle(shop)
    known_customer, _ = f.customer(shop)
    known = f.subscription(shop, known_customer, {"eggs": 1})
    late_customer, _ = f.customer(shop)
    missing = "sub-late-" + late_customer
    f.due(shop, cycle, known, known_customer)
    f.due(shop, cycle, missing, late_customer)
    f.boundary("OrderCycleOpened", cycle, due_count=2)
    mid_customer, _ = f.customer(shop)
    mid_missing = "sub-mid-" + mid_customer
    f.due(shop, cycle, mid_missing, mid_customer, reason="subscription_created")
    # the batch waits a little (BATCH_WAIT_S) for the missing subscription, then places what it can
    [order] = orders.wait_orders(shop, 1)
    assert order["subscription_id"] == known
    orders.settle()  # nothing is stuck: every partition moved on
    assert orders.scalar("SELECT count(*) FROM order_dues WHERE shop_id = %s AND state = 'waiting'",
                         [shop.shop_id]) == 2
    for sub, customer in ((missing, late_customer), (mid_missing, mid_customer)):
        f.send("SubscriptionCreated", sub, {
            "subscription_id": sub, "shop_id": shop.shop_id, "customer_id": customer, "schedule_id": "s",
            "currency": "EUR", "actor": None, "reason": None,
            "terms": {"items": [{"variant_id": "eggs", "quantity": 2, "price_estimate": None}],
                      "shipping_method_id": shop.ship_id, "payment_method_id": shop.card_id,
                      "payment_kind": "stripe", "bill_address": _address(), "ship_address": _address(),
                      "begins_at": datetime.now(UTC), "ends_at": None}}, shop_id=shop.shop_id)
    orders.wait_orders(shop, 3)
    assert {o["subscription_id"] for o in orders.orders(shop)} == {known, missing, mid_missing}


def _eggs_shop(orders):
    """A shop selling eggs (stock not counted) with an open cycle, and one of its customers."""
    f = orders.feed
    shop = f.shop()
    f.variant(shop, "eggs", "Eggs", price=320, on_hand=None)
    cycle = f.cycle(shop)
    customer, _ = f.customer(shop)
    return shop, cycle, customer


@contextmanager
def _kept_back(feed) -> Iterator[list]:
    """The events the feed builds in the block, kept (in order) instead of published: applied by hand."""
    unsent: list = []
    feed.resend = unsent.append
    try:
        yield unsent
    finally:
        del feed.resend


def _applied_at_once(orders, first: str, due, other_event) -> None:
    """Two members of the consumer group, each in its own transaction, apply ``due`` and ``other_event`` at the same
    moment: ``first`` ("due" or the other) is applied, then the other is applied in a second connection while the
    first is not committed yet (it may wait for the first's commit on a lock), then both commit."""
    import threading

    from order_service.config import ReactionSettings
    from order_service.entrypoints.consumer import bulk, handler

    cfg = ReactionSettings.from_env()
    apply_due = lambda conn: bulk(cfg)["OrderDue"](conn, [due])  # noqa: E731
    apply_other = lambda conn: handler(None, cfg)(conn, other_event)  # noqa: E731
    earlier, later = (apply_due, apply_other) if first == "due" else (apply_other, apply_due)
    with psycopg.connect(orders.dsn) as one, psycopg.connect(orders.dsn) as other:
        earlier(one)  # applied, not committed yet

        def then() -> None:
            later(other)
            other.commit()

        thread = threading.Thread(target=then)
        thread.start()
        thread.join(1.0)  # the other member meanwhile: it waits for the first's commit on the lock
        one.commit()
        thread.join(30)
        assert not thread.is_alive()


@pytest.mark.parametrize("first", ["due", "subscription"])
def test_a_mid_cycle_due_and_its_subscription_applied_at_once_by_two_consumer_processes_end_in_one_order(
        orders, first):
    """Two members of the consumer group, each with its partitions, apply a mid-cycle OrderDue and the
    SubscriptionCreated it needs at the same moment (two transactions, neither seeing the other's): whichever
    commits first, the due is placed (without the locks of dues.lock_what_decides it waited for ever)."""
    from order_harness import uid

    f = orders.feed
    shop, cycle, customer = _eggs_shop(orders)
    orders.settle()
    sub_id = uid()
    with _kept_back(f) as unsent:
        f.subscription(shop, customer, {"eggs": 2}, sub_id=sub_id)
        f.due(shop, cycle, sub_id, customer, reason="subscription_created")
    created, due = unsent
    _applied_at_once(orders, first, due, created)
    order = orders.order_of(sub_id)
    assert order is not None and order["status"] == "placed"
    assert orders.scalar("SELECT state FROM order_dues WHERE subscription_id = %s", [sub_id]) == "placed"


@pytest.mark.parametrize("first", ["due", "unpause"])
def test_a_due_set_aside_and_the_unpause_applied_at_once_by_two_consumer_processes_end_in_one_order(orders, first):
    """Two members of the consumer group apply, at the same moment, an OrderDue of a paused subscription (set
    aside) and the SubscriptionUnpaused that takes such dues up: whichever commits first, the order is placed
    (without the locks of dues.lock_what_decides the due stayed set aside for an active subscription)."""
    f = orders.feed
    shop, cycle, customer = _eggs_shop(orders)
    sub_id = f.subscription(shop, customer, {"eggs": 1})
    f.subscription_event("SubscriptionPaused", shop, sub_id, open_orders="none", open_order_cycle_ids=[])
    orders.wait(lambda: orders.scalar("SELECT state FROM subscriptions WHERE subscription_id = %s", [sub_id])
                == "paused", "the pause")
    with _kept_back(f) as unsent:
        f.due(shop, cycle, sub_id, customer, reason="subscription_created")
        f.subscription_event("SubscriptionUnpaused", shop, sub_id)
    due, unpaused = unsent
    _applied_at_once(orders, first, due, unpaused)
    order = orders.order_of(sub_id)
    assert order is not None and order["status"] == "placed"
    assert orders.scalar("SELECT state FROM order_dues WHERE subscription_id = %s", [sub_id]) == "placed"


_CHANGES = {  # a change of the subscription that acts on its orders, and what the due must end as
    "paused, open orders cancelled": ("SubscriptionPaused", lambda cycle: {
        "open_orders": "cancel", "open_order_cycle_ids": [cycle["order_cycle_id"]]}),
    "cancelled, open orders cancelled": ("SubscriptionCancelled", lambda cycle: {
        "open_orders": "cancel", "open_order_cycle_ids": [cycle["order_cycle_id"]]}),
    "occurrence skipped": ("OccurrenceSkipped", lambda cycle: {"order_cycle_id": cycle["order_cycle_id"]}),
    "items changed": ("SubscriptionUpdated", lambda cycle: {
        "changes": {"items": [{"variant_id": "eggs", "quantity": 3, "price_estimate": None}]},
        "previous": {"items": [{"variant_id": "eggs", "quantity": 1, "price_estimate": None}]}}),
}


@pytest.mark.parametrize("first", ["due", "change"])
@pytest.mark.parametrize("change", sorted(_CHANGES))
def test_a_due_and_a_change_of_its_subscription_applied_at_once_by_two_consumer_processes_end_as_if_one_by_one(
        orders, change, first):
    """Two members of the consumer group apply, at the same moment, an OrderDue and a change of its subscription
    that acts on the subscription's orders (a pause or a cancellation that cancels them, a skipped occurrence,
    new items): whichever commits first, the outcome is one of the two orders of arrival. Without the placement
    holding its subscriptions' locks (dues.lock_what_decides), the change's reaction found no order yet while the
    placement read the subscription as it was: an order stayed placed for a paused subscription, or with the old
    items."""
    f = orders.feed
    shop, cycle, customer = _eggs_shop(orders)
    sub_id = f.subscription(shop, customer, {"eggs": 1})
    orders.settle()
    event_type, payload = _CHANGES[change]
    with _kept_back(f) as unsent:
        f.due(shop, cycle, sub_id, customer, reason="subscription_created")
        f.subscription_event(event_type, shop, sub_id, **payload(cycle))
    due, changed = unsent
    _applied_at_once(orders, first, due, changed)
    order = orders.order_of(sub_id)
    if event_type == "SubscriptionUpdated":
        assert order is not None and order["status"] == "placed"
        assert [(ln["variant_id"], ln["quantity"]) for ln in orders.lines(order["order_id"])] == [("eggs", 3)]
    else:  # set aside, or placed then cancelled
        assert order is None or order["status"] == "cancelled", order
