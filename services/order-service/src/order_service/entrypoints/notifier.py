"""Sends the queued emails: ``python -m order_service.entrypoints.notifier``.

Notifications are written by the consumer (and the API) in the transaction of what they tell; this
worker claims a batch (a lease: other replicas skip it), renders each in the shop's language and sends
it over SMTP with a Message-ID derived from the notification.

An email once: the notification is marked sent in PostgreSQL while the SMTP server holds the whole
message but before the final "." that makes it take it (servicekit.mail, ``commit``). The mark is the
point of no return:
- PostgreSQL lost before the mark, or the worker killed before it: the server never gets the ".", discards
  the message, and the notification is sent after its lease, once.
- killed after the mark: the server has the message or gets it as the process's last bytes; the
  notification is never claimed again. The one way to lose an email is a kill in the instant between the
  mark's commit and the "." leaving; re-sending it could not be told apart from a second copy.
- the server refuses the message after the mark: the mark is undone and the email retried (kept in
  memory and undone first thing if PostgreSQL went away meanwhile).
An SMTP or rendering error is retried with backoff, then given up (failed_at) after MAIL_MAX_ATTEMPTS. It
also closes the runs whose summary is due (windows and deadlines: see adapters/runs.py).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

import psycopg

from order_service import SERVICE_NAME
from order_service.adapters import email_context, mailer, runs
from order_service.adapters.db import all_rows
from order_service.config import MailSettings, ServiceSettings
from order_service.service_layer import receipts
from servicekit import logs
from servicekit.faults import crash_hook
from servicekit.mail import LostAfterCommit
from shared_events import listening

log = logging.getLogger("order_service.notifier")

CLAIM = """
    UPDATE notifications SET attempts = attempts + 1,
        next_attempt_at = clock_timestamp() + make_interval(secs => %s)
    WHERE notification_id IN (
        SELECT notification_id FROM notifications
        WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= clock_timestamp()
        ORDER BY seq LIMIT %s FOR UPDATE SKIP LOCKED)
    RETURNING *
"""


class Notifier:
    def __init__(self, dsn: str, mail: MailSettings, *, batch_size: int = 50, poll_s: float = 2.0,
                 lease_s: float = 120.0, fault: Callable[..., None] | None = None) -> None:
        self.dsn = dsn
        self.mail = mail
        self.batch_size = batch_size
        self.poll_s = poll_s
        self.lease_s = lease_s
        self.templates = mailer.Templates()
        self.smtp = mailer.Smtp(mail.smtp_host, mail.smtp_port, mail.smtp_timeout_s)
        self.stop_event = threading.Event()
        self.sent = 0
        self.fault = fault  # the kill tests' hook: the process dies once the server took an email
        self.refused: list[tuple[dict, BaseException]] = []  # refused after the mark while PostgreSQL was lost

    def stop(self) -> None:
        self.stop_event.set()

    def run(self) -> None:
        listening.keep_connected(self.dsn, self.stop_event, self._serve, what="notifier")
        self.smtp.close()

    def _serve(self, conn: psycopg.Connection) -> None:
        self.undo_refused(conn)
        listening.listen(conn, "notifications")
        while not self.stop_event.is_set():
            if self.tick(conn) < self.batch_size:
                listening.notified(conn, self.poll_s)

    def tick(self, conn: psycopg.Connection) -> int:
        """Close the runs that are due, then send one batch; returns how many were claimed."""
        with conn.transaction():
            for run_id in runs.runs_due(conn):
                runs.summarise(conn, run_id)
        with conn.transaction():
            claimed = all_rows(conn, CLAIM, [self.lease_s, self.batch_size])
        for row in claimed:
            if self.stop_event.is_set():
                break  # the lease expires and another pass sends it
            self.deliver(conn, row)
        return len(claimed)

    def deliver(self, conn: psycopg.Connection, row: dict) -> None:
        notification_id = str(row["notification_id"])
        try:
            to, context = email_context.build(conn, row, self.mail.order_service_url,
                                              self.mail.public_web_url)
            locale = context["language"]
            subject, text, html = self.templates.render(row["kind"], locale, context)
            reply_to = context["shop"].get("contact_email") if row["recipient"] == "customer" else None
            message_id = mailer.message_id_for(notification_id, self.mail.mail_from)
            headers = [("X-Notification-Kind", row["kind"]), ("Content-Language", locale)]
            if context.get("order"):
                headers.append(("X-Order-Number", context["order"]["number"]))
            files = receipts.attachments(conn, row, locale)
            msg = mailer.build_message(mailer.Email(to, subject, text, html, reply_to, tuple(headers), files),
                                       sender=self.mail.mail_from, message_id=message_id)
        except Exception as exc:  # noqa: BLE001 - a notification that cannot be rendered yet is retried
            self._failed(conn, row, exc)
            return
        marked = False

        def mark_sent() -> None:
            nonlocal marked
            self._mark_sent(conn, notification_id, to, message_id)
            marked = True

        try:
            self.smtp.send(msg, commit=mark_sent)
        except LostAfterCommit as exc:
            log.warning("the SMTP server's answer to a whole message was lost: taken as sent",
                        extra={"notification_id": notification_id, "error": str(exc)})
        except psycopg.OperationalError:
            raise  # PostgreSQL went away before the mark: the server discarded the message
        except Exception as exc:  # noqa: BLE001 - a refusal, a dropped connection or a bad message: retried later
            try:
                self._failed(conn, row, exc)
            except psycopg.OperationalError:
                if marked:
                    self.refused.append((row, exc))  # refused after the mark: undone when PostgreSQL is back
                raise
            return
        self.sent += 1
        if self.fault:
            self.fault()

    def undo_refused(self, conn: psycopg.Connection) -> None:
        """Undo the marks of emails the server refused while PostgreSQL was away (before claiming anything)."""
        while self.refused:
            self._failed(conn, *self.refused[0])
            self.refused.pop(0)

    @staticmethod
    def _mark_sent(conn: psycopg.Connection, notification_id: str, to: str, message_id: str) -> None:
        conn.execute("UPDATE notifications SET sent_at = clock_timestamp(), to_address = %s, message_id = %s, "
                     "last_error = NULL WHERE notification_id = %s", [to, message_id, notification_id])

    def _failed(self, conn: psycopg.Connection, row: dict, exc: BaseException) -> None:
        error = f"{type(exc).__name__}: {exc}"[:2000]
        give_up = row["attempts"] >= self.mail.max_attempts
        log.log(logging.ERROR if give_up else logging.WARNING, "email not sent",
                extra={"notification_id": str(row["notification_id"]), "kind": row["kind"], "error": error})
        delay = min(5 * 2 ** row["attempts"], 3600)
        conn.execute(
            "UPDATE notifications SET sent_at = NULL, message_id = NULL, last_error = %s, "
            "failed_at = CASE WHEN %s THEN clock_timestamp() END, "
            "next_attempt_at = clock_timestamp() + make_interval(secs => %s) WHERE notification_id = %s",
            [error, give_up, delay, row["notification_id"]])


def main() -> None:
    from servicekit.worker import run_worker

    settings = ServiceSettings.from_env()
    logs.configure(SERVICE_NAME, settings.base.log_level)
    fault = crash_hook(os.environ.get("NOTIFIER_FAULT"), "crash_after_send", os.environ.get("NOTIFIER_FAULT_ONCE_FILE"),
                       production=settings.base.app_env == "production")
    mail = MailSettings.from_env()
    run_worker(Notifier(settings.base.database_url, mail, lease_s=mail.lease_s, fault=fault),
               name=f"{SERVICE_NAME}.notifier")


if __name__ == "__main__":
    main()
