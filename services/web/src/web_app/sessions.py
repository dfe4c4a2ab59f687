"""The session cookie, encrypted: it carries the signed-in person's API credential, so its content must be unreadable
as well as unforgeable (Flask's own cookie is only signed: its payload is readable base64).

Same cookie semantics as Flask's (``SESSION_COOKIE_*``, ``PERMANENT_SESSION_LIFETIME``), with Fernet (AES-128-CBC
and HMAC-SHA256, from ``cryptography``) instead of itsdangerous' signature; its timestamp enforces the lifetime, so a
stolen old cookie is refused even if a browser kept it past its expiry. The key is derived from ``SECRET_KEY``.
"""

from __future__ import annotations

import base64
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import Flask
from flask.sessions import SecureCookieSessionInterface, session_json_serializer
from itsdangerous import BadSignature


def fernet_for(secret_key: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"web-app session cookie").derive(
        secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(key))


class EncryptedCookie:
    """The serializer interface Flask's cookie session needs (``dumps``, ``loads(max_age=)``)."""

    def __init__(self, fernet: Fernet) -> None:
        self.fernet = fernet

    def dumps(self, obj: Any) -> str:
        return self.fernet.encrypt(session_json_serializer.dumps(obj).encode()).decode("ascii")

    def loads(self, value: str | bytes, max_age: int | None = None) -> Any:
        try:
            raw = self.fernet.decrypt(value.encode() if isinstance(value, str) else value, ttl=max_age)
        except InvalidToken:
            raise BadSignature("session cookie not ours, altered or expired") from None
        return session_json_serializer.loads(raw.decode())


class EncryptedSessionInterface(SecureCookieSessionInterface):
    def get_signing_serializer(self, app: Flask) -> EncryptedCookie | None:  # type: ignore[override]
        if not app.secret_key:
            return None
        return EncryptedCookie(fernet_for(str(app.secret_key)))
