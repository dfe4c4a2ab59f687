"""Settings read from the environment (twelve-factor), in one place, with loopback defaults."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlparse


class ConfigError(Exception):
    pass


# The values the services fall back on, and the local stack and tests use, where a secret is not set. They are
# public (in this repository): a production process refuses them (refuse_development_values).
DEVELOPMENT_VALUES: dict[str, str] = {
    "ADMIN_TOKEN": "rop_admin_local_development_only_0000000000",
    "STRIPE_API_KEY": "sk_test_local_development_0000000000",
    "STRIPE_WEBHOOK_SECRET": "whsec_local_development_0000000000",
    "STRIPE_PUBLISHABLE_KEY": "pk_test_local_development",
}
PLACEHOLDER_MARK = "REPLACE_WITH_YOUR"  # the deploy overlays' placeholders (deploy/k8s/overlays/*)


def refuse_development_values(app_env: str, values: Mapping[str, str | bytes | None],
                              defaults: Mapping[str, str] = DEVELOPMENT_VALUES) -> None:
    """The one check every service's settings make: with APP_ENV=production, a setting whose value is its
    development default (or a deploy placeholder) is a ConfigError naming each such setting. ``values`` maps a
    setting's name to its value; ``defaults`` names the development default of each (a service may add its own)."""
    if app_env != "production":
        return
    found = []
    for name, value in values.items():
        text = value.decode() if isinstance(value, bytes) else value
        if text is not None and (text == defaults.get(name) or PLACEHOLDER_MARK in text):
            found.append(name)
    if found:
        names = ", ".join(sorted(found))
        raise ConfigError(f"APP_ENV=production refuses development defaults and placeholders: {names} "
                          f"{'is' if len(found) == 1 else 'are'} not set to a value of your own")


def env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def env_int(name: str, default: int) -> int:
    raw = env(name)
    try:
        return int(raw) if raw is not None else default
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None


def env_bool(name: str, default: bool = False) -> bool:
    raw = env(name)
    return default if raw is None else raw.lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Settings:
    """What every service reads. Services extend it with their own fields."""

    service_name: str
    database_url: str
    kafka_bootstrap: str
    topic_prefix: str
    admin_token: str | None
    app_env: str  # development | test | production
    test_clock_url: str | None  # test clock mode: every "now" reads this database
    log_level: str
    public_base_url: str
    rate_limit_per_minute: int
    max_body_bytes: int
    cursor_secret: str | None = None  # signs list cursors (servicekit.web.cursors); None: a development key
    # the consumer's Kafka group (CONSUMER_GROUP; None: the service's default). The inbox is the service's, not
    # the group's: a new group reads every topic from the start and applies nothing twice.
    consumer_group: str | None = None

    def __post_init__(self) -> None:
        refuse_development_values(self.app_env, {"ADMIN_TOKEN": self.admin_token})

    @classmethod
    def from_env(cls, service_name: str, default_port: int) -> Settings:
        app_env = env("APP_ENV", "development") or "development"
        test_clock_url = env("TEST_CLOCK_URL")
        if test_clock_url and app_env == "production":
            raise ConfigError("TEST_CLOCK_URL is refused when APP_ENV=production")
        return cls(
            service_name=service_name,
            database_url=env("DATABASE_URL", f"postgresql://postgres@127.0.0.1:55432/{service_name.split('-')[0]}")
            or "",
            kafka_bootstrap=env("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092") or "",
            topic_prefix=env("TOPIC_PREFIX", "") or "",
            admin_token=env("ADMIN_TOKEN"),
            app_env=app_env,
            test_clock_url=test_clock_url,
            log_level=env("LOG_LEVEL", "INFO") or "INFO",
            public_base_url=env("PUBLIC_BASE_URL", f"http://127.0.0.1:{env_int('PORT', default_port)}") or "",
            rate_limit_per_minute=env_int("RATE_LIMIT_PER_MINUTE", 6000),
            max_body_bytes=env_int("MAX_BODY_BYTES", 1_000_000),
            consumer_group=env("CONSUMER_GROUP"),
            cursor_secret=env("CURSOR_SECRET"),
        )


STRIPE_API_HOST = "api.stripe.com"
LOCAL_STRIPE_KEY = DEVELOPMENT_VALUES["STRIPE_API_KEY"]
LOCAL_PUBLISHABLE_KEY = DEVELOPMENT_VALUES["STRIPE_PUBLISHABLE_KEY"]


@dataclass(frozen=True)
class StripeKeys:
    """Where Stripe is and the keys to it, read the same way by every service that calls Stripe.

    ``STRIPE_API_KEY`` (any ``sk_`` key for localstripe; a real ``sk_test_`` key works unchanged; required when
    APP_ENV=production), ``STRIPE_API_BASE`` (unset = api.stripe.com), ``STRIPE_PUBLISHABLE_KEY`` (the ``pk_`` key
    a browser uses with Stripe.js), ``STRIPE_FLAVOUR`` (``stripe`` or ``localstripe``: which peer answers;
    ``localstripe`` by default when STRIPE_API_BASE names another host than api.stripe.com, refused in production).
    The secret key is kept out of ``repr`` so that it never reaches a log line. The caller's settings refuse the
    development values in production (``refuse_development_values``), with the rest of its own.
    """

    api_key: str = field(repr=False)
    api_base: str | None
    publishable_key: str
    flavour: str  # stripe | localstripe

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, production: bool = False) -> StripeKeys:
        source = os.environ if environ is None else environ

        def get(name: str, default: str | None = None) -> str | None:
            value = source.get(name)
            return value if value not in (None, "") else default

        api_key = get("STRIPE_API_KEY")
        if not api_key:
            if production:
                raise ConfigError("STRIPE_API_KEY is required when APP_ENV=production")
            api_key = LOCAL_STRIPE_KEY
        if not api_key.startswith(("sk_", "rk_")):
            raise ConfigError("STRIPE_API_KEY must be a Stripe secret key (sk_...)")
        api_base = get("STRIPE_API_BASE")
        host = urlparse(api_base).hostname if api_base else STRIPE_API_HOST
        flavour = get("STRIPE_FLAVOUR", "stripe" if host == STRIPE_API_HOST else "localstripe") or "stripe"
        if flavour not in ("stripe", "localstripe"):
            raise ConfigError("STRIPE_FLAVOUR must be stripe or localstripe")
        if flavour == "localstripe" and production:
            raise ConfigError("STRIPE_FLAVOUR=localstripe is refused when APP_ENV=production")
        publishable = get("STRIPE_PUBLISHABLE_KEY", LOCAL_PUBLISHABLE_KEY) or LOCAL_PUBLISHABLE_KEY
        return cls(api_key=api_key, api_base=api_base, publishable_key=publishable, flavour=flavour)

    @property
    def js_url(self) -> str:
        """Where a browser loads Stripe.js from (localstripe serves its own stand-in)."""
        if self.flavour == "localstripe" and self.api_base:
            return f"{self.api_base.rstrip('/')}/js.stripe.com/v3/"
        return "https://js.stripe.com/v3/"
