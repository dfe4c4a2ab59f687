"""A customer chooses the substitutes of their subscription's products on their subscriptions page: what is
offered (order-service's products for sale), what is sent (subscription-service's PATCH with the customer's own
session, If-Match, only this line's substitutes changed), and the API's refusals by the select box, in French."""

from __future__ import annotations

import html as htmllib
import re

import pytest

SUB = {"id": "11111111-1111-4111-8111-111111111111", "state": "active", "schedule_name": "Panier hebdo",
       "currency": "EUR", "version": 4, "created_at": "2026-11-01T10:00:00+00:00",
       "begins_at": "2026-11-02T09:00:00+00:00", "ends_at": None, "paused_at": None, "cancelled_at": None,
       "items": [{"variant_id": "tomatoes", "name": "Tomates", "quantity": 2, "price_estimate": 300,
                  "total_estimate": 600, "available": True, "substitutes": ["peppers"],
                  "substitute_names": ["Poivrons"]},
                 {"variant_id": "eggs", "name": "Œufs", "quantity": 1, "price_estimate": 320,
                  "total_estimate": 320, "available": True, "substitutes": [], "substitute_names": []}],
       "estimate": {"item_total": 920, "shipping_fee": 0, "payment_fee": 0, "total": 920}}
PRODUCTS = [{"variant_id": "tomatoes", "product_name": "Tomates", "variant_name": None, "unit_price": 300,
             "currency": "EUR", "in_stock": True},
            {"variant_id": "peppers", "product_name": "Poivrons", "variant_name": None, "unit_price": 350,
             "currency": "EUR", "in_stock": True},
            {"variant_id": "courgettes", "product_name": "Courgettes", "variant_name": None, "unit_price": 250,
             "currency": "EUR", "in_stock": False},
            {"variant_id": "eggs", "product_name": "Œufs", "variant_name": None, "unit_price": 320,
             "currency": "EUR", "in_stock": True}]


@pytest.fixture
def page(customer_signed_in, fake_http, shop_id):
    client = customer_signed_in(shop={"allow_customer_skip": True})
    base = client.base
    fake_http.answers[("GET", f"{base}/subscriptions")] = (200, {"items": [SUB], "next_cursor": None})
    fake_http.answers[("GET", f"{base}/subscriptions/{SUB['id']}")] = (200, SUB)
    fake_http.answers[("GET", f"{base}/subscriptions/{SUB['id']}/occurrences")] = (200, {"items": [],
                                                                                        "next_cursor": None})
    fake_http.answers[("GET", f"{base}/products")] = (200, {"items": PRODUCTS, "next_cursor": None})
    return client


def _text(html: str) -> str:
    text = htmllib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))
    return text.replace("\u202f", " ").replace("\xa0", " ")


def _form(client, shop_id, csrf_of, line=0, **chosen):
    html = client.get(f"/shops/{shop_id}/subscriptions").get_data(as_text=True)
    prefix = f"subst-{SUB['id']}-{line}-"
    data = {f"{prefix}csrf_token": csrf_of(html), f"{prefix}variant_id": SUB["items"][line]["variant_id"],
            f"{prefix}version": "4"}
    data.update({prefix + k: v for k, v in chosen.items()})
    return f"/shops/{shop_id}/subscriptions/{SUB['id']}/lines/{line}/substitutes", data


def test_each_product_line_offers_the_shops_products_for_sale_but_itself_its_substitutes_chosen(page, fake_http,
                                                                                                shop_id):
    html = page.get(f"/shops/{shop_id}/subscriptions").get_data(as_text=True)
    text = _text(html)
    assert "Remplacements de Tomates" in text and "Remplacements de Œufs" in text
    tomato_box = html.split(f'id="subst-{SUB["id"]}-0-substitute_1"', 1)[1].split("</select>", 1)[0]
    assert '<option selected value="peppers">Poivrons – 3,50' in tomato_box.replace("\u202f", " ")
    assert 'value="tomatoes"' not in tomato_box and "Courgettes – 2,50 € (épuisé pour l'instant)" in \
        _text(tomato_box.replace("<option", " <option"))
    read = next(s for s in fake_http.sent if s["path"].endswith("/products"))
    assert read["headers"]["Authorization"] == "Bearer rop_customer_session"


def test_choosing_sends_the_subscription_as_it_is_with_only_this_lines_substitutes_and_the_version_shown(
        page, fake_http, csrf_of, shop_id):
    path = f"/api/v1/shops/{shop_id}/subscriptions/{SUB['id']}"
    fake_http.answers[("PATCH", path)] = (200, SUB)
    url, data = _form(page, shop_id, csrf_of, line=1, substitute_1="courgettes", substitute_2="",
                      substitute_3="peppers")
    resp = page.post(url, data=data)
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"#sub-{SUB['id']}")
    [sent] = [s for s in fake_http.sent if s["method"] == "PATCH"]
    assert sent["json"] == {"items": [
        {"variant_id": "tomatoes", "quantity": 2, "substitutes": ["peppers"]},
        {"variant_id": "eggs", "quantity": 1, "substitutes": ["courgettes", "peppers"]}]}
    assert sent["headers"]["If-Match"] == '"4"'
    assert sent["headers"]["Authorization"] == "Bearer rop_customer_session"
    assert "Vos remplacements sont enregistrés." in _text(page.get(resp.headers["Location"]).get_data(as_text=True))


def test_a_line_kept_at_a_quantity_of_0_is_sent_back_as_it_is_beside_the_line_whose_substitutes_change(
        page, fake_http, csrf_of, shop_id):
    old = {**SUB, "items": [{**SUB["items"][0], "quantity": 0, "total_estimate": 0}, SUB["items"][1]]}
    base = f"/api/v1/shops/{shop_id}"
    fake_http.answers[("GET", f"{base}/subscriptions")] = (200, {"items": [old], "next_cursor": None})
    fake_http.answers[("GET", f"{base}/subscriptions/{SUB['id']}")] = (200, old)
    fake_http.answers[("PATCH", f"{base}/subscriptions/{SUB['id']}")] = (200, old)
    html = page.get(f"/shops/{shop_id}/subscriptions").get_data(as_text=True)
    assert f'id="subst-{SUB["id"]}-0-substitute_1"' not in html  # a line never ordered gets no substitutes
    url, data = _form(page, shop_id, csrf_of, line=1, substitute_1="peppers")
    assert page.post(url, data=data).status_code == 303
    [sent] = [s for s in fake_http.sent if s["method"] == "PATCH"]
    assert sent["json"] == {"items": [{"variant_id": "tomatoes", "quantity": 0, "substitutes": ["peppers"]},
                                      {"variant_id": "eggs", "quantity": 1, "substitutes": ["peppers"]}]}


def test_a_refusal_of_the_api_is_shown_by_the_select_box_it_is_about_in_french_with_the_choice_kept(
        page, fake_http, csrf_of, shop_id):
    path = f"/api/v1/shops/{shop_id}/subscriptions/{SUB['id']}"
    fake_http.answers[("PATCH", path)] = (422, {"title": "Validation failed", "status": 422, "errors": {
        "items.0.substitutes.1": ["Poivrons is already a substitute of this product."]}})
    url, data = _form(page, shop_id, csrf_of, substitute_1="peppers", substitute_2="peppers")
    resp = page.post(url, data=data)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    box = f"subst-{SUB['id']}-0-substitute_2"
    error = html.split(f'id="{box}-error"', 1)[1].split("</p>", 1)[0]
    assert "Ce produit remplace déjà celui de cette ligne" in _text(error)
    assert f'href="#{box}"' in html and "<details open>" in html  # the summary links to it, the form is open
    kept = html.split(f'id="{box}"', 1)[1].split("</select>", 1)[0]
    assert '<option selected value="peppers">' in kept


def test_a_stale_form_shows_the_subscription_as_it_is_now_and_changes_nothing(page, fake_http, csrf_of, shop_id):
    path = f"/api/v1/shops/{shop_id}/subscriptions/{SUB['id']}"
    fake_http.answers[("PATCH", path)] = (412, {"title": "Precondition failed", "status": 412,
                                                "type": "https://docs.recurring-orders.example/problems/"
                                                        "stale-version"})
    url, data = _form(page, shop_id, csrf_of, substitute_1="eggs")
    resp = page.post(url, data=data)
    text = _text(resp.get_data(as_text=True))
    assert resp.status_code == 409
    assert "Cet abonnement a été modifié depuis que vous avez ouvert la page" in text
    assert "S'il manque : Poivrons" in text  # the substitutes as they are


def test_a_product_no_longer_on_the_subscription_is_a_stale_form_and_nothing_is_sent(page, fake_http, csrf_of,
                                                                                     shop_id):
    url, data = _form(page, shop_id, csrf_of, substitute_1="eggs")
    data[f"subst-{SUB['id']}-0-variant_id"] = "radishes"
    resp = page.post(url, data=data)
    assert resp.status_code == 409 and not [s for s in fake_http.sent if s["method"] == "PATCH"]


def test_a_cancelled_subscription_offers_no_substitutes_to_choose(page, fake_http, shop_id):
    base = f"/api/v1/shops/{shop_id}"
    fake_http.answers[("GET", f"{base}/subscriptions")] = (200, {"items": [{**SUB, "state": "cancelled"}],
                                                                 "next_cursor": None})
    html = page.get(f"/shops/{shop_id}/subscriptions").get_data(as_text=True)
    assert "substitute_1" not in html and not [s for s in fake_http.sent if s["path"].endswith("/products")]


def test_the_page_stays_usable_when_the_products_cannot_be_read(page, fake_http, shop_id):
    fake_http.answers[("GET", f"/api/v1/shops/{shop_id}/products")] = (503, {"title": "Not ready", "status": 503})
    resp = page.get(f"/shops/{shop_id}/subscriptions")
    assert resp.status_code == 200 and "substitute_1" not in resp.get_data(as_text=True)
