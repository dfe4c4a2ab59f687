"""Occurrences over HTTP: one per cycle closing within [begins_at, ends_at], states that follow scheduler.events,
orders.events and billing.events, skip and resume until the cycle closes."""

from datetime import UTC, datetime

import pytest

pytestmark = pytest.mark.integration

OPEN_FIRST = datetime(2026, 3, 18, 12, tzinfo=UTC)  # the first cycle (17-20 March) is open
AFTER_FIRST = datetime(2026, 3, 21, 12, tzinfo=UTC)
TOTALS = {"item_total": 3140, "shipping_fee": 500, "payment_fee": 85, "total": 3725}


def occurrences_url(shop, sub, cycle=None, action=None):
    return (f"/shops/{shop.id}/subscriptions/{sub['id']}/occurrences" + (f"/{cycle['id']}" if cycle else "")
            + (f"/{action}" if action else ""))


def create(shop, kit, **kw):
    return kit.ok(shop.manager.post(f"/shops/{shop.id}/subscriptions", kit.subscription_body(shop, **kw)), 201)


def states(shop, kit, sub, api=None):
    return [(o["order_cycle_id"], o["state"]) for o in kit.ok((api or shop.manager).get(occurrences_url(shop, sub)))
            ["items"]]


class Orders:
    """What order-service and billing-service publish about one occurrence, applied with our projector."""

    def __init__(self, kit, app, shop, sub, cycle):
        self.kit, self.dsn, self.shop, self.sub, self.cycle = kit, app.dsn, shop, sub, cycle
        self.order_id = f"ord-{cycle['id'][:8]}"
        self.payment_id = f"pay-{cycle['id'][:8]}"
        self.version = 0
        self.payment_version = 0

    def ids(self):
        return {"order_id": self.order_id, "shop_id": self.shop.id, "subscription_id": self.sub["id"],
                "order_cycle_id": self.cycle["id"], "customer_id": self.sub["customer_id"]}

    def order(self, event_type, **payload):
        self.version += 1
        self.kit.project(self.dsn, event_type, self.order_id, self.version, {**self.ids(), **payload})

    def placed(self, status="placed"):
        address = self.kit.ADDRESS | {"address2": None, "state": None, "phone": None}
        self.order("OrderPlaced", number="R7", status=status, currency="EUR", lines=[], totals=TOTALS,
                   shipping_method_id=self.shop.ship["id"], payment_method_id=self.shop.card["id"],
                   payment_kind="stripe", bill_address=address, ship_address=address,
                   opens_at=self.cycle["opens_at"], closes_at=self.cycle["closes_at"], late=False,
                   allocation_policy="first_come", stock_delta=[], actor=None, reason=None)

    def payment(self, event_type, **payload):
        self.payment_version += 1
        self.kit.project(self.dsn, event_type, self.payment_id, self.payment_version, {
            "payment_id": self.payment_id, "order_id": self.order_id, "shop_id": self.shop.id,
            "customer_id": self.sub["customer_id"], **payload})

    def due(self):
        c = self.cycle
        self.kit.project(self.dsn, "OrderDue", f"{self.sub['id']}:{c['id']}", 1, {
            "subscription_id": self.sub["id"], "order_cycle_id": c["id"], "shop_id": self.shop.id,
            "customer_id": self.sub["customer_id"], "schedule_id": self.sub["schedule_id"], "opens_at": c["opens_at"],
            "closes_at": c["closes_at"], "due_at": c["opens_at"], "reason": "cycle_opened", "lateness_seconds": 0.1,
            "late": False})


def test_one_occurrence_per_cycle_of_the_schedule_with_estimated_totals(shop, kit):
    sub = create(shop, kit)
    resp = shop.manager.get(occurrences_url(shop, sub))
    items = kit.ok(resp)["items"]
    assert resp.headers["ETag"] == '"1"'
    assert [o["order_cycle_id"] for o in items] == [c["id"] for c in shop.cycles]
    first = items[0]
    assert first["state"] == "pending" and first["total"] == 3725 and first["total_is_estimate"] is True
    assert first["can_skip"] is True and first["can_resume"] is False
    assert first["closes_at_local"] == "2026-03-20T17:00:00+01:00" and first["cycle_status"] == "upcoming"


def test_only_cycles_closing_within_begins_and_ends_inclusive_are_occurrences(shop, kit):
    c = shop.cycles
    sub = create(shop, kit, begins_at=c[1]["closes_at"], ends_at=c[3]["closes_at"])
    assert [o for o, _ in states(shop, kit, sub)] == [c[1]["id"], c[2]["id"], c[3]["id"]]
    inside = create(shop, kit, ends_at=c[2]["opens_at"])  # ends inside the third cycle: no order for it
    assert [o for o, _ in states(shop, kit, inside)] == [c[0]["id"], c[1]["id"]]


def test_the_state_follows_the_scheduler_the_order_and_its_payment(shop, kit, app, clock):
    sub = create(shop, kit)
    first = shop.cycles[0]
    events = Orders(kit, app, shop, sub, first)
    clock(OPEN_FIRST)
    events.due()
    assert states(shop, kit, sub)[0] == (first["id"], "due")
    events.placed()
    occ = kit.ok(shop.manager.get(occurrences_url(shop, sub, first)))
    assert occ["state"] == "placed" and occ["order"]["number"] == "R7" and occ["total_is_estimate"] is False
    events.order("OrderLineChanged", line_id="l1", variant_id="eggs-6", quantity=1, previous_quantity=2,
                 by="customer", totals={**TOTALS, "item_total": 2820, "total": 3400}, stock_delta=[])
    assert kit.ok(shop.manager.get(occurrences_url(shop, sub, first)))["total"] == 3400
    clock(AFTER_FIRST)
    events.order("OrderConfirmed", number="R7", currency="EUR", totals={**TOTALS, "total": 3400},
                 payment_kind="stripe", payment_required=True, confirmed_at=first["closes_at"])
    assert states(shop, kit, sub)[0][1] == "confirmed"
    events.payment("PaymentPending", amount=3400, currency="EUR", method="stripe")
    assert states(shop, kit, sub)[0][1] == "confirmed"
    events.payment("PaymentAuthorizationRequired", attempt=1, amount=3400, currency="EUR",
                   stripe_payment_intent_id="pi_1", authorization_url="https://pay.example/auth/1")
    occ = kit.ok(shop.manager.get(occurrences_url(shop, sub, first)))
    assert occ["state"] == "authorization_required"
    assert occ["payment"]["authorization_url"] == "https://pay.example/auth/1"
    events.payment("PaymentFailed", attempt=2, code="card_declined", message="Your card was declined.",
                   retryable=True, final=False)
    occ = kit.ok(shop.manager.get(occurrences_url(shop, sub, first)))
    assert occ["state"] == "payment_failed" and occ["payment"]["message"] == "Your card was declined."
    events.payment("PaymentSucceeded", attempt=3, amount=3400, currency="EUR")
    assert states(shop, kit, sub, shop.customer_api)[0][1] == "paid"
    assert states(shop, kit, sub)[1][1] == "pending"


def test_empty_and_cancelled_orders_and_closed_cycles_without_order(shop, kit, app, clock):
    sub = create(shop, kit)
    clock(OPEN_FIRST)
    Orders(kit, app, shop, sub, shop.cycles[0]).placed(status="empty")
    second = Orders(kit, app, shop, sub, shop.cycles[1])
    second.placed()
    second.order("OrderCancelled", by="customer", cause="customer", stock_delta=[])
    assert [s for _, s in states(shop, kit, sub)][:2] == ["empty", "cancelled"]
    other = create(shop, kit)
    clock(AFTER_FIRST)
    assert states(shop, kit, other)[0][1] == "not_placed"


def test_an_order_that_loses_a_withdrawn_product_shows_its_new_total_and_is_empty_once_nothing_is_left(
        shop, kit, app, clock):
    sub = create(shop, kit)
    clock(OPEN_FIRST)
    events = Orders(kit, app, shop, sub, shop.cycles[0])
    events.placed()
    withdrawn = {"variant_id": "eggs-6", "name": "Eggs", "unit_price": 320, "cause": "deleted",
                 "catalog_event_id": "c-1", "by": "system", "actor": None, "reason": None}
    events.order("OrderLineWithdrawn", **withdrawn, line_id="l2", quantity=2, status="placed",
                 totals={**TOTALS, "item_total": 2500, "total": 3085}, stock_delta=[])
    occ = kit.ok(shop.manager.get(occurrences_url(shop, sub, shop.cycles[0])))
    assert (occ["state"], occ["total"]) == ("placed", 3085)
    events.order("OrderLineWithdrawn", **withdrawn, line_id="l1", quantity=1, status="empty",
                 totals={"item_total": 0, "shipping_fee": 0, "payment_fee": 0, "total": 0}, stock_delta=[])
    occ = kit.ok(shop.manager.get(occurrences_url(shop, sub, shop.cycles[0])))
    assert (occ["state"], occ["total"]) == ("empty", 0)


def test_skip_and_resume_until_the_cycle_closes(shop, kit, clock):
    sub = create(shop, kit)
    third = shop.cycles[2]
    skipped = shop.manager.post(occurrences_url(shop, sub, third, "skip"), headers={"X-Change-Reason": "away"})
    body = kit.ok(skipped)
    assert body["state"] == "skipped" and body["can_resume"] is True and skipped.headers["ETag"] == '"2"'
    assert shop.manager.post(occurrences_url(shop, sub, third, "skip"), headers={"If-Match": '"1"'}) \
        .status_code == 412
    again = shop.manager.post(occurrences_url(shop, sub, third, "skip"))
    assert again.status_code == 200 and again.headers["ETag"] == '"2"'
    sub_view = kit.ok(shop.manager.get(f"/shops/{shop.id}/subscriptions/{sub['id']}"))
    assert sub_view["skipped_order_cycle_ids"] == [third["id"]] and sub_view["version"] == 2
    assert kit.ok(shop.manager.post(occurrences_url(shop, sub, third, "resume")))["state"] == "pending"
    kit.ok(shop.manager.post(occurrences_url(shop, sub, third, "skip")))
    clock(datetime.fromisoformat(third["closes_at"]))
    assert shop.manager.post(occurrences_url(shop, sub, third, "resume")).status_code == 409
    assert shop.manager.post(occurrences_url(shop, sub, shop.cycles[3], "skip")).status_code == 200
    history = kit.ok(shop.manager.get(f"/shops/{shop.id}/subscriptions/{sub['id']}/history"))["items"]
    assert [h["event_type"] for h in history][1:] == ["OccurrenceSkipped", "OccurrenceResumed", "OccurrenceSkipped",
                                                      "OccurrenceSkipped"]
    assert history[1]["reason"] == "away" and history[1]["data"] == {"order_cycle_id": third["id"],
                                                                      "holiday": None}  # a single skip


def test_a_cycle_that_is_not_an_occurrence_cannot_be_skipped(shop, other_shop, kit):
    sub = create(shop, kit, ends_at=shop.cycles[1]["closes_at"])
    assert shop.manager.post(occurrences_url(shop, sub, shop.cycles[4], "skip")).status_code == 404
    assert shop.manager.post(occurrences_url(shop, sub, other_shop.cycles[0], "skip")).status_code == 404
    assert shop.manager.get(occurrences_url(shop, sub, shop.cycles[4])).status_code == 404


def test_customers_skip_their_own_occurrences_only_when_the_shop_allows_it(shop, kit):
    sub = create(shop, kit)
    first = shop.cycles[0]
    assert kit.ok(shop.customer_api.post(occurrences_url(shop, sub, first, "skip")))["state"] == "skipped"
    kit.ok(shop.manager.patch(f"/shops/{shop.id}", {"allow_customer_skip": False}))
    refused = shop.customer_api.post(occurrences_url(shop, sub, first, "resume"))
    assert refused.status_code == 403
    assert kit.ok(shop.manager.post(occurrences_url(shop, sub, first, "resume")))["state"] == "pending"


def test_paused_and_cancelled_subscriptions_show_on_their_occurrences(shop, kit):
    sub = create(shop, kit)
    base = f"/shops/{shop.id}/subscriptions/{sub['id']}"
    kit.ok(shop.manager.post(f"{base}/pause", {}))
    assert {s for _, s in states(shop, kit, sub)} == {"paused"}
    kit.ok(shop.manager.post(f"{base}/cancel", {}))
    assert {s for _, s in states(shop, kit, sub)} == {"cancelled"}
    assert shop.manager.post(occurrences_url(shop, sub, shop.cycles[0], "skip")).status_code == 409


def test_a_placed_order_keeps_its_occurrence_when_the_cycle_leaves_the_schedule(shop, kit, app, clock):
    sub = create(shop, kit)
    clock(OPEN_FIRST)
    Orders(kit, app, shop, sub, shop.cycles[0]).placed()
    schedule = f"/shops/{shop.id}/schedules/{shop.schedule['id']}"
    kit.ok(shop.manager.patch(schedule, {"remove": [shop.cycles[0]["id"], shop.cycles[1]["id"]]}))
    listed = states(shop, kit, sub)
    assert listed[0] == (shop.cycles[0]["id"], "placed")
    assert shop.cycles[1]["id"] not in [cid for cid, _ in listed]


def test_occurrences_are_filtered_and_paginated(shop, kit):
    sub = create(shop, kit)
    kit.ok(shop.manager.post(occurrences_url(shop, sub, shop.cycles[1], "skip")))
    assert [cid for cid, _ in [(o["order_cycle_id"], o) for o in kit.ok(shop.manager.get(
        occurrences_url(shop, sub) + "?state=skipped"))["items"]]] == [shop.cycles[1]["id"]]
    first = kit.ok(shop.manager.get(occurrences_url(shop, sub) + "?limit=4"))
    rest = kit.ok(shop.manager.get(occurrences_url(shop, sub) + f"?limit=4&cursor={first['next_cursor']}"))
    assert [o["order_cycle_id"] for o in first["items"] + rest["items"]] == [c["id"] for c in shop.cycles]
    assert rest["next_cursor"] is None
    later = kit.ok(shop.manager.get(occurrences_url(shop, sub) + "?closes_after=2026-04-15T00:00:00Z"))["items"]
    assert [o["order_cycle_id"] for o in later] == [c["id"] for c in shop.cycles[4:]]
    assert shop.manager.get(occurrences_url(shop, sub) + "?cursor=WyJ4Il0").status_code == 400
