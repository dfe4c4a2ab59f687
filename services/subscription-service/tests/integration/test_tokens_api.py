"""API tokens over HTTP: issued once, stored and published hashed, revocable, scoped."""

import hashlib
from datetime import UTC, datetime

import pytest

from devstack.testing import rows, scalar

pytestmark = pytest.mark.integration


def test_the_admin_issues_a_manager_token_shown_once_and_kept_only_hashed(admin, shop, kit, app):
    issued = kit.ok(admin.post("/tokens", {"role": "manager", "shop_ids": [shop.id], "label": "Lou"}), 201)
    secret = issued["token"]
    assert secret.startswith("rop_") and issued["role"] == "manager" and issued["shop_ids"] == [shop.id]
    shown = kit.ok(admin.get(f"/tokens/{issued['id']}"))
    assert "token" not in shown and shown["label"] == "Lou"
    digest = hashlib.sha256(secret.encode()).hexdigest()
    assert scalar(app.dsn, "SELECT token_hash FROM api_tokens WHERE token_id = %s", [issued["id"]]) == digest
    bodies = [bytes(b).decode() for (b,) in rows(app.dsn, "SELECT body FROM event_store WHERE topic = "
                                                          "'identity.events'")]
    assert any(digest in b for b in bodies) and not any(secret in b for b in bodies)
    assert kit.ok(kit.Client(app, secret).get(f"/shops/{shop.id}"))["id"] == shop.id


def test_who_may_issue_which_token(admin, shop, other_shop, kit):
    manager_body = {"role": "manager", "shop_ids": [shop.id]}
    assert shop.manager.post("/tokens", manager_body).status_code == 403
    assert shop.customer_api.post("/tokens", {"role": "customer", "shop_ids": [shop.id],
                                              "customer_id": shop.customer["id"]}).status_code == 403
    foreign = {"role": "customer", "shop_ids": [other_shop.id], "customer_id": other_shop.customer["id"]}
    assert shop.manager.post("/tokens", foreign).status_code == 404
    unknown = shop.manager.post("/tokens", {"role": "customer", "shop_ids": [shop.id],
                                            "customer_id": other_shop.customer["id"]})
    assert unknown.status_code == 422 and "customer_id" in unknown.get_json()["errors"]
    assert admin.post("/tokens", {"role": "manager", "shop_ids": ["no-such-shop"]}).status_code == 422
    assert admin.post("/tokens", {"role": "admin", "shop_ids": [shop.id]}).status_code == 422
    assert admin.post("/tokens", {**manager_body, "expires_at": "2026-01-01T00:00:00Z"}).status_code == 422


def test_a_revoked_token_is_refused_at_once(shop, kit, app):
    issued = kit.ok(shop.manager.post("/tokens", {"role": "customer", "shop_ids": [shop.id],
                                                  "customer_id": shop.customer["id"]}), 201)
    holder = kit.Client(app, issued["token"])
    assert holder.get(f"/shops/{shop.id}").status_code == 200
    revoked = kit.ok(shop.manager.delete(f"/tokens/{issued['id']}", headers={"If-Match": '"1"'}))
    assert revoked["revoked_at"] is not None and revoked["version"] == 2
    assert holder.get(f"/shops/{shop.id}").status_code == 401
    assert shop.manager.delete(f"/tokens/{issued['id']}").status_code == 409


def test_a_token_can_revoke_itself_but_not_another_managers(admin, shop, kit, app):
    other = kit.ok(admin.post("/tokens", {"role": "manager", "shop_ids": [shop.id]}), 201)
    assert shop.manager.delete(f"/tokens/{other['id']}").status_code == 404
    me = kit.Client(app, other["token"])
    kit.ok(me.delete(f"/tokens/{other['id']}"))
    assert me.get("/shops").status_code == 401


def test_an_expired_token_is_refused(admin, shop, kit, app, clock):
    issued = kit.ok(admin.post("/tokens", {"role": "manager", "shop_ids": [shop.id],
                                           "expires_at": "2026-03-17T00:00:00Z"}), 201)
    holder = kit.Client(app, issued["token"])
    assert holder.get("/shops").status_code == 200
    clock(datetime(2026, 3, 17, 0, 0, 1, tzinfo=UTC))
    assert holder.get("/shops").status_code == 401


def test_token_lists_show_only_what_the_caller_may_see(admin, shop, other_shop, kit):
    mine = kit.ok(shop.manager.get("/tokens?include_revoked=true"))["items"]
    [session] = kit.ok(shop.session.get("/tokens"))["items"]  # the session the customer opened by email
    assert session["obtained_by"] == "email_sign_in_link"
    assert {t["id"] for t in mine} == {shop.manager_token["id"], shop.customer_token["id"], session["id"]}
    assert kit.ok(shop.customer_api.get("/tokens"))["items"][0]["id"] == shop.customer_token["id"]
    assert len(kit.ok(shop.customer_api.get("/tokens"))["items"]) == 1
    everyone = {t["id"] for t in kit.ok(admin.get(f"/tokens?shop_id={other_shop.id}&role=manager"))["items"]}
    assert everyone == {other_shop.manager_token["id"]}
    assert shop.manager.get(f"/tokens/{other_shop.customer_token['id']}").status_code == 404
