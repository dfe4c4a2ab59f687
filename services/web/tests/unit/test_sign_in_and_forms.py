"""Signing in with an emailed link, forms' errors shown GOV.UK-style, and the services' refusals on the fields."""

from __future__ import annotations

import re

import requests

from web_app.api import ApiError
from web_app.people import safe_next


def problem(status: int, errors: dict | None = None, detail: str = "") -> tuple[int, dict]:
    return status, {"type": "about:blank", "title": "Validation failed", "status": status, "detail": detail,
                    **({"errors": errors} if errors else {})}


def test_a_bad_address_gets_its_message_by_the_field_and_in_the_summary_and_is_kept(client, fake_http, csrf_of,
                                                                                    shop_id):
    page = client.get(f"/shops/{shop_id}/sign-in").get_data(as_text=True)
    assert 'aria-describedby="email-hint"' in page
    assert "aria-invalid" not in page  # "false" drew the style sheet's "valid" tick in the empty box
    resp = client.post(f"/shops/{shop_id}/sign-in", data={"csrf_token": csrf_of(page), "email": "ann at example"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert fake_http.sent == []  # nothing asked of the API
    summary = re.search(r'<div class="error-summary".*?</div>', html, re.S).group(0)
    assert '<a href="#email">Enter an email address in the correct format' in summary
    assert 'id="email-error"' in html and 'aria-describedby="email-hint email-error"' in html
    assert 'aria-invalid="true"' in html and 'value="ann at example"' in html
    assert "<title>Error: Sign in" in html


def test_an_empty_address_is_asked_for_in_french_for_a_french_browser(client, csrf_of, shop_id):
    page = client.get(f"/shops/{shop_id}/sign-in", headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    resp = client.post(f"/shops/{shop_id}/sign-in", data={"csrf_token": csrf_of(page.get_data(as_text=True)),
                                                          "email": ""}, headers={"Accept-Language": "fr"})
    html = resp.get_data(as_text=True)
    assert 'lang="fr"' in html and "Saisissez votre adresse e-mail" in html and "Erreur :" in html


def test_the_api_refusal_of_a_field_is_shown_next_to_that_field(client, fake_http, csrf_of, shop_id):
    fake_http.answers[("POST", "/api/v1/sign-in-links")] = problem(422, {"email": ["Not a valid email address."]})
    page = client.get(f"/shops/{shop_id}/sign-in").get_data(as_text=True)
    resp = client.post(f"/shops/{shop_id}/sign-in", data={"csrf_token": csrf_of(page), "email": "ann@example.org"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    field = re.search(r'<p id="email-error" class="error-message">(.*?)</p>', html, re.S).group(1)
    assert "Enter an email address in the correct format, like name@example.com" in field  # our words, not the API's
    assert "Not a valid email address." not in html


def test_asking_for_a_link_answers_the_same_and_keeps_where_the_person_was_going(client, fake_http, csrf_of,
                                                                                 shop_id):
    fake_http.answers[("POST", "/api/v1/sign-in-links")] = (202, {"status": "on its way"})
    going = f"/shops/{shop_id}/subscriptions?x=1"
    page = client.get(f"/shops/{shop_id}/sign-in", query_string={"next": going}).get_data(as_text=True)
    resp = client.post(f"/shops/{shop_id}/sign-in", data={"csrf_token": csrf_of(page), "email": " ann@example.org ",
                                                          "next": going})
    assert resp.status_code == 303 and "/sign-in/sent" in resp.headers["Location"]
    assert fake_http.sent[-1]["json"] == {"email": "ann@example.org", "shop_id": shop_id}
    fake_http.answers[("POST", "/api/v1/sessions")] = (201, {"token": "rop_s", "role": "customer",
                                                             "shop_ids": [shop_id], "customer_id": "c1"})
    page = client.get("/sign-in/rsl_tok").get_data(as_text=True)
    resp = client.post("/sign-in/rsl_tok", data={"csrf_token": csrf_of(page)})
    assert resp.status_code == 303 and resp.headers["Location"] == going
    assert fake_http.sent[-1]["json"] == {"token": "rsl_tok"} and fake_http.sent[-1]["method"] == "POST"


def test_opening_the_link_uses_nothing_until_the_person_presses_the_button(client, fake_http):
    assert client.get("/sign-in/rsl_tok").status_code == 200
    assert fake_http.sent == []


def test_a_used_or_expired_link_says_so_and_offers_a_new_one(client, fake_http, csrf_of):
    fake_http.answers[("POST", "/api/v1/sessions")] = problem(401, detail="unknown, used or expired")
    page = client.get("/sign-in/rsl_old").get_data(as_text=True)
    resp = client.post("/sign-in/rsl_old", data={"csrf_token": csrf_of(page)})
    assert resp.status_code == 401 and "This link no longer works" in resp.get_data(as_text=True)
    assert client.get_cookie("session") is None or "token" not in resp.get_data(as_text=True)


def test_a_page_of_a_shop_sends_an_anonymous_person_to_sign_in_and_back(client, shop_id):
    resp = client.get(f"/shops/{shop_id}/subscriptions")
    assert resp.status_code == 302
    assert resp.headers["Location"] == f"/shops/{shop_id}/sign-in?next=/shops/{shop_id}/subscriptions"


def test_a_session_the_api_no_longer_accepts_signs_the_person_out_and_back_to_sign_in(client, fake_http, csrf_of,
                                                                                      shop_id):
    fake_http.answers[("POST", "/api/v1/sessions")] = (201, {"token": "rop_s", "role": "customer",
                                                             "shop_ids": [shop_id], "customer_id": "c1"})
    client.post("/sign-in/t", data={"csrf_token": csrf_of(client.get("/sign-in/t").get_data(as_text=True))})
    fake_http.answers[("GET", f"/api/v1/shops/{shop_id}")] = problem(401)
    resp = client.get(f"/shops/{shop_id}/subscriptions")
    assert resp.status_code == 302 and resp.headers["Location"].startswith(f"/shops/{shop_id}/sign-in?next=")
    assert client.get(f"/shops/{shop_id}/subscriptions").status_code == 302  # signed out: no second API call
    assert sum(1 for s in fake_http.sent if s["method"] == "GET") == 1


def test_only_paths_of_this_app_are_gone_back_to_after_signing_in():
    assert safe_next("/shops/1/subscriptions?a=b") == "/shops/1/subscriptions?a=b"
    for bad in (None, "", "https://evil.example/", "//evil.example", "/\\evil.example", "evil", "/\x00x",
                "javascript:alert(1)"):
        assert safe_next(bad) is None


def test_problem_details_become_field_messages():
    resp = requests.Response()
    resp.status_code = 422
    resp._content = (b'{"title": "Validation failed", "detail": "d", "status": 422, '
                     b'"errors": {"items.0.quantity": ["Must be at least 1."], "email": "bad"}}')
    resp.headers["Content-Type"] = "application/problem+json"
    err = ApiError.from_response(resp)
    assert (err.status, err.title, err.detail) == (422, "Validation failed", "d")
    assert err.errors == {"items.0.quantity": ["Must be at least 1."], "email": ["bad"]}
    resp._content = b"<html>bad gateway</html>"
    resp.headers["Content-Type"] = "text/html"
    resp.status_code = 502
    assert ApiError.from_response(resp).errors == {}


def test_a_service_that_does_not_answer_is_an_error_page_not_a_stack_trace(make_app, csrf_of, shop_id):
    app = make_app()
    del app.extensions["api_http"]  # real HTTP to an address that does not resolve
    client = app.test_client()
    page = client.get(f"/shops/{shop_id}/sign-in").get_data(as_text=True)
    resp = client.post(f"/shops/{shop_id}/sign-in", data={"csrf_token": csrf_of(page), "email": "a@example.org"})
    assert resp.status_code == 502 and "Traceback" not in resp.get_data(as_text=True)


def test_signing_out_ends_the_session_at_the_api_too_and_forgets_it(client, fake_http, csrf_of, shop_id):
    fake_http.answers[("POST", "/api/v1/sessions")] = (201, {"id": "tok-1", "token": "rop_s", "role": "customer",
                                                             "shop_ids": [shop_id], "customer_id": "c1"})
    client.post("/sign-in/t", data={"csrf_token": csrf_of(client.get("/sign-in/t").get_data(as_text=True))})
    fake_http.answers[("DELETE", "/api/v1/tokens/tok-1")] = (200, {"id": "tok-1", "revoked_at": "now"})
    page = client.get(f"/shops/{shop_id}/sign-in").get_data(as_text=True)
    resp = client.post("/sign-out", data={"csrf_token": csrf_of(page)})
    assert resp.status_code == 303 and resp.headers["Location"] == f"/shops/{shop_id}/sign-in"
    revoke = fake_http.sent[-1]
    assert (revoke["method"], revoke["path"]) == ("DELETE", "/api/v1/tokens/tok-1")
    assert revoke["headers"]["Authorization"] == "Bearer rop_s"
    assert client.get(f"/shops/{shop_id}/subscriptions").status_code == 302
