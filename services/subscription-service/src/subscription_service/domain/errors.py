"""Domain errors: what a rule says when a command cannot be done. The API maps each to one HTTP status."""

from __future__ import annotations


class DomainError(Exception):
    """Base: a message for people and optional field errors ({"field": ["message", ...]})."""

    def __init__(self, message: str, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or {}


class Invalid(DomainError):
    """The command breaks a validation rule (HTTP 422, field by field)."""

    def __init__(self, errors: dict[str, list[str]], message: str = "The request breaks validation rules.") -> None:
        super().__init__(message, errors)


class Conflict(DomainError):
    """The command is valid but the current state forbids it (HTTP 409)."""


class Forbidden(DomainError):
    """The caller may see the resource but not do this (HTTP 403)."""


class NotFound(DomainError):
    """No such resource for this caller (HTTP 404; also for another shop's resources)."""


class Unauthenticated(DomainError):
    """A credential offered in the body (a sign-in link's token) is unknown, used or expired (HTTP 401)."""


class Unavailable(DomainError):
    """A peer the command needs (Stripe) did not answer or failed: nothing was changed; try again (HTTP 503)."""


class PeerRefused(DomainError):
    """Stripe refused a request the command made: nothing was changed (HTTP 502)."""


def add_error(errors: dict[str, list[str]], field: str, message: str) -> None:
    errors.setdefault(field, []).append(message)


class Stale(DomainError):
    """The caller's If-Match names a version that is no longer the current one (HTTP 412)."""

    def __init__(self, sent: int, current: int) -> None:
        super().__init__(f'You sent If-Match "{sent}" but the current version is "{current}": read it again.')
        self.current = current
