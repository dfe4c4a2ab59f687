"""Section `consumers` of `make bench`: the cycle's open with one, then two order-service consumer processes.

For each count of ``--order-consumers`` (default ``1,2``) on the bench's stack: the members of order-service's
consumer group are made that many (``order-service.consumer``, ``order-service.consumer-2``..., the same command and
Kafka group, as replicas of its Deployment would be; Kafka shares the partitions among them), a world of its own is
seeded as the burst's (``pipeline.seed_world``: a new shop, its cycle opening two hours after the test clock's now,
so an earlier world's close is never crossed), the group is waited for until every member holds partitions, and the
test clock crosses the open. Measured: seconds until the last order is visible through order-service's API (as the
burst measures it), when every due was recorded, and the CPU each process of the stack took meanwhile (``CpuSampler``,
from /proc: user and system time of each process and its descendants, reaped ones included), split at the moment
the last due was recorded (recording dues, which every member does for its partitions; then placing the opening
batch, which one transaction does), and the machine's busy time, so that what the stack did not use is the other
load of this shared machine. Billing's charger and order-service's notifier are off, as after the burst (neither is
on the open's path, and the notifier would still be mailing the previous open's orders).

Nothing here asserts: the rows say what limits a second consumer on this machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.pipeline import Counter, _advance, _placement_summary, load, seed_world, service, start_platform, wait
from bench.report import Report
from devstack.stack import SERVICES, Stack

ORDER_SERVICE = "order-service"
TICK = os.sysconf("SC_CLK_TCK")


# -- the members of order-service's group ------------------------------------------------------------------------

def member_names(k: int) -> list[str]:
    return [f"{ORDER_SERVICE}.consumer", *[f"{ORDER_SERVICE}.consumer-{i}" for i in range(2, k + 1)]]


def scale(stack: Stack, k: int) -> None:
    """Exactly ``k`` consumer processes in order-service's group: members beyond ``k`` stopped (SIGTERM: they leave
    the group), missing ones started."""
    svc = service(ORDER_SERVICE)
    wanted = set(member_names(k))
    for name in stack.procs.names():
        if name.startswith(f"{ORDER_SERVICE}.consumer-") and name not in wanted:
            stack.procs.stop(name)
    for name in member_names(k)[1:]:
        stack.procs.spawn(name, [sys.executable, "-m", f"{svc.package}.entrypoints.consumer"],
                          env=stack.service_env(svc))


def wait_group(stack: Stack, k: int, timeout: float = 180) -> float:
    """Seconds until order-service's group is stable with ``k`` members, each holding partitions."""
    from shared_events import kafka as kafka_clients

    admin = kafka_clients.admin(stack.bootstrap)
    group = f"{stack.cfg.topic_prefix}{ORDER_SERVICE}"

    def whole() -> bool:
        d = admin.describe_consumer_groups([group], request_timeout=10)[group].result(timeout=15)
        held = [m for m in d.members if m.assignment.topic_partitions]
        return d.state.name == "STABLE" and len(d.members) == len(held) == k

    return wait(whole, timeout, f"order-service's group with {k} members", 0.5)


# -- CPU of every process of the stack ---------------------------------------------------------------------------

def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds of the process and of its children it has reaped)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw.rsplit(")", 1)[1].split()
    utime, stime, cutime, cstime = (int(f) for f in fields[11:15])
    return int(fields[1]), (utime + stime + cutime + cstime) / TICK


def _machine_busy() -> float:
    """CPU seconds the whole machine was busy since boot (every CPU)."""
    parts = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = parts[3] + (parts[4] if len(parts) > 4 else 0)
    return (sum(parts[:8]) - idle) / TICK


def stack_roots(stack: Stack) -> dict[str, int]:
    """name -> pid of each process the stack started (services, Kafka, localstripe, mailbox) and PostgreSQL's
    postmaster; each counts with its descendants (gunicorn workers, PostgreSQL backends)."""
    roots = {name: pid for name in stack.procs.names() if (pid := stack.procs.pid(name)) is not None}
    try:
        roots["postgresql"] = int((stack.pg.data / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        pass
    return roots


class CpuSampler(threading.Thread):
    """CPU seconds of each root process with its descendants, every ``period`` seconds, and the machine's."""

    def __init__(self, roots: dict[str, int], period: float = 1.0) -> None:
        super().__init__(daemon=True, name="cpu-sampler")
        self.roots = roots
        self.period = period
        self.t0 = time.perf_counter()
        self.samples: list[tuple[float, dict[str, float], float]] = []  # (seconds, per root, machine busy)
        self.stopping = threading.Event()

    def snapshot(self) -> dict[str, float]:
        parent: dict[int, int] = {}
        cpu: dict[int, float] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and (st := _stat(int(entry.name))) is not None:
                parent[int(entry.name)], cpu[int(entry.name)] = st
        owner = {pid: name for name, pid in self.roots.items()}
        totals = dict.fromkeys(self.roots, 0.0)
        for pid, seconds in cpu.items():
            p, hops = pid, 0
            while p not in owner and p in parent and hops < 8:  # up the tree to one of the roots
                p, hops = parent[p], hops + 1
            if p in owner:
                totals[owner[p]] += seconds
        return totals

    def sample(self) -> None:
        self.samples.append((time.perf_counter() - self.t0, self.snapshot(), _machine_busy()))

    def run(self) -> None:
        self.sample()
        while not self.stopping.wait(self.period):
            self.sample()

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=10)
        self.sample()

    def between(self, start: float, end: float) -> tuple[dict[str, float], float, float]:
        """CPU seconds of each root and of the machine between the samples nearest ``start`` and ``end``; and
        the wall seconds between those samples."""
        first = min(self.samples, key=lambda s: abs(s[0] - start))
        last = min(self.samples, key=lambda s: abs(s[0] - end))
        used = {name: max(0.0, last[1].get(name, 0.0) - first[1].get(name, 0.0)) for name in self.roots}
        return used, last[2] - first[2], last[0] - first[0]


def shares(used: dict[str, float], machine: float, wall: float) -> dict[str, float]:
    """Each process's CPU as a percentage of one core over ``wall``, the rest of the stack together, and the
    machine's load that was not the stack's (other work on this shared machine)."""
    if wall <= 0:
        return {}
    out: dict[str, float] = {}
    for name, seconds in sorted(used.items(), key=lambda kv: -kv[1]):
        key = name if (name.startswith(f"{ORDER_SERVICE}.consumer") or name in ("postgresql", "kafka")
                       or seconds / wall >= 0.05) else "the stack's other processes"
        out[key] = out.get(key, 0.0) + 100 * seconds / wall
    out["not the stack (other work on the machine)"] = 100 * max(0.0, machine - sum(used.values())) / wall
    out[f"machine busy (of {100 * (os.cpu_count() or 1):.0f}%)"] = 100 * machine / wall
    return {k: round(v) for k, v in out.items()}


# -- the section ------------------------------------------------------------------------------------------------

def measure_open(stack: Stack, world: dict[str, Any], k: int, timeout: float) -> dict[str, Any]:
    from order_service.service_layer.placement import order_id_for

    platform = start_platform(stack)
    n, cycle_id, shop = world["subscriptions"], world["cycle_id"], world["shop"]
    orders = Counter(stack.db_url("orders"))
    cpu = CpuSampler(stack_roots(stack), period=0.5)
    recorded: dict[str, float] = {}
    done = threading.Event()

    def watch_dues() -> None:  # five counts a second, until every due is recorded
        while not done.wait(0.2):
            if orders("SELECT count(*) FROM order_dues WHERE order_cycle_id = %s", [cycle_id]) >= n:
                recorded["at"] = time.perf_counter() - cpu.t0
                return

    load_before = load()
    cpu.start()
    watcher = threading.Thread(target=watch_dues, daemon=True)
    watcher.start()
    t0 = time.perf_counter()
    _advance(platform, world["opens_at"] + timedelta(minutes=1))
    last_order = f"{shop.base}/orders/{order_id_for(world['last_subscription_id'], cycle_id)}"
    api = shop.orders_api()
    try:
        wait(lambda: api.call("GET", last_order).status_code == 200, timeout, "the last order visible", 0.2)
        wait(lambda: _placement_summary(platform, shop, cycle_id)["orders"]["orders"] >= n, timeout,
             "every order in the placement summary", 0.5)
        visible = time.perf_counter() - t0
    finally:
        done.set()
        cpu.stop()
        orders.close()
    start, end = t0 - cpu.t0, visible + t0 - cpu.t0
    split = recorded.get("at", end)
    whole, machine, wall = cpu.between(start, end)
    dues, dues_machine, dues_wall = cpu.between(start, split)
    placing, placing_machine, placing_wall = cpu.between(split, end)
    return {
        "order_consumers": k, "subscriptions": n, "load_before": load_before, "load_after": load(),
        "orders_visible_seconds": round(visible, 2),
        "dues_recorded_seconds": round(split - start, 1) if "at" in recorded else None,
        "cpu_percent_of_one_core": shares(whole, machine, wall),
        "cpu_percent_while_recording_dues": shares(dues, dues_machine, dues_wall),
        "cpu_percent_while_placing": shares(placing, placing_machine, placing_wall),
        "cpu_seconds": {name: round(s, 1) for name, s in whole.items() if s >= 0.05},
    }


def _top(pct: dict[str, float], n: int = 6) -> str:
    return ", ".join(f"{k} {v}%" for k, v in list(pct.items())[:n] if not k.startswith("machine")) + \
        "; " + next((f"{k}: {v}%" for k, v in pct.items() if k.startswith("machine")), "")


def run_consumers(stack: Stack, report: Report, args: argparse.Namespace) -> None:
    n = args.subscriptions
    counts = [int(c) for c in str(args.order_consumers).split(",") if c.strip()]
    platform = start_platform(stack)
    for svc in SERVICES:  # the burst stops billing-service after the close: the seed needs its consumer
        if svc.installed():
            stack.start_service(svc, only=[w for w in ["api", *svc.workers()] if w not in ("charger", "notifier")])
    stack.wait_services(timeout=120)
    # order-service's notifier would still be mailing one open's orders during the next open (about half a CPU,
    # see the burst's memory notes): off, as the burst leaves it, so that each open measures the same work
    stack.procs.stop(f"{ORDER_SERVICE}.notifier")
    results = []
    for k in counts:
        scale(stack, k)
        print(f"   {k} order-service consumer(s): seeding {n:,} subscriptions ...", flush=True)
        world = seed_world(stack, platform, n, args.substituted)
        joined = wait_group(stack, k)
        print(f"   group whole ({joined:.1f}s); advancing across the open (load {load()}) ...", flush=True)
        result = measure_open(stack, world, k, args.burst_timeout)
        results.append(result)
        print(f"   open with {k}: {result['orders_visible_seconds']} s; dues recorded after "
              f"{result['dues_recorded_seconds']} s; CPU % of one core while recording dues: "
              f"{result['cpu_percent_while_recording_dues']}; while placing: {result['cpu_percent_while_placing']}",
              flush=True)
        report.add("consumers", f"cycle open, {k} order-service consumer process(es): {n:,} orders visible",
                   result["orders_visible_seconds"], "s",
                   note=f"every due recorded after {result['dues_recorded_seconds']} s; load "
                        f"{result['load_before']} -> {result['load_after']}")
        report.add("consumers", f"  CPU while recording dues ({k})", result["dues_recorded_seconds"], "s",
                   note=_top(result["cpu_percent_while_recording_dues"]))
        report.add("consumers", f"  CPU while placing the batch ({k})", None, "",
                   note=_top(result["cpu_percent_while_placing"]))
    scale(stack, 1)
    report.detail("consumers", results)
    if len(results) > 1:
        print("   open (s) by order-service consumers: " + ", ".join(
            f"{r['order_consumers']}: {r['orders_visible_seconds']}" for r in results), flush=True)
