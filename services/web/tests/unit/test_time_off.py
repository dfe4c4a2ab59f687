"""The customer's time off on their subscriptions page (views/time_off.py), the API played by the stand-in: what is
offered as the shop allows, what is sent, and refusals shown by their fields in the customer's language."""

from __future__ import annotations

import re
from html import unescape

import pytest

SUB = "sub-1"


@pytest.fixture
def page(customer_signed_in, fake_http, shop_id):
    """A French customer signed in at a shop that lets customers skip, one active subscription, two deliveries."""
    client = customer_signed_in(shop={"allow_customer_skip": True})
    base = client.base
    sub = {"id": SUB, "state": "active", "schedule_name": "Panier hebdo", "currency": "EUR",
           "created_at": "2026-11-01T10:00:00+00:00", "begins_at": "2026-11-02T09:00:00+00:00", "ends_at": None,
           "paused_at": None, "paused_until": None, "cancelled_at": None, "items": [], "estimate": None}
    fake_http.answers[("GET", f"{base}/subscriptions")] = (200, {"items": [sub], "next_cursor": None})
    delivery = {"order_cycle_id": "11111111-1111-4111-8111-111111111111", "order_cycle_name": "S50",
                "closes_at": "2026-12-10T22:30:00+00:00", "cycle_status": "upcoming", "state": "pending",
                "total": 3000, "total_is_estimate": True, "can_skip": True, "can_resume": False}
    fake_http.answers[("GET", f"{base}/subscriptions/{SUB}/occurrences")] = (200, {"items": [
        delivery, {**delivery, "order_cycle_id": "22222222-2222-4222-8222-222222222222", "order_cycle_name": "S51",
                   "state": "skipped", "can_skip": False, "can_resume": True}], "next_cursor": None})
    return client


def text_of(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))).replace("\xa0", " ")


def test_the_page_offers_skip_resume_holidays_and_pause_when_the_shop_allows_it(page, shop_id):
    html = page.get(f"/shops/{shop_id}/subscriptions").get_data(as_text=True)
    text = text_of(html)
    assert "Sauter cette livraison (S50)" in text and "Finalement, la livrer (S51)" in text
    assert "Vacances" in text and "Premier jour d'absence" in text and "Dernier jour d'absence" in text
    assert "Mettre en pause jusqu'à ce jour" in text
    assert f'action="/shops/{shop_id}/subscriptions/{SUB}/holidays"' in html
    assert f'action="/shops/{shop_id}/subscriptions/{SUB}/pause"' in html


def test_a_shop_that_does_not_let_customers_skip_offers_nothing_and_says_why(page, fake_http, shop_id):
    status, shop = fake_http.answers[("GET", page.base)]
    fake_http.answers[("GET", page.base)] = (status, {**shop, "allow_customer_skip": False})
    text = text_of(page.get(f"/shops/{shop_id}/subscriptions").get_data(as_text=True))
    assert "ne vous permet pas de sauter des livraisons" in text
    assert "Sauter cette livraison" not in text and "Premier jour d'absence" not in text


SUB_ID = "33333333-3333-4333-8333-333333333333"


def post(page, shop_id, csrf_of, tail, data):
    token = csrf_of(page.get(f"/shops/{shop_id}/subscriptions").get_data(as_text=True))
    tokens = {f"{name}-{SUB_ID}-csrf_token": token for name in ("holiday", "pause")}  # each form's, prefixed
    return page.post(f"/shops/{shop_id}/subscriptions/{SUB_ID}{tail}", data={"csrf_token": token, **tokens, **data})


@pytest.fixture
def page_of_uuid(page, fake_http, shop_id):
    """The same page, its subscription's id a uuid (as the API's are: the routes take one)."""
    status, listing = fake_http.answers[("GET", f"{page.base}/subscriptions")]
    fake_http.answers[("GET", f"{page.base}/subscriptions")] = (status, {
        "items": [{**listing["items"][0], "id": SUB_ID}], "next_cursor": None})
    fake_http.answers[("GET", f"{page.base}/subscriptions/{SUB_ID}/occurrences")] = fake_http.answers[
        ("GET", f"{page.base}/subscriptions/{SUB}/occurrences")]
    return page


def test_holidays_are_posted_as_the_shops_days_and_the_page_says_how_many_were_skipped(page_of_uuid, fake_http,
                                                                                      csrf_of, shop_id):
    path = f"{page_of_uuid.base}/subscriptions/{SUB_ID}/holidays"
    fake_http.answers[("POST", path)] = (200, {"from": "2026-12-20", "to": "2027-01-03", "skipped_now": 2,
                                               "occurrences": [{}, {}]})
    resp = post(page_of_uuid, shop_id, csrf_of, "/holidays", {f"holiday-{SUB_ID}-first_day": "2026-12-20",
                                                               f"holiday-{SUB_ID}-last_day": "2027-01-03"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"#sub-{SUB_ID}")
    [sent] = [s for s in fake_http.sent if s["method"] == "POST" and s["path"] == path]
    assert sent["json"] == {"from": "2026-12-20", "to": "2027-01-03"}
    assert sent["headers"]["Authorization"] == "Bearer rop_customer_session"
    text = text_of(page_of_uuid.get(f"/shops/{shop_id}/subscriptions").get_data(as_text=True))
    assert "Vacances enregistrées : 2 livraisons du 20 décembre 2026 au 3 janvier 2027 sont sautées." in text


def test_holidays_the_api_refuses_show_its_reasons_by_the_fields_in_french_and_keep_what_was_typed(
        page_of_uuid, fake_http, csrf_of, shop_id):
    path = f"{page_of_uuid.base}/subscriptions/{SUB_ID}/holidays"
    fake_http.answers[("POST", path)] = (422, {"title": "Validation failed", "status": 422, "errors": {
        "from": ["No delivery of this subscription falls between these dates."]}})
    resp = post(page_of_uuid, shop_id, csrf_of, "/holidays", {f"holiday-{SUB_ID}-first_day": "2026-12-21",
                                                               f"holiday-{SUB_ID}-last_day": "2026-12-22"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "<title>Erreur" in html
    error = re.search(rf'id="holiday-{SUB_ID}-first_day-error"[^>]*>(.*?)</p>', html, re.S)
    assert error and "Aucune de vos livraisons ne tombe entre ces dates" in error.group(1)
    assert f'href="#holiday-{SUB_ID}-first_day"' in html  # the summary links to the field
    assert 'value="2026-12-21"' in html and 'value="2026-12-22"' in html


def test_holidays_are_typed_as_french_days_with_a_hint_and_a_day_that_cannot_be_read_is_refused_by_its_field(
        page_of_uuid, fake_http, csrf_of, shop_id):
    html = page_of_uuid.get(f"/shops/{shop_id}/subscriptions").get_data(as_text=True)
    box = re.search(rf'<input[^>]*id="holiday-{SUB_ID}-first_day"[^>]*>', html)
    assert box and 'type="text"' in box.group(0) and 'inputmode="numeric"' in box.group(0)
    assert re.search(rf'id="holiday-{SUB_ID}-first_day-hint"[^>]*>Par exemple, 31/12/\d{{4}}<', html)
    path = f"{page_of_uuid.base}/subscriptions/{SUB_ID}/holidays"
    fake_http.answers[("POST", path)] = (200, {"from": "2026-12-20", "to": "2027-01-03", "skipped_now": 2,
                                               "occurrences": [{}, {}]})
    resp = post(page_of_uuid, shop_id, csrf_of, "/holidays", {f"holiday-{SUB_ID}-first_day": "31/12/2026",
                                                               f"holiday-{SUB_ID}-last_day": "01/13/2027"})
    html = resp.get_data(as_text=True)
    error = re.search(rf'id="holiday-{SUB_ID}-last_day-error"[^>]*>(.*?)</p>', html, re.S)
    assert resp.status_code == 422 and error and "Saisissez une date qui existe, par exemple 31/12/" in error.group(1)
    assert 'value="01/13/2027"' in html and 'value="31/12/2026"' in html  # what was typed is kept
    assert not [s for s in fake_http.sent if s["method"] == "POST" and s["path"] == path]
    resp = post(page_of_uuid, shop_id, csrf_of, "/holidays", {f"holiday-{SUB_ID}-first_day": "20/12/2026",
                                                               f"holiday-{SUB_ID}-last_day": "3/1/2027"})
    assert resp.status_code == 303
    [sent] = [s for s in fake_http.sent if s["method"] == "POST" and s["path"] == path]
    assert sent["json"] == {"from": "2026-12-20", "to": "2027-01-03"}


def test_a_holiday_without_its_last_day_or_ending_before_it_starts_is_refused_without_asking_the_api(
        page_of_uuid, fake_http, csrf_of, shop_id):
    for data, message in (({f"holiday-{SUB_ID}-first_day": "2026-12-21"}, "Indiquez le dernier jour"),
                          ({f"holiday-{SUB_ID}-first_day": "2026-12-21", f"holiday-{SUB_ID}-last_day": "2026-12-20"},
                           "Le dernier jour doit être le premier jour ou après")):
        resp = post(page_of_uuid, shop_id, csrf_of, "/holidays", data)
        html = resp.get_data(as_text=True)
        error = re.search(rf'id="holiday-{SUB_ID}-last_day-error"[^>]*>(.*?)</p>', html, re.S)
        assert resp.status_code == 422 and error and message in error.group(1)
    assert not [s for s in fake_http.sent if s["method"] == "POST" and "/api/" in s["path"]
                and s["path"] != "/api/v1/sessions"]


def test_a_pause_with_an_order_already_placed_asks_keep_or_cancel_by_the_field_then_sends_the_choice(
        page_of_uuid, fake_http, csrf_of, shop_id):
    path = f"{page_of_uuid.base}/subscriptions/{SUB_ID}/pause"
    fake_http.answers[("POST", path)] = lambda body: (200, {}) if body.get("open_orders") else (409, {
        "title": "Conflict", "status": 409, "errors": {"open_orders": ["Choose keep or cancel."],
                                                       "open_order_cycle_ids": ["c-1"]}})
    field = f"pause-{SUB_ID}-until"
    asked = post(page_of_uuid, shop_id, csrf_of, "/pause", {field: "2027-01-04"})
    html = asked.get_data(as_text=True)
    assert asked.status_code == 422 and "Choisissez de garder ou d'annuler la commande déjà passée" in text_of(html)
    assert f'href="#pause-{SUB_ID}-open_orders"' in html
    assert f'name="pause-{SUB_ID}-open_orders"' in html and "c-1" not in text_of(html)
    done = post(page_of_uuid, shop_id, csrf_of, "/pause", {field: "2027-01-04", f"pause-{SUB_ID}-open_orders": "keep"})
    assert done.status_code == 303
    assert [s["json"] for s in fake_http.sent if s["path"] == path] == [
        {"until": "2027-01-04"}, {"until": "2027-01-04", "open_orders": "keep"}]
