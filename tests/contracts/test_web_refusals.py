"""The web app shows the services' refusals in the customer's words (web_app.refusals): its table must know the
sentences the services' code actually says, or a refusal would fall back to a general message. This reads them
from the services' own code (order-service's edit rules, subscription-service's card rules). No I/O."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from billing_service.domain import payments as decide
from billing_service.domain.errors import DomainError as BillingRefusal
from billing_service.domain.model import MANUAL_RETRY_CAP, Payment
from order_service.domain import editing, errors
from order_service.domain.commands import ChangeLineQuantity, RemoveLine
from order_service.domain.model import Fee, Fees, Line, Order, Stock
from web_app.refusals import DETAILS, FIELD_MESSAGES

NOW = datetime(2026, 4, 1, 12, tzinfo=UTC)
ORDER = Order("o-1", "R1", "shop", "sub", "cycle", "cust", "placed", "EUR",
              [Line("l-1", "eggs", "Eggs", 320, 2, 2, None)], "ship", "pay", "cash", {}, {},
              NOW + timedelta(days=1), False, 1)
FEES = Fees({"ship": Fee(0, 0)}, {"pay": Fee(0, 0)})
CUSTOMER = editing.Editor("customer", True)


def known(table, text: str) -> bool:
    return any(k.pattern.fullmatch(text) for k in table)


def refusal(call) -> errors.DomainError:
    with pytest.raises(errors.DomainError) as caught:
        call()
    return caught.value


@pytest.mark.parametrize("call", [
    lambda: editing.change_line_quantity(ORDER, ChangeLineQuantity("shop", "o-1", "l-1", 9), CUSTOMER,
                                         Stock({"eggs": 3}), FEES, NOW),
    lambda: editing.remove_line(ORDER, RemoveLine("shop", "o-1", "l-1"), CUSTOMER, FEES, NOW),
], ids=["out of stock", "last line"])
def test_order_services_field_refusals_to_a_customer_are_in_the_web_apps_table(call):
    found = refusal(call)
    assert found.errors
    for messages in found.errors.values():
        for message in messages:
            assert known(FIELD_MESSAGES, message), message


@pytest.mark.parametrize("call", [
    lambda: editing.cancel(ORDER, editing.Editor("customer", False), NOW),
    lambda: editing.resume(replace(ORDER, status="cancelled", cancel_cause="manager"), CUSTOMER, Stock({}), FEES,
                           NOW),
    lambda: editing.cancel(replace(ORDER, status="cancelled"), CUSTOMER, NOW),
    lambda: editing.resume(ORDER, CUSTOMER, Stock({}), FEES, NOW),
    lambda: editing.remove_line(replace(ORDER, status="cancelled"), RemoveLine("shop", "o-1", "l-1"), CUSTOMER, FEES,
                                NOW),
    lambda: editing.remove_line(replace(ORDER, status="empty"), RemoveLine("shop", "o-1", "l-1"), CUSTOMER, FEES, NOW),
], ids=["shop does not allow", "cancelled by the shop", "already cancelled", "not cancelled", "cancelled",
        "empty"])
def test_order_services_refusals_of_an_order_to_a_customer_are_in_the_web_apps_table(call):
    found = refusal(call)
    assert known(DETAILS, found.message), found.message


def test_subscription_services_card_refusals_are_in_the_web_apps_table():
    from subscription_service.domain import customers

    assert known(FIELD_MESSAGES, "No such card setup.")
    source = customers.__file__
    with open(source, encoding="utf-8") as f:
        text = f.read()
    assert '"No such card setup."' in text and '"The card setup is not finished' in text
    assert '"No default card on file."' in text and "Save a default card first" in text


def test_subscription_services_refusals_of_a_customers_details_and_invitation_are_in_the_web_apps_table():
    from subscription_service.domain import customers
    from subscription_service.domain.errors import DomainError
    from subscription_service.service_layer import sign_in

    proven = customers.Customer("c", "shop", 1, {"email": "a@example.org"}, allow_charges=True)
    by = customers.By(actor={"type": "manager", "id": "m"}, now=NOW, reason=None)
    with pytest.raises(DomainError) as caught:
        customers.update_customer(proven, {"email": "b@example.org"}, by, email_taken=False)
    assert known(DETAILS, caught.value.message), caught.value.message
    with pytest.raises(DomainError) as caught:
        customers.create_customer("c", "shop", {"email": "a@example.org", "first_name": "A", "last_name": "B"}, by,
                                  email_taken=True)
    for message in caught.value.errors["email"]:
        assert known(FIELD_MESSAGES, message), message
    too_many = sign_in.TOO_MANY_LINKS.format(n=sign_in.MAX_LINKS_PER_WINDOW, minutes=15)
    assert known(DETAILS, too_many), too_many
def _schedule_and_cycle_refusals():
    """What subscription-service's schedule, cycle and generator rules say to a manager, from its own code."""
    from datetime import date, time

    from subscription_service.domain import cycles, generator, schedules
    from subscription_service.domain.common import By

    by = By(actor={"kind": "manager"}, now=NOW, reason=None)
    s = schedules.Schedule("s", "shop", 1, "Weekly", ("c1",))
    c = cycles.OrderCycle("c1", "shop", 1, "Week 1", NOW - timedelta(days=2), NOW - timedelta(days=1))
    rule = generator.WeeklyRule(1, time(9), 4, time(17), "Europe/Paris", date(2199, 12, 10), 4)
    return [
        lambda: schedules.create_schedule("s", "shop", "Weekly", [], set(), by),
        lambda: schedules.create_schedule("s", "shop", "Weekly", ["gone"], set(), by),
        lambda: schedules.change_cycles(s, by, remove=["c1"], known=set()),
        lambda: schedules.change_cycles(s, by, remove=["other"], known=set()),
        lambda: schedules.rename_schedule(s, " ", by),
        lambda: cycles.create_cycle("c", "shop", "W", NOW + timedelta(days=2), NOW + timedelta(days=1), by),
        lambda: cycles.create_cycle("c", "shop", "W", NOW - timedelta(days=2), NOW - timedelta(days=1), by),
        lambda: cycles.create_cycle("c", "shop", "W", NOW.replace(year=1999), NOW, by),
        lambda: generator.generate(rule),
        lambda: generator.generate(replace(rule, start_date=date(2200, 1, 10), count=1)),
        lambda: cycles.delete_cycle(c, ["Weekly"], by),
        lambda: schedules.delete_schedule(s, 2, by),
        lambda: cycles.move_cycle(c, by, name="New"),
    ]


def test_subscription_services_schedule_and_cycle_refusals_to_a_manager_are_in_the_web_apps_table():
    from subscription_service.domain.errors import DomainError

    for call in _schedule_and_cycle_refusals():
        with pytest.raises(DomainError) as caught:
            call()
        found = caught.value
        if found.errors and found.message.startswith("The request breaks"):
            for messages in found.errors.values():
                for message in messages:
                    assert known(FIELD_MESSAGES, message), message
        else:
            assert known(DETAILS, found.message), found.message


def _payment(status: str, method: str = "stripe", attempts: int = 1, refunded: int = 0):
    collected = 1000 if status in ("succeeded", "paid", "refunded") else 0
    return Payment(payment_id="p-1", order_id="o-1", shop_id="s-1", customer_id="c-1", method=method, amount=1000,
                   currency="EUR", status=status, version=4, attempts=attempts, collected_amount=collected,
                   collected_by="stripe" if collected else None, amount_refunded=refunded)


def _billing_refusal(call):
    with pytest.raises(BillingRefusal) as caught:
        call()
    return caught.value


MANAGER = {"type": "manager", "id": "tok-1"}


@pytest.mark.parametrize("call", [
    lambda: decide.retry_now(_payment("succeeded"), MANAGER, None),
    lambda: decide.retry_now(_payment("pending", method="cash"), MANAGER, None),
    lambda: decide.retry_now(_payment("failed", attempts=MANUAL_RETRY_CAP), MANAGER, None),
    lambda: decide.mark_paid(_payment("paid"), None, MANAGER, None),
    lambda: decide.mark_paid(_payment("processing"), None, MANAGER, None),
    lambda: decide.refund_amount(_payment("failed"), 100, 0),
], ids=["retry a paid one", "retry cash", "retried too often", "mark paid twice", "mark paid while charging",
        "refund nothing collected"])
def test_billing_services_refusals_of_a_managers_command_are_in_the_web_apps_table(call):
    found = _billing_refusal(call)
    assert known(DETAILS, str(found)), str(found)


@pytest.mark.parametrize("requested, refunded", [(1500, 0), (1, 1000), (0, 0)],
                         ids=["more than was charged", "all refunded", "nothing"])
def test_billing_services_refund_refusals_by_the_amount_are_in_the_web_apps_table(requested, refunded):
    found = _billing_refusal(lambda: decide.refund_amount(_payment("succeeded", refunded=refunded), requested, 0))
    assert known(FIELD_MESSAGES, str(found)), str(found)




# -- a subscription's rules, told to the shop's manager (the console's Subscriptions page) ---------------------------


def _subscription_world():
    from subscription_service.domain.customers import Customer
    from subscription_service.domain.cycles import OrderCycle
    from subscription_service.domain.schedules import Schedule
    from subscription_service.domain.shops import Method, Shop
    from subscription_service.domain.validation import Context, Variant

    shop = Shop("shop", 1, {"name": "La Ruche", "currency": "EUR", "timezone": "Europe/Paris",
                            "subscriptions_enabled": False},
                {"ship": Method("ship", "Delivery", 0, 0, active=False)},
                {"card": Method("card", "Card", 0, 0, kind="stripe"), "other": Method("other", "Other", 0, 0,
                                                                                       kind="cheque")})
    variants = {"eggs": Variant("eggs", "Eggs", None, 10**12, "EUR", available=False),
                "usd": Variant("usd", "Tea", None, 100, "USD")}
    cycle = OrderCycle("c-1", "shop", 1, "S1", NOW - timedelta(days=30), NOW - timedelta(days=29))
    return Context(shop, Customer("cust", "other-shop", 1, {}), Schedule("sch", "shop", 1, "Weekly", ()),
                   (cycle,), variants, NOW)


def test_every_rule_a_subscription_breaks_is_told_to_the_manager_in_the_web_apps_words():
    from subscription_service.domain.terms import Item, Terms
    from subscription_service.domain.validation import Context, Draft, validate

    ctx = _subscription_world()
    terms = Terms((Item("eggs", 2), Item("usd", -1), Item("none", 0), Item("eggs", 1)), "ship", "other", None,
                  {"x": 1}, {"x": 1}, NOW, NOW - timedelta(days=1))
    errors, _ = validate(ctx, Draft("cust", "sch", terms))
    stripe_ctx = Context(ctx.shop, replace(ctx.customer, shop_id="shop"), ctx.schedule, ctx.cycles, ctx.variants,
                         NOW)
    card_errors, _ = validate(stripe_ctx, Draft("cust", "sch", replace(terms, payment_method_id="card")))
    empty, _ = validate(ctx, Draft(None, None, Terms((), None, None, None, None, None, None)))
    messages = [m for found in (errors, card_errors, empty) for ms in found.values() for m in ms]
    assert len(messages) >= 12
    for message in messages:
        assert known(FIELD_MESSAGES, message), message


def test_every_note_on_a_saved_or_unpaused_subscription_is_told_to_the_manager_in_the_web_apps_words():
    from subscription_service.domain.occurrences import unpause_notices
    from subscription_service.domain.terms import Item, Terms
    from subscription_service.domain.validation import Draft, warnings
    from web_app.refusals import NOTICES

    ctx = _subscription_world()
    noted = warnings(ctx, Draft("cust", "sch", Terms((Item("eggs", 1),), None, None, None, None, None, NOW)))
    assert len(noted) == 3
    said = unpause_notices.__code__.co_consts  # its two sentences (built from occurrences, which need much more)
    noted += [c for c in said if isinstance(c, str) and c.endswith(".") and c != unpause_notices.__doc__]
    assert len(noted) == 5
    for text in noted:
        assert known(NOTICES, text), text


def test_every_refusal_of_an_action_on_a_subscription_is_told_to_the_manager_in_the_web_apps_words():
    from subscription_service.domain import subscriptions as subs
    from subscription_service.domain.common import By
    from subscription_service.domain.cycles import OrderCycle
    from subscription_service.domain.errors import DomainError
    from subscription_service.domain.terms import Terms
    from web_app.refusals import MANAGER_DETAILS

    by = By({"type": "manager", "id": "t"}, NOW)
    live = subs.Subscription("s", "shop", "cust", "sch", "EUR", 1, Terms((), None, None, None, None, None, NOW), NOW)
    cancelled = replace(live, cancelled_at=NOW)
    closed = OrderCycle("c", "shop", 1, "S1", NOW - timedelta(days=2), NOW - timedelta(days=1))
    calls = [lambda: subs.pause(replace(live, paused_at=NOW), [], None, by),
             lambda: subs.unpause(live, _subscription_world(), by),
             lambda: subs.unpause(cancelled, _subscription_world(), by),
             lambda: subs.update_subscription(cancelled, _subscription_world(), {}, by),
             lambda: subs.cancel(cancelled, [], None, by),
             lambda: subs.skip(cancelled, closed, True, by),
             lambda: subs.skip(live, closed, True, by),
             lambda: subs.resume(live, closed, False, by),
             lambda: subs.holidays(cancelled, [], NOW.date(), NOW.date(), "UTC", by)]
    for call in calls:
        with pytest.raises(DomainError) as caught:
            call()
        assert known(MANAGER_DETAILS, caught.value.message), caught.value.message


@pytest.mark.parametrize("settings", [
    {"timezone": "Mars/Olympus"},
    {"timezone": "US/Eastern"},
    {"payment_retry": {"delays_hours": [72, 24], "max_attempts": 3}},
    {"payment_retry": {"delays_hours": [24], "max_attempts": 3}},
], ids=["no such zone", "old alias", "delays not increasing", "one delay per retry"])
def test_subscription_services_refusals_of_a_shops_settings_are_in_the_web_apps_table(settings):
    from subscription_service.domain.shops import settings_errors

    errors = settings_errors(settings, NOW.date())
    assert errors
    for messages in errors.values():
        for message in messages:
            assert known(FIELD_MESSAGES, message), message


def test_every_refusal_of_a_substitute_and_the_note_on_an_old_line_of_quantity_0_are_in_the_web_apps_words():
    from subscription_service.domain.terms import Item, Terms
    from subscription_service.domain.validation import Draft, validate, warnings
    from web_app.refusals import NOTICES

    ctx = _subscription_world()
    terms = Terms((Item("eggs", 2, None, ("eggs", "none", "none", "usd")),), "ship", "other", None, {"x": 1},
                  {"x": 1}, NOW)
    errors, _ = validate(ctx, Draft("cust", "sch", terms))
    said = [m for name, ms in errors.items() if ".substitutes" in name for m in ms]
    assert len(said) == 5  # too many, itself, unknown, repeated, another currency
    for message in said:
        assert known(FIELD_MESSAGES, message), message
    [noted] = [w for w in warnings(ctx, Draft("cust", "sch", Terms((Item("eggs", 0),), None, None, None, None, None,
                                                                   NOW))) if "quantity of 0" in w]
    assert known(NOTICES, noted), noted
