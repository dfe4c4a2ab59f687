"""One fault run: the phases, the crashes, the malformed messages, the wait for recovery, the checks, the report."""

from __future__ import annotations

import json
import os
import random
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

try:
    from fault_checks import READERS, Check, FaultChecks, Injected, reads
    from fault_harness import (
        BrokerFaults,
        Chaos,
        ClientStats,
        FaultStack,
        GroupWatch,
        Supervisor,
        consumer_waits,
        eventually,
        outbox_waits,
        seconds,
    )
    from fault_scenario import FaultScenario
except ImportError:
    from .fault_checks import READERS, Check, FaultChecks, Injected, reads
    from .fault_harness import (
        BrokerFaults,
        Chaos,
        ClientStats,
        FaultStack,
        GroupWatch,
        Supervisor,
        consumer_waits,
        eventually,
        outbox_waits,
        seconds,
    )
    from .fault_scenario import FaultScenario


@dataclass
class FaultConfig:
    subscriptions: int
    min_kills: int
    kill_every_s: tuple[float, float]
    shops: int = 3
    threads: int = 6
    kafka_down_s: float = 8.0
    postgres_down_s: float = 5.0
    seed: int = field(default_factory=lambda: int(os.environ.get("FAULT_SEED", random.randrange(1 << 30))))
    settle_timeout_s: float = 900.0
    calm: bool = field(default_factory=lambda: os.environ.get("FAULT_CALM") == "1")  # no kill, no crash (debugging)
    # 3: the stack's Kafka is a three-node cluster (FaultStack(kafka_nodes=3)); the broker crash becomes kill -9 of
    # the busiest partition's leader at the open, and another broker is stopped (gracefully) at the close
    kafka_nodes: int = 1
    # members of order-service's and billing-service's consumer groups (FAULT_CONSUMERS): more than one, and one
    # of each group is also killed on purpose at the open (order-service) and at the close (billing-service)
    consumers_per_group: int = 1

    @classmethod
    def from_env(cls, form: str, **defaults: Any) -> FaultConfig:
        """FAULT_SUBSCRIPTIONS, FAULT_KILLS and FAULT_SEED override the form's defaults."""
        cfg = cls(**defaults)
        cfg.subscriptions = int(os.environ.get("FAULT_SUBSCRIPTIONS", cfg.subscriptions))
        cfg.min_kills = int(os.environ.get("FAULT_KILLS", cfg.min_kills))
        cfg.consumers_per_group = int(os.environ.get("FAULT_CONSUMERS", cfg.consumers_per_group))
        cfg.form = form  # type: ignore[attr-defined]
        return cfg


class FaultRun:
    def __init__(self, stack: FaultStack, cfg: FaultConfig) -> None:
        self.stack = stack
        self.cfg = cfg
        self.t0 = time.monotonic()
        self.phase = "start"
        self.phases: list[tuple[str, float, float]] = []
        self.stats = ClientStats()
        self.scenario = FaultScenario(stack, self.stats, threads=cfg.threads)
        if cfg.consumers_per_group > 1:  # before the chaos monkey lists its victims
            stack.scale_consumers(cfg.consumers_per_group)
        self.supervisor = Supervisor(stack, self.clock, lambda: self.phase, seed=cfg.seed)
        self.chaos = Chaos(self.supervisor, cfg.kill_every_s, seed=cfg.seed)
        self.injected: list[Injected] = []
        self.outages: dict[str, dict[str, Any]] = {}
        self.checks: list[Check] = []
        self.waits: dict[str, float] = {}
        self.last_backlog: dict[str, Any] = {}
        assert stack.kafka.nodes == cfg.kafka_nodes, "the stack's brokers are the configuration's"
        self.brokers = BrokerFaults(stack, self.clock, lambda: self.phase) if cfg.kafka_nodes > 1 else None
        self.groups: GroupWatch | None = None
        self.unseen_recoveries: list[str] = []

    def clock(self) -> float:
        return time.monotonic() - self.t0

    def enter(self, phase: str) -> None:
        now = self.clock()
        if self.phases:
            name, start, _ = self.phases[-1]
            self.phases[-1] = (name, start, now)
        self.phases.append((phase, now, now))
        self.phase = phase

    # -- the run ---------------------------------------------------------------------------------------------------

    def run(self) -> None:
        sc = self.scenario
        self.supervisor.start()
        self.watch_groups()
        self.enter("set-up")
        sc.create_shops(self.cfg.shops)
        sc.plan(self.cfg.subscriptions)
        if not self.cfg.calm:
            self.chaos.start()
        sc.run_all(sc.before_open, sc.subs)
        sc.disable_kill_switch_shop()

        self.enter("open")
        at_open = sum(s.kind.order and s.kind.when == "before" for s in sc.subs)
        self.watch_brokers()
        sc.advance_to(sc.opens_at + timedelta(minutes=1))
        self.kill_a_member("order-service", after_s=1.0)
        self.plant_messages()
        kafka = self.crash_in_background(*self.kafka_fault_at_open(at_open))
        self.timed("orders placed", lambda: sc.wait_orders(at_open, ("placed",), 600, f"{at_open} placed orders"))
        sc.remember_orders()

        self.enter("edits")
        sc.run_all(sc.while_open, [s for s in sc.subs if s.kind.order])
        self.timed("edits visible", lambda: eventually(sc.open_changes_visible, 600, "the edits to reach orders", 3))
        sc.remember_orders()

        self.enter("close")
        sc.advance_to(sc.closes_at + timedelta(minutes=1))
        stopped = self.kafka_fault_at_close()
        self.kill_a_member("billing-service", after_s=1.0)
        charged = sum(s.kind.charged for s in sc.subs)
        self.timed("a third charged", lambda: eventually(
            lambda: sum(p["status"] == "succeeded" for p in sc.payments().values()) >= charged // 3, 600,
            "a third of the charges", 1))
        kafka.join()
        postgres = self.crash_in_background("postgresql",
                                            lambda: self.stack.crash_postgres(self.cfg.postgres_down_s))
        self.timed("payments settled", lambda: eventually(lambda: not sc.payments_waiting(), 900,
                                                          "every payment in its final state", 3))

        postgres.join()
        if stopped is not None:
            stopped.join()
        self.enter("settle")
        if not self.cfg.calm:
            self.timed("minimum kills", lambda: eventually(lambda: len(self.chaos.kills) >= self.cfg.min_kills,
                                                           self.cfg.settle_timeout_s, "the minimum number of kills",
                                                           1))
        self.chaos.stop()
        self.enter("recovery")
        self.timed("quiet", self.wait_quiet)
        self.supervisor.stop()
        self.stop_watching_groups()
        self.scenario.close()
        self.enter("checks")

    def crash_in_background(self, name: str, crash: Any) -> threading.Thread:
        """Crash a piece of infrastructure while the clients go on (they meet the outage)."""

        def run() -> None:
            if self.cfg.calm:
                return
            outage: dict[str, Any] = {"at": self.clock(), "phase": self.phase}
            self.outages[name] = outage
            outage["seconds"] = crash()

        thread = threading.Thread(target=run, name=f"crash {name}", daemon=True)
        thread.start()
        return thread

    # -- a Kafka cluster's brokers ------------------------------------------------------------------------------------

    BUSY_AT_OPEN = ("scheduler.events", "orders.events")  # the OrderDue burst and the orders it places

    def watch_brokers(self) -> None:
        """On a cluster: note the topics' end offsets before the open (to find its busiest partition)."""
        if self.brokers is not None:
            self.brokers.mark(list(self.BUSY_AT_OPEN))

    def kafka_fault_at_open(self, at_open: int) -> tuple[str, Any]:
        """One broker: crash it (kill -9, restart). A cluster: kill -9 the node leading the partition that got the
        most records of the opening burst, once a third of the burst is written; restart it later."""
        if self.brokers is None:
            return "kafka", lambda: self.stack.crash_kafka(self.cfg.kafka_down_s)
        brokers = self.brokers
        return "kafka (kill -9 of the busiest leader)", lambda: brokers.kill_busiest_leader(
            list(self.BUSY_AT_OPEN), max(10, at_open // 3), self.cfg.kafka_down_s)

    def kafka_fault_at_close(self) -> threading.Thread | None:
        """A cluster: stop another node gracefully while the charges go out, restart it later."""
        if self.brokers is None:
            return None
        brokers = self.brokers
        return self.crash_in_background("kafka (a broker stopped)",
                                        lambda: brokers.stop_another(self.cfg.kafka_down_s))

    def broker_lines(self) -> list[str]:
        """Each broker outage: the elections, and the longest the producers (outbox relays) and the consumers
        waited on them."""
        if self.brokers is None:
            return []
        windows = [(o.wall_down, o.wall_back or o.wall_down) for o in self.brokers.outages]
        try:
            return self.brokers.lines(outbox_waits(self.stack, windows), consumer_waits(self.stack, windows))
        except Exception as exc:  # the report still prints the rest
            return [f"waits on the brokers not read: {exc!r}", *self.brokers.lines({}, {})]

    def timed(self, what: str, fn: Any) -> Any:
        started = time.monotonic()
        try:
            return fn()
        finally:
            self.waits[what] = time.monotonic() - started

    # -- consumer groups of several members --------------------------------------------------------------------------

    def watch_groups(self) -> None:
        """With several members per group: find the scaled services' Kafka groups (once every member has joined)
        and watch them (GroupWatch) until the platform is quiet."""
        members = getattr(self.stack, "consumer_members", {})
        if not members:
            return

        def found() -> dict[str, str] | None:
            names = self.consumer_groups()
            groups = {s: next((g for g in names if g in (s, self.stack.cfg.topic_prefix + s)), None) for s in members}
            return None if None in groups.values() else groups  # type: ignore[return-value]

        self.groups = GroupWatch(self.stack.bootstrap, eventually(found, 120, "the scaled consumer groups", 1),
                                 members, self.clock)
        self.groups.start()
        eventually(lambda: all(self.groups.whole(s) for s in members), 120,  # type: ignore[union-attr]
                   "every member of the scaled groups to hold partitions", 1)

    def stop_watching_groups(self) -> None:
        """Once quiet, the scaled groups are looked at until whole (60 s at most: the check says if not), at the
        earliest 15 s after the last kill of a consumer."""
        if self.groups is None:
            return
        # a member killed last is listed until Kafka's session timeout (10 s): look after that
        last_kill = max((k.at for k in self.chaos.kills if k.process.partition(".")[2].startswith("consumer")),
                        default=0.0)
        time.sleep(max(0.0, last_kill + 15 - self.clock()))
        try:
            eventually(lambda: all(self.groups.whole(s) for s in self.groups.groups),  # type: ignore[union-attr]
                       60, "every scaled group whole", 1)
        except AssertionError:
            pass
        self.groups.stop()

    def kill_a_member(self, service: str, after_s: float) -> None:
        """kill -9 one member of the service's group (chosen by the seed) ``after_s`` seconds from now, in the
        background: the others take its partitions over, then share them with it again once restarted."""
        if self.groups is None or self.cfg.calm:
            return
        victim = random.Random(self.cfg.seed).choice(self.stack.members(service))
        timer = threading.Timer(after_s, lambda: self.chaos.kill(victim))
        timer.daemon = True
        timer.start()

    def groups_recovered(self) -> Check:
        """Each scaled group ended stable with all its members holding partitions (a fresh look, after the last
        kill), and the watch saw it whole again after a kill of one of its members (the others took the dead one's
        partitions, then shared them with its replacement). A recovery the watch did not see (it looks every half
        second through an admin client that a broker crash can blind) is counted and its looks are reported."""
        if self.groups is None:
            return Check("consumer groups", True, {"members per group": 1})
        problems: list[str] = []
        numbers: dict[str, Any] = {}
        for service in self.groups.groups:
            members = self.stack.members(service)
            recovery = self.groups.recovery(service, [k for k in self.chaos.kills if k.process in members])
            unseen = [r for r in recovery if r.whole_s is None]
            numbers[f"{service} member kills"] = len(recovery)
            numbers[f"{service} recoveries not seen"] = len(unseen)
            if not self.groups.whole(service):
                problems.append(f"{service}: not whole at the end: {self.groups.latest.get(service)}")
            if not self.cfg.calm and len(unseen) == len(recovery):
                problems.append(f"{service}: no kill of a member seen followed by the group whole again "
                                f"({len(recovery)} kills)")
            self.unseen_recoveries += [f"{service}: {r.process} killed at {r.at:.0f}s, the group not seen whole "
                                       f"again; looks around: {self.looks_around(service, r.at)}" for r in unseen]
        return Check("consumer groups", not problems, numbers, problems)

    def looks_around(self, service: str, at: float) -> str:
        """The watch's last look before ``at`` and its first ones after (for a report that must be explained)."""
        assert self.groups is not None
        looks = self.groups.looks[service]
        i = next((n for n, look in enumerate(looks) if look.at > at), len(looks))
        return "; ".join(f"{look.at:.1f}s {look.state} {sorted(m[-6:] for m in look.members)} held by "
                         f"{look.assigned}" for look in looks[max(0, i - 2):i + 6])

    def group_report(self) -> list[str]:
        if self.groups is None:
            return []
        lines = []
        for service, group in self.groups.groups.items():
            members = self.stack.members(service)
            kills = [k for k in self.chaos.kills if k.process in members]
            recovery = self.groups.recovery(service, kills)
            lines += [
                f"consumer group {group}: {len(members)} members, kill -9 per member "
                f"{ {m: sum(k.process == m for k in kills) for m in members} }, rebalances seen "
                f"{self.groups.rebalances(service)}, whole at the end: {self.groups.whole(service)}",
                f"  after a member's kill: its partitions taken over {seconds([r.taken_over_s for r in recovery])}"
                f"; all members holding partitions again {seconds([r.whole_s for r in recovery])}",
                f"  (the watch: {len(self.groups.looks[service])} changes in {self.groups.count} looks, its child "
                f"started {self.groups.child_starts} times)",
            ]
        return lines

    # -- malformed and duplicate messages -------------------------------------------------------------------------

    def plant_messages(self) -> None:
        """Malformed messages (which every reader must dead-letter) and copies of real events (which every
        reader must drop as duplicates) on the topics, in the middle of the opening burst."""
        from shared_events import kafka as kafka_clients
        from shared_events import new_envelope
        from shared_events.envelope import encode

        shop = self.scenario.shops[0]
        real = new_envelope("VariantUpdated", f"{shop.id}:ghost", 1, {
            "variant_id": "ghost", "shop_id": shop.id, "product_name": "Ghost", "variant_name": None,
            "unit_price": 100, "currency": "EUR", "on_hand": None, "available": True}, producer="fault-run",
            shop_id=shop.id, occurred_at=datetime.now(UTC))
        good = json.loads(encode(real))
        unknown = dict(good, event_id=str(uuid.uuid4()), event_type="VariantTeleported")
        future = dict(good, event_id=str(uuid.uuid4()), schema_version=99)
        bad_payload = dict(good, event_id=str(uuid.uuid4()), payload={"shop_id": shop.id})
        due = dict(good, event_id=str(uuid.uuid4()), event_type="OrderDue", payload={"nonsense": True})
        planted = [
            ("garbage bytes", "catalog.events", b"\x00\xff this is not an event \xfe"),
            ("truncated JSON", "catalog.events", encode(real)[:57]),
            ("unknown event type", "catalog.events", json.dumps(unknown).encode()),
            ("schema version from the future", "catalog.events", json.dumps(future).encode()),
            ("payload breaking its contract", "catalog.events", json.dumps(bad_payload).encode()),
            ("OrderDue that is not one", "scheduler.events",
             json.dumps(due, separators=(",", ":")).encode()),
            ("empty message", "orders.events", b""),
            ("JSON that is not an object", "identity.events", b"[1, 2, 3]"),
            ("JSON nested too deeply", "subscriptions.events", b"[" * 20_000 + b"]" * 20_000),
            ("larger than any producer may write", "customers.events",
             json.dumps(dict(good, event_id=str(uuid.uuid4()), padding="x" * 920_000)).encode()),
        ]
        producer = kafka_clients.producer(self.stack.bootstrap)
        sending = [(label, topic, True, b"fault", v) for label, topic, v in planted]
        sending += [(label, topic, False, key, value) for label, topic, (key, value) in self.copies_of_real_events()]
        for label, topic, dead, key, value in sending:
            partition, offset = kafka_clients.deliver_one(producer, self.stack.cfg.topic_prefix + topic, key, value)
            self.injected.append(Injected(label, topic, partition, offset, dead))

    def copies_of_real_events(self) -> list[tuple[str, str, tuple[bytes, bytes]]]:
        """A few records already on the topics, sent again as they are (a producer retry, a replayed backup)."""
        from shared_events import kafka as kafka_clients

        out = []
        consumer = kafka_clients.consumer(None, self.stack.bootstrap)
        try:
            for topic in ("subscriptions.events", "customers.events", "identity.events", "shops.events"):
                name = self.stack.cfg.topic_prefix + topic
                meta = consumer.list_topics(name, timeout=30).topics[name]
                consumer.assign([kafka_clients.TopicPartition(name, p, kafka_clients.OFFSET_BEGINNING)
                                 for p in sorted(meta.partitions)])
                first: dict[int, Any] = {}  # the first record of each partition among the first three read
                for msg in kafka_clients.take(consumer, 3, 5.0):
                    if msg.error() is None:
                        first.setdefault(msg.partition(), msg)
                out += [(f"copy of a {topic} record", topic, (m.key(), m.value())) for m in first.values()]
                consumer.unassign()
        finally:
            consumer.close()
        return out

    # -- recovery ----------------------------------------------------------------------------------------------------

    def wait_quiet(self) -> None:
        """Every process up, every outbox published, every consumer caught up, every email sent; and nothing
        moved in between two looks."""
        seen: list[dict[str, Any]] = []

        def quiet() -> bool:
            state = self.backlog()
            ok = self.supervisor.all_running() and not any(v for k, v in state.items() if k != "emails sent")
            settled = ok and bool(seen) and seen[-1] == state
            seen.append(state)
            return settled

        try:
            eventually(quiet, 600, "the platform to settle", 5)
        finally:
            self.last_backlog = seen[-1] if seen else {}

    def backlog(self) -> dict[str, Any]:
        import psycopg

        from devstack.stack import SERVICES
        from devstack.testing import group_lag

        out: dict[str, Any] = {}
        for svc in SERVICES:
            with psycopg.connect(self.stack.db(svc.name)) as conn:
                out[f"{svc.name} unpublished"] = conn.execute(
                    "SELECT count(*) FROM event_store WHERE published_at IS NULL").fetchone()[0]
        with psycopg.connect(self.stack.db("order-service")) as conn:
            out["emails queued"] = conn.execute(
                "SELECT count(*) FROM notifications WHERE sent_at IS NULL AND failed_at IS NULL").fetchone()[0]
        for group in self.consumer_groups():
            service = next((s for s in READERS if group.endswith(s)), None)
            if service is None:
                continue
            topics = [self.stack.cfg.topic_prefix + t for t in reads(service)]
            out[f"lag {group}"] = group_lag(self.stack.bootstrap, group, topics) or 0
        out["emails sent"] = len(self.stack_mail())
        return out

    def consumer_groups(self) -> list[str]:
        from shared_events import kafka as kafka_clients

        admin = kafka_clients.admin(self.stack.bootstrap)
        return sorted(g.group_id for g in admin.list_consumer_groups(request_timeout=30).result().valid)

    def stack_mail(self) -> list[dict[str, Any]]:
        import requests

        return requests.get(f"{self.stack.smtp.api_url}/messages", timeout=60).json()

    # -- checks and report --------------------------------------------------------------------------------------------

    def check(self) -> list[Check]:
        checks = FaultChecks(self.scenario, self.injected)
        for fn in (checks.orders_exactly_once, checks.order_states, checks.payments, checks.stripe_charges,
                   checks.emails, checks.outboxes_published, checks.dead_letters, checks.rebuilds,
                   lambda: checks.secrets_kept(self.stats.error_bodies), self.groups_recovered):
            try:
                self.checks.append(fn())
            except Exception as exc:  # a check that cannot run is a failed check, and the others still run
                self.checks.append(Check(getattr(fn, "__name__", "check"), False, problems=[repr(exc)]))
        if self.brokers is not None:
            self.checks.append(self.brokers.check())
        return self.checks

    def report(self) -> str:
        cfg, sc = self.cfg, self.scenario
        kinds = Counter(s.kind.name for s in sc.subs)
        kills_by_phase = Counter(k.phase for k in self.chaos.kills)
        kills_by_process = Counter(k.process for k in self.chaos.kills)
        lines = [
            "",
            f"=== fault run ({getattr(cfg, 'form', '?')}): {len(sc.subs)} subscriptions in {len(sc.shops)} shops, "
            f"seed {cfg.seed}, {self.clock():.0f}s ===",
            "phases: " + ", ".join(f"{n} {e - s:.0f}s" for n, s, e in self.phases),
            "waits: " + ", ".join(f"{k} {v:.0f}s" for k, v in self.waits.items()),
            f"subscriptions by story: {dict(sorted(kinds.items()))}",
            f"kill -9: {len(self.chaos.kills)} (by phase {dict(kills_by_phase)})",
            f"  by process: {dict(sorted(kills_by_process.items()))}",
            f"restarts by the supervisor: {sum(self.supervisor.restarts.values())}; processes that exited on "
            f"their own: {len(self.supervisor.exits)} {dict(Counter(e.process for e in self.supervisor.exits))}",
        ]
        lines.append("  timeline: " + ", ".join(f"{k.at:.0f}s {k.process}" for k in self.chaos.kills))
        for name, o in self.outages.items():
            lines.append(f"{name} crashed in phase '{o['phase']}' at {o['at']:.0f}s, back after "
                         f"{o.get('seconds', float('nan')):.1f}s")
        lines += self.broker_lines()
        st = self.stats
        lines.append(f"client requests: {st.requests}, resent {st.resent}, connection errors "
                     f"{st.connection_errors}, retried answers {dict(st.statuses)}")
        lines += self.group_report() + [f"  {u}" for u in self.unseen_recoveries]
        if self.last_backlog:
            lines.append(f"backlog at the end: {self.last_backlog}")
        lines.append(f"planted messages: {[(i.label, i.topic) for i in self.injected]}")
        lines.append("checks:")
        lines += [c.line() for c in self.checks]
        for e in self.supervisor.exits[:10]:
            lines.append(f"exit of {e.process} at {e.at:.0f}s ({e.phase}): ...{e.log_tail[-600:]}")
        return "\n".join(lines)


def save_report(text: str, form: str) -> Path:
    from devstack.stack import repo_root

    folder = repo_root() / ".local" / "faults"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"report-{form}.txt"
    path.write_text(text + "\n")
    return path
