"""Emails: rendering a notification with its Jinja2 templates (English or French, the shop's language)
and handing it to an SMTP server (servicekit.mail: the message shape and the connection every service shares).

Every template ``templates/<locale>/<kind>.j2`` defines three blocks: ``subject``, ``text`` (the plain
part) and ``html``; the ``_*.j2`` files are pieces they include (the order's lines and totals, the
contact line, the HTML frame). The Message-ID is derived from the notification id, so a resend after a crash
carries the same id and mail clients can tell it is the same message.
"""

from __future__ import annotations

import html
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from order_service.adapters import formatting
from order_service.adapters.reasons import failure_reason, missed_reason
from servicekit.mail import Email, Smtp, build_message, message_id_for

__all__ = ["LOCALES", "Email", "Smtp", "Templates", "build_message", "message_id_for"]

LOCALES = ("en", "fr")


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

        def day(on: str | None) -> str:
            return formatting.day(on, lang)

        def percent(basis_points: int) -> str:
            return formatting.percent(basis_points, lang)

        def reason(payload: dict[str, Any]) -> str:
            return failure_reason(payload, lang)

        def missed(code: str) -> str:
            return missed_reason(code, lang)

        helpers = {"money": money, "when": when, "day": day, "reason": reason, "missed_reason": missed,
                   "percent": percent}
        template = self.env.get_template(f"{lang}/{kind}.j2")
        ctx = template.new_context({**context, **helpers})

        def block(name: str) -> str:
            return "".join(template.blocks[name](ctx))

        subject = " ".join(html.unescape(block("subject")).split())
        text = html.unescape(block("text")).strip() + "\n"
        return subject, text, block("html").strip() + "\n"
