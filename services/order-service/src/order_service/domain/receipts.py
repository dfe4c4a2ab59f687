"""Receipts and invoices of paid orders. Pure: no I/O.

Every confirmed order that is paid (billing.events' PaymentSucceeded or PaymentMarkedPaid) gets one receipt: the
event ReceiptIssued, recorded once per order. In a shop that issues invoices (``invoices_enabled``) the receipt is
an invoice and carries the shop's next invoice number, which the caller takes from the shop's sequence only when
``receipt_due`` says a receipt is to be issued, so no number is taken for nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from order_service.domain.model import Order
from shared_events import Decided

PAID_EVENTS = ("PaymentSucceeded", "PaymentMarkedPaid")


@dataclass(frozen=True)
class Paid:
    """What billing said about the payment of an order."""

    payment_id: str
    amount: int
    paid_at: datetime


def receipt_due(order: Order, already_issued: bool) -> bool:
    """A confirmed order gets its receipt once: a redelivered or replayed payment, or a second one, gets none."""
    return order.status == "confirmed" and not already_issued


def receipt(order: Order, paid: Paid, invoice_number: int | None) -> list[Decided]:
    return [Decided("ReceiptIssued", {"number": order.number, "payment_id": paid.payment_id, "amount": paid.amount,
                                      "currency": order.currency, "paid_at": paid.paid_at,
                                      "invoice_number": invoice_number})]
