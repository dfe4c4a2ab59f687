"""Sends the queued emails: ``python -m order_service.entrypoints.notifier``.

Notifications are written by the consumer (and the API) in the transaction of what they tell; this
worker claims a batch (a lease: other replicas skip it), renders each in the shop's language, sends
it over SMTP with a Message-ID derived from the notification, and marks it sent. PostgreSQL lost
between sending and marking: the worker keeps what it sent and marks it first thing when PostgreSQL
answers again, before claiming anything (never a second copy). Only a crash of the worker itself in
that window re-sends after the lease, with the same Message-ID. An SMTP or rendering error is
retried with backoff, then given up (failed_at) after MAIL_MAX_ATTEMPTS. It also closes the runs
whose summary is due (windows and deadlines: see adapters/runs.py).
"""

from __future__ import annotations

import logging
import smtplib
import threading

import psycopg

from order_service import SERVICE_NAME
from order_service.adapters import email_context, mailer, runs
from order_service.adapters.db import all_rows
from order_service.config import MailSettings, ServiceSettings
from servicekit import logs
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
                 lease_s: float = 120.0) -> None:
        self.dsn = dsn
        self.mail = mail
        self.batch_size = batch_size
        self.poll_s = poll_s
        self.lease_s = lease_s
        self.templates = mailer.Templates()
        self.smtp = mailer.Smtp(mail.smtp_host, mail.smtp_port, mail.smtp_timeout_s)
        self.stop_event = threading.Event()
        self.sent = 0
        self.unmarked: list[tuple[str, str, str]] = []  # sent while PostgreSQL was lost: (id, to, Message-ID)

    def stop(self) -> None:
        self.stop_event.set()

    def run(self) -> None:
        listening.keep_connected(self.dsn, self.stop_event, self._serve, what="notifier")
        self.smtp.close()

    def _serve(self, conn: psycopg.Connection) -> None:
        self.mark_unmarked(conn)
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
        try:
            to, context = email_context.build(conn, row, self.mail.order_service_url,
                                              self.mail.public_web_url)
            locale = context["language"]
            subject, text, html = self.templates.render(row["kind"], locale, context)
            reply_to = context["shop"].get("contact_email") if row["recipient"] == "customer" else None
            message_id = mailer.message_id_for(str(row["notification_id"]), self.mail.mail_from)
            headers = [("X-Notification-Kind", row["kind"]), ("Content-Language", locale)]
            if context.get("order"):
                headers.append(("X-Order-Number", context["order"]["number"]))
            msg = mailer.build_message(mailer.Email(to, subject, text, html, reply_to, tuple(headers)),
                                       sender=self.mail.mail_from, message_id=message_id)
            self.smtp.send(msg)
        except (email_context.NotReady, smtplib.SMTPException, OSError, Exception) as exc:  # noqa: BLE001
            self._failed(conn, row, exc)
            return
        try:
            self._mark_sent(conn, str(row["notification_id"]), to, message_id)
        except psycopg.OperationalError:
            self.unmarked.append((str(row["notification_id"]), to, message_id))  # sent: mark it, never resend it
            raise
        self.sent += 1

    def mark_unmarked(self, conn: psycopg.Connection) -> None:
        """Mark what was sent while PostgreSQL was away (before anything can be claimed again)."""
        while self.unmarked:
            self._mark_sent(conn, *self.unmarked[0])
            self.unmarked.pop(0)

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
            "UPDATE notifications SET last_error = %s, failed_at = CASE WHEN %s THEN clock_timestamp() END, "
            "next_attempt_at = clock_timestamp() + make_interval(secs => %s) WHERE notification_id = %s",
            [error, give_up, delay, row["notification_id"]])


def main() -> None:
    from servicekit.worker import run_worker

    settings = ServiceSettings.from_env()
    logs.configure(SERVICE_NAME, settings.base.log_level)
    run_worker(Notifier(settings.base.database_url, MailSettings.from_env()), name=f"{SERVICE_NAME}.notifier")


if __name__ == "__main__":
    main()
