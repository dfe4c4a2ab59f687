"""Receipts and invoices (issue 25): one per paid order, invoice numbers 1..N per shop whatever the concurrency and
replays, the PDF's text, who may download it, and the PDF attached to the email (real Kafka, PostgreSQL, SMTP sink)."""

import base64
import io
import uuid
from concurrent.futures import ThreadPoolExecutor

import pypdf
import pytest

from devstack.testing import start_process
from order_service.entrypoints import rebuild

pytestmark = pytest.mark.integration


def _text(pdf: bytes) -> str:
    return " ".join(" ".join(page.extract_text().split()) for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)


def _confirmed_orders(orders, shop, n, *, cash=True, locale=None, items=None):
    """``n`` confirmed orders of ``shop``, one per new customer: (orders, {order_id: (customer_id, email)})."""
    f = orders.feed
    cycle = f.cycle(shop)
    people = {}
    for i in range(n):
        customer, email = f.customer(shop, first_name=f"Person{i}", locale=locale)
        sub = f.subscription(shop, customer, items or {"eggs": 2}, cash=cash, by=None)
        people[sub] = (customer, email)
        f.due(shop, cycle, sub, customer)
    f.boundary("OrderCycleOpened", cycle, due_count=n)
    orders.wait_orders(shop, n, "placed", timeout=120)
    f.boundary("OrderCycleClosed", cycle)
    confirmed = orders.wait_orders(shop, n, "confirmed", timeout=120)
    return confirmed, {o["order_id"]: people[o["subscription_id"]] for o in confirmed}


def _pay(orders, order, kind="PaymentMarkedPaid"):
    payment_id = str(uuid.uuid4())
    extra = {"amount": order["total"], "note": None} if kind == "PaymentMarkedPaid" else {
        "attempt": 1, "amount": order["total"], "currency": "EUR", "stripe_payment_intent_id": "pi_1",
        "stripe_charge_id": "ch_1"}
    return orders.feed.payment(kind, order, payment_id, **extra)


def _numbers(orders, shop):
    return [r["invoice_number"] for r in orders.rows(
        "SELECT invoice_number FROM orders WHERE shop_id = %s AND paid_at IS NOT NULL ORDER BY invoice_number",
        [shop.shop_id])]


def test_parallel_payments_of_one_shop_get_invoice_numbers_one_to_n_and_a_replay_or_rebuild_keeps_them(orders):
    f = orders.feed
    shop = f.shop(invoices_enabled=True)
    f.variant(shop, "eggs", "Eggs", price=320, on_hand=None)
    n = 24
    confirmed, _ = _confirmed_orders(orders, shop, n)
    # two more consumers in the group: the six partitions of billing.events are applied by three processes at once
    extra = [start_process(["-m", "order_service.entrypoints.consumer"], orders.env(),
                           orders.tmp / f"consumer-{i}.log") for i in range(2)]
    try:
        orders.settle()
        with ThreadPoolExecutor(8) as pool:  # the payments told at once, from several producers
            paid = list(pool.map(lambda o: _pay(orders, o), confirmed))
        orders.wait(lambda: len(_numbers(orders, shop)) == n, "every order's receipt", timeout=120)
        assert _numbers(orders, shop) == list(range(1, n + 1))

        for env in paid:  # every payment told again: no new number
            f.resend(env)
        for order in confirmed[:3]:  # a second payment of an order (another id) neither
            _pay(orders, order, "PaymentSucceeded")
        orders.settle()
    finally:
        for proc in extra:
            proc.terminate()
            proc.wait(30)
    # a consumer of a new group reads every topic again from the start
    group = f"replay-{uuid.uuid4().hex[:8]}"
    replay = start_process(["-m", "order_service.entrypoints.consumer"], orders.env(CONSUMER_GROUP=group),
                           orders.tmp / "consumer-replay.log")
    try:
        from devstack.testing import group_lag
        from order_service.entrypoints.consumer import TOPICS
        from shared_events.topics import physical

        topics = [physical(t, orders.prefix) for t in TOPICS]
        orders.wait(lambda: group_lag(orders.infra.bootstrap, group, topics) == 0, "the replay")
    finally:
        replay.terminate()
        replay.wait(30)
    assert _numbers(orders, shop) == list(range(1, n + 1))
    assert orders.scalar("SELECT last_number FROM invoice_sequences WHERE shop_id = %s", [shop.shop_id]) == n
    issued = orders.wait_published(
        lambda evs: sum(e.event_type == "ReceiptIssued" and e.shop_id == shop.shop_id for e in evs) >= n,
        "the receipts published")
    mine = [e for e in issued if e.event_type == "ReceiptIssued" and e.shop_id == shop.shop_id]
    assert sorted(e.payload["invoice_number"] for e in mine) == list(range(1, n + 1))  # one event each

    report = rebuild.run(orders.dsn, bootstrap=orders.infra.bootstrap)
    assert report.identical, report.differences  # orders.invoice_number and invoice_sequences included


def test_the_receipt_pdf_shows_the_order_in_the_customers_language_and_only_to_its_customer_and_managers(orders):
    f = orders.feed
    shop = f.shop(locale="en")
    other_shop = f.shop()
    f.variant(shop, "eggs", "Free-range eggs", price=320, on_hand=None)
    confirmed, people = _confirmed_orders(orders, shop, 3, locale="fr")
    paid, unpaid, other = confirmed
    _pay(orders, paid, "PaymentSucceeded")
    orders.wait(lambda: orders.order_of(paid["subscription_id"])["paid_at"] is not None, "the receipt")
    customer_token, token_id = f.token("customer", [shop.shop_id], people[paid["order_id"]][0])
    manager_token, manager_id = f.token("manager", [shop.shop_id])
    other_customer, other_id = f.token("customer", [shop.shop_id], people[other["order_id"]][0])
    other_manager, other_manager_id = f.token("manager", [other_shop.shop_id])
    for t in (token_id, manager_id, other_id, other_manager_id):
        orders.wait_token(t)
    path = f"/shops/{shop.shop_id}/orders/{paid['order_id']}/receipt.pdf"

    mine = orders.api("GET", path, customer_token)
    assert mine.status_code == 200 and mine.mimetype == "application/pdf", mine.get_data(as_text=True)[:300]
    text = _text(mine.data)
    assert "Reçu" in text and paid["number"] in text and shop.name in text and "Facture" not in text
    assert "Free-range eggs 2 3,20 € 6,40 €" in text  # name, quantity, unit price, total, French money
    assert "Livraison 5,00 €" in text and f"Total payé {paid['total'] // 100},{paid['total'] % 100:02d} €" in text
    assert "Camille Durand" in text and "12 rue des Lilas" in text  # the billing address

    english = orders.api("GET", path + "?lang=en", manager_token)
    assert english.status_code == 200 and "Receipt" in _text(english.data) and "€6.40" in _text(english.data)
    assert orders.api("GET", path, other_customer).status_code == 404  # another customer's
    assert orders.api("GET", path, other_manager).status_code == 404  # another shop's manager
    assert orders.api("GET", f"/shops/{other_shop.shop_id}/orders/{paid['order_id']}/receipt.pdf",
                      other_manager).status_code == 404
    assert orders.api("GET", f"/shops/{shop.shop_id}/orders/{unpaid['order_id']}/receipt.pdf",
                      manager_token).status_code == 404  # not paid: no receipt
    assert orders.api("GET", path + "?lang=de", manager_token).status_code == 422


def test_a_shop_that_asks_for_it_gets_the_invoice_pdf_attached_to_the_paid_confirmation_email_once(orders):
    f = orders.feed
    shop = f.shop(invoices_enabled=True, attach_invoice_to_email=True)
    plain = f.shop()
    f.variant(shop, "eggs", "Eggs", price=320, on_hand=None)
    f.variant(plain, "eggs", "Eggs", price=320, on_hand=None)
    [order], people = _confirmed_orders(orders, shop, 1, cash=False)
    [plain_order], plain_people = _confirmed_orders(orders, plain, 1, cash=False)
    first = _pay(orders, order, "PaymentSucceeded")
    _pay(orders, plain_order, "PaymentSucceeded")

    mail = _paid_mail(orders, people[order["order_id"]][1])
    [attached] = mail["attachments"]
    assert attached["filename"] == "invoice-1.pdf" and attached["content_type"] == "application/pdf"
    text = _text(base64.b64decode(attached["base64"]))
    assert "Invoice" in text and "Invoice number 1" in text and order["number"] in text
    plain_mail = _paid_mail(orders, plain_people[plain_order["order_id"]][1])
    assert plain_mail["attachments"] == []  # the shop did not ask for it
    f.resend(first)
    orders.settle()
    assert len(orders.mails(people[order["order_id"]][1])) == 2  # placed, then confirmed and paid: no second


def _paid_mail(orders, to):
    mails = orders.wait_mails(to, 2, "(placed, then confirmed and paid)")
    [paid] = [m for m in mails if m["headers"].get("X-Notification-Kind") == "order_confirmed"]
    return paid


def test_a_cash_payment_marked_paid_emails_the_receipt_once_to_a_shop_that_asks_for_it_and_to_no_other(orders):
    f = orders.feed
    shop = f.shop(locale="fr", attach_invoice_to_email=True)
    plain = f.shop(locale="fr")
    for s in (shop, plain):
        f.variant(s, "eggs", "Oeufs", price=320, on_hand=None)
    [order], people = _confirmed_orders(orders, shop, 1)
    [plain_order], plain_people = _confirmed_orders(orders, plain, 1)
    email = people[order["order_id"]][1]
    orders.wait_mails(email, 2, "(placed, confirmed)")
    paid = _pay(orders, order)
    _pay(orders, plain_order)

    mail = orders.wait(lambda: next((m for m in orders.mails(email)
                                     if m["headers"].get("X-Notification-Kind") == "order_paid"), None), "the receipt")
    assert mail["subject"] == f"{shop.name} : paiement reçu pour la commande {order['number']}"
    [attached] = mail["attachments"]
    assert attached["filename"] == f"recu-{order['number']}.pdf"
    assert "Reçu" in _text(base64.b64decode(attached["base64"])) and "Oeufs 2 3,20 € 6,40 €" in _text(
        base64.b64decode(attached["base64"]))
    f.resend(paid)
    orders.settle()
    orders.wait(lambda: orders.scalar("SELECT count(*) FROM notifications WHERE sent_at IS NULL") == 0, "the mails")
    assert len(orders.mails(email)) == 3  # placed, confirmed, paid: once
    assert len(orders.mails(plain_people[plain_order["order_id"]][1])) == 2  # no receipt email for that shop
