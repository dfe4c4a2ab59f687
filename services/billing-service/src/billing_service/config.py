"""Settings of billing-service, read from the environment in one place.

Stripe (key, base, publishable key and flavour read by ``servicekit.config.StripeKeys``, as every service that
calls Stripe reads them): ``STRIPE_API_KEY`` (any ``sk_`` key for localstripe, a real ``sk_test_`` key works),
``STRIPE_API_BASE`` (unset = api.stripe.com), ``STRIPE_WEBHOOK_SECRET`` (the endpoint's ``whsec_``),
``STRIPE_PUBLISHABLE_KEY`` (the ``pk_`` key the web app's authorisation page gives Stripe.js),
``STRIPE_WEBHOOK_TOLERANCE_S`` (how far, in seconds, a webhook's signed timestamp may be from the wall clock,
either way; positive, default 300).
``STRIPE_FLAVOUR`` says which peer answers: ``stripe`` (the real API) or ``localstripe`` (the local fake:
reconciliation lists charges instead of payment intents). It defaults to ``localstripe`` when
STRIPE_API_BASE names a host other than api.stripe.com; ``localstripe`` is refused when APP_ENV=production.

``PUBLIC_WEB_URL``: the web app, where the emailed link to authorise a payment points
(``/shops/<shop>/payments/<payment>/authorize``); ``PAYMENT_LINK_SIGNING_KEY`` still checks the links emailed
before (billing's ``/pay/...`` route sends them there).

Rate: ``STRIPE_RATE_LIMIT`` requests per second for the whole charger (default 25, Stripe's test-mode
limit; 100 is the live one), ``STRIPE_MAX_RETRIES`` resends of one request after 429/5xx/connection errors.

Secrets are kept out of ``repr`` so that they never reach a log line.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from billing_service import DEFAULT_PORT, SERVICE_NAME
from billing_service.service_layer.links import Links
from servicekit.config import DEVELOPMENT_VALUES, ConfigError, Settings, StripeKeys, refuse_development_values

LOCAL_WEB_URL = "http://127.0.0.1:8080"  # the web app under `make run`
MIGRATIONS_DIR = Path(os.environ.get("MIGRATIONS_DIR", Path(__file__).resolve().parents[2] / "migrations"))


def development_link_key(api_key: str, webhook_secret: str) -> str:
    """Development and tests: every process of the service derives the same link key from its secrets."""
    return hashlib.sha256(b"payment-links:" + api_key.encode() + webhook_secret.encode()).hexdigest()


# What APP_ENV=production refuses here: the platform's development defaults and the link key derived from them.
DEVELOPMENT_DEFAULTS = {**DEVELOPMENT_VALUES, "PAYMENT_LINK_SIGNING_KEY": development_link_key(
    DEVELOPMENT_VALUES["STRIPE_API_KEY"], DEVELOPMENT_VALUES["STRIPE_WEBHOOK_SECRET"])}


@dataclass(frozen=True)
class StripeSettings:
    api_key: str = field(repr=False)
    api_base: str | None
    webhook_secret: str = field(repr=False)
    publishable_key: str
    flavour: str  # stripe | localstripe
    rate_limit: float  # requests per second, for the whole charger process
    rate_burst: int
    max_retries: int  # resends of one request after 429 / 5xx / connection errors
    timeout_s: float
    webhook_tolerance_s: int


@dataclass(frozen=True)
class ServiceSettings:
    base: Settings
    stripe: StripeSettings
    link_signing_key: bytes = field(repr=False)  # signs the customers' authorisation links
    link_ttl_days: int
    charger_concurrency: int
    charger_fault: str | None  # test fault injection (refused in production)
    charger_fault_once_file: str | None
    public_web_url: str = LOCAL_WEB_URL  # the web app: where customers authorise a payment (PUBLIC_WEB_URL)

    def __post_init__(self) -> None:
        refuse_development_values(self.base.app_env, {
            "STRIPE_API_KEY": self.stripe.api_key, "STRIPE_WEBHOOK_SECRET": self.stripe.webhook_secret,
            "STRIPE_PUBLISHABLE_KEY": self.stripe.publishable_key, "PAYMENT_LINK_SIGNING_KEY": self.link_signing_key,
        }, DEVELOPMENT_DEFAULTS)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, base: Settings | None = None) -> ServiceSettings:
        env = os.environ if environ is None else environ
        base = base or Settings.from_env(SERVICE_NAME, DEFAULT_PORT)
        production = base.app_env == "production"

        def get(name: str, default: str | None = None) -> str | None:
            value = env.get(name)
            return value if value not in (None, "") else default

        def number(name: str, default: float, kind: type = int) -> float:
            raw = get(name)
            try:
                return kind(raw) if raw is not None else default
            except ValueError:
                raise ConfigError(f"{name} must be a number, got {raw!r}") from None

        keys = StripeKeys.from_env(env, production=production)  # the key, base, flavour: as every service reads them
        api_key = keys.api_key
        webhook_secret = get("STRIPE_WEBHOOK_SECRET")
        if not webhook_secret:
            if production:
                raise ConfigError("STRIPE_WEBHOOK_SECRET is required when APP_ENV=production")
            webhook_secret = DEVELOPMENT_VALUES["STRIPE_WEBHOOK_SECRET"]
        signing = get("PAYMENT_LINK_SIGNING_KEY")
        if not signing:
            if production:
                raise ConfigError("PAYMENT_LINK_SIGNING_KEY is required when APP_ENV=production")
            signing = development_link_key(api_key, webhook_secret)
        rate = float(number("STRIPE_RATE_LIMIT", 25.0, float))
        if rate <= 0:
            raise ConfigError("STRIPE_RATE_LIMIT must be positive")
        tolerance = int(number("STRIPE_WEBHOOK_TOLERANCE_S", 300))
        if tolerance <= 0:  # 0 would turn Stripe's own age check off
            raise ConfigError("STRIPE_WEBHOOK_TOLERANCE_S must be positive")
        fault = get("CHARGER_FAULT")
        if fault and production:
            raise ConfigError("CHARGER_FAULT is refused when APP_ENV=production")
        return cls(
            base=base,
            stripe=StripeSettings(
                api_key=api_key,
                api_base=keys.api_base,
                webhook_secret=webhook_secret,
                publishable_key=keys.publishable_key,
                flavour=keys.flavour,
                rate_limit=rate,
                rate_burst=int(number("STRIPE_RATE_BURST", 1)),
                max_retries=int(number("STRIPE_MAX_RETRIES", 4)),
                timeout_s=float(number("STRIPE_TIMEOUT_S", 30.0, float)),
                webhook_tolerance_s=tolerance,
            ),
            link_signing_key=signing.encode(),
            link_ttl_days=int(number("PAYMENT_LINK_TTL_DAYS", 30)),
            charger_concurrency=max(1, int(number("CHARGER_CONCURRENCY", 8))),
            charger_fault=fault,
            charger_fault_once_file=get("CHARGER_FAULT_ONCE_FILE"),
            public_web_url=(get("PUBLIC_WEB_URL") or LOCAL_WEB_URL).rstrip("/"),
        )

    def links(self) -> Links:
        """The customers' authorisation links, alike in the API and the charger."""
        return Links(self.base.public_base_url, self.link_signing_key, timedelta(days=self.link_ttl_days),
                     self.public_web_url)
