"""Fault injection for the kill tests: the one hook the relay, the consumers, scheduler's ticker, order-service's
notifier and billing's charger die by at their fault points (refused in production).

Each process names its fault point (``RELAY_FAULT=crash_before_mark``, ``CONSUMER_FAULT=crash_after_db_commit``,
``SCHEDULER_FAULT=crash_before_commit``, ``CHARGER_FAULT=crash_after_stripe_call``,
``NOTIFIER_FAULT=crash_after_send``) and asks ``crash_hook`` for the function to call there.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

KILLED = 137  # the exit status of a process killed by SIGKILL, as a supervisor sees it


def crash_hook(fault: str | None, wanted: str, once_file: str | None, *, production: bool
               ) -> Callable[..., None] | None:
    """When ``fault`` is ``wanted`` (never in production): a function that ends the process like kill -9 (no
    cleanup, no ``finally``, nothing flushed), whatever it is called with. ``once_file``: a marker file written just
    before dying; once it exists, there is no hook (the restarted process runs normally). Otherwise None."""
    if fault != wanted or production:
        return None
    if once_file and Path(once_file).exists():
        return None

    def crash(*_args: object) -> None:
        if once_file:
            Path(once_file).write_text("crashed")
        os._exit(KILLED)

    return crash
