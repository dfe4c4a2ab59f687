"""identity.events: API credentials, produced by subscription-service.

Only the SHA-256 hash of a token travels; the secret is shown once to whoever
asked for it. Every service projects these events to authenticate requests.
"""

from marshmallow import fields, validate

from shared_events.contracts.common import CommandEvent, Id, Utc
from shared_events.registry import event

TOPIC = "identity.events"


@event("TokenIssued", 1, topic=TOPIC, aggregate="Token")
class TokenIssuedV1(CommandEvent):
    """A bearer token was issued. role=manager: scoped to shop_ids; role=customer: one customer of one shop.

    ``obtained_by``: absent/null for a token issued through the API (by the admin or a manager);
    ``email_sign_in_link`` for a session a person opened with the one-time link sent to their own email address
    (``sign_in_link_id`` names that link): a customer's session, or a manager's (role=manager, shop_ids: the shops
    where that address was a manager when the link was used). Only a customer's such session may save a card or
    give (or withdraw) the consent to charges.
    """

    token_id = Id(required=True)
    token_hash = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$"))
    role = fields.String(required=True, validate=validate.OneOf(["admin", "manager", "customer"]))
    shop_ids = fields.List(Id(), required=True)
    customer_id = Id(load_default=None, allow_none=True)
    label = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    expires_at = Utc(load_default=None, allow_none=True)
    obtained_by = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(["email_sign_in_link"]))
    sign_in_link_id = Id(load_default=None, allow_none=True)


@event("TokenRevoked", 1, topic=TOPIC, aggregate="Token")
class TokenRevokedV1(CommandEvent):
    """A token was revoked: every service refuses it from now on."""

    token_id = Id(required=True)
