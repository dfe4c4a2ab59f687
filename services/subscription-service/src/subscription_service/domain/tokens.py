"""API tokens. A platform admin issues manager tokens for the shops they manage; a manager (or the admin) issues a
customer token for one customer of their shop. A customer opens a session of their own with the one-time link
emailed to them (``open_session``): only such a session may save a card or give consent. Only the SHA-256 of a
token is kept and published. Revoking: the admin any token; a manager the customer tokens of their shops; anyone
their own token."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from servicekit.auth import EMAIL_SIGN_IN, Principal
from subscription_service.domain.common import By, Decided
from subscription_service.domain.customers import Customer, normalise_email
from subscription_service.domain.errors import Conflict, Forbidden, Invalid, NotFound, Unauthenticated


@dataclass(frozen=True)
class TokenRequest:
    role: str
    shop_ids: tuple[str, ...]
    customer_id: str | None = None
    label: str | None = None
    expires_at: datetime | None = None


@dataclass(frozen=True)
class Token:
    token_id: str
    role: str
    shop_ids: tuple[str, ...]
    customer_id: str | None
    version: int
    revoked: bool = False
    obtained_by: str | None = None  # EMAIL_SIGN_IN: a customer's own session, proven by their email address


def issue_token(p: Principal, req: TokenRequest, token_id: str, token_hash: str, by: By, *,
                unknown_shops: set[str], customer_known: bool) -> list[Decided]:
    """``unknown_shops``: requested shops that do not exist; ``customer_known``: the customer is in the shop."""
    if req.role == "admin":
        raise Invalid({"role": ["Admin credentials come from configuration; issue manager or customer tokens."]})
    if req.role == "manager":
        if not p.is_admin:
            raise Forbidden("Only a platform admin issues manager tokens.")
        if not req.shop_ids:
            raise Invalid({"shop_ids": ["Give at least one shop."]})
        if unknown_shops:
            raise Invalid({"shop_ids": [f"No such shop: {s}." for s in sorted(unknown_shops)]})
    if req.role == "customer":
        if len(req.shop_ids) != 1 or not req.customer_id:
            raise Invalid({"customer_id": ["A customer token is for one customer of one shop (shop_ids: [one])."]})
        shop_id = req.shop_ids[0]
        if not p.can_see_shop(shop_id) or shop_id in unknown_shops:
            raise NotFound("No such shop.")
        if not p.manages(shop_id):
            raise Forbidden("Only the shop's managers issue customer tokens.")
        if not customer_known:
            raise Invalid({"customer_id": ["Not a customer of this shop."]})
    if req.expires_at is not None and req.expires_at <= by.now:
        raise Invalid({"expires_at": ["Must be in the future."]})
    return [Decided("TokenIssued", by.stamp({
        "token_id": token_id, "token_hash": token_hash, "role": req.role, "shop_ids": list(req.shop_ids),
        "customer_id": req.customer_id if req.role == "customer" else None, "label": req.label,
        "expires_at": req.expires_at}))]


@dataclass(frozen=True)
class SignInLink:
    """A one-time link emailed to a customer's address, or to a manager's (``role="manager"``: no shop, no
    customer); its token is kept only as a hash."""

    link_id: str
    shop_id: str | None
    customer_id: str | None
    email: str
    role: str = "customer"


def open_session(link: SignInLink, customer: Customer | None, token_id: str, token_hash: str, now: datetime,
                 ttl: timedelta) -> list[Decided]:
    """The customer followed the link emailed to them: a customer session, marked as obtained that way. Refused
    when the customer is gone or their address changed since the link was sent."""
    if customer is None or customer.deleted or normalise_email(customer.email) != normalise_email(link.email):
        raise Unauthenticated("This sign-in link no longer works: ask for a new one.")
    by = By(actor={"type": "customer", "id": token_id}, now=now)
    return [Decided("TokenIssued", by.stamp({
        "token_id": token_id, "token_hash": token_hash, "role": "customer", "shop_ids": [link.shop_id],
        "customer_id": link.customer_id, "label": "signed in by email", "expires_at": now + ttl,
        "obtained_by": EMAIL_SIGN_IN, "sign_in_link_id": link.link_id}))]


def open_manager_session(link: SignInLink, shop_ids: list[str], token_id: str, token_hash: str, now: datetime,
                         ttl: timedelta) -> list[Decided]:
    """A manager followed the link emailed to them: a manager session for every shop where the address is a
    manager now, marked as obtained that way. Refused when it is a manager of none any more."""
    if not shop_ids:
        raise Unauthenticated("This sign-in link no longer works: ask for a new one.")
    by = By(actor={"type": "manager", "id": token_id}, now=now)
    return [Decided("TokenIssued", by.stamp({
        "token_id": token_id, "token_hash": token_hash, "role": "manager", "shop_ids": sorted(shop_ids),
        "customer_id": None, "label": "signed in by email", "expires_at": now + ttl,
        "obtained_by": EMAIL_SIGN_IN, "sign_in_link_id": link.link_id}))]


def may_see_token(p: Principal, t: Token) -> bool:
    if p.is_admin or t.token_id == p.token_id:
        return True
    return p.is_manager and t.role == "customer" and bool(set(t.shop_ids) & p.shop_ids)


def end_session(t: Token, by: By) -> list[Decided]:
    """A session proven by an address that is no longer the customer's (or no longer a manager of a shop the session
    reaches) ends, whoever changed the address (the customer themself ends their other sessions too, which they
    could not revoke one by one)."""
    return [] if t.revoked else [Decided("TokenRevoked", by.stamp({"token_id": t.token_id}))]


def revoke_token(p: Principal, t: Token, by: By) -> list[Decided]:
    if not may_see_token(p, t):
        raise NotFound("No such token.")
    if t.revoked:
        raise Conflict("This token is already revoked.")
    return [Decided("TokenRevoked", by.stamp({"token_id": t.token_id}))]
