"""The services' refusals in the reader's language.

The four APIs answer problem details (RFC 9457) in English, for developers: a ``type`` from one table
(``servicekit.web.problems.PROBLEM_TYPES``), a ``detail``, and ``errors`` as ``{field: [messages]}``. A page never
shows those words: each field message the services send to a person's form is matched here to a message of ours,
translated (French and English), with its numbers kept ("At most 3 available." -> "Only 3 are available..."); a
refusal without field errors is told by its kind (its ``type``, or a known ``detail``); anything not listed falls
back to a general sentence of the same kind, never to the English text. ``tests/unit/test_refusals.py`` checks the
table against the messages the services' code holds.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from web_app.api import ApiError

log = logging.getLogger("web_app.refusals")


@dataclass(frozen=True)
class Known:
    """A service's message (a regular expression matched in full) and ours: a function of its named groups."""

    pattern: re.Pattern[str]
    ours: Callable[[dict[str, str]], str]


def _known(pattern: str, ours: Callable[[dict[str, str]], str]) -> Known:
    return Known(re.compile(pattern), ours)


# Field messages the services send (marshmallow's own words, and the domains'), and what a person reads instead.
FIELD_MESSAGES: tuple[Known, ...] = (
    # subscription-service: the shop's tax (domain/shops.py, entrypoints/api/shops.py)
    _known(r"Not a tax category( \(.*\))?\.",
           lambda m: str(_l("Enter a category of small letters, digits, - or _ (40 at most), like reduced"))),
    _known(r"(?P<category>.+) already has a rate\.",
           lambda m: str(_l("This category already has a rate: each category has one"))),
    _known(r"(?P<category>.+) is the tax category of the method (?P<name>.+): change the method first\.",
           lambda m: str(_l("%(category)s is the tax category of %(name)s: give that method another category "
                            "first, then remove this rate.", category=m["category"], name=m["name"]))),
    _known(r".+ has no tax rate for (?P<category>.+): add it to the shop's tax rates first\.",
           lambda m: str(_l("The shop has no rate for %(category)s: add it to the tax rates first.",
                            category=m["category"]))),
    # order-service (domain/editing.py)
    _known(r"At most (?P<n>\d+) available\.",
           lambda m: str(_l("Only %(n)s available: choose %(n)s or fewer.", n=m["n"])) if m["n"] != "0"
           else str(_l("Out of stock: you cannot have more of this product."))),
    _known(r"Must be at least 1\.", lambda m: str(_l("Enter a quantity of 1 or more. To take this product off, "
                                                    "remove it."))),
    _known(r"Cannot remove the final item from an order, please cancel the order instead\.",
           lambda m: str(_l("This is the last product of your order, so it cannot be removed. Cancel the order "
                            "instead."))),
    _known(r"Not available from this shop\.", lambda m: str(_l("This product is not sold by this shop."))),
    _known(r"Already on this order\.", lambda m: str(_l("This product is already on your order: change its "
                                                       "quantity instead."))),
    # subscription-service (cards, consent, sign-in)
    _known(r"No such card setup\.", lambda m: str(_l("Your card could not be saved. Enter your card details "
                                                    "again."))),
    _known(r"The card setup is not finished.*", lambda m: str(_l("Your card is not confirmed yet. Enter your card "
                                                                "details and confirm with your bank if asked."))),
    _known(r"No default card on file\.", lambda m: str(_l("Save a card first."))),
    # subscription-service (customers: domain/customers.py)
    _known(r"Already used by another customer of this shop\.",
           lambda m: str(_l("Another customer of this shop already has this email address."))),
    # subscription-service (holidays and pausing: domain/subscriptions.py)
    _known(r"Choose a day from today on\.", lambda m: str(_l("Choose a day from today on"))),
    _known(r"Choose a day on or after the first day\.",
           lambda m: str(_l("The last day must be on or after the first day"))),
    _known(r"No delivery of this subscription falls between these dates\.",
           lambda m: str(_l("None of your deliveries falls between these dates"))),
    _known(r"Choose a date at most \d+ days from today\.", lambda m: str(_l("Choose a date within a year from "
                                                                             "today"))),
    _known(r"Choose a date after today\.", lambda m: str(_l("Choose a date after today"))),
    _known(r"Choose keep or cancel\.", lambda m: str(_l("Choose whether to keep or cancel the order already "
                                                        "placed"))),
    _known(r"Not a valid date\.", lambda m: str(_l("Enter a date, like 24/12/2026."))),
    # subscription-service (schedules and order cycles: domain/schedules.py, cycles.py, generator.py)
    _known(r"Please select at least one order cycle\.",
           lambda m: str(_l("Choose at least one order cycle, or describe a weekly season."))),
    _known(r"A schedule needs at least one order cycle\.",
           lambda m: str(_l("A schedule keeps at least one order cycle: add another one before removing this "
                            "one."))),
    _known(r"\S+ is not an order cycle of this shop\.",
           lambda m: str(_l("This order cycle no longer exists. Reload the page."))),
    _known(r"\S+ is not in this schedule\.",
           lambda m: str(_l("This order cycle is no longer in this schedule. Reload the page."))),
    _known(r"Must be after opens_at\.", lambda m: str(_l("Orders must close after they open."))),
    _known(r"Must be in the future: a closed order cycle would never get orders\.",
           lambda m: str(_l("Orders must close in the future: an order cycle that has already closed would never "
                            "get orders."))),
    _known(r"Must be between the years 2000 and 2200: from this start date and interval at most (?P<n>\d+) "
           r"cycles fit\.",
           lambda m: str(_l("From this start date and interval, at most %(n)s order cycles fit before the year "
                            "2200.", n=m["n"]))),
    _known(r"Must be between the years 2000 and 2200.*", lambda m: str(_l("Choose a date between the years 2000 and "
                                                                          "2200."))),
    _known(r"May not be empty\.", lambda m: str(_l("This is required."))),
    _known(r"Not a valid time\.", lambda m: str(_l("Enter a time, like 09:00."))),
    _known(r"Not a valid datetime.*", lambda m: str(_l("Enter a day and a time."))),
    # billing-service (refunds: domain/payments.py refund_amount, shown to a manager by the amount)
    _known(r"At most (?P<n>\d+) can still be refunded\.",
           lambda m: str(_l("This is more than can still be refunded: refund less.")) if m["n"] != "0"
           else str(_l("Everything paid was already refunded."))),
    _known(r"Everything collected was already refunded\.", lambda m: str(_l("Everything paid was already "
                                                                           "refunded."))),
    _known(r"A refund must be at least 1 \(minor unit\)\.", lambda m: str(_l("Enter an amount like 12.50"))),
    # subscription-service (a subscription's rules, to a manager: domain/validation.py, domain/subscriptions.py)
    _known(r"Does not belong to .*\.", lambda m: str(_l("This customer is not a customer of this shop."))),
    _known(r"Is not coordinated by .*\.", lambda m: str(_l("Choose a schedule of this shop that has order cycles."))),
    _known(r"Is not available to .*\.", lambda m: str(_l("This method is not offered by the shop any more: choose "
                                                          "another one."))),
    _known(r"Must be a Cash or Stripe method\.", lambda m: str(_l("Choose a cash or card payment method."))),
    _known(r"Credit card charges are not allowed by this customer\.",
           lambda m: str(_l("This customer has not allowed the shop to charge their card: choose another payment "
                            "method, or ask them to allow it from their payment page."))),
    _known(r"No default card available for this customer\.",
           lambda m: str(_l("This customer has no card saved: choose another payment method, or ask them to save "
                            "a card."))),
    _known(r"Must be after begins at\.", lambda m: str(_l("The last day must be on or after the first day"))),
    _known(r"Please add at least one product\.", lambda m: str(_l("Add at least one product with a quantity of "
                                                                  "1 or more."))),
    _known(r"Must not be negative\.", lambda m: str(_l("Enter a number from 0 to 1000000."))),
    _known(r".* is not available from .*\.", lambda m: str(_l("This product is not sold by this shop."))),
    _known(r".* is priced in [A-Z]{3}, not in the shop's [A-Z]{3}\.",
           lambda m: str(_l("This product is priced in another currency than the shop's."))),
    _known(r".* has already been added; change its quantity instead\.",
           lambda m: str(_l("This product is already on another line: change its quantity there."))),
    _known(r"The estimated total of this line is too large\.", lambda m: str(_l("This quantity is too large."))),
    _known(r"A product cannot be its own substitute\.",
           lambda m: str(_l("Choose another product than the one it stands in for."))),
    _known(r".* is already a substitute of this product\.",
           lambda m: str(_l("This product is already a substitute of this line: choose another one."))),
    _known(r"At most \d+ substitutes\.", lambda m: str(_l("Choose at most three substitutes."))),
    _known(r"Cannot be changed after creation: create a new subscription instead\.",
           lambda m: str(_l("This cannot be changed: create a new subscription instead."))),
    _known(r"String does not match expected pattern\.", lambda m: str(_l("Enter it in the form shown."))),
    _known(r"Shorter than minimum length 1\.", lambda m: str(_l("This is required."))),
    # subscription-service (shop settings: domain/shops.py, domain/standards.py)
    _known(r"'[^']*' is not an IANA time zone \(e\.g\. Europe/Paris\)\.",
           lambda m: str(_l("Choose a time zone from the list"))),
    _known(r"'[^']*' is an old alias of '(?P<zone>[^']*)': use '[^']*'\.",
           lambda m: str(_l("This is an old name of the time zone %(zone)s: choose %(zone)s", zone=m["zone"]))),
    _known(r"Delays must increase\.", lambda m: str(_l("Each wait must be longer than the one before"))),
    _known(r"Give one delay per retry: \d+ for max_attempts=\d+\.",
           lambda m: str(_l("Give one number of hours per new try"))),
    # marshmallow's (every API's schemas)
    _known(r"Missing data for required field\.", lambda m: str(_l("This is required."))),
    _known(r"Field may not be null\.", lambda m: str(_l("This is required."))),
    _known(r"Not a valid integer\.", lambda m: str(_l("Enter a whole number, like 2."))),
    _known(r"Not a valid email address\.", lambda m: str(_l("Enter an email address in the correct format, like "
                                                           "name@example.com"))),
    _known(r"Longer than maximum length (?P<n>\d+)\.", lambda m: str(_l("Enter %(n)s characters or fewer.",
                                                                       n=m["n"]))),
    _known(r"Must be greater than or equal to (?P<lo>-?\d+) and less than or equal to (?P<hi>-?\d+)\.",
           lambda m: str(_l("Enter a number from %(lo)s to %(hi)s.", lo=m["lo"], hi=m["hi"]))),
    _known(r"Must be greater than or equal to (?P<lo>-?\d+)\.",
           lambda m: str(_l("Enter %(lo)s or more.", lo=m["lo"]))),
    _known(r"Must be one of: .*", lambda m: str(_l("Choose one of the options shown."))),
    _known(r"Unknown field\.", lambda m: str(_l("This page sent something the shop does not expect. Reload the "
                                               "page and try again."))),
)

# Refusals without field errors, known by their detail (a domain's sentence) before their kind.
DETAILS: tuple[Known, ...] = (
    _known(r"This shop does not allow customers to change or cancel their orders.*",
           lambda m: str(_l("This shop does not let customers change or cancel their orders. Write to the shop to "
                            "change this order."))),
    _known(r"This order was not cancelled by you: only the shop can resume it.*",
           lambda m: str(_l("This order was cancelled by the shop or by a change to your subscription: only the "
                            "shop can resume it. Write to the shop."))),
    _known(r"This shop does not let customers skip deliveries.*|This shop does not let customers skip or resume.*",
           lambda m: str(_l("This shop does not let you skip deliveries or pause your subscription yourself. "
                            "Please write to the shop."))),
    _known(r"Could not (skip|resume) the order: its order cycle has closed\.",
           lambda m: str(_l("This delivery can no longer be changed: its orders have closed."))),
    _known(r"This subscription is (?P<state>paused|cancelled|ended); it cannot be paused\.",
           lambda m: str(_l("Your subscription cannot be paused now: reload the page to see it as it is."))),
    _known(r"This subscription is not paused\.", lambda m: str(_l("Your subscription is not paused."))),
    _known(r"Only the shop's managers can .*", lambda m: str(_l("Only the shop can do this. Write to the shop."))),
    _known(r".* is already cancelled\.", lambda m: str(_l("This order is already cancelled."))),
    _known(r".* is not cancelled\.", lambda m: str(_l("This order is not cancelled: there is nothing to resume."))),
    _known(r".* is cancelled: resume it before changing it\.",
           lambda m: str(_l("This order is cancelled: resume it before changing it."))),
    _known(r"Nothing was available for order .*",
           lambda m: str(_l("Nothing was available for this order: there is nothing to change."))),
    _known(r"Save a default card first.*", lambda m: str(_l("Save a card first."))),
    _known(r"Only the customer can change this email address.*",
           lambda m: str(_l("Only the customer can change their email address now: they have signed in with it, "
                            "saved a card or given permission to charge it."))),
    _known(r"\d+ sign-in links were sent to this customer in the last \d+ minutes.*",
           lambda m: str(_l("Several sign-in links were sent to this customer in the last few minutes. Wait a "
                            "quarter of an hour before sending another."))),
    # subscription-service (schedules and order cycles)
    _known(r"This order cycle is linked to a schedule and cannot be deleted; remove it from (?P<names>.+) first\.",
           lambda m: str(_l("This order cycle is in the schedule %(names)s, so it cannot be deleted: remove it from "
                            "the schedule first.", names=m["names"]))),
    _known(r"This schedule cannot be deleted because it has associated subscriptions \((?P<n>\d+), cancelled ones "
           r"included\)\.",
           lambda m: str(_l("This schedule is used by subscriptions (%(n)s, cancelled ones count too), so it "
                            "cannot be deleted.", n=m["n"]))),
    _known(r"This order cycle has closed; it can no longer be changed\.",
           lambda m: str(_l("This order cycle has closed: it can no longer be changed."))),
    # billing-service (a manager's commands on a payment: domain/payments.py, service_layer/handlers.py)
    _known(r"The payment is (?P<state>\w+): only a failed payment can be retried\.",
           lambda m: str(_l("Only a failed payment can be charged again, and this one is no longer failed: here it "
                            "is as it is now."))),
    _known(r"Only card payments can be charged again; mark a cash payment paid instead\.",
           lambda m: str(_l("Only a card payment can be charged again: mark this payment paid once the customer "
                            "has paid."))),
    _known(r"The payment was already tried (?P<n>\d+) times\.",
           lambda m: str(_l("This card was already charged %(n)s times without success: ask the customer to pay "
                            "another way, then mark the payment paid.", n=m["n"]))),
    _known(r"The payment is already (?P<state>\w+)\.",
           lambda m: str(_l("This payment is already paid or refunded: here it is as it is now."))),
    _known(r"A card charge is in progress; try again in a moment\.",
           lambda m: str(_l("The card is being charged right now: reload the page in a moment."))),
    _known(r"The payment is (?P<state>\w+): nothing was collected, nothing can be refunded\.",
           lambda m: str(_l("Nothing was paid for this payment, so nothing can be refunded."))),
    _known(r"The card payment waiting for the customer's authorisation could not be cancelled.*",
           lambda m: str(_l("The card payment waiting for the customer's bank check could not be stopped (it may "
                            "have just gone through): reload the page in a moment."))),
    _known(r"This customer has no card on file\.", lambda m: str(_l("You have no card saved at this shop."))),
)

# Refusals of a change to a subscription, told to the shop's manager (the console), known by their detail.
MANAGER_DETAILS: tuple[Known, ...] = (
    _known(r"This subscription is (?P<state>paused|cancelled|ended); it cannot be paused\.",
           lambda m: str(_l("This subscription cannot be paused: it is already paused, cancelled or ended."))),
    _known(r"This subscription is not paused\.", lambda m: str(_l("This subscription is not paused."))),
    _known(r"This subscription is cancelled; it (can no longer be changed|cannot be unpaused)\.",
           lambda m: str(_l("This subscription is cancelled: it can no longer change."))),
    _known(r"This subscription is already cancelled.*",
           lambda m: str(_l("This subscription is already cancelled (cancelling cannot be undone)."))),
    _known(r"Could not (skip|resume) the order: the subscription is cancelled\.|"
           r"Could not skip the orders: the subscription is cancelled\.",
           lambda m: str(_l("This subscription is cancelled: its deliveries can no longer change."))),
    _known(r"Could not (skip|resume) the order: its order cycle has closed\.",
           lambda m: str(_l("This delivery can no longer change: its order cycle has closed."))),
    _known(r"This order cycle is not an occurrence of this subscription\.",
           lambda m: str(_l("This delivery is not one of this subscription's any more: reload the page."))),
)

# Field messages whose words for a customer ("your deliveries") are not a manager's: the console's words first.
MANAGER_FIELDS: tuple[Known, ...] = (
    _known(r"No delivery of this subscription falls between these dates\.",
           lambda m: str(_l("None of this subscription's deliveries falls between these dates"))),
    _known(r"Choose keep or cancel\.", lambda m: str(_l("Choose whether to keep or cancel the orders already "
                                                        "placed"))),
)


def manager_field_errors(err: ApiError) -> dict[str, list[str]]:
    """``field_errors`` for the shop's manager: the console's words where a customer's would not fit."""
    return {name: [_match(MANAGER_FIELDS, m) or field_message(m, err) for m in messages]
            for name, messages in err.errors.items()}


# What the API notes on a subscription it saved or unpaused (its ``warnings``), told to the manager.
NOTICES: tuple[Known, ...] = (
    _known(r"Subscriptions are disabled for .*: no order is placed until they are enabled\.",
           lambda m: str(_l("Subscriptions are switched off for this shop: no order is placed until they are "
                            "switched on in the shop's settings."))),
    _known(r"(?P<name>.*) is currently unavailable: orders get none of it until it is back\.",
           lambda m: str(_l("%(name)s is not available now: orders get none of it until it is back.",
                            name=m["name"]))),
    _known(r"(?P<name>.*) has a quantity of 0: orders never include it; change its quantity or remove it\.",
           lambda m: str(_l("%(name)s has a quantity of 0: orders never include it. Change its quantity or remove "
                            "it.", name=m["name"]))),
    _known(r"There are no open or upcoming order cycles for this subscription in its schedule\.",
           lambda m: str(_l("Its schedule has no open or upcoming order cycle: no order is placed until one is "
                            "added."))),
    _known(r"An order cycle of this subscription is open: an order will be placed for this customer now\.",
           lambda m: str(_l("An order cycle is open: an order is placed for this customer now."))),
    _known(r"Some orders for this subscription can be resumed right now: resume them from its occurrences\.",
           lambda m: str(_l("Some of its deliveries in open order cycles are skipped or cancelled: bring them back "
                            "from its deliveries below if they are wanted."))),
)


def notice(text: str) -> str:
    """A note of the API on a subscription (a warning), in the reader's words."""
    ours = _match(NOTICES, text)
    if ours is None:
        log.warning("a notice without words of ours", extra={"api_message": text[:200]})
        return str(_l("Check this subscription: something may keep its orders from being placed."))
    return ours


def manager_problem(err: ApiError) -> str:
    """A refusal as a whole, to the shop's manager: a subscription's known detail, else as to anyone."""
    return _match(MANAGER_DETAILS, err.detail or "") or problem_message(err)


# The kinds of problem (PROBLEM_TYPES' slugs) a person can meet on a page, then each status' general sentence.
KINDS = {
    "order-closed": _l("Orders for this delivery have closed: this order can no longer be changed."),
    "order-not-editable": _l("This order cannot be changed in its current state."),
    "forbidden": _l("You are not allowed to do this. Write to the shop."),
    "not-found": _l("This was not found. It may have been removed: reload the page."),
    "conflict": _l("Something changed meanwhile. Reload the page, check it and try again."),
    "idempotency-key-busy": _l("Your last request is still being handled. Wait a moment and reload the page."),
    "stale-version": _l("This order changed since you opened the page: here it is as it is now. Check it and try "
                        "again."),
    "validation": _l("Check what you entered and try again."),
    "rate-limited": _l("Too many attempts. Wait a few minutes, then try again."),
    "stripe-refused": _l("The card payment service refused this. Try again, or use another card."),
    "not-ready": _l("The shop's system is busy. Try again in a few minutes. Nothing was changed."),
}
BY_STATUS = {400: "validation", 403: "forbidden", 404: "not-found", 409: "conflict", 412: "stale-version",
             422: "validation", 429: "rate-limited", 502: "stripe-refused", 503: "not-ready"}
SOMETHING_WRONG = _l("Sorry, this could not be done. Try again in a few minutes. Nothing was changed.")


def _match(table: tuple[Known, ...], text: str) -> str | None:
    for known in table:
        found = known.pattern.fullmatch(text.strip())
        if found:
            return known.ours(found.groupdict())
    return None


def slug(err: ApiError) -> str:
    """The problem's kind: the last segment of its ``type`` URI (``.../problems/order-closed``)."""
    return err.type.rstrip("/").rsplit("/", 1)[-1] if err.type and err.type != "about:blank" else ""


def kind_message(err: ApiError) -> str:
    """The general sentence of the refusal's kind (its type, else its status)."""
    found = KINDS.get(slug(err)) or KINDS.get(BY_STATUS.get(err.status, ""))
    return str(found or SOMETHING_WRONG)


def field_message(message: str, err: ApiError | None = None) -> str:
    """A service's message about one field, in the reader's words."""
    ours = _match(FIELD_MESSAGES, message)
    if ours is None:
        log.warning("a field refusal without words of ours", extra={"api_message": message[:200]})
        return str(_l("This value is not accepted. Check it and try again.")) if err is None or err.status == 422 \
            else kind_message(err)
    return ours


def problem_message(err: ApiError) -> str:
    """A refusal as a whole (no field at fault), in the reader's words: its known detail, else its kind."""
    return _match(DETAILS, err.detail or "") or kind_message(err)


def field_errors(err: ApiError) -> dict[str, list[str]]:
    """The refusal's field errors, each in the reader's words (same fields, same order)."""
    return {name: [field_message(m, err) for m in messages] for name, messages in err.errors.items()}
