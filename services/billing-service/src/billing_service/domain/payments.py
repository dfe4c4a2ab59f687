"""Decisions on a Payment: state + command or Stripe outcome -> events (type, payload). Pure: no I/O.

The service layer loads the state (locked), calls one of these, applies the events to the projection with the
same ``apply`` a replay uses and stores them in the outbox, all in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from billing_service.domain import outcomes as oc
from billing_service.domain.errors import PaymentStateError, RefundRefused
from billing_service.domain.model import (
    ATTEMPT_FAILED,
    ATTEMPT_REQUIRES_ACTION,
    COLLECTED,
    FAILED,
    MANUAL_RETRY_CAP,
    OPEN_ATTEMPT,
    PAID,
    PENDING,
    PROCESSING,
    REFUNDED,
    REQUIRES_ACTION,
    SUCCEEDED,
    SYSTEM_ACTOR,
    Attempt,
    CardLabel,
    CardOnFile,
    Payment,
    PaymentRequest,
    RetryPolicy,
    idempotency_key,
)
from shared_events import Decided


def _base(payment: Payment, actor: dict | None = None, reason: str | None = None) -> dict:
    return {**payment.ids(), "actor": actor or SYSTEM_ACTOR, "reason": reason}


# -- opening ------------------------------------------------------------------------------------------------------


def open_payment(request: PaymentRequest, payment_id: str) -> list[Decided]:
    """One Payment per order: cash waits for a manager; stripe starts attempt 1 at once (the charger calls
    Stripe only after this is committed)."""
    ids = {"payment_id": payment_id, "order_id": request.order_id, "shop_id": request.shop_id,
           "customer_id": request.customer_id}
    events: list[Decided] = [Decided("PaymentPending", {
        **ids, "amount": request.amount, "currency": request.currency, "method": request.payment_kind,
        "order_number": request.number, "actor": SYSTEM_ACTOR, "reason": None})]
    if request.payment_kind == "stripe":
        events.append(Decided("PaymentAttemptStarted", {
            **ids, "attempt": 1, "idempotency_key": idempotency_key(request.order_id, 1), "amount": request.amount,
            "actor": SYSTEM_ACTOR, "reason": None}))
    return events


def precheck(card: CardOnFile | None) -> str | None:
    """Why the card may not be charged (no_card / no_permission), or None. Checked right before each call."""
    if card is None or card.deleted or not card.stripe_customer_id or not card.payment_method_id:
        return oc.NO_CARD
    if not card.charges_allowed or card.allowed_payment_method_id != card.payment_method_id:
        return oc.NO_PERMISSION
    return None


# -- attempts and their outcomes ---------------------------------------------------------------------------------


def start_attempt(payment: Payment, actor: dict | None = None, reason: str | None = None) -> Decided:
    n = payment.attempts + 1
    return Decided("PaymentAttemptStarted", {**_base(payment, actor, reason), "attempt": n,
                                             "idempotency_key": idempotency_key(payment.order_id, n),
                                             "amount": payment.amount})


def accepts(payment: Payment, attempt: Attempt | None, outcome: oc.Outcome) -> bool:
    """Whether an outcome still changes anything: outcomes never move a payment backwards.

    Money received (succeeded, paid, refunded) is final for charge outcomes; an attempt's outcome is recorded
    once (a late success of an attempt recorded as failed is still recorded: the money moved).
    """
    if attempt is None or payment.status in COLLECTED or outcome.kind == oc.PROCESSING:
        return False
    if attempt.status in OPEN_ATTEMPT:
        return not (outcome.kind == oc.REQUIRES_ACTION and attempt.status == ATTEMPT_REQUIRES_ACTION)
    return attempt.status == ATTEMPT_FAILED and outcome.kind == oc.SUCCEEDED


def record_outcome(payment: Payment, attempt_no: int, outcome: oc.Outcome, policy: RetryPolicy, now: datetime,
                   authorization_url: Callable[[int], str], card: CardLabel | None = None) -> list[Decided]:
    """Events for what Stripe answered for one attempt (empty when it changes nothing). ``card``: the card the
    charge used, named on the customer's receipt."""
    attempt = payment.attempt(attempt_no)
    if not accepts(payment, attempt, outcome):
        return []
    assert attempt is not None
    base = {**_base(payment), "attempt": attempt_no}
    if outcome.kind == oc.SUCCEEDED:
        return [Decided("PaymentSucceeded", {**base, "amount": attempt.amount, "currency": payment.currency,
                                             "stripe_payment_intent_id": outcome.payment_intent_id,
                                             "stripe_charge_id": outcome.charge_id,
                                             "card_brand": card.brand if card else None,
                                             "card_last4": card.last4 if card else None})]
    if outcome.kind == oc.REQUIRES_ACTION:
        if not outcome.payment_intent_id:  # nothing the customer could authorise
            return record_outcome(payment, attempt_no, oc.failed("authentication_required", None, False), policy,
                                  now, authorization_url)
        return [Decided("PaymentAuthorizationRequired", {
            **base, "amount": attempt.amount, "currency": payment.currency,
            "stripe_payment_intent_id": outcome.payment_intent_id,
            "authorization_url": authorization_url(attempt_no)})]
    next_at = policy.next_attempt_at(attempt_no, now) if outcome.retryable else None
    code = outcome.code or oc.CARD_DECLINED
    intent = outcome.payment_intent_id or attempt.stripe_payment_intent_id
    return [Decided("PaymentFailed", {**base, "code": code, "decline_code": outcome.decline_code,
                                      "message": outcome.message or oc.message_for(code),
                                      "retryable": outcome.retryable, "final": next_at is None,
                                      "next_attempt_at": next_at,
                                      "stripe_payment_intent_id": intent})]


def refuse_before_call(payment: Payment, attempt_no: int, code: str, now: datetime) -> list[Decided]:
    """No Stripe call: no card, or no permission. Final (a manager can retry once the customer fixed it)."""
    return record_outcome(payment, attempt_no, oc.failed(code, None, retryable=False), _NO_RETRY, now,
                          lambda _n: "")


_NO_RETRY = RetryPolicy(delays_hours=(), max_attempts=1)


def retry_is_due(payment: Payment, now: datetime) -> bool:
    return (payment.status == FAILED and payment.final is False and payment.next_attempt_at is not None
            and payment.next_attempt_at <= now)


def scheduled_retry(payment: Payment, now: datetime) -> list[Decided]:
    return [start_attempt(payment)] if retry_is_due(payment, now) else []


# -- manager commands --------------------------------------------------------------------------------------------


def retry_now(payment: Payment, actor: dict, reason: str | None) -> list[Decided]:
    """A manager asks for another attempt at once (after the customer fixed their card, say)."""
    if payment.method != "stripe":
        raise PaymentStateError("Only card payments can be charged again; mark a cash payment paid instead.")
    if payment.status != FAILED:
        raise PaymentStateError(f"The payment is {payment.status}: only a failed payment can be retried.")
    if payment.attempts >= MANUAL_RETRY_CAP:
        raise PaymentStateError(f"The payment was already tried {payment.attempts} times.")
    return [start_attempt(payment, actor, reason)]


def mark_paid(payment: Payment, note: str | None, actor: dict, reason: str | None) -> list[Decided]:
    """Paid by other means (cash collected, bank transfer...). Refused while a card charge may still land."""
    if payment.status in COLLECTED:
        raise PaymentStateError(f"The payment is already {payment.status}.")
    if payment.status == PROCESSING:
        raise PaymentStateError("A card charge is in progress; try again in a moment.")
    if payment.status not in (PENDING, FAILED, REQUIRES_ACTION):
        raise PaymentStateError(f"The payment is {payment.status}.")
    return [Decided("PaymentMarkedPaid", {**_base(payment, actor, reason), "amount": payment.amount, "note": note})]


def refund_amount(payment: Payment, requested: int | None, pending: int) -> int:
    """The amount to refund: never more than was collected minus what was refunded or is being refunded."""
    if payment.status not in (SUCCEEDED, PAID, REFUNDED):
        raise PaymentStateError(f"The payment is {payment.status}: nothing was collected, nothing can be refunded.")
    remaining = payment.refundable - pending
    if remaining <= 0:
        raise RefundRefused("Everything collected was already refunded.", 0)
    amount = remaining if requested is None else requested
    if amount < 1:
        raise RefundRefused("A refund must be at least 1 (minor unit).", remaining)
    if amount > remaining:
        raise RefundRefused(f"At most {remaining} can still be refunded.", remaining)
    return amount


def refunded(payment: Payment, refund_id: str, amount: int, stripe_refund_id: str | None, actor: dict,
             reason: str | None) -> Decided:
    total = payment.amount_refunded + amount
    if total > payment.collected_amount:  # the invariant, whatever the caller checked
        raise RefundRefused(f"At most {payment.refundable} can still be refunded.", payment.refundable)
    return Decided("PaymentRefunded", {**_base(payment, actor, reason), "refund_id": refund_id, "amount": amount,
                                       "total_refunded": total, "currency": payment.currency,
                                       "stripe_refund_id": stripe_refund_id})


STATUSES = (PENDING, PROCESSING, REQUIRES_ACTION, FAILED, SUCCEEDED, PAID, REFUNDED)
