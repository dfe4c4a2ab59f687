"""A shop's managers, known by the address they sign in with: the admin adds the first, managers add and remove
the others (events on shops.events), and a manager signs in with the same one-time emailed links as customers,
getting a manager session for every shop the address manages. The set-up checklist says what a shop still lacks.
Against the real SMTP sink."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest

from devstack.testing import emailed_sign_in_token, last_message_id, sink_messages
from devstack.testing import rows as db_rows
from devstack.testing import scalar as db_scalar

pytestmark = pytest.mark.integration


def events_of(dsn, aggregate_id, *types):
    found = db_rows(dsn, "SELECT event_type, body FROM event_store WHERE aggregate_id = %s ORDER BY position",
                    [aggregate_id])
    return [(t, json.loads(bytes(b))["payload"]) for t, b in found if not types or t in types]


def new_shop(admin, kit, **settings):
    return kit.ok(admin.post("/shops", {**{"name": f"Hub {uuid.uuid4().hex[:4]}", "timezone": "Europe/Paris",
                                           "currency": "EUR", "contact_email": "hub@example.org"}, **settings}), 201)


def email():
    return f"alex-{uuid.uuid4().hex[:6]}@example.org"


def sign_in(app, kit, address):
    anon = kit.Client(app, None)
    before = last_message_id(app.infra.smtp_api)
    kit.ok(anon.post("/api/v1/manager-sign-in-links", {"email": address}), 202)
    token = emailed_sign_in_token(app.infra.smtp_api, address, before)
    return kit.ok(anon.post("/api/v1/sessions", {"token": token}), 201)


def test_the_admin_adds_a_shops_first_manager_who_adds_and_removes_another(app, admin, kit):
    shop = new_shop(admin, kit)
    first = email()
    added = kit.ok(admin.post(f"/shops/{shop['id']}/managers", {"email": first.upper()}), 201)
    assert added["email"] == first and added["shop_id"] == shop["id"]
    me = kit.Client(app, sign_in(app, kit, first)["token"])
    second = kit.ok(me.post(f"/shops/{shop['id']}/managers", {"email": email()}), 201)
    again = me.post(f"/shops/{shop['id']}/managers", {"email": second["email"].upper()})
    assert again.status_code == 409 and "already a manager" in again.get_json()["errors"]["email"][0]
    listed = kit.ok(me.get(f"/shops/{shop['id']}/managers"))["items"]
    assert sorted(m["email"] for m in listed) == sorted([first, second["email"]])
    assert me.delete(f"/shops/{shop['id']}/managers/{second['id']}").status_code == 204
    assert me.delete(f"/shops/{shop['id']}/managers/{second['id']}").status_code == 404
    assert [m["email"] for m in kit.ok(me.get(f"/shops/{shop['id']}/managers"))["items"]] == [first]
    assert [(t, p["email"]) for t, p in events_of(app.dsn, shop["id"], "ShopManagerAdded", "ShopManagerRemoved")] == [
        ("ShopManagerAdded", first), ("ShopManagerAdded", second["email"]),
        ("ShopManagerRemoved", second["email"])]
    bad = admin.post(f"/shops/{shop['id']}/managers", {"email": "not an address"})
    assert bad.status_code == 422 and "email" in bad.get_json()["errors"]


def test_only_the_admin_and_the_shops_managers_see_and_change_its_managers(app, admin, kit, shop, other_shop):
    kit.ok(admin.post(f"/shops/{shop.id}/managers", {"email": email()}), 201)
    theirs = other_shop.manager
    assert theirs.get(f"/shops/{shop.id}/managers").status_code == 404
    assert theirs.post(f"/shops/{shop.id}/managers", {"email": email()}).status_code == 404
    assert shop.session.get(f"/shops/{shop.id}/managers").status_code == 403  # a customer of the shop
    assert shop.session.post(f"/shops/{shop.id}/managers", {"email": email()}).status_code == 403
    assert kit.Client(app, None).get(f"/shops/{shop.id}/managers").status_code == 401
    assert len(kit.ok(shop.manager.get(f"/shops/{shop.id}/managers"))["items"]) == 1


def test_a_manager_signs_in_by_email_for_every_shop_they_manage_and_nobody_learns_who_is_one(app, admin, kit):
    ruche, abeille, elsewhere = (new_shop(admin, kit, locale="fr") for _ in range(3))
    address = email()
    for shop in (ruche, abeille):
        kit.ok(admin.post(f"/shops/{shop['id']}/managers", {"email": address}), 201)
    anon = kit.Client(app, None)
    before = last_message_id(app.infra.smtp_api)
    asked = anon.post("/api/v1/manager-sign-in-links", {"email": address.upper()})
    nobody = anon.post("/api/v1/manager-sign-in-links", {"email": "nobody@example.org"})
    assert asked.status_code == nobody.status_code == 202 and asked.get_json() == nobody.get_json()
    token = emailed_sign_in_token(app.infra.smtp_api, address, before)
    [mail] = [m for m in sink_messages(app.infra.smtp_api, address) if m["id"] > before]
    assert mail["subject"].startswith("Votre lien de connexion pour gérer")
    assert ruche["name"] in mail["subject"] and abeille["name"] in mail["subject"]
    assert f"http://shop.example/manage/sign-in/{token}" in mail["text"]
    assert sink_messages(app.infra.smtp_api, "nobody@example.org") == []
    assert db_scalar(app.dsn, "SELECT count(*) FROM sign_in_links WHERE token_hash = %s", [token]) == 0  # hashed

    session = kit.ok(anon.post("/api/v1/sessions", {"token": token}), 201)
    assert session["role"] == "manager" and session["obtained_by"] == "email_sign_in_link"
    assert sorted(session["shop_ids"]) == sorted([ruche["id"], abeille["id"]]) and session["expires_at"]
    [(kind, issued)] = events_of(app.dsn, session["id"])
    assert kind == "TokenIssued" and issued["sign_in_link_id"] and issued["role"] == "manager"
    me = kit.Client(app, session["token"])
    assert kit.ok(me.get(f"/shops/{ruche['id']}"))["name"] == ruche["name"]
    assert kit.ok(me.patch(f"/shops/{abeille['id']}", {"allow_customer_skip": True}))["allow_customer_skip"]
    assert me.get(f"/shops/{elsewhere['id']}").status_code == 404
    assert anon.post("/api/v1/sessions", {"token": token}).status_code == 401  # once


def test_a_managers_link_expires_and_is_sent_only_so_often(app, admin, kit, clock):
    shop = new_shop(admin, kit)
    address = email()
    kit.ok(admin.post(f"/shops/{shop['id']}/managers", {"email": address}), 201)
    anon = kit.Client(app, None)
    before = last_message_id(app.infra.smtp_api)
    kit.ok(anon.post("/api/v1/manager-sign-in-links", {"email": address}), 202)
    late = emailed_sign_in_token(app.infra.smtp_api, address, before)
    for _ in range(5):  # as many links per address in a link's lifetime as a customer gets: 5
        kit.ok(anon.post("/api/v1/manager-sign-in-links", {"email": address}), 202)
    assert db_scalar(app.dsn, "SELECT count(*) FROM sign_in_links WHERE email = %s", [address]) == 5
    tokens_before = db_scalar(app.dsn, "SELECT count(*) FROM api_tokens")
    clock(kit.NOW + timedelta(minutes=16))
    assert anon.post("/api/v1/sessions", {"token": late}).status_code == 401
    assert db_scalar(app.dsn, "SELECT count(*) FROM api_tokens") == tokens_before
    kit.ok(anon.post("/api/v1/manager-sign-in-links", {"email": address}), 202)  # a new window: sent again
    assert db_scalar(app.dsn, "SELECT count(*) FROM sign_in_links WHERE email = %s", [address]) == 6


def test_a_removed_manager_loses_the_shop_and_their_session_that_reached_it(app, admin, kit):
    shop, other = new_shop(admin, kit), new_shop(admin, kit)
    address = email()
    added = kit.ok(admin.post(f"/shops/{shop['id']}/managers", {"email": address}), 201)
    kit.ok(admin.post(f"/shops/{other['id']}/managers", {"email": address}), 201)
    session = sign_in(app, kit, address)
    me = kit.Client(app, session["token"])
    assert admin.delete(f"/shops/{shop['id']}/managers/{added['id']}").status_code == 204
    assert me.get(f"/shops/{other['id']}").status_code == 401  # the session ended
    assert [t for t, _ in events_of(app.dsn, session["id"])] == ["TokenIssued", "TokenRevoked"]
    again = sign_in(app, kit, address)
    assert again["shop_ids"] == [other["id"]]
    assert kit.Client(app, again["token"]).get(f"/shops/{shop['id']}").status_code == 404
    [last] = kit.ok(admin.get(f"/shops/{other['id']}/managers"))["items"]
    assert admin.delete(f"/shops/{other['id']}/managers/{last['id']}").status_code == 204
    anon = kit.Client(app, None)
    before = last_message_id(app.infra.smtp_api)
    kit.ok(anon.post("/api/v1/manager-sign-in-links", {"email": address}), 202)
    assert [m for m in sink_messages(app.infra.smtp_api, address) if m["id"] > before] == []  # a manager of none


def test_the_readiness_checklist_says_what_a_new_shop_lacks_and_a_set_up_shop_has(app, admin, kit, shop, clock):
    bare = new_shop(admin, kit)
    fresh = kit.ok(admin.get(f"/shops/{bare['id']}/readiness"))
    assert fresh == {"ready": False, "checks": [{"name": n, "done": False} for n in (
        "subscriptions_enabled", "shipping_method", "payment_method", "customers", "schedule")]}
    ready = kit.ok(shop.manager.get(f"/shops/{shop.id}/readiness"))
    assert ready["ready"] and all(c["done"] for c in ready["checks"])
    assert shop.session.get(f"/shops/{shop.id}/readiness").status_code == 403
    clock(kit.NOW + timedelta(days=60))  # its six weekly cycles have all closed
    later = kit.ok(shop.manager.get(f"/shops/{shop.id}/readiness"))
    assert not later["ready"] and [c["name"] for c in later["checks"] if not c["done"]] == ["schedule"]
