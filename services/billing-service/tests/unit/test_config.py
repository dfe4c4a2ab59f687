"""Configuration guards: what production refuses, and secrets kept out of repr (no I/O)."""

from dataclasses import replace

import pytest

from billing_service import DEFAULT_PORT, SERVICE_NAME
from billing_service.config import ServiceSettings
from servicekit.config import ConfigError, Settings

BASE = Settings.from_env(SERVICE_NAME, DEFAULT_PORT)
PROD = replace(BASE, app_env="production", test_clock_url=None)
REAL = {"STRIPE_API_KEY": "sk_test_abcdefghijklmnop", "STRIPE_WEBHOOK_SECRET": "whsec_abcdefghijkl",
        "PAYMENT_LINK_SIGNING_KEY": "x" * 40, "STRIPE_PUBLISHABLE_KEY": "pk_test_abcdefghijklmnop"}


def test_a_localstripe_address_selects_the_localstripe_flavour_and_the_real_api_the_stripe_one():
    local = ServiceSettings.from_env({"STRIPE_API_BASE": "http://127.0.0.1:8420"}, BASE)
    real = ServiceSettings.from_env({}, BASE)
    assert (local.stripe.flavour, real.stripe.flavour) == ("localstripe", "stripe")
    assert real.stripe.api_base is None and local.stripe.rate_limit == 25


def test_production_refuses_localstripe_test_faults_and_missing_secrets():
    assert ServiceSettings.from_env(REAL, PROD).stripe.flavour == "stripe"
    for extra in ({"STRIPE_API_BASE": "http://127.0.0.1:8420"}, {"CHARGER_FAULT": "crash_after_stripe_call"}):
        with pytest.raises(ConfigError):
            ServiceSettings.from_env({**REAL, **extra}, PROD)
    for missing in REAL:  # missing, or (the publishable key) left at its development default
        with pytest.raises(ConfigError):
            ServiceSettings.from_env({k: v for k, v in REAL.items() if k != missing}, PROD)


def test_secrets_never_appear_in_the_settings_repr():
    settings = ServiceSettings.from_env(REAL, BASE)
    text = repr(settings)
    secrets = [v for k, v in REAL.items() if k != "STRIPE_PUBLISHABLE_KEY"]  # public: shown to every customer
    assert all(secret not in text for secret in secrets)


def test_a_bad_rate_is_refused():
    with pytest.raises(ConfigError):
        ServiceSettings.from_env({"STRIPE_RATE_LIMIT": "fast"}, BASE)
    with pytest.raises(ConfigError):
        ServiceSettings.from_env({"STRIPE_RATE_LIMIT": "0"}, BASE)


def test_a_webhook_tolerance_that_is_not_positive_is_refused():
    """0 would switch the SDK's age check off, and every future timestamp would be refused."""
    for bad in ("0", "-5"):
        with pytest.raises(ConfigError, match="STRIPE_WEBHOOK_TOLERANCE_S"):
            ServiceSettings.from_env({"STRIPE_WEBHOOK_TOLERANCE_S": bad}, BASE)
    assert ServiceSettings.from_env({}, BASE).stripe.webhook_tolerance_s == 300


def test_the_charger_crash_hook_is_refused_in_production_and_fires_once_with_a_marker(tmp_path):
    from billing_service.service_layer.charging import fault_hook

    marker = tmp_path / "crashed"
    assert fault_hook("crash_after_stripe_call", str(marker), production=True) is None
    assert fault_hook("something_else", str(marker), production=False) is None
    assert fault_hook(None, None, production=False) is None
    assert callable(fault_hook("crash_after_stripe_call", str(marker), production=False))
    marker.write_text("crashed")
    assert fault_hook("crash_after_stripe_call", str(marker), production=False) is None
