"""Receipts and invoices (issue 25): issued when billing tells an order is paid, read as a PDF by the API (the
customer of the order, the shop's managers) and attached to the email telling the customer it is paid when the shop
asks for it (``attach_invoice_to_email``). One document, one way to make it: ``pdf``."""

from __future__ import annotations

from typing import Any

import psycopg

from order_service.adapters import receipt_pdf, repository
from order_service.domain import receipts
from order_service.domain.model import SYSTEM_ACTOR
from order_service.service_layer import recording
from servicekit.mail import Attachment
from shared_events import Envelope

# the emails that tell the customer their order is paid: a card payment's confirmation, a cash payment received
TELLS_PAID = ("order_confirmed", "order_paid")


def issue(conn: psycopg.Connection, env: Envelope) -> list[Envelope]:
    """PaymentSucceeded / PaymentMarkedPaid -> ReceiptIssued (with the shop's next invoice number when it issues
    invoices), once per order, in the consumer's transaction. The order's row is locked first, then the shop's
    sequence: concurrent payments of one shop take their numbers in turn, and a redelivered, replayed or second
    payment finds the receipt issued and takes no number."""
    found = repository.order_for_receipt(conn, env.payload["order_id"])
    if found is None:
        return []
    order, issued, invoices = found
    if not receipts.receipt_due(order, issued):
        return []
    number = repository.next_invoice_number(conn, order.shop_id) if invoices else None
    paid = receipts.Paid(env.payload["payment_id"], int(env.payload["amount"]), env.occurred_at)
    return recording.record(conn, order, receipts.receipt(order, paid, number), occurred_at=env.occurred_at,
                            actor=SYSTEM_ACTOR, cause=env)


def pdf(conn: psycopg.Connection, shop_id: str, order_id: str, locale: str | None = None) -> tuple[str, bytes] | None:
    """The order's receipt (or invoice) as (file name, PDF), in ``locale``, else the customer's language, else the
    shop's; None when the shop has no such paid order."""
    doc = repository.receipt_document(conn, shop_id, order_id)
    if doc is None:
        return None
    lang = locale or (doc["customer"] or {}).get("locale") or doc["shop"].get("locale") or "en"
    return receipt_pdf.file_name(doc, lang), receipt_pdf.render(doc, lang)


def emails_receipts(conn: psycopg.Connection, shop_id: str) -> bool:
    """Whether the shop has its receipts emailed (``attach_invoice_to_email``)."""
    shop = repository.shop(conn, shop_id)
    return bool(shop and shop.get("attach_invoice_to_email"))


def attachments(conn: psycopg.Connection, notification: dict[str, Any], locale: str) -> tuple[Attachment, ...]:
    """The receipt's PDF for the email telling the customer their order is paid, when the shop attaches it
    (``attach_invoice_to_email``); nothing for any other email."""
    if notification["kind"] not in TELLS_PAID or not (notification.get("payload") or {}).get("paid"):
        return ()
    if not emails_receipts(conn, notification["shop_id"]) or notification.get("order_id") is None:
        return ()
    made = pdf(conn, notification["shop_id"], str(notification["order_id"]), locale)
    return (Attachment(made[0], "application/pdf", made[1]),) if made else ()
