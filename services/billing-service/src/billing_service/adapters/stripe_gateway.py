"""Stripe, through the official SDK (``StripeClient``), paced by the client-side rate limiter.

- The base address is configuration: localstripe locally and in tests, api.stripe.com with a real key.
- The SDK's own retries are off (``max_network_retries=0``): localstripe ignores Idempotency-Key, so a hidden
  resend could charge twice there. We resend ourselves, only after 429 / 5xx / connection errors, with
  backoff and jitter and the SAME idempotency key (Stripe then replays the first answer).
- Every answer comes back as a plain dict; every error as ``StripeCallFailed`` carrying a ``StripeFailure``
  (no key, no secret, only Stripe's code and its customer-safe message).
- ``flavour`` covers what localstripe lacks: it cannot list payment intents by customer (we list the
  customer's charges and read their intents), and 3-D Secure is completed through its private
  ``_authenticate`` route instead of Stripe.js.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import Any

import stripe

from billing_service import metrics
from billing_service.adapters.ratelimit import RateLimiter, backoff_delay
from billing_service.config import StripeSettings
from billing_service.domain.outcomes import StripeFailure

log = logging.getLogger("billing_service.stripe")

_KINDS: list[tuple[type[Exception], str]] = [
    (stripe.CardError, "card"),
    (stripe.RateLimitError, "rate_limit"),
    (stripe.APIConnectionError, "connection"),
    (stripe.IdempotencyError, "idempotency"),
    (stripe.InvalidRequestError, "invalid_request"),
    (stripe.AuthenticationError, "authentication"),
    (stripe.PermissionError, "permission"),
]


class StripeCallFailed(Exception):
    """Stripe answered with an error (after any resends)."""

    def __init__(self, failure: StripeFailure) -> None:
        super().__init__(f"{failure.kind} {failure.http_status} {failure.code or ''}".strip())
        self.failure = failure


def plain(obj: Any) -> Any:
    """A StripeObject (not a dict since SDK 16) as plain dicts and lists."""
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    return obj


def normalise(exc: stripe.StripeError) -> StripeFailure:
    kind = next((k for cls, k in _KINDS if isinstance(exc, cls)), None)
    status = exc.http_status
    if kind is None:  # APIError and the like: Stripe's side, unless the peer said "no such route"
        kind = "api" if status is None or status >= 500 else "invalid_request"
    err = exc.error
    intent = getattr(err, "payment_intent", None) if err is not None else None
    charge = getattr(err, "charge", None) if err is not None else None
    return StripeFailure(
        kind=kind,
        http_status=status,
        code=exc.code,
        decline_code=getattr(err, "decline_code", None) if err is not None else None,
        message=exc.user_message if isinstance(exc.user_message, str) else None,
        payment_intent=plain(intent) if intent is not None else None,
        charge_id=charge if isinstance(charge, str) else getattr(charge, "id", None),
    )


class StripeGateway:
    def __init__(self, settings: StripeSettings, limiter: RateLimiter, *,
                 sleep: Callable[[float], None] = time.sleep, rand: Callable[[], float] = random.random) -> None:
        self.settings = settings
        self.limiter = limiter
        self.sleep = sleep
        self.rand = rand
        self.flavour = settings.flavour
        self.client = stripe.StripeClient(
            settings.api_key,
            base_addresses={"api": settings.api_base} if settings.api_base else None,  # type: ignore[typeddict-item]
            max_network_retries=0,
            http_client=stripe.RequestsClient(timeout=settings.timeout_s),
        )
        self.v1 = self.client.v1

    # -- the one way a request goes out ---------------------------------------------------------------------

    def call(self, operation: str, send: Callable[[], Any], before_send: Callable[[], None] | None = None) -> Any:
        """Send through the limiter; resend after transient errors (same request, same idempotency key).
        ``before_send`` runs for every send, once its slot is granted and right before the request leaves."""
        for retry in range(self.settings.max_retries + 1):
            metrics.STRIPE_LIMITER_WAIT.inc(self.limiter.acquire())
            if before_send:
                before_send()
            try:
                result = plain(send())
            except stripe.StripeError as exc:
                failure = normalise(exc)
                metrics.STRIPE_REQUESTS.labels(operation, failure.kind).inc()
                headers = exc.headers or {}
                if (not failure.transient or retry >= self.settings.max_retries
                        or str(headers.get("stripe-should-retry", "")).lower() == "false"):
                    raise StripeCallFailed(failure) from None
                delay = backoff_delay(retry, rand=self.rand)
                if failure.kind == "rate_limit":
                    self.limiter.hold_off(delay)  # every sender waits, not only this one
                log.warning("stripe request will be resent", extra={
                    "operation": operation, "kind": failure.kind, "http_status": failure.http_status,
                    "retry": retry + 1, "delay_s": round(delay, 3)})
                self.sleep(delay)
                continue
            metrics.STRIPE_REQUESTS.labels(operation, "ok").inc()
            return result
        raise AssertionError("unreachable")

    @staticmethod
    def _options(stripe_account: str | None, idempotency_key: str | None = None) -> Any:
        options: dict[str, Any] = {}
        if stripe_account:
            options["stripe_account"] = stripe_account
        if idempotency_key:
            options["idempotency_key"] = idempotency_key
        return options

    # -- payment intents --------------------------------------------------------------------------------------

    def create_payment_intent(self, params: Any, idempotency_key: str, stripe_account: str | None,
                              before_send: Callable[[], None] | None = None) -> dict[str, Any]:
        options = self._options(stripe_account, idempotency_key)
        return self.call("create_payment_intent", lambda: self.v1.payment_intents.create(params, options),
                         before_send)

    def retrieve_payment_intent(self, intent_id: str, stripe_account: str | None) -> dict[str, Any]:
        options = self._options(stripe_account)
        return self.call("retrieve_payment_intent", lambda: self.v1.payment_intents.retrieve(intent_id, None, options))

    def cancel_payment_intent(self, intent_id: str, stripe_account: str | None) -> dict[str, Any]:
        options = self._options(stripe_account, f"cancel-{intent_id}")
        return self.call("cancel_payment_intent", lambda: self.v1.payment_intents.cancel(intent_id, None, options))

    def retrieve_charge(self, charge_id: str, stripe_account: str | None) -> dict[str, Any]:
        options = self._options(stripe_account)
        return self.call("retrieve_charge", lambda: self.v1.charges.retrieve(charge_id, None, options))

    def _list(self, operation: str, resource: Any, params: dict[str, Any], options: Any,
              limit_pages: int = 50) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        params = {**params, "limit": 100}
        for _ in range(limit_pages):
            page = self.call(operation, lambda p=dict(params): resource.list(p, options))  # type: ignore[misc]
            data = page.get("data") or []
            out += data
            if not page.get("has_more") or not data:
                break
            params["starting_after"] = data[-1]["id"]
        return out

    def find_payment_intents(self, stripe_customer_id: str, payment_id: str, created_since: int,
                             stripe_account: str | None) -> list[dict[str, Any]]:
        """Every PaymentIntent made for ``payment_id`` (by its metadata) for this customer since a time.

        The real API lists intents by customer (strongly consistent, unlike search). localstripe cannot: we
        list the customer's charges and read their intents, which finds every intent that charged or declined
        (an intent still waiting for 3-D Secure has no charge there, so it is not found; it took no money).
        """
        options = self._options(stripe_account)
        if self.flavour == "stripe":
            intents = self._list("list_payment_intents", self.v1.payment_intents,
                                 {"customer": stripe_customer_id, "created": {"gte": created_since}}, options)
        else:
            charges = self._list("list_charges", self.v1.charges,
                                 {"customer": stripe_customer_id, "created": {"gt": created_since - 1}}, options)
            ids = sorted({c["payment_intent"] for c in charges if c.get("payment_intent")})
            intents = [self.retrieve_payment_intent(i, stripe_account) for i in ids]
        return [i for i in intents if (i.get("metadata") or {}).get("payment_id") == payment_id]

    # -- refunds ------------------------------------------------------------------------------------------------

    def create_refund(self, intent_id: str, amount: int, metadata: dict[str, str], idempotency_key: str,
                      stripe_account: str | None) -> dict[str, Any]:
        options = self._options(stripe_account, idempotency_key)
        params: Any = {"payment_intent": intent_id, "amount": amount, "metadata": metadata}
        return self.call("create_refund", lambda: self.v1.refunds.create(params, options))

    def find_refund(self, intent_id: str, refund_id: str, stripe_account: str | None) -> dict[str, Any] | None:
        refunds = self._list("list_refunds", self.v1.refunds, {"payment_intent": intent_id},
                             self._options(stripe_account))
        return next((r for r in refunds if (r.get("metadata") or {}).get("refund_id") == refund_id), None)
