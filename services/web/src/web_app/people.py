"""Who is signed in, as the session remembers it, and the API as that person."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, g, session

from web_app.api import Api

__all__ = ["Api", "Person", "api", "current", "safe_next", "sign_in", "sign_out"]

NEW_SESSION_S = 60  # a session this young may not have reached every service yet (identity.events)
NEW_SESSION_WAIT_S = 5.0  # how long a page waits for that, at most, before a 401 counts


@dataclass(frozen=True)
class Person:
    token: str
    role: str
    shop_ids: tuple[str, ...]
    customer_id: str | None

    def is_customer_of(self, shop_id: str) -> bool:
        return self.role == "customer" and shop_id in self.shop_ids


def sign_in(issued: dict[str, Any]) -> Person:
    """Remember the session the API issued (``POST /api/v1/sessions``): a new cookie, nothing of before kept but
    the language."""
    locale = session.get("locale")
    session.clear()
    session.permanent = True
    session.update(token=issued["token"], token_id=issued.get("id"), role=issued["role"],
                   shop_ids=list(issued["shop_ids"]), customer_id=issued.get("customer_id"),
                   signed_in_at=time.time())
    if locale:
        session["locale"] = locale
    return current()  # type: ignore[return-value]


def sign_out() -> None:
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale


def current() -> Person | None:
    if not session.get("token"):
        return None
    return Person(session["token"], session.get("role", ""), tuple(session.get("shop_ids", ())),
                  session.get("customer_id"))


def api(person: Person | None = None) -> Api:
    """The API as the signed-in person (or anonymously when nobody is). In the first minute of a session, a 401
    of a service other than the one that issued it waits a few seconds for that service to hear of the session
    (:class:`web_app.api.Api`)."""
    person = person or current()
    new = person is not None and time.time() - float(session.get("signed_in_at") or 0) < NEW_SESSION_S
    return Api(current_app.extensions["web_settings"], person.token if person else None,
               correlation_id=g.get("correlation_id"), http=current_app.extensions.get("api_http"),
               new_session_wait_s=NEW_SESSION_WAIT_S if new else 0.0)


def safe_next(target: str | None) -> str | None:
    """A path of this app to go back to after signing in, or None: never another site (``//evil``, ``https:``,
    ``\\evil``), so a link cannot send a person elsewhere once signed in."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ord(c) < 32 for c in target):
        return None
    return target
