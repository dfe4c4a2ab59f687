"""The managers' reports of an order cycle through the REST API (packing list, product and supplier totals, orders
and payments; JSON pages and CSV files), checked against the orders themselves (real Kafka and PostgreSQL)."""

import csv
import io
import uuid
from collections import Counter

import pytest
from order_harness import MANAGER_ACTOR

pytestmark = pytest.mark.integration


def _cycle_with_boxes(orders):
    """A shop whose cycle has four orders: Alice (eggs, jam, delivery), Bob (eggs, jam capped to nothing: the jam
    is gone; switched to pickup), Chloé (milk, cancelled) and Dan (only jam: empty). Eggs come from Ferme du Pré,
    milk from Laiterie Blanche; the catalog names no supplier for the jam."""
    f = orders.feed
    shop = f.shop(locale="fr")
    pickup_id = str(uuid.uuid4())
    f.send("ShippingMethodSaved", shop.shop_id, {
        "shop_id": shop.shop_id, "method_id": pickup_id, "name": "Retrait à la ferme", "description": None,
        "fee_flat": 0, "fee_percent_bp": 0, "pickup": True, "active": True, "actor": MANAGER_ACTOR, "reason": None},
        shop_id=shop.shop_id)
    f.variant(shop, "eggs", "Eggs", price=320, on_hand=None, supplier="Ferme du Pré")
    f.variant(shop, "milk", "Milk", price=150, on_hand=None, supplier="Laiterie Blanche")
    f.variant(shop, "jam", "Jam", price=450, on_hand=2)  # the catalog does not say who makes it
    cycle = f.cycle(shop)
    wanted = {"Alice": {"eggs": 2, "jam": 2}, "Bob": {"eggs": 1, "jam": 1}, "Chloé": {"milk": 3},
              "Dan": {"jam": 1}}
    subs = {}
    for n, (name, items) in enumerate(wanted.items()):
        customer, _ = f.customer(shop, first_name=name)
        subs[name] = f.subscription(shop, customer, items, sequence=n + 1, cash=name == "Alice")
        f.due(shop, cycle, subs[name], customer)
    f.boundary("OrderCycleOpened", cycle, due_count=len(subs))
    orders.wait_orders(shop, len(subs))
    tokens = {"manager": f.token("manager", [shop.shop_id]),
              "customer": f.token("customer", [shop.shop_id], orders.order_of(subs["Alice"])["customer_id"]),
              "stranger": f.token("manager", [str(uuid.uuid4())])}
    for _, token_id in tokens.values():
        orders.wait_token(token_id)
    tok = {k: v[0] for k, v in tokens.items()}
    bob, chloe = orders.order_of(subs["Bob"]), orders.order_of(subs["Chloé"])
    orders.wait_projected("SELECT 1 FROM shop_methods WHERE method_id = %s", [pickup_id], "the pickup method")
    assert orders.api("PATCH", f"/shops/{shop.shop_id}/orders/{bob['order_id']}", tok["manager"],
                      json={"shipping_method_id": pickup_id}).status_code == 200
    assert orders.api("POST", f"/shops/{shop.shop_id}/orders/{chloe['order_id']}/cancel", tok["manager"]
                      ).status_code == 200
    return shop, cycle, subs, tok


def _csv(resp):
    assert resp.status_code == 200, resp.data
    assert resp.headers["Content-Type"].startswith("text/csv")
    assert resp.headers["Content-Disposition"].startswith("attachment; filename=")
    return list(csv.reader(io.StringIO(resp.data.decode("utf-8-sig"))))


def test_the_packing_list_has_one_box_per_order_to_deliver_with_the_allocated_quantities_and_where_it_goes(orders):
    shop, cycle, _subs, tok = _cycle_with_boxes(orders)
    base = f"/shops/{shop.shop_id}/order-cycles/{cycle['order_cycle_id']}/reports"
    got = orders.api("GET", f"{base}/packing-list", tok["manager"])
    assert got.status_code == 200, got.json
    assert got.json["order_cycle"]["name"] == "Week 14"
    assert got.json["order_cycle"]["closes_at_local"].endswith(("+01:00", "+02:00"))  # the shop's time zone
    boxes = got.json["items"]
    # Chloé's order is cancelled and Dan's empty: no box; by shipping method name ("Delivery" < "Retrait...")
    assert [b["customer"]["first_name"] for b in boxes] == ["Alice", "Bob"]
    alice, bob = boxes
    assert [(ln["variant_id"], ln["quantity"]) for ln in alice["lines"]] == [("eggs", 2), ("jam", 2)]
    assert [(ln["variant_id"], ln["quantity"]) for ln in bob["lines"]] == [("eggs", 1)]  # no jam was left for him
    assert alice["shipping_method"]["pickup"] is False and bob["shipping_method"] == {
        "id": bob["shipping_method"]["id"], "name": "Retrait à la ferme", "pickup": True}
    assert alice["ship_address"]["city"] == "Lyon"
    assert [ln["supplier"] for ln in alice["lines"]] == ["Ferme du Pré", None]

    first = orders.api("GET", f"{base}/packing-list?limit=1", tok["manager"]).json
    assert [b["number"] for b in first["items"]] == [alice["number"]] and first["next_cursor"]
    second = orders.api("GET", f"{base}/packing-list?limit=1&cursor={first['next_cursor']}", tok["manager"]).json
    assert [b["number"] for b in second["items"]] == [bob["number"]] and second["next_cursor"] is None

    rows = _csv(orders.api("GET", f"{base}/packing-list.csv", tok["manager"]))
    assert rows[0][:3] == ["Commande", "Nom", "Prénom"]  # the shop's language
    head, body = rows[0], [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]
    assert [(r["Commande"], r["Produit"], r["Quantité"], r["Livraison ou retrait"], r["Fournisseur"])
            for r in body] == [(alice["number"], "Eggs", "2", "livraison", "Ferme du Pré"),
                               (alice["number"], "Jam", "2", "livraison", "(sans fournisseur)"),
                               (bob["number"], "Eggs", "1", "retrait", "Ferme du Pré")]
    assert body[0]["Ville"] == "Lyon" and body[0]["Code postal"] == "69003"
    english = _csv(orders.api("GET", f"{base}/packing-list.csv?lang=en", tok["manager"]))
    assert english[0][:3] == ["Order", "Last name", "First name"] and len(english[0]) == len(head)
    assert english[3][head.index("Livraison ou retrait")] == "pickup"

    # the quantities are those allocated on the orders, nothing more, nothing less
    allocated = Counter()
    for o in orders.orders(shop):
        if o["status"] in ("placed", "confirmed"):
            for ln in orders.lines(o["order_id"]):
                allocated[ln["variant_id"]] += ln["quantity"]
    packed = Counter()
    for r in english[1:]:
        packed[{"Eggs": "eggs", "Jam": "jam", "Milk": "milk"}[r[english[0].index("Product")]]] += int(
            r[english[0].index("Quantity")])
    assert packed == +allocated


def test_product_and_supplier_totals_add_up_the_allocated_quantities_with_a_bucket_for_no_supplier(orders):
    shop, cycle, _subs, tok = _cycle_with_boxes(orders)
    base = f"/shops/{shop.shop_id}/order-cycles/{cycle['order_cycle_id']}/reports"
    got = orders.api("GET", f"{base}/product-totals", tok["manager"])
    assert got.status_code == 200, got.json
    # Chloé's milk is cancelled (Laiterie Blanche has nothing to deliver), Dan got no jam
    farm, nobody = got.json["suppliers"]
    assert (farm["supplier"], farm["quantity"], farm["amount"]) == ("Ferme du Pré", 3, 3 * 320)
    assert [(p["variant_id"], p["quantity"], p["orders"], p["amount"]) for p in farm["products"]] == [
        ("eggs", 3, 2, 3 * 320)]
    assert nobody["supplier"] is None  # the bucket of products whose supplier the catalog does not say, last
    assert [(p["variant_id"], p["quantity"], p["orders"], p["amount"]) for p in nobody["products"]] == [
        ("jam", 2, 1, 2 * 450)]
    assert got.json["totals"] == {"products": 2, "quantity": 5, "amount": 3 * 320 + 2 * 450, "tax": 0}  # untaxed

    rows = _csv(orders.api("GET", f"{base}/product-totals.csv?lang=en", tok["manager"]))
    assert rows == [["Supplier", "Product", "Variant", "Variant id", "Quantity", "Orders", "Amount", "Tax",
                     "Currency"],
                    ["Ferme du Pré", "Eggs", "", "eggs", "3", "2", "9.60", "0.00", "EUR"],
                    ["(no supplier)", "Jam", "", "jam", "2", "1", "9.00", "0.00", "EUR"]]
    rows = _csv(orders.api("GET", f"{base}/supplier-totals.csv", tok["manager"]))  # the shop's French
    assert rows == [["Fournisseur", "Produits", "Quantité", "Montant", "TVA", "Devise"],
                    ["Ferme du Pré", "1", "3", "9.60", "0.00", "EUR"],
                    ["(sans fournisseur)", "1", "2", "9.00", "0.00", "EUR"]]


def test_the_orders_report_lists_every_order_with_its_payment_and_totals_that_match_the_orders(orders):
    shop, cycle, subs, tok = _cycle_with_boxes(orders)
    f = orders.feed
    f.boundary("OrderCycleClosed", cycle)
    orders.wait(lambda: orders.order_of(subs["Alice"])["status"] == "confirmed", "the confirmation")
    alice, bob = orders.order_of(subs["Alice"]), orders.order_of(subs["Bob"])
    f.payment("PaymentPending", alice, str(uuid.uuid4()), amount=alice["total"], currency="EUR", method="cash",
              order_number=alice["number"])
    paid = str(uuid.uuid4())
    f.payment("PaymentPending", bob, paid, amount=bob["total"], currency="EUR", method="stripe",
              order_number=bob["number"])
    f.payment("PaymentSucceeded", bob, paid, attempt=1, amount=bob["total"], currency="EUR",
              stripe_payment_intent_id="pi_1", stripe_charge_id="ch_1")
    orders.wait(lambda: orders.scalar("SELECT count(*) FROM order_payments WHERE shop_id = %s AND state = 'paid'",
                                      [shop.shop_id]) == 1, "the payment")
    base = f"/shops/{shop.shop_id}/order-cycles/{cycle['order_cycle_id']}/reports"
    got = orders.api("GET", f"{base}/orders", tok["manager"])
    assert got.status_code == 200, got.json
    mine = orders.orders(shop)
    delivered = [o for o in mine if o["status"] in ("placed", "confirmed")]
    assert [o["number"] for o in got.json["items"]] == sorted(o["number"] for o in mine)
    by_number = {o["number"]: o for o in got.json["items"]}
    assert by_number[bob["number"]]["payment"] | {"updated_at": None} == {
        "state": "paid", "amount": bob["total"], "paid": bob["total"], "refunded": 0, "code": None,
        "updated_at": None}
    assert by_number[alice["number"]]["payment"]["state"] == "pending"
    assert by_number[alice["number"]]["payment_method"] == "Cash"
    totals = got.json["totals"]
    assert (totals["orders"], totals["confirmed"], totals["cancelled"], totals["empty"]) == (4, 2, 1, 1)
    assert totals["total"] == sum(o["total"] for o in delivered) == alice["total"] + bob["total"]
    assert totals["item_total"] == sum(o["item_total"] for o in delivered)
    assert (totals["paid"], totals["unpaid"]) == (bob["total"], alice["total"])

    page = orders.api("GET", f"{base}/orders?limit=3", tok["manager"]).json
    rest = orders.api("GET", f"{base}/orders?limit=3&cursor={page['next_cursor']}", tok["manager"]).json
    assert len(page["items"]) == 3 and len(rest["items"]) == 1 and rest["next_cursor"] is None

    rows = _csv(orders.api("GET", f"{base}/orders.csv?lang=en", tok["manager"]))
    head, body, last = rows[0], rows[1:-1], rows[-1]
    assert head[:2] == ["Order", "Status"] and "Placed at (Europe/Paris)" in head
    assert [r[0] for r in body] == sorted(o["number"] for o in mine)
    col = {name: head.index(name) for name in ("Total", "Paid", "Status", "Payment")}

    def cents(text):
        units, _, frac = text.partition(".")
        return int(units) * 100 + int(frac or 0)

    assert sum(cents(r[col["Total"]]) for r in body if r[col["Status"]] in ("placed", "confirmed")) == \
        totals["total"] == cents(last[col["Total"]])
    assert last[0] == "Total" and cents(last[col["Paid"]]) == bob["total"]
    assert {r[0]: r[col["Payment"]] for r in body}[bob["number"]] == "paid"
    assert "," not in "".join(r[col["Total"]] for r in body)  # no thousands separator, a decimal point


def test_reports_are_for_the_shops_managers_only(orders):
    shop, cycle, _subs, tok = _cycle_with_boxes(orders)
    base = f"/shops/{shop.shop_id}/order-cycles/{cycle['order_cycle_id']}/reports"
    for report in ("packing-list", "packing-list.csv", "product-totals", "product-totals.csv",
                   "supplier-totals.csv", "orders", "orders.csv"):
        assert orders.api("GET", f"{base}/{report}", tok["customer"]).status_code == 403, report
        stranger = orders.api("GET", f"{base}/{report}", tok["stranger"])
        assert stranger.status_code == 404 and stranger.headers["Content-Type"] == "application/problem+json"
        assert orders.api("GET", f"{base}/{report}", "rop_not_a_token").status_code == 401
        unknown = f"/shops/{shop.shop_id}/order-cycles/{uuid.uuid4()}/reports/{report}"
        assert orders.api("GET", unknown, tok["manager"]).status_code == 404, report
    bad = orders.api("GET", f"{base}/packing-list.csv?lang=de", tok["manager"])
    assert bad.status_code == 422 and "query.lang" in bad.json["errors"]
    assert orders.api("GET", f"{base}/packing-list?cursor=made-up", tok["manager"]).status_code == 400
