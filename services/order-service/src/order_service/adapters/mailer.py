"""Emails: rendering a notification with its Jinja2 templates (English or French, the shop's language)
and handing it to an SMTP server.

Every template ``templates/<locale>/<kind>.j2`` defines three blocks: ``subject``, ``text`` (the plain
part) and ``html``; the ``_*.j2`` files are pieces they include (the order's lines and totals, the
contact line, the HTML frame). The Message-ID is derived from the notification id, so a resend after a crash
carries the same id and mail clients can tell it is the same message.
"""

from __future__ import annotations

import email.policy
import html
import smtplib
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from order_service.adapters import formatting
from order_service.adapters.reasons import failure_reason, missed_reason

LOCALES = ("en", "fr")


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    text: str
    html: str
    reply_to: str | None = None
    headers: tuple[tuple[str, str], ...] = ()


class Templates:
    def __init__(self) -> None:
        self.env = Environment(loader=PackageLoader("order_service", "templates"), autoescape=True,
                               undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                               keep_trailing_newline=True)

    def render(self, kind: str, locale: str, context: dict[str, Any]) -> tuple[str, str, str]:
        """(subject, text, html) of a notification kind in a language."""
        lang = locale if locale in LOCALES else "en"
        shop = context.get("shop") or {}
        tz = shop.get("timezone") or "UTC"
        currency = (context.get("order") or {}).get("currency") or shop.get("currency") or "EUR"
        def money(amount: int | None, cur: str | None = None) -> str:
            return formatting.money(amount, cur or currency, lang)

        def when(at: Any) -> str:
            return formatting.when(at, tz, lang)

        def reason(payload: dict[str, Any]) -> str:
            return failure_reason(payload, lang)

        def missed(code: str) -> str:
            return missed_reason(code, lang)

        helpers = {"money": money, "when": when, "reason": reason, "missed_reason": missed}
        template = self.env.get_template(f"{lang}/{kind}.j2")
        ctx = template.new_context({**context, **helpers})

        def block(name: str) -> str:
            return "".join(template.blocks[name](ctx))

        subject = " ".join(html.unescape(block("subject")).split())
        text = html.unescape(block("text")).strip() + "\n"
        return subject, text, block("html").strip() + "\n"


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


def message_id_for(notification_id: str, sender: str) -> str:
    domain = parseaddr(sender)[1].rpartition("@")[2] or "order-service.local"
    return f"<{notification_id}@{domain}>"


class Smtp:
    """One SMTP connection, opened on first use and reopened after an error."""

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self._client: smtplib.SMTP | None = None

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
