"""One payment retry default for the whole platform (issue 21, point 16): the policy a new shop gets from
subscription-service is the one billing-service applies to shops that name none, the one its README documents and
the one subscription-service's OpenAPI document states. No I/O."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

from billing_service.domain.model import DEFAULT_RETRY_POLICY
from devstack.apidocs import openapi
from shared_events.contracts.shops import ShopCreatedV1, default_payment_retry
from subscription_service.domain.common import By
from subscription_service.domain.shops import create_shop

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTED = {"delays_hours": [24, 72], "max_attempts": 3}  # billing-service's README since issue 6
SETTINGS = {"name": "La Ruche", "timezone": "Europe/Paris", "currency": "EUR", "contact_email": "a@b.example"}
ADMIN = By(actor={"type": "admin", "id": "admin"}, now=datetime(2026, 4, 1, tzinfo=UTC))


def test_the_platform_default_is_the_documented_one_24_then_72_hours_3_attempts():
    assert default_payment_retry() == DOCUMENTED


def test_a_new_shop_gets_the_documented_default_in_its_shop_created_event():
    [created] = create_shop("shop-1", SETTINGS, ADMIN)
    assert created.payload["settings"]["payment_retry"] == DOCUMENTED
    assert ShopCreatedV1().validate({**created.payload, "shop_id": "5a2c1b7e-0000-4000-8000-000000000001"}) == {}


def test_billing_applies_the_default_to_a_shop_that_names_none_24_h_then_72_h_then_never_again():
    failed_at = datetime(2026, 4, 3, 15, tzinfo=UTC)
    assert DEFAULT_RETRY_POLICY.max_attempts == 3
    assert [DEFAULT_RETRY_POLICY.next_attempt_at(n, failed_at) for n in (1, 2, 3)] == [
        failed_at + timedelta(hours=24), failed_at + timedelta(hours=72), None]


def test_the_openapi_document_states_the_default_where_managers_set_it():
    schemas = openapi("subscription_service")["components"]["schemas"]
    create = schemas["ShopCreateIn"]["properties"]["payment_retry"]
    assert create["default"] == DOCUMENTED
    for name in ("ShopCreateIn", "ShopSettingsIn", "ShopOut"):
        assert "24 h then 72 h, 3 attempts in all" in schemas[name]["properties"]["payment_retry"]["description"]


def test_billing_service_readme_states_the_default():
    readme = " ".join((ROOT / "services/billing-service/README.md").read_text().split())
    assert "default, also applied to a shop whose events name no policy, is 24 h then 72 h, 3 attempts" in readme
