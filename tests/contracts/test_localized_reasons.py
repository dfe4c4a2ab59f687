"""Every payment failure reason billing-service can state has a French translation in order-service's emails."""

import pytest

from billing_service.domain.outcomes import MESSAGES
from order_service.adapters.reasons import FR, failure_reason


@pytest.mark.parametrize("code", sorted(MESSAGES))
def test_every_billing_reason_has_a_french_wording(code):
    assert code in FR


def test_the_bank_decline_code_wins_over_the_generic_code_and_unknown_codes_fall_back_to_english():
    payload = {"code": "card_declined", "decline_code": "insufficient_funds", "message": "Your bank declined."}
    assert "solde" in failure_reason(payload, "fr")
    assert failure_reason(payload, "en") == "Your bank declined."
    assert failure_reason({"code": "brand_new_code", "message": "Something new."}, "fr") == "Something new."
