"""Bearer-token authentication shared by every service.

Tokens are random secrets shown once; only their SHA-256 travels (identity.events)
and is stored (api_tokens). The platform admin token comes from configuration.
A manager token is scoped to the shops it manages; a customer token to one
customer of one shop. Resources of another shop answer 404, never their data.

A token also says how it was obtained (``obtained_by``): issued by someone through the API (``None``: the admin
token, a manager's, or a customer token a manager issued), or ``email_sign_in_link``: a customer session that the
customer obtained by following the one-time link sent to their own email address. Consent to charges and cards
are accepted only from the latter.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime

import psycopg

from shared_events import Envelope

TOKEN_PREFIX = "rop_"
EMAIL_SIGN_IN = "email_sign_in_link"  # obtained_by of a customer session opened through an emailed link


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    role: str  # admin | manager | customer
    token_id: str
    shop_ids: frozenset[str] = field(default_factory=frozenset)
    customer_id: str | None = None
    obtained_by: str | None = None  # None: issued through the API; EMAIL_SIGN_IN: the customer's own session

    @property
    def proven_by_email(self) -> bool:
        """A customer session opened through the one-time link emailed to the customer's own address."""
        return self.is_customer and self.obtained_by == EMAIL_SIGN_IN

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_manager(self) -> bool:
        return self.role == "manager"

    @property
    def is_customer(self) -> bool:
        return self.role == "customer"

    def can_see_shop(self, shop_id: str | None) -> bool:
        return self.is_admin or (shop_id is not None and shop_id in self.shop_ids)

    def manages(self, shop_id: str | None) -> bool:
        return self.is_admin or (self.is_manager and shop_id in self.shop_ids)

    def is_customer_of(self, shop_id: str | None, customer_id: str | None) -> bool:
        return self.is_customer and shop_id in self.shop_ids and customer_id == self.customer_id

    def actor(self) -> dict[str, str]:
        return {"type": self.role, "id": self.token_id}


ADMIN_TOKEN_ID = "00000000-0000-0000-0000-000000000000"


def authenticate(conn: psycopg.Connection, token: str, admin_token: str | None, now: datetime) -> Principal | None:
    if admin_token and hmac.compare_digest(token_hash(token), token_hash(admin_token)):
        return Principal("admin", ADMIN_TOKEN_ID)
    row = conn.execute(
        "SELECT token_id, role, shop_ids, customer_id, obtained_by FROM api_tokens "
        "WHERE token_hash = %s AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > %s)",
        [token_hash(token), now],
    ).fetchone()
    if row is None:
        return None
    if isinstance(row, dict):
        row = (row["token_id"], row["role"], row["shop_ids"], row["customer_id"], row["obtained_by"])
    return Principal(row[1], str(row[0]), frozenset(row[2]), row[3], row[4])


def apply_identity_event(conn: psycopg.Connection, env: Envelope) -> None:
    """Projector of identity.events into api_tokens (version-guarded: replays are harmless)."""
    p = env.payload
    if env.event_type == "TokenIssued":
        conn.execute(
            """
            INSERT INTO api_tokens (token_id, token_hash, role, shop_ids, customer_id, label, expires_at, issued_at,
                                    obtained_by, version)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
            ON CONFLICT (token_id) DO UPDATE SET token_hash = EXCLUDED.token_hash, role = EXCLUDED.role,
                shop_ids = EXCLUDED.shop_ids, customer_id = EXCLUDED.customer_id, label = EXCLUDED.label,
                expires_at = EXCLUDED.expires_at, obtained_by = EXCLUDED.obtained_by, version = EXCLUDED.version
            WHERE api_tokens.version < EXCLUDED.version
            """,
            [p["token_id"], p["token_hash"], p["role"], list(p["shop_ids"]), p.get("customer_id"), p.get("label"),
             p.get("expires_at"), env.occurred_at, p.get("obtained_by"), env.aggregate_version],
        )
    elif env.event_type == "TokenRevoked":
        conn.execute(
            "UPDATE api_tokens SET revoked_at = %s, version = %s WHERE token_id = %s AND version < %s",
            [env.occurred_at, env.aggregate_version, p["token_id"], env.aggregate_version],
        )
