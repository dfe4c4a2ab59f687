"""/api/v1/shops/<shop>/managers: the people who manage a shop, by the email address they sign in with, and
/api/v1/shops/<shop>/readiness: the set-up checklist. The platform admin adds a shop's first manager; the admin and
the shop's managers list, add and remove them. Events: ShopManagerAdded / ShopManagerRemoved on shops.events."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from servicekit.web.app import request_conn
from servicekit.web.blueprint import Blueprint
from servicekit.web.http import idempotent
from subscription_service.domain.readiness import CHECKS
from subscription_service.entrypoints.api.common import (
    CREATE,
    READ_PROBLEMS,
    WRITE,
    WRITE_PROBLEMS,
    StrictSchema,
    caller,
    no_content,
    page,
    page_args,
    page_out,
    page_request,
    problems,
    with_version,
)
from subscription_service.service_layer import shops as handlers

blp = Blueprint("managers", __name__, url_prefix="/api/v1",
                description="A shop's managers (who signs in to its console) and its set-up checklist.")
V = ma.validate


class ManagerIn(StrictSchema):
    email = ma.fields.Email(required=True, validate=V.Length(max=254),
                            metadata={"description": "the address the manager signs in with (stored lower case)"})


class ManagerOut(ma.Schema):
    id = ma.fields.String(required=True)
    shop_id = ma.fields.String()
    email = ma.fields.String()
    added_at = ma.fields.DateTime()
    version = ma.fields.Integer(metadata={"description": "the ETag: the shop version when this manager was added"})


class ReadinessCheckOut(ma.Schema):
    name = ma.fields.String(required=True, metadata={"description": " | ".join(CHECKS)})
    done = ma.fields.Boolean(required=True)


class ReadinessOut(ma.Schema):
    ready = ma.fields.Boolean(required=True, metadata={"description": "every check done"})
    checks = ma.fields.List(ma.fields.Nested(ReadinessCheckOut), required=True, metadata={"description": (
        "subscriptions_enabled: the shop's kill switch is on; shipping_method, payment_method: at least one active; "
        "customers: at least one; schedule: a schedule with an order cycle that has not closed yet")})


@blp.route("/shops/<uuid:shop_id>/managers", methods=["GET"])
@blp.arguments(page_args(["email", "added_at"], "email"), location="query")
@blp.response(200, page_out(ManagerOut))
@problems(blp, *READ_PROBLEMS, 403)
def list_managers(args: dict[str, Any], shop_id):  # type: ignore[no-untyped-def]
    """The shop's managers (the admin and the shop's managers)."""
    return page(*handlers.list_managers(request_conn(), caller(), str(shop_id), page_request(args)))


@blp.route("/shops/<uuid:shop_id>/managers", methods=["POST"])
@idempotent
@blp.doc(parameters=CREATE)
@blp.arguments(ManagerIn)
@blp.response(201, ManagerOut)
@problems(blp, *WRITE_PROBLEMS)
def add_manager(args: dict[str, Any], shop_id):  # type: ignore[no-untyped-def]
    """Add a manager by their email address (the admin, or the shop's managers): they sign in with a link sent to
    it (POST /api/v1/manager-sign-in-links). An address that already manages the shop: 409."""
    return with_version(handlers.add_manager(request_conn(), caller(), str(shop_id), args["email"]), 201)


@blp.route("/shops/<uuid:shop_id>/managers/<uuid:manager_id>", methods=["GET"])
@blp.response(200, ManagerOut)
@problems(blp, *READ_PROBLEMS, 403)
def get_manager(shop_id, manager_id):  # type: ignore[no-untyped-def]
    return with_version(handlers.get_manager(request_conn(), caller(), str(shop_id), str(manager_id)))


@blp.route("/shops/<uuid:shop_id>/managers/<uuid:manager_id>", methods=["DELETE"])
@blp.doc(parameters=WRITE)
@blp.response(204)
@problems(blp, *WRITE_PROBLEMS)
def remove_manager(shop_id, manager_id):  # type: ignore[no-untyped-def]
    """The manager no longer manages the shop; the sessions they opened by email that reach it end."""
    handlers.remove_manager(request_conn(), caller(), str(shop_id), str(manager_id))
    return no_content()


@blp.route("/shops/<uuid:shop_id>/readiness", methods=["GET"])
@blp.response(200, ReadinessOut)
@problems(blp, *READ_PROBLEMS, 403)
def readiness(shop_id):  # type: ignore[no-untyped-def]
    """The set-up checklist (the admin and the shop's managers): what is done, what is left before the shop takes
    subscriptions, in the order a manager does it."""
    return handlers.readiness_of(request_conn(), caller(), str(shop_id))
