"""Who may see and do what. Another shop's resource is "not found" (never 403, never data); a customer
calling a manager-only action on their own shop gets 403; a customer sees only their own things."""

from __future__ import annotations

from servicekit.auth import Principal
from subscription_service.domain.errors import Forbidden, NotFound


def see_shop(p: Principal, shop_id: str) -> None:
    """Any role that belongs to the shop (or the admin) may read it."""
    if not p.can_see_shop(shop_id):
        raise NotFound("No such shop.")


def manage_shop(p: Principal, shop_id: str) -> None:
    """Admin or a manager of the shop; a customer of the shop gets 403."""
    see_shop(p, shop_id)
    if not p.manages(shop_id):
        raise Forbidden("Only the shop's managers may do this.")


def admin_only(p: Principal) -> None:
    if not p.is_admin:
        raise Forbidden("Only a platform admin may do this.")


def see_customer(p: Principal, shop_id: str, customer_id: str) -> None:
    """Managers see every customer of their shop; a customer sees only themself."""
    see_shop(p, shop_id)
    if p.is_customer and p.customer_id != customer_id:
        raise NotFound("No such customer.")


IN_PERSON = ("Cards and the permission to charge them come from the customer alone, signed in through the one-time "
             "link emailed to their own address (POST /api/v1/sign-in-links, then POST /api/v1/sessions).")


def act_in_person(p: Principal, shop_id: str, customer_id: str) -> None:
    """Only the customer themself, in a session they opened with the link emailed to them: saving a card, and
    giving or withdrawing the consent to charges. A customer token a manager issued may not, nor may managers."""
    see_customer(p, shop_id, customer_id)
    if p.is_customer_of(shop_id, customer_id) and p.proven_by_email:
        return
    if p.is_customer_of(shop_id, customer_id):
        raise Forbidden(f"{IN_PERSON} This token was issued by the shop, not opened by the customer: it cannot "
                        "save a card or give or withdraw consent.")
    raise Forbidden(f"{IN_PERSON} Managers and admins cannot do this for a customer.")


def edit_customer(p: Principal, shop_id: str, customer_id: str) -> bool:
    """Managers (and the admin) edit a customer's details; the customer themself, in a session opened with the link
    emailed to them, may too (what they may change is the domain's rule). True when it is the customer in person."""
    see_customer(p, shop_id, customer_id)
    if p.is_customer_of(shop_id, customer_id) and p.proven_by_email:
        return True
    manage_shop(p, shop_id)
    return False


def see_subscription(p: Principal, shop_id: str, customer_id: str) -> None:
    """Managers see every subscription of their shop; a customer sees only their own."""
    see_shop(p, shop_id)
    if p.is_customer and p.customer_id != customer_id:
        raise NotFound("No such subscription.")


def change_occurrence(p: Principal, shop_id: str, customer_id: str, customers_may_skip: bool) -> None:
    """Managers skip and resume any occurrence; a customer their own, and only when the shop allows it."""
    see_subscription(p, shop_id, customer_id)
    if p.is_customer and not customers_may_skip:
        raise Forbidden("This shop does not let customers skip or resume deliveries; please contact the shop.")


def take_time_off(p: Principal, shop_id: str, customer_id: str, customers_may: bool) -> None:
    """Holidays and pausing (until a date or not) and unpausing: managers for any subscription of their shop; a
    customer for their own, when the shop lets customers skip deliveries (the same setting)."""
    see_subscription(p, shop_id, customer_id)
    if p.is_customer and not customers_may:
        raise Forbidden("This shop does not let customers skip deliveries, take holidays or pause their "
                        "subscription; please contact the shop.")
    if not p.is_customer:
        manage_shop(p, shop_id)
