"""The words for the API's codes (states), translated: one table, used by every page."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext as _lp

SUBSCRIPTION_STATES = {
    "active": _l("Active"),
    "pending": _l("Not started yet"),
    "paused": _l("Paused"),
    "ended": _l("Ended"),
    "cancelled": _l("Cancelled"),
}

DELIVERY_STATES = {  # subscription-service's occurrence states
    "pending": _l("Upcoming"),
    "due": _l("Upcoming"),
    "placed": _l("Order placed"),
    "confirmed": _l("Confirmed"),
    "skipped": _l("Skipped"),
    "paused": _l("Paused"),
    "cancelled": _l("Cancelled"),
    "empty": _l("Nothing available"),
    "not_placed": _l("Not placed"),
    "missed": _l("Missed (platform delay)"),
    "paid": _l("Paid"),
    "payment_failed": _l("Payment failed"),
    "authorization_required": _l("Action needed"),
    "refunded": _l("Refunded"),
}

PAYMENT_STATES = {  # billing-service's payment states, as a customer (and the shop) reads them
    "pending": _l("Waiting for payment"),
    "processing": _l("Being processed"),
    "requires_action": _l("Action needed"),
    "failed": _lp("payment", "Failed"),  # "a payment" is masculine in French, "a delivery" feminine
    "succeeded": _lp("payment", "Paid"),
    "paid": _lp("payment", "Paid"),
    "refunded": _lp("payment", "Refunded"),
}

ATTEMPT_STATES = {  # billing-service's states of one attempt to charge a card
    "started": _l("Being processed"),
    "requires_action": _l("Waiting for the customer's bank check"),
    "succeeded": _lp("payment", "Paid"),
    "failed": _lp("payment", "Failed"),
    "canceled": _l("Cancelled"),
}

FAILURE_REASONS = {  # billing-service's failure codes and Stripe's decline codes, in the customer's words
    "insufficient_funds": _l("Your bank declined the payment: there were not enough funds on the card."),
    "expired_card": _l("The card has expired. Please save a new card."),
    "card_declined": _l("Your bank declined the payment."),
    "authentication_failed": _l("Your bank's check (3-D Secure) did not succeed, so the payment was not taken."),
    "authentication_required": _l("Your bank asks you to confirm this payment."),
    "no_card": _l("There was no card saved for you, so the payment could not be taken."),
    "no_permission": _l("You had not allowed the shop to charge your card, so the payment could not be taken."),
    "stripe_unavailable": _l("The card payment service did not answer in time."),
    "canceled": _l("The card payment was cancelled."),
}


MANAGER_FAILURE_REASONS = {  # the same codes, as the shop's manager reads them (about the customer)
    "insufficient_funds": _l("The customer's bank declined the payment: there were not enough funds on the card."),
    "expired_card": _l("The customer's card has expired: they need to save a new card."),
    "card_declined": _l("The customer's bank declined the payment."),
    "authentication_failed": _l("The customer's bank check (3-D Secure) did not succeed, so the payment was not "
                                "taken."),
    "authentication_required": _l("The customer's bank asks them to confirm this payment."),
    "no_card": _l("The customer has no card saved, so the payment could not be taken."),
    "no_permission": _l("The customer had not allowed the shop to charge their card, so the payment could not be "
                        "taken."),
    "stripe_unavailable": _l("The card payment service did not answer in time."),
    "canceled": _l("The card payment was cancelled."),
}


def failure_reason(failure: dict[str, object] | None, reasons: dict[str, object] = FAILURE_REASONS) -> str:
    """Why a payment failed: its decline code's words, else its code's, else a declined payment's. ``reasons``:
    the words of the reader (the customer's by default, ``MANAGER_FAILURE_REASONS`` for the shop's)."""
    failure = failure or {}
    for code in (failure.get("decline_code"), failure.get("code")):
        if isinstance(code, str) and code in reasons:
            return str(reasons[code])
    return str(reasons["card_declined"])


ORDER_STATUSES = {  # order-service's order statuses
    "placed": _l("Placed"),
    "empty": _l("Empty: nothing was available"),
    "cancelled": _l("Cancelled"),
    "confirmed": _l("Confirmed"),
}

ORDER_STATES_SHORT = {  # order-service's order statuses, as a list of orders names them
    "placed": _l("Placed"),
    "confirmed": _l("Confirmed"),
    "cancelled": _l("Cancelled"),
    "empty": _l("Empty"),
}

CANCEL_CAUSES = {  # why an order was cancelled (order-service's cancel_cause)
    "manager": _l("By the shop."),
    "customer": _l("By the customer."),
    "occurrence_skipped": _l("The customer skipped this delivery."),
    "subscription_paused": _l("The subscription was paused."),
    "subscription_cancelled": _l("The subscription was cancelled."),
}

LINE_EDITORS = {  # who last set an order line's quantity (order-service's edited_by)
    "manager": _l("Changed by the shop"),
    "customer": _l("Changed by the customer"),
    "subscription": _l("Changed with the subscription"),
}

UPDATE_ISSUES = {  # what a subscription change could not do to an open order (order-service's propagation), and
    # a product withdrawn from it because the catalog no longer sells it
    "out_of_stock": _l("%(name)s: out of stock, none of the new quantity could be had."),
    "insufficient_stock": _l("%(name)s: not enough stock, only part of the new quantity could be had."),
    "line_hand_edited": _l("%(name)s: changed by hand on this order, so the subscription's change was not applied "
                           "to it."),
    "line_missing": _l("%(name)s: no longer on this order, so the subscription's new quantity was not applied."),
    "shipping_method_hand_edited": _l("The delivery method was changed by hand on this order, so the "
                                      "subscription's new one was not applied."),
    "payment_method_hand_edited": _l("The payment method was changed by hand on this order, so the subscription's "
                                     "new one was not applied."),
    "address_hand_edited": _l("An address was changed by hand on this order, so the subscription's new address was "
                              "not applied."),
    "line_withdrawn": _l("%(name)s: deleted from the catalog or made unavailable after the order was placed, so it "
                         "was taken off this order and the customer was told; nothing is charged for it."),
}


def update_issue(kind: str, name: str) -> str:
    """An update issue in the reader's words, naming its product; a kind not listed here gets a general sentence."""
    words = UPDATE_ISSUES.get(kind)
    if words is None:
        return str(_l("A change of the subscription could not be applied to this order in full."))
    return str(words) % {"name": name}  # a mapping: a sentence without %(name)s is left as it is


CARD_BRANDS = {  # Stripe's card brands
    "visa": _l("Visa"),
    "mastercard": _l("Mastercard"),
    "amex": _l("American Express"),
    "discover": _l("Discover"),
    "diners": _l("Diners Club"),
    "jcb": _l("JCB"),
    "unionpay": _l("UnionPay"),
    "cartes_bancaires": _l("Cartes Bancaires"),
    "unknown": _l("Card"),
}


def label(table: dict[str, object], code: str | None) -> str:
    return str(table.get(code or "", code or ""))



CYCLE_STATUSES = {  # subscription-service's order cycle statuses
    "upcoming": _l("Upcoming"),
    "open": _l("Open"),
    "closed": _l("Closed"),
}


ORDER_PAYMENT_STATES = {  # order-service's payment state of an order, as the shop's manager reads it
    "not_due": _l("Not due yet (the cycle is open)"),
    "not_required": _l("Nothing to pay"),
    "requested": _l("Requested"),
    "pending": _l("Waiting for payment"),
    "processing": _l("Being processed"),
    "paid": _lp("payment", "Paid"),
    "failed": _lp("payment", "Failed"),
    "authorization_required": _l("Waiting for the customer's bank check"),
    "refunded": _lp("payment", "Refunded"),
    "partially_refunded": _l("Partly refunded"),
}
