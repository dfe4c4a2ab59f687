"""Domain errors: a decision refused, with a message a person can act on. The API maps each class to
one HTTP status (entrypoints/api.py); the consumer never raises them for facts it is told."""

from __future__ import annotations


class DomainError(Exception):
    """Base: ``message`` for people, ``errors`` as {field: [messages]} when a field is at fault."""

    def __init__(self, message: str, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors


class OrderClosed(DomainError):
    """The order's cycle has closed (or the order is confirmed): no change is possible any more."""


class OrderNotEditable(DomainError):
    """The order is in a state that does not allow this change (cancelled, empty, already placed...)."""


class ChangeNotAllowed(DomainError):
    """This person may not make this change (a customer when the shop does not allow it, a manager-only action)."""


class LineNotFound(DomainError):
    """No such line on this order."""


class InvalidChange(DomainError):
    """The change itself is wrong: not enough stock, the last line, an unknown product or method."""
