"""Where the services and their databases are: environment first, local development defaults otherwise.

SUBSCRIPTION_SERVICE_URL ... BILLING_SERVICE_URL, <SERVICE>_DATABASE_URL (e.g. ORDER_SERVICE_DATABASE_URL),
KAFKA_BOOTSTRAP_SERVERS, ADMIN_TOKEN.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

SERVICES = {
    "subscription-service": ("subscription_service", 8001, "subscriptions"),
    "scheduler-service": ("scheduler_service", 8002, "scheduler"),
    "order-service": ("order_service", 8003, "orders"),
    "billing-service": ("billing_service", 8004, "billing"),
}


@dataclass(frozen=True)
class Target:
    name: str
    package: str
    url: str
    database_url: str


def _env_prefix(name: str) -> str:
    return name.upper().replace("-", "_")


def target(name: str) -> Target:
    if name not in SERVICES:
        raise KeyError(f"unknown service {name!r}; one of: {', '.join(SERVICES)}")
    package, port, db = SERVICES[name]
    prefix = _env_prefix(name)
    url = os.environ.get(f"{prefix}_URL") or f"http://127.0.0.1:{port}"
    dsn = os.environ.get(f"{prefix}_DATABASE_URL")
    if not dsn:
        base = os.environ.get("PLATFORM_DATABASE_SERVER", "postgresql://postgres@127.0.0.1:55432/postgres")
        from servicekit.db import with_database

        dsn = with_database(base, os.environ.get("DB_PREFIX", "") + db)
    return Target(name, package, url.rstrip("/"), dsn)


def all_targets() -> list[Target]:
    return [target(n) for n in SERVICES]


def bootstrap() -> str:
    return os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092")


def admin_token() -> str:
    token = os.environ.get("ADMIN_TOKEN")
    if token:
        return token
    from devstack.stack import DEFAULT_ADMIN_TOKEN  # local development only

    return DEFAULT_ADMIN_TOKEN
