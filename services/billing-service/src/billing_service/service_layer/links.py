"""The customer's authorisation link: where PaymentAuthorizationRequired points (order-service emails it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import quote

from billing_service.domain import links


@dataclass(frozen=True)
class Links:
    public_base_url: str
    key: bytes = field(repr=False)
    ttl: timedelta = timedelta(days=30)

    def authorization_url(self, payment_id: str, attempt: int, now: datetime) -> str:
        token = links.sign(self.key, payment_id, attempt, now + self.ttl)
        return f"{self.public_base_url.rstrip('/')}/pay/{quote(payment_id)}/authorize?t={token}"

    def verify(self, token: str, payment_id: str, now: datetime) -> links.LinkClaim:
        return links.verify(self.key, token, payment_id, now)
