"""Orders of a cycle in the managers' console, from the APIs' answers (the shapes they document): the cycle picker,
the counts by state, the list a page at a time, and an order's page: what it shows (issues in the manager's words),
what each form sends (If-Match: the version shown), and what a refusal becomes (a stale form says so, by the form,
with the order as it is now)."""

from __future__ import annotations

import html as htmllib
import re
import uuid

import pytest

OPEN, CLOSED = str(uuid.uuid4()), str(uuid.uuid4())
ORDER_ID = "7b0c3f2e-0000-4000-8000-000000000042"


def as_manager(client, *shop_ids: str, role: str = "manager") -> None:
    with client.session_transaction() as session:
        session.update(token="rop_manager", token_id=str(uuid.uuid4()), role=role, shop_ids=list(shop_ids),
                       customer_id="cust-1" if role == "customer" else None, signed_in_at=0)


def cycle(cycle_id, name, status, closes_at):
    return {"id": cycle_id, "name": name, "status": status, "closes_at": closes_at, "opens_at": closes_at}


def order_summary(n, status="placed", issues=0):
    return {"order_id": f"7b0c3f2e-0000-4000-8000-{n:012d}", "number": f"R{n:08d}", "status": status,
            "currency": "EUR", "customer": {"first_name": "Ann", "last_name": f"Martin{n}", "email": f"ann{n}@ex.org"},
            "totals": {"total": 3200}, "update_issue_count": issues, "capped": False}


def order(**kw):
    body = {
        "order_id": ORDER_ID, "number": "R00000042", "status": "placed", "cancel_cause": None, "currency": "EUR",
        "order_cycle_id": OPEN, "order_cycle_name": "Semaine 14", "closes_at": "2026-12-11T15:00:00+00:00",
        "cancelled_at": None, "editable": {"by_manager": True, "by_customer": False}, "version": 3,
        "customer": {"first_name": "Ann", "last_name": "Martin", "email": "ann@example.org"},
        "totals": {"item_total": 2700, "shipping_fee": 500, "payment_fee": 0, "total": 3200},
        "lines": [{"line_id": "l-1", "variant_id": "box", "name": "Panier", "unit_price": 2000,
                   "requested_quantity": 1, "quantity": 1, "total": 2000, "capped": False, "edited_by": None},
                  {"line_id": "l-2", "variant_id": "eggs", "name": "Oeufs", "unit_price": 350,
                   "requested_quantity": 3, "quantity": 2, "total": 700, "capped": True, "edited_by": "manager"}],
        "update_issues": [{"issue_event_id": "e1", "subscription_event_id": "s1", "kind": "line_hand_edited",
                           "variant_id": "eggs", "message": "Oeufs: the quantity was changed by hand...",
                           "recorded_at": "2026-12-09T10:00:00+00:00"}],
    }
    body.update(kw)
    return body


@pytest.fixture
def api(fake_http, shop_id):
    base = f"/api/v1/shops/{shop_id}"
    answers = fake_http.answers
    answers[("GET", base)] = (200, {"id": shop_id, "name": "La Ruche", "locale": "en", "timezone": "Europe/Paris",
                                    "currency": "EUR"})
    answers[("GET", f"{base}/order-cycles")] = (200, {"items": [
        cycle(OPEN, "Semaine 14", "open", "2026-12-11T15:00:00+00:00"),
        cycle(CLOSED, "Semaine 13", "closed", "2026-12-04T15:00:00+00:00")], "next_cursor": None})
    answers[("GET", f"{base}/order-cycles/{OPEN}/order-counts")] = (200, {
        "order_cycle_id": OPEN, "open": True, "counts": {"placed": 2, "confirmed": 0, "cancelled": 1, "empty": 1,
                                                        "orders": 4, "with_update_issues": 1}})
    answers[("GET", f"{base}/orders")] = (200, {"items": [order_summary(1), order_summary(2, issues=2)],
                                                "next_cursor": "c-2"})
    answers[("GET", f"{base}/orders/{ORDER_ID}")] = (200, order())
    answers[("GET", f"{base}/orders/{ORDER_ID}/products-to-add")] = (200, {"items": [
        {"variant_id": "jam", "name": "Confiture", "unit_price": 450, "available": 3},
        {"variant_id": "honey", "name": "Miel", "unit_price": 900, "available": None}]})
    return fake_http


@pytest.fixture
def manager(client, api, shop_id):
    as_manager(client, shop_id)
    return client


def text_of(html: str) -> str:
    return htmllib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))).replace("\xa0", " ")


def csrf_in(html: str, action: str) -> dict[str, str]:
    form = html.split(f'action="{action}"', 1)[1]
    found = re.search(r'name="([\w-]*csrf_token)" type="hidden" value="([^"]+)"', form)
    assert found, action
    return {found.group(1): found.group(2)}


def sent(fake_http, method, path=None):
    return [s for s in fake_http.sent if s["method"] == method and (path is None or s["path"] == path)]


def test_the_orders_page_opens_the_open_cycle_with_its_counts_by_state_and_a_page_of_its_orders(manager, api,
                                                                                                shop_id):
    resp = manager.get(f"/manage/shops/{shop_id}/orders")
    html = resp.get_data(as_text=True)
    text = text_of(html)
    assert resp.status_code == 200
    assert f'<option value="{OPEN}" selected>' in html
    assert "Semaine 14, open until Fri, Dec 11, 2026, 4:00 PM" in text  # the shop's time zone
    assert "Semaine 13, closed Fri, Dec 4, 2026, 4:00 PM" in text
    assert "All (4) Placed (2) Confirmed (0) Cancelled (1) Empty (1)" in text
    assert "1 order has update issues" in text
    assert "R00000001" in text and "Martin2" in text and "2 update issues" in text and "€32.00" in text
    [listed] = sent(api, "GET", f"/api/v1/shops/{shop_id}/orders")
    assert listed["params"] == {"order_cycle_id": OPEN, "limit": 50}
    assert listed["headers"]["Authorization"] == "Bearer rop_manager"
    assert f"cycle={OPEN}&amp;cursor=c-2" in html and "Next page" in text


def test_a_state_and_the_next_page_are_asked_of_the_api_and_a_cursor_it_refuses_goes_back_to_page_one(
        manager, api, shop_id):
    page = manager.get(f"/manage/shops/{shop_id}/orders?cycle={CLOSED}&state=cancelled&cursor=c-2")
    assert page.status_code == 200
    [listed] = sent(api, "GET", f"/api/v1/shops/{shop_id}/orders")
    assert listed["params"] == {"order_cycle_id": CLOSED, "status": "cancelled", "limit": 50, "cursor": "c-2"}
    html = page.get_data(as_text=True)
    assert 'id="state-cancelled" aria-current="page"' in html and "First page" in text_of(html)
    assert "Closed Fri, Dec 4, 2026, 4:00 PM: its orders can no longer be changed." in text_of(html)

    api.answers[("GET", f"/api/v1/shops/{shop_id}/orders")] = (400, {
        "type": "https://docs.recurring-orders.example/problems/bad-cursor", "title": "Bad cursor", "status": 400})
    back = manager.get(f"/manage/shops/{shop_id}/orders?cycle={OPEN}&state=placed&cursor=forged")
    assert back.status_code == 303
    assert back.headers["Location"] == f"/manage/shops/{shop_id}/orders?cycle={OPEN}&state=placed"


def test_a_cycle_that_is_not_the_shops_is_not_found_and_a_shop_without_cycles_says_so(manager, api, shop_id):
    assert manager.get(f"/manage/shops/{shop_id}/orders?cycle={uuid.uuid4()}").status_code == 404
    api.answers[("GET", f"/api/v1/shops/{shop_id}/order-cycles")] = (200, {"items": [], "next_cursor": None})
    text = text_of(manager.get(f"/manage/shops/{shop_id}/orders").get_data(as_text=True))
    assert "No order cycle has opened yet" in text


def test_a_cycle_order_service_has_not_heard_of_yet_counts_no_orders(manager, api, shop_id):
    api.answers[("GET", f"/api/v1/shops/{shop_id}/orders")] = (200, {"items": [], "next_cursor": None})
    text = text_of(manager.get(f"/manage/shops/{shop_id}/orders?cycle={CLOSED}").get_data(as_text=True))
    assert "All (0) Placed (0)" in text and "This cycle has no orders yet." in text


def test_only_the_shops_managers_see_its_orders(client, api, shop_id):
    resp = client.get(f"/manage/shops/{shop_id}/orders")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/manage/sign-in")
    as_manager(client, str(uuid.uuid4()))
    assert client.get(f"/manage/shops/{shop_id}/orders/{ORDER_ID}").status_code == 404
    assert not api.sent


def test_an_order_shows_its_customer_lines_update_issues_in_words_and_what_can_be_added(manager, shop_id):
    html = manager.get(f"/manage/shops/{shop_id}/orders/{ORDER_ID}").get_data(as_text=True)
    text = text_of(html)
    assert "Order R00000042" in text and "Ann Martin, ann@example.org" in text
    assert "Oeufs: changed by hand on this order, so the subscription's change was not applied to it." in text
    assert "Out of stock: the customer asked for 3, only 2 could be had." in text
    assert "Changed by the shop" in text and "Total €32.00" in text
    assert "can be changed until Fri, Dec 11, 2026, 4:00 PM" in text
    assert "Confiture, €4.50 (3 left)" in text and "Miel, €9.00" in text
    assert "Change the quantity" in text and "Remove Oeufs" in text and "Cancel the order" in text


def test_a_product_withdrawn_from_the_catalog_after_placement_is_an_update_issue_in_the_managers_words(
        manager, api, shop_id):
    path = f"/api/v1/shops/{shop_id}/orders/{ORDER_ID}"
    api.answers[("GET", path)] = (200, order(update_issues=[{
        "issue_event_id": "e2", "subscription_event_id": "c1", "kind": "line_withdrawn", "variant_id": "honey",
        "message": "Honey: deleted from the catalog after the order was placed...",
        "recorded_at": "2026-12-09T11:00:00+00:00"}]))
    text = text_of(manager.get(f"/manage/shops/{shop_id}/orders/{ORDER_ID}").get_data(as_text=True))
    assert ("honey: deleted from the catalog or made unavailable after the order was placed, so it was taken off "
            "this order and the customer was told; nothing is charged for it.") in text


def test_a_closed_or_empty_order_offers_no_change_and_says_why(manager, api, shop_id):
    path = f"/api/v1/shops/{shop_id}/orders/{ORDER_ID}"
    api.answers[("GET", path)] = (200, order(status="confirmed", editable={"by_manager": False,
                                                                            "by_customer": False}))
    text = text_of(manager.get(f"/manage/shops/{shop_id}/orders/{ORDER_ID}").get_data(as_text=True))
    assert "this order can no longer be changed" in text
    assert "Change the quantity" not in text and "Cancel the order" not in text and "Add a product" not in text
    assert not sent(api, "GET", f"{path}/products-to-add")
    api.answers[("GET", path)] = (200, order(status="empty", editable={"by_manager": False, "by_customer": False}))
    assert "this order is empty" in text_of(manager.get(f"/manage/shops/{shop_id}/orders/{ORDER_ID}"
                                                        ).get_data(as_text=True))


def test_adding_a_product_sends_it_with_the_version_shown_and_comes_back_saying_so(manager, api, shop_id):
    path = f"/api/v1/shops/{shop_id}/orders/{ORDER_ID}"
    api.answers[("POST", f"{path}/lines")] = (201, order(version=4))
    page = f"/manage/shops/{shop_id}/orders/{ORDER_ID}"
    html = manager.get(page).get_data(as_text=True)
    resp = manager.post(f"{page}/lines", data={**csrf_in(html, f"{page}/lines"), "add-variant_id": "jam",
                                                "add-quantity": "2", "add-version": "3"})
    assert resp.status_code == 303 and resp.headers["Location"] == page
    [post] = sent(api, "POST", f"{path}/lines")
    assert post["json"] == {"variant_id": "jam", "quantity": 2} and post["headers"]["If-Match"] == '"3"'
    assert "The product is added to the order." in text_of(manager.get(page).get_data(as_text=True))


def test_a_stale_form_says_the_order_changed_by_the_form_and_shows_the_order_as_it_is_now(manager, api, shop_id):
    path = f"/api/v1/shops/{shop_id}/orders/{ORDER_ID}"
    api.answers[("PATCH", f"{path}/lines/l-2")] = (412, {
        "type": "https://docs.recurring-orders.example/problems/stale-version", "title": "Precondition failed",
        "status": 412, "detail": 'You sent If-Match "3" but the current version is "5".'})
    page = f"/manage/shops/{shop_id}/orders/{ORDER_ID}"
    html = manager.get(page).get_data(as_text=True)
    api.answers[("GET", path)] = (200, order(version=5, lines=[
        {**order()["lines"][1], "quantity": 1, "requested_quantity": 1, "total": 350}]))
    resp = manager.post(f"{page}/lines/l-2", data={**csrf_in(html, f"{page}/lines/l-2"), "line-l-2-quantity": "4",
                                                   "line-l-2-version": "3"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    error = re.search(r'<p id="line-l-2-quantity-error" class="error-message">(.*?)</p>', html, re.S).group(1)
    assert "This order changed since you opened the page: here it is as it is now." in text_of(error)
    assert 'href="#line-l-2-quantity"' in html  # the summary links to the field
    assert 'name="line-l-2-version" type="hidden" value="5"' in html  # sent again, it applies to what is shown
    assert 'value="4"' in html  # what the manager typed is kept
    assert "Panier" not in text_of(html)  # the order as it is now: one line left


def test_a_refused_product_is_told_by_its_field_in_french(manager, api, shop_id):
    api.answers[("GET", f"/api/v1/shops/{shop_id}")] = (200, {"id": shop_id, "name": "La Ruche", "locale": "fr",
                                                              "timezone": "Europe/Paris", "currency": "EUR"})
    path = f"/api/v1/shops/{shop_id}/orders/{ORDER_ID}"
    api.answers[("POST", f"{path}/lines")] = (422, {
        "type": "https://docs.recurring-orders.example/problems/validation", "title": "Validation failed",
        "status": 422, "errors": {"quantity": ["At most 3 available."]}})
    page = f"/manage/shops/{shop_id}/orders/{ORDER_ID}"
    html = manager.get(page).get_data(as_text=True)
    resp = manager.post(f"{page}/lines", data={**csrf_in(html, f"{page}/lines"), "add-variant_id": "jam",
                                                "add-quantity": "9", "add-version": "3"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and 'lang="fr"' in html
    error = re.search(r'<p id="add-quantity-error" class="error-message">(.*?)</p>', html, re.S).group(1)
    assert "Seulement 3 disponibles" in text_of(error)
    assert "Ajouter un produit" in text_of(html)


def test_cancel_and_resume_are_sent_with_the_version_shown(manager, api, shop_id):
    path = f"/api/v1/shops/{shop_id}/orders/{ORDER_ID}"
    page = f"/manage/shops/{shop_id}/orders/{ORDER_ID}"
    api.answers[("POST", f"{path}/cancel")] = (200, order(status="cancelled", version=4))
    html = manager.get(page).get_data(as_text=True)
    resp = manager.post(f"{page}/cancel", data={**csrf_in(html, f"{page}/cancel"), "order-version": "3"})
    assert resp.status_code == 303
    [cancel] = sent(api, "POST", f"{path}/cancel")
    assert cancel["headers"]["If-Match"] == '"3"'
    api.answers[("GET", path)] = (200, order(status="cancelled", cancel_cause="manager", version=4,
                                             cancelled_at="2026-12-09T10:00:00+00:00"))
    html = manager.get(page).get_data(as_text=True)
    assert "Resume the order" in text_of(html) and "By the shop." in text_of(html)
    api.answers[("POST", f"{path}/resume")] = (409, {
        "type": "https://docs.recurring-orders.example/problems/order-closed", "title": "Order cycle closed",
        "status": 409, "detail": "The order cycle closed at 2026-12-11 15:00 UTC: order R00000042 can no longer be "
                                 "changed."})
    refused = manager.post(f"{page}/resume", data={**csrf_in(html, f"{page}/resume"), "order-version": "4"})
    assert refused.status_code == 422
    assert "Orders for this delivery have closed" in text_of(refused.get_data(as_text=True))


def test_a_paid_orders_page_links_its_receipt_which_the_console_passes_on(manager, api, shop_id):
    base = f"/api/v1/shops/{shop_id}/orders/{ORDER_ID}"
    api.answers[("GET", base)] = (200, order(status="confirmed", editable={"by_manager": False, "by_customer": False},
                                             receipt={"paid_at": "2026-12-11T15:01:00+00:00", "amount": 3200,
                                                      "invoice_number": None}))
    page = manager.get(f"/manage/shops/{shop_id}/orders/{ORDER_ID}").get_data(as_text=True)
    assert f'href="/manage/shops/{shop_id}/orders/{ORDER_ID}/receipt.pdf" download' in page
    assert "Download the receipt (PDF)" in page
    api.answers[("GET", f"{base}/receipt.pdf")] = (200, b"%PDF-1.7")
    resp = manager.get(f"/manage/shops/{shop_id}/orders/{ORDER_ID}/receipt.pdf")
    assert resp.status_code == 200 and resp.data == b"%PDF-1.7" and resp.mimetype == "application/pdf"
    assert api.sent[-1]["params"] == {"lang": "en"} and api.sent[-1]["headers"]["Authorization"] == "Bearer rop_manager"


def test_the_managers_order_shows_each_lines_rate_and_tax_and_the_tax_in_its_total(manager, api, shop_id):
    lines = order()["lines"]
    lines[0].update(tax_category="reduced", tax_rate_bp=550, tax=104)
    lines[1].update(tax_category=None, tax_rate_bp=0, tax=0)
    api.answers[("GET", f"/api/v1/shops/{shop_id}/orders/{ORDER_ID}")] = (200, order(
        lines=lines, prices_include_tax=True,
        totals={"item_total": 2700, "shipping_fee": 500, "payment_fee": 0, "total": 3200, "tax_total": 187,
                "shipping_tax": 83}))
    text = text_of(manager.get(f"/manage/shops/{shop_id}/orders/{ORDER_ID}").get_data(as_text=True))
    assert "Prices include tax." in text
    assert "Panier €20.00 each Tax 5.5% included: €1.04" in text and "Oeufs €3.50 each Not taxed" in text
    assert "Total €32.00 Including tax €1.87" in text
