"""/api/v1/tokens: bearer tokens (shown once; only their SHA-256 is stored and published on identity.events)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from servicekit.web.app import request_conn
from servicekit.web.blueprint import Blueprint
from servicekit.web.http import idempotent
from subscription_service.entrypoints.api.common import (
    CREATE,
    READ_PROBLEMS,
    WRITE,
    WRITE_PROBLEMS,
    Id,
    StrictSchema,
    Text,
    When,
    caller,
    page,
    page_args,
    page_out,
    page_request,
    problems,
    with_version,
)
from subscription_service.service_layer import tokens as handlers

blp = Blueprint("tokens", __name__, url_prefix="/api/v1",
                description="The admin issues manager tokens; a manager issues customer tokens for their shop.")
V = ma.validate


class TokenIn(StrictSchema):
    role = ma.fields.String(required=True, validate=V.OneOf(["manager", "customer"]))
    shop_ids = ma.fields.List(Id(), required=True, validate=V.Length(min=1, max=100))
    customer_id = Id(load_default=None, allow_none=True, metadata={"description": "for role=customer"})
    label = Text(load_default=None, allow_none=True, validate=V.Length(max=200))
    expires_at = When(load_default=None, allow_none=True)


class TokenOut(ma.Schema):
    id = ma.fields.String(required=True)
    role = ma.fields.String()
    shop_ids = ma.fields.List(ma.fields.String())
    customer_id = ma.fields.String(allow_none=True)
    label = ma.fields.String(allow_none=True)
    expires_at = ma.fields.DateTime(allow_none=True)
    issued_at = ma.fields.DateTime()
    revoked_at = ma.fields.DateTime(allow_none=True)
    obtained_by = ma.fields.String(allow_none=True, metadata={
        "description": "null: issued through this API; email_sign_in_link: a session a customer or a manager opened "
                       "with the one-time link emailed to them"})
    version = ma.fields.Integer()


class IssuedTokenOut(TokenOut):
    token = ma.fields.String(required=True, metadata={"description": "the secret: shown once, keep it safe"})


class TokenListArgs(page_args(["issued_at"], "issued_at")):  # type: ignore[misc]
    shop_id = ma.fields.UUID(load_default=None)
    role = ma.fields.String(load_default=None, validate=V.OneOf(["manager", "customer"]))
    include_revoked = ma.fields.Boolean(load_default=False)


@blp.route("/tokens", methods=["POST"])
@idempotent
@blp.doc(parameters=CREATE)
@blp.arguments(TokenIn)
@blp.response(201, IssuedTokenOut)
@problems(blp, *WRITE_PROBLEMS)
def issue_token(args: dict[str, Any]):  # type: ignore[no-untyped-def]
    """Issue a manager token (admin) or a customer token (a manager of that customer's shop)."""
    return with_version(handlers.issue_token(request_conn(), caller(), args), 201)


@blp.route("/tokens", methods=["GET"])
@blp.arguments(TokenListArgs, location="query")
@blp.response(200, page_out(TokenOut))
@problems(blp, *READ_PROBLEMS)
def list_tokens(args: dict[str, Any]):  # type: ignore[no-untyped-def]
    """Tokens the caller may see: all (admin), their shops' customer tokens and their own (manager), their own."""
    filters = {"shop_id": str(args.pop("shop_id")) if args["shop_id"] else args.pop("shop_id"),
               "role": args.pop("role"), "include_revoked": args.pop("include_revoked")}
    return page(*handlers.list_tokens(request_conn(), caller(), page_request(args), **filters))


@blp.route("/tokens/<uuid:token_id>", methods=["GET"])
@blp.response(200, TokenOut)
@problems(blp, *READ_PROBLEMS)
def get_token(token_id):  # type: ignore[no-untyped-def]
    return with_version(handlers.get_token(request_conn(), caller(), str(token_id)))


@blp.route("/tokens/<uuid:token_id>", methods=["DELETE"])
@blp.doc(parameters=WRITE)
@blp.response(200, TokenOut)
@problems(blp, *WRITE_PROBLEMS)
def revoke_token(token_id):  # type: ignore[no-untyped-def]
    """Revoke a token: every service refuses it from now on."""
    return with_version(handlers.revoke_token(request_conn(), caller(), str(token_id)))
