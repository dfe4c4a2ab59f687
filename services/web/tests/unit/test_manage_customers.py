"""The console's customers pages, from subscription-service's answers: the list with each card (never a Stripe id)
and permission, search and pages; a customer added (and invited), their details changed with If-Match (a change
made meanwhile shown, nothing overwritten), an address the customer proved left to them; refusals by the field."""

from __future__ import annotations

import pytest

CUSTOMER_ID = "5b1f8a52-1d2e-4f6a-9b0c-1a2b3c4d5e6f"
ADDRESS = {"first_name": "Lou", "last_name": "Petit", "address1": "3 rue Neuve", "address2": None, "city": "Lyon",
           "zipcode": "69001", "state": None, "country": "FR", "phone": None}
LOU = {"id": CUSTOMER_ID, "email": "lou@example.org", "first_name": "Lou", "last_name": "Petit", "locale": None,
       "bill_address": ADDRESS, "ship_address": ADDRESS, "allow_charges": True, "email_proven": True, "version": 3,
       "card": {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2034}}
NEW = {**LOU, "id": CUSTOMER_ID, "email": "zoe@example.org", "first_name": "Zoé", "last_name": "Roux",
       "bill_address": None, "ship_address": None, "allow_charges": False, "email_proven": False, "card": None,
       "version": 1}


@pytest.fixture
def manager(console_manager):
    return console_manager()


def _path(shop_id, tail=""):
    return f"/api/v1/shops/{shop_id}/customers{tail}"


def test_the_list_shows_each_customers_card_and_permission_never_a_stripe_id(manager, fake_http, shop_id):
    fake_http.answers[("GET", _path(shop_id))] = (200, {"items": [LOU, NEW], "next_cursor": "c2"})
    page = manager.get(f"/manage/shops/{shop_id}/customers?q=lou").get_data(as_text=True)
    rows = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0].split("</tr>")
    assert "Petit, Lou" in rows[0] and "Visa ending in 4242, expires 12/2034" in rows[0] and "Given" in rows[0]
    assert "Roux, Zoé" in rows[1] and "No card" in rows[1] and "Not given" in rows[1]
    assert fake_http.sent[-1]["params"] == {"q": "lou", "sort": "last_name", "limit": 50}
    assert f"/manage/shops/{shop_id}/customers?q=lou&amp;cursor=c2" in page
    assert "pm_" not in page and "cus_" not in page


def test_a_new_customer_is_added_and_invited_in_one_step(manager, fake_http, shop_id, csrf_of):
    fake_http.answers[("POST", _path(shop_id))] = (201, NEW)
    fake_http.answers[("POST", _path(shop_id, f"/{CUSTOMER_ID}/sign-in-link"))] = (
        202, {"email": "zoe@example.org", "expires_at": "2026-12-06T09:15:00+00:00"})
    fake_http.answers[("GET", _path(shop_id, f"/{CUSTOMER_ID}"))] = (200, NEW)
    form = manager.get(f"/manage/shops/{shop_id}/customers/new").get_data(as_text=True)
    resp = manager.post(f"/manage/shops/{shop_id}/customers/new", data={
        "csrf_token": csrf_of(form), "email": " zoe@example.org ", "first_name": "Zoé", "last_name": "Roux",
        "locale": "fr", "address1": "", "city": "", "zipcode": "", "country": "", "invite": "y"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/customers/{CUSTOMER_ID}")
    created = next(s for s in fake_http.sent if s["method"] == "POST" and s["path"] == _path(shop_id))
    assert created["json"] == {"email": "zoe@example.org", "first_name": "Zoé", "last_name": "Roux", "locale": "fr"}
    assert fake_http.sent[-1]["path"] == _path(shop_id, f"/{CUSTOMER_ID}/sign-in-link")
    page = manager.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Zoé Roux is now a customer of the shop." in page
    assert "A sign-in link is on its way to zoe@example.org" in page


def test_an_address_is_all_or_nothing_and_the_apis_refusals_come_back_by_their_fields(manager, fake_http, shop_id,
                                                                                     csrf_of):
    form = manager.get(f"/manage/shops/{shop_id}/customers/new").get_data(as_text=True)
    data = {"csrf_token": csrf_of(form), "email": "zoe@example.org", "first_name": "Zoé", "last_name": "Roux",
            "address1": "3 rue Neuve", "city": "", "zipcode": "69001", "country": "fr"}
    resp = manager.post(f"/manage/shops/{shop_id}/customers/new", data=data)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422 and '<a href="#city">Enter the town or city</a>' in page
    assert not [s for s in fake_http.sent if s["method"] == "POST"]

    fake_http.answers[("POST", _path(shop_id))] = (409, {
        "type": "https://docs.recurring-orders.example/problems/conflict", "title": "Conflict", "status": 409,
        "detail": "A customer with this email already exists in this shop.",
        "errors": {"email": ["Already used by another customer of this shop."]}})
    resp = manager.post(f"/manage/shops/{shop_id}/customers/new", data={**data, "city": "Lyon"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert '<a href="#email">Another customer of this shop already has this email address.</a>' in page
    sent = [s for s in fake_http.sent if s["method"] == "POST"][-1]["json"]
    assert sent["ship_address"] == sent["bill_address"] == {**ADDRESS, "first_name": "Zoé", "last_name": "Roux"}


def test_a_customers_page_shows_their_card_and_permission_and_leaves_a_proven_address_to_them(manager, fake_http,
                                                                                             shop_id, csrf_of):
    fake_http.answers[("GET", _path(shop_id, f"/{CUSTOMER_ID}"))] = (200, LOU)
    fake_http.answers[("PATCH", _path(shop_id, f"/{CUSTOMER_ID}"))] = (200, {**LOU, "last_name": "Martin",
                                                                              "version": 4})
    page = manager.get(f"/manage/shops/{shop_id}/customers/{CUSTOMER_ID}").get_data(as_text=True)
    assert 'id="card-summary">Visa ending in 4242, expires 12/2034' in page
    assert "Given" in page.split('id="permission-state"', 1)[1][:200]
    assert 'name="email" value="lou@example.org" readonly' in page and "Only the customer can change it" in page
    resp = manager.post(f"/manage/shops/{shop_id}/customers/{CUSTOMER_ID}", data={
        "csrf_token": csrf_of(page), "version": "3", "email": "mine@example.org", "first_name": "Lou",
        "last_name": "Martin", "locale": "", "address1": "3 rue Neuve", "city": "Lyon", "zipcode": "69001",
        "country": "FR"})
    assert resp.status_code == 303
    patch = fake_http.sent[-1]
    assert patch["headers"]["If-Match"] == '"3"' and "email" not in patch["json"]
    assert patch["json"]["last_name"] == "Martin" and patch["json"]["ship_address"]["last_name"] == "Martin"


def test_a_customer_changed_meanwhile_is_shown_as_they_are_now_and_nothing_is_overwritten(manager, fake_http,
                                                                                       shop_id, csrf_of):
    fake_http.answers[("GET", _path(shop_id, f"/{CUSTOMER_ID}"))] = (200, NEW)
    page = manager.get(f"/manage/shops/{shop_id}/customers/{CUSTOMER_ID}").get_data(as_text=True)
    fake_http.answers[("PATCH", _path(shop_id, f"/{CUSTOMER_ID}"))] = (412, {
        "type": "https://docs.recurring-orders.example/problems/stale-version", "status": 412,
        "detail": 'You sent If-Match "1" but the current version is "2": read it again.'})
    after = {**NEW, "first_name": "Zoëlle", "version": 2}
    fake_http.answers[("GET", _path(shop_id, f"/{CUSTOMER_ID}"))] = (200, after)
    resp = manager.post(f"/manage/shops/{shop_id}/customers/{CUSTOMER_ID}", data={
        "csrf_token": csrf_of(page), "version": "1", "email": "zoe@example.org", "first_name": "Zo",
        "last_name": "Roux"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 409 and "Someone changed this customer while you were editing" in page
    assert 'value="Zoëlle"' in page and 'name="version" type="hidden" value="2"' in page
    assert [s["method"] for s in fake_http.sent].count("PATCH") == 1


def test_an_invitation_refused_for_too_many_links_is_said_by_its_button_in_french(console_manager, fake_http,
                                                                                 shop_id, csrf_of):
    manager = console_manager("fr")
    fake_http.answers[("GET", _path(shop_id, f"/{CUSTOMER_ID}"))] = (200, NEW)
    fake_http.answers[("POST", _path(shop_id, f"/{CUSTOMER_ID}/sign-in-link"))] = (409, {
        "type": "https://docs.recurring-orders.example/problems/conflict", "status": 409,
        "detail": "5 sign-in links were sent to this customer in the last 15 minutes: wait until the first expires "
                  "before sending another."})
    page = manager.get(f"/manage/shops/{shop_id}/customers/{CUSTOMER_ID}").get_data(as_text=True)
    invite_csrf = page.split('/invite"', 1)[1].split('value="', 1)[1].split('"', 1)[0]
    resp = manager.post(f"/manage/shops/{shop_id}/customers/{CUSTOMER_ID}/invite", data={"csrf_token": invite_csrf})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert 'id="invite-error"' in page and "Plusieurs liens de connexion ont été envoyés" in page


def test_a_form_posted_after_the_session_ended_at_the_api_comes_back_to_its_page_through_sign_in(
        manager, fake_http, shop_id, csrf_of):
    fake_http.answers[("GET", _path(shop_id, f"/{CUSTOMER_ID}"))] = (200, NEW)
    page = manager.get(f"/manage/shops/{shop_id}/customers/{CUSTOMER_ID}").get_data(as_text=True)
    fake_http.answers[("GET", f"/api/v1/shops/{shop_id}")] = (401, {"title": "Authentication required"})
    resp = manager.post(f"/manage/shops/{shop_id}/customers/{CUSTOMER_ID}", data={
        "csrf_token": csrf_of(page), "version": "1", "email": "zoe@example.org", "first_name": "Zo",
        "last_name": "Roux"})
    assert resp.status_code == 302
    assert resp.headers["Location"] == f"/manage/sign-in?next=/manage/shops/{shop_id}/customers/{CUSTOMER_ID}"
    assert "PATCH" not in [s["method"] for s in fake_http.sent]
