"""The Payment aggregate's state and the facts billing decides from. Pure: no I/O.

A Payment belongs to one order. Its status moves forward only:

    pending (cash) ─────────────────────────────────────────────▶ paid ──▶ refunded
    pending (stripe) ─▶ processing ─▶ succeeded ──────────────────────────▶ refunded
                            │  ▲  ├──▶ requires_action ─▶ succeeded | failed
                            ▼  │  └──▶ failed ─(retry: a new attempt)─▶ processing
                          failed (final) ─▶ paid (a manager, by other means)

Every try to charge is a numbered attempt with its own Stripe idempotency key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shared_events.contracts.shops import DEFAULT_RETRY_DELAYS_HOURS, DEFAULT_RETRY_MAX_ATTEMPTS

PENDING, PROCESSING, REQUIRES_ACTION, FAILED = "pending", "processing", "requires_action", "failed"
SUCCEEDED, PAID, REFUNDED = "succeeded", "paid", "refunded"
COLLECTED = (SUCCEEDED, PAID, REFUNDED)  # money was received: no charge outcome may change that

ATTEMPT_STARTED, ATTEMPT_REQUIRES_ACTION = "started", "requires_action"
ATTEMPT_SUCCEEDED, ATTEMPT_FAILED, ATTEMPT_CANCELED = "succeeded", "failed", "canceled"
OPEN_ATTEMPT = (ATTEMPT_STARTED, ATTEMPT_REQUIRES_ACTION)

SYSTEM_ACTOR = {"type": "system", "id": "billing-service"}
MANUAL_RETRY_CAP = 20  # attempts, however often a manager presses "retry now"


def idempotency_key(order_id: str, attempt: int) -> str:
    """The Stripe idempotency key of an attempt: derived from it, so every resend of it is recognised."""
    return f"order-{order_id}-attempt-{attempt}"


@dataclass(frozen=True)
class RetryPolicy:
    """When to try again after a soft decline or a transient error: ``delays_hours[n-1]`` after attempt n
    failed (the last delay repeats), at most ``max_attempts`` attempts in all."""

    delays_hours: tuple[int, ...]
    max_attempts: int

    def next_attempt_at(self, failed_attempt: int, failed_at: datetime) -> datetime | None:
        if failed_attempt >= self.max_attempts or not self.delays_hours:
            return None
        delay = self.delays_hours[min(failed_attempt, len(self.delays_hours)) - 1]
        return failed_at + timedelta(hours=delay)


# A shop whose events name no policy: the platform's one default (shared_events.contracts.shops).
DEFAULT_RETRY_POLICY = RetryPolicy(delays_hours=DEFAULT_RETRY_DELAYS_HOURS, max_attempts=DEFAULT_RETRY_MAX_ATTEMPTS)


@dataclass(frozen=True)
class ShopTerms:
    shop_id: str
    name: str | None
    currency: str | None
    stripe_account_id: str | None
    retry: RetryPolicy = DEFAULT_RETRY_POLICY


@dataclass(frozen=True)
class CardOnFile:
    """What billing knows of a customer's card and permission (from customers.events)."""

    customer_id: str
    stripe_customer_id: str | None
    payment_method_id: str | None
    charges_allowed: bool
    allowed_payment_method_id: str | None
    deleted: bool = False


@dataclass(frozen=True)
class CardLabel:
    """How a receipt names a card: its brand and last four digits (from customers.events)."""

    brand: str | None
    last4: str | None


@dataclass(frozen=True)
class Attempt:
    attempt: int
    idempotency_key: str
    amount: int
    status: str
    stripe_payment_intent_id: str | None = None
    code: str | None = None


@dataclass(frozen=True)
class Payment:
    payment_id: str
    order_id: str
    shop_id: str
    customer_id: str
    method: str
    amount: int
    currency: str
    status: str
    version: int
    attempts: int = 0
    final: bool | None = None
    next_attempt_at: datetime | None = None
    collected_amount: int = 0
    collected_by: str | None = None  # stripe | manual
    amount_refunded: int = 0
    stripe_payment_intent_id: str | None = None
    order_number: str | None = None
    created_at: datetime | None = None
    history: tuple[Attempt, ...] = field(default_factory=tuple)

    def ids(self) -> dict[str, str]:
        return {"payment_id": self.payment_id, "order_id": self.order_id, "shop_id": self.shop_id,
                "customer_id": self.customer_id}

    def attempt(self, n: int) -> Attempt | None:
        return next((a for a in self.history if a.attempt == n), None)

    @property
    def refundable(self) -> int:
        return self.collected_amount - self.amount_refunded


@dataclass(frozen=True)
class PaymentRequest:
    """orders.events PaymentRequested, as billing reads it."""

    order_id: str
    shop_id: str
    customer_id: str
    number: str
    amount: int
    currency: str
    payment_kind: str

