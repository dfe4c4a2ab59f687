"""The customer's subscriptions page from the API's answers (their shapes as subscription-service documents them):
what is shown, in whose language and time zone, and with whose credential it was read."""

from __future__ import annotations

import re

import pytest


@pytest.fixture
def signed_in(customer_signed_in, fake_http, shop_id):
    client = customer_signed_in()
    base = client.base
    sub = {"id": "sub-1", "state": "active", "schedule_name": "Panier hebdo", "currency": "EUR",
           "created_at": "2026-11-01T10:00:00+00:00", "begins_at": "2026-11-02T09:00:00+00:00", "ends_at": None,
           "paused_at": None, "cancelled_at": None,
           "items": [{"variant_id": "box", "name": "Panier de légumes", "quantity": 2, "price_estimate": 1250,
                      "total_estimate": 2500, "available": True}],
           "estimate": {"item_total": 2500, "shipping_fee": 500, "payment_fee": 0, "total": 3000}}
    fake_http.answers[("GET", f"{base}/subscriptions")] = (200, {"items": [sub], "next_cursor": None})
    occurrence = {"order_cycle_name": "S49", "closes_at": "2026-12-03T22:30:00+00:00", "state": "placed",
                  "total": 3000, "total_is_estimate": False, "skipped": False}
    fake_http.answers[("GET", f"{base}/subscriptions/sub-1/occurrences")] = (200, {"items": [
        {**occurrence, "order_cycle_name": "S47", "cycle_status": "closed", "state": "paid"},
        {**occurrence, "order_cycle_name": "S48", "cycle_status": "closed", "state": "paid"},
        {**occurrence, "cycle_status": "open"},
        {**occurrence, "order_cycle_name": "S50", "cycle_status": "upcoming", "state": "pending",
         "total_is_estimate": True, "closes_at": "2026-12-10T22:30:00+00:00"}], "next_cursor": None})
    # (the page follows next_cursor: tested below)
    return client


def test_the_page_shows_items_totals_and_the_next_deliveries_in_the_shops_language_and_zone(signed_in, shop_id):
    html = signed_in.get(f"/shops/{shop_id}/subscriptions").get_data(as_text=True)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("\u202f", " ").replace("\xa0", " ")
    assert 'lang="fr"' in html and "Vos abonnements" in text and "Panier hebdo" in text and "Actif" in text
    assert "Panier de légumes 12,50 € l'unité 2 25,00 €" in text
    assert "Total estimé par livraison 30,00 €" in text
    assert "S47" not in text  # closed before the last one
    assert "S48 Payée" in text and "Commandes closes le" in text  # the last delivery, as it ended
    assert "S49 Commande passée" in text and "Total : 30,00 €" in text
    assert "jusqu'au jeu. 3 déc. 2026, 23:30" in text  # 22:30 UTC is 23:30 in Paris in December
    assert "S50 À venir" in text and "Total estimé : 30,00 €" in text


def test_the_page_is_read_with_the_customers_own_session_and_only_their_subscriptions(signed_in, fake_http,
                                                                                       shop_id):
    signed_in.get(f"/shops/{shop_id}/subscriptions")
    reads = [s for s in fake_http.sent if s["method"] == "GET"]
    assert reads and all(s["headers"]["Authorization"] == "Bearer rop_customer_session" for s in reads)
    listing = next(s for s in reads if s["path"].endswith("/subscriptions"))
    assert listing["params"]["customer_id"] == "cust-1"


def test_a_customer_of_another_shop_is_sent_to_sign_in_there(signed_in, fake_http):
    other = "00000000-0000-4000-8000-000000000001"
    resp = signed_in.get(f"/shops/{other}/subscriptions")
    assert resp.status_code == 302 and resp.headers["Location"].startswith(f"/shops/{other}/sign-in")
    assert not [s for s in fake_http.sent if other in s["path"]]


def test_the_next_deliveries_are_found_past_a_page_of_closed_ones(signed_in, fake_http, shop_id):
    path = f"/api/v1/shops/{shop_id}/subscriptions/sub-1/occurrences"
    closed = {"order_cycle_name": "old", "closes_at": "2026-01-01T10:00:00+00:00", "state": "paid", "total": 1,
              "total_is_estimate": False, "cycle_status": "closed"}
    pages = {None: {"items": [closed] * 100, "next_cursor": "c2"},
             "c2": {"items": [{**closed, "order_cycle_name": "Soon", "cycle_status": "upcoming",
                               "state": "pending"}], "next_cursor": None}}
    fake_http.answers[("GET", path)] = lambda _json: (200, pages[fake_http.sent[-1]["params"].get("cursor")])
    html = signed_in.get(f"/shops/{shop_id}/subscriptions").get_data(as_text=True)
    assert "Soon" in html and html.count("<strong>old</strong>") == 1


def test_a_delivery_the_platform_missed_says_so_not_just_not_placed(signed_in, fake_http, shop_id):
    path = f"/api/v1/shops/{shop_id}/subscriptions/sub-1/occurrences"
    missed = {"order_cycle_name": "S48", "closes_at": "2026-11-26T22:30:00+00:00", "state": "missed", "total": 3000,
              "total_is_estimate": True, "cycle_status": "closed", "skipped": False,
              "missed": {"reason": "open_processed_after_close", "due_reason": "cycle_opened",
                         "due_at": "2026-11-23T08:00:00+00:00"}}
    fake_http.answers[("GET", path)] = (200, {"items": [missed], "next_cursor": None})
    html = signed_in.get(f"/shops/{shop_id}/subscriptions").get_data(as_text=True)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    assert "S48 Manquée (retard de la plateforme)" in text and "missed" not in text
