"""Customers over HTTP: details by managers; card and charge permission by the customer only (in a session of their
own: test_cards_and_consent.py)."""

import base64
import json

import pytest

from devstack.testing import browser_confirms_card_setup

pytestmark = pytest.mark.integration

def path(shop, customer_id=None):
    return f"/shops/{shop.id}/customers" + (f"/{customer_id}" if customer_id else "")


def test_a_manager_adds_a_customer_and_emails_are_unique_per_shop_whatever_the_case(shop, other_shop, kit):
    body = {"email": "Lou@Example.org", "first_name": "Lou", "last_name": "Petit"}
    created = kit.ok(shop.manager.post(path(shop), body), 201)
    assert created["email"] == "lou@example.org" and created["allow_charges"] is False and created["card"] is None
    dup = shop.manager.post(path(shop), {**body, "email": "LOU@example.ORG"})
    assert dup.status_code == 409 and "email" in dup.get_json()["errors"]
    kit.ok(other_shop.manager.post(path(other_shop), body), 201)  # another shop may have the same email


def test_customer_validation_is_field_by_field(shop, kit):
    resp = shop.manager.post(path(shop), {"email": "not-an-email", "first_name": "", "extra": 1,
                                          "bill_address": {"first_name": "A"}})
    assert resp.status_code == 422
    errors = resp.get_json()["errors"]
    assert {"email", "first_name", "last_name", "extra", "bill_address.city"} <= set(errors)


def test_customers_are_searched_by_name_or_email_and_paginated(shop, kit):
    for n in range(3):
        body = {"email": f"zoe{n}@example.org", "first_name": "Zoé", "last_name": f"N{n}"}
        kit.ok(shop.manager.post(path(shop), body), 201)
    found = kit.ok(shop.manager.get(path(shop) + "?q=zoé"))["items"]
    assert len(found) == 3
    first = kit.ok(shop.manager.get(path(shop) + "?q=ZOE&limit=2&sort=email"))
    assert [c["email"] for c in first["items"]] == ["zoe0@example.org", "zoe1@example.org"]
    second = kit.ok(shop.manager.get(path(shop) + f"?q=ZOE&limit=2&sort=email&cursor={first['next_cursor']}"))
    assert [c["email"] for c in second["items"]] == ["zoe2@example.org"] and second["next_cursor"] is None
    assert kit.ok(shop.manager.get(path(shop) + "?q=100%25"))["items"] == []
    assert shop.manager.get(path(shop) + "?cursor=garbage").status_code == 400
    forged = base64.urlsafe_b64encode(json.dumps(["email", "a\u0000", "b"]).encode()).decode()
    assert shop.manager.get(path(shop) + f"?sort=email&cursor={forged}").status_code == 400
    # a cursor belongs to its list: the same sort and filters
    assert shop.manager.get(path(shop) + "?q=ZOE&sort=-email&cursor=" + first["next_cursor"]).status_code == 400
    assert shop.manager.get(path(shop) + "?q=zoe&sort=email&cursor=" + first["next_cursor"]).status_code == 400


def test_a_customer_sees_only_themself(shop, kit):
    other = kit.ok(shop.manager.post(path(shop), {"email": "x@example.org", "first_name": "X", "last_name": "Y"}), 201)
    me = shop.customer["id"]
    assert kit.ok(shop.customer_api.get(path(shop, me)))["id"] == me
    assert shop.customer_api.get(path(shop, other["id"])).status_code == 404
    assert [c["id"] for c in kit.ok(shop.customer_api.get(path(shop)))["items"]] == [me]


def test_managers_update_details_and_customers_cannot(shop, kit):
    me = shop.customer["id"]
    updated = kit.ok(shop.manager.patch(path(shop, me), {"last_name": "Martin", "locale": "fr"}))
    assert updated["last_name"] == "Martin" and updated["locale"] == "fr"
    assert shop.customer_api.patch(path(shop, me), {"last_name": "Me"}).status_code == 403


def test_only_the_customer_allows_or_revokes_charges(shop, kit, admin):
    me = shop.customer["id"]
    perm = path(shop, me) + "/charges-permission"
    assert shop.manager.put(perm).status_code == 403
    assert shop.manager.delete(perm).status_code == 403
    assert admin.put(perm).status_code == 403
    revoked = kit.ok(shop.session.delete(perm))
    assert revoked["allow_charges"] is False
    assert kit.ok(shop.session.put(perm))["allow_charges"] is True


def test_charges_need_a_card_and_a_new_card_revokes_them(shop, kit):
    me = shop.customer["id"]
    setup = kit.ok(shop.session.post(path(shop, me) + "/card/setup"), 201)
    browser_confirms_card_setup(setup, "5555555555554444")
    new_card = kit.ok(shop.session.put(path(shop, me) + "/card", {"setup_intent_id": setup["setup_intent_id"]}))
    assert new_card["card"]["last4"] == "4444" and new_card["allow_charges"] is False
    assert shop.manager.put(path(shop, me) + "/card", {"setup_intent_id": setup["setup_intent_id"]}).status_code == 403
    removed = kit.ok(shop.session.delete(path(shop, me) + "/card"))
    assert removed["card"] is None
    refused = shop.session.put(path(shop, me) + "/charges-permission")
    assert refused.status_code == 409
    assert shop.session.put(path(shop, me) + "/card", {"setup_intent_id": "nope"}).status_code == 422


def test_a_customer_with_live_subscriptions_cannot_be_deleted_and_then_can(shop, kit):
    me = shop.customer["id"]
    sub = kit.ok(shop.manager.post(f"/shops/{shop.id}/subscriptions", kit.subscription_body(shop)), 201)
    refused = shop.manager.delete(path(shop, me))
    assert refused.status_code == 409
    assert "Cancel them first" in refused.get_json()["detail"]
    kit.ok(shop.manager.post(f"/shops/{shop.id}/subscriptions/{sub['id']}/cancel", {}))
    assert shop.manager.delete(path(shop, me)).status_code == 204
    assert shop.manager.get(path(shop, me)).status_code == 404
    # the customer's own token was revoked with them
    assert shop.customer_api.get(f"/shops/{shop.id}").status_code == 401


def test_a_deleted_customers_email_can_be_used_again(shop, kit):
    c = kit.ok(shop.manager.post(path(shop), {"email": "gone@example.org", "first_name": "G", "last_name": "O"}), 201)
    assert shop.manager.delete(path(shop, c["id"]), headers={"If-Match": '"1"'}).status_code == 204
    kit.ok(shop.manager.post(path(shop), {"email": "gone@example.org", "first_name": "G", "last_name": "O"}), 201)
