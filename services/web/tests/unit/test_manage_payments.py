"""The manager's payments needing attention, from billing-service's answers (their shapes as billing documents
them): what the list asks for and shows, in the shop's language, why a payment failed in the manager's words, and
what each action sends (If-Match, the form's Idempotency-Key, a refund in integer minor units), the refusals shown
by their field. No I/O: the APIs are played by the recording stand-in."""

from __future__ import annotations

import html as htmllib
import re
import uuid

import pytest

from web_app import words
from web_app.i18n import minor_units

FAILED_ID, WAITING_ID, PAID_ID = (str(uuid.uuid4()) for _ in range(3))


def payment(payment_id: str, status: str, **kw: object) -> dict:
    doc = {"payment_id": payment_id, "order_id": f"order-{payment_id[:4]}", "order_number": "R2026-0001",
           "customer_id": "cust-1", "customer_email": "ann@example.org", "method": "stripe", "amount": 4210,
           "currency": "EUR", "status": status, "attempts": 1, "collected_amount": 0, "amount_refunded": 0,
           "failure": None, "next_attempt_at": None, "paid_at": None, "paid_note": None, "card": None,
           "stripe_charge_id": None, "created_at": "2026-12-04T16:00:00+00:00", "version": 3}
    doc.update(kw)
    return doc


FAILED = payment(FAILED_ID, "failed", failure={"code": "card_declined", "decline_code": "insufficient_funds",
                                               "message": "x", "retryable": True, "final": False},
                 next_attempt_at="2026-12-05T23:30:00+00:00")
WAITING = payment(WAITING_ID, "requires_action", order_number="R2026-0002")
PAID = payment(PAID_ID, "succeeded", order_number="R2026-0003", collected_amount=4210, amount_refunded=1000,
               stripe_charge_id="ch_1", paid_at="2026-12-04T16:01:00+00:00")


def text_of(html: str) -> str:
    return htmllib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))).replace("\u202f", " ").replace(
        "\xa0", " ")


@pytest.fixture
def manager(client, fake_http, csrf_of, shop_id):
    """A manager of the shop signed in (the session cookie a manager's emailed link opens), the shop in French."""
    fake_http.answers[("POST", "/api/v1/sessions")] = (201, {"token": "rop_manager_session", "role": "manager",
                                                             "shop_ids": [shop_id], "customer_id": None})
    client.post("/sign-in/t", data={"csrf_token": csrf_of(client.get("/sign-in/t").get_data(as_text=True))})
    base = f"/api/v1/shops/{shop_id}"
    fake_http.answers[("GET", base)] = (200, {"id": shop_id, "name": "La Ruche", "locale": "fr",
                                              "timezone": "Europe/Paris", "currency": "EUR"})
    fake_http.answers[("GET", f"{base}/payments")] = (200, {"items": [FAILED, WAITING], "next_cursor": None})
    for doc in (FAILED, WAITING, PAID):
        fake_http.answers[("GET", f"{base}/payments/{doc['payment_id']}")] = (200, doc)
        fake_http.answers[("GET", f"{base}/payments/{doc['payment_id']}/attempts")] = (200, {
            "items": [], "next_cursor": None})
    fake_http.answers[("GET", f"{base}/payments/{PAID_ID}/refunds")] = (200, {"items": [
        {"refund_id": "r1", "payment_id": PAID_ID, "amount": 1000, "total_refunded": 1000, "currency": "EUR",
         "reason": "œufs cassés", "created_at": "2026-12-04T17:00:00+00:00"}], "next_cursor": None})
    return client


def page_of(client, url):
    resp = client.get(url)
    return resp, resp.get_data(as_text=True), text_of(resp.get_data(as_text=True))


def posted(fake_http, suffix):
    return [s for s in fake_http.sent if s["method"] == "POST" and s["path"].endswith(suffix)]


def test_the_list_asks_billing_for_failed_and_waiting_payments_and_says_why_in_the_managers_words(manager, fake_http,
                                                                                                   shop_id):
    resp, html, text = page_of(manager, f"/manage/shops/{shop_id}/payments/")
    assert resp.status_code == 200 and 'lang="fr"' in html and "<script" not in html
    [asked] = [s for s in fake_http.sent if s["path"] == f"/api/v1/shops/{shop_id}/payments"]
    assert asked["params"]["status"] == ["failed", "requires_action"]
    assert asked["headers"]["Authorization"] == "Bearer rop_manager_session"
    assert "Échoué" in text and "La banque du client a refusé le paiement : le solde de la carte était insuffisant" \
        in text.replace("’", "'")
    assert "Prochain essai automatique : dim. 6 déc. 2026, 00:30" in text  # the shop's time zone
    assert "ann@example.org" in text and "42,10 €" in text
    assert "le client a reçu un lien pour confirmer le paiement auprès de sa banque (3-D Secure)" in text
    assert f'href="/manage/shops/{shop_id}/payments/{FAILED_ID}"' in html


def test_the_paid_tab_asks_for_paid_payments_and_a_bad_cursor_starts_again(manager, fake_http, shop_id):
    page_of(manager, f"/manage/shops/{shop_id}/payments/?show=paid")
    assert fake_http.sent[-1]["params"]["status"] == ["succeeded", "paid", "refunded"]
    fake_http.answers[("GET", f"/api/v1/shops/{shop_id}/payments")] = (400, {"title": "Bad cursor"})
    resp = manager.get(f"/manage/shops/{shop_id}/payments/?show=paid&cursor=nonsense")
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/payments/?show=paid")


def test_a_failed_payment_offers_retry_and_mark_paid_but_not_refund(manager, shop_id):
    _resp, html, text = page_of(manager, f"/manage/shops/{shop_id}/payments/{FAILED_ID}")
    assert "Réessayer maintenant" in text and "Marquer payé" in text
    assert "/refund" not in html


def test_retry_sends_the_version_shown_and_the_forms_key_and_the_same_form_sent_twice_sends_the_same_key(
        manager, fake_http, csrf_of, shop_id):
    fake_http.answers[("POST", f"/api/v1/shops/{shop_id}/payments/{FAILED_ID}/retry")] = (202, {
        **FAILED, "status": "processing", "version": 4})
    _resp, html, _text = page_of(manager, f"/manage/shops/{shop_id}/payments/{FAILED_ID}")
    key = re.search(r'id="retry-key" name="retry-key" type="hidden" value="([0-9a-f]{32})"', html).group(1)
    form = {"csrf_token": csrf_of(html), "retry-version": "3", "retry-key": key}
    for _ in range(2):
        done = manager.post(f"/manage/shops/{shop_id}/payments/{FAILED_ID}/retry", data=form)
        assert done.status_code == 303 and done.headers["Location"].endswith(f"/payments/{FAILED_ID}")
    sent = posted(fake_http, "/retry")
    assert [s["headers"]["If-Match"] for s in sent] == ['"3"', '"3"']
    assert [s["headers"]["Idempotency-Key"] for s in sent] == [key, key]  # billing answers the second from the first


def test_mark_paid_sends_the_note(manager, fake_http, csrf_of, shop_id):
    fake_http.answers[("POST", f"/api/v1/shops/{shop_id}/payments/{FAILED_ID}/mark-paid")] = (200, {
        **FAILED, "status": "paid"})
    _resp, html, _text = page_of(manager, f"/manage/shops/{shop_id}/payments/{FAILED_ID}")
    done = manager.post(f"/manage/shops/{shop_id}/payments/{FAILED_ID}/mark-paid", data={
        "csrf_token": csrf_of(html), "paid-version": "3", "paid-key": "k1", "paid-note": "espèces au retrait"})
    assert done.status_code == 303
    [sent] = posted(fake_http, "/mark-paid")
    assert sent["json"] == {"note": "espèces au retrait"} and sent["headers"]["If-Match"] == '"3"'


def test_a_refund_typed_in_euros_is_sent_in_integer_minor_units_with_its_reason(manager, fake_http, csrf_of,
                                                                                 shop_id):
    fake_http.answers[("POST", f"/api/v1/shops/{shop_id}/payments/{PAID_ID}/refunds")] = (201, {
        "refund_id": "r2", "amount": 1250, "total_refunded": 2250})
    _resp, html, text = page_of(manager, f"/manage/shops/{shop_id}/payments/{PAID_ID}")
    assert "Au plus 32,10 €" in text and "œufs cassés" in text  # what is left to refund, the earlier refund
    done = manager.post(f"/manage/shops/{shop_id}/payments/{PAID_ID}/refund", data={
        "csrf_token": csrf_of(html), "refund-version": "3", "refund-key": "k2", "refund-amount": "12,50",
        "refund-reason": "produit manquant"})
    assert done.status_code == 303
    [sent] = posted(fake_http, "/refunds")
    assert sent["json"] == {"amount": 1250}
    assert sent["headers"]["X-Change-Reason"] == "produit manquant" and sent["headers"]["Idempotency-Key"] == "k2"


@pytest.mark.parametrize("typed", ["12.345", "-3", "douze", "0"])
def test_an_amount_that_is_not_money_is_refused_by_its_field_and_nothing_is_sent(manager, fake_http, csrf_of,
                                                                                  shop_id, typed):
    _resp, html, _text = page_of(manager, f"/manage/shops/{shop_id}/payments/{PAID_ID}")
    resp = manager.post(f"/manage/shops/{shop_id}/payments/{PAID_ID}/refund", data={
        "csrf_token": csrf_of(html), "refund-version": "3", "refund-key": "k3", "refund-amount": typed})
    text = text_of(resp.get_data(as_text=True))
    assert resp.status_code == 422 and "Erreur : Saisissez un montant comme 12,50" in text.replace("’", "'")
    assert 'href="#refund-amount"' in resp.get_data(as_text=True)
    assert not posted(fake_http, "/refunds")


def test_more_than_is_left_is_refused_by_billing_and_shown_by_the_amount(manager, fake_http, csrf_of, shop_id):
    fake_http.answers[("POST", f"/api/v1/shops/{shop_id}/payments/{PAID_ID}/refunds")] = (422, {
        "type": "https://docs.recurring-orders.example/problems/refund-refused", "title": "Refund refused",
        "detail": "At most 3210 can still be refunded.", "errors": {"amount": ["At most 3210 can still be refunded."]}})
    _resp, html, _text = page_of(manager, f"/manage/shops/{shop_id}/payments/{PAID_ID}")
    resp = manager.post(f"/manage/shops/{shop_id}/payments/{PAID_ID}/refund", data={
        "csrf_token": csrf_of(html), "refund-version": "3", "refund-key": "k4", "refund-amount": "40"})
    out = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "Rien n’a été fait" in out
    assert "C’est plus que ce qui peut encore être remboursé" in out and 'value="40"' in out  # kept as typed
    assert 'name="refund-key" type="hidden" value="k4"' not in out  # a new key: a refused request stored nothing


def test_a_stale_form_shows_the_payment_as_it_is_now_and_does_nothing(manager, fake_http, csrf_of, shop_id):
    fake_http.answers[("POST", f"/api/v1/shops/{shop_id}/payments/{FAILED_ID}/retry")] = (412, {
        "type": "https://docs.recurring-orders.example/problems/stale-version", "title": "Precondition failed"})
    fake_http.answers[("GET", f"/api/v1/shops/{shop_id}/payments/{FAILED_ID}")] = (200, {**FAILED, "version": 5})
    _resp, html, _text = page_of(manager, f"/manage/shops/{shop_id}/payments/{FAILED_ID}")
    resp = manager.post(f"/manage/shops/{shop_id}/payments/{FAILED_ID}/retry", data={
        "csrf_token": csrf_of(html), "retry-version": "3", "retry-key": "k5"})
    out = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "Ce paiement a changé depuis que vous avez ouvert la page" in out
    assert 'name="retry-version" type="hidden" value="5"' in out  # the form now carries the current version


def test_a_refusal_of_a_command_is_told_in_the_managers_words_by_its_button(manager, fake_http, csrf_of, shop_id):
    fake_http.answers[("POST", f"/api/v1/shops/{shop_id}/payments/{FAILED_ID}/retry")] = (409, {
        "type": "https://docs.recurring-orders.example/problems/conflict", "title": "Conflict",
        "detail": "The payment was already tried 20 times."})
    _resp, html, _text = page_of(manager, f"/manage/shops/{shop_id}/payments/{FAILED_ID}")
    resp = manager.post(f"/manage/shops/{shop_id}/payments/{FAILED_ID}/retry", data={
        "csrf_token": csrf_of(html), "retry-version": "3", "retry-key": "k6"})
    text = text_of(resp.get_data(as_text=True))
    assert "Cette carte a déjà été débitée 20 fois sans succès" in text and "already tried" not in text


def test_the_managers_reasons_cover_every_code_the_customers_do():
    assert set(words.MANAGER_FAILURE_REASONS) == set(words.FAILURE_REASONS)


@pytest.mark.parametrize("typed, currency, minor", [
    ("12.50", "EUR", 1250), ("12,5", "EUR", 1250), ("0,01", "EUR", 1), ("1 234,56", "EUR", 123456),
    ("500", "JPY", 500), ("12.345", "EUR", None), ("5.5", "JPY", None), ("-1", "EUR", None), ("1e3", "EUR", None),
    ("", "EUR", None)])
def test_an_amount_typed_in_the_major_unit_becomes_exact_integer_minor_units(typed, currency, minor):
    assert minor_units(typed, currency) == minor


def test_a_refund_stripe_refused_is_told_as_such_by_the_refund_form(manager, fake_http, csrf_of, shop_id):
    fake_http.answers[("POST", f"/api/v1/shops/{shop_id}/payments/{PAID_ID}/refunds")] = (502, {
        "type": "https://docs.recurring-orders.example/problems/stripe-refused", "title": "Stripe refused the request",
        "detail": "Stripe refused the refund."})
    _resp, html, _text = page_of(manager, f"/manage/shops/{shop_id}/payments/{PAID_ID}")
    resp = manager.post(f"/manage/shops/{shop_id}/payments/{PAID_ID}/refund", data={
        "csrf_token": csrf_of(html), "refund-version": "3", "refund-key": "k7", "refund-amount": "5"})
    text = text_of(resp.get_data(as_text=True))
    assert resp.status_code == 422 and "Le service de paiement par carte a refusé. Réessayez dans quelques minutes." \
        in text and "autre carte" not in text
