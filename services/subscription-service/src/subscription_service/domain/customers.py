"""A shop's customers: contact details, their card on file and the permission to charge it.

Only the customer can allow (or revoke) charges, with their own credential (reference 2.5, #2085). Replacing or
removing the default card revokes the permission (reference rule 72). A customer with subscriptions that are not
cancelled cannot be deleted (reference rule 73).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from subscription_service.domain.common import By, Decided
from subscription_service.domain.errors import Conflict, Invalid

DETAIL_FIELDS = ("email", "first_name", "last_name", "locale", "bill_address", "ship_address")
REQUIRED_DETAILS = ("email", "first_name", "last_name")


@dataclass(frozen=True)
class Card:
    stripe_customer_id: str
    payment_method_id: str
    brand: str | None = None
    last4: str | None = None


@dataclass(frozen=True)
class Customer:
    customer_id: str
    shop_id: str
    version: int
    details: dict[str, Any]
    card: Card | None = None
    allow_charges: bool = False
    deleted: bool = False

    @property
    def email(self) -> str:
        return str(self.details.get("email", ""))

    @property
    def full_name(self) -> str:
        return f"{self.details.get('first_name', '')} {self.details.get('last_name', '')}".strip()


def normalise_email(email: str) -> str:
    return email.strip().lower()


def _ids(c: Customer) -> dict[str, str]:
    return {"customer_id": c.customer_id, "shop_id": c.shop_id}


def create_customer(customer_id: str, shop_id: str, details: dict[str, Any], by: By, *,
                    email_taken: bool) -> list[Decided]:
    missing = {n: ["Missing data for required field."] for n in REQUIRED_DETAILS if not details.get(n)}
    if missing:
        raise Invalid(missing)
    if email_taken:
        raise Conflict("A customer with this email already exists in this shop.",
                       {"email": ["Already used by another customer of this shop."]})
    full = {"locale": None, "bill_address": None, "ship_address": None, **details,
            "email": normalise_email(details["email"])}
    return [Decided("CustomerCreated", by.stamp({"customer_id": customer_id, "shop_id": shop_id, "details": full}))]


def update_customer(c: Customer, changes: dict[str, Any], by: By, *, email_taken: bool) -> list[Decided]:
    if "email" in changes:
        changes = {**changes, "email": normalise_email(changes["email"])}
    changed = {k: v for k, v in changes.items() if c.details.get(k) != v}
    if not changed:
        return []
    empty = {n: ["May not be empty."] for n in REQUIRED_DETAILS if n in changed and not changed[n]}
    if empty:
        raise Invalid(empty)
    if "email" in changed and email_taken:
        raise Conflict("A customer with this email already exists in this shop.",
                       {"email": ["Already used by another customer of this shop."]})
    previous = {k: c.details.get(k) for k in changed}
    return [Decided("CustomerUpdated", by.stamp({**_ids(c), "changes": changed, "previous": previous}))]


def set_card(c: Customer, card: Card, by: By) -> list[Decided]:
    """The customer saved a (new) default card; a different card revokes the charge permission."""
    if c.card == card:
        return []
    events = [Decided("CustomerCardSet", by.stamp({
        **_ids(c), "stripe_customer_id": card.stripe_customer_id, "payment_method_id": card.payment_method_id,
        "card_brand": card.brand, "card_last4": card.last4}))]
    if c.allow_charges and (c.card is None or c.card.payment_method_id != card.payment_method_id):
        events.append(Decided("CustomerChargesRevoked",
                              {**by.stamp(_ids(c)), "reason": "The default card changed."}))
    return events


def remove_card(c: Customer, by: By) -> list[Decided]:
    if c.card is None:
        raise Conflict("This customer has no card on file.")
    events = [Decided("CustomerCardRemoved", by.stamp(_ids(c)))]
    if c.allow_charges:
        events.append(Decided("CustomerChargesRevoked",
                              {**by.stamp(_ids(c)), "reason": "The default card was removed."}))
    return events


def allow_charges(c: Customer, by: By) -> list[Decided]:
    """Reference rule 70: impossible without a default card. Allowing twice changes nothing."""
    if c.card is None:
        raise Conflict("Save a default card first: charges can only be allowed on a default card.",
                       {"card": ["No default card on file."]})
    if c.allow_charges:
        return []
    return [Decided("CustomerChargesAllowed",
                    by.stamp({**_ids(c), "payment_method_id": c.card.payment_method_id}))]


def revoke_charges(c: Customer, by: By) -> list[Decided]:
    if not c.allow_charges:
        return []
    return [Decided("CustomerChargesRevoked", by.stamp(_ids(c)))]


def delete_customer(c: Customer, live_subscriptions: int, by: By) -> list[Decided]:
    if live_subscriptions:
        raise Conflict("This customer has subscriptions that are not cancelled. Cancel them first.",
                       {"subscriptions": [f"{live_subscriptions} subscription(s) not cancelled."]})
    return [Decided("CustomerDeleted", by.stamp(_ids(c)))]
