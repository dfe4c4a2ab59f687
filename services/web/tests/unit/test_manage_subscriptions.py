"""The console's Subscriptions page from the APIs' answers (the shapes they document), played by the stand-in: what
the list asks for (filters, search, sort, pages), what the form offers (the catalog, the methods, the customer's
addresses) and sends (days as instants of the shop's time zone, only what changed, the version shown and the
reason), the live estimate with and without the script, the actions (pause, unpause, cancel with the keep-or-cancel
choice, holidays, a delivery skipped or brought back), a stale page (the API's 412: said, the subscription shown as
it is, nothing overwritten), refusals by their fields in the manager's language, and the history in words."""

from __future__ import annotations

import html as htmllib
import re
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest

SUB = "5d8a2c1e-0000-4000-8000-00000000000a"
CUSTOMER = "c0ffee00-0000-4000-8000-000000000001"
SCHEDULE = "5c4ed01e-0000-4000-8000-000000000001"
CYCLE = "c7c1e000-0000-4000-8000-000000000001"
SHIP, PICKUP, CARD, CASH = "ship-1", "ship-2", "pay-card", "pay-cash"
ADDRESS = {"first_name": "Ann", "last_name": "Martin", "address1": "1 rue Haute", "address2": None,
           "city": "Lyon", "zipcode": "69001", "state": None, "country": "FR", "phone": None}


def text_of(html: str) -> str:
    return htmllib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))).replace("\xa0", " ").replace(
        "\u202f", " ")


def subscription(**kw):
    body = {"id": SUB, "shop_id": "", "customer_id": CUSTOMER, "state": "active", "currency": "EUR",
            "customer": {"id": CUSTOMER, "email": "ann@example.org", "first_name": "Ann", "last_name": "Martin"},
            "schedule_id": SCHEDULE, "schedule_name": "Panier hebdo",
            "items": [{"variant_id": "eggs", "quantity": 2, "price_estimate": 320, "total_estimate": 640,
                       "name": "Oeufs", "available": True}],
            "shipping_method_id": SHIP, "payment_method_id": CARD, "payment_kind": "stripe",
            "bill_address": ADDRESS, "ship_address": ADDRESS,
            "begins_at": "2026-11-01T23:00:00+00:00", "ends_at": None, "paused_at": None, "paused_until": None,
            "cancelled_at": None, "created_at": "2026-11-01T10:00:00+00:00",
            "estimate": {"item_total": 640, "shipping_fee": 500, "payment_fee": 40, "total": 1180},
            "warnings": [], "version": 4}
    body.update(kw)
    return body


def problem(status, errors=None, detail="", kind="validation"):
    return (status, {"type": f"https://docs.recurring-orders.example/problems/{kind}", "title": "x",
                     "status": status, "detail": detail, "errors": errors or {}})


@pytest.fixture
def api(fake_http, shop_id):
    """A shop (French), its catalog, methods, schedule and one customer with one subscription."""
    base = f"/api/v1/shops/{shop_id}"
    a = fake_http.answers
    a[("GET", base)] = (200, {"id": shop_id, "name": "La Ruche", "locale": "fr", "timezone": "Europe/Paris",
                              "currency": "EUR", "contact_email": "ruche@example.org"})
    a[("GET", f"{base}/variants")] = (200, {"items": [
        {"variant_id": "eggs", "product_name": "Oeufs", "variant_name": None, "unit_price": 320, "currency": "EUR",
         "available": True},
        {"variant_id": "veg", "product_name": "Légumes", "variant_name": "grand", "unit_price": 2500,
         "currency": "EUR", "available": False}], "next_cursor": None})
    a[("GET", f"{base}/shipping-methods")] = (200, {"items": [
        {"id": SHIP, "name": "Livraison", "fee_flat": 500, "fee_percent_bp": 0, "active": True},
        {"id": PICKUP, "name": "Retrait", "fee_flat": 0, "fee_percent_bp": 0, "active": True}], "next_cursor": None})
    a[("GET", f"{base}/payment-methods")] = (200, {"items": [
        {"id": CARD, "name": "Carte", "fee_flat": 30, "fee_percent_bp": 150, "active": True, "kind": "stripe"},
        {"id": CASH, "name": "Espèces", "fee_flat": 0, "fee_percent_bp": 0, "active": True, "kind": "cash"}],
        "next_cursor": None})
    a[("GET", f"{base}/schedules")] = (200, {"items": [{"id": SCHEDULE, "name": "Panier hebdo"}],
                                            "next_cursor": None})
    a[("GET", f"{base}/schedules/{SCHEDULE}")] = (200, {"id": SCHEDULE, "name": "Panier hebdo", "order_cycles": [
        {"id": CYCLE, "name": "Semaine 50"}]})
    a[("GET", f"{base}/customers/{CUSTOMER}")] = (200, {
        "id": CUSTOMER, "email": "ann@example.org", "first_name": "Ann", "last_name": "Martin",
        "bill_address": ADDRESS, "ship_address": {**ADDRESS, "address1": "2 rue Basse"}})
    a[("GET", f"{base}/subscriptions")] = (200, {"items": [subscription()], "next_cursor": None})
    a[("GET", f"{base}/subscriptions/{SUB}")] = (200, subscription())
    a[("GET", f"{base}/subscriptions/{SUB}/occurrences")] = (200, {"items": [
        {"order_cycle_id": CYCLE, "order_cycle_name": "Semaine 50", "closes_at": "2026-12-11T16:00:00+00:00",
         "cycle_status": "open", "state": "placed", "total": 1180, "total_is_estimate": False, "can_skip": True,
         "can_resume": False, "order": {"id": "o-1", "number": "R1"}}], "next_cursor": None})
    a[("POST", f"{base}/subscriptions/estimate")] = lambda body: (200, {
        "currency": "EUR", "items": [{"variant_id": i["variant_id"], "quantity": i["quantity"],
                                      "price_estimate": 320, "total_estimate": 320 * i["quantity"],
                                      "name": "Oeufs", "available": True} for i in body["items"]],
        "estimate": {"item_total": sum(320 * i["quantity"] for i in body["items"]), "shipping_fee": 500,
                     "payment_fee": 40, "total": 540 + sum(320 * i["quantity"] for i in body["items"])}})
    return base


@pytest.fixture
def manager(client, api, shop_id):
    with client.session_transaction() as session:
        session.update(token="rop_manager", token_id=str(uuid.uuid4()), role="manager", shop_ids=[shop_id],
                       customer_id=None, signed_in_at=0)
    client.page = f"/manage/shops/{shop_id}/subscriptions"
    return client


def sent(fake_http, method, path):
    return [s for s in fake_http.sent if s["method"] == method and s["path"] == path]


def form_of(manager, csrf_of, url):
    return csrf_of(manager.get(url).get_data(as_text=True))


def test_the_list_asks_the_api_for_the_filters_search_and_sort_and_links_the_next_page_with_them(
        manager, fake_http, api):
    fake_http.answers[("GET", f"{api}/subscriptions")] = (200, {"items": [subscription()], "next_cursor": "c2"})
    resp = manager.get(manager.page + f"?q=ann&state=paused&state=bogus&schedule_id={SCHEDULE}&sort=begins_at")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    asked = sent(fake_http, "GET", f"{api}/subscriptions")[-1]["params"]
    assert asked == {"state": ["paused"], "schedule_id": SCHEDULE, "q": "ann", "sort": "begins_at", "limit": 50}
    text = text_of(html)
    assert "Ann Martin" in text and "Panier hebdo" in text and "Active" not in text and "Actif" in text
    assert "2 × Oeufs" in text and "11,80 €" in text
    nxt = htmllib.unescape(re.search(r'href="([^"]+)" rel="next"', html).group(1))
    assert parse_qs(urlsplit(nxt).query) == {"cursor": ["c2"], "state": ["paused"], "schedule_id": [SCHEDULE],
                                             "q": ["ann"], "sort": ["begins_at"]}
    manager.get(nxt)
    assert sent(fake_http, "GET", f"{api}/subscriptions")[-1]["params"]["cursor"] == "c2"


def test_a_page_of_the_list_the_api_no_longer_knows_shows_the_first_page_and_says_so(manager, fake_http, api):
    def answer(_):
        asked = sent(fake_http, "GET", f"{api}/subscriptions")[-1]["params"]
        return problem(400, kind="bad-cursor") if "cursor" in asked else (200, {"items": [], "next_cursor": None})

    fake_http.answers[("GET", f"{api}/subscriptions")] = answer
    text = text_of(manager.get(manager.page + "?cursor=forged").get_data(as_text=True))
    assert "n'est plus valable" in text and "Aucun abonnement ne correspond." in text


def test_a_new_subscription_starts_from_a_customer_found_by_name_or_email(manager, fake_http, api):
    fake_http.answers[("GET", f"{api}/customers")] = (200, {"items": [
        {"id": CUSTOMER, "email": "ann@example.org", "first_name": "Ann", "last_name": "Martin"}],
        "next_cursor": None})
    html = manager.get(manager.page + "/new?q=mart").get_data(as_text=True)
    assert sent(fake_http, "GET", f"{api}/customers")[-1]["params"]["q"] == "mart"
    assert f'href="{manager.page}/new?customer_id={CUSTOMER}"' in html
    assert "Nouvel abonnement pour Ann Martin" in text_of(html)


def test_the_form_offers_the_catalog_with_prices_the_methods_with_fees_and_the_customers_addresses(manager):
    html = manager.get(manager.page + f"/new?customer_id={CUSTOMER}").get_data(as_text=True)
    text = text_of(html)
    assert "Oeufs – 3,20 €" in text and "Légumes - grand – 25,00 € (indisponible pour le moment)" in text
    assert "Livraison (5,00 €)" in text and "Carte (0,30 € + 1.5 %)" in text
    assert 'value="1 rue Haute"' in html and 'value="2 rue Basse"' in html
    assert 'src="/static/manage_subscription.js"' in html and "data-estimate-url" in html


def test_creating_sends_days_as_instants_of_the_shops_time_zone_and_only_lines_with_a_product_and_a_quantity(
        manager, fake_http, csrf_of, api):
    fake_http.answers[("POST", f"{api}/subscriptions")] = (201, subscription(warnings=[
        "Subscriptions are disabled for La Ruche: no order is placed until they are enabled."]))
    url = manager.page + f"/new?customer_id={CUSTOMER}"
    html = manager.get(url).get_data(as_text=True)
    token, once = csrf_of(html), re.search(r'name="once" type="hidden" value="([^"]+)"', html).group(1)
    address = {f"{p}-{k}": v or "" for p in ("bill_address", "ship_address") for k, v in ADDRESS.items()}
    resp = manager.post(manager.page + "/new", data={
        "csrf_token": token, "once": once, "customer_id": CUSTOMER, "schedule_id": SCHEDULE, "shipping_method_id": SHIP,
        "payment_method_id": CASH, "begins_on": "2026-12-07", "ends_on": "2027-06-30",
        "lines-0-variant_id": "eggs", "lines-0-quantity": "3", "lines-1-variant_id": "veg", "lines-1-quantity": "0",
        "lines-2-variant_id": "", "lines-2-quantity": "4", "action": "save", **address})
    assert resp.status_code == 303 and resp.headers["Location"] == f"{manager.page}/{SUB}"
    created = sent(fake_http, "POST", f"{api}/subscriptions")[0]
    assert created["headers"]["Idempotency-Key"] == once  # the same form posted again creates nothing more
    body = created["json"]
    assert body["items"] == [{"variant_id": "eggs", "quantity": 3, "substitutes": []}]
    assert body["begins_at"] == "2026-12-07T00:00:00+01:00" and body["ends_at"] == "2027-06-30T23:59:59+02:00"
    assert body["bill_address"] == {k: v for k, v in ADDRESS.items() if v}
    shown = text_of(manager.get(resp.headers["Location"]).get_data(as_text=True))
    assert "L'abonnement est enregistré." in shown and "Les abonnements sont désactivés" in shown


def test_a_refused_create_shows_each_message_by_its_field_and_line_in_the_managers_language(
        manager, fake_http, csrf_of, api):
    fake_http.answers[("POST", f"{api}/subscriptions")] = problem(422, {
        "items.1.quantity": ["The estimated total of this line is too large."],
        "payment_method_id": ["Credit card charges are not allowed by this customer."],
        "ship_address.city": ["Missing data for required field."]})
    token = form_of(manager, csrf_of, manager.page + f"/new?customer_id={CUSTOMER}")
    resp = manager.post(manager.page + "/new", data={
        "csrf_token": token, "customer_id": CUSTOMER, "schedule_id": SCHEDULE, "shipping_method_id": SHIP,
        "payment_method_id": CARD, "begins_on": "2026-12-07", "lines-0-variant_id": "",
        "lines-1-variant_id": "eggs", "lines-1-quantity": "1", "lines-2-variant_id": "veg",
        "lines-2-quantity": "999999", "action": "save"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "<title>Erreur" in html
    assert re.search(r'id="lines-2-quantity-error"[^>]*>.*Cette quantité est trop grande', html, re.S)
    assert re.search(r'id="payment_method_id-error"[^>]*>.*pas autorisé la boutique à débiter sa carte', html, re.S)
    assert re.search(r'id="ship_address-city-error"[^>]*>.*Ce champ est obligatoire', html, re.S)
    assert 'href="#lines-2-quantity"' in html and 'value="999999"' in html


def test_update_the_estimate_without_the_script_prices_the_form_and_saves_nothing(manager, fake_http, csrf_of, api):
    token = form_of(manager, csrf_of, manager.page + f"/new?customer_id={CUSTOMER}")
    resp = manager.post(manager.page + "/new", data={
        "csrf_token": token, "customer_id": CUSTOMER, "shipping_method_id": SHIP, "payment_method_id": CASH,
        "begins_on": "2026-12-07", "lines-0-variant_id": "eggs", "lines-0-quantity": "5", "action": "estimate"})
    assert resp.status_code == 200 and not sent(fake_http, "POST", f"{api}/subscriptions")
    assert sent(fake_http, "POST", f"{api}/subscriptions/estimate")[-1]["json"] == {
        "items": [{"variant_id": "eggs", "quantity": 5}], "shipping_method_id": SHIP, "payment_method_id": CASH}
    assert "Total estimé par livraison 21,40 €" in text_of(resp.get_data(as_text=True))


def test_the_scripts_estimate_is_the_estimates_html_for_the_form_as_it_is(manager, fake_http, csrf_of, api):
    token = form_of(manager, csrf_of, manager.page + f"/new?customer_id={CUSTOMER}")
    resp = manager.post(manager.page + "/estimate", data={"csrf_token": token, "lines-0-variant_id": "eggs",
                                                          "lines-0-quantity": "2", "shipping_method_id": SHIP})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "<html" not in html and "Total estimé par livraison" in html
    assert manager.post(manager.page + "/estimate", data={"lines-0-variant_id": "eggs"}).status_code == 400


def test_adding_lines_keeps_what_was_typed_and_offers_more(manager, csrf_of):
    token = form_of(manager, csrf_of, manager.page + f"/new?customer_id={CUSTOMER}")
    html = manager.post(manager.page + "/new", data={
        "csrf_token": token, "customer_id": CUSTOMER, "lines-0-variant_id": "eggs", "lines-0-quantity": "7",
        "action": "add_lines"}).get_data(as_text=True)
    assert 'value="7"' in html and 'id="lines-2-variant_id"' in html


def test_a_change_sends_only_what_changed_with_the_version_shown_and_the_reason(manager, fake_http, csrf_of, api):
    fake_http.answers[("PATCH", f"{api}/subscriptions/{SUB}")] = (200, subscription(version=5))
    html = manager.get(manager.page + f"/{SUB}/edit").get_data(as_text=True)
    assert 'name="version" type="hidden" value="4"' in html and 'value="02/11/2026"' in html  # as typed in French
    data = {"csrf_token": csrf_of(html), "version": "4", "shipping_method_id": PICKUP, "payment_method_id": CARD,
            "begins_on": "02/11/2026", "lines-0-variant_id": "eggs", "lines-0-quantity": "6",
            "reason": "asked by phone", "action": "save",
            **{f"{p}-{k}": v or "" for p in ("bill_address", "ship_address") for k, v in ADDRESS.items()}}
    resp = manager.post(manager.page + f"/{SUB}/edit", data=data)
    assert resp.status_code == 303
    patch = sent(fake_http, "PATCH", f"{api}/subscriptions/{SUB}")[0]
    assert patch["json"] == {"items": [{"variant_id": "eggs", "quantity": 6, "substitutes": []}],
                             "shipping_method_id": PICKUP}
    assert patch["headers"]["If-Match"] == '"4"' and patch["headers"]["X-Change-Reason"] == "asked by phone"


def test_a_change_from_a_stale_page_says_so_and_shows_the_subscription_as_it_is_now(manager, fake_http, csrf_of,
                                                                                     api):
    fake_http.answers[("PATCH", f"{api}/subscriptions/{SUB}")] = problem(412, kind="stale-version")
    html = manager.get(manager.page + f"/{SUB}/edit").get_data(as_text=True)
    fake_http.answers[("GET", f"{api}/subscriptions/{SUB}")] = (200, subscription(version=6, items=[
        {"variant_id": "eggs", "quantity": 12, "price_estimate": 320, "total_estimate": 3840, "name": "Oeufs",
         "available": True}]))
    resp = manager.post(manager.page + f"/{SUB}/edit", data={
        "csrf_token": csrf_of(html), "version": "4", "shipping_method_id": SHIP, "payment_method_id": CARD,
        "begins_on": "2026-11-02", "lines-0-variant_id": "eggs", "lines-0-quantity": "3", "action": "save"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 409 and len(sent(fake_http, "PATCH", f"{api}/subscriptions/{SUB}")) == 1
    assert "modifié par quelqu'un d'autre" in text_of(page) and "n'ont pas été enregistrées" in text_of(page)
    assert 'value="12"' in page and 'name="version" type="hidden" value="6"' in page


def test_pausing_asks_keep_or_cancel_when_orders_are_open_then_sends_the_choice_with_the_version(
        manager, fake_http, csrf_of, api):
    url = f"{api}/subscriptions/{SUB}/pause"
    fake_http.answers[("POST", url)] = lambda body: (200, subscription(state="paused")) if body.get(
        "open_orders") else problem(409, {"open_orders": ["Choose keep or cancel."], "open_order_cycle_ids": [CYCLE]},
                                    kind="conflict")
    token = csrf_of(manager.get(manager.page + f"/{SUB}").get_data(as_text=True))
    asked = manager.post(manager.page + f"/{SUB}/pause", data={"csrf_token": token, "pause-version": "4",
                                                               "pause-until": "2027-01-04"})
    html = asked.get_data(as_text=True)
    assert asked.status_code == 409
    assert "Les garder : elles sont livrées et débitées comme prévu" in text_of(html)
    assert re.search(r'id="pause-open_orders-error"', html) and 'value="2027-01-04"' in html
    done = manager.post(manager.page + f"/{SUB}/pause", data={"csrf_token": token, "pause-version": "4",
                                                              "pause-until": "2027-01-04", "pause-open_orders": "keep"})
    assert done.status_code == 303
    last = sent(fake_http, "POST", url)[-1]
    assert last["json"] == {"open_orders": "keep", "until": "2027-01-04"} and last["headers"]["If-Match"] == '"4"'


def test_an_action_from_a_stale_page_is_not_done_and_the_page_shows_the_subscription_as_it_is(
        manager, fake_http, csrf_of, api):
    fake_http.answers[("POST", f"{api}/subscriptions/{SUB}/cancel")] = problem(412, kind="stale-version")
    token = csrf_of(manager.get(manager.page + f"/{SUB}").get_data(as_text=True))
    fake_http.answers[("GET", f"{api}/subscriptions/{SUB}")] = (200, subscription(state="paused", version=5,
                                                                                  paused_at="2026-12-01T10:00:00Z"))
    resp = manager.post(manager.page + f"/{SUB}/cancel", data={"csrf_token": token, "cancel-version": "4"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 409 and "modifié par quelqu'un d'autre" in text_of(html)
    assert "En pause" in text_of(html) and 'name="cancel-version" type="hidden" value="5"' in html


def test_unpausing_tells_the_apis_notices_in_the_managers_language(manager, fake_http, csrf_of, api):
    fake_http.answers[("GET", f"{api}/subscriptions/{SUB}")] = (200, subscription(state="paused",
                                                                                  paused_at="2026-12-01T10:00:00Z"))
    fake_http.answers[("POST", f"{api}/subscriptions/{SUB}/unpause")] = (200, subscription(warnings=[
        "An order cycle of this subscription is open: an order will be placed for this customer now."]))
    token = csrf_of(manager.get(manager.page + f"/{SUB}").get_data(as_text=True))
    resp = manager.post(manager.page + f"/{SUB}/unpause", data={"csrf_token": token, "act-version": "4"})
    fake_http.answers[("GET", f"{api}/subscriptions/{SUB}")] = (200, subscription())
    text = text_of(manager.get(resp.headers["Location"]).get_data(as_text=True))
    assert "Un cycle de commande est ouvert : une commande est passée pour ce client maintenant." in text


def test_a_refused_action_is_told_by_its_field_or_as_a_whole_in_the_managers_words(manager, fake_http, csrf_of,
                                                                                    api):
    fake_http.answers[("POST", f"{api}/subscriptions/{SUB}/holidays")] = problem(422, {
        "from": ["No delivery of this subscription falls between these dates."]})
    fake_http.answers[("POST", f"{api}/subscriptions/{SUB}/unpause")] = problem(
        409, detail="This subscription is not paused.", kind="conflict")
    token = csrf_of(manager.get(manager.page + f"/{SUB}").get_data(as_text=True))
    html = manager.post(manager.page + f"/{SUB}/holidays", data={
        "csrf_token": token, "holiday-version": "4", "holiday-first_day": "2027-02-01",
        "holiday-last_day": "2027-02-03"}).get_data(as_text=True)
    assert re.search(r'id="holiday-first_day-error"[^>]*>\s*<span[^>]*>Erreur :</span> '
                     r"Aucune des livraisons de cet abonnement ne tombe", html)
    whole = manager.post(manager.page + f"/{SUB}/unpause", data={"csrf_token": token, "act-version": "4"})
    assert "Cet abonnement n'est pas en pause." in text_of(whole.get_data(as_text=True))


def test_a_delivery_is_skipped_with_the_version_shown(manager, fake_http, csrf_of, api):
    url = f"{api}/subscriptions/{SUB}/occurrences/{CYCLE}/skip"
    fake_http.answers[("POST", url)] = (200, {"order_cycle_id": CYCLE, "state": "skipped"})
    html = manager.get(manager.page + f"/{SUB}").get_data(as_text=True)
    assert f'action="{manager.page}/{SUB}/deliveries/{CYCLE}/skip"' in html
    resp = manager.post(manager.page + f"/{SUB}/deliveries/{CYCLE}/skip", data={"csrf_token": csrf_of(html),
                                                                               "act-version": "4"})
    assert resp.status_code == 303 and sent(fake_http, "POST", url)[0]["headers"]["If-Match"] == '"4"'


def test_the_history_says_who_changed_what_when_and_why_in_words(manager, fake_http, api):
    fake_http.answers[("GET", f"{api}/subscriptions/{SUB}/history")] = (200, {"items": [
        {"version": 1, "event_type": "SubscriptionCreated", "occurred_at": "2026-11-01T10:00:00+00:00",
         "actor": {"type": "manager", "id": "t-1"}, "reason": None, "who": {"name": "Marie", "email": None},
         "data": {"terms": {"items": [{"variant_id": "eggs", "quantity": 2}]}}},
        {"version": 2, "event_type": "SubscriptionUpdated", "occurred_at": "2026-11-02T10:00:00+00:00",
         "actor": {"type": "manager", "id": "t-1"}, "reason": "asked by phone", "who": {"name": "Marie",
                                                                                        "email": None},
         "data": {"changes": {"items": [{"variant_id": "eggs", "quantity": 6}, {"variant_id": "veg", "quantity": 1}],
                              "shipping_method_id": PICKUP},
                  "previous": {"items": [{"variant_id": "eggs", "quantity": 2}], "shipping_method_id": SHIP}}},
        {"version": 3, "event_type": "OccurrenceSkipped", "occurred_at": "2026-11-03T10:00:00+00:00",
         "actor": {"type": "customer", "id": "t-2"}, "reason": None,
         "who": {"name": "Ann Martin", "email": "ann@example.org"},
         "data": {"order_cycle_id": CYCLE, "holiday": {"first_day": "2026-12-10", "last_day": "2026-12-12"}}},
        {"version": 4, "event_type": "SubscriptionUnpaused", "occurred_at": "2026-11-04T10:00:00+00:00",
         "actor": {"type": "system", "id": None}, "reason": None, "who": None, "data": {"automatic": True}}],
        "next_cursor": None})
    text = text_of(manager.get(manager.page + f"/{SUB}/history").get_data(as_text=True))
    assert "Créé" in text and "2 × Oeufs" in text and "Par Marie" in text
    assert "Oeufs : 2 → 6" in text and "Légumes - grand ajouté : 1" in text
    assert "Livraison ou retrait : Livraison → Retrait" in text and "Pourquoi : asked by phone" in text
    assert "Livraison sautée" in text and "Semaine 50" in text and "Par Ann Martin (ann@example.org)" in text
    assert "Vacances du 10 décembre 2026 au 12 décembre 2026" in text
    assert "Par Automatiquement" not in text and "À la fin de sa pause" in text
    assert "dim. 1 nov. 2026, 11:00" in text


def test_a_change_the_api_refuses_as_a_whole_is_told_in_the_managers_words_and_keeps_what_was_typed(
        manager, fake_http, csrf_of, api):
    fake_http.answers[("PATCH", f"{api}/subscriptions/{SUB}")] = problem(
        409, detail="This subscription is cancelled; it can no longer be changed.", kind="conflict")
    html = manager.get(manager.page + f"/{SUB}/edit").get_data(as_text=True)
    resp = manager.post(manager.page + f"/{SUB}/edit", data={
        "csrf_token": csrf_of(html), "version": "4", "shipping_method_id": SHIP, "payment_method_id": CARD,
        "begins_on": "2026-11-02", "lines-0-variant_id": "eggs", "lines-0-quantity": "9", "action": "save"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422 and 'value="9"' in page
    assert "Cet abonnement est annulé : il ne peut plus changer." in text_of(page)


def _edit_data(html, csrf_of, **lines):
    return {"csrf_token": csrf_of(html), "version": "4", "shipping_method_id": SHIP, "payment_method_id": CARD,
            "begins_on": "2026-11-02", "action": "save", **lines,
            **{f"{p}-{k}": v or "" for p in ("bill_address", "ship_address") for k, v in ADDRESS.items()}}


def test_a_lines_substitutes_are_offered_from_the_catalog_shown_and_sent_in_order_of_preference(
        manager, fake_http, csrf_of, api):
    fake_http.answers[("GET", f"{api}/subscriptions/{SUB}")] = (200, subscription(items=[
        {"variant_id": "eggs", "quantity": 2, "price_estimate": 320, "total_estimate": 640, "name": "Oeufs",
         "available": True, "substitutes": ["veg"], "substitute_names": ["Légumes - grand"]}]))
    fake_http.answers[("PATCH", f"{api}/subscriptions/{SUB}")] = (200, subscription(version=5))
    shown = text_of(manager.get(manager.page + f"/{SUB}").get_data(as_text=True))
    assert "S'il manque : Légumes - grand" in shown
    html = manager.get(manager.page + f"/{SUB}/edit").get_data(as_text=True)
    assert "Produits de remplacement, s'il manque" in text_of(html)
    assert re.search(r'<select id="lines-0-substitute_1" name="lines-0-substitute_1">.*?'
                     r'<option selected value="veg">', html, re.S)
    unchanged = _edit_data(html, csrf_of, **{"lines-0-variant_id": "eggs", "lines-0-quantity": "2",
                                             "lines-0-substitute_1": "veg"})
    assert manager.post(manager.page + f"/{SUB}/edit", data=unchanged).status_code == 303
    assert sent(fake_http, "PATCH", f"{api}/subscriptions/{SUB}")[-1]["json"] == {}  # the products unchanged
    reordered = _edit_data(html, csrf_of, **{"lines-0-variant_id": "eggs", "lines-0-quantity": "2",
                                             "lines-0-substitute_1": "", "lines-0-substitute_2": "veg",
                                             "lines-0-substitute_3": "eggs"})
    assert manager.post(manager.page + f"/{SUB}/edit", data=reordered).status_code == 303
    patch = sent(fake_http, "PATCH", f"{api}/subscriptions/{SUB}")[-1]
    assert patch["json"] == {"items": [{"variant_id": "eggs", "quantity": 2, "substitutes": ["veg", "eggs"]}]}


def test_a_refused_substitute_is_shown_by_its_own_field_in_the_managers_words(manager, fake_http, csrf_of, api):
    fake_http.answers[("PATCH", f"{api}/subscriptions/{SUB}")] = problem(422, {
        "items.0.substitutes.1": ["A product cannot be its own substitute."]})
    html = manager.get(manager.page + f"/{SUB}/edit").get_data(as_text=True)
    data = _edit_data(html, csrf_of, **{"lines-0-variant_id": "eggs", "lines-0-quantity": "2",
                                        "lines-0-substitute_1": "veg", "lines-0-substitute_2": "eggs"})
    resp = manager.post(manager.page + f"/{SUB}/edit", data=data)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert re.search(r'id="lines-0-substitute_2-error"[^>]*>\s*<span[^>]*>[^<]*</span>\s*Choisissez un autre produit '
                     r"que celui qu(&#39;|')il remplace\.", page)
    assert 'href="#lines-0-substitute_2"' in page


def test_an_old_line_of_quantity_0_is_shown_with_its_warning_and_kept_when_something_else_changes(
        manager, fake_http, csrf_of, api):
    old = subscription(items=[
        {"variant_id": "eggs", "quantity": 2, "price_estimate": 320, "total_estimate": 640, "name": "Oeufs",
         "available": True, "substitutes": [], "substitute_names": []},
        {"variant_id": "veg", "quantity": 0, "price_estimate": 2500, "total_estimate": 0, "name": "Légumes",
         "available": True, "substitutes": [], "substitute_names": []}],
        warnings=["Légumes has a quantity of 0: orders never include it; change its quantity or remove it."])
    fake_http.answers[("GET", f"{api}/subscriptions/{SUB}")] = (200, old)
    fake_http.answers[("PATCH", f"{api}/subscriptions/{SUB}")] = (200, subscription(version=5))
    shown = text_of(manager.get(manager.page + f"/{SUB}").get_data(as_text=True))
    assert "Légumes a une quantité de 0 : les commandes ne l'incluent jamais." in shown
    assert "Quantité 0 : jamais commandé." in shown
    html = manager.get(manager.page + f"/{SUB}/edit").get_data(as_text=True)
    data = _edit_data(html, csrf_of, **{"lines-0-variant_id": "eggs", "lines-0-quantity": "2",
                                        "lines-1-variant_id": "veg", "lines-1-quantity": "0",
                                        "shipping_method_id": PICKUP})
    assert manager.post(manager.page + f"/{SUB}/edit", data=data).status_code == 303
    assert sent(fake_http, "PATCH", f"{api}/subscriptions/{SUB}")[-1]["json"] == {"shipping_method_id": PICKUP}


def test_the_history_names_a_products_substitutes_before_and_after_a_change(manager, fake_http, api):
    fake_http.answers[("GET", f"{api}/subscriptions/{SUB}/history")] = (200, {"items": [
        {"version": 2, "event_type": "SubscriptionUpdated", "occurred_at": "2026-11-02T10:00:00+00:00",
         "actor": {"type": "customer", "id": "t-2"}, "reason": None,
         "who": {"name": "Ann Martin", "email": "ann@example.org"},
         "data": {"changes": {"items": [{"variant_id": "eggs", "quantity": 2, "substitutes": ["veg", "jam"]}]},
                  "previous": {"items": [{"variant_id": "eggs", "quantity": 2, "substitutes": []}]}}}],
        "next_cursor": None})
    text = text_of(manager.get(manager.page + f"/{SUB}/history").get_data(as_text=True))
    assert "Oeufs, ses produits de remplacement : aucun → Légumes - grand, jam" in text
    assert "Oeufs : 2" not in text


def test_the_estimate_tells_each_products_rate_and_the_tax_added_to_the_total_where_prices_exclude_it(
        manager, fake_http, csrf_of, api):
    fake_http.answers[("GET", api)][1].update(prices_include_tax=False,
                                              tax_rates=[{"category": "reduced", "rate_bp": 550}])
    fake_http.answers[("POST", f"{api}/subscriptions/estimate")] = (200, {
        "currency": "EUR", "items": [{"variant_id": "eggs", "quantity": 2, "price_estimate": 320,
                                      "total_estimate": 640, "name": "Oeufs", "available": True,
                                      "tax_category": "reduced", "tax_rate_bp": 550}],
        "estimate": {"item_total": 640, "shipping_fee": 500, "payment_fee": 0, "tax_total": 135, "total": 1275}})
    token = form_of(manager, csrf_of, manager.page + f"/new?customer_id={CUSTOMER}")
    resp = manager.post(manager.page + "/estimate", data={"csrf_token": token, "lines-0-variant_id": "eggs",
                                                          "lines-0-quantity": "2", "shipping_method_id": SHIP})
    text = text_of(resp.get_data(as_text=True))
    assert "Oeufs 3,20 € l'unité TVA 5,5 %" in text
    assert "TVA 1,35 € Total estimé par livraison 12,75 €" in text


def test_the_estimate_says_how_much_of_its_total_is_tax_where_prices_include_it(manager, fake_http, csrf_of, api):
    fake_http.answers[("GET", api)][1].update(prices_include_tax=True)
    fake_http.answers[("POST", f"{api}/subscriptions/estimate")] = (200, {
        "currency": "EUR", "items": [{"variant_id": "eggs", "quantity": 2, "price_estimate": 320,
                                      "total_estimate": 640, "name": "Oeufs", "available": True}],
        "estimate": {"item_total": 640, "shipping_fee": 500, "payment_fee": 0, "tax_total": 117, "total": 1140}})
    token = form_of(manager, csrf_of, manager.page + f"/new?customer_id={CUSTOMER}")
    resp = manager.post(manager.page + "/estimate", data={"csrf_token": token, "lines-0-variant_id": "eggs",
                                                          "lines-0-quantity": "2", "shipping_method_id": SHIP})
    assert "Total estimé par livraison 11,40 € Dont TVA 1,17 €" in text_of(resp.get_data(as_text=True))
