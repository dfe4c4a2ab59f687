"""Domain errors: a command that the payment's state refuses. The API maps them to problem details."""

from __future__ import annotations


class DomainError(Exception):
    """A command the current state refuses (HTTP 409)."""


class PaymentStateError(DomainError):
    """The payment is not in a state that allows this command."""


class RefundRefused(DomainError):
    """A refund that would exceed what is left to refund, or of a payment that collected nothing (HTTP 422)."""

    def __init__(self, message: str, remaining: int) -> None:
        super().__init__(message)
        self.remaining = remaining
