"""Cards and the consent to charge them come from the customer alone: a session opened with the link emailed to
them, a SetupIntent on the platform's own Stripe Customer that they confirm, and a payment method Stripe says is
theirs. Against the real localstripe and SMTP sink."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
import requests
import stripe

from devstack.testing import (
    browser_confirms_card_setup,
    emailed_sign_in_token,
    last_message_id,
    sink_messages,
)
from devstack.testing import rows as db_rows
from devstack.testing import scalar as db_scalar
from subscription_service.domain import consent

pytestmark = pytest.mark.integration

CARD_OK = "4242424242424242"
CARD_3DS = "4000002500003155"


def path(shop, customer_id, tail=""):
    return f"/shops/{shop.id}/customers/{customer_id}{tail}"


def events_of(dsn, aggregate_id):
    found = db_rows(dsn, "SELECT event_type, body FROM event_store WHERE aggregate_id = %s ORDER BY position",
                    [aggregate_id])
    return [(t, json.loads(bytes(b))["payload"]) for t, b in found]


def new_customer(shop, kit, locale=None):
    body = {"email": f"dana-{uuid.uuid4().hex[:6]}@example.org", "first_name": "Dana", "last_name": "Roux"}
    if locale:
        body["locale"] = locale
    return kit.ok(shop.manager.post(f"/shops/{shop.id}/customers", body), 201)


def stripe_v1(app):
    return stripe.StripeClient("sk_test_local", base_addresses={"api": app.infra.stripe_url},
                               max_network_retries=0).v1


def test_a_customer_cannot_save_a_card_that_is_on_another_customers_stripe_customer(app, shop, kit):
    victim_id = shop.customer["id"]
    victim_pm = db_scalar(app.dsn, "SELECT card_payment_method_id FROM customers WHERE customer_id = %s", [victim_id])
    victim_seti = events_of(app.dsn, victim_id)
    victim_seti = next(p["setup_intent_id"] for t, p in victim_seti if t == "CustomerCardSet")
    attacker = new_customer(shop, kit)
    me = kit.signed_in(app, shop.id, attacker["email"])
    setup = kit.ok(me.post(path(shop, attacker["id"], "/card/setup")), 201)

    # the victim's own (succeeded) card setup
    refused = me.put(path(shop, attacker["id"], "/card"), {"setup_intent_id": victim_seti})
    assert refused.status_code == 403 and "not yours" in refused.get_json()["detail"]
    # my setup, confirmed in my browser with the victim's payment method (its id learnt somehow)
    seti = browser_confirms_card_setup(setup, "", payment_method=victim_pm)
    assert seti["status"] == "succeeded"  # localstripe lets it through; the platform must not
    refused = me.put(path(shop, attacker["id"], "/card"), {"setup_intent_id": setup["setup_intent_id"]})
    assert refused.status_code == 403 and "belongs to someone else" in refused.get_json()["detail"]
    # my setup, confirmed with a card on a Stripe Customer someone else made
    v1 = stripe_v1(app)
    stranger = v1.customers.create({"email": "stranger@example.org"})
    pm = v1.payment_methods.create({"type": "card", "card": {"number": CARD_OK, "exp_month": 1, "exp_year": 2031,
                                                            "cvc": "123"}})
    v1.payment_methods.attach(pm.id, {"customer": stranger.id})
    second = kit.ok(me.post(path(shop, attacker["id"], "/card/setup")), 201)
    browser_confirms_card_setup(second, "", payment_method=pm.id)
    refused = me.put(path(shop, attacker["id"], "/card"), {"setup_intent_id": second["setup_intent_id"]})
    assert refused.status_code == 403
    # nothing recorded: no card, no charge permission, no card event; the victim's card is still the victim's
    after = kit.ok(shop.manager.get(path(shop, attacker["id"])))
    assert after["card"] is None and after["allow_charges"] is False
    assert [t for t, _ in events_of(app.dsn, attacker["id"])] == ["CustomerCreated", "StripeCustomerCreated"]
    assert db_scalar(app.dsn, "SELECT card_payment_method_id FROM customers WHERE customer_id = %s",
                     [victim_id]) == victim_pm
    assert v1.payment_methods.retrieve(victim_pm).customer != \
        db_scalar(app.dsn, "SELECT platform_stripe_customer_id FROM customers WHERE customer_id = %s",
                  [attacker["id"]])


def test_raw_stripe_ids_from_a_client_are_refused_field_by_field(app, shop, kit):
    me = shop.session
    before = kit.ok(shop.manager.get(path(shop, shop.customer["id"])))
    raw = me.put(path(shop, shop.customer["id"], "/card"), {"stripe_customer_id": "cus_evil",
                                                            "payment_method_id": "pm_evil", "last4": "4242",
                                                            "brand": "visa"})
    assert raw.status_code == 422
    assert {"stripe_customer_id", "payment_method_id", "last4", "brand", "setup_intent_id"} <= \
        set(raw.get_json()["errors"])
    mixed = me.put(path(shop, shop.customer["id"], "/card"), {"setup_intent_id": "seti_x", "payment_method_id": "pm_1"})
    assert mixed.status_code == 422 and set(mixed.get_json()["errors"]) == {"payment_method_id"}
    unknown = me.put(path(shop, shop.customer["id"], "/card"), {"setup_intent_id": "seti_doesnotexist"})
    assert unknown.status_code == 422 and "setup_intent_id" in unknown.get_json()["errors"]
    assert kit.ok(shop.manager.get(path(shop, shop.customer["id"]))) == before


@pytest.mark.parametrize("who", ["manager", "admin", "customer token a manager issued"])
def test_only_the_customer_in_a_session_of_their_own_saves_a_card_or_gives_consent(app, shop, kit, admin, who):
    api = {"manager": shop.manager, "admin": admin, "customer token a manager issued": shop.customer_api}[who]
    me = shop.customer["id"]
    before = kit.ok(shop.manager.get(path(shop, me)))
    setup = kit.ok(shop.session.post(path(shop, me, "/card/setup")), 201)
    browser_confirms_card_setup(setup, CARD_OK)
    for method, tail, body in (("POST", "/card/setup", None),
                               ("PUT", "/card", {"setup_intent_id": setup["setup_intent_id"]}),
                               ("DELETE", "/card", None), ("PUT", "/charges-permission", {}),
                               ("DELETE", "/charges-permission", None)):
        r = api.call(method, path(shop, me, tail), body)
        assert r.status_code == 403, (who, method, tail, r.status_code)
        detail = r.get_json()["detail"]
        assert "link emailed to their own address" in detail and "/api/v1/sign-in-links" in detail, detail
    after = kit.ok(shop.manager.get(path(shop, me)))
    assert {k: after[k] for k in ("card", "allow_charges")} == {k: before[k] for k in ("card", "allow_charges")}
    # another customer's own session cannot act for this one either
    other = new_customer(shop, kit)
    theirs = kit.signed_in(app, shop.id, other["email"])
    assert theirs.post(path(shop, me, "/card/setup")).status_code == 404
    assert theirs.put(path(shop, me, "/charges-permission"), {}).status_code == 404


def test_a_customer_signs_in_with_the_link_emailed_to_them_in_their_language(app, shop, kit):
    c = new_customer(shop, kit, locale="fr")
    anon = kit.Client(app, None)
    before = last_message_id(app.infra.smtp_api)
    asked = anon.post("/api/v1/sign-in-links", {"email": c["email"].upper(), "shop_id": shop.id})
    assert asked.status_code == 202
    nobody = anon.post("/api/v1/sign-in-links", {"email": "nobody@example.org", "shop_id": shop.id})
    elsewhere = anon.post("/api/v1/sign-in-links", {"email": c["email"], "shop_id": str(uuid.uuid4())})
    assert nobody.status_code == elsewhere.status_code == 202 and nobody.get_json() == asked.get_json()
    token = emailed_sign_in_token(app.infra.smtp_api, c["email"], before)
    [mail] = [m for m in sink_messages(app.infra.smtp_api, c["email"]) if m["id"] > before]
    assert mail["subject"].startswith("Votre lien de connexion")
    assert f"http://shop.example/sign-in/{token}" in mail["text"]
    assert sink_messages(app.infra.smtp_api, "nobody@example.org") == []
    assert db_scalar(app.dsn, "SELECT count(*) FROM sign_in_links WHERE token_hash = %s", [token]) == 0  # hashed

    session = kit.ok(anon.post("/api/v1/sessions", {"token": token}), 201)
    assert session["obtained_by"] == "email_sign_in_link" and session["customer_id"] == c["id"]
    assert session["role"] == "customer" and session["shop_ids"] == [shop.id] and session["expires_at"]
    [(kind, issued)] = [e for e in events_of(app.dsn, session["id"])]
    assert kind == "TokenIssued" and issued["obtained_by"] == "email_sign_in_link" and issued["sign_in_link_id"]
    me = kit.Client(app, session["token"])
    assert kit.ok(me.get(path(shop, c["id"])))["email"] == c["email"]
    assert kit.ok(me.post(path(shop, c["id"], "/card/setup")), 201)["client_secret"]


def test_a_sign_in_link_works_once_and_expires(app, shop, kit, clock):
    c = new_customer(shop, kit)
    anon = kit.Client(app, None)
    before = last_message_id(app.infra.smtp_api)
    kit.ok(anon.post("/api/v1/sign-in-links", {"email": c["email"], "shop_id": shop.id}), 202)
    token = emailed_sign_in_token(app.infra.smtp_api, c["email"], before)
    tokens_before = db_scalar(app.dsn, "SELECT count(*) FROM api_tokens")
    kit.ok(anon.post("/api/v1/sessions", {"token": token}), 201)
    again = anon.post("/api/v1/sessions", {"token": token})
    assert again.status_code == 401 and "already used or expired" in again.get_json()["detail"]
    assert db_scalar(app.dsn, "SELECT count(*) FROM api_tokens") == tokens_before + 1

    before = last_message_id(app.infra.smtp_api)
    kit.ok(anon.post("/api/v1/sign-in-links", {"email": c["email"], "shop_id": shop.id}), 202)
    late = emailed_sign_in_token(app.infra.smtp_api, c["email"], before)
    clock(kit.NOW + timedelta(minutes=16))
    expired = anon.post("/api/v1/sessions", {"token": late})
    assert expired.status_code == 401
    assert db_scalar(app.dsn, "SELECT count(*) FROM api_tokens") == tokens_before + 1
    assert anon.post("/api/v1/sessions", {"token": "rsl_made_up"}).status_code == 401


def test_a_card_that_needs_3d_secure_is_saved_once_the_customer_completed_it(app, shop, kit):
    c = new_customer(shop, kit)
    me = kit.signed_in(app, shop.id, c["email"])
    setup = kit.ok(me.post(path(shop, c["id"], "/card/setup")), 201)
    first = browser_confirms_card_setup(setup, CARD_3DS, authenticate=False)
    assert first["status"] == "requires_action"
    early = me.put(path(shop, c["id"], "/card"), {"setup_intent_id": setup["setup_intent_id"]})
    assert early.status_code == 422 and "requires_action" in early.get_json()["errors"]["setup_intent_id"][0]
    second = requests.post(f"{setup['stripe_api_base']}/v1/setup_intents/{setup['setup_intent_id']}/confirm",
                           json={"key": setup["publishable_key"], "use_stripe_sdk": True,
                                 "client_secret": setup["client_secret"]}, timeout=30).json()
    assert second["status"] == "succeeded"
    saved = kit.ok(me.put(path(shop, c["id"], "/card"), {"setup_intent_id": setup["setup_intent_id"]}))
    assert saved["card"] == {"brand": "visa", "last4": "3155", "exp_month": 12, "exp_year": 2034}
    pm = db_scalar(app.dsn, "SELECT card_payment_method_id FROM customers WHERE customer_id = %s", [c["id"]])
    ours = db_scalar(app.dsn, "SELECT platform_stripe_customer_id FROM customers WHERE customer_id = %s", [c["id"]])
    assert stripe_v1(app).payment_methods.retrieve(pm).customer == ours  # attached to the platform's Customer


def test_stripe_ids_appear_in_no_answer_about_customers(app, shop, kit, admin):
    me = shop.customer["id"]
    answers = [shop.manager.get(path(shop, me)), shop.manager.get(f"/shops/{shop.id}/customers"),
               admin.get(path(shop, me)), shop.session.get(path(shop, me)), shop.customer_api.get(path(shop, me)),
               shop.session.get(path(shop, me, "/charges-permission")),
               shop.session.delete(path(shop, me, "/charges-permission")),
               shop.session.put(path(shop, me, "/charges-permission"), {})]
    setup = kit.ok(shop.session.post(path(shop, me, "/card/setup")), 201)
    browser_confirms_card_setup(setup, "5555555555554444")
    answers.append(shop.session.put(path(shop, me, "/card"), {"setup_intent_id": setup["setup_intent_id"]}))
    for r in answers:
        assert r.status_code == 200, r.get_data(as_text=True)
        text = r.get_data(as_text=True)
        assert "cus_" not in text and "pm_" not in text and "seti_" not in text, text
    card = answers[-1].get_json()["card"]
    assert set(card) == {"brand", "last4", "exp_month", "exp_year"} and card["last4"] == "4444"
    assert "cus_" not in json.dumps(setup) and "pm_" not in json.dumps(setup)


def test_the_consent_and_its_withdrawal_record_when_how_the_text_shown_and_its_language(app, shop, kit, clock):
    me, session = shop.customer["id"], shop.session
    session_id = db_scalar(app.dsn, "SELECT token_id::text FROM api_tokens WHERE customer_id = %s AND "
                                    "obtained_by = 'email_sign_in_link'", [me])
    shown = kit.ok(session.get(path(shop, me, "/charges-permission") + "?locale=fr"))
    assert shown["locale"] == "fr" and shown["allowed"] is True
    assert shown["withdrawal_text"] == consent.text("withdraw", "fr", shop.shop["name"])
    clock(kit.NOW + timedelta(minutes=5))
    kit.ok(session.delete(path(shop, me, "/charges-permission") + "?locale=fr"))
    clock(kit.NOW + timedelta(minutes=7))
    allowed = kit.ok(session.put(path(shop, me, "/charges-permission"), {"locale": "en"}))
    assert allowed["allow_charges"] is True
    events = [(t, p) for t, p in events_of(app.dsn, me) if t.startswith("CustomerCharges")]
    (_, first), (_, withdrawal), (_, again) = events
    assert first["consent"]["method"] == "email_sign_in_link" and first["consent"]["session_id"] == session_id
    assert withdrawal["consent"] == {"at": (kit.NOW + timedelta(minutes=5)).isoformat(),
                                     "method": "email_sign_in_link", "session_id": session_id,
                                     "text": consent.text("withdraw", "fr", shop.shop["name"]), "locale": "fr",
                                     "email": shop.customer["email"]}
    assert again["consent"] == {"at": (kit.NOW + timedelta(minutes=7)).isoformat(), "method": "email_sign_in_link",
                                "session_id": session_id, "text": consent.text("allow", "en", shop.shop["name"]),
                                "locale": "en", "email": shop.customer["email"]}
    assert withdrawal["actor"] == {"type": "customer", "id": session_id}
    assert session.put(path(shop, me, "/charges-permission"), {"locale": "de"}).status_code == 422


def test_a_card_and_consent_recorded_before_sessions_existed_stay_valid_and_are_withdrawn_in_person(app, shop, kit):
    """Old events (a card from client-sent ids, a consent without its record) replay to a card and an allowed
    permission; the customer, signed in by email, can still withdraw it, recorded the new way."""
    customer_id, email = str(uuid.uuid4()), f"old-{uuid.uuid4().hex[:6]}@example.org"
    actor = {"type": "customer", "id": str(uuid.uuid4())}
    kit.project(app.dsn, "CustomerCreated", customer_id, 1, {
        "customer_id": customer_id, "shop_id": shop.id, "actor": actor, "reason": None,
        "details": {"email": email, "first_name": "Old", "last_name": "Timer", "locale": None,
                    "bill_address": None, "ship_address": None}})
    kit.project(app.dsn, "CustomerCardSet", customer_id, 2, {
        "customer_id": customer_id, "shop_id": shop.id, "stripe_customer_id": "cus_old", "payment_method_id": "pm_old",
        "card_brand": "visa", "card_last4": "4242", "actor": actor, "reason": None})
    kit.project(app.dsn, "CustomerChargesAllowed", customer_id, 3, {
        "customer_id": customer_id, "shop_id": shop.id, "payment_method_id": "pm_old", "actor": actor,
        "reason": None})
    seen = kit.ok(shop.manager.get(path(shop, customer_id)))
    assert seen["allow_charges"] is True
    assert seen["card"] == {"brand": "visa", "last4": "4242", "exp_month": None, "exp_year": None}
    me = kit.signed_in(app, shop.id, email)
    kit.ok(me.delete(path(shop, customer_id, "/charges-permission")))
    [(_, withdrawal)] = [e for e in events_of(app.dsn, customer_id) if e[0] == "CustomerChargesRevoked"]
    assert withdrawal["consent"]["method"] == "email_sign_in_link" and withdrawal["consent"]["locale"] == "en"


def legacy_customer(app, shop, kit, *, consented):
    """A customer whose card (and consent) were recorded before sessions existed: they never signed in by email."""
    customer_id, email = str(uuid.uuid4()), f"old-{uuid.uuid4().hex[:6]}@example.org"
    actor = {"type": "customer", "id": str(uuid.uuid4())}
    kit.project(app.dsn, "CustomerCreated", customer_id, 1, {
        "customer_id": customer_id, "shop_id": shop.id, "actor": actor, "reason": None,
        "details": {"email": email, "first_name": "Old", "last_name": "Timer", "locale": None,
                    "bill_address": None, "ship_address": None}})
    kit.project(app.dsn, "CustomerCardSet", customer_id, 2, {
        "customer_id": customer_id, "shop_id": shop.id, "stripe_customer_id": "cus_old", "payment_method_id": "pm_old",
        "card_brand": "visa", "card_last4": "4242", "actor": actor, "reason": None})
    if consented:
        kit.project(app.dsn, "CustomerChargesAllowed", customer_id, 3, {
            "customer_id": customer_id, "shop_id": shop.id, "payment_method_id": "pm_old", "actor": actor,
            "reason": None})
    return customer_id


@pytest.mark.parametrize("proven_by", ["signing in with the emailed link", "a card on file", "a consent"])
def test_a_manager_cannot_change_the_email_of_a_customer_who_has_proven_it(app, shop, kit, admin, proven_by):
    """Else the manager points the address at a mailbox of theirs, asks for a sign-in link and acts as the customer:
    consents to charges on the customer's card, withdraws it, or replaces the card."""
    if proven_by == "signing in with the emailed link":
        c = new_customer(shop, kit)
        me, session = c["id"], kit.signed_in(app, shop.id, c["email"])
    else:
        me, session = legacy_customer(app, shop, kit, consented=proven_by == "a consent"), None
    before, events_before = kit.ok(shop.manager.get(path(shop, me))), events_of(app.dsn, me)
    for api in (shop.manager, admin):
        for body in ({"email": f"mallory-{uuid.uuid4().hex[:6]}@example.org"},
                     {"email": f"mallory-{uuid.uuid4().hex[:6]}@example.org", "last_name": "Mallory"}):
            r = api.patch(path(shop, me), body, headers={"If-Match": f'"{before["version"]}"'})
            assert r.status_code == 403 and r.content_type == "application/problem+json", r.get_data(as_text=True)
            assert "Only the customer can change this email address" in r.get_json()["detail"]
            assert "their own session" in r.get_json()["detail"]
    assert kit.ok(shop.manager.get(path(shop, me))) == before
    assert events_of(app.dsn, me) == events_before
    # other details stay the managers' to correct, and the address it already has is no change
    renamed = kit.ok(shop.manager.patch(path(shop, me), {"last_name": "Martin", "email": before["email"].upper()}))
    assert renamed["last_name"] == "Martin" and renamed["email"] == before["email"]
    if session is not None:
        assert session.get(path(shop, me)).status_code == 200  # nothing ended their session


def test_a_manager_corrects_an_address_never_proven_until_the_customer_signs_in_with_it(app, shop, kit):
    c = new_customer(shop, kit)
    # a customer token a manager issued proves nothing about the address
    kit.ok(shop.manager.post("/tokens", {"role": "customer", "shop_ids": [shop.id], "customer_id": c["id"]}), 201)
    fixed = f"dana-fixed-{uuid.uuid4().hex[:6]}@example.org"
    corrected = kit.ok(shop.manager.patch(path(shop, c["id"]), {"email": fixed}))
    assert corrected["email"] == fixed
    [(_, updated)] = [e for e in events_of(app.dsn, c["id"]) if e[0] == "CustomerUpdated"]
    assert updated["changes"] == {"email": fixed} and updated["previous"] == {"email": c["email"]}
    kit.signed_in(app, shop.id, fixed)
    again = shop.manager.patch(path(shop, c["id"]), {"email": c["email"]})
    assert again.status_code == 403 and "Only the customer can change" in again.get_json()["detail"]
    assert kit.ok(shop.manager.get(path(shop, c["id"])))["email"] == fixed


def test_the_customer_changes_their_own_email_from_their_session_which_ends_their_sessions(app, shop, kit):
    """The sessions were proven by the old address: the new one must be proven again (and the consent records the
    address that proved it)."""
    me = shop.customer["id"]
    other_session = kit.signed_in(app, shop.id, shop.customer["email"])
    current = kit.ok(shop.session.get(path(shop, me)))
    only_email = shop.session.patch(path(shop, me), {"email": "new-" + current["email"], "last_name": "Me"})
    assert only_email.status_code == 403 and "managers change the other details" in only_email.get_json()["detail"]
    assert shop.customer_api.patch(path(shop, me), {"email": "new-" + current["email"]}).status_code == 403
    assert kit.ok(shop.manager.get(path(shop, me))) == current

    changed = kit.ok(shop.session.patch(path(shop, me), {"email": "NEW-" + current["email"]},
                                        headers={"If-Match": f'"{current["version"]}"'}))
    assert changed["email"] == "new-" + current["email"] and changed["card"] == current["card"]
    [(_, updated)] = [e for e in events_of(app.dsn, me) if e[0] == "CustomerUpdated"]
    assert updated["changes"] == {"email": "new-" + current["email"]} and updated["actor"]["type"] == "customer"
    assert shop.session.get(path(shop, me)).status_code == 401
    assert other_session.get(path(shop, me)).status_code == 401
    assert shop.customer_api.get(path(shop, me)).status_code == 200  # the manager's token is not a proof anyway
    fresh = kit.signed_in(app, shop.id, "new-" + current["email"])
    kit.ok(fresh.delete(path(shop, me, "/charges-permission")))
    [(_, withdrawal)] = [e for e in events_of(app.dsn, me) if e[0] == "CustomerChargesRevoked"]
    assert withdrawal["consent"]["email"] == "new-" + current["email"]


def test_a_manager_invites_a_customer_who_gets_the_sign_in_email_in_their_language_and_signs_in_through_it(
        app, shop, other_shop, kit):
    c = new_customer(shop, kit, locale="fr")
    invite = path(shop, c["id"], "/sign-in-link")
    assert kit.ok(shop.manager.get(path(shop, c["id"])))["email_proven"] is False
    before = last_message_id(app.infra.smtp_api)
    assert shop.customer_api.post(invite).status_code == 403  # not a customer's to send
    assert other_shop.manager.post(invite).status_code == 404
    assert shop.manager.post(path(shop, str(uuid.uuid4()), "/sign-in-link")).status_code == 404
    links = db_scalar(app.dsn, "SELECT count(*) FROM sign_in_links WHERE customer_id = %s", [c["id"]])
    assert links == 0 and sink_messages(app.infra.smtp_api, c["email"]) == []

    sent = kit.ok(shop.manager.post(invite), 202)
    assert sent["email"] == c["email"]
    assert sent["expires_at"] == (kit.NOW + timedelta(minutes=15)).isoformat()
    token = emailed_sign_in_token(app.infra.smtp_api, c["email"], before)
    [mail] = [m for m in sink_messages(app.infra.smtp_api, c["email"]) if m["id"] > before]
    assert mail["subject"].startswith("Votre lien de connexion") and f"/sign-in/{token}" in mail["text"]

    session = kit.ok(kit.Client(app, None).post("/api/v1/sessions", {"token": token}), 201)
    assert session["customer_id"] == c["id"] and session["obtained_by"] == "email_sign_in_link"
    assert kit.ok(shop.manager.get(path(shop, c["id"])))["email_proven"] is True
    listed = kit.ok(shop.manager.get(f"/shops/{shop.id}/customers?q={c['email']}"))["items"]
    assert [x["email_proven"] for x in listed] == [True]
    assert shop.manager.patch(path(shop, c["id"]), {"email": "else@example.org"}).status_code == 403


def test_a_manager_cannot_flood_a_customer_with_invitations(app, shop, kit):
    c = new_customer(shop, kit)
    invite = path(shop, c["id"], "/sign-in-link")
    for _ in range(5):
        kit.ok(shop.manager.post(invite), 202)
    refused = shop.manager.post(invite)
    assert refused.status_code == 409 and refused.headers["Content-Type"] == "application/problem+json"
    assert "5 sign-in links" in refused.get_json()["detail"]
    assert db_scalar(app.dsn, "SELECT count(*) FROM sign_in_links WHERE customer_id = %s", [c["id"]]) == 5
