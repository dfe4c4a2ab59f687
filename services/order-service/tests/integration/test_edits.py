"""Edits through the REST API until the cycle closes: what managers and customers may do, within stock,
with ETags, problem details, and nothing after the close (real Kafka and PostgreSQL)."""

import time
from datetime import UTC, datetime, timedelta

import pytest

pytestmark = pytest.mark.integration


def _placed(orders, *, allow_order_changes=True, closes_in=timedelta(days=2), items=None):
    """A shop with one placed order; returns (shop, cycle, order, tokens)."""
    f = orders.feed
    shop = f.shop(allow_order_changes=allow_order_changes)
    f.variant(shop, "eggs", "Eggs", price=320, on_hand=10)
    f.variant(shop, "milk", "Milk", price=150, on_hand=10)
    f.variant(shop, "jam", "Jam", price=450, on_hand=3)
    cycle = f.cycle(shop, closes_at=datetime.now(UTC) + closes_in)
    customer, _ = f.customer(shop)
    sub = f.subscription(shop, customer, items or {"eggs": 2, "milk": 1})
    f.due(shop, cycle, sub, customer, reason="subscription_created")
    orders.wait(lambda: orders.order_of(sub), "the order")
    other_customer, _ = f.customer(shop)
    tokens = {"manager": f.token("manager", [shop.shop_id]), "customer": f.token("customer", [shop.shop_id], customer),
              "other": f.token("customer", [shop.shop_id], other_customer),
              "stranger": f.token("manager", ["some-other-shop"])}
    for _, token_id in tokens.values():
        orders.wait_token(token_id)
    return shop, cycle, orders.order_of(sub), {k: v[0] for k, v in tokens.items()}


def _line(body, variant_id):
    return next(ln for ln in body["lines"] if ln["variant_id"] == variant_id)


def test_a_customer_changes_quantities_within_stock_removes_lines_but_never_the_last_and_cancels(orders):
    shop, _, order, tok = _placed(orders)
    path = f"/shops/{shop.shop_id}/orders/{order['order_id']}"
    got = orders.api("GET", path, tok["customer"])
    assert got.status_code == 200 and got.headers["ETag"] == '"1"'
    assert got.json["editable"] == {"by_manager": True, "by_customer": True}
    assert got.json["payment"]["state"] == "not_due"
    eggs, milk = _line(got.json, "eggs")["line_id"], _line(got.json, "milk")["line_id"]

    changed = orders.api("PATCH", f"{path}/lines/{eggs}", tok["customer"], json={"quantity": 5})
    assert changed.status_code == 200, changed.json
    assert _line(changed.json, "eggs")["quantity"] == 5 and changed.headers["ETag"] == '"2"'
    assert changed.json["totals"]["item_total"] == 5 * 320 + 150
    assert orders.on_hand(shop, "eggs") == 5  # 10 - 2 at placement - 3 more

    too_many = orders.api("PATCH", f"{path}/lines/{eggs}", tok["customer"], json={"quantity": 11})
    assert too_many.status_code == 422
    assert too_many.headers["Content-Type"] == "application/problem+json"
    assert too_many.json["errors"] == {"quantity": ["At most 10 available."]}
    assert orders.api("PATCH", f"{path}/lines/{eggs}", tok["customer"], json={"quantity": "7"}).status_code == 422
    assert orders.api("PATCH", f"{path}/lines/{eggs}", tok["customer"], json={"quantity": 2, "x": 1}
                      ).status_code == 422

    assert orders.api("DELETE", f"{path}/lines/{milk}", tok["customer"]).status_code == 200
    last = orders.api("DELETE", f"{path}/lines/{eggs}", tok["customer"])
    assert last.status_code == 422 and "cancel the order instead" in last.json["detail"]

    assert orders.api("POST", f"{path}/lines", tok["customer"], json={"variant_id": "jam", "quantity": 1}
                      ).status_code == 403
    assert orders.api("GET", path, tok["other"]).status_code == 404  # another customer's order does not exist
    assert orders.api("PATCH", f"{path}/lines/{eggs}", tok["other"], json={"quantity": 1}).status_code == 404
    assert orders.api("GET", path, tok["stranger"]).status_code == 404  # another shop's manager
    assert orders.api("GET", path, "rop_not_a_token").status_code == 401

    cancelled = orders.api("POST", f"{path}/cancel", tok["customer"])
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    assert cancelled.json["cancel_cause"] == "customer"
    assert orders.on_hand(shop, "eggs") == 10  # everything it held is back
    assert cancelled.json["editable"] == {"by_manager": True, "by_customer": True}  # they may resume it
    assert orders.api("POST", f"{path}/resume", tok["other"]).status_code == 404
    resumed = orders.api("POST", f"{path}/resume", tok["customer"])
    assert resumed.status_code == 200 and resumed.json["status"] == "placed", resumed.json
    assert _line(resumed.json, "eggs")["quantity"] == 5 and orders.on_hand(shop, "eggs") == 5
    assert orders.events(order["order_id"]) == ["OrderPlaced", "OrderLineChanged", "OrderLineRemoved",
                                                "OrderCancelled", "OrderResumed"]


def test_a_customer_cannot_resume_an_order_the_shop_cancelled(orders):
    shop, _, order, tok = _placed(orders)
    path = f"/shops/{shop.shop_id}/orders/{order['order_id']}"
    assert orders.api("POST", f"{path}/cancel", tok["manager"]).status_code == 200
    got = orders.api("GET", path, tok["customer"])
    assert got.json["editable"] == {"by_manager": True, "by_customer": False}
    refused = orders.api("POST", f"{path}/resume", tok["customer"])
    assert refused.status_code == 403 and "only the shop can resume it" in refused.json["detail"]
    assert orders.api("GET", path, tok["customer"]).json["status"] == "cancelled"


def test_customers_cannot_change_their_order_when_the_shop_does_not_allow_it_managers_can(orders):
    shop, _, order, tok = _placed(orders, allow_order_changes=False)
    path = f"/shops/{shop.shop_id}/orders/{order['order_id']}"
    body = orders.api("GET", path, tok["customer"]).json
    assert body["editable"] == {"by_manager": True, "by_customer": False}
    eggs = _line(body, "eggs")["line_id"]
    refused = orders.api("PATCH", f"{path}/lines/{eggs}", tok["customer"], json={"quantity": 1})
    assert refused.status_code == 403 and "does not allow customers" in refused.json["detail"]
    assert orders.api("POST", f"{path}/cancel", tok["customer"]).status_code == 403
    assert orders.api("PATCH", f"{path}/lines/{eggs}", tok["manager"], json={"quantity": 1}).status_code == 200


def test_managers_change_lines_add_products_methods_cancel_and_resume_and_if_match_guards_each_change(orders):
    shop, _, order, tok = _placed(orders)
    path = f"/shops/{shop.shop_id}/orders/{order['order_id']}"
    added = orders.api("POST", f"{path}/lines", tok["manager"], json={"variant_id": "jam", "quantity": 2},
                       headers={"X-Change-Reason": "asked by phone", "Idempotency-Key": "add-jam-1"})
    assert added.status_code == 201, added.json
    assert _line(added.json, "jam")["quantity"] == 2 and _line(added.json, "jam")["edited_by"] == "manager"
    assert [ln["variant_id"] for ln in added.json["lines"]] == ["eggs", "milk", "jam"]  # the new line comes last
    totals = added.json["totals"]  # the shop's fees still apply: 5.00 delivery, 1.5% by card
    assert totals["item_total"] == 2 * 320 + 150 + 2 * 450 and totals["shipping_fee"] == 500
    assert totals["payment_fee"] > 0 and totals["total"] == sum(totals[k] for k in ("item_total", "shipping_fee",
                                                                                    "payment_fee"))
    assert [(ln["variant_id"], ln["position"]) for ln in orders.lines(order["order_id"])] == [
        ("eggs", 1), ("milk", 2), ("jam", 3)]
    again = orders.api("POST", f"{path}/lines", tok["manager"], json={"variant_id": "jam", "quantity": 2},
                       headers={"Idempotency-Key": "add-jam-1"})
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert orders.on_hand(shop, "jam") == 1
    over = orders.api("POST", f"{path}/lines", tok["manager"], json={"variant_id": "milk", "quantity": 1})
    assert over.status_code == 422  # already on the order

    eggs = _line(added.json, "eggs")["line_id"]
    stale = orders.api("PATCH", f"{path}/lines/{eggs}", tok["manager"], json={"quantity": 4},
                       headers={"If-Match": '"1"'})
    assert stale.status_code == 412 and stale.headers["ETag"] == '"2"'
    fresh = orders.api("PATCH", f"{path}/lines/{eggs}", tok["manager"], json={"quantity": 4},
                       headers={"If-Match": '"2"'})
    assert fresh.status_code == 200 and fresh.headers["ETag"] == '"3"'

    cash = orders.api("PATCH", path, tok["manager"], json={"payment_method_id": shop.cash_id})
    assert cash.status_code == 200 and cash.json["payment_kind"] == "cash"
    assert cash.json["totals"]["payment_fee"] == 0
    assert orders.api("PATCH", path, tok["manager"], json={"payment_method_id": "nope"}).status_code == 422

    assert orders.api("POST", f"{path}/cancel", tok["manager"]).json["status"] == "cancelled"
    assert orders.api("PATCH", f"{path}/lines/{eggs}", tok["manager"], json={"quantity": 1}).status_code == 409
    resumed = orders.api("POST", f"{path}/resume", tok["manager"])
    assert resumed.status_code == 200 and resumed.json["status"] == "placed"
    assert _line(resumed.json, "eggs")["quantity"] == 4 and _line(resumed.json, "jam")["quantity"] == 2

    history = orders.api("GET", f"{path}/history", tok["manager"]).json["items"]
    assert [h["event_type"] for h in history] == ["OrderPlaced", "OrderLineAdded", "OrderLineChanged",
                                                  "OrderDetailsChanged", "OrderCancelled", "OrderResumed"]
    assert history[1]["reason"] == "asked by phone" and history[1]["actor"]["type"] == "manager"


def test_a_manager_is_offered_the_products_the_shop_sells_that_are_not_on_the_order_with_the_stock_left(orders):
    shop, _, order, tok = _placed(orders)
    orders.feed.variant(shop, "honey", "Honey", price=900, on_hand=None)
    orders.feed.variant(shop, "gone", "Sold out", price=100, on_hand=0)
    path = f"/shops/{shop.shop_id}/orders/{order['order_id']}"
    offered = orders.api("GET", f"{path}/products-to-add", tok["manager"])
    assert offered.status_code == 200, offered.json
    assert offered.json["items"] == [{"variant_id": "honey", "name": "Honey", "unit_price": 900, "available": None},
                                     {"variant_id": "jam", "name": "Jam", "unit_price": 450, "available": 3}]
    assert orders.api("POST", f"{path}/lines", tok["manager"], json={"variant_id": "jam", "quantity": 1}
                      ).status_code == 201
    assert [p["variant_id"] for p in orders.api("GET", f"{path}/products-to-add", tok["manager"]).json["items"]] == [
        "honey"]
    assert orders.api("GET", f"{path}/products-to-add", tok["customer"]).status_code == 403
    assert orders.api("GET", f"{path}/products-to-add", tok["stranger"]).status_code == 404
    assert orders.api("GET", f"/shops/{shop.shop_id}/orders/no-such-order/products-to-add", tok["manager"]
                      ).status_code == 404


def test_every_change_is_refused_once_the_cycle_has_closed(orders):
    shop, cycle, order, tok = _placed(orders)
    path = f"/shops/{shop.shop_id}/orders/{order['order_id']}"
    eggs = _line(orders.api("GET", path).json, "eggs")["line_id"]
    orders.feed.boundary("OrderCycleClosed", cycle)
    orders.wait(lambda: orders.order_of(order["subscription_id"])["status"] == "confirmed", "the confirmation")
    for who in ("manager", "customer"):
        refused = orders.api("PATCH", f"{path}/lines/{eggs}", tok[who], json={"quantity": 1})
        assert refused.status_code == 409, refused.json
        assert refused.json["type"].endswith("/order-closed") and "can no longer be changed" in refused.json["detail"]
        assert orders.api("POST", f"{path}/cancel", tok[who]).status_code == 409
    assert orders.api("POST", f"{path}/lines", tok["manager"], json={"variant_id": "jam", "quantity": 1}
                      ).status_code == 409
    assert orders.api("GET", path, tok["customer"]).json["editable"] == {"by_manager": False, "by_customer": False}


def test_the_close_time_ends_the_edit_window_even_before_the_scheduler_says_so(orders):
    shop, _, order, tok = _placed(orders, closes_in=timedelta(seconds=4))
    path = f"/shops/{shop.shop_id}/orders/{order['order_id']}"
    eggs = _line(orders.api("GET", path).json, "eggs")["line_id"]
    time.sleep(max(0.0, (order["closes_at"] - datetime.now(UTC)).total_seconds()) + 0.5)
    assert orders.api("PATCH", f"{path}/lines/{eggs}", tok["customer"], json={"quantity": 1}).status_code == 409


def test_orders_are_listed_by_cycle_customer_and_status_page_by_page_and_customers_see_only_theirs(orders):
    f = orders.feed
    shop = f.shop()
    f.variant(shop, "eggs", "Eggs", price=320, on_hand=None)
    cycles = [f.cycle(shop), f.cycle(shop, name="Week 15")]
    customers = [f.customer(shop)[0] for _ in range(2)]
    for customer in customers:
        for cycle in cycles:
            f.due(shop, cycle, f.subscription(shop, customer, {"eggs": 1}), customer, reason="subscription_created")
    orders.wait_orders(shop, 4)
    token, token_id = f.token("customer", [shop.shop_id], customers[0])
    orders.wait_token(token_id)
    base = f"/shops/{shop.shop_id}/orders"
    assert len(orders.api("GET", base).json["items"]) == 4
    assert len(orders.api("GET", f"{base}?order_cycle_id={cycles[0]['order_cycle_id']}").json["items"]) == 2
    assert len(orders.api("GET", f"{base}?customer_id={customers[1]}&status=placed").json["items"]) == 2
    assert orders.api("GET", f"{base}?status=confirmed").json["items"] == []
    assert orders.api("GET", f"{base}?status=nope").status_code == 422
    mine = orders.api("GET", base, token).json["items"]
    assert len(mine) == 2 and {o["customer_id"] for o in mine} == {customers[0]}
    assert orders.api("GET", f"/shops/{shop.shop_id}/customers/{customers[1]}/orders", token).status_code == 404
    seen, cursor = [], None
    while True:
        page = orders.api("GET", f"{base}?limit=3" + (f"&cursor={cursor}" if cursor else "")).json
        seen += [o["order_id"] for o in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == 4 == len(set(seen))
    assert orders.api("GET", f"/shops/{shop.shop_id}/order-cycles/{cycles[0]['order_cycle_id']}/placement-summary",
                      token).status_code == 403


def test_a_cycles_order_counts_split_its_orders_by_status_and_count_those_a_subscription_change_left_issues_on(
        orders):
    f = orders.feed
    shop = f.shop()
    f.variant(shop, "eggs", "Eggs", price=320, on_hand=10)
    f.variant(shop, "gone", "Sold out", price=100, on_hand=0)
    cycle = f.cycle(shop)
    subs = []
    for items in ({"eggs": 1}, {"eggs": 1}, {"eggs": 1}, {"gone": 1}):
        customer, _ = f.customer(shop)
        subs.append((f.subscription(shop, customer, items), customer))
        f.due(shop, cycle, subs[-1][0], customer, reason="subscription_created")
    orders.wait_orders(shop, 4)
    _, cancelled, edited, empty = (orders.order_of(sub) for sub, _ in subs)
    assert empty["status"] == "empty"
    base = f"/shops/{shop.shop_id}"
    assert orders.api("POST", f"{base}/orders/{cancelled['order_id']}/cancel").status_code == 200
    eggs = orders.lines(edited["order_id"])[0]["line_id"]
    assert orders.api("PATCH", f"{base}/orders/{edited['order_id']}/lines/{eggs}", json={"quantity": 3}
                      ).status_code == 200
    item = {"variant_id": "eggs", "quantity": 2, "price_estimate": None}
    f.subscription_event("SubscriptionUpdated", shop, subs[2][0], changes={"items": [item]},
                         previous={"items": [{**item, "quantity": 1}]})
    orders.wait(lambda: "OrderUpdateIssuesRecorded" in orders.events(edited["order_id"]), "the propagation")
    manager, manager_id = f.token("manager", [shop.shop_id])
    customer, customer_id = f.token("customer", [shop.shop_id], subs[0][1])
    stranger, stranger_id = f.token("manager", ["some-other-shop"])
    for token_id in (manager_id, customer_id, stranger_id):
        orders.wait_token(token_id)
    path = f"{base}/order-cycles/{cycle['order_cycle_id']}/order-counts"

    got = orders.api("GET", path, manager)
    assert got.status_code == 200, got.json
    assert got.json["counts"] == {"placed": 2, "confirmed": 0, "cancelled": 1, "empty": 1, "orders": 4,
                                  "with_update_issues": 1}
    assert got.json["open"] is True and got.json["name"] == "Week 14"
    assert got.json["closes_at_local"].endswith("+01:00")  # Europe/Paris in winter
    listed = orders.api("GET", f"{base}/orders?order_cycle_id={cycle['order_cycle_id']}&status=placed", manager).json
    assert {o["order_id"]: o["update_issue_count"] for o in listed["items"]} == {
        orders.order_of(subs[0][0])["order_id"]: 0, edited["order_id"]: 1}

    assert orders.api("GET", path, customer).status_code == 403
    assert orders.api("GET", path, stranger).status_code == 404
    assert orders.api("GET", f"{base}/order-cycles/no-such-cycle/order-counts", manager).status_code == 404

    f.boundary("OrderCycleClosed", cycle)
    orders.wait(lambda: orders.order_of(subs[0][0])["status"] == "confirmed", "the confirmation")
    closed = orders.api("GET", path, manager).json
    assert closed["open"] is False
    assert closed["counts"] == {"placed": 0, "confirmed": 2, "cancelled": 1, "empty": 1, "orders": 4,
                                "with_update_issues": 1}


def _race(orders, calls):
    """Send the calls at the same moment, each from its own client; return the responses in order."""
    from devstack.testing import race

    def post(path, token, body):
        client = orders.app.test_client()
        return lambda: client.open(f"/api/v1{path}", method="POST", json=body,
                                   headers={"Authorization": f"Bearer {token}"})

    return race([post(*c) for c in calls])


def test_parallel_adds_never_oversell_counted_stock_and_unlimited_variants_take_all_of_them(orders):
    """Counted stock is locked per variant, so two orders racing for the last units cannot both get them;
    unlimited variants are not locked, and parallel adds of one all succeed."""
    shop, cycle, order, tok = _placed(orders)
    f = orders.feed
    f.variant(shop, "bread", "Bread", price=300, on_hand=None)
    more = []
    for _ in range(3):
        customer, _ = f.customer(shop)
        sub = f.subscription(shop, customer, {"eggs": 1})
        f.due(shop, cycle, sub, customer, reason="subscription_created")
        more.append(sub)
    orders.wait(lambda: all(orders.order_of(s) for s in more), "the other orders")
    orders.wait(lambda: orders.scalar("SELECT count(*) FROM catalog_variants WHERE shop_id = %s AND variant_id = %s",
                                      [shop.shop_id, "bread"]) == 1, "the unlimited variant")
    paths = [f"/shops/{shop.shop_id}/orders/{o['order_id']}/lines"
             for o in [order, *(orders.order_of(s) for s in more)]]

    jam = _race(orders, [(p, tok["manager"], {"variant_id": "jam", "quantity": 2}) for p in paths])
    assert sorted(r.status_code for r in jam) == [201, 422, 422, 422], [r.json for r in jam]
    assert orders.on_hand(shop, "jam") == 1  # 3 - 2, taken once

    bread = _race(orders, [(p, tok["manager"], {"variant_id": "bread", "quantity": 5}) for p in paths])
    assert [r.status_code for r in bread] == [201] * 4, [r.json for r in bread]
    assert orders.on_hand(shop, "bread") is None


def test_an_orders_events_applied_again_change_neither_its_rows_nor_the_stock(orders):
    """Every edit moves the order's version, its lines and the stock in one guarded statement: a redelivered or
    replayed event (version not above the order's) changes nothing, not even the counted stock."""
    import psycopg

    from order_service.adapters import order_projection
    from shared_events import outbox

    shop, _, order, tok = _placed(orders)
    path = f"/shops/{shop.shop_id}/orders/{order['order_id']}"
    added = orders.api("POST", f"{path}/lines", tok["manager"], json={"variant_id": "jam", "quantity": 2}).json
    orders.api("PATCH", f"{path}/lines/{_line(added, 'eggs')['line_id']}", tok["manager"], json={"quantity": 5})
    assert orders.api("DELETE", f"{path}/lines/{_line(added, 'milk')['line_id']}", tok["manager"]).status_code == 200

    def state():
        stock = {v: orders.on_hand(shop, v) for v in ("eggs", "milk", "jam")}
        return (stock, orders.lines(order["order_id"]),
                orders.rows("SELECT version, total FROM orders WHERE order_id = %s", [order["order_id"]]))

    before = state()
    assert before[0] == {"eggs": 5, "milk": 10, "jam": 1}
    with psycopg.connect(orders.dsn) as conn:
        events = outbox.history(conn, order["order_id"], "orders.events")
        assert [e.event_type for e in events] == ["OrderPlaced", "OrderLineAdded", "OrderLineChanged",
                                                  "OrderLineRemoved"]
        for env in events:
            order_projection.apply(conn, env)
        conn.commit()
    assert state() == before
