"""The manager's payments needing attention, in a real browser on a phone-sized screen against the real stack: two
shops' orders are confirmed at their cycle's close and charged off-session through localstripe. In the French
shop the card is 4000000000000341 (it attaches, then the bank declines every charge): the manager sees the payment
failed with why, charges the card again (declined again: two charges at Stripe, no more), then marks it paid in
cash. In the English shop the card is 4242424242424242: the manager refunds part of the paid order, is told by the
field when asking for more than was charged, and Stripe holds the refund. Every state of each page passes
axe-core and is photographed at 375 px."""

from __future__ import annotations

from typing import Any

import pytest

from devstack.testing import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

CARD_DECLINED_AT_CHARGE = "4000000000000341"
CARD_OK = "4242424242424242"


@pytest.fixture(scope="module")
def shops(web_system, card_subscriber, through_the_cycle) -> dict[str, Any]:
    """A French shop whose customer's card is declined at charge time and an English shop whose customer's card
    is charged, each with one subscription in a cycle that opens and closes (the test clock)."""
    now = web_system.platform.now()
    made = {lang: card_subscriber(number, locale=lang, customer_locale=lang, now=now)
            for lang, number in (("fr", CARD_DECLINED_AT_CHARGE), ("en", CARD_OK))}
    through_the_cycle(*made.values())
    for lang, status in (("fr", "failed"), ("en", "succeeded")):
        shop = made[lang]["shop"]
        made[lang]["payment"] = wait_for(lambda shop=shop, status=status: next(
            (x for x in shop.payments() if x["status"] == status), None), 60, f"the {lang} shop's payment")
    return made


def flat(words: str) -> str:
    return words.replace("\u202f", " ").replace("\xa0", " ")


def text(page: Any, selector: str = "main") -> str:
    return flat(page.inner_text(selector))


def stripe_charges(web_system, payment_id: str) -> list[Any]:
    """The charges localstripe holds for a payment (through their PaymentIntents' metadata), declined ones too."""
    v1 = web_system.platform.stripe()
    return [ch for ch in v1.charges.list({"limit": 100}).auto_paging_iter() if ch.payment_intent
            and v1.payment_intents.retrieve(ch.payment_intent).metadata.to_dict().get("payment_id") == payment_id]


def test_a_declined_card_is_shown_failed_with_its_reason_charged_again_then_marked_paid_in_french(
        web_system, visit, shops, manager_session):
    world = shops["fr"]
    shop, payment = world["shop"], world["payment"]
    page = visit.page
    manager_session(shop)
    page.goto(f"{web_system.url}/manage/shops/{shop.id}/payments/")

    item = page.locator(f"#payment-{payment['payment_id']}")
    shown = flat(item.inner_text())
    assert "Échoué" in shown and "32,00 €" in shown and world["customer"].email in shown
    assert "La banque du client a refusé le paiement." in shown
    visit.check("payments needing attention, one failed")

    with page.expect_navigation():
        item.get_by_role("link").click()
    assert page.get_by_role("heading", name=f"Paiement de la commande {payment['order_number']}").is_visible()
    assert "La banque du client a refusé le paiement." in text(page, "#failure-reason")
    visit.check("a failed payment")

    with page.expect_navigation():
        page.get_by_role("button", name="Réessayer maintenant").click()
    assert "La carte est débitée à nouveau" in text(page, "[role=status]")
    billing = shop.billing()
    path = f"{shop.base}/payments/{payment['payment_id']}"
    again = wait_for(lambda: (lambda p: p if p["status"] == "failed" and p["attempts"] == 2 else None)(
        billing.get(path)), 60, "the second charge to be declined too")
    assert again["failure"]["code"] == "card_declined"
    assert len(stripe_charges(web_system, payment["payment_id"])) == 2  # one retry, one more charge
    page.reload()
    assert "Échoué" in text(page, "#payment-status")
    visit.check("a failed payment, charged again and declined again")

    page.get_by_label("Comment a-t-il été payé ? (facultatif)").fill("espèces au retrait")
    with page.expect_navigation():
        page.get_by_role("button", name="Marquer payé").click()
    assert text(page, "[role=status]") == "Le paiement est marqué payé."
    assert "Payé" in text(page, "#payment-status") and "espèces au retrait" in text(page)
    assert page.get_by_role("button", name="Réessayer maintenant").count() == 0
    visit.check("a payment marked paid")
    paid = billing.get(path)
    assert (paid["status"], paid["paid_note"], paid["attempts"]) == ("paid", "espèces au retrait", 2)
    assert len(stripe_charges(web_system, payment["payment_id"])) == 2

    page.goto(f"{web_system.url}/manage/shops/{shop.id}/payments/")
    assert page.locator(f"#payment-{payment['payment_id']}").count() == 0
    assert "Aucun paiement n’est à traiter." in text(page)
    visit.check("payments needing attention, none left")


def test_a_paid_order_is_refunded_in_part_never_above_what_was_charged_in_english(web_system, visit, shops,
                                                                                   manager_session):
    world = shops["en"]
    shop, payment = world["shop"], world["payment"]
    page = visit.page
    manager_session(shop)
    page.goto(f"{web_system.url}/manage/shops/{shop.id}/payments/")
    assert "No payment needs your attention." in text(page)
    with page.expect_navigation():
        page.get_by_role("link", name="Paid and refunded").click()
    item = page.locator(f"#payment-{payment['payment_id']}")
    assert "Paid" in flat(item.inner_text()) and "€32.00" in flat(item.inner_text())
    visit.check("paid payments")
    with page.expect_navigation():
        item.get_by_role("link").click()
    assert "At most €32.00" in text(page, "#refund-form")
    visit.check("a paid payment")

    page.get_by_label("Amount to refund").fill("32.01")
    with page.expect_navigation():
        page.locator("#refund-form").get_by_role("button", name="Refund").click()
    assert "This is more than can still be refunded: refund less." in text(page, ".error-summary")
    assert "This is more than can still be refunded" in text(page, "#refund-amount-error")
    assert page.get_by_label("Amount to refund").input_value() == "32.01"
    visit.check("a refund above what was charged, refused")

    page.get_by_label("Amount to refund").fill("12.50")
    page.get_by_label("Why? (optional, kept with the refund)").fill("Eggs broken")
    with page.expect_navigation():
        page.locator("#refund-form").get_by_role("button", name="Refund").click()
    assert text(page, "[role=status]") == "The refund is made."
    assert text(page, "#payment-refunded") == "€12.50" and "Eggs broken" in text(page)
    assert "At most €19.50" in text(page, "#refund-form")
    visit.check("a payment refunded in part")

    refunded = shop.billing().get(f"{shop.base}/payments/{payment['payment_id']}")
    assert (refunded["amount_refunded"], refunded["status"]) == (1250, "succeeded")
    (charge,) = stripe_charges(web_system, payment["payment_id"])
    assert charge.amount == 3200 and charge.amount_refunded == 1250
