"""Sending email over SMTP, the same way for every service: one message shape (a plain and an HTML part), one
header policy, one connection that reopens after an error, one set of settings (``SMTP_HOST``, ``SMTP_PORT``,
``MAIL_FROM``, ``SMTP_TIMEOUT_S``). What a message says (templates, languages) stays with the service that sends it.
"""

from __future__ import annotations

import email.policy
import smtplib
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from servicekit.config import env, env_int

DEFAULT_FROM = "Recurring orders <orders@recurring-orders.example>"


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    mail_from: str
    timeout_s: float

    @classmethod
    def from_env(cls) -> SmtpSettings:
        return cls(host=env("SMTP_HOST", "127.0.0.1") or "127.0.0.1", port=env_int("SMTP_PORT", 1025),
                   mail_from=env("MAIL_FROM", DEFAULT_FROM) or DEFAULT_FROM,
                   timeout_s=float(env("SMTP_TIMEOUT_S", "10") or 10))


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    text: str
    html: str
    reply_to: str | None = None
    headers: tuple[tuple[str, str], ...] = ()


# Headers are not folded below RFC 5322's hard limit: Python folds a long all-ASCII subject right after
# "Subject:", and readers then see it with a leading space.
POLICY = email.policy.default.clone(max_line_length=998)


def build_message(mail: Email, *, sender: str, message_id: str, when: datetime | None = None) -> EmailMessage:
    msg = EmailMessage(policy=POLICY)
    msg["From"] = sender
    msg["To"] = mail.to
    msg["Subject"] = mail.subject
    msg["Message-ID"] = message_id
    msg["Date"] = format_datetime(when or datetime.now(UTC))
    if mail.reply_to:
        msg["Reply-To"] = mail.reply_to
    for name, value in mail.headers:
        msg[name] = value
    msg.set_content(mail.text)
    msg.add_alternative(mail.html, subtype="html")
    return msg


def message_id_for(unique_id: str, sender: str, fallback_domain: str = "order-service.local") -> str:
    """A Message-ID derived from an id of ours: a resend after a crash carries the same id."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or fallback_domain
    return f"<{unique_id}@{domain}>"


class Smtp:
    """One SMTP connection, opened on first use and reopened after an error."""

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self._client: smtplib.SMTP | None = None

    @classmethod
    def from_settings(cls, s: SmtpSettings) -> Smtp:
        return cls(s.host, s.port, s.timeout_s)

    def send(self, msg: EmailMessage) -> None:
        if self._client is None:
            self._client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            self._client.send_message(msg)
        except (smtplib.SMTPServerDisconnected, OSError):
            self.close()
            raise

    def close(self) -> None:
        if self._client is not None:
            try:
                self._client.quit()
            except (smtplib.SMTPException, OSError):
                pass
            self._client = None
