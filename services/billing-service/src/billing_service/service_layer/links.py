"""Where a customer authorises a payment that needs 3-D Secure: the payment's page in the web app
(``PaymentAuthorizationRequired.authorization_url``, emailed by order-service). The customer opens it signed in
(the web app asks for a sign-in link first when needed) and acts through the API with their own session.

Links emailed before the page moved to the web app (``/pay/<payment_id>/authorize?t=<token>``, signed by this
service) still work: billing's old route checks the token and sends the browser to the new page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import quote

from billing_service.domain import links


@dataclass(frozen=True)
class Links:
    public_base_url: str  # this service's (the old links)
    key: bytes = field(repr=False)
    ttl: timedelta = timedelta(days=30)
    public_web_url: str = "http://127.0.0.1:8080"  # the web app's: PUBLIC_WEB_URL

    def authorization_url(self, shop_id: str, payment_id: str) -> str:
        return f"{self.public_web_url.rstrip('/')}/shops/{quote(shop_id)}/payments/{quote(payment_id)}/authorize"

    def verify(self, token: str, payment_id: str, now: datetime) -> links.LinkClaim:
        """The claim of an old emailed link's token; raises ``links.InvalidLink`` otherwise."""
        return links.verify(self.key, token, payment_id, now)
