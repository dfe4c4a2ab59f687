"""Signed links for customers: the authorisation page of a payment that needs 3-D Secure. Pure: no I/O.

The token names the payment, the attempt and an expiry, signed with HMAC-SHA256 by the service's link key:
whoever holds the link may authorise that attempt (it comes by email), nobody can forge one for another
payment or attempt, and it stops working after its expiry. It carries no secret of Stripe's.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime


class InvalidLink(Exception):
    """Forged, damaged, for another payment, or expired."""


@dataclass(frozen=True)
class LinkClaim:
    payment_id: str
    attempt: int
    expires_at: datetime


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, body: str) -> bytes:
    return hmac.new(key, b"authorize:" + body.encode(), hashlib.sha256).digest()


def sign(key: bytes, payment_id: str, attempt: int, expires_at: datetime) -> str:
    body = _b64(f"{payment_id}|{attempt}|{int(expires_at.timestamp())}".encode())
    return f"{body}.{_b64(_mac(key, body))}"


def verify(key: bytes, token: str, payment_id: str, now: datetime) -> LinkClaim:
    """The claim of a valid token for ``payment_id``; raises InvalidLink otherwise."""
    body, _, mac = (token or "").partition(".")
    try:
        valid = hmac.compare_digest(_unb64(mac), _mac(key, body))
        pid, attempt, expires = _unb64(body).decode().split("|")
        claim = LinkClaim(pid, int(attempt), datetime.fromtimestamp(int(expires), UTC))
    except (ValueError, UnicodeDecodeError):
        raise InvalidLink("This link is damaged.") from None
    if not valid or claim.payment_id != payment_id:
        raise InvalidLink("This link is not valid.")
    if claim.expires_at <= now:
        raise InvalidLink("This link has expired.")
    return claim
