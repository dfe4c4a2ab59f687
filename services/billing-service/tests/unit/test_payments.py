"""Decisions on a Payment: opening, outcomes, retries, manager commands (no I/O)."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from billing_service.domain import outcomes as oc
from billing_service.domain import payments as decide
from billing_service.domain.errors import PaymentStateError
from billing_service.domain.model import Attempt, CardLabel, CardOnFile, Payment, PaymentRequest, RetryPolicy

T = datetime(2026, 4, 3, 15, 0, tzinfo=UTC)
POLICY = RetryPolicy((24, 72), 3)
MANAGER = {"type": "manager", "id": "tok-1"}


def url(n):
    return f"https://shop.example/shops/s-1/payments/p-1/authorize#attempt-{n}"


def payment(status="processing", attempts=1, attempt_status="started", **kw):
    history = tuple(Attempt(n, f"order-o-1-attempt-{n}", 1250, "failed" if n < attempts else attempt_status)
                    for n in range(1, attempts + 1))
    return Payment(payment_id="p-1", order_id="o-1", shop_id="s-1", customer_id="c-1", method="stripe", amount=1250,
                   currency="EUR", status=status, version=2 + attempts, attempts=attempts, history=history, **kw)


def test_a_card_payment_opens_with_attempt_one_and_its_idempotency_key():
    request = PaymentRequest("o-1", "s-1", "c-1", "R-1", 1250, "EUR", "stripe")
    (t1, pending), (t2, started) = decide.open_payment(request, "p-1")
    assert (t1, pending["method"], pending["amount"]) == ("PaymentPending", "stripe", 1250)
    assert (t2, started["attempt"], started["idempotency_key"]) == ("PaymentAttemptStarted", 1, "order-o-1-attempt-1")


def test_a_cash_payment_only_waits_for_a_manager():
    request = PaymentRequest("o-1", "s-1", "c-1", "R-1", 1250, "EUR", "cash")
    assert [t for t, _ in decide.open_payment(request, "p-1")] == ["PaymentPending"]


def test_no_card_and_no_permission_are_told_apart():
    card = CardOnFile("c-1", "cus_1", "pm_1", charges_allowed=True, allowed_payment_method_id="pm_1")
    assert decide.precheck(card) is None
    assert decide.precheck(None) == oc.NO_CARD
    assert decide.precheck(replace(card, payment_method_id=None)) == oc.NO_CARD
    assert decide.precheck(replace(card, deleted=True)) == oc.NO_CARD
    assert decide.precheck(replace(card, charges_allowed=False)) == oc.NO_PERMISSION
    # the permission was given for another card than today's default card
    assert decide.precheck(replace(card, payment_method_id="pm_2")) == oc.NO_PERMISSION


def test_a_refusal_before_the_call_is_final_and_names_its_reason():
    [(t, e)] = decide.refuse_before_call(payment(), 1, oc.NO_PERMISSION, T)
    assert (t, e["code"], e["final"], e["retryable"], e["next_attempt_at"]) == (
        "PaymentFailed", "no_permission", True, False, None)


def test_success_records_the_stripe_references():
    [(t, e)] = decide.record_outcome(payment(), 1, oc.Outcome(oc.SUCCEEDED, "pi_1", "ch_1"), POLICY, T, url)
    assert (t, e["attempt"], e["amount"], e["stripe_payment_intent_id"], e["stripe_charge_id"]) == (
        "PaymentSucceeded", 1, 1250, "pi_1", "ch_1")


def test_success_names_the_card_charged_for_the_customers_receipt():
    [(_, named)] = decide.record_outcome(payment(), 1, oc.Outcome(oc.SUCCEEDED, "pi_1", "ch_1"), POLICY, T, url,
                                         CardLabel("visa", "3155"))
    assert (named["card_brand"], named["card_last4"]) == ("visa", "3155")
    [(_, unnamed)] = decide.record_outcome(payment(), 1, oc.Outcome(oc.SUCCEEDED, "pi_1"), POLICY, T, url)
    assert (unnamed["card_brand"], unnamed["card_last4"]) == (None, None)


def test_a_succeeded_intent_names_the_card_it_charged():
    intent = {"id": "pi_1", "status": "succeeded", "latest_charge": "ch_1", "payment_method": {"id": "pm_1"}}
    assert oc.classify_intent(intent).payment_method_id == "pm_1"
    assert oc.classify_intent({**intent, "payment_method": "pm_2"}).payment_method_id == "pm_2"


def test_a_soft_decline_is_retried_on_the_shops_schedule_and_the_last_attempt_is_final():
    soft = oc.failed("card_declined", "insufficient_funds", retryable=True, pi="pi_1")
    [(_, first)] = decide.record_outcome(payment(), 1, soft, POLICY, T, url)
    assert (first["final"], first["next_attempt_at"]) == (False, T + timedelta(hours=24))
    [(_, third)] = decide.record_outcome(payment(attempts=3), 3, soft, POLICY, T, url)
    assert (third["final"], third["next_attempt_at"], third["retryable"]) == (True, None, True)


def test_hard_declines_and_authentication_failures_are_never_retried():
    for outcome in (oc.failed("card_declined", "stolen_card", retryable=False),
                    oc.failed(oc.AUTHENTICATION_FAILED, None, retryable=False)):
        [(_, e)] = decide.record_outcome(payment(), 1, outcome, POLICY, T, url)
        assert e["final"] and e["next_attempt_at"] is None


def test_authentication_required_gives_the_customer_a_link_and_no_retry_is_scheduled():
    [(t, e)] = decide.record_outcome(payment(), 1, oc.Outcome(oc.REQUIRES_ACTION, "pi_9"), POLICY, T, url)
    assert (t, e["stripe_payment_intent_id"], e["authorization_url"]) == (
        "PaymentAuthorizationRequired", "pi_9", url(1))


def test_outcomes_never_move_a_payment_backwards():
    paid = payment(status="succeeded", attempt_status="succeeded")
    assert decide.record_outcome(paid, 1, oc.failed("card_declined", None, True), POLICY, T, url) == []
    assert decide.record_outcome(paid, 1, oc.Outcome(oc.SUCCEEDED, "pi_1"), POLICY, T, url) == []
    waiting = payment(status="requires_action", attempt_status="requires_action")
    assert decide.record_outcome(waiting, 1, oc.Outcome(oc.REQUIRES_ACTION, "pi_1"), POLICY, T, url) == []
    failed = payment(status="failed", attempt_status="failed")
    assert decide.record_outcome(failed, 1, oc.failed("card_declined", None, True), POLICY, T, url) == []
    assert decide.record_outcome(payment(), 1, oc.Outcome(oc.PROCESSING, "pi_1"), POLICY, T, url) == []


def test_a_late_success_of_an_attempt_recorded_as_failed_is_still_recorded():
    failed = payment(status="failed", attempt_status="failed")
    [(t, _)] = decide.record_outcome(failed, 1, oc.Outcome(oc.SUCCEEDED, "pi_1"), POLICY, T, url)
    assert t == "PaymentSucceeded"


def test_a_scheduled_retry_starts_only_when_due():
    due = payment(status="failed", attempt_status="failed", final=False, next_attempt_at=T)
    assert decide.scheduled_retry(due, T - timedelta(seconds=1)) == []
    [(t, e)] = decide.scheduled_retry(due, T)
    assert (t, e["attempt"], e["idempotency_key"]) == ("PaymentAttemptStarted", 2, "order-o-1-attempt-2")
    assert decide.scheduled_retry(replace(due, final=True), T + timedelta(days=9)) == []


def test_a_manager_retries_a_failed_payment_even_after_the_last_automatic_attempt():
    final = payment(status="failed", attempts=3, attempt_status="failed", final=True)
    [(t, e)] = decide.retry_now(final, MANAGER, "customer saved a new card")
    assert (t, e["attempt"], e["actor"], e["reason"]) == ("PaymentAttemptStarted", 4, MANAGER,
                                                          "customer saved a new card")


def test_retry_now_is_refused_unless_the_payment_failed():
    for status in ("processing", "requires_action", "succeeded", "paid", "pending"):
        with pytest.raises(PaymentStateError):
            decide.retry_now(payment(status=status), MANAGER, None)


def test_mark_paid_is_refused_while_a_charge_is_in_flight_or_once_paid():
    for status in ("processing", "succeeded", "paid", "refunded"):
        with pytest.raises(PaymentStateError):
            decide.mark_paid(payment(status=status), None, MANAGER, None)
    [(t, e)] = decide.mark_paid(payment(status="failed", attempt_status="failed"), "cash at pickup", MANAGER, None)
    assert (t, e["amount"], e["note"]) == ("PaymentMarkedPaid", 1250, "cash at pickup")
