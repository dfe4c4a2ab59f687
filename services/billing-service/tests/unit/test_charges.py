"""What the charger sends, and how a crashed attempt is reconciled with what Stripe holds (no I/O)."""

from billing_service.domain import outcomes as oc
from billing_service.domain.charges import charge_params, reconcile
from billing_service.domain.model import Attempt, CardOnFile, Payment

PAYMENT = Payment(payment_id="p-1", order_id="o-1", shop_id="s-1", customer_id="c-1", method="stripe", amount=3640,
                  currency="EUR", status="processing", version=2, attempts=1, order_number="R-123")
ATTEMPT = Attempt(1, "order-o-1-attempt-1", 3640, "started")
CARD = CardOnFile("c-1", "cus_1", "pm_1", True, "pm_1")


def intent(attempt, status, created, **extra):
    return {"id": f"pi_{attempt}_{created}", "status": status, "created": created,
            "metadata": {"payment_id": "p-1", "attempt": str(attempt), "attempt_key": f"order-o-1-attempt-{attempt}"},
            **extra}


def test_an_off_session_confirmed_intent_on_the_saved_card_in_minor_units_naming_order_shop_and_attempt():
    params = charge_params(PAYMENT, ATTEMPT, CARD)
    assert params["amount"] == 3640 and params["currency"] == "eur"
    assert (params["customer"], params["payment_method"]) == ("cus_1", "pm_1")
    assert params["off_session"] is True and params["confirm"] is True
    assert params["payment_method_types"] == ["card"]
    assert params["metadata"] == {"payment_id": "p-1", "order_id": "o-1", "order_number": "R-123", "shop_id": "s-1",
                                  "attempt": "1", "attempt_key": "order-o-1-attempt-1"}
    assert "description" not in params and "automatic_payment_methods" not in params  # localstripe refuses them


def test_nothing_at_stripe_means_calling_is_safe():
    assert reconcile([], "order-o-1-attempt-1") is None
    assert reconcile([intent(2, "succeeded", 5)], "order-o-1-attempt-1") == (2, oc.classify_intent(
        intent(2, "succeeded", 5)))


def test_a_succeeded_intent_of_any_attempt_wins_over_everything():
    found = reconcile([intent(1, "requires_payment_method", 1), intent(2, "succeeded", 2)], "order-o-1-attempt-3")
    assert found is not None and found[0] == 2 and found[1].kind == oc.SUCCEEDED


def test_an_intent_still_processing_means_wait():
    found = reconcile([intent(1, "processing", 1)], "order-o-1-attempt-2")
    assert found is not None and found[1].kind == oc.PROCESSING


def test_this_attempts_own_intent_gives_its_outcome():
    declined = intent(1, "requires_payment_method", 1, last_payment_error={"code": "card_declined"})
    found = reconcile([declined], "order-o-1-attempt-1")
    assert found is not None and found[0] == 1 and found[1].kind == oc.FAILED
    waiting = reconcile([intent(1, "requires_action", 1)], "order-o-1-attempt-1")
    assert waiting is not None and waiting[1].kind == oc.REQUIRES_ACTION
