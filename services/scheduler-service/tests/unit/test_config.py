"""Test-only switches are refused in production configuration (no I/O)."""

import pytest

from scheduler_service.bootstrap import fault_hook
from scheduler_service.config import ServiceSettings
from servicekit.config import ConfigError


def test_the_fault_injection_hook_is_refused_in_production(monkeypatch):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SCHEDULER_FAULT", "crash_before_commit")
    monkeypatch.delenv("TEST_CLOCK_URL", raising=False)
    with pytest.raises(ConfigError, match="SCHEDULER_FAULT"):
        ServiceSettings.from_env()


def test_the_test_clock_is_refused_in_production(monkeypatch):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.delenv("SCHEDULER_FAULT", raising=False)
    monkeypatch.setenv("TEST_CLOCK_URL", "postgresql://x/testclock")
    with pytest.raises(ConfigError, match="TEST_CLOCK_URL"):
        ServiceSettings.from_env()


def test_an_unknown_fault_is_refused_and_no_fault_means_no_hook(monkeypatch):
    monkeypatch.setenv("APP_ENV", "test")
    monkeypatch.delenv("TEST_CLOCK_URL", raising=False)
    monkeypatch.setenv("SCHEDULER_FAULT", "crash_sometimes")
    with pytest.raises(ConfigError):
        ServiceSettings.from_env()
    monkeypatch.delenv("SCHEDULER_FAULT")
    assert fault_hook(ServiceSettings.from_env()) is None
    monkeypatch.setenv("SCHEDULER_FAULT", "crash_before_commit")
    assert callable(fault_hook(ServiceSettings.from_env()))
