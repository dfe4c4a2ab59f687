"""Load aggregates from their projection rows (optionally locked for the command's transaction).

``lock="update"`` serialises writers of one aggregate (the second waits, then sees the first one's version);
``lock="share"`` keeps a referenced row from being deleted while a command relies on it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, NamedTuple

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from servicekit.auth import EMAIL_SIGN_IN
from subscription_service.domain.customers import Card, Customer
from subscription_service.domain.cycles import OrderCycle
from subscription_service.domain.managers import Manager
from subscription_service.domain.occurrences import MissedFact, OrderFact, PaymentFact
from subscription_service.domain.schedules import Schedule
from subscription_service.domain.shops import Method, Shop
from subscription_service.domain.subscriptions import Subscription
from subscription_service.domain.terms import TERM_NAMES, Terms
from subscription_service.domain.tokens import SignInLink, Token
from subscription_service.domain.validation import Variant

LOCKS = {None: sql.SQL(""), "update": sql.SQL(" FOR UPDATE"), "share": sql.SQL(" FOR SHARE")}


def _one(conn: psycopg.Connection, query: str, params: list[Any], lock: str | None = None) -> dict[str, Any] | None:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(sql.SQL(query) + LOCKS[lock], params)  # type: ignore[arg-type]
        return cur.fetchone()


def _all(conn: psycopg.Connection, query: str, params: list[Any]) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(query, params)  # type: ignore[arg-type]
        return cur.fetchall()


def _method(row: dict[str, Any]) -> Method:
    return Method(row["method_id"], row["name"], row["fee_flat"], row["fee_percent_bp"], row["active"],
                  row["description"], row["pickup"], row["kind"], row["removed_at"] is not None,
                  row.get("tax_category"))


SHOP_SQL = ("SELECT s.*, (SELECT coalesce(json_agg(m ORDER BY m.created_at, m.method_id), '[]') "
            "FROM shop_methods m WHERE m.shop_id = s.shop_id) AS methods{more} FROM shops s WHERE s.shop_id = %s")


def shop_from_row(row: dict[str, Any]) -> Shop:
    methods = row["methods"]
    return Shop(row["shop_id"], row["version"], row["settings"],
                shipping_methods={m["method_id"]: _method(m) for m in methods if m["method_type"] == "shipping"},
                payment_methods={m["method_id"]: _method(m) for m in methods if m["method_type"] == "payment"})


def shop(conn: psycopg.Connection, shop_id: str, lock: str | None = None) -> Shop | None:
    row = _one(conn, SHOP_SQL.format(more=""), [shop_id], lock)  # one round trip, methods as JSON
    return shop_from_row(row) if row is not None else None


class References(NamedTuple):
    """What a subscription's rules read besides its order cycles, as one statement found it."""
    shop: Shop
    customer: Customer | None
    schedule: Schedule | None
    variants: dict[str, Variant]
    rank: int | None


REFERENCES_SQL = SHOP_SQL.format(more=(
    ", (SELECT to_json(c) FROM customers c WHERE c.customer_id = %s AND c.shop_id = s.shop_id FOR SHARE) AS customer"
    ", (SELECT to_json(sc) FROM schedules sc WHERE sc.schedule_id = %s AND sc.shop_id = s.shop_id FOR SHARE)"
    " AS schedule, (SELECT coalesce(json_agg(v), '[]') FROM variants v WHERE v.shop_id = s.shop_id"
    " AND v.variant_id = ANY(%s)) AS variants, CASE WHEN %s THEN nextval('subscription_rank') END AS rank"))


def references(conn: psycopg.Connection, shop_id: str, customer_id: str | None, schedule_id: str | None,
               variant_ids: Iterable[str], *, rank: bool = False) -> References | None:
    """The shop (None when there is none), its customer and schedule share-locked (a concurrent delete of either
    waits for this transaction, then sees the subscription and refuses), the variants, and with ``rank`` a new
    creation rank: one round trip. The schedule's order cycles are not read here: a subquery beside a lock reads
    the snapshot from before any lock wait, so a schedule changed meanwhile would come with its old cycles."""
    row = _one(conn, REFERENCES_SQL, [customer_id, schedule_id, list(variant_ids), rank, shop_id])
    if row is None:
        return None
    customer, schedule = row["customer"], row["schedule"]
    return References(shop_from_row(row), customer_from_row(customer) if customer else None,
                      schedule_from_row(schedule) if schedule else None,
                      {v["variant_id"]: variant_from_row(v) for v in row["variants"]}, row["rank"])


def existing_shops(conn: psycopg.Connection, shop_ids: Iterable[str]) -> set[str]:
    return {r["shop_id"] for r in _all(conn, "SELECT shop_id FROM shops WHERE shop_id = ANY(%s)", [list(shop_ids)])}


def customer_from_row(row: dict[str, Any]) -> Customer:
    card = Card(row["stripe_customer_id"], row["card_payment_method_id"], row["card_brand"], row["card_last4"],
                row["card_exp_month"], row["card_exp_year"]) if row["card_payment_method_id"] else None
    details = {k: row[k] for k in ("email", "first_name", "last_name", "locale", "bill_address", "ship_address")}
    return Customer(row["customer_id"], row["shop_id"], row["version"], details, card, row["allow_charges"],
                    row["deleted_at"] is not None, row["platform_stripe_customer_id"],
                    bool(row.get("signed_in_by_email")))


# Whether the customer ``c`` ever opened a session with an emailed link (api_tokens keeps revoked and expired
# tokens: it is identity.events' projection, so a rebuild gives the same answer). Read beside the customer's row
# wherever ``Customer.email_proven`` is needed (here and the API's views).
SIGNED_IN_BY_EMAIL = ("EXISTS (SELECT 1 FROM api_tokens t WHERE t.role = 'customer' "  # noqa: S608 - a constant of code
                      "AND t.customer_id = c.customer_id AND c.shop_id = ANY(t.shop_ids) "
                      f"AND t.obtained_by = '{EMAIL_SIGN_IN}') AS signed_in_by_email")


def customer(conn: psycopg.Connection, shop_id: str, customer_id: str, lock: str | None = None) -> Customer | None:
    """The customer, and whether they ever signed in with an emailed link (``SIGNED_IN_BY_EMAIL``)."""
    row = _one(conn, f"SELECT c.*, {SIGNED_IN_BY_EMAIL} FROM customers c "  # noqa: S608 - a constant of this module
                     "WHERE c.customer_id = %s AND c.shop_id = %s", [customer_id, shop_id], lock)
    return customer_from_row(row) if row else None


def customer_by_email(conn: psycopg.Connection, shop_id: str, email: str) -> Customer | None:
    """The shop's customer (not deleted) with this email address (stored lower-cased)."""
    row = _one(conn, "SELECT * FROM customers WHERE shop_id = %s AND lower(email) = lower(%s) AND deleted_at IS NULL",
               [shop_id, email])
    return customer_from_row(row) if row else None


def add_sign_in_link(conn: psycopg.Connection, link: SignInLink, token_hash: str, created_at: datetime,
                     expires_at: datetime) -> None:
    conn.execute("INSERT INTO sign_in_links (link_id, token_hash, shop_id, customer_id, email, created_at, expires_at,"
                 " role) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                 [link.link_id, token_hash, link.shop_id, link.customer_id, link.email, created_at, expires_at,
                  link.role])


def sign_in_links_since(conn: psycopg.Connection, link: SignInLink, since: datetime) -> int:
    """Links sent lately to the same person: the customer (customers' links), the address (managers')."""
    if link.role == "manager":
        return count(conn, "SELECT count(*) AS n FROM sign_in_links WHERE role = 'manager' AND email = %s "
                           "AND created_at >= %s", [link.email, since])
    return count(conn, "SELECT count(*) AS n FROM sign_in_links WHERE customer_id = %s AND created_at >= %s",
                 [link.customer_id, since])


def managers(conn: psycopg.Connection, shop_id: str) -> list[Manager]:
    """The shop's managers now (call with the shop locked for update: adding and removing them is serialised)."""
    return [Manager(str(r["manager_id"]), r["shop_id"], r["email"]) for r in _all(
        conn, "SELECT manager_id, shop_id, email FROM shop_managers WHERE shop_id = %s AND removed_at IS NULL "
              "ORDER BY email", [shop_id])]


def shops_managed_by(conn: psycopg.Connection, email: str) -> list[str]:
    """The shops where this address is a manager now, share-locked until the session is recorded (a removal at the
    same moment waits, then ends the session it sees)."""
    return [r["shop_id"] for r in _all(
        conn, "SELECT shop_id FROM shop_managers WHERE email = %s AND removed_at IS NULL ORDER BY shop_id FOR SHARE",
        [email])]


def live_manager_sessions(conn: psycopg.Connection, shop_id: str, email: str) -> list[Token]:
    """The sessions this address opened with its emailed links that reach the shop and still work."""
    rows = _all(conn, "SELECT t.* FROM api_tokens t JOIN sign_in_links l ON l.session_token_id = t.token_id "
                      "WHERE l.role = 'manager' AND l.email = %s AND t.role = 'manager' AND %s = ANY(t.shop_ids) "
                      "AND t.revoked_at IS NULL ORDER BY t.token_id FOR UPDATE OF t", [email, shop_id])
    return [Token(str(r["token_id"]), r["role"], tuple(r["shop_ids"]), r["customer_id"], r["version"],
                  obtained_by=r["obtained_by"]) for r in rows]


def use_sign_in_link(conn: psycopg.Connection, token_hash: str, now: datetime,
                     session_token_id: str) -> SignInLink | None:
    """Mark the link used by this session, if it is unused and not expired. The row lock makes a concurrent use
    of the same link wait, then find it used: a link opens one session at most."""
    row = _one(conn, "UPDATE sign_in_links SET used_at = %s, session_token_id = %s "
                     "WHERE token_hash = %s AND used_at IS NULL AND expires_at > %s "
                     "RETURNING link_id::text, shop_id, customer_id, email, role",
               [now, session_token_id, token_hash, now])
    return SignInLink(row["link_id"], row["shop_id"], row["customer_id"], row["email"], row["role"]) if row else None


def email_taken(conn: psycopg.Connection, shop_id: str, email: str, except_id: str | None = None) -> bool:
    """Whether another live customer of the shop has this email. Takes a transaction-scoped lock on (shop, email)
    first: a concurrent command for the same email waits for this transaction, then sees its customer."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"customer-email:{shop_id}:{email.strip().lower()}"])
    row = _one(conn, "SELECT 1 AS taken FROM customers WHERE shop_id = %s AND lower(email) = lower(%s) "
                     "AND deleted_at IS NULL AND customer_id IS DISTINCT FROM %s", [shop_id, email, except_id])
    return row is not None


def cycle_from_row(row: dict[str, Any]) -> OrderCycle:
    return OrderCycle(row["order_cycle_id"], row["shop_id"], row["version"], row["name"], row["opens_at"],
                      row["closes_at"], row["deleted_at"] is not None)


def order_cycle(conn: psycopg.Connection, shop_id: str, cycle_id: str, lock: str | None = None) -> OrderCycle | None:
    row = _one(conn, "SELECT * FROM order_cycles WHERE order_cycle_id = %s AND shop_id = %s", [cycle_id, shop_id],
               lock)
    return cycle_from_row(row) if row else None


def order_cycles(conn: psycopg.Connection, shop_id: str, ids: Iterable[str], lock: str | None = None,
                 include_deleted: bool = False) -> dict[str, OrderCycle]:
    query = "SELECT * FROM order_cycles WHERE shop_id = %s AND order_cycle_id = ANY(%s)"
    if not include_deleted:
        query += " AND deleted_at IS NULL"
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(sql.SQL(query + " ORDER BY order_cycle_id") + LOCKS[lock], [shop_id, list(ids)])  # type: ignore
        return {r["order_cycle_id"]: cycle_from_row(r) for r in cur.fetchall()}


def schedule_names_with_cycle(conn: psycopg.Connection, cycle_id: str) -> list[str]:
    return [r["name"] for r in _all(conn, "SELECT name FROM schedules WHERE %s = ANY(order_cycle_ids) "
                                          "AND deleted_at IS NULL", [cycle_id])]


def schedule_from_row(row: dict[str, Any]) -> Schedule:
    return Schedule(row["schedule_id"], row["shop_id"], row["version"], row["name"], tuple(row["order_cycle_ids"]),
                    row["deleted_at"] is not None)


def schedule(conn: psycopg.Connection, shop_id: str, schedule_id: str, lock: str | None = None) -> Schedule | None:
    row = _one(conn, "SELECT * FROM schedules WHERE schedule_id = %s AND shop_id = %s", [schedule_id, shop_id], lock)
    return schedule_from_row(row) if row else None


def count(conn: psycopg.Connection, query: str, params: list[Any]) -> int:
    row = _one(conn, query, params)
    return int(row["n"]) if row else 0


def live_subscriptions_of_customer(conn: psycopg.Connection, customer_id: str) -> int:
    return count(conn, "SELECT count(*) AS n FROM subscriptions WHERE customer_id = %s AND cancelled_at IS NULL",
                 [customer_id])


def subscriptions_of_schedule(conn: psycopg.Connection, schedule_id: str) -> int:
    return count(conn, "SELECT count(*) AS n FROM subscriptions WHERE schedule_id = %s", [schedule_id])


def shop_has_subscriptions(conn: psycopg.Connection, shop_id: str) -> bool:
    return count(conn, "SELECT count(*) AS n FROM subscriptions WHERE shop_id = %s", [shop_id]) > 0


def subscription_from_row(row: dict[str, Any], skipped: Iterable[str] = ()) -> Subscription:
    terms = Terms.from_data({n: row[n] for n in TERM_NAMES})
    return Subscription(row["subscription_id"], row["shop_id"], row["customer_id"], row["schedule_id"],
                        row["currency"], row["version"], terms, row["created_at"], row["paused_at"],
                        row["cancelled_at"], frozenset(skipped), row.get("paused_until"))


def skipped_cycles(conn: psycopg.Connection, subscription_ids: list[str]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for r in _all(conn, "SELECT subscription_id, order_cycle_id FROM occurrence_skips "
                        "WHERE subscription_id = ANY(%s) AND skipped", [subscription_ids]):
        out.setdefault(r["subscription_id"], set()).add(r["order_cycle_id"])
    return out


def subscription(conn: psycopg.Connection, shop_id: str, subscription_id: str,
                 lock: str | None = None) -> Subscription | None:
    row = _one(conn, "SELECT * FROM subscriptions WHERE subscription_id = %s AND shop_id = %s",
               [subscription_id, shop_id], lock)
    if row is None:
        return None
    return subscription_from_row(row, skipped_cycles(conn, [subscription_id]).get(subscription_id, ()))


def variants(conn: psycopg.Connection, shop_id: str, variant_ids: Iterable[str]) -> dict[str, Variant]:
    rows = _all(conn, "SELECT * FROM variants WHERE shop_id = %s AND variant_id = ANY(%s)",
                [shop_id, list(variant_ids)])
    return {r["variant_id"]: variant_from_row(r) for r in rows}


def variant_from_row(r: dict[str, Any]) -> Variant:
    return Variant(r["variant_id"], r["product_name"], r["variant_name"], r["unit_price"], r["currency"],
                   r["available"], r["deleted"], r.get("tax_category"))


def token(conn: psycopg.Connection, token_id: str, lock: str | None = None) -> Token | None:
    row = _one(conn, "SELECT * FROM api_tokens WHERE token_id::text = %s", [token_id], lock)
    if row is None:
        return None
    return Token(str(row["token_id"]), row["role"], tuple(row["shop_ids"]), row["customer_id"], row["version"],
                 row["revoked_at"] is not None, row["obtained_by"])


def live_tokens_of_customer(conn: psycopg.Connection, shop_id: str, customer_id: str) -> list[Token]:
    rows = _all(conn, "SELECT * FROM api_tokens WHERE role = 'customer' AND customer_id = %s AND %s = ANY(shop_ids) "
                      "AND revoked_at IS NULL ORDER BY token_id FOR UPDATE", [customer_id, shop_id])
    return [Token(str(r["token_id"]), r["role"], tuple(r["shop_ids"]), r["customer_id"], r["version"],
                  obtained_by=r["obtained_by"]) for r in rows]


# -- what other services told us about occurrences --------------------------------------------------------------


def occurrence_facts(conn: psycopg.Connection, subscription_id: str) -> tuple[
        dict[str, OrderFact], dict[str, PaymentFact], set[str], dict[str, MissedFact]]:
    """(orders by cycle, payments by order, cycles with an order due, missed dues by cycle) of one subscription."""
    orders: dict[str, OrderFact] = {}
    for r in _all(conn, "SELECT * FROM occurrence_orders WHERE subscription_id = %s ORDER BY placed_at, order_id",
                  [subscription_id]):
        orders[r["order_cycle_id"]] = OrderFact(
            r["order_id"], r["number"], r["status"],
            {k: r[k] for k in ("item_total", "shipping_fee", "payment_fee", "total")}, r["cancel_cause"],
            tuple(r["update_issues"] or ()))
    payments: dict[str, PaymentFact] = {}
    for r in _all(conn, "SELECT * FROM order_payments WHERE order_id = ANY(%s) ORDER BY updated_at, payment_id",
                  [[o.order_id for o in orders.values()]]):
        payments[r["order_id"]] = PaymentFact(r["payment_id"], r["status"], r["amount"], r["message"],
                                              r["authorization_url"], r["final"])
    dues = {r["order_cycle_id"] for r in _all(conn, "SELECT order_cycle_id FROM order_dues WHERE subscription_id = %s",
                                              [subscription_id])}
    missed = {r["order_cycle_id"]: MissedFact(r["reason"], r["due_reason"], r["due_at"])
              for r in _all(conn, "SELECT * FROM missed_dues WHERE subscription_id = %s", [subscription_id])}
    return orders, payments, dues, missed
