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
