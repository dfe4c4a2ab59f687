"""The charger's use cases: charge one attempt, start the retries that are due, look again at what is pending.

Never charged twice, step by step, for one attempt (its row was committed by whoever started it):
1. the attempt is taken under a session advisory lock (one worker anywhere; a crash releases it);
2. if a call for it may already have reached Stripe (``charge_calls.calls > 0``), or an earlier attempt
   failed without knowing whether Stripe acted, Stripe is asked first (``reconcile``: the intent is retrieved
   by its recorded id, else searched for by the attempt's metadata): an intent that succeeded means "paid",
   nothing is sent;
3. ``calls`` is incremented and COMMITTED before the request (and each resend) leaves;
4. the request carries the attempt's idempotency key and, on a resend, the very same parameters;
5. the outcome is recorded in one transaction (events + projection), unless a webhook recorded it first.
A crash between 3 and 5 is step 2 on the next run.

Every function takes an autocommit connection and opens its own transactions.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from billing_service import metrics
from billing_service.adapters import repository as repo
from billing_service.adapters.stripe_gateway import StripeCallFailed, StripeGateway
from billing_service.domain import charges
from billing_service.domain import outcomes as oc
from billing_service.domain import payments as decide
from billing_service.service_layer import handlers
from billing_service.service_layer.links import Links
from servicekit.faults import crash_hook

log = logging.getLogger("billing_service.charger")

UNKNOWN_CUSTOMER_GRACE = timedelta(minutes=5)  # customers.events may lag behind orders.events
RECHECK_PROCESSING = timedelta(seconds=60)
RECONCILE_MARGIN = timedelta(hours=1)  # Stripe's "created" is its own clock: look a little further back


@dataclass(frozen=True)
class Work:
    payment_id: str
    attempt: int
    idempotency_key: str


@dataclass
class Charging:
    gateway: StripeGateway
    links: Links
    now: Callable[[], datetime]
    fault: Callable[[], None] | None = None  # test hook: dies like kill -9 after Stripe answered

    # -- what to do -----------------------------------------------------------------------------------------------

    def due_work(self, conn: psycopg.Connection, exclude: list[str], limit: int) -> list[Work]:
        rows = repo.many(conn, """
            SELECT a.payment_id, a.attempt, a.idempotency_key
            FROM payment_attempts a
            JOIN payments p ON p.payment_id = a.payment_id AND p.status = 'processing'
            LEFT JOIN charge_calls c ON c.idempotency_key = a.idempotency_key
            WHERE a.status = 'started' AND (c.not_before IS NULL OR c.not_before <= clock_timestamp())
              AND NOT (a.idempotency_key = ANY(%s))
            ORDER BY a.started_at, a.payment_id
            LIMIT %s""", [exclude, limit])
        return [Work(**r) for r in rows]

    def start_due_retries(self, conn: psycopg.Connection) -> int:
        """Start the next attempt of every failed payment whose retry is due (by the service clock)."""
        now = self.now()
        started = 0
        for row in repo.many(conn, "SELECT payment_id FROM payments WHERE status = 'failed' AND NOT final "
                                   "AND next_attempt_at <= %s ORDER BY next_attempt_at LIMIT 200", [now]):
            with conn.transaction():
                payment = repo.load_payment(conn, row["payment_id"], lock=True, skip_locked=True)
                if payment is None:
                    continue
                events = decide.scheduled_retry(payment, now)
                repo.store(conn, payment, payment.payment_id, payment.shop_id, events, occurred_at=now)
                started += len(events)
        return started

    # -- one attempt ---------------------------------------------------------------------------------------------

    def charge(self, conn: psycopg.Connection, work: Work) -> str:
        """Charge one attempt (see the module doc). Returns what happened, for logs and metrics."""
        got = repo.one(conn, "SELECT pg_try_advisory_lock(hashtextextended(%s, 0)) AS ok", [work.idempotency_key])
        if not got or not got["ok"]:
            return "busy"
        try:
            result = self._charge_locked(conn, work)
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", [work.idempotency_key])
        metrics.CHARGE_OUTCOMES.labels(result).inc()
        return result

    def _charge_locked(self, conn: psycopg.Connection, work: Work) -> str:
        with conn.transaction():
            payment = repo.load_payment(conn, work.payment_id)
            attempt = payment.attempt(work.attempt) if payment else None
            if payment is None or attempt is None or attempt.status != "started" or payment.status != "processing":
                return "skipped"
            call = repo.one(conn, """
                INSERT INTO charge_calls (idempotency_key, payment_id, attempt) VALUES (%s, %s, %s)
                ON CONFLICT (idempotency_key) DO UPDATE SET payment_id = EXCLUDED.payment_id
                RETURNING calls, params, stripe_account, first_seen_at,
                          clock_timestamp() - first_seen_at > %s AS grace_over""",
                            [work.idempotency_key, work.payment_id, work.attempt, UNKNOWN_CUSTOMER_GRACE])
            assert call is not None
            card = repo.load_card(conn, payment.customer_id)
            shop = repo.load_shop(conn, payment.shop_id)
        if shop is None:
            log.warning("shop not known yet, charge deferred", extra={"payment_id": work.payment_id})
            return self._defer(conn, work, timedelta(seconds=5), "shop_unknown")
        stored: dict[str, Any] | None = call["params"]
        # 1. money may already have moved: ask Stripe before anything else
        earlier_unknown = any(a.code == oc.STRIPE_UNAVAILABLE for a in payment.history if a.attempt < work.attempt)
        if call["calls"] > 0 or earlier_unknown:
            done = self._reconcile(conn, payment.payment_id, work)
            if done:
                return done
        # 2. the customer's card and permission, as they are now
        refused = decide.precheck(card)
        if refused == oc.NO_CARD and card is None and not call["grace_over"]:
            return self._defer(conn, work, timedelta(seconds=5), "customer_unknown")
        if refused:
            with conn.transaction():
                fresh = repo.load_payment(conn, work.payment_id, lock=True)
                assert fresh is not None
                events = decide.refuse_before_call(fresh, work.attempt, refused, self.now())
                repo.store(conn, fresh, fresh.payment_id, fresh.shop_id, events, occurred_at=self.now())
            return refused
        assert card is not None
        # 3. a resend carries the very parameters of the first call (same idempotency key, same request)
        params: dict[str, Any] = stored or charges.charge_params(payment, attempt, card)
        account = call["stripe_account"] if stored else shop.stripe_account_id

        def mark_sent() -> None:  # committed BEFORE each request (and each resend) leaves
            with conn.transaction():
                conn.execute("UPDATE charge_calls SET calls = calls + 1, last_call_at = clock_timestamp(), "
                             "params = %s, stripe_account = %s WHERE idempotency_key = %s",
                             [Jsonb(params), account, work.idempotency_key])

        try:
            intent = self.gateway.create_payment_intent(params, work.idempotency_key, account, mark_sent)
            outcome = oc.classify_intent(intent)
        except StripeCallFailed as exc:
            outcome = oc.classify_failure(exc.failure)
            if not outcome.payment_intent_id and exc.failure.charge_id:
                outcome = self._with_intent_of_charge(outcome, exc.failure.charge_id, account)
        if self.fault:
            self.fault()
        return self._record(conn, work, outcome)

    def _record(self, conn: psycopg.Connection, work: Work, outcome: oc.Outcome, attempt: int | None = None) -> str:
        if outcome.kind == oc.PROCESSING:  # no outcome yet: remember the intent, look at it again later
            conn.execute("UPDATE charge_calls SET stripe_payment_intent_id = %s WHERE idempotency_key = %s",
                         [outcome.payment_intent_id, work.idempotency_key])
            return self._defer(conn, work, RECHECK_PROCESSING, "processing")
        with conn.transaction():
            handlers.record_outcome(conn, work.payment_id, attempt or work.attempt, outcome, now=self.now(),
                                    links=self.links)
            conn.execute("UPDATE charge_calls SET finished_at = clock_timestamp(), not_before = NULL "
                         "WHERE idempotency_key = %s", [work.idempotency_key])
        return outcome.kind if outcome.kind != oc.FAILED else f"failed:{outcome.code}"

    def _defer(self, conn: psycopg.Connection, work: Work, delay: timedelta, why: str) -> str:
        conn.execute("UPDATE charge_calls SET not_before = clock_timestamp() + %s WHERE idempotency_key = %s",
                     [delay, work.idempotency_key])
        return f"deferred:{why}"

    def _reconcile(self, conn: psycopg.Connection, payment_id: str, work: Work) -> str | None:
        """Ask Stripe what it already holds for this payment, wherever an earlier request of it went (the
        customer and account each was sent with). A result ends the attempt; None: call Stripe."""
        known = repo.many(conn, "SELECT stripe_payment_intent_id AS id, stripe_account FROM charge_calls "
                                "WHERE payment_id = %s AND stripe_payment_intent_id IS NOT NULL", [payment_id])
        sent = repo.many(conn, "SELECT DISTINCT params->>'customer' AS customer, stripe_account, "
                               "min(first_seen_at) OVER () - %s AS since FROM charge_calls WHERE payment_id = %s "
                               "AND params IS NOT NULL AND stripe_payment_intent_id IS NULL",
                         [RECONCILE_MARGIN, payment_id])
        intents: list[dict[str, Any]] = []
        try:
            # recorded intents are retrieved by id; the others are searched for by their metadata
            intents += [self.gateway.retrieve_payment_intent(k["id"], k["stripe_account"]) for k in known]
            for target in sent:
                intents += self.gateway.find_payment_intents(target["customer"], payment_id,
                                                             int(target["since"].timestamp()),
                                                             target["stripe_account"])
        except StripeCallFailed as exc:
            log.warning("reconciliation failed, will try again", extra={"payment_id": payment_id,
                                                                        "kind": exc.failure.kind})
            return self._defer(conn, work, timedelta(seconds=30), "reconcile_failed")
        found = charges.reconcile(intents, work.idempotency_key)
        if found is None:
            log.info("reconciled: Stripe holds nothing for this attempt, calling", extra={
                "payment_id": payment_id, "attempt": work.attempt})
            return None
        attempt, outcome = found
        log.info("reconciled with Stripe", extra={"payment_id": payment_id, "attempt": attempt,
                                                  "outcome": outcome.kind})
        return "reconciled:" + self._record(conn, work, outcome, attempt=attempt or work.attempt)

    def _with_intent_of_charge(self, outcome: oc.Outcome, charge_id: str, account: str | None) -> oc.Outcome:
        """localstripe's declines name the charge, not the intent: find the intent for the attempt's record."""
        try:
            charge = self.gateway.retrieve_charge(charge_id, account)
        except StripeCallFailed:
            return outcome
        pi = charge.get("payment_intent")
        return replace(outcome, payment_intent_id=pi if isinstance(pi, str) else None)

    # -- looking again ----------------------------------------------------------------------------------------

    def poll_waiting_authorisations(self, conn: psycopg.Connection, every: timedelta, limit: int = 50) -> int:
        """Webhooks can be lost (localstripe sends each once): ask Stripe now and then about intents waiting for
        3-D Secure, and record what changed (authorised, failed, cancelled)."""
        rows = repo.many(conn, """
            SELECT a.payment_id, a.attempt, a.idempotency_key, a.stripe_payment_intent_id, s.stripe_account_id
            FROM payment_attempts a JOIN payments p ON p.payment_id = a.payment_id
            LEFT JOIN shops s ON s.shop_id = p.shop_id
            LEFT JOIN charge_calls c ON c.idempotency_key = a.idempotency_key
            WHERE a.status = 'requires_action' AND p.status = 'requires_action'
              AND (c.not_before IS NULL OR c.not_before <= clock_timestamp())
            ORDER BY a.started_at LIMIT %s""", [limit])
        changed = 0
        for row in rows:
            work = Work(row["payment_id"], row["attempt"], row["idempotency_key"])
            conn.execute("UPDATE charge_calls SET not_before = clock_timestamp() + %s WHERE idempotency_key = %s",
                         [every, work.idempotency_key])
            try:
                intent = self.gateway.retrieve_payment_intent(row["stripe_payment_intent_id"],
                                                              row["stripe_account_id"])
            except StripeCallFailed:
                continue
            outcome = oc.classify_intent(intent)
            if outcome.kind not in (oc.REQUIRES_ACTION, oc.PROCESSING):
                self._record(conn, work, outcome)
                changed += 1
        return changed

    def reconcile_refunds(self, conn: psycopg.Connection, older_than: timedelta = timedelta(minutes=2)) -> int:
        """Refund requests left "requested" (a crash or a timeout after asking Stripe): record them if Stripe
        made them, else mark them failed so the amount can be refunded again."""
        rows = repo.many(conn, """
            SELECT r.refund_id, p.stripe_payment_intent_id, p.collected_by, s.stripe_account_id
            FROM refund_requests r JOIN payments p ON p.payment_id = r.payment_id
            LEFT JOIN shops s ON s.shop_id = p.shop_id
            WHERE r.status = 'requested' AND r.requested_at < clock_timestamp() - %s
            ORDER BY r.requested_at LIMIT 50""", [older_than])
        done = 0
        for row in rows:
            if row["collected_by"] != "stripe":
                made: dict[str, Any] | None = {"id": None}
            else:
                try:
                    made = self.gateway.find_refund(row["stripe_payment_intent_id"], row["refund_id"],
                                                    row["stripe_account_id"])
                except StripeCallFailed:
                    continue
            with conn.transaction():
                if made is None:
                    conn.execute("UPDATE refund_requests SET status = 'failed' WHERE refund_id = %s "
                                 "AND status = 'requested'", [row["refund_id"]])
                else:
                    handlers.record_refund(conn, row["refund_id"], made.get("id"), now=self.now())
            done += 1
        return done


def fault_hook(name: str | None, once_file: str | None, production: bool) -> Callable[[], None] | None:
    """CHARGER_FAULT=crash_after_stripe_call: die like kill -9 after Stripe answered, before the outcome is
    committed (tests of "never twice"). Refused in production; fires once if a marker file is named."""
    return crash_hook(name, "crash_after_stripe_call", once_file, production=production)
