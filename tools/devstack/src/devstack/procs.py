"""Background processes with pid files and log files under a state folder."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

_EPHEMERAL = Path("/proc/sys/net/ipv4/ip_local_port_range")
_given: set[int] = set()


def free_port() -> int:
    """A loopback port free now, never handed out twice by this process, and below the kernel's ephemeral range.

    The kernel gives ports of its ephemeral range to outgoing connections (a Kafka broker's own, every database
    client's), so a port chosen there can be taken between this choice and the server's bind: the server then
    exits with "address in use". Ports below the range are only ever taken by a bind."""
    try:
        low = int(_EPHEMERAL.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    first = max(1024, low - 12000)
    for _ in range(500):
        port = random.randrange(first, low)
        if port not in _given and _bindable(port):
            _given.add(port)
            return port
    with socket.socket() as s:  # a crowded range: the kernel's choice
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    _given.add(port)
    return port


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def port_open(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child counts as dead
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


def wait_until(predicate: Callable[[], bool], timeout: float, what: str, interval: float = 0.2,
               failed: Callable[[], str | None] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if failed is not None and (why := failed()):
            raise RuntimeError(f"{what}: {why}")
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")


class ProcessTable:
    """Named background processes: <state>/pids/<name>.pid and <state>/logs/<name>.log."""

    def __init__(self, state_dir: Path) -> None:
        self.pids = state_dir / "pids"
        self.logs = state_dir / "logs"
        self.pids.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(parents=True, exist_ok=True)

    def log_path(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def exited(self, name: str) -> str | None:
        """None while the process runs; once it has exited, why, in the last lines of its log."""
        if self.running(name):
            return None
        try:
            tail = self.log_path(name).read_text(errors="replace")[-3000:]
        except OSError:
            tail = "(no log)"
        return f"{name} exited; the end of {self.log_path(name)}:\n{tail}"

    def pid(self, name: str) -> int | None:
        f = self.pids / f"{name}.pid"
        try:
            pid = int(f.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if pid_alive(pid) else None

    def running(self, name: str) -> bool:
        return self.pid(name) is not None

    def names(self) -> list[str]:
        return sorted(p.stem for p in self.pids.glob("*.pid"))

    def spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> int:
        if (pid := self.pid(name)) is not None:
            return pid
        log = open(self.log_path(name), "ab")  # noqa: SIM115 - handed to the child
        proc = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, cwd=cwd,
            start_new_session=True,
        )
        (self.pids / f"{name}.pid").write_text(str(proc.pid))
        return proc.pid

    def stop(self, name: str, timeout: float = 30.0, sig: int = signal.SIGTERM) -> bool:
        pid = self.pid(name)
        f = self.pids / f"{name}.pid"
        if pid is None:
            f.unlink(missing_ok=True)
            return False
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            pass
        except PermissionError:
            os.kill(pid, sig)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and pid_alive(pid):
            _reap(pid)
            time.sleep(0.1)
        if pid_alive(pid):
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            time.sleep(0.2)
        _reap(pid)
        f.unlink(missing_ok=True)
        return True

    def kill9(self, name: str) -> int | None:
        """SIGKILL (for fault tests): no cleanup, no goodbye."""
        pid = self.pid(name)
        if pid is None:
            return None
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + 10
        while pid_alive(pid) and time.monotonic() < deadline:
            _reap(pid)
            time.sleep(0.05)
        (self.pids / f"{name}.pid").unlink(missing_ok=True)
        return pid


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
