"""Settings of order-service, read from the environment in one place."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from order_service import DEFAULT_PORT, SERVICE_NAME
from servicekit.config import Settings, env, env_int
from servicekit.mail import SmtpSettings

MIGRATIONS_DIR = Path(os.environ.get("MIGRATIONS_DIR", Path(__file__).resolve().parents[2] / "migrations"))


@dataclass(frozen=True)
class ReactionSettings:
    """How the consumer groups what it tells shops."""

    run_window_s: float = 300.0  # single placements in one cycle share a summary email for this long
    summary_wait_s: float = 3600.0  # a confirmation summary waits at most this long for payment outcomes
    batch_wait_s: float = 60.0  # an opening batch waits at most this long for subscriptions not projected yet
    placement_slice: int = 2000  # an opening batch is placed this many dues at a time (memory stays flat)
    # a due whose products the catalog has not told of yet waits at most this long for them (domain.dues)
    catalog_wait_s: float = 60.0

    @classmethod
    def from_env(cls) -> ReactionSettings:
        return cls(run_window_s=float(env("PLACEMENT_RUN_WINDOW_S", "300") or 300),
                   summary_wait_s=float(env("CONFIRMATION_SUMMARY_WAIT_S", "3600") or 3600),
                   batch_wait_s=float(env("BATCH_WAIT_S", "60") or 60),
                   placement_slice=max(1, int(env("PLACEMENT_SLICE", "2000") or 2000)),
                   catalog_wait_s=float(env("CATALOG_WAIT_S", "60") or 60))


@dataclass(frozen=True)
class MailSettings:
    """SMTP, and the addresses an email links to: a customer's links open the web app's pages
    (``PUBLIC_WEB_URL``, e.g. ``{PUBLIC_WEB_URL}/shops/<shop>/orders/<order>``, which asks for a sign-in link when
    needed and then opens the page); a shop's links are the REST API's (``ORDER_SERVICE_URL``) until the managers
    have pages of their own."""

    smtp_host: str
    smtp_port: int
    mail_from: str
    smtp_timeout_s: float
    order_service_url: str
    max_attempts: int
    public_web_url: str = "http://127.0.0.1:8080"
    lease_s: float = 120.0  # a claimed email nobody marked sent or failed is claimed again after this

    @classmethod
    def from_env(cls) -> MailSettings:
        smtp = SmtpSettings.from_env()
        return cls(
            smtp_host=smtp.host,
            smtp_port=smtp.port,
            mail_from=smtp.mail_from,
            smtp_timeout_s=smtp.timeout_s,
            order_service_url=(env("ORDER_SERVICE_URL", f"http://127.0.0.1:{DEFAULT_PORT}") or "").rstrip("/"),
            max_attempts=env_int("MAIL_MAX_ATTEMPTS", 8),
            public_web_url=(env("PUBLIC_WEB_URL", "http://127.0.0.1:8080") or "").rstrip("/"),
            lease_s=float(env("MAIL_LEASE_S", "120") or 120),
        )


@dataclass(frozen=True)
class ServiceSettings:
    base: Settings
    reactions: ReactionSettings = ReactionSettings()

    @classmethod
    def from_env(cls) -> ServiceSettings:
        return cls(base=Settings.from_env(SERVICE_NAME, DEFAULT_PORT), reactions=ReactionSettings.from_env())

    @property
    def consumer_group(self) -> str:
        """CONSUMER_GROUP, else namespaced like the topics, so deployments (and test runs) sharing a broker never
        share a group."""
        return self.base.consumer_group or f"{self.base.topic_prefix}{SERVICE_NAME}"
