"""The customer's payment page from the API's answers (their shapes as subscription-service documents them): which
page may load Stripe.js, what is sent to record a card or a consent, and what a refusal becomes."""

from __future__ import annotations

import html as htmllib
import re

import pytest

SETUP = {"setup_intent_id": "seti_1", "client_secret": "seti_1_secret_abc", "publishable_key": "pk_test_x",
         "stripe_js_url": "http://127.0.0.1:8420/js.stripe.com/v3/", "stripe_api_base": "http://127.0.0.1:8420"}


@pytest.fixture
def signed_in(customer_signed_in, fake_http):
    client = customer_signed_in(shop={"locale": "en"}, customer={
        "locale": "fr", "card": {"brand": "visa", "last4": "4242", "exp_month": 3, "exp_year": 2031},
        "allow_charges": False})
    me = f"{client.base}/customers/cust-1"
    fake_http.answers[("GET", f"{me}/charges-permission")] = (200, {
        "allowed": False, "has_card": True, "locale": "fr", "consent_text": "J'autorise La Ruche à débiter ma carte.",
        "withdrawal_text": "Je retire l'autorisation.", "version": 4})
    fake_http.answers[("POST", f"{me}/card/setup")] = (201, SETUP)
    return client


def text_of(html: str) -> str:
    return htmllib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def test_the_page_shows_the_card_and_the_consent_text_in_the_customers_language(signed_in, fake_http, shop_id):
    resp = signed_in.get(f"/shops/{shop_id}/payment")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and 'lang="fr"' in html
    assert "Visa se terminant par 4242" in text_of(html) and "03/2031" in html
    assert "J'autorise La Ruche à débiter ma carte." in text_of(html)
    assert 'name="locale" type="hidden" value="fr"' in html
    asked = next(s for s in fake_http.sent if s["path"].endswith("/charges-permission"))
    assert asked["params"] == {"locale": "fr"}  # the text in the language of the page
    assert "script-src 'self';" in resp.headers["Content-Security-Policy"] + ";"  # no Stripe.js on this page
    assert "<script" not in html


def test_only_the_card_form_may_load_stripe_js_from_the_configured_stripe_base(make_app, fake_http, csrf_of,
                                                                                shop_id, signed_in):
    page = signed_in.get(f"/shops/{shop_id}/payment").get_data(as_text=True)
    resp = signed_in.post(f"/shops/{shop_id}/payment/card/new", data={"csrf_token": csrf_of(page)})
    html = resp.get_data(as_text=True)
    policy = dict(p.strip().split(" ", 1) for p in resp.headers["Content-Security-Policy"].split(";"))
    stripe = "http://127.0.0.1:8420"  # the unit tests' settings give no Stripe base: Stripe's own origins
    assert resp.status_code == 200 and stripe not in policy["script-src"]
    assert "https://js.stripe.com" in policy["script-src"] and "'unsafe-inline'" not in policy["script-src"]
    assert '<script src="https://js.stripe.com/v3/"></script>' in html
    assert 'data-client-secret="seti_1_secret_abc"' in html
    assert policy["frame-ancestors"] == "'none'"
    # with localstripe as the configured base, its origin and nothing else
    app = make_app(stripe_api_base=stripe)
    client = app.test_client()
    fake_http.sent.clear()
    client.post("/sign-in/t", data={"csrf_token": csrf_of(client.get("/sign-in/t").get_data(as_text=True))})
    page = client.get(f"/shops/{shop_id}/payment").get_data(as_text=True)
    resp = client.post(f"/shops/{shop_id}/payment/card/new", data={"csrf_token": csrf_of(page)})
    policy = dict(p.strip().split(" ", 1) for p in resp.headers["Content-Security-Policy"].split(";"))
    assert policy["script-src"] == f"'self' {stripe}" and policy["connect-src"] == f"'self' {stripe}"
    assert f'<script src="{stripe}/js.stripe.com/v3/"></script>' in resp.get_data(as_text=True)
    assert "js.stripe.com" not in client.get(f"/shops/{shop_id}/payment").headers["Content-Security-Policy"]


def test_a_refused_card_setup_is_shown_by_the_card_field_with_a_new_setup(signed_in, fake_http, csrf_of, shop_id):
    me = f"/api/v1/shops/{shop_id}/customers/cust-1"
    fake_http.answers[("PUT", f"{me}/card")] = (422, {"title": "Validation failed", "errors": {
        "setup_intent_id": ["The card setup is not finished (status requires_action): the customer confirms it in "
                            "their browser (with 3-D Secure when the bank asks), then it can be saved."]}})
    page = signed_in.post(f"/shops/{shop_id}/payment/card/new",
                          data={"csrf_token": csrf_of(signed_in.get(f"/shops/{shop_id}/payment").get_data(
                              as_text=True))}).get_data(as_text=True)
    resp = signed_in.post(f"/shops/{shop_id}/payment/card", data={"csrf_token": csrf_of(page),
                                                                 "setup_intent_id": "seti_1"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "<title>Erreur :" in html.replace("\xa0", " ")
    assert "href=\"#card-element\">Votre carte n&#39;est pas encore confirmée" in html  # in the customer's words
    assert "requires_action" not in html
    assert 'id="card-error" class="error-message">' in html  # shown by the field, not hidden
    assert [s["path"] for s in fake_http.sent if s["method"] != "GET"][-2:] == [f"{me}/card", f"{me}/card/setup"]


def test_a_card_that_is_someone_elses_is_refused_by_the_card_field(signed_in, fake_http, csrf_of, shop_id):
    me = f"/api/v1/shops/{shop_id}/customers/cust-1"
    fake_http.answers[("PUT", f"{me}/card")] = (403, {"title": "Not allowed", "detail": "This payment method "
                                                      "belongs to someone else."})
    page = signed_in.get(f"/shops/{shop_id}/payment").get_data(as_text=True)
    resp = signed_in.post(f"/shops/{shop_id}/payment/card", data={"csrf_token": csrf_of(page),
                                                                 "setup_intent_id": "seti_1"})
    html = text_of(resp.get_data(as_text=True))
    assert resp.status_code == 422 and "Cette carte ne peut pas être enregistrée pour vous." in html
    assert "belongs to someone else" not in html


def test_a_card_form_posted_without_a_confirmed_setup_sends_nothing(signed_in, fake_http, csrf_of, shop_id):
    page = signed_in.get(f"/shops/{shop_id}/payment").get_data(as_text=True)
    resp = signed_in.post(f"/shops/{shop_id}/payment/card", data={"csrf_token": csrf_of(page),
                                                                 "setup_intent_id": "pm_not_a_setup"})
    assert resp.status_code == 422 and "Saisissez les données de votre carte" in resp.get_data(as_text=True)
    assert not [s for s in fake_http.sent if s["method"] == "PUT"]


def test_the_consent_needs_the_box_ticked_and_records_the_language_of_the_text_shown(signed_in, fake_http,
                                                                                      csrf_of, shop_id):
    me = f"/api/v1/shops/{shop_id}/customers/cust-1"
    fake_http.answers[("PUT", f"{me}/charges-permission")] = (200, {"id": "cust-1", "allow_charges": True})
    page = signed_in.get(f"/shops/{shop_id}/payment").get_data(as_text=True)
    unticked = signed_in.post(f"/shops/{shop_id}/payment/permission",
                              data={"csrf_token": csrf_of(page), "locale": "fr"})
    html = unticked.get_data(as_text=True)
    assert unticked.status_code == 422 and 'href="#agree"' in html and 'id="agree-error"' in html
    assert "Cochez la case pour autoriser la boutique à débiter votre carte" in text_of(html)
    assert not [s for s in fake_http.sent if s["method"] == "PUT"]
    forged = signed_in.post(f"/shops/{shop_id}/payment/permission",
                            data={"csrf_token": csrf_of(page), "locale": "de", "agree": "y"})
    assert forged.status_code == 400 and not [s for s in fake_http.sent if s["method"] == "PUT"]
    given = signed_in.post(f"/shops/{shop_id}/payment/permission",
                           data={"csrf_token": csrf_of(page), "locale": "fr", "agree": "y"})
    assert given.status_code == 303 and given.headers["Location"] == f"/shops/{shop_id}/payment"
    [put] = [s for s in fake_http.sent if s["method"] == "PUT"]
    assert put["path"] == f"{me}/charges-permission" and put["json"] == {"locale": "fr"}
    assert put["headers"]["Authorization"] == "Bearer rop_customer_session"


def test_withdrawing_names_the_language_of_the_text_shown(signed_in, fake_http, csrf_of, shop_id):
    me = f"/api/v1/shops/{shop_id}/customers/cust-1"
    fake_http.answers[("DELETE", f"{me}/charges-permission")] = (200, {"id": "cust-1", "allow_charges": False})
    page = signed_in.get(f"/shops/{shop_id}/payment").get_data(as_text=True)
    resp = signed_in.post(f"/shops/{shop_id}/payment/permission/withdraw",
                          data={"csrf_token": csrf_of(page), "locale": "fr"})
    assert resp.status_code == 303
    [deleted] = [s for s in fake_http.sent if s["method"] == "DELETE"]
    assert deleted["path"] == f"{me}/charges-permission" and deleted["params"] == {"locale": "fr"}
