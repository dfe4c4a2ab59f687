"""The emails around the orders, from the SMTP sink, once each: the cut-off reminder with the link to the order,
the customer told of what the shop did to their subscription, the shop told of a customer's cancelled order or
skipped delivery, the consent text emailed when the permission to charge is given or withdrawn (real Kafka,
PostgreSQL and SMTP)."""

import time
import uuid
from datetime import UTC, datetime

import pytest
from order_harness import ADDRESS, MANAGER_ACTOR

from order_service.adapters.notifications import notification_id
from shared_events import Envelope
from shared_events.contracts.scheduler import closing_soon_id

pytestmark = pytest.mark.integration

CUSTOMER_ACTOR = {"type": "customer", "id": "a-session"}


def _quiet(orders, seconds=3):
    orders.settle()
    orders.wait(lambda: orders.scalar("SELECT count(*) FROM notifications WHERE sent_at IS NULL AND failed_at IS NULL")
                == 0, "every email to be sent")
    time.sleep(seconds)


def _kinds(orders, address):
    return [m["headers"]["X-Notification-Kind"] for m in orders.mails(address)]


def _of_kind(orders, address, kind, n=1):
    return orders.wait(lambda: (lambda found: found if len(found) >= n else None)(
        [m for m in orders.mails(address) if m["headers"]["X-Notification-Kind"] == kind]), f"{n} {kind} to {address}")


def _closing_soon(f, cycle, hours=24):
    return f.send("OrderCycleClosingSoon", closing_soon_id(cycle["order_cycle_id"]), {
        "order_cycle_id": cycle["order_cycle_id"], "shop_id": cycle["shop_id"], "opens_at": cycle["opens_at"],
        "closes_at": cycle["closes_at"], "boundary_at": cycle["closes_at"], "lateness_seconds": 0.1,
        "hours_before_close": hours}, shop_id=cycle["shop_id"], producer="scheduler-service")


def test_the_cut_off_reminder_emails_each_changeable_order_once_with_its_link_in_the_customers_language(orders):
    f = orders.feed
    shop, frozen = f.shop(locale="en"), f.shop(locale="en", allow_order_changes=False)
    people = {}
    for s in (shop, frozen):
        f.variant(s, "eggs", "Eggs", price=320, on_hand=None)
    cycle, frozen_cycle = f.cycle(shop), f.cycle(frozen)
    for name, s, c, locale in (("anne", shop, cycle, "fr"), ("ben", shop, cycle, None), ("carl", shop, cycle, "en"),
                               ("dora", frozen, frozen_cycle, "en")):
        customer, email = f.customer(s, first_name=name.title(), locale=locale)
        people[name] = (f.subscription(s, customer, {"eggs": 2}), customer, email)
        f.due(s, c, people[name][0], customer)
    f.boundary("OrderCycleOpened", cycle, due_count=3)
    f.boundary("OrderCycleOpened", frozen_cycle, due_count=1)
    orders.wait_orders(shop, 3, "placed")
    orders.wait_orders(frozen, 1, "placed")
    carl = orders.order_of(people["carl"][0])
    assert orders.api("POST", f"/shops/{shop.shop_id}/orders/{carl['order_id']}/cancel").status_code == 200

    reminder = _closing_soon(f, cycle)
    _closing_soon(f, frozen_cycle)
    [anne] = _of_kind(orders, people["anne"][2], "order_reminder")
    [ben] = _of_kind(orders, people["ben"][2], "order_reminder")
    f.resend(reminder)  # redelivered
    again = Envelope(event_type=reminder.event_type, aggregate_id=reminder.aggregate_id, aggregate_version=1,
                     payload=reminder.payload, producer="scheduler-service", shop_id=shop.shop_id)
    f.resend(again)  # the same reminder as a new event: what a second scheduler would look like
    _quiet(orders)

    assert _kinds(orders, people["anne"][2]).count("order_reminder") == 1
    assert _kinds(orders, people["ben"][2]).count("order_reminder") == 1
    assert "order_reminder" not in _kinds(orders, people["carl"][2])  # cancelled: nothing left to change
    assert "order_reminder" not in _kinds(orders, people["dora"][2])  # the shop allows no change
    anne_order = orders.order_of(people["anne"][0])
    link = f"http://shop.example/shops/{shop.shop_id}/orders/{anne_order['order_id']}"
    assert anne["subject"].startswith(f"{shop.name} : vous pouvez modifier la commande {anne_order['number']}")
    assert "Les commandes ferment dans 48 heures" in anne["text"] and link in anne["text"]  # the hours really left
    assert f'href="{link}"' in anne["html"]
    assert anne["message_id"] == f"<{notification_id('order_reminder', anne_order['order_id'])}@orders.example>"
    assert ben["subject"].startswith(f"{shop.name}: you can change order")  # no language of his own: the shop's


def test_the_customer_is_told_once_each_when_the_shop_creates_changes_pauses_or_cancels_their_subscription(orders):
    f = orders.feed
    shop = f.shop(locale="fr")
    f.variant(shop, "eggs", "Eggs", price=320, on_hand=None)
    f.variant(shop, "honey", "Honey", price=900, on_hand=None)
    # The products' names come from catalog.events, another topic than the subscription's: known first, as in a shop
    orders.wait_projected("SELECT count(*) = 2 FROM catalog_variants WHERE shop_id = %s", [shop.shop_id],
                          "the catalog's two products")
    customer, email = f.customer(shop, first_name="Emma", locale="en")
    sub = f.subscription(shop, customer, {"eggs": 2}, by=MANAGER_ACTOR)
    [created] = _of_kind(orders, email, "subscription_created")
    items = [{"variant_id": "eggs", "quantity": 3, "price_estimate": None},
             {"variant_id": "honey", "quantity": 1, "price_estimate": None}]
    changed = f.subscription_event("SubscriptionUpdated", shop, sub, changes={"items": items},
                                   previous={"items": [{"variant_id": "eggs", "quantity": 2, "price_estimate": None}]})
    by_herself = f.send("SubscriptionUpdated", sub, {
        "subscription_id": sub, "shop_id": shop.shop_id, "actor": CUSTOMER_ACTOR, "reason": None,
        "changes": {"ship_address": {**ADDRESS, "city": "Paris"}}, "previous": {"ship_address": ADDRESS}},
        shop_id=shop.shop_id)
    paused = f.subscription_event("SubscriptionPaused", shop, sub, open_orders="keep", open_order_cycle_ids=[],
                                  reason="Holiday closure")
    f.subscription_event("SubscriptionUnpaused", shop, sub)
    cancelled = f.subscription_event("SubscriptionCancelled", shop, sub, open_orders="cancel",
                                     open_order_cycle_ids=[])
    [cancel_mail] = _of_kind(orders, email, "subscription_cancelled")
    for env in (changed, by_herself, paused, cancelled):
        f.resend(env)
    _quiet(orders)

    assert sorted(_kinds(orders, email)) == ["subscription_cancelled", "subscription_changed", "subscription_created",
                                             "subscription_paused"]  # nothing for her own change, nothing twice
    subscriptions = f"http://shop.example/shops/{shop.shop_id}/subscriptions"
    assert created["subject"] == f"{shop.name}: your subscription has been created"  # her language, not the shop's
    assert "2 x Eggs" in created["text"] and "Thursday 1 January 2026" in created["text"]
    assert subscriptions in created["text"]
    [changed_mail] = [m for m in orders.mails(email) if m["headers"]["X-Notification-Kind"] == "subscription_changed"]
    assert "Eggs: 2 -> 3" in changed_mail["text"] and "Added: 1 x Honey" in changed_mail["text"]
    assert "This applies from now on" in changed_mail["text"]
    [paused_mail] = [m for m in orders.mails(email) if m["headers"]["X-Notification-Kind"] == "subscription_paused"]
    assert "no new order is placed for you until it is resumed" in paused_mail["text"]
    assert "are kept" in paused_mail["text"] and "Holiday closure" in paused_mail["text"]
    assert "are cancelled: nothing is charged" in cancel_mail["text"] and subscriptions in cancel_mail["text"]


def test_the_shop_is_told_when_a_customer_cancels_an_order_or_skips_a_delivery_and_not_when_it_did_so(orders):
    f = orders.feed
    shop = f.shop(locale="fr")
    f.variant(shop, "eggs", "Oeufs", price=320, on_hand=None)
    cycle = f.cycle(shop, name="Semaine 15")
    people = {}
    for name in ("gael", "hugo"):
        customer, email = f.customer(shop, first_name=name.title())
        people[name] = (f.subscription(shop, customer, {"eggs": 1}), customer, email)
        f.due(shop, cycle, people[name][0], customer)
    f.boundary("OrderCycleOpened", cycle, due_count=2)
    orders.wait_orders(shop, 2, "placed")
    orders.wait_mails(shop.contact_email, 1, "(placement summary)")
    token, token_id = f.token("customer", [shop.shop_id], people["gael"][1])
    orders.wait_token(token_id)
    gael = orders.order_of(people["gael"][0])
    assert orders.api("POST", f"/shops/{shop.shop_id}/orders/{gael['order_id']}/cancel", token).status_code == 200
    hugo = orders.order_of(people["hugo"][0])
    assert orders.api("POST", f"/shops/{shop.shop_id}/orders/{hugo['order_id']}/cancel").status_code == 200
    skipped = f.send("OccurrenceSkipped", people["hugo"][0], {
        "subscription_id": people["hugo"][0], "shop_id": shop.shop_id, "order_cycle_id": cycle["order_cycle_id"],
        "actor": CUSTOMER_ACTOR, "reason": "en vacances"}, shop_id=shop.shop_id)
    f.subscription_event("OccurrenceSkipped", shop, people["gael"][0], order_cycle_id=cycle["order_cycle_id"])
    [skip_mail] = _of_kind(orders, shop.contact_email, "delivery_skipped_shop")
    f.resend(skipped)
    _quiet(orders)

    assert sorted(_kinds(orders, shop.contact_email)) == ["delivery_skipped_shop", "order_cancelled_shop",
                                                          "placement_summary"]
    [cancel_mail] = _of_kind(orders, shop.contact_email, "order_cancelled_shop")
    assert cancel_mail["subject"] == f"{shop.name} : Gael Durand a annulé la commande {gael['number']}"
    assert people["gael"][2] in cancel_mail["text"] and "Semaine 15" in cancel_mail["text"]
    assert skip_mail["subject"] == f"{shop.name} : Hugo Durand a sauté une livraison"
    assert "Semaine 15" in skip_mail["text"] and "en vacances" in skip_mail["text"]


def test_giving_and_withdrawing_the_charge_permission_emails_the_customer_the_consent_text_once(orders):
    f = orders.feed
    shop = f.shop(locale="en")
    customer, email = f.customer(shop, first_name="Ines", locale="en")
    at = datetime.now(UTC).replace(microsecond=0)
    consent = {"at": at, "method": "email_sign_in_link", "session_id": str(uuid.uuid4()), "locale": "fr",
               "text": "J'autorise la boutique à débiter ma carte pour mes commandes.", "email": email}
    given = f.send("CustomerChargesAllowed", customer, {
        "customer_id": customer, "shop_id": shop.shop_id, "payment_method_id": "pm_1", "consent": consent,
        "actor": CUSTOMER_ACTOR, "reason": None}, shop_id=shop.shop_id)
    withdrawn = f.send("CustomerChargesRevoked", customer, {
        "customer_id": customer, "shop_id": shop.shop_id, "actor": CUSTOMER_ACTOR, "reason": None,
        "consent": {**consent, "text": "Je retire mon autorisation."}}, shop_id=shop.shop_id)
    f.send("CustomerCardRemoved", customer, {"customer_id": customer, "shop_id": shop.shop_id,
                                             "actor": CUSTOMER_ACTOR, "reason": None}, shop_id=shop.shop_id)
    f.send("CustomerChargesRevoked", customer, {"customer_id": customer, "shop_id": shop.shop_id,
                                                "actor": CUSTOMER_ACTOR, "reason": "card removed", "consent": None},
           shop_id=shop.shop_id)
    [withdrawal] = _of_kind(orders, email, "charges_withdrawn")
    for env in (given, withdrawn):
        f.resend(env)
    _quiet(orders)

    assert sorted(_kinds(orders, email)) == ["charges_allowed", "charges_withdrawn"]  # not for a card removed
    [allowed] = _of_kind(orders, email, "charges_allowed")
    assert allowed["subject"] == f"{shop.name} : vous avez autorisé les paiements par carte"  # the consent's language
    assert consent["text"] in allowed["text"] and email in allowed["text"]
    assert f"http://shop.example/shops/{shop.shop_id}/payment" in allowed["text"]
    assert "Je retire mon autorisation." in withdrawal["text"]
