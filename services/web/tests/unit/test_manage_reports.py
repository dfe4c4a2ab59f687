"""The console's reports from the API's answers: the cycles to report on, the packing list's boxes (delivery or
pickup, the address, the allocated quantities), the product totals per producer, the orders with their payments
and totals, in the shop's language; the CSV files passed on as order-service writes them, in the page's language."""

from __future__ import annotations

import uuid

import pytest

from web_app.api import Api, ApiError

CYCLE = str(uuid.uuid4())


def as_manager(client, *shop_ids: str) -> None:
    with client.session_transaction() as session:
        session.update(token="rop_manager", token_id=str(uuid.uuid4()), role="manager", shop_ids=list(shop_ids),
                       customer_id=None, signed_in_at=0)


def shop(shop_id: str, locale: str = "en") -> dict:
    return {"id": shop_id, "name": "La Ruche", "locale": locale, "timezone": "Europe/Paris", "currency": "EUR",
            "contact_email": "hub@example.org"}


def cycle() -> dict:
    return {"order_cycle_id": CYCLE, "name": "Week 14", "opens_at": "2026-04-01T08:00:00+00:00",
            "opens_at_local": "2026-04-01T10:00:00+02:00", "closes_at": "2026-04-03T15:00:00+00:00",
            "closes_at_local": "2026-04-03T17:00:00+02:00", "closed_at": None, "timezone": "Europe/Paris",
            "currency": "EUR"}


ADDRESS = {"first_name": "Alice", "last_name": "Martin", "address1": "12 rue des Lilas", "address2": None,
           "city": "Lyon", "zipcode": "69003", "country": "FR", "phone": "06 12 34 56 78"}


def box(number: str, first: str, *, pickup: bool, lines: list[tuple[str, str | None, int]]) -> dict:
    return {"order_id": str(uuid.uuid4()), "number": number, "status": "placed", "customer_id": str(uuid.uuid4()),
            "customer": {"email": f"{first.lower()}@example.org", "first_name": first, "last_name": "Martin"},
            "shipping_method": {"id": "m1", "name": "Retrait à la ferme" if pickup else "Tournée du jeudi",
                                "pickup": pickup},
            "ship_address": {**ADDRESS, "first_name": first},
            "lines": [{"variant_id": n.lower(), "product_name": n, "variant_name": None, "supplier": s,
                       "quantity": q} for n, s, q in lines]}


@pytest.fixture
def manager(client, fake_http, shop_id):
    as_manager(client, shop_id)
    fake_http.answers[("GET", f"/api/v1/shops/{shop_id}")] = (200, shop(shop_id))
    return client


def reports(shop_id: str) -> str:
    return f"/api/v1/shops/{shop_id}/order-cycles/{CYCLE}/reports"


def test_the_reports_page_lists_the_open_and_closed_cycles_newest_first_with_their_reports(manager, fake_http,
                                                                                             shop_id):
    fake_http.answers[("GET", f"/api/v1/shops/{shop_id}/order-cycles")] = (200, {"items": [
        {"id": CYCLE, "name": "Week 14", "opens_at": "2026-04-01T08:00:00+00:00",
         "closes_at": "2026-04-03T15:00:00+00:00", "status": "open"}], "next_cursor": None})
    page = manager.get(f"/manage/shops/{shop_id}/reports").get_data(as_text=True)
    asked = fake_http.sent[-1]
    assert asked["params"] == {"sort": "-opens_at", "status": ["open", "closed"], "limit": 20}
    assert "Week 14" in page and "open now" in page
    for report in ("packing-list", "product-totals", "orders"):
        assert f'href="/manage/shops/{shop_id}/reports/{CYCLE}/{report}"' in page
    assert 'aria-current="page">Reports</a>' in page  # the console's nav marks this page


def test_the_packing_list_shows_each_box_with_delivery_or_pickup_the_address_and_the_quantities(manager, fake_http,
                                                                                                shop_id):
    fake_http.answers[("GET", f"{reports(shop_id)}/packing-list")] = (200, {
        "order_cycle": cycle(), "next_cursor": "c2",
        "items": [box("R00000001", "Alice", pickup=False, lines=[("Eggs", "Ferme du Pré", 2), ("Jam", None, 1)]),
                  box("R00000002", "Bob", pickup=True, lines=[("Milk", "Laiterie", 3)])]})
    page = manager.get(f"/manage/shops/{shop_id}/reports/{CYCLE}/packing-list").get_data(as_text=True)
    assert fake_http.sent[-1]["params"] == {"limit": 50}
    alice, bob = page.split('id="box-')[1:3]
    assert "Martin Alice" in alice and "Order R00000001" in alice and "Delivery: Tournée du jeudi" in alice
    assert "12 rue des Lilas, 69003 Lyon" in alice
    assert '<span class="qty">2</span> × Eggs <small>· Ferme du Pré</small>' in alice
    assert '<span class="qty">1</span> × Jam</li>' in alice
    assert "Pickup: Retrait à la ferme" in bob and "rue des Lilas" not in bob
    assert f'href="/manage/shops/{shop_id}/reports/{CYCLE}/packing-list?cursor=c2"' in page
    assert f'href="/manage/shops/{shop_id}/reports/{CYCLE}/packing-list.csv" download' in page
    assert "Thu, Apr 2, 2026" not in page and "Fri, Apr 3, 2026, 5:00" in page  # the close in the shop's zone


def test_the_product_totals_are_grouped_by_producer_with_the_products_whose_producer_is_not_given_apart(
        manager, fake_http, shop_id):
    eggs = {"variant_id": "eggs", "product_name": "Eggs", "variant_name": "x6", "supplier": "Ferme du Pré",
            "quantity": 3, "orders": 2, "amount": 960}
    jam = {"variant_id": "jam", "product_name": "Jam", "variant_name": None, "supplier": None, "quantity": 2,
           "orders": 1, "amount": 900}
    fake_http.answers[("GET", f"{reports(shop_id)}/product-totals")] = (200, {
        "order_cycle": cycle(), "totals": {"products": 2, "quantity": 5, "amount": 1860},
        "suppliers": [{"supplier": "Ferme du Pré", "quantity": 3, "amount": 960, "products": [eggs]},
                      {"supplier": None, "quantity": 2, "amount": 900, "products": [jam]}]})
    page = manager.get(f"/manage/shops/{shop_id}/reports/{CYCLE}/product-totals").get_data(as_text=True)
    pre, no_one = page.split("<section")[1:3]
    assert "Ferme du Pré</h2>" in pre and "<td>Eggs (x6)<br><small>in 2 orders</small></td>" in pre
    assert "€9.60" in pre
    assert "No producer given</h2>" in no_one and "<td>Jam<br><small>in 1 order</small></td>" in no_one
    assert "2 products, 5 items, €18.60 in all." in page
    assert "product-totals.csv" in page and "supplier-totals.csv" in page


def french_orders_report(fake_http, shop_id: str, tax_total: int | None = None,
                         order_tax_total: int | None = None) -> None:
    """A French shop's orders report of three orders, one of them listed (confirmed, paid by card, partly
    refunded); ``tax_total`` and ``order_tax_total`` add the cycle's and that order's tax as order-service does."""
    fake_http.answers[("GET", f"/api/v1/shops/{shop_id}")] = (200, shop(shop_id, locale="fr"))
    totals = {"orders": 3, "placed": 0, "confirmed": 2, "cancelled": 1, "empty": 0, "item_total": 2000,
              "shipping_fee": 1000, "payment_fee": 45, "total": 3045, "paid": 1522, "refunded": 100,
              "unpaid": 1523, "failed": 1}
    order_totals = {"item_total": 1000, "shipping_fee": 500, "payment_fee": 22, "total": 1522}
    if tax_total is not None:
        totals["tax_total"] = tax_total
    if order_tax_total is not None:
        order_totals["tax_total"] = order_tax_total
    order = {"order_id": "o1", "number": "R00000001", "status": "confirmed", "cancel_cause": None,
             "customer_id": "c1", "customer": {"email": "a@example.org", "first_name": "Alice", "last_name": "Martin"},
             "shipping_method": "Tournée", "payment_method": "Carte", "payment_kind": "stripe",
             "totals": order_totals,
             "placed_at": "2026-04-01T08:00:00+00:00", "placed_at_local": "2026-04-01T10:00:00+02:00",
             "confirmed_at": None, "confirmed_at_local": None,
             "payment": {"state": "partially_refunded", "amount": 1522, "paid": 1522, "refunded": 100, "code": None,
                         "updated_at": None}}
    fake_http.answers[("GET", f"{reports(shop_id)}/orders")] = (200, {"order_cycle": cycle(), "totals": totals,
                                                                      "items": [order], "next_cursor": None})


def test_the_orders_report_shows_the_totals_and_each_orders_payment_in_the_shops_language(manager, fake_http,
                                                                                          shop_id):
    french_orders_report(fake_http, shop_id)
    page = manager.get(f"/manage/shops/{shop_id}/reports/{CYCLE}/orders").get_data(as_text=True)
    assert '<html lang="fr">' in page and "Commandes et paiements" in page
    assert "30,45\u00a0€" in page and "15,23\u00a0€" in page  # total of the orders, not paid yet
    assert "1 paiement échoué" in page
    assert "Remboursé en partie" in page and "Confirmée" in page


def test_the_orders_report_shows_the_cycles_tax_and_each_orders_tax_as_order_service_adds_them(manager, fake_http,
                                                                                              shop_id, text_of):
    french_orders_report(fake_http, shop_id, tax_total=314, order_tax_total=157)
    page = manager.get(f"/manage/shops/{shop_id}/reports/{CYCLE}/orders").get_data(as_text=True)
    text = text_of(page).replace("\u202f", " ").replace("\xa0", " ")
    assert "TVA 3,14 € Total des commandes 30,45 €" in text
    assert "15,22 € TVA : 1,57 €" in text


def test_a_report_file_is_passed_on_as_order_service_writes_it_in_the_pages_language(manager, fake_http, shop_id):
    fake_http.answers[("GET", f"/api/v1/shops/{shop_id}")] = (200, shop(shop_id, locale="fr"))
    body = "\ufeffCommande,Nom\r\nR00000001,Martin\r\n".encode()
    fake_http.answers[("GET", f"{reports(shop_id)}/packing-list.csv")] = (200, body)
    resp = manager.get(f"/manage/shops/{shop_id}/reports/{CYCLE}/packing-list.csv")
    assert resp.status_code == 200 and resp.data == body
    assert resp.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert resp.headers["Content-Disposition"] == 'attachment; filename="report.csv"'
    sent = fake_http.sent[-1]
    assert sent["params"] == {"lang": "fr"} and sent["headers"]["Authorization"] == "Bearer rop_manager"
    assert manager.get(f"/manage/shops/{shop_id}/reports/{CYCLE}/everything.csv").status_code == 404


def test_a_report_of_a_cycle_order_service_does_not_know_is_not_found(manager, shop_id):
    assert manager.get(f"/manage/shops/{shop_id}/reports/{CYCLE}/packing-list").status_code == 404
    assert manager.get(f"/manage/shops/{shop_id}/reports/{CYCLE}/orders.csv").status_code == 404


def test_a_refused_page_cursor_goes_back_to_the_first_page(manager, fake_http, shop_id):
    fake_http.answers[("GET", f"{reports(shop_id)}/orders")] = (400, {"title": "Bad cursor", "status": 400})
    resp = manager.get(f"/manage/shops/{shop_id}/reports/{CYCLE}/orders?cursor=old")
    assert resp.status_code == 303 and resp.headers["Location"] == f"/manage/shops/{shop_id}/reports/{CYCLE}/orders"


def test_a_download_the_service_refuses_raises_its_problem(make_app, fake_http):
    app = make_app()
    fake_http.answers[("GET", "/api/v1/x.csv")] = (403, {"title": "Not allowed", "status": 403, "detail": "no"})
    api = Api(app.extensions["web_settings"], "rop_manager", http=fake_http)
    with pytest.raises(ApiError) as refused:
        api.download("orders", "/api/v1/x.csv", lang="en", cursor=None)
    assert (refused.value.status, refused.value.detail) == (403, "no")
    assert fake_http.sent[-1]["params"] == {"lang": "en"}


def test_another_shops_reports_are_not_there(manager, fake_http):
    other = str(uuid.uuid4())
    assert manager.get(f"/manage/shops/{other}/reports").status_code == 404
    assert manager.get(f"/manage/shops/{other}/reports/{CYCLE}/packing-list.csv").status_code == 404



def test_the_product_totals_show_each_products_and_producers_tax_as_order_service_adds_it(manager, fake_http,
                                                                                           shop_id, text_of):
    eggs = {"variant_id": "eggs", "product_name": "Eggs", "variant_name": "x6", "supplier": "Ferme du Pré",
            "quantity": 3, "orders": 2, "amount": 960, "tax": 50}
    fake_http.answers[("GET", f"{reports(shop_id)}/product-totals")] = (200, {
        "order_cycle": cycle(), "totals": {"products": 1, "quantity": 3, "amount": 960, "tax": 50},
        "suppliers": [{"supplier": "Ferme du Pré", "quantity": 3, "amount": 960, "tax": 50, "products": [eggs]}]})
    text = text_of(manager.get(f"/manage/shops/{shop_id}/reports/{CYCLE}/product-totals").get_data(as_text=True))
    assert "1 products, 3 items, €9.60 in all. Tax: €0.50." in text
    assert "Product Quantity Amount Tax Eggs (x6) in 2 orders 3 €9.60 €0.50 Total 3 €9.60 €0.50" in text
