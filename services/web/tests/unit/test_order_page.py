"""The customer's order page from order-service's answers (the shapes its API documents): what is shown, what each
button sends (with the version shown as If-Match), what a refusal becomes (next to its field, in the customer's
words, the order shown as it is), and where a person without a session goes and comes back to."""

from __future__ import annotations

import html as htmllib
import re
from urllib.parse import parse_qs, urlsplit

import pytest

ORDER_ID = "7b0c3f2e-0000-4000-8000-000000000001"


def order(**kw):
    body = {
        "order_id": ORDER_ID, "number": "R00000042", "status": "placed", "cancel_cause": None, "currency": "EUR",
        "order_cycle_name": "Semaine 14", "closes_at": "2026-12-11T15:00:00+00:00", "cancelled_at": None,
        "editable": {"by_manager": True, "by_customer": True}, "version": 3,
        "totals": {"item_total": 2700, "shipping_fee": 500, "payment_fee": 0, "total": 3200},
        "lines": [{"line_id": "l-1", "variant_id": "box", "name": "Panier", "unit_price": 2000,
                   "requested_quantity": 1, "quantity": 1, "total": 2000, "capped": False},
                  {"line_id": "l-2", "variant_id": "eggs", "name": "Oeufs", "unit_price": 350,
                   "requested_quantity": 3, "quantity": 2, "total": 700, "capped": True}],
    }
    body.update(kw)
    return body


def signed_in_as(signed_in_by_link, fake_http, shop_id, locale):
    client = signed_in_by_link("customer", customer_id="cust-1")
    base = f"/api/v1/shops/{shop_id}"
    fake_http.answers[("GET", base)] = (200, {"id": shop_id, "name": "La Ruche", "locale": "en",
                                              "timezone": "Europe/Paris", "currency": "EUR"})
    fake_http.answers[("GET", f"{base}/customers/cust-1")] = (200, {"id": "cust-1", "first_name": "Ann",
                                                                    "last_name": "Martin", "locale": locale,
                                                                    "email": "ann@example.org"})
    fake_http.answers[("GET", f"{base}/orders/{ORDER_ID}")] = (200, order())
    return client


@pytest.fixture
def english(signed_in_by_link, fake_http, shop_id):
    return signed_in_as(signed_in_by_link, fake_http, shop_id, "en")


@pytest.fixture
def french(signed_in_by_link, fake_http, shop_id):
    return signed_in_as(signed_in_by_link, fake_http, shop_id, "fr")


def test_the_order_shows_its_lines_totals_and_close_in_the_shops_time_and_the_customers_money(
        english, shop_id, text_of):
    resp = english.get(f"/shops/{shop_id}/orders/{ORDER_ID}")
    text = text_of(resp.get_data(as_text=True))
    assert resp.status_code == 200
    assert "Order R00000042" in text and "Semaine 14" in text
    assert "Panier €20.00 each 1 €20.00" in text
    assert "Out of stock: you asked for 3, only 2 could be had." in text
    assert "Total €32.00" in text
    assert "until orders close, Fri, Dec 11, 2026, 4:00 PM" in text  # 15:00 UTC is 16:00 in Paris
    assert "Change the quantity" in text and "Remove Oeufs" in text and "Cancel the order" in text


def test_the_same_order_in_french(french, shop_id, text_of):
    html = french.get(f"/shops/{shop_id}/orders/{ORDER_ID}").get_data(as_text=True)
    text = text_of(html)
    assert 'lang="fr"' in html and "Commande R00000042" in text
    assert "Total 32,00 €" in text and "ven. 11 déc. 2026, 16:00" in text
    assert "Modifier la quantité" in text and "Annuler la commande" in text


def test_a_quantity_change_is_sent_with_the_version_shown_and_comes_back_to_the_order(
        english, fake_http, shop_id, csrf_in, sent):
    path = f"/api/v1/shops/{shop_id}/orders/{ORDER_ID}"
    fake_http.answers[("PATCH", f"{path}/lines/l-2")] = (200, order(version=4))
    page = f"/shops/{shop_id}/orders/{ORDER_ID}"
    action = f"{page}/lines/l-2"
    html = english.get(page).get_data(as_text=True)
    resp = english.post(action, data={**csrf_in(html, action), "line-l-2-quantity": "3",
                                      "line-l-2-version": "3"})
    assert resp.status_code == 303 and resp.headers["Location"] == page
    [patch] = sent(fake_http, "PATCH")
    assert patch["json"] == {"quantity": 3} and patch["headers"]["If-Match"] == '"3"'
    assert patch["headers"]["Authorization"] == "Bearer rop_customer_session"
    assert "The quantity is changed." in english.get(page).get_data(as_text=True)


def test_a_quantity_refused_for_stock_is_shown_by_its_field_in_french_and_nothing_else_is_sent(french, fake_http,
                                                                                              shop_id, csrf_in, sent):
    path = f"/api/v1/shops/{shop_id}/orders/{ORDER_ID}"
    fake_http.answers[("PATCH", f"{path}/lines/l-2")] = (422, {
        "type": "https://docs.recurring-orders.example/problems/validation", "title": "Validation failed",
        "status": 422, "errors": {"quantity": ["At most 4 available."]}})
    page = f"/shops/{shop_id}/orders/{ORDER_ID}"
    action = f"{page}/lines/l-2"
    html = french.get(page).get_data(as_text=True)
    resp = french.post(action, data={**csrf_in(html, action), "line-l-2-quantity": "9",
                                     "line-l-2-version": "3"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    error = re.search(r'<p id="line-l-2-quantity-error" class="error-message">(.*?)</p>', html, re.S).group(1)
    assert "Seulement 4 disponibles : choisissez 4 ou moins." in htmllib.unescape(error).replace("\xa0", " ")
    assert 'href="#line-l-2-quantity"' in html and "Rien n'a été modifié." in htmllib.unescape(html)
    assert 'value="9"' in html  # what was typed is kept
    assert "At most" not in html and len(sent(fake_http, "PATCH")) == 1


def test_a_quantity_that_is_not_a_number_is_refused_before_anything_is_sent(english, fake_http, shop_id, csrf_in, sent):
    page = f"/shops/{shop_id}/orders/{ORDER_ID}"
    action = f"{page}/lines/l-1"
    html = english.get(page).get_data(as_text=True)
    for typed in ("", "0", "two"):
        resp = english.post(action, data={**csrf_in(html, action), "line-l-1-quantity": typed,
                                          "line-l-1-version": "3"})
        assert resp.status_code == 422 and 'id="line-l-1-quantity-error"' in resp.get_data(as_text=True)
    assert sent(fake_http, "PATCH") == []


def test_removing_the_last_line_is_refused_by_its_button_in_the_customers_words(english, fake_http, shop_id, csrf_in):
    path = f"/api/v1/shops/{shop_id}/orders/{ORDER_ID}"
    fake_http.answers[("DELETE", f"{path}/lines/l-1")] = (422, {
        "type": "https://docs.recurring-orders.example/problems/validation", "title": "Validation failed",
        "status": 422, "detail": "Cannot remove the final item from an order, please cancel the order instead.",
        "errors": {"line_id": ["Cannot remove the final item from an order, please cancel the order instead."]}})
    page = f"/shops/{shop_id}/orders/{ORDER_ID}"
    action = f"{page}/lines/l-1/remove"
    html = english.get(page).get_data(as_text=True)
    resp = english.post(action, data={**csrf_in(html, action), "remove-l-1-version": "3"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert ('id="remove-l-1-error" class="error-message"><span class="visually-hidden">Error:</span> This is the '
            "last product of your order, so it cannot be removed. Cancel the order instead.") in html
    assert 'href="#remove-l-1"' in html and "please cancel" not in html


@pytest.mark.parametrize(("answer", "english_words"), [
    ((409, {"type": "https://docs.recurring-orders.example/problems/order-closed", "status": 409,
            "detail": "The order cycle closed at 2026-12-11 15:00 UTC: order R00000042 can no longer be changed."}),
     "Orders for this delivery have closed: this order can no longer be changed."),
    ((403, {"type": "https://docs.recurring-orders.example/problems/forbidden", "status": 403,
            "detail": "This shop does not allow customers to change or cancel their orders; please contact the "
                      "shop."}),
     "This shop does not let customers change or cancel their orders."),
    ((412, {"type": "https://docs.recurring-orders.example/problems/stale-version", "status": 412,
            "detail": 'You sent If-Match "3" but the current version is "4".'}),
     "This order changed since you opened the page"),
])
def test_a_refused_cancel_says_why_by_its_button(english, fake_http, shop_id, answer, english_words, csrf_in):
    fake_http.answers[("POST", f"/api/v1/shops/{shop_id}/orders/{ORDER_ID}/cancel")] = answer
    page = f"/shops/{shop_id}/orders/{ORDER_ID}"
    action = f"{page}/cancel"
    html = english.get(page).get_data(as_text=True)
    resp = english.post(action, data={**csrf_in(html, action), "order-version": "3"})
    html = htmllib.unescape(resp.get_data(as_text=True))
    assert resp.status_code == 422
    error = re.search(r'<p id="order-actions-error" class="error-message">(.*?)</p>', html, re.S).group(1)
    assert english_words in error
    assert answer[1]["detail"] not in html


def test_the_page_says_why_the_order_cannot_be_changed(english, fake_http, shop_id, text_of):
    path = f"/api/v1/shops/{shop_id}/orders/{ORDER_ID}"
    page = f"/shops/{shop_id}/orders/{ORDER_ID}"
    cases = [
        (order(status="confirmed", editable={"by_manager": False, "by_customer": False}), "Orders for this delivery "
         "closed"),
        (order(editable={"by_manager": True, "by_customer": False}), "This shop does not let customers change"),
        (order(status="cancelled", cancel_cause="manager", editable={"by_manager": True, "by_customer": False}),
         "only the shop can resume it"),
        (order(status="empty", editable={"by_manager": False, "by_customer": False}), "this order is empty"),
    ]
    for body, why in cases:
        fake_http.answers[("GET", path)] = (200, body)
        text = text_of(english.get(page).get_data(as_text=True))
        assert why in text
        assert "Change the quantity" not in text and "Cancel the order" not in text and "Resume" not in text
    fake_http.answers[("GET", path)] = (200, order(status="cancelled", cancel_cause="customer"))
    text = text_of(english.get(page).get_data(as_text=True))
    assert "Resume the order" in text and "Change the quantity" not in text


def test_without_a_session_the_order_asks_for_a_sign_in_link_and_keeps_the_order_as_where_to_go(client, csrf_of,
                                                                                                shop_id):
    page = f"/shops/{shop_id}/orders/{ORDER_ID}"
    resp = client.get(page)
    assert resp.status_code == 302
    where = urlsplit(resp.headers["Location"])
    assert where.path == f"/shops/{shop_id}/sign-in" and parse_qs(where.query)["next"] == [page]
    token = csrf_of(client.get(f"/shops/{shop_id}/sign-in").get_data(as_text=True))
    for action in ("cancel", "resume", "lines/l-1", "lines/l-1/remove"):  # a post: back to its page, not the post
        resp = client.post(f"{page}/{action}", data={"csrf_token": token})
        assert resp.status_code == 302 and parse_qs(urlsplit(resp.headers["Location"]).query)["next"] == [page]


def test_a_session_the_api_ended_asks_for_a_new_link_then_comes_back_to_the_order(english, fake_http, shop_id):
    fake_http.answers[("GET", f"/api/v1/shops/{shop_id}/orders/{ORDER_ID}")] = (401, {
        "type": "https://docs.recurring-orders.example/problems/unauthorized", "status": 401})
    with english.session_transaction() as session:
        session["signed_in_at"] -= 3600  # not a session just issued (those wait for the service to hear of them)
    page = f"/shops/{shop_id}/orders/{ORDER_ID}"
    resp = english.get(page)
    where = urlsplit(resp.headers["Location"])
    assert where.path == f"/shops/{shop_id}/sign-in" and parse_qs(where.query)["next"] == [page]
    with english.session_transaction() as session:
        assert "token" not in session  # signed out here too


def test_the_subscriptions_page_links_each_delivery_with_an_order_to_it(english, fake_http, shop_id):
    base = f"/api/v1/shops/{shop_id}"
    sub = {"id": "sub-1", "state": "active", "schedule_name": "Panier hebdo", "currency": "EUR",
           "created_at": "2026-11-01T10:00:00+00:00", "begins_at": "2026-11-02T09:00:00+00:00", "ends_at": None,
           "paused_at": None, "cancelled_at": None, "items": [], "estimate": None}
    fake_http.answers[("GET", f"{base}/subscriptions")] = (200, {"items": [sub], "next_cursor": None})
    placed = {"order_cycle_name": "Semaine 14", "cycle_status": "open", "state": "placed",
              "closes_at": "2026-12-11T15:00:00+00:00", "total": 3200, "total_is_estimate": False,
              "order": {"id": ORDER_ID, "number": "R00000042", "status": "placed"}}
    upcoming = dict(placed, order_cycle_name="Semaine 15", state="pending", order=None)
    fake_http.answers[("GET", f"{base}/subscriptions/sub-1/occurrences")] = (200, {"items": [placed, upcoming],
                                                                                   "next_cursor": None})
    html = english.get(f"/shops/{shop_id}/subscriptions").get_data(as_text=True)
    assert html.count("/orders/") == 1
    assert f'<a href="/shops/{shop_id}/orders/{ORDER_ID}">See order R00000042</a>' in html


def test_a_session_just_issued_waits_for_order_service_to_hear_of_it_an_old_one_does_not(english, fake_http,
                                                                                         shop_id):
    path = f"/api/v1/shops/{shop_id}/orders/{ORDER_ID}"
    answers = iter([(401, {"status": 401}), (401, {"status": 401}), (200, order())])
    fake_http.answers[("GET", path)] = lambda _json: next(answers)
    page = f"/shops/{shop_id}/orders/{ORDER_ID}"
    resp = english.get(page)  # signed in a moment ago: identity.events has not reached order-service yet
    assert resp.status_code == 200 and sum(1 for s in fake_http.sent if s["path"] == path) == 3

    with english.session_transaction() as session:
        session["signed_in_at"] -= 3600  # an hour-old session that order-service refuses has ended
    fake_http.answers[("GET", path)] = (401, {"status": 401})
    before = len(fake_http.sent)
    resp = english.get(page)
    assert resp.status_code == 302 and "/sign-in?next=" in resp.headers["Location"]
    assert sum(1 for s in fake_http.sent[before:] if s["path"] == path) == 1


def test_an_order_or_line_address_that_is_not_an_id_is_not_found_and_nothing_is_sent(english, fake_http, shop_id):
    assert english.get(f"/shops/{shop_id}/orders/not-an-order").status_code == 404
    html = english.get(f"/shops/{shop_id}/orders/{ORDER_ID}").get_data(as_text=True)
    token = re.search(r'name="([\w-]*csrf_token)" type="hidden" value="([^"]+)"', html)
    before = len(fake_http.sent)
    resp = english.post(f"/shops/{shop_id}/orders/{ORDER_ID}/lines/..%2E", data={token.group(1): token.group(2)})
    assert resp.status_code == 404 and len(fake_http.sent) == before


@pytest.mark.parametrize(("locale", "words"), [("en", "Poivrons instead of Tomates €4.50 each"),
                                               ("fr", "Poivrons à la place de Tomates 4,50 € l'unité")])
def test_a_line_placed_as_a_substitute_says_what_it_stands_in_for(signed_in_by_link, fake_http, shop_id, text_of,
                                                                   locale, words):
    client = signed_in_as(signed_in_by_link, fake_http, shop_id, locale)
    substituted = {"line_id": "l-3", "variant_id": "peppers", "name": "Poivrons", "unit_price": 450,
                   "requested_quantity": 2, "quantity": 2, "total": 900, "capped": False,
                   "substitute_for": {"variant_id": "tomatoes", "name": "Tomates"}}
    fake_http.answers[("GET", f"/api/v1/shops/{shop_id}/orders/{ORDER_ID}")] = (200, order(
        lines=[*order()["lines"], substituted]))
    text = text_of(client.get(f"/shops/{shop_id}/orders/{ORDER_ID}").get_data(as_text=True))
    assert words in text


def test_the_subscriptions_page_shows_each_products_substitutes_and_an_old_line_of_quantity_0(
        english, fake_http, shop_id, text_of):
    base = f"/api/v1/shops/{shop_id}"
    items = [{"variant_id": "tomatoes", "quantity": 2, "price_estimate": 300, "total_estimate": 600,
              "name": "Tomatoes", "available": True, "substitutes": ["peppers", "gone"],
              "substitute_names": ["Peppers", None]},
             {"variant_id": "eggs", "quantity": 0, "price_estimate": 320, "total_estimate": 0, "name": "Eggs",
              "available": True, "substitutes": [], "substitute_names": []}]
    sub = {"id": "sub-1", "state": "active", "schedule_name": "Panier hebdo", "currency": "EUR",
           "created_at": "2026-11-01T10:00:00+00:00", "begins_at": "2026-11-02T09:00:00+00:00", "ends_at": None,
           "paused_at": None, "cancelled_at": None, "items": items, "estimate": None}
    fake_http.answers[("GET", f"{base}/subscriptions")] = (200, {"items": [sub], "next_cursor": None})
    fake_http.answers[("GET", f"{base}/subscriptions/sub-1/occurrences")] = (200, {"items": [], "next_cursor": None})
    text = text_of(english.get(f"/shops/{shop_id}/subscriptions").get_data(as_text=True))
    assert "If it cannot be had: Peppers, gone" in text
    assert "Quantity 0: never ordered. Ask the shop to change its quantity or remove it." in text
PDF = b"%PDF-1.7 receipt"


def test_a_paid_order_links_its_invoice_in_the_customers_language_and_the_link_passes_the_pdf_on(
        french, fake_http, shop_id):
    base = f"/api/v1/shops/{shop_id}/orders/{ORDER_ID}"
    fake_http.answers[("GET", base)] = (200, order(status="confirmed", receipt={
        "paid_at": "2026-12-11T15:01:00+00:00", "amount": 3200, "invoice_number": 7}))
    page = french.get(f"/shops/{shop_id}/orders/{ORDER_ID}").get_data(as_text=True)
    link = f'href="/shops/{shop_id}/orders/{ORDER_ID}/receipt.pdf" download'
    assert link in page and "Télécharger la facture n° 7 (PDF)" in page

    fake_http.answers[("GET", f"{base}/receipt.pdf")] = (200, PDF)
    resp = french.get(f"/shops/{shop_id}/orders/{ORDER_ID}/receipt.pdf")
    assert resp.status_code == 200 and resp.data == PDF and resp.mimetype == "application/pdf"
    sent = fake_http.sent[-1]
    assert sent["params"] == {"lang": "fr"} and sent["headers"]["Accept"].startswith("application/pdf")


def test_an_order_not_paid_has_no_receipt_link_and_its_receipt_is_not_found(english, fake_http, shop_id):
    page = english.get(f"/shops/{shop_id}/orders/{ORDER_ID}").get_data(as_text=True)
    assert "receipt.pdf" not in page and "Download the receipt" not in page
    fake_http.answers[("GET", f"/api/v1/shops/{shop_id}/orders/{ORDER_ID}/receipt.pdf")] = (
        404, {"title": "Not found", "status": 404})
    assert english.get(f"/shops/{shop_id}/orders/{ORDER_ID}/receipt.pdf").status_code == 404


def taxed_order(include: bool) -> dict:
    """The French demo's order: a box at 5.5 %, eggs at 20 %, delivery at 20 %; the tax per line, as order-service
    sends it (shared_events.money's rule)."""
    lines = order()["lines"]
    lines[0].update(tax_category="reduced", tax_rate_bp=550, tax=104 if include else 110)
    lines[1].update(tax_category="standard", tax_rate_bp=2000, tax=117 if include else 140)
    totals = {"item_total": 2700, "shipping_fee": 500, "payment_fee": 0, "shipping_tax": 83 if include else 100}
    totals["tax_total"] = lines[0]["tax"] + lines[1]["tax"] + totals["shipping_tax"]
    totals["total"] = 3200 if include else 3200 + totals["tax_total"]
    return order(lines=lines, totals=totals, prices_include_tax=include)


def test_an_order_whose_prices_exclude_tax_shows_each_lines_rate_and_tax_and_adds_the_tax_to_the_total(
        english, fake_http, shop_id, text_of):
    fake_http.answers[("GET", f"/api/v1/shops/{shop_id}/orders/{ORDER_ID}")] = (200, taxed_order(False))
    text = text_of(english.get(f"/shops/{shop_id}/orders/{ORDER_ID}").get_data(as_text=True))
    assert "Prices exclude tax: the tax is added to the total." in text
    assert "Panier €20.00 each Tax 5.5%: €1.10 1 €20.00" in text
    assert "Oeufs €3.50 each Tax 20%: €1.40" in text
    assert "Delivery tax: €1.00 €5.00 Tax €3.50 Total €35.50" in text  # the fee's tax told by the fee


def test_an_order_whose_prices_include_tax_says_how_much_of_its_total_is_tax_in_french(
        french, fake_http, shop_id, text_of):
    fake_http.answers[("GET", f"/api/v1/shops/{shop_id}/orders/{ORDER_ID}")] = (200, taxed_order(True))
    text = text_of(french.get(f"/shops/{shop_id}/orders/{ORDER_ID}").get_data(as_text=True)).replace("\u202f", " ")
    assert "Les prix sont TTC." in text
    assert "TVA 5,5 % incluse : 1,04 €" in text
    assert "Total 32,00 € Dont TVA 3,04 €" in text


def test_an_order_placed_before_tax_existed_reads_as_it_always_did(english, shop_id, text_of):
    text = text_of(english.get(f"/shops/{shop_id}/orders/{ORDER_ID}").get_data(as_text=True))
    assert "Tax" not in text and "Prices exclude tax" not in text and "Not taxed" not in text
