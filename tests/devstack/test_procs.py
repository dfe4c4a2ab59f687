"""devstack's process helpers: the ports it picks and what it says when a process dies at start."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

from devstack.procs import ProcessTable, free_port, wait_until


def _ephemeral_low() -> int:
    return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])


def test_free_ports_are_distinct_bindable_and_below_the_range_the_kernel_gives_outgoing_connections():
    ports = [free_port() for _ in range(40)]
    assert len(set(ports)) == 40
    assert all(1024 <= p < _ephemeral_low() for p in ports)
    for port in ports[:5]:
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))


def test_a_process_that_dies_at_start_is_reported_with_the_end_of_its_log(tmp_path):
    procs = ProcessTable(tmp_path)
    procs.spawn("dies", [sys.executable, "-c", "import sys; print('port 1234 is in use'); sys.exit(3)"])
    with pytest.raises(RuntimeError) as err:
        wait_until(lambda: False, 10, "dies to start", failed=lambda: procs.exited("dies"))
    assert "dies exited" in str(err.value) and "port 1234 is in use" in str(err.value)
