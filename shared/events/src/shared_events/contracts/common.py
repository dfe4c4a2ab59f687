"""Field types shared by the contracts. Money is integer minor units; times are UTC."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

ID_MAX = 100


def Id(**kw) -> fields.String:
    return fields.String(validate=validate.Length(min=1, max=ID_MAX), **kw)


def Money(**kw) -> fields.Integer:
    """An amount in minor units (cents). Never a float."""
    return fields.Integer(strict=True, **kw)


def Currency(**kw) -> fields.String:
    return fields.String(validate=validate.Regexp(r"^[A-Z]{3}$"), **kw)


def Utc(**kw) -> fields.AwareDateTime:
    return fields.AwareDateTime(format="iso", **kw)


def Quantity(**kw) -> fields.Integer:
    return fields.Integer(strict=True, validate=validate.Range(min=0, max=1_000_000), **kw)


class Address(Schema):
    first_name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    last_name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    address1 = fields.String(required=True, validate=validate.Length(min=1, max=200))
    address2 = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    city = fields.String(required=True, validate=validate.Length(min=1, max=100))
    zipcode = fields.String(required=True, validate=validate.Length(min=1, max=20))
    state = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))
    country = fields.String(required=True, validate=validate.Regexp(r"^[A-Z]{2}$"))
    phone = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40))


class Actor(Schema):
    """Who caused a change: a platform admin, a shop manager, a customer or the system."""

    type = fields.String(required=True, validate=validate.OneOf(["admin", "manager", "customer", "system"]))
    id = fields.String(required=True, validate=validate.Length(min=1, max=ID_MAX))


class CommandEvent(Schema):
    """Base of events produced by a command: who did it, and the optional reason they gave."""

    actor = fields.Nested(Actor, load_default=None, allow_none=True)
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))


TAX_CATEGORY = validate.Regexp(r"^[a-z0-9_-]{1,40}$")
"""A tax category is a slug ("reduced", "standard", "zero"); a shop gives each its rate."""
TAX_RATE = validate.Range(min=0, max=10_000)
"""A tax rate in basis points: 5.5 % = 550, 20 % = 2000."""

OPEN_ORDERS_CHOICES = ["keep", "cancel", "none"]
PAYMENT_KINDS = ["cash", "stripe"]
