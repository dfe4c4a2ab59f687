"""What a Stripe answer means for a payment: succeeded, authorisation required, still processing, or failed
(with a code, a plain-words message and whether trying again later can help). Pure: no I/O.

Declines are soft (retryable: the bank may say yes later, e.g. insufficient funds) unless their decline code
is one of the hard ones below (the card is lost, stolen, expired, invalid, or the bank said never again).
A decline without a decline code (localstripe sends none) is a generic decline: soft. Authentication
required is never retried automatically: the customer has to authenticate. Errors on Stripe's side (429,
5xx, no connection) are transient; an invalid request (e.g. a card Stripe no longer knows) is not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SUCCEEDED, REQUIRES_ACTION, PROCESSING, FAILED = "succeeded", "requires_action", "processing", "failed"

# codes we produce ourselves (no Stripe call, or a Stripe answer summarised)
NO_CARD, NO_PERMISSION = "no_card", "no_permission"
AUTHENTICATION_FAILED = "authentication_failed"
STRIPE_UNAVAILABLE = "stripe_unavailable"  # 429 / 5xx / connection: the outcome of that call may be unknown
STRIPE_ERROR = "stripe_error"
CARD_DECLINED = "card_declined"
CANCELED = "canceled"

HARD_DECLINE_CODES = frozenset({
    "card_not_supported", "currency_not_supported", "do_not_try_again", "duplicate_transaction",
    "expired_card", "fraudulent", "incorrect_cvc", "incorrect_number", "incorrect_pin", "incorrect_zip",
    "invalid_account", "invalid_amount", "invalid_cvc", "invalid_expiry_month", "invalid_expiry_year",
    "invalid_number", "invalid_pin", "lost_card", "merchant_blacklist", "new_account_information_available",
    "not_permitted", "offline_pin_required", "online_or_offline_pin_required", "pickup_card", "pin_try_exceeded",
    "restricted_card", "revocation_of_all_authorizations", "revocation_of_authorization", "security_violation",
    "service_not_allowed", "stolen_card", "stop_payment_order", "testmode_decline", "transaction_not_allowed",
})
# card error codes (not decline codes) that mean "this card will not work as it is"
HARD_CARD_CODES = frozenset({
    "expired_card", "incorrect_cvc", "incorrect_number", "invalid_cvc", "invalid_expiry_month",
    "invalid_expiry_year", "invalid_number",
})
AUTHENTICATION_CODES = frozenset({"authentication_required", "authentication_not_handled"})

_SEIZED = ("Your bank declined the payment and asked us not to try this card again. "
           "Please save another card.")
MESSAGES = {
    "insufficient_funds": "Your bank declined the payment: there were not enough funds on the card.",
    "expired_card": "The card has expired, so the payment was not taken. Please save a new card.",
    "incorrect_cvc": "The card's security code is no longer valid. Please save the card again.",
    "invalid_cvc": "The card's security code is no longer valid. Please save the card again.",
    "incorrect_number": "The card number is no longer valid. Please save another card.",
    "invalid_number": "The card number is no longer valid. Please save another card.",
    "lost_card": _SEIZED, "stolen_card": _SEIZED, "pickup_card": _SEIZED, "fraudulent": _SEIZED,
    "restricted_card": _SEIZED, "security_violation": _SEIZED, "do_not_try_again": _SEIZED,
    "stop_payment_order": _SEIZED, "revocation_of_authorization": _SEIZED,
    "revocation_of_all_authorizations": _SEIZED,
    "card_not_supported": "This card cannot be used for this payment. Please save another card.",
    "currency_not_supported": "This card cannot be used for payments in this currency. Please save another card.",
    "processing_error": "The bank could not process the payment this time.",
    "try_again_later": "The bank could not process the payment this time.",
    CARD_DECLINED: "Your bank declined the payment.",
    AUTHENTICATION_FAILED: "The payment was not authorised: the bank's verification (3-D Secure) did not succeed.",
    "authentication_required": "Your bank asks you to confirm this payment (3-D Secure).",
    STRIPE_UNAVAILABLE: "The card payment service did not answer in time.",
    STRIPE_ERROR: "The card payment service refused the request; the shop has been told.",
    "payment_method_unavailable": "The saved card is no longer available. Please save a card again.",
    CANCELED: "The card payment was cancelled.",
    NO_CARD: "There is no default card saved for you, so the payment could not be taken.",
    NO_PERMISSION: "You have not allowed this shop to charge your card, so the payment could not be taken.",
}


def message_for(code: str, decline_code: str | None = None) -> str:
    return MESSAGES.get(decline_code or "") or MESSAGES.get(code) or MESSAGES[CARD_DECLINED]


@dataclass(frozen=True)
class StripeFailure:
    """A Stripe error, normalised by the adapter from ``stripe.StripeError``.

    kind: card | rate_limit | connection | api (5xx) | invalid_request | authentication | permission | idempotency
    """

    kind: str
    http_status: int | None = None
    code: str | None = None
    decline_code: str | None = None
    message: str | None = None
    payment_intent: dict[str, Any] | None = None  # error.payment_intent, when Stripe sends it
    charge_id: str | None = None

    @property
    def transient(self) -> bool:
        """Worth resending the same request (same idempotency key) after a pause."""
        return self.kind in ("rate_limit", "connection", "api") or (
            self.kind == "idempotency" and self.http_status == 409)  # a concurrent request with the same key


@dataclass(frozen=True)
class Outcome:
    kind: str  # succeeded | requires_action | processing | failed
    payment_intent_id: str | None = None
    charge_id: str | None = None
    code: str | None = None
    decline_code: str | None = None
    message: str | None = None
    retryable: bool = False
    payment_method_id: str | None = None  # the card a PaymentIntent charged (succeeded intents)

    @property
    def ambiguous(self) -> bool:
        """Failed without knowing whether Stripe acted: reconcile before another attempt."""
        return self.kind == FAILED and self.code == STRIPE_UNAVAILABLE


def failed(code: str, decline_code: str | None, retryable: bool, pi: str | None = None,
           message: str | None = None) -> Outcome:
    return Outcome(FAILED, payment_intent_id=pi, code=code, decline_code=decline_code,
                   message=message or message_for(code, decline_code), retryable=retryable)


def charge_id_of(intent: dict[str, Any]) -> str | None:
    """latest_charge is an id on the real API, an expanded object on localstripe."""
    latest = intent.get("latest_charge")
    if isinstance(latest, dict):
        return latest.get("id")
    return latest if isinstance(latest, str) else None


def _id_of(value: Any) -> str | None:
    """A Stripe reference: an id, or an expanded object's id."""
    if isinstance(value, dict):
        return value.get("id")
    return value if isinstance(value, str) else None


def classify_decline(code: str | None, decline_code: str | None, pi: str | None = None) -> Outcome:
    code = code or CARD_DECLINED
    if code in AUTHENTICATION_CODES or decline_code in AUTHENTICATION_CODES:
        return Outcome(REQUIRES_ACTION, payment_intent_id=pi, code="authentication_required")
    if code == "payment_intent_authentication_failure":
        return failed(AUTHENTICATION_FAILED, None, retryable=False, pi=pi)
    hard = code in HARD_CARD_CODES or (decline_code or "") in HARD_DECLINE_CODES
    return failed(code, decline_code, retryable=not hard, pi=pi)


def classify_intent(intent: dict[str, Any]) -> Outcome:
    """The outcome a PaymentIntent (from a response, a retrieve or a webhook) stands for."""
    pi = intent.get("id")
    status = intent.get("status")
    if status == "succeeded":
        return Outcome(SUCCEEDED, payment_intent_id=pi, charge_id=charge_id_of(intent),
                       payment_method_id=_id_of(intent.get("payment_method")))
    if status == "requires_action":
        return Outcome(REQUIRES_ACTION, payment_intent_id=pi)
    if status in ("processing", "requires_capture"):
        return Outcome(PROCESSING, payment_intent_id=pi)
    if status == "canceled":
        return failed(CANCELED, None, retryable=False, pi=pi)
    if status == "requires_payment_method":
        error = intent.get("last_payment_error") or {}
        return classify_decline(error.get("code"), error.get("decline_code"), pi)
    return failed(STRIPE_ERROR, None, retryable=True, pi=pi)  # requires_confirmation: not confirmed


def classify_failure(failure: StripeFailure) -> Outcome:
    """The outcome of a Stripe error that is final for this call (resends were already spent)."""
    pi = (failure.payment_intent or {}).get("id")
    if failure.kind == "card":
        if failure.payment_intent and failure.payment_intent.get("status") == "requires_action":
            return Outcome(REQUIRES_ACTION, payment_intent_id=pi)
        return classify_decline(failure.code, failure.decline_code, pi)
    if failure.transient:
        return failed(STRIPE_UNAVAILABLE, None, retryable=True, pi=pi)
    if failure.kind == "invalid_request" and failure.http_status == 404:
        return failed("payment_method_unavailable", None, retryable=False, pi=pi)
    if failure.kind in ("authentication", "permission", "idempotency"):
        # our side (a key, an account, a parameter clash): a later attempt, with a new key, may work
        return failed(STRIPE_ERROR, None, retryable=True, pi=pi)
    return failed(failure.code or STRIPE_ERROR, None, retryable=False, pi=pi, message=MESSAGES[STRIPE_ERROR])
