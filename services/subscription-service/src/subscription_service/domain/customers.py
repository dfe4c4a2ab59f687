"""A shop's customers: contact details, their card on file and the permission to charge it.

Only the customer can allow (or revoke) charges, with their own credential (reference 2.5, #2085): a session they
opened through the link emailed to them (``access.act_in_person``), and the consent records how, when and the text
shown. The platform owns each customer's Stripe Customer; a card is saved only from a SetupIntent the customer
confirmed on it, and only a payment method on that Stripe Customer is accepted (``card_from_setup``). Replacing or
removing the default card revokes the permission (reference rule 72). A customer with subscriptions that are not
cancelled cannot be deleted (reference rule 73).

Because the email address is what signs the customer in, once it has been proven (``Customer.email_proven``: they
signed in with a link sent to it, saved a card or consented to charges) only the customer changes it, from their own
session (``EMAIL_IS_THEIRS``): else a manager could point it at a mailbox of theirs, ask for a link and act as them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from subscription_service.domain.common import By, Decided
from subscription_service.domain.errors import Conflict, Forbidden, Invalid

DETAIL_FIELDS = ("email", "first_name", "last_name", "locale", "bill_address", "ship_address")
REQUIRED_DETAILS = ("email", "first_name", "last_name")


@dataclass(frozen=True)
class Card:
    stripe_customer_id: str
    payment_method_id: str
    brand: str | None = None
    last4: str | None = None
    exp_month: int | None = None
    exp_year: int | None = None
    setup_intent_id: str | None = None  # None: saved before cards came only from SetupIntents

    def same_card(self, other: Card | None) -> bool:
        return other is not None and (self.stripe_customer_id, self.payment_method_id) == \
            (other.stripe_customer_id, other.payment_method_id)


@dataclass(frozen=True)
class SetupFacts:
    """What Stripe says of a SetupIntent (a card setup the customer confirmed in their browser)."""

    setup_intent_id: str
    status: str
    stripe_customer_id: str | None
    payment_method_id: str | None


@dataclass(frozen=True)
class PaymentMethodFacts:
    """What Stripe says of a card payment method."""

    payment_method_id: str
    stripe_customer_id: str | None
    brand: str | None
    last4: str | None
    exp_month: int | None
    exp_year: int | None


@dataclass(frozen=True)
class Consent:
    """How the customer gave (or withdrew) their consent: the event records it whole."""

    at: datetime
    method: str  # email_sign_in_link
    session_id: str
    text: str
    locale: str
    email: str  # the address the session was proven by (sessions end when it changes)


@dataclass(frozen=True)
class Customer:
    customer_id: str
    shop_id: str
    version: int
    details: dict[str, Any]
    card: Card | None = None
    allow_charges: bool = False
    deleted: bool = False
    stripe_customer_id: str | None = None  # the platform's own Stripe Customer (StripeCustomerCreated)
    signed_in_by_email: bool = False  # a session was ever opened with a link emailed to them (TokenIssued)

    @property
    def email_proven(self) -> bool:
        """The address is the customer's own: they signed in through it, or saved a card or consented (which only
        such a session can do; before sessions existed, a card or consent still counts)."""
        return self.signed_in_by_email or self.card is not None or self.allow_charges

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


EMAIL_IS_THEIRS = ("Only the customer can change this email address, from their own session (signed in with the "
                   "link emailed to them): they have signed in through it, saved a card or consented to charges, so "
                   "it is what signs them in and proves their consent. A manager may correct an address only until "
                   "the customer has used it.")
CUSTOMER_EDITS = ("A customer changes only their email address here; the shop's managers change the other details.")


def update_customer(c: Customer, changes: dict[str, Any], by: By, *, email_taken: bool,
                    in_person: bool = False) -> list[Decided]:
    """``in_person``: the customer themself asks, in a session opened with the link emailed to them (they may change
    only their email address); else a manager or the admin, who may not change an address the customer proved."""
    if "email" in changes:
        changes = {**changes, "email": normalise_email(changes["email"])}
    changed = {k: v for k, v in changes.items() if c.details.get(k) != v}
    if not changed:
        return []
    if in_person and set(changed) - {"email"}:
        raise Forbidden(CUSTOMER_EDITS)
    if "email" in changed and c.email_proven and not in_person:
        raise Forbidden(EMAIL_IS_THEIRS)
    empty = {n: ["May not be empty."] for n in REQUIRED_DETAILS if n in changed and not changed[n]}
    if empty:
        raise Invalid(empty)
    if "email" in changed and email_taken:
        raise Conflict("A customer with this email already exists in this shop.",
                       {"email": ["Already used by another customer of this shop."]})
    previous = {k: c.details.get(k) for k in changed}
    return [Decided("CustomerUpdated", by.stamp({**_ids(c), "changes": changed, "previous": previous}))]


def open_stripe_customer(c: Customer, stripe_customer_id: str, by: By) -> list[Decided]:
    """The platform created this customer's Stripe Customer (once: a second one would orphan saved cards)."""
    if c.stripe_customer_id is not None:
        raise Conflict("This customer already has a Stripe Customer.")
    return [Decided("StripeCustomerCreated", by.stamp({**_ids(c), "stripe_customer_id": stripe_customer_id}))]


NOT_YOURS = ("This card setup is not yours: a card is saved only through a card setup started for this customer "
             "(POST .../card/setup) and confirmed by them.")


def payment_method_wanted(c: Customer, setup: SetupFacts | None) -> str | None:
    """The payment method of a finished setup on this customer's own Stripe Customer: only that one is looked up
    (and attached to that Stripe Customer where Stripe did not attach it)."""
    if setup is None or c.stripe_customer_id is None or setup.stripe_customer_id != c.stripe_customer_id:
        return None
    return setup.payment_method_id if setup.status == "succeeded" else None


def card_from_setup(c: Customer, setup: SetupFacts | None, pm: PaymentMethodFacts | None) -> Card:
    """The card a succeeded SetupIntent saved, once checked to be on this customer's own Stripe Customer.

    ``setup`` None: Stripe knows no such SetupIntent; ``pm`` None: it has no payment method (yet). Brand, last four
    digits and expiry are Stripe's, never a client's."""
    if c.stripe_customer_id is None:
        raise Conflict("Start a card setup first (POST .../card/setup): this customer has no card setup yet.")
    if setup is None:
        raise Invalid({"setup_intent_id": ["No such card setup."]})
    if setup.stripe_customer_id != c.stripe_customer_id:
        raise Forbidden(NOT_YOURS)
    if setup.status != "succeeded" or pm is None or setup.payment_method_id is None:
        raise Invalid({"setup_intent_id": [
            f"The card setup is not finished (status {setup.status}): the customer confirms it in their browser "
            "(with 3-D Secure when the bank asks), then it can be saved."]})
    if pm.payment_method_id != setup.payment_method_id or pm.stripe_customer_id != c.stripe_customer_id:
        raise Forbidden("This card belongs to someone else: only a card on this customer's own Stripe Customer "
                        "is saved.")
    return Card(c.stripe_customer_id, pm.payment_method_id, pm.brand, pm.last4, pm.exp_month, pm.exp_year,
                setup.setup_intent_id)


def set_card(c: Customer, card: Card, by: By) -> list[Decided]:
    """The customer saved a (new) default card; a different card revokes the charge permission."""
    if card.same_card(c.card):
        return []
    events = [Decided("CustomerCardSet", by.stamp({
        **_ids(c), "stripe_customer_id": card.stripe_customer_id, "payment_method_id": card.payment_method_id,
        "card_brand": card.brand, "card_last4": card.last4, "card_exp_month": card.exp_month,
        "card_exp_year": card.exp_year, "setup_intent_id": card.setup_intent_id}))]
    if c.allow_charges:
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


def allow_charges(c: Customer, consent: Consent, by: By) -> list[Decided]:
    """Reference rule 70: impossible without a default card. Allowing twice changes nothing."""
    if c.card is None:
        raise Conflict("Save a default card first: charges can only be allowed on a default card.",
                       {"card": ["No default card on file."]})
    if c.allow_charges:
        return []
    return [Decided("CustomerChargesAllowed",
                    by.stamp({**_ids(c), "payment_method_id": c.card.payment_method_id, "consent": asdict(consent)}))]


def revoke_charges(c: Customer, consent: Consent, by: By) -> list[Decided]:
    if not c.allow_charges:
        return []
    return [Decided("CustomerChargesRevoked", by.stamp({**_ids(c), "consent": asdict(consent)}))]


def delete_customer(c: Customer, live_subscriptions: int, by: By) -> list[Decided]:
    if live_subscriptions:
        raise Conflict("This customer has subscriptions that are not cancelled. Cancel them first.",
                       {"subscriptions": [f"{live_subscriptions} subscription(s) not cancelled."]})
    return [Decided("CustomerDeleted", by.stamp(_ids(c)))]
