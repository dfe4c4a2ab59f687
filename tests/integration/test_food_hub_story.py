"""Issue 25's story end to end: the four services as processes on real Kafka, PostgreSQL, localstripe and the SMTP
sink, driven through the public APIs, the catalog topic and the test clock. A French hub whose prices include tax
(5.5 % and 20 %) and which emails numbered invoices; two customers who saved a card (SetupIntent) and consented;
tomatoes out of stock, so the peppers they named as a substitute are placed; honey deleted from the catalog after
placement, so it leaves the orders (jam in its place for the customer who named it); the close charges each order
exactly the total its invoice prints."""

from __future__ import annotations

import base64
import io
import re
from datetime import datetime, timedelta
from typing import Any

import pypdf
import pytest

from devstack.scenario import CARD_OK, ApiError, Customer, Shop
from devstack.testing import wait_for, wait_for_answer

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

FR = [{"category": "reduced", "rate_bp": 550}, {"category": "standard", "rate_bp": 2000}]


def _subscribe(shop: Shop, customer: Customer, *args: Any, **kw: Any) -> dict[str, Any]:
    """The catalog (the products and their substitutes) reaches subscription-service through Kafka."""

    def attempt():
        try:
            return shop.subscribe(customer, *args, **kw)
        except ApiError as exc:
            if " -> 422 " in str(exc):
                return None
            raise

    return wait_for(attempt, 30, "the catalog to reach subscription-service")


def _text(pdf: bytes) -> str:
    return " ".join(" ".join(page.extract_text().split()) for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)


def _euros(text: str, label: str) -> int:
    """The amount printed after ``label`` in a French PDF (``26,00 €``), in cents."""
    found = re.search(re.escape(label) + r" ([\d  .]+),(\d\d) €", text)
    assert found, f"{label!r} not in {text!r}"
    return int(re.sub(r"\D", "", found.group(1))) * 100 + int(found.group(2))


def _mails(system, address: str, kind: str) -> list[dict[str, Any]]:
    return [m for m in system.mail(address) if m["headers"].get("X-Notification-Kind") == kind]


def _wait_mail(system, address: str, kind: str) -> dict[str, Any]:
    return wait_for(lambda: next(iter(_mails(system, address, kind)), None), 60, f"a {kind} email to {address}")


def _paid(shop: Shop, order_id: str) -> dict[str, Any] | None:
    found = shop.billing().get(f"{shop.base}/orders/{order_id}/payments")
    items = found["items"] if isinstance(found, dict) else found
    return items[0] if items and items[0]["status"] == "succeeded" else None


def test_a_french_hub_places_a_substitute_withdraws_a_deleted_product_and_charges_what_the_invoice_says(system):
    p = system.platform
    shop = p.create_shop(name="La Ferme du Coin", locale="fr", currency="EUR", prices_include_tax=True,
                         tax_rates=FR, invoices_enabled=True, attach_invoice_to_email=True)
    ship = shop.shipping_method("Livraison", fee_flat=500, tax_category="standard")
    card = shop.payment_method("stripe")
    shop.variant("tomatoes", "Tomates", 300, on_hand=0, tax_category="reduced")  # out of stock this week
    shop.variant("peppers", "Poivrons", 450, on_hand=10, tax_category="reduced")
    shop.variant("wine", "Vin rouge", 1200, on_hand=None, tax_category="standard")
    shop.variant("honey", "Miel", 800, on_hand=20, tax_category="reduced")
    shop.variant("jam", "Confiture", 500, on_hand=5, tax_category="reduced")
    now = p.now()
    cycle = shop.order_cycle("Semaine 1", now + timedelta(hours=1), now + timedelta(days=2))
    schedule = shop.schedule("Chaque semaine", [cycle["id"]])
    amelie = shop.customer("Amelie", "Durand", card=CARD_OK, locale="fr")  # SetupIntent in person, consented
    bruno = shop.customer("Bruno", "Martin", card=CARD_OK, locale="fr")
    baskets = {amelie.id: {"tomatoes": 2, "wine": 1, "honey": 1}, bruno.id: {"tomatoes": 1, "honey": 2}}
    substitutes = {amelie.id: {"tomatoes": ["peppers"]}, bruno.id: {"tomatoes": ["peppers"], "honey": ["jam"]}}
    for customer in (amelie, bruno):
        _subscribe(shop, customer, schedule["id"], ship["id"], card["id"], baskets[customer.id], begins_at=now,
                   substitutes=substitutes[customer.id])

    p.advance_to(datetime.fromisoformat(cycle["opens_at"]) + timedelta(minutes=1))
    placed = wait_for_answer(lambda: (lambda o: {x["customer_id"]: x for x in o} if len(o) == 2 else None)(
        shop.orders(order_cycle_id=cycle["id"])), what="the two orders")
    for customer, wanted in ((amelie, 2), (bruno, 1)):
        order = shop.order(placed[customer.id]["order_id"])
        [pepper] = [line for line in order["lines"] if line["variant_id"] == "peppers"]
        assert (pepper["quantity"], pepper["unit_price"], pepper["substitute_for"]) == (
            wanted, 450, {"variant_id": "tomatoes", "name": "Tomates"})
        assert "tomatoes" not in {line["variant_id"] for line in order["lines"] if line["quantity"] > 0}
        said = _wait_mail(system, customer.email, "order_placed")
        assert f"{wanted} x Poivrons (à la place de Tomates)" in said["text"]

    deleted = shop.delete_variant("honey")
    for customer in (amelie, bruno):
        wait_for_answer(lambda c=customer: "honey" not in {line["variant_id"] for line in shop.order(
            placed[c.id]["order_id"])["lines"]}, what="the honey withdrawn")
        told = _wait_mail(system, customer.email, "line_withdrawn")
        assert "Miel n'est plus vendu par La Ferme du Coin" in told["text"]
        assert "Rien ne sera débité pour cet article" in told["text"]
    assert deleted.event_type == "VariantDeleted"
    # Bruno named jam should honey go: it takes the honey's place, the withdrawal email says so
    assert "À sa place, comme vous l'avez demandé : 2 x Confiture" in _wait_mail(system, bruno.email,
                                                                               "line_withdrawn")["text"]
    assert "À sa place" not in _wait_mail(system, amelie.email, "line_withdrawn")["text"]

    p.advance_to(datetime.fromisoformat(cycle["closes_at"]) + timedelta(minutes=1))
    # prices include tax, each line rounded: 5.5 % of 9.00 (2 peppers) is 0.47, of 4.50 0.23, of 10.00 (2 jams)
    # 0.52; 20 % of 12.00 is 2.00 and of the 5.00 delivery 0.83
    expected = {amelie.id: (900 + 1200 + 500, {550: 47, 2000: 200 + 83}),
                bruno.id: (450 + 1000 + 500, {550: 23 + 52, 2000: 83})}
    lines = {amelie.id: [("peppers", 2), ("wine", 1)], bruno.id: [("peppers", 1), ("jam", 2)]}
    numbers = set()
    for customer in (amelie, bruno):
        order_id = placed[customer.id]["order_id"]
        payment = wait_for_answer(lambda o=order_id: _paid(shop, o), 90, "the charge")
        order = shop.order(order_id)
        total, per_rate = expected[customer.id]
        assert order["status"] == "confirmed" and order["prices_include_tax"] is True
        assert [(line["variant_id"], line["quantity"]) for line in order["lines"]] == lines[customer.id]  # no honey
        by_rate: dict[int, int] = {}
        for line in order["lines"]:
            by_rate[line["tax_rate_bp"]] = by_rate.get(line["tax_rate_bp"], 0) + line["tax"]
        by_rate[2000] = by_rate.get(2000, 0) + order["totals"]["shipping_tax"]
        assert {rate: tax for rate, tax in by_rate.items() if tax} == per_rate
        assert order["totals"]["total"] == total and order["totals"]["tax_total"] == sum(per_rate.values())

        intent = p.stripe().payment_intents.retrieve(payment["stripe_payment_intent_id"])
        assert payment["amount"] == intent.amount == total  # localstripe charged the order's total

        pdf = wait_for_answer(lambda o=order_id: (lambda r: r.content if r.status_code == 200 else None)(
            shop.orders_api().call("GET", f"{shop.base}/orders/{o}/receipt.pdf")), what="the invoice")
        text = _text(pdf)
        assert "Facture" in text and _euros(text, "Total payé") == total == intent.amount
        numbers.add(int(re.search(r"Facture n° (\d+)", text).group(1)))
        assert "Miel" not in text and "Poivrons" in text and ("Confiture" in text) == (customer is bruno)

        confirmed = _wait_mail(system, customer.email, "order_confirmed")
        [attached] = confirmed["attachments"]
        assert attached["content_type"] == "application/pdf"
        assert _euros(_text(base64.b64decode(attached["base64"])), "Total payé") == total
        assert sum(len(m["attachments"]) for m in system.mail(customer.email)) == 1  # the invoice, once
    assert numbers == {1, 2}  # the shop's invoices numbered from 1, none skipped
