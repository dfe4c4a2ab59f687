"""The customer's payments, receipts and the page that authorises a payment their bank wants to confirm, from the
API's answers (their shapes as billing-service and order-service document them): what is shown in the customer's
language and the shop's time zone, which page may load Stripe.js, and what is sent."""

from __future__ import annotations

import html as htmllib
import re
import uuid

import pytest

PAID_ID, FAILED_ID, WAITING_ID = (str(uuid.uuid4()) for _ in range(3))


def payment(payment_id: str, status: str, **kw: object) -> dict:
    doc = {"payment_id": payment_id, "order_id": f"order-{payment_id[:4]}", "order_number": "R2026-0001",
           "method": "stripe", "amount": 4210, "currency": "EUR", "status": status, "amount_refunded": 0,
           "failure": None, "paid_at": None, "paid_at_local": None, "card": None,
           "created_at": "2026-12-04T16:00:00+00:00", "version": 3}
    doc.update(kw)
    return doc


PAID = payment(PAID_ID, "succeeded", paid_at="2026-12-04T23:30:00+00:00", card={"brand": "visa", "last4": "3155"})
FAILED = payment(FAILED_ID, "failed", order_number="R2026-0002",
                 failure={"code": "card_declined", "decline_code": "insufficient_funds", "message": "Your bank…"})
WAITING = payment(WAITING_ID, "requires_action", order_number="R2026-0003")
ORDER = {"order_id": PAID["order_id"], "number": "R2026-0001", "currency": "EUR", "lines": [
    {"name": "Panier de légumes", "quantity": 1, "unit_price": 2000, "total": 2000, "variant_id": "box"},
    {"name": "Œufs x6", "quantity": 2, "unit_price": 350, "total": 700, "variant_id": "eggs"}],
    "totals": {"item_total": 2700, "shipping_fee": 500, "payment_fee": 48, "total": 3248}}


@pytest.fixture
def signed_in(customer_signed_in, fake_http):
    client = customer_signed_in(shop={"locale": "en"}, customer={"locale": "fr"})
    base = client.base
    fake_http.answers[("GET", f"{base}/customers/cust-1/payments")] = (200, {
        "items": [WAITING, FAILED, PAID], "next_cursor": None})
    for doc in (PAID, FAILED, WAITING):
        fake_http.answers[("GET", f"{base}/payments/{doc['payment_id']}")] = (200, doc)
    fake_http.answers[("GET", f"{base}/orders/{ORDER['order_id']}")] = (200, ORDER)
    fake_http.answers[("GET", f"{base}/payments/{WAITING_ID}/authorization")] = (200, {
        "payment_id": WAITING_ID, "attempt": 1, "amount": 4210, "currency": "EUR", "order_number": "R2026-0003",
        "client_secret": "pi_1_secret_abc", "payment_method": "pm_1", "stripe_account": None,
        "publishable_key": "pk_test_x"})
    return client


def text_of(html: str) -> str:
    return htmllib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))).replace("\u202f", " ").replace(
        "\xa0", " ")


def test_the_payments_list_reads_in_the_customers_language_and_the_shops_time_zone(signed_in, fake_http,
                                                                                   shop_id):
    resp = signed_in.get(f"/shops/{shop_id}/payments")
    html, text = resp.get_data(as_text=True), text_of(resp.get_data(as_text=True))
    assert resp.status_code == 200 and 'lang="fr"' in html and "<script" not in html
    assert "Vos paiements" in text and "42,10 €" in text
    assert "Payé Commande R2026-0001" in text and "Payé le sam. 5 déc. 2026, 00:30" in text  # Paris, after midnight
    assert "Échoué" in text and "le solde de la carte était insuffisant" in text  # the reason, in French
    assert "Action requise" in text
    assert f'href="/shops/{shop_id}/payments/{WAITING_ID}/authorize"' in html
    assert f'href="/shops/{shop_id}/payments/{PAID_ID}"' in html  # the receipt of the paid one only
    assert f'href="/shops/{shop_id}/payments/{FAILED_ID}"' not in html
    [asked] = [s for s in fake_http.sent if s["path"].endswith("/customers/cust-1/payments")]
    assert asked["headers"]["Authorization"] == "Bearer rop_customer_session"


def test_a_receipt_shows_the_order_lines_totals_when_paid_and_the_card(signed_in, shop_id):
    resp = signed_in.get(f"/shops/{shop_id}/payments/{PAID_ID}")
    text = text_of(resp.get_data(as_text=True))
    assert resp.status_code == 200 and "Reçu de la commande R2026-0001" in text
    assert "Panier de légumes 20,00 € l'unité 1 20,00 €" in text.replace("’", "'")
    assert "Livraison 5,00 €" in text and "Total payé 42,10 €" in text
    assert "sam. 5 déc. 2026, 00:30" in text and "Visa se terminant par 3155" in text
    assert "Imprimer ce reçu" in text  # shown by print.js, a file of the app
    assert "script-src 'self';" in resp.headers["Content-Security-Policy"] + ";"


def test_a_payment_that_needs_action_opens_its_authorisation_page_instead_of_a_receipt(signed_in, shop_id):
    resp = signed_in.get(f"/shops/{shop_id}/payments/{WAITING_ID}")
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/payments/{WAITING_ID}/authorize")


def test_only_the_authorisation_page_loads_stripe_js_from_the_configured_base(make_app, fake_http, csrf_of, shop_id,
                                                                              signed_in):
    stripe = "http://127.0.0.1:8420"
    client = make_app(stripe_api_base=stripe).test_client()
    client.post("/sign-in/t", data={"csrf_token": csrf_of(client.get("/sign-in/t").get_data(as_text=True))})
    resp = client.get(f"/shops/{shop_id}/payments/{WAITING_ID}/authorize")
    html = resp.get_data(as_text=True)
    policy = dict(p.strip().split(" ", 1) for p in resp.headers["Content-Security-Policy"].split(";"))
    assert resp.status_code == 200 and policy["script-src"] == f"'self' {stripe}"
    assert "unsafe-inline" not in resp.headers["Content-Security-Policy"]
    assert re.findall(r"<script[^>]*>\s*</script>", html) == [
        f'<script src="{stripe}/js.stripe.com/v3/"></script>', '<script src="/static/pay.js" defer></script>']
    assert 'data-client-secret="pi_1_secret_abc"' in html and 'data-payment-method="pm_1"' in html
    assert "Confirmer auprès de ma banque" in html
    for other in (f"/shops/{shop_id}/payments", f"/shops/{shop_id}/payments/{PAID_ID}",
                  f"/shops/{shop_id}/payments/{FAILED_ID}/authorize"):
        assert stripe not in client.get(other).headers["Content-Security-Policy"], other


def test_a_payment_that_waits_for_nothing_says_so_without_stripe_js(signed_in, shop_id):
    resp = signed_in.get(f"/shops/{shop_id}/payments/{FAILED_ID}/authorize")
    text = text_of(resp.get_data(as_text=True))
    assert resp.status_code == 200 and "Échoué" in text and "le solde de la carte était insuffisant" in text
    assert "pay-form" not in resp.get_data(as_text=True)


def test_the_report_after_the_bank_goes_to_billing_and_a_paid_payment_shows_its_receipt(signed_in, fake_http,
                                                                                        csrf_of, shop_id):
    base = f"/api/v1/shops/{shop_id}/payments/{WAITING_ID}/authorization"
    fake_http.answers[("POST", base)] = (200, {**WAITING, "status": "succeeded"})
    page = signed_in.get(f"/shops/{shop_id}/payments/{WAITING_ID}/authorize").get_data(as_text=True)
    forged = signed_in.post(f"/shops/{shop_id}/payments/{WAITING_ID}/authorize")  # no CSRF token
    assert forged.status_code == 400 and not [s for s in fake_http.sent if s["method"] == "POST"
                                              and s["path"] == base]
    done = signed_in.post(f"/shops/{shop_id}/payments/{WAITING_ID}/authorize", data={"csrf_token": csrf_of(page)})
    assert done.status_code == 303 and done.headers["Location"] == f"/shops/{shop_id}/payments/{WAITING_ID}"
    [sent] = [s for s in fake_http.sent if s["method"] == "POST" and s["path"] == base]
    assert sent["headers"]["Authorization"] == "Bearer rop_customer_session"
    fake_http.answers[("POST", base)] = (200, {**WAITING, "status": "failed", "failure": {
        "code": "authentication_failed", "decline_code": None}})
    failed = signed_in.post(f"/shops/{shop_id}/payments/{WAITING_ID}/authorize", data={"csrf_token": csrf_of(page)})
    assert failed.headers["Location"] == f"/shops/{shop_id}/payments/{WAITING_ID}/authorize"


def test_someone_not_signed_in_is_asked_to_sign_in_and_comes_back_to_the_payment(client, shop_id):
    resp = client.get(f"/shops/{shop_id}/payments/{WAITING_ID}/authorize")
    assert resp.status_code == 302 and f"/shops/{shop_id}/sign-in" in resp.headers["Location"]
    assert resp.headers["Location"].endswith(f"?next=/shops/{shop_id}/payments/{WAITING_ID}/authorize")


def test_just_after_signing_in_a_service_that_has_not_heard_of_the_session_yet_is_asked_again(
        signed_in, fake_http, shop_id, monkeypatch):
    path = f"/api/v1/shops/{shop_id}/customers/cust-1/payments"
    answers = iter([(401, {"title": "Authentication required"}), (200, {"items": [PAID], "next_cursor": None})])
    fake_http.answers[("GET", path)] = lambda _json: next(answers)
    resp = signed_in.get(f"/shops/{shop_id}/payments")
    assert resp.status_code == 200 and len([s for s in fake_http.sent if s["path"] == path]) == 2

    from web_app import people

    monkeypatch.setattr(people, "NEW_SESSION_S", 0)  # later, a 401 means the session ended: sign in again
    fake_http.answers[("GET", path)] = (401, {"title": "Authentication required"})
    later = signed_in.get(f"/shops/{shop_id}/payments")
    assert later.status_code == 302 and f"/shops/{shop_id}/sign-in" in later.headers["Location"]
    assert len([s for s in fake_http.sent if s["path"] == path]) == 3
