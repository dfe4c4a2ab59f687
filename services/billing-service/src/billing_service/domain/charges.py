"""What the charger sends to Stripe, and how it reads what Stripe already holds after a crash. Pure: no I/O."""

from __future__ import annotations

from typing import Any

from billing_service.domain import outcomes as oc
from billing_service.domain.model import Attempt, CardOnFile, Payment


def charge_params(payment: Payment, attempt: Attempt, card: CardOnFile) -> dict[str, Any]:
    """An off-session PaymentIntent on the customer's saved card, confirmed at once, amount in minor units.

    The metadata names the order, the shop and the attempt: it is how a crashed attempt is found again.
    Only parameters both the real API and localstripe accept (no description, no automatic_payment_methods).
    """
    return {
        "amount": attempt.amount,
        "currency": payment.currency.lower(),
        "customer": card.stripe_customer_id,
        "payment_method": card.payment_method_id,
        "off_session": True,
        "confirm": True,
        "payment_method_types": ["card"],
        "metadata": {
            "payment_id": payment.payment_id,
            "order_id": payment.order_id,
            "order_number": payment.order_number or "",
            "shop_id": payment.shop_id,
            "attempt": str(attempt.attempt),
            "attempt_key": attempt.idempotency_key,
        },
    }


def _attempt_of(intent: dict[str, Any]) -> int | None:
    try:
        return int((intent.get("metadata") or {}).get("attempt", ""))
    except ValueError:
        return None


def reconcile(intents: list[dict[str, Any]], attempt_key: str) -> tuple[int, oc.Outcome] | None:
    """Given every PaymentIntent Stripe holds for a payment, what is already true before charging again.

    - an intent that succeeded (of any attempt): the payment is paid; never charge again;
    - an intent still processing (of any attempt): wait for it;
    - an intent of this attempt (its idempotency key): its outcome is this attempt's outcome;
    - nothing: Stripe never acted on this attempt; calling (again, with the same key) is safe.
    """
    ranked = sorted(intents, key=lambda i: i.get("created") or 0)
    for wanted in (oc.SUCCEEDED, oc.PROCESSING):
        for intent in ranked:
            outcome = oc.classify_intent(intent)
            attempt = _attempt_of(intent)
            if outcome.kind == wanted and attempt is not None:
                return attempt, outcome
    mine = [i for i in ranked if (i.get("metadata") or {}).get("attempt_key") == attempt_key]
    if mine:
        intent = mine[-1]
        return _attempt_of(intent) or 0, oc.classify_intent(intent)
    return None
