"""The only place that wires scheduler-service together from its settings."""

from __future__ import annotations

import os
from pathlib import Path

from scheduler_service.adapters.clock import PlatformClock
from scheduler_service.config import ServiceSettings
from scheduler_service.domain.model import Boundary
from scheduler_service.service_layer.boundaries import BeforeCommit


def clock(settings: ServiceSettings) -> PlatformClock:
    return PlatformClock(settings.base.test_clock_url)


def fault_hook(settings: ServiceSettings) -> BeforeCommit | None:
    """SCHEDULER_FAULT=crash_before_commit: die like kill -9 once a boundary is computed and written but not
    committed (fires once if SCHEDULER_FAULT_ONCE_FILE names a marker file). Refused in production."""
    if settings.fault != "crash_before_commit" or settings.base.app_env == "production":
        return None
    once = settings.fault_once_file
    if once and Path(once).exists():
        return None

    def crash(_boundary: Boundary) -> None:
        if once:
            Path(once).write_text("crashed")
        os._exit(137)

    return crash
