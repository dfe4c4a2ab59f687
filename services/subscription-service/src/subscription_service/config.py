"""Settings of subscription-service, read from the environment in one place.

Besides what every service reads: Stripe (``servicekit.config.StripeKeys``: the platform creates each customer's
Stripe Customer and the SetupIntents through which customers save their cards), SMTP (``servicekit.mail``: the
sign-in links), ``PUBLIC_WEB_URL`` (where the customers' pages live: an emailed sign-in link is
``{PUBLIC_WEB_URL}/sign-in/<one-time token>``), ``SIGN_IN_LINK_TTL_MINUTES`` (how long a link works, default 15)
and ``CUSTOMER_SESSION_TTL_DAYS`` (how long the session it opens lasts, default 30).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from servicekit.config import ConfigError, Settings, StripeKeys, env, env_int, refuse_development_values
from servicekit.mail import SmtpSettings
from subscription_service import DEFAULT_PORT, SERVICE_NAME

MIGRATIONS_DIR = Path(os.environ.get("MIGRATIONS_DIR", Path(__file__).resolve().parents[2] / "migrations"))

LOCAL_WEB_URL = "http://127.0.0.1:8080"


@dataclass(frozen=True)
class ServiceSettings:
    base: Settings
    stripe: StripeKeys
    smtp: SmtpSettings
    public_web_url: str
    sign_in_link_ttl: timedelta
    session_ttl: timedelta

    def __post_init__(self) -> None:
        refuse_development_values(self.base.app_env, {"STRIPE_API_KEY": self.stripe.api_key,
                                                      "STRIPE_PUBLISHABLE_KEY": self.stripe.publishable_key})

    @staticmethod
    def base_from_env() -> Settings:
        """What every process reads (the migrations, a rebuild); only the API calls Stripe and sends email."""
        return Settings.from_env(SERVICE_NAME, DEFAULT_PORT)

    @classmethod
    def from_env(cls) -> ServiceSettings:
        base = cls.base_from_env()
        link_minutes, session_days = env_int("SIGN_IN_LINK_TTL_MINUTES", 15), env_int("CUSTOMER_SESSION_TTL_DAYS", 30)
        if link_minutes < 1 or session_days < 1:
            raise ConfigError("SIGN_IN_LINK_TTL_MINUTES and CUSTOMER_SESSION_TTL_DAYS must be positive")
        return cls(base=base, stripe=StripeKeys.from_env(production=base.app_env == "production"),
                   smtp=SmtpSettings.from_env(),
                   public_web_url=(env("PUBLIC_WEB_URL", LOCAL_WEB_URL) or LOCAL_WEB_URL).rstrip("/"),
                   sign_in_link_ttl=timedelta(minutes=link_minutes), session_ttl=timedelta(days=session_days))
