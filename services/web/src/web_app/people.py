"""Who is signed in, as the session remembers it, and the API as that person."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, g, session

from web_app.api import Api

NEW_SESSION_S = 30  # how long after signing in another service's 401 may be a session it has not heard of yet

__all__ = ["Api", "Person", "api", "current", "safe_next", "sign_in", "sign_out"]


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
                   shop_ids=list(issued["shop_ids"]), customer_id=issued.get("customer_id"), opened_at=time.time())
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
    """The API as the signed-in person (or anonymously when nobody is)."""
    person = person or current()
    opened = session.get("opened_at") or 0
    return Api(current_app.extensions["web_settings"], person.token if person else None,
               correlation_id=g.get("correlation_id"), http=current_app.extensions.get("api_http"),
               new_session=person is not None and time.time() - opened < NEW_SESSION_S)


def safe_next(target: str | None) -> str | None:
    """A path of this app to go back to after signing in, or None: never another site (``//evil``, ``https:``,
    ``\\evil``), so a link cannot send a person elsewhere once signed in."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ord(c) < 32 for c in target):
        return None
    return target
