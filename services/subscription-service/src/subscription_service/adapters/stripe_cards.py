"""Stripe, through the official SDK, for saving customers' cards: the platform's own Stripe Customer of each
customer, the SetupIntents customers confirm in their browser, and what Stripe says of a saved payment method.

Configured like billing-service's gateway (``servicekit.config.StripeKeys``): localstripe locally and in tests,
api.stripe.com with a real key. The SDK's own retries are off (``max_network_retries=0``): localstripe ignores
Idempotency-Key, so a hidden resend could create a second Stripe Customer there. A Stripe error that says "no such
object" is an answer (None); another refusal is ``PeerRefused`` (502), any other failure ``Unavailable`` (503:
nothing was changed, try again).
"""

from __future__ import annotations

import logging
from typing import Any

import stripe

from servicekit.config import StripeKeys
from subscription_service.domain.customers import PaymentMethodFacts, SetupFacts
from subscription_service.domain.errors import PeerRefused, Unavailable

log = logging.getLogger("subscription_service.stripe")


def _id(value: Any) -> str | None:
    """An id whether Stripe answered it as a string or as an expanded object."""
    if value is None or isinstance(value, str):
        return value
    return getattr(value, "id", None)


class StripeCards:
    def __init__(self, keys: StripeKeys, timeout_s: float = 20.0) -> None:
        self.keys = keys
        client = stripe.StripeClient(
            keys.api_key,
            base_addresses={"api": keys.api_base} if keys.api_base else None,  # type: ignore[typeddict-item]
            max_network_retries=0,
            http_client=stripe.RequestsClient(timeout=timeout_s),
        )
        self.v1 = client.v1

    def _call(self, operation: str, send: Any, *, missing_is_none: bool = False) -> Any:
        try:
            return send()
        except stripe.InvalidRequestError as exc:
            if missing_is_none and (exc.code == "resource_missing" or exc.http_status in (400, 404)):
                return None
            log.warning("stripe refused a request", extra={"operation": operation, "http_status": exc.http_status,
                                                           "code": exc.code})
            raise PeerRefused("Stripe refused the request; nothing was changed.") from None
        except stripe.StripeError as exc:
            log.warning("stripe failed", extra={"operation": operation, "http_status": exc.http_status,
                                                "kind": type(exc).__name__})
            raise Unavailable("Stripe did not answer; nothing was changed. Try again in a moment.") from None

    def create_customer(self, customer_id: str, shop_id: str, email: str) -> str:
        params: Any = {"email": email, "metadata": {"customer_id": customer_id, "shop_id": shop_id}}
        options: Any = {"idempotency_key": f"customer-{customer_id}"}
        return str(self._call("create_customer", lambda: self.v1.customers.create(params, options)).id)

    def create_setup_intent(self, stripe_customer_id: str, customer_id: str, shop_id: str) -> tuple[str, str]:
        """A SetupIntent for an off-session card on the customer's Stripe Customer: (id, client secret)."""
        params: Any = {"customer": stripe_customer_id, "usage": "off_session", "payment_method_types": ["card"],
                       "metadata": {"customer_id": customer_id, "shop_id": shop_id}}
        seti = self._call("create_setup_intent", lambda: self.v1.setup_intents.create(params))
        return str(seti.id), str(seti.client_secret)

    def setup_intent(self, setup_intent_id: str) -> SetupFacts | None:
        seti = self._call("retrieve_setup_intent", lambda: self.v1.setup_intents.retrieve(setup_intent_id),
                          missing_is_none=True)
        if seti is None or getattr(seti, "id", None) != setup_intent_id:
            return None
        return SetupFacts(seti.id, str(seti.status), _id(seti.customer), _id(seti.payment_method))

    def payment_method(self, payment_method_id: str) -> PaymentMethodFacts | None:
        pm = self._call("retrieve_payment_method", lambda: self.v1.payment_methods.retrieve(payment_method_id),
                        missing_is_none=True)
        return _facts(pm) if pm is not None else None

    def attach(self, payment_method_id: str, stripe_customer_id: str) -> PaymentMethodFacts:
        """Attach a payment method to our Stripe Customer (the real API does it when the SetupIntent is
        confirmed; localstripe does not)."""
        params: Any = {"customer": stripe_customer_id}
        return _facts(self._call("attach_payment_method",
                                 lambda: self.v1.payment_methods.attach(payment_method_id, params)))


def _facts(pm: Any) -> PaymentMethodFacts:
    card = getattr(pm, "card", None)

    def of_card(name: str) -> Any:
        return getattr(card, name, None) if card is not None else None

    def number(name: str) -> int | None:
        value = of_card(name)
        return int(value) if value not in (None, "") else None

    last4 = of_card("last4")
    return PaymentMethodFacts(pm.id, _id(getattr(pm, "customer", None)), of_card("brand"),
                              str(last4) if last4 else None, number("exp_month"), number("exp_year"))
