"""An email once, whatever happens around the moment it leaves (found by the fault run, tests/faults): the
notifier marks an email sent while the SMTP server holds the whole message but before the final "." that
makes the server take it. PostgreSQL lost at that moment: the server discards the message and it is sent
later, once. The worker killed once the server took it: never sent again (real PostgreSQL, Kafka, Mailpit)."""

import threading
import time

import psycopg
import pytest

from order_service.config import MailSettings
from order_service.entrypoints.notifier import Notifier
from servicekit.faults import KILLED

pytestmark = pytest.mark.integration


def _two_emails_queued(orders):
    """One cash order placed: its customer's email and the shop's placement summary are queued."""
    f = orders.feed
    shop = f.shop()
    f.variant(shop, "eggs", "Eggs", price=320, on_hand=None)
    cycle = f.cycle(shop)
    customer, email = f.customer(shop)
    sub = f.subscription(shop, customer, {"eggs": 2}, cash=True)
    f.due(shop, cycle, sub, customer)
    f.boundary("OrderCycleOpened", cycle, due_count=1)
    orders.wait(lambda: orders.scalar("SELECT count(*) FROM notifications") == 2, "both emails to be queued")
    return shop, email


def _all_marked_sent(orders):
    return orders.scalar("SELECT count(*) FROM notifications WHERE sent_at IS NULL") == 0


def test_postgresql_lost_as_an_email_is_marked_sent_the_server_discards_it_and_it_is_sent_once_later(fresh_orders):
    orders = fresh_orders
    orders.start("consumer")  # no notifier process: the one under test runs here
    shop, email = _two_emails_queued(orders)
    mail = MailSettings(smtp_host="127.0.0.1", smtp_port=orders.infra.smtp_port, mail_from="Orders <o@orders.example>",
                        smtp_timeout_s=10, order_service_url="http://orders.example", max_attempts=8)
    notifier = Notifier(orders.dsn, mail, poll_s=0.2, lease_s=1.0)  # a lease that ends at once after the outage
    mark = notifier._mark_sent
    cut: list[str] = []

    def lose_postgresql_then_mark(conn, notification_id, to, message_id):
        if not cut:  # every connection to the database is cut as the first email is about to be marked
            cut.append(message_id)
            with psycopg.connect(orders.dsn, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        mark(conn, notification_id, to, message_id)

    notifier._mark_sent = lose_postgresql_then_mark
    worker = threading.Thread(target=notifier.run, daemon=True)
    worker.start()
    try:
        orders.wait(lambda: cut and _all_marked_sent(orders), "every email marked sent")
        time.sleep(3)  # several leases: an email marked twice or claimed again would be sent again by now
    finally:
        notifier.stop()
        worker.join(timeout=30)
    mails = orders.mails(email) + orders.mails(shop.contact_email)
    assert len(mails) == 2, [m["subject"] for m in mails]  # the order placed, the shop's summary: once each
    assert len({m["message_id"] for m in mails}) == 2 and cut[0] in {m["message_id"] for m in mails}
    assert orders.scalar("SELECT sent_at IS NOT NULL AND attempts = 2 FROM notifications WHERE message_id = %s",
                         [cut[0]])  # claimed a second time: the first attempt never reached anyone


def test_a_notifier_killed_once_the_server_took_an_email_never_sends_it_again(fresh_orders, tmp_path):
    orders = fresh_orders
    orders.start("consumer")
    shop, email = _two_emails_queued(orders)
    once = tmp_path / "notifier-crashed"
    dying = orders.start("notifier", NOTIFIER_FAULT="crash_after_send", NOTIFIER_FAULT_ONCE_FILE=str(once),
                         MAIL_LEASE_S=1)
    assert dying.wait(timeout=60) == KILLED and once.exists()
    orders.procs.pop("notifier")
    first = orders.mails(email) + orders.mails(shop.contact_email)
    assert len(first) == 1  # it died right after the first email left, before doing anything else
    orders.start("notifier", MAIL_LEASE_S=1)  # leases of a second: a claimed, unmarked email is sent again at once
    orders.wait(lambda: _all_marked_sent(orders), "every email marked sent")
    time.sleep(3)
    mails = orders.mails(email) + orders.mails(shop.contact_email)
    assert len(mails) == 2 and len({m["message_id"] for m in mails}) == 2, [m["subject"] for m in mails]
    assert first[0]["message_id"] in {m["message_id"] for m in mails}
    assert orders.scalar("SELECT attempts FROM notifications WHERE message_id = %s",
                         [first[0]["message_id"]]) == 1  # marked before it left: never claimed again
