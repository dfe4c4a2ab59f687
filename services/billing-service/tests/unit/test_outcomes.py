"""What a Stripe answer means: classification of intents and errors (no I/O)."""

from billing_service.domain import outcomes as oc
from billing_service.domain.outcomes import StripeFailure, classify_failure, classify_intent


def test_a_succeeded_intent_is_a_success_with_its_charge_whatever_the_shape_of_latest_charge():
    as_id = classify_intent({"id": "pi_1", "status": "succeeded", "latest_charge": "ch_1"})
    as_object = classify_intent({"id": "pi_1", "status": "succeeded", "latest_charge": {"id": "ch_1"}})
    assert as_id == as_object == oc.Outcome(oc.SUCCEEDED, payment_intent_id="pi_1", charge_id="ch_1")


def test_an_intent_requiring_action_asks_the_customer_to_authenticate():
    outcome = classify_intent({"id": "pi_2", "status": "requires_action"})
    assert outcome.kind == oc.REQUIRES_ACTION and outcome.payment_intent_id == "pi_2"


def test_real_stripe_off_session_authentication_required_is_an_authorisation_not_a_failure():
    failure = StripeFailure(kind="card", http_status=402, code="authentication_required",
                            payment_intent={"id": "pi_3", "status": "requires_payment_method"})
    assert classify_failure(failure).kind == oc.REQUIRES_ACTION
    assert classify_failure(failure).payment_intent_id == "pi_3"


def test_a_decline_without_decline_code_is_a_soft_retryable_card_decline():
    outcome = classify_failure(StripeFailure(kind="card", http_status=402, code="card_declined", charge_id="ch_9"))
    assert (outcome.kind, outcome.code, outcome.retryable) == (oc.FAILED, "card_declined", True)
    assert outcome.message == "Your bank declined the payment."


def test_insufficient_funds_is_soft_and_explained_in_plain_words():
    outcome = classify_failure(StripeFailure(kind="card", code="card_declined", decline_code="insufficient_funds"))
    assert outcome.retryable and outcome.decline_code == "insufficient_funds"
    assert "not enough funds" in (outcome.message or "")


def test_hard_declines_are_never_retryable():
    for decline in ("stolen_card", "lost_card", "fraudulent", "do_not_try_again", "expired_card", "pickup_card"):
        outcome = classify_failure(StripeFailure(kind="card", code="card_declined", decline_code=decline))
        assert outcome.kind == oc.FAILED and not outcome.retryable, decline
    assert not classify_failure(StripeFailure(kind="card", code="expired_card")).retryable
    assert "stolen" not in (classify_failure(StripeFailure(kind="card", code="card_declined",
                                                           decline_code="stolen_card")).message or "")


def test_a_failed_authentication_is_final():
    intent = {"id": "pi_4", "status": "requires_payment_method",
              "last_payment_error": {"code": "payment_intent_authentication_failure"}}
    outcome = classify_intent(intent)
    assert (outcome.kind, outcome.code, outcome.retryable) == (oc.FAILED, oc.AUTHENTICATION_FAILED, False)


def test_errors_on_stripes_side_are_transient_and_ambiguous():
    for kind, status in (("rate_limit", 429), ("api", 500), ("api", 503), ("connection", None)):
        failure = StripeFailure(kind=kind, http_status=status)
        assert failure.transient
        outcome = classify_failure(failure)
        assert outcome.code == oc.STRIPE_UNAVAILABLE and outcome.retryable and outcome.ambiguous


def test_a_card_stripe_no_longer_knows_is_a_hard_failure():
    outcome = classify_failure(StripeFailure(kind="invalid_request", http_status=404))
    assert outcome.code == "payment_method_unavailable" and not outcome.retryable
    assert not StripeFailure(kind="invalid_request", http_status=400).transient


def test_a_cancelled_intent_is_a_final_failure_and_processing_is_no_outcome_yet():
    assert not classify_intent({"id": "pi", "status": "canceled"}).retryable
    assert classify_intent({"id": "pi", "status": "processing"}).kind == oc.PROCESSING
