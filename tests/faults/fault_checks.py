"""What must be true after a fault run, checked from the outside (APIs, Kafka, localstripe, the SMTP sink) and, for
the outbox and the rebuild, from each service's own database. Each check returns a ``Check`` with its numbers; the
test prints them all (the report) and then fails on any that did not hold.
"""

from __future__ import annotations

import importlib
import json
import os
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import psycopg
import requests
import stripe

from devstack.stack import SERVICES
from shared_events.topics import dlq_name, event_topics

try:
    from fault_scenario import FaultScenario, Sub
except ImportError:
    from .fault_scenario import FaultScenario, Sub

# topics each service's consumer reads (a malformed message in one is dead-lettered once per reader)
READERS = {
    "subscription-service": "subscription_service.adapters.projections:CONSUMED_TOPICS",
    "scheduler-service": "scheduler_service.entrypoints.consumer:TOPICS",
    "order-service": "order_service.entrypoints.consumer:TOPICS",
    "billing-service": "billing_service.entrypoints.consumer:TOPICS",
}


def reads(service: str) -> list[str]:
    module, _, name = READERS[service].partition(":")
    return list(getattr(importlib.import_module(module), name))


def readers_of(topic: str) -> set[str]:
    return {service for service in READERS if topic in reads(service)}


@dataclass
class Check:
    name: str
    ok: bool
    numbers: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        nums = ", ".join(f"{k} {v}" for k, v in self.numbers.items())
        out = f"  [{'ok' if self.ok else 'FAILED'}] {self.name}: {nums}"
        for p in self.problems[:15]:
            out += f"\n      - {p}"
        if len(self.problems) > 15:
            out += f"\n      ... and {len(self.problems) - 15} more"
        return out


@dataclass
class Injected:
    """A message the run put on a topic on purpose: ``dead`` ones must reach the DLQ, duplicates must not."""

    label: str
    topic: str  # logical
    partition: int
    offset: int
    dead: bool


@dataclass
class TopicRecord:
    topic: str
    partition: int
    offset: int
    value: bytes
    headers: dict[str, str]


def read_all(bootstrap: str, physical_topics: list[str]) -> list[TopicRecord]:
    """Every record of the topics, from the beginning to the current end."""
    from shared_events import kafka as kafka_clients

    return [TopicRecord(r.topic, r.partition, r.offset, r.value or b"",
                        {k: v.decode(errors="replace") for k, v in (r.headers or [])})
            for topic in physical_topics for r in kafka_clients.read_topic(topic, bootstrap)]


class FaultChecks:
    def __init__(self, scenario: FaultScenario, injected: list[Injected]) -> None:
        self.sc = scenario
        self.stack = scenario.stack
        self.injected = injected
        self.prefix = self.stack.cfg.topic_prefix
        self.orders = {o["order_id"]: o for o in scenario.all_orders()}
        self.order_of_sub = {o["subscription_id"]: o for o in self.orders.values()}
        self.events = read_all(self.stack.bootstrap, [self.prefix + t.name for t in event_topics()])

    def logical(self, physical: str) -> str:
        return physical[len(self.prefix):]

    def order(self, sub: Sub) -> dict[str, Any] | None:
        return self.order_of_sub.get(sub.id)

    # -- orders --------------------------------------------------------------------------------------------------

    def orders_exactly_once(self) -> Check:
        c = Check("one order per (subscription, cycle) that should have one, none for the others", True)
        ours = {s.id: s for s in self.sc.subs}
        per_key = Counter((o["subscription_id"], o["order_cycle_id"]) for o in self.orders.values())
        twice = [k for k, n in per_key.items() if n > 1]
        placed: dict[str, set[str]] = defaultdict(set)  # order id -> distinct OrderPlaced event ids in Kafka
        for rec in self.events:
            if self.logical(rec.topic) == "orders.events" and b'"OrderPlaced"' in rec.value[:200]:
                env = json.loads(rec.value)
                placed[env["aggregate_id"]].add(env["event_id"])
        placed_twice = [o for o, ids in placed.items() if len(ids) > 1]
        missing = [s for s in self.sc.subs if s.kind.order and self.order(s) is None]
        extra = [s for s in self.sc.subs if not s.kind.order and self.order(s) is not None]
        strangers = [o for o in self.orders.values() if o["subscription_id"] not in ours]
        c.numbers = {"subscriptions": len(self.sc.subs), "orders expected": sum(s.kind.order for s in self.sc.subs),
                     "orders": len(self.orders), "OrderPlaced events (distinct)": sum(map(len, placed.values()))}
        c.problems += [f"two orders for {k}" for k in twice]
        c.problems += [f"order {o} placed by {len(placed[o])} different OrderPlaced events" for o in placed_twice]
        c.problems += [f"no order for subscription {s.id} ({s.kind.name}, did {s.done})" for s in missing]
        c.problems += [f"an order for subscription {s.id} ({s.kind.name}, did {s.done})" for s in extra]
        c.problems += [f"order {o['order_id']} of an unknown subscription" for o in strangers]
        c.ok = not c.problems
        return c

    def order_states(self) -> Check:
        c = Check("every order ends as its story says (confirmed or cancelled, edits kept)", True)
        statuses: Counter[str] = Counter()
        order_svc = self.sc.admin["order-service"]
        for sub in self.sc.subs:
            o = self.order(sub)
            if not sub.kind.order or o is None:
                continue
            statuses[o["status"]] += 1
            if o["status"] != sub.kind.status:
                c.problems.append(f"{sub.kind.name} order {o['number']} is {o['status']}, not {sub.kind.status}")
            want_eggs = {"edited": 5, "sub_updated": 3}.get(sub.kind.name)
            if want_eggs:
                full = order_svc.get(f"/api/v1/shops/{sub.shop.id}/orders/{o['order_id']}")
                eggs = {li["variant_id"]: li["quantity"] for li in full["lines"]}.get("eggs")
                if eggs != want_eggs:
                    c.problems.append(f"{sub.kind.name} order {o['number']} has {eggs} eggs, not {want_eggs}")
        c.numbers = dict(statuses)
        c.ok = not c.problems
        return c

    # -- money ---------------------------------------------------------------------------------------------------

    def payments(self) -> Check:
        c = Check("one payment per order to be paid, in its expected state, for the order's total", True)
        billing = self.sc.admin["billing-service"]
        all_payments = [p for shop in self.sc.shops
                        for p in billing.all_pages(f"/api/v1/shops/{shop.id}/payments")]
        per_order = Counter(p["order_id"] for p in all_payments)
        by_order = {p["order_id"]: p for p in all_payments}
        c.problems += [f"{n} payments for order {o}" for o, n in per_order.items() if n > 1]
        statuses: Counter[str] = Counter()
        for sub in self.sc.subs:
            o = self.order(sub)
            if o is None:
                continue
            p = by_order.get(o["order_id"])
            if sub.kind.payment is None:
                if p is not None:
                    c.problems.append(f"{sub.kind.name} order {o['number']} has a payment ({p['status']})")
                continue
            if p is None:
                c.problems.append(f"{sub.kind.name} order {o['number']} has no payment")
                continue
            statuses[p["status"]] += 1
            if p["status"] != sub.kind.payment:
                c.problems.append(f"{sub.kind.name} order {o['number']}: payment {p['status']}, not "
                                  f"{sub.kind.payment}")
            if p["amount"] != o["totals"]["total"]:
                c.problems.append(f"order {o['number']}: payment of {p['amount']} for a total of "
                                  f"{o['totals']['total']}")
        c.numbers = {"payments": len(all_payments), **statuses}
        c.ok = not c.problems
        return c

    def stripe_charges(self) -> Check:
        c = Check("exactly one successful charge in localstripe per order to be charged, none for the others", True)
        v1 = stripe.StripeClient(self.stack.secrets.stripe_key, base_addresses={"api": self.stack.stripe_url},
                                 max_network_retries=0).v1
        intents = [pi.to_dict() for pi in v1.payment_intents.list({"limit": 100}).auto_paging_iter()]
        by_order: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for pi in intents:
            by_order[(pi.get("metadata") or {}).get("order_id", "")].append(pi)
        statuses = Counter(pi["status"] for pi in intents)
        charged = 0
        for sub in self.sc.subs:
            o = self.order(sub)
            if o is None:
                continue
            succeeded = [pi for pi in by_order.pop(o["order_id"], []) if pi["status"] == "succeeded"]
            want = 1 if sub.kind.charged else 0
            charged += want
            if len(succeeded) != want:
                c.problems.append(f"{sub.kind.name} order {o['number']}: {len(succeeded)} successful charges, "
                                  f"expected {want}")
            elif succeeded and succeeded[0]["amount"] != o["totals"]["total"]:
                c.problems.append(f"order {o['number']} charged {succeeded[0]['amount']} for a total of "
                                  f"{o['totals']['total']}")
        c.problems += [f"{len(pis)} payment intents for an order that is not ours: {oid!r}"
                       for oid, pis in by_order.items()]
        c.numbers = {"orders to charge": charged, "payment intents": len(intents), **statuses}
        c.ok = not c.problems
        return c

    # -- emails --------------------------------------------------------------------------------------------------

    def emails(self) -> Check:
        c = Check("no email sent twice; every order's customer told what happened", True)
        mails = requests.get(f"{self.stack.smtp.api_url}/messages", timeout=120).json()
        ids = Counter(m.get("message_id") for m in mails)
        c.problems += [f"Message-ID {i} sent {n} times" for i, n in ids.items() if n > 1]
        kinds = Counter()
        per_order: dict[str, Counter[str]] = defaultdict(Counter)
        for m in mails:
            h = {k.lower(): v for k, v in (m.get("headers") or {}).items()}
            kind = h.get("x-notification-kind", "?")
            kinds[kind] += 1
            if h.get("x-order-number"):
                per_order[h["x-order-number"]][kind] += 1
        for number, counts in per_order.items():
            c.problems += [f"order {number}: {n} emails '{k}'" for k, n in counts.items() if n > 1]
        for sub in self.sc.subs:
            o = self.order(sub)
            if o is None:
                continue
            got = per_order.get(o["number"], Counter())
            for kind in expected_emails(sub):
                if got[kind] != 1:
                    c.problems.append(f"{sub.kind.name} order {o['number']}: {got[kind]} '{kind}' emails")
        c.numbers = {"emails": len(mails), "distinct Message-IDs": len(ids), **dict(sorted(kinds.items()))}
        c.ok = not c.problems
        return c

    # -- events --------------------------------------------------------------------------------------------------

    def outboxes_published(self) -> Check:
        c = Check("every event of every outbox published and present in its topic", True)
        in_topics = set()
        for rec in self.events:
            try:
                in_topics.add(json.loads(rec.value)["event_id"])
            except (ValueError, KeyError, TypeError, RecursionError):
                continue  # the planted malformed records (one is nested deeper than json can parse)
        total = 0
        for svc in SERVICES:
            with psycopg.connect(self.stack.db(svc.name)) as conn:
                rows = conn.execute("SELECT event_id::text, published_at IS NOT NULL FROM event_store").fetchall()
            total += len(rows)
            unpublished = [r[0] for r in rows if not r[1]]
            absent = [r[0] for r in rows if r[0] not in in_topics]
            c.numbers[svc.name] = len(rows)
            if unpublished:
                c.problems.append(f"{svc.name}: {len(unpublished)} events never published, e.g. {unpublished[:3]}")
            if absent:
                c.problems.append(f"{svc.name}: {len(absent)} events not in Kafka, e.g. {absent[:3]}")
        c.numbers["events in outboxes"] = total
        c.numbers["records in topics"] = len(self.events)
        c.ok = not c.problems
        return c

    def dead_letters(self) -> Check:
        c = Check("the dead-letter topics hold only what was deliberately malformed, each once per reader", True)
        letters = read_all(self.stack.bootstrap, [self.prefix + dlq_name(t.name) for t in event_topics()])
        planted = {(i.topic, i.partition, i.offset): i for i in self.injected}
        seen: dict[tuple[str, int, int], set[str]] = defaultdict(set)
        copies = 0
        for d in letters:
            key = (self.logical(d.headers.get("dlq.source.topic", "?")), int(d.headers.get("dlq.source.partition", -1)),
                   int(d.headers.get("dlq.source.offset", -1)))
            inj = planted.get(key)
            if inj is None or not inj.dead:
                c.problems.append(f"unexpected dead letter from {key} by {d.headers.get('dlq.consumer')}: "
                                  f"{d.headers.get('dlq.error', '')[:300]!r}")
                continue
            consumer = d.headers.get("dlq.consumer", "?")
            if consumer in seen[key]:
                copies += 1  # a consumer killed between the DLQ write and its commit writes it again (documented)
            seen[key].add(consumer)
        for key, inj in planted.items():
            if not inj.dead:
                continue
            want = readers_of(inj.topic)
            got = {next((s for s in want if g.endswith(s)), g) for g in seen.get(key, set())}
            if got != want:
                c.problems.append(f"{inj.label} in {inj.topic}: dead-lettered by {sorted(got)}, expected "
                                  f"{sorted(want)}")
        c.numbers = {"planted malformed": sum(i.dead for i in self.injected),
                     "planted duplicates": sum(not i.dead for i in self.injected), "dead letters": len(letters),
                     "repeated by a restarted consumer": copies}
        c.ok = not c.problems
        return c

    def rebuilds(self) -> Check:
        c = Check("every service's projections equal a fresh replay of its topics", True)
        os.environ["TOPIC_PREFIX"] = self.prefix  # the rebuild reads topic names from the environment
        for svc in SERVICES:
            module = importlib.import_module(f"{svc.package}.entrypoints.rebuild")
            report = module.run(self.stack.db(svc.name), bootstrap=self.stack.bootstrap, swap=False)
            c.numbers[svc.name] = f"{report.events} events replayed"
            if not report.identical:
                c.problems.append(f"{svc.name}: {({t: n for t, n in report.differences.items() if n})}")
            if report.events == 0:
                c.problems.append(f"{svc.name}: nothing replayed")
        c.ok = not c.problems
        return c

    def secrets_kept(self, error_bodies: list[str]) -> Check:
        c = Check("no secret in any log line or error body of the run", True)
        sec = self.stack.secrets
        wanted = {"admin token": [sec.admin_token], "Stripe secret key": [sec.stripe_key],
                  "webhook secret": [sec.webhook_secret], "payment link signing key": [sec.link_signing_key],
                  "issued API tokens": list(self.sc.tokens), "payment link tokens": list(self.sc.links)}
        logs = sorted(p for p in (self.stack.cfg.state / "logs").glob("*.log"))
        logs += [self.stack.cfg.state / "pg" / "postgres.log"]
        size = 0
        for path in logs:
            text = path.read_text(errors="replace")
            size += len(text)
            for what, values in wanted.items():
                hits = [v for v in values if v and v in text]
                if hits:
                    c.problems.append(f"{path.name}: {len(hits)} {what}")
        bodies = "\n".join(error_bodies)
        for what, values in wanted.items():
            hits = [v for v in values if v and v in bodies]
            if hits:
                c.problems.append(f"error bodies: {len(hits)} {what}")
        traces = len(re.findall(r"Traceback \(most recent call last\)", bodies))
        if traces:
            c.problems.append(f"{traces} error bodies with a stack trace")
        c.numbers = {"log files": len(logs), "log bytes": size, "error bodies": len(error_bodies),
                     "secrets looked for": sum(len(v) for v in wanted.values())}
        c.ok = not c.problems
        return c


def expected_emails(sub: Sub) -> list[str]:
    """The customer's emails about an order, each exactly once (order-service README, "Emails")."""
    k = sub.kind
    out = ["order_placed"]
    if k.status == "cancelled" or k.name == "cancelled_resumed":
        out.append("order_cancelled")
    if k.status == "confirmed":
        if k.payment in ("succeeded", "pending"):
            out.append("order_confirmed")
        elif k.payment == "failed":
            out.append("payment_failed")
        elif k.payment == "requires_action":
            out += ["authorization_required"]
    if k.name == "sca_authorised":
        out.remove("order_confirmed")
        out.append("authorization_required")
    return out
