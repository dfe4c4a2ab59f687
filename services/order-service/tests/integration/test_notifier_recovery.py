"""The notifier loses PostgreSQL right after an email left (found by the fault run, tests/faults): it must mark
that email sent when PostgreSQL answers again, not send it a second time once its lease is over."""

import threading
import time

import psycopg
import pytest

from order_service.config import MailSettings
from order_service.entrypoints.notifier import Notifier

pytestmark = pytest.mark.integration


def test_an_email_sent_just_before_postgresql_went_away_is_marked_sent_afterwards_and_never_sent_again(
        fresh_orders):
    orders = fresh_orders
    orders.start("consumer")  # no notifier process: the one under test runs here
    f = orders.feed
    shop = f.shop()
    f.variant(shop, "eggs", "Eggs", price=320, on_hand=None)
    cycle = f.cycle(shop)
    customer, email = f.customer(shop)
    sub = f.subscription(shop, customer, {"eggs": 2}, cash=True)
    f.due(shop, cycle, sub, customer)
    f.boundary("OrderCycleOpened", cycle, due_count=1)
    orders.wait(lambda: orders.scalar("SELECT count(*) FROM notifications WHERE customer_id = %s", [customer]),
                "the placement email to be queued")

    mail = MailSettings(smtp_host="127.0.0.1", smtp_port=orders.infra.smtp_port, mail_from="Orders <o@orders.example>",
                        smtp_timeout_s=10, order_service_url="http://orders.example", max_attempts=8)
    notifier = Notifier(orders.dsn, mail, poll_s=0.2, lease_s=1.0)  # a lease that ends at once after the outage
    send = notifier.smtp.send
    cut = []

    def send_then_lose_postgresql(msg):
        send(msg)
        if not cut:  # every connection to the database is cut after the first email left
            cut.append(msg["Message-ID"])
            with psycopg.connect(orders.dsn, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = current_database() AND pid <> pg_backend_pid()")

    notifier.smtp.send = send_then_lose_postgresql
    worker = threading.Thread(target=notifier.run, daemon=True)
    worker.start()
    try:
        orders.settle()
        orders.wait(lambda: cut and orders.scalar("SELECT count(*) FROM notifications WHERE sent_at IS NULL") == 0,
                    "every email marked sent")
        time.sleep(3)  # several leases: a forgotten email would be claimed and sent again by now
    finally:
        notifier.stop()
        worker.join(timeout=30)
    mails = orders.mails(email) + orders.mails(shop.contact_email)
    assert len(mails) == 2, [m["subject"] for m in mails]  # the order placed, the shop's summary: once each
    assert len({m["message_id"] for m in mails}) == 2 and cut[0] in {m["message_id"] for m in mails}
    assert orders.scalar("SELECT sent_at IS NOT NULL FROM notifications WHERE message_id = %s", [cut[0]])
    assert notifier.unmarked == []
