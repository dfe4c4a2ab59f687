"""Emails land in the SMTP sink once each, in the shop's language: placement (capped quantities struck
through), empty order, the shop's summaries, confirmation, failed payment with its reason,
authorisation required with its link (real Kafka, PostgreSQL and SMTP)."""

import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from order_service.adapters.notifications import notification_id

pytestmark = pytest.mark.integration


def _quiet(orders, seconds=3):
    """Let the consumer apply every redelivery and the notifier send whatever it would."""
    orders.settle()
    orders.wait(lambda: orders.scalar("SELECT count(*) FROM notifications WHERE sent_at IS NULL AND failed_at IS NULL")
                == 0, "every email to be sent")
    time.sleep(seconds)


def test_placement_emails_reach_each_customer_and_the_shop_once_in_the_shops_language(orders):
    f = orders.feed
    shop = f.shop(locale="fr")
    f.variant(shop, "oeufs", "Oeufs", price=320, on_hand=3)
    f.variant(shop, "miel", "Miel", price=900, on_hand=0)
    cycle = f.cycle(shop, name="Semaine 14")
    people = {}
    for name, items in (("alice", {"oeufs": 2}), ("bruno", {"oeufs": 2}), ("chloe", {"miel": 1})):
        customer, email = f.customer(shop, first_name=name.title(), locale="fr")
        created = datetime.now(UTC) - timedelta(days=len(people))
        people[name] = (f.subscription(shop, customer, items, created_at=created), customer, email)
    # alice was created last: bruno (created first) gets 2 eggs, alice the 1 left
    dues = [f.due(shop, cycle, sub, customer) for sub, customer, _ in people.values()]
    opened = f.boundary("OrderCycleOpened", cycle, due_count=3)

    [alice] = orders.wait_mails(people["alice"][2], 1, "(placed)")
    [bruno] = orders.wait_mails(people["bruno"][2], 1, "(placed)")
    [chloe] = orders.wait_mails(people["chloe"][2], 1, "(empty)")
    [summary] = orders.wait_mails(shop.contact_email, 1, "(placement summary)")
    for env in [*dues, opened]:
        f.resend(env)  # every trigger redelivered: no second email
    _quiet(orders)
    for address in [p[2] for p in people.values()] + [shop.contact_email]:
        assert len(orders.mails(address)) == 1, address

    alice_order = orders.order_of(people["alice"][0])
    assert alice["subject"] == f"{shop.name} : votre commande {alice_order['number']} a été passée"
    assert "Bonjour Alice" in alice["text"] and "<del>2</del> 1" in alice["html"]
    assert "Vous pouvez modifier cette commande jusqu'à la clôture des commandes" in alice["text"]
    page = f"http://shop.example/shops/{shop.shop_id}/orders/{alice_order['order_id']}"  # the web app's, not the API's
    assert page in alice["text"] and f'href="{page}"' in alice["html"] and "/api/v1/" not in alice["text"]
    assert alice["message_id"] == f"<{notification_id('order_placed', alice_order['order_id'])}@orders.example>"
    assert alice["headers"]["Reply-To"] == shop.contact_email
    assert "<del>" not in bruno["html"]
    assert "n'a pas pu être passée" in chloe["subject"] and "aucun des produits" in chloe["text"]
    assert "récapitulatif des commandes récurrentes passées (Semaine 14)" in summary["subject"]
    assert alice_order["number"] in summary["text"] and orders.order_of(people["chloe"][0])["number"] in summary["text"]
    assert "Stock insuffisant" in summary["text"] and "Aucun stock" in summary["text"]


def test_confirmation_payment_failure_and_authorisation_emails_are_sent_once_with_reason_and_link(orders):
    f = orders.feed
    shop = f.shop(locale="en")
    f.variant(shop, "eggs", "Eggs", price=320, on_hand=None)
    cycle = f.cycle(shop)
    people = {}
    for name, cash in (("paid", False), ("declined", False), ("sca", False), ("cash", True)):
        customer, email = f.customer(shop, first_name=name.title())
        people[name] = (f.subscription(shop, customer, {"eggs": 2}, cash=cash), customer, email)
        f.due(shop, cycle, people[name][0], customer)
    f.boundary("OrderCycleOpened", cycle, due_count=4)
    orders.wait_mails(shop.contact_email, 1, "(placement summary)")
    f.boundary("OrderCycleClosed", cycle)
    orders.wait(lambda: all(orders.order_of(p[0])["status"] == "confirmed" for p in people.values()), "the close")

    [_, cash_confirmed] = orders.wait_mails(people["cash"][2], 2, "(placed, confirmed)")
    assert "is now confirmed" in cash_confirmed["text"] and "to be paid to" in cash_confirmed["text"]
    assert len(orders.mails(people["paid"][2])) == 1  # card orders: told when billing reports the outcome

    order = {n: orders.order_of(p[0]) for n, p in people.items()}
    pay = {n: str(uuid.uuid4()) for n in people}
    outcomes = [
        f.payment("PaymentSucceeded", order["paid"], pay["paid"], attempt=1, amount=order["paid"]["total"],
                  currency="EUR", stripe_payment_intent_id="pi_1", stripe_charge_id="ch_1"),
        f.payment("PaymentFailed", order["declined"], pay["declined"], attempt=1, code="card_declined",
                  decline_code="insufficient_funds", retryable=False, final=True,
                  message="Your bank declined the payment: there were not enough funds on the card."),
        f.payment("PaymentAuthorizationRequired", order["sca"], pay["sca"], attempt=1, amount=order["sca"]["total"],
                  currency="EUR", stripe_payment_intent_id="pi_3",
                  authorization_url="https://billing.example/pay/authorize/pi_3?t=abc"),
    ]
    [_, paid] = orders.wait_mails(people["paid"][2], 2)
    assert "An automatic payment of" in paid["text"] and "has been processed" in paid["text"]
    [_, declined] = orders.wait_mails(people["declined"][2], 2)
    assert "failed" in declined["subject"] and "not enough funds on the card" in declined["text"]
    assert "Please contact" in declined["text"]
    sca = orders.wait_mails(people["sca"][2], 3)
    [link] = [m for m in sca if "authorise" in m["subject"]]
    assert "https://billing.example/pay/authorize/pi_3?t=abc" in link["text"]
    assert any("is now confirmed" in m["text"] for m in sca)
    [owner] = orders.wait_mails(shop.owner_email, 1, "(authorisation required, to the owner)")
    assert order["sca"]["number"] in owner["text"]
    contact = orders.wait_mails(shop.contact_email, 2, "(placement and confirmation summaries)")
    [confirmation] = [m for m in contact if "finalised" in m["subject"]]
    assert "Failed payment" in confirmation["text"] and order["declined"]["number"] in confirmation["text"]
    assert "Authorisation required" in confirmation["text"] and order["sca"]["number"] in confirmation["text"]
    assert "not enough funds" in confirmation["text"]

    for env in outcomes:
        f.resend(env)
    _quiet(orders)
    assert [len(orders.mails(p[2])) for p in people.values()] == [2, 2, 3, 2]
    assert len(orders.mails(shop.contact_email)) == 2 and len(orders.mails(shop.owner_email)) == 1
