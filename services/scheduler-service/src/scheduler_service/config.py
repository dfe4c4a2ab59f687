"""Settings of scheduler-service, read from the environment in one place."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path

from scheduler_service import DEFAULT_PORT, SERVICE_NAME
from servicekit.config import ConfigError, Settings, env, env_int

MIGRATIONS_DIR = Path(os.environ.get("MIGRATIONS_DIR", Path(__file__).resolve().parents[2] / "migrations"))

FAULTS = ("crash_before_commit",)


@dataclass(frozen=True)
class ServiceSettings:
    base: Settings
    worker_id: str  # names the replica in boundary_runs and logs
    ticker_max_wait_s: int  # longest sleep without a wake-up (a safety net; NOTIFY and timers do the work)
    ticker_retry_failed_s: int  # a shop whose boundary failed is retried after this long
    fault: str | None  # SCHEDULER_FAULT, tests only: crash_before_commit = die like kill -9 before a commit
    fault_once_file: str | None

    @classmethod
    def from_env(cls) -> ServiceSettings:
        base = Settings.from_env(SERVICE_NAME, DEFAULT_PORT)
        fault = env("SCHEDULER_FAULT")
        if fault and base.app_env == "production":
            raise ConfigError("SCHEDULER_FAULT is refused when APP_ENV=production")
        if fault and fault not in FAULTS:
            raise ConfigError(f"SCHEDULER_FAULT must be one of {FAULTS}, got {fault!r}")
        return cls(
            base=base,
            worker_id=env("WORKER_ID") or f"{socket.gethostname()}:{os.getpid()}",
            ticker_max_wait_s=env_int("TICKER_MAX_WAIT_S", 60),
            ticker_retry_failed_s=env_int("TICKER_RETRY_FAILED_S", 30),
            fault=fault,
            fault_once_file=env("SCHEDULER_FAULT_ONCE_FILE"),
        )
