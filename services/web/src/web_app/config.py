"""Settings of the web app, read from the environment in one place.

``SUBSCRIPTION_SERVICE_URL``, ``SCHEDULER_SERVICE_URL``, ``ORDER_SERVICE_URL``, ``BILLING_SERVICE_URL``: where the
four REST APIs answer (from the app: cluster addresses in Kubernetes). ``PUBLIC_WEB_URL``: where people reach
this app (subscription-service puts it in the sign-in links it emails). ``SECRET_KEY``: signs and encrypts the
session cookie and the CSRF tokens; required in production. ``SESSION_COOKIE_SECURE`` (default on; off only for
plain http on loopback), ``SESSION_HOURS`` (how long a signed-in browser stays signed in, default 12).
``STRIPE_PUBLISHABLE_KEY`` and ``STRIPE_API_BASE``: what a card page gives Stripe.js (localstripe serves its own
stand-in under its base). ``DEFAULT_LOCALE``: the language when neither the person, the shop nor the browser
names one we have.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlparse

from servicekit.config import (
    DEVELOPMENT_VALUES,
    ConfigError,
    env,
    env_bool,
    env_int,
    refuse_development_values,
)
from web_app import DEFAULT_PORT

LOCALES = ("en", "fr")
LOCAL_SECRET_KEY = "web_local_development_only_0000000000000000"
SERVICES = {  # the short names a page uses -> the environment variable of the service's base URL
    "subscriptions": ("SUBSCRIPTION_SERVICE_URL", 8001),
    "scheduler": ("SCHEDULER_SERVICE_URL", 8002),
    "orders": ("ORDER_SERVICE_URL", 8003),
    "billing": ("BILLING_SERVICE_URL", 8004),
}


@dataclass(frozen=True)
class WebSettings:
    service_urls: dict[str, str]
    public_url: str
    secret_key: str = field(repr=False)
    app_env: str = "development"
    cookie_secure: bool = True
    session_lifetime: timedelta = timedelta(hours=12)
    stripe_publishable_key: str = DEVELOPMENT_VALUES["STRIPE_PUBLISHABLE_KEY"]
    stripe_api_base: str | None = None
    default_locale: str = "en"
    api_timeout_s: float = 10.0

    def __post_init__(self) -> None:
        if self.default_locale not in LOCALES:
            raise ConfigError(f"DEFAULT_LOCALE must be one of {', '.join(LOCALES)}")
        refuse_development_values(self.app_env, {"SECRET_KEY": self.secret_key,
                                                 "STRIPE_PUBLISHABLE_KEY": self.stripe_publishable_key},
                                  {**DEVELOPMENT_VALUES, "SECRET_KEY": LOCAL_SECRET_KEY})
        if self.app_env == "production":
            if len(self.secret_key) < 32:
                raise ConfigError("SECRET_KEY must be 32 characters or more when APP_ENV=production")
            if not self.cookie_secure:
                raise ConfigError("SESSION_COOKIE_SECURE=0 is refused when APP_ENV=production")
        if self.session_lifetime <= timedelta(0):
            raise ConfigError("SESSION_HOURS must be positive")

    @property
    def stripe_js_url(self) -> str:
        """Stripe.js: localstripe's stand-in when Stripe's address is another host than api.stripe.com."""
        if self.stripe_api_base and urlparse(self.stripe_api_base).hostname != "api.stripe.com":
            return f"{self.stripe_api_base.rstrip('/')}/js.stripe.com/v3/"
        return "https://js.stripe.com/v3/"

    @classmethod
    def from_env(cls) -> WebSettings:
        urls = {name: (env(var) or f"http://127.0.0.1:{port}").rstrip("/") for name, (var, port) in SERVICES.items()}
        public = (env("PUBLIC_WEB_URL") or f"http://127.0.0.1:{env_int('PORT', DEFAULT_PORT)}").rstrip("/")
        return cls(service_urls=urls, public_url=public, secret_key=env("SECRET_KEY") or LOCAL_SECRET_KEY,
                   app_env=env("APP_ENV", "development") or "development",
                   cookie_secure=env_bool("SESSION_COOKIE_SECURE", True),
                   session_lifetime=timedelta(hours=env_int("SESSION_HOURS", 12)),
                   stripe_publishable_key=env("STRIPE_PUBLISHABLE_KEY") or DEVELOPMENT_VALUES["STRIPE_PUBLISHABLE_KEY"],
                   stripe_api_base=env("STRIPE_API_BASE"), default_locale=env("DEFAULT_LOCALE", "en") or "en",
                   api_timeout_s=float(env_int("API_TIMEOUT_S", 10)))
