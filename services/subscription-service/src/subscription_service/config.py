"""Settings of subscription-service, read from the environment in one place."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from servicekit.config import Settings
from subscription_service import DEFAULT_PORT, SERVICE_NAME

MIGRATIONS_DIR = Path(os.environ.get("MIGRATIONS_DIR", Path(__file__).resolve().parents[2] / "migrations"))


@dataclass(frozen=True)
class ServiceSettings:
    base: Settings

    @classmethod
    def from_env(cls) -> ServiceSettings:
        return cls(base=Settings.from_env(SERVICE_NAME, DEFAULT_PORT))
