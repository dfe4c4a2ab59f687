"""Refund limits: never more than was collected (no I/O)."""

import pytest

from billing_service.domain import payments as decide
from billing_service.domain.errors import PaymentStateError, RefundRefused
from billing_service.domain.model import Payment

MANAGER = {"type": "manager", "id": "tok-1"}


def collected(amount=1000, refunded=0, status="succeeded"):
    return Payment(payment_id="p-1", order_id="o-1", shop_id="s-1", customer_id="c-1", method="stripe",
                   amount=amount, currency="EUR", status=status, version=4, collected_amount=amount,
                   collected_by="stripe", amount_refunded=refunded)


def test_no_amount_refunds_everything_still_refundable():
    assert decide.refund_amount(collected(refunded=300), None, pending=0) == 700


def test_a_partial_refund_within_what_remains_is_accepted():
    assert decide.refund_amount(collected(refunded=300), 700, pending=0) == 700


def test_more_than_what_remains_is_refused_with_the_remaining_amount():
    with pytest.raises(RefundRefused) as refused:
        decide.refund_amount(collected(refunded=400), 700, pending=0)
    assert refused.value.remaining == 600


def test_refunds_in_flight_count_against_the_limit():
    with pytest.raises(RefundRefused) as refused:
        decide.refund_amount(collected(), 600, pending=500)
    assert refused.value.remaining == 500


def test_a_fully_refunded_payment_refunds_nothing_more():
    with pytest.raises(RefundRefused):
        decide.refund_amount(collected(refunded=1000, status="refunded"), 1, pending=0)


def test_nothing_collected_nothing_refunded():
    for status in ("pending", "processing", "failed", "requires_action"):
        with pytest.raises(PaymentStateError):
            decide.refund_amount(collected(status=status), 1, pending=0)


def test_the_refund_event_carries_the_running_total_and_keeps_the_invariant():
    t, e = decide.refunded(collected(refunded=300), "r-1", 200, "re_1", MANAGER, "damaged eggs")
    assert (t, e["amount"], e["total_refunded"], e["stripe_refund_id"]) == ("PaymentRefunded", 200, 500, "re_1")
    with pytest.raises(RefundRefused):
        decide.refunded(collected(refunded=900), "r-2", 200, None, MANAGER, None)
