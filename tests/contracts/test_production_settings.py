"""With APP_ENV=production every service refuses to start on a development default (the admin token, the Stripe
keys, the webhook secret, the payment-link key derived from them), saying which: its app factory and every process
it deploys (consumer, relay, migrations, and the charger, notifier and ticker). With values of its own, it starts.
No infrastructure: the refusal comes before any connection, and the apps are built without connecting."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from billing_service.config import DEVELOPMENT_DEFAULTS as BILLING_DEFAULTS
from devstack.apidocs import service_app
from devstack.stack import SERVICES
from servicekit.config import DEVELOPMENT_VALUES, ConfigError

PACKAGES = [svc.package for svc in SERVICES]
PROCESSES = {
    "subscription_service": ["consumer", "relay", "migrate"],
    "scheduler_service": ["consumer", "relay", "migrate", "ticker"],
    "order_service": ["consumer", "relay", "migrate", "notifier"],
    "billing_service": ["consumer", "relay", "migrate", "charger"],
}
# Values of a real deployment (made up here, but none is a development default).
REAL = {
    "APP_ENV": "production",
    "ADMIN_TOKEN": "rop_admin_9f8e7d6c5b4a39281706f5e4d3c2b1a0",
    "STRIPE_API_KEY": "sk_live_51AbCdEfGhIjKlMnOpQrStUvWxYz",
    "STRIPE_WEBHOOK_SECRET": "whsec_9f8e7d6c5b4a39281706f5e4d3c2b1a0",
    "STRIPE_PUBLISHABLE_KEY": "pk_live_51AbCdEfGhIjKlMnOpQrStUvWxYz",
    "CURSOR_SECRET": "c7b6a5948372615f4e3d2c1b0a99887766554433",
    "PAYMENT_LINK_SIGNING_KEY": "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0",
    # unreachable on purpose: nothing may be connected to before the settings are checked
    "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
    "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
}
CLEARED = ("TEST_CLOCK_URL", "STRIPE_API_BASE", "STRIPE_FLAVOUR", "TOPIC_PREFIX")


@pytest.fixture
def production(monkeypatch):
    for name in CLEARED:
        monkeypatch.delenv(name, raising=False)
    for name, value in REAL.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


@pytest.mark.parametrize("package", PACKAGES)
def test_each_service_refuses_the_development_admin_token_in_production_and_names_it(production, package):
    production.setenv("ADMIN_TOKEN", DEVELOPMENT_VALUES["ADMIN_TOKEN"])
    with pytest.raises(ConfigError, match=r"ADMIN_TOKEN is not set to a value of your own"), service_app(package):
        pass


@pytest.mark.parametrize("setting", ["STRIPE_API_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_PUBLISHABLE_KEY",
                                     "PAYMENT_LINK_SIGNING_KEY"])
def test_billing_refuses_each_development_stripe_secret_in_production_and_names_it(production, setting):
    production.setenv(setting, BILLING_DEFAULTS[setting])
    refused = rf": {setting} is not set to a value of your own"
    with pytest.raises(ConfigError, match=refused), service_app("billing_service"):
        pass


@pytest.mark.parametrize("setting", ["STRIPE_API_KEY", "STRIPE_PUBLISHABLE_KEY"])
def test_subscription_service_refuses_each_development_stripe_key_in_production_and_names_it(production, setting):
    """It saves the customers' cards through Stripe SetupIntents (its API calls Stripe and hands the publishable
    key to the customer's browser)."""
    production.setenv(setting, DEVELOPMENT_VALUES[setting])
    with pytest.raises(ConfigError, match=rf": {setting} is not set to a value of your own"), \
            service_app("subscription_service"):
        pass


@pytest.mark.parametrize("package", PACKAGES)
def test_each_service_starts_in_production_with_values_of_its_own(production, package):
    with service_app(package) as app:
        assert app.extensions["settings"].app_env == "production"
        assert app.test_client().get("/healthz").status_code == 200


def test_every_deployed_process_refuses_to_start_on_a_development_default_saying_which():
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    env.update(REAL)
    cases = [(f"{package}.entrypoints.{process}", "ADMIN_TOKEN") for package, processes in PROCESSES.items()
             for process in processes]
    # the billing processes that read its Stripe settings (not the relay: it reads none)
    cases += [(f"billing_service.entrypoints.{process}", "STRIPE_WEBHOOK_SECRET")
              for process in ("consumer", "migrate", "charger")]
    runs = {(module, name): subprocess.Popen([sys.executable, "-m", module],
                                             env={**env, name: DEVELOPMENT_VALUES[name]}, text=True,
                                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            for module, name in cases}
    try:
        for (module, name), proc in runs.items():
            out, _ = proc.communicate(timeout=60)
            assert proc.returncode != 0, f"{module} started with the development {name}"
            assert f"APP_ENV=production refuses development defaults and placeholders: {name} is" in out, \
                f"{module}:\n{out[-2000:]}"
    finally:
        for proc in runs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
