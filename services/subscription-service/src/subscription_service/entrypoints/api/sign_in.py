"""/api/v1/sign-in-links and /api/v1/sessions: a customer signs in with a one-time link emailed to them, and gets
a customer session of their own (the only credential that may save a card or give consent).
/api/v1/manager-sign-in-links: a shop's manager asks for such a link the same way; the same /api/v1/sessions opens
their manager session, for every shop where their address is a manager."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Response, current_app, g, jsonify, request

from servicekit.web.app import limit_rate, now, public, request_conn
from servicekit.web.blueprint import Blueprint
from subscription_service.entrypoints.api.common import StrictSchema, Text, caller, problems
from subscription_service.entrypoints.api.tokens import IssuedTokenOut
from subscription_service.service_layer import sign_in as handlers

blp = Blueprint("sign-in", __name__, url_prefix="/api/v1",
                description="Customers sign in by email: a one-time link, then a session of their own.")
V = ma.validate


class SignInLinkIn(StrictSchema):
    email = ma.fields.Email(required=True, validate=V.Length(max=254))
    shop_id = ma.fields.UUID(required=True)


class ManagerSignInLinkIn(StrictSchema):
    email = ma.fields.Email(required=True, validate=V.Length(max=254))


class SignInLinkOut(ma.Schema):
    status = ma.fields.String(required=True)


class SessionIn(StrictSchema):
    token = Text(required=True, validate=V.Length(min=1, max=200),
                 metadata={"description": "the one-time token of the emailed link (…/sign-in/<token>)"})


@blp.route("/sign-in-links", methods=["POST"])
@public
@blp.doc(security=[])
@blp.arguments(SignInLinkIn)
@blp.response(202, SignInLinkOut)
@problems(blp, 422, 429)
def request_sign_in_link(args: dict[str, Any]):  # type: ignore[no-untyped-def]
    """Email a one-time sign-in link to the shop's customer with this address, in their language. The answer is
    202 whether or not there is such a customer (nobody learns who is one); the link is
    `{PUBLIC_WEB_URL}/sign-in/<token>`, works once, and expires (15 minutes by default)."""
    limit_rate(f"ip:{request.remote_addr}")
    settings = current_app.extensions["service_settings"]
    mail = handlers.request_sign_in_link(request_conn(), now(), str(args["shop_id"]), args["email"],
                                         public_web_url=settings.public_web_url, ttl=settings.sign_in_link_ttl)
    resp = jsonify({"status": "If this address is a customer's of this shop, a sign-in link is on its way."})
    return _mailed_after(resp, mail)


def _mailed_after(resp: Response, mail: handlers.SignInMail | None) -> Response:
    """A 202 that emails the link once the response is out: after the link is committed, and as fast either way."""
    resp.status_code = 202
    if mail is not None:
        mailer = current_app.extensions["sign_in_mailer"]
        resp.call_on_close(lambda: mailer.send(mail))
    return resp


@blp.route("/manager-sign-in-links", methods=["POST"])
@public
@blp.doc(security=[])
@blp.arguments(ManagerSignInLinkIn)
@blp.response(202, SignInLinkOut)
@problems(blp, 422, 429)
def request_manager_sign_in_link(args: dict[str, Any]):  # type: ignore[no-untyped-def]
    """Email a one-time sign-in link to the manager with this address (in their shops' language when they share
    one, else English). The answer is 202 whether or not the address manages a shop; the link is
    `{PUBLIC_WEB_URL}/manage/sign-in/<token>`, works once, and expires (15 minutes by default), like a customer's;
    POST /api/v1/sessions exchanges it for a manager session."""
    limit_rate(f"ip:{request.remote_addr}")
    settings = current_app.extensions["service_settings"]
    mail = handlers.request_manager_sign_in_link(request_conn(), now(), args["email"],
                                                 public_web_url=settings.public_web_url,
                                                 ttl=settings.sign_in_link_ttl)
    resp = jsonify({"status": "If this address is a shop manager's, a sign-in link is on its way."})
    return _mailed_after(resp, mail)


class InvitationOut(ma.Schema):
    email = ma.fields.String(required=True, metadata={"description": "where the link was sent"})
    expires_at = ma.fields.DateTime(required=True, metadata={"description": "the link works once, until then"})


@blp.route("/shops/<uuid:shop_id>/customers/<uuid:customer_id>/sign-in-link", methods=["POST"])
@blp.response(202, InvitationOut)
@problems(blp, 401, 403, 404, 409)
def invite_customer(shop_id, customer_id):  # type: ignore[no-untyped-def]
    """Invite the customer (managers): email them the sign-in link they would get by asking for one (`POST
    /sign-in-links`), in their language, to the address the shop has for them; from the page it opens they save
    their card and give the permission to charge it. 409 when enough links were sent to them lately."""
    settings = current_app.extensions["service_settings"]
    mail = handlers.invite(request_conn(), caller(), str(shop_id), str(customer_id),
                           public_web_url=settings.public_web_url, ttl=settings.sign_in_link_ttl)
    return _mailed_after(jsonify({"email": mail.to, "expires_at": mail.expires_at.isoformat()}), mail)


@blp.route("/sessions", methods=["POST"])
@public
@blp.doc(security=[])
@blp.arguments(SessionIn)
@blp.response(201, IssuedTokenOut)
@problems(blp, 401, 422, 429)
def open_session(args: dict[str, Any]):  # type: ignore[no-untyped-def]
    """Exchange the token of an emailed sign-in link (once, before it expires) for a session: a bearer token shown
    once, valid 30 days by default, accepted by every service, marked `obtained_by: email_sign_in_link`. A
    customer's link opens a customer session; a manager's, a manager session for every shop where the address is a
    manager now. A link used or expired: 401, nothing issued."""
    limit_rate(f"ip:{request.remote_addr}")
    settings = current_app.extensions["service_settings"]
    return handlers.open_session(request_conn(), now(), g.get("correlation_id"), args["token"],
                                 settings.session_ttl), 201
