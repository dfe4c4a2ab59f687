"""The only place that wires scheduler-service together from its settings."""

from __future__ import annotations

from scheduler_service.adapters.clock import PlatformClock
from scheduler_service.config import ServiceSettings
from scheduler_service.service_layer.boundaries import BeforeCommit
from servicekit.faults import crash_hook


def clock(settings: ServiceSettings) -> PlatformClock:
    return PlatformClock(settings.base.test_clock_url)


def fault_hook(settings: ServiceSettings) -> BeforeCommit | None:
    """SCHEDULER_FAULT=crash_before_commit: die like kill -9 once a boundary is computed and written but not
    committed (fires once if SCHEDULER_FAULT_ONCE_FILE names a marker file). Refused in production."""
    return crash_hook(settings.fault, "crash_before_commit", settings.fault_once_file,
                      production=settings.base.app_env == "production")
