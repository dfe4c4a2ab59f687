"""The links emailed before the 3-D Secure page moved to the web app: GET/POST /pay/<payment_id>/authorize?t=<token>.

Such a link carries a token this service signed (the payment, the attempt, an expiry). A valid one is sent on to
the payment's page in the web app (``Links.authorization_url``), where the customer, signed in, authorises it with
their own session; a forged, damaged or expired one gets a plain refusal. No page is served here any more.
"""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, request
from werkzeug.wrappers import Response

from billing_service.adapters import repository as repo
from billing_service.domain.links import InvalidLink
from billing_service.service_layer.links import Links
from servicekit.web.app import now, request_conn

bp = Blueprint("pay", __name__)


def _refusal(message: str, status: int) -> Response:
    resp = Response(message, status=status, mimetype="text/plain")
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.route("/pay/<payment_id>/authorize", methods=["GET", "POST"])
def authorize_page(payment_id: str) -> Response:
    """303 to the web app's page of the payment; 403 for a link that cannot be used, 404 for an unknown payment."""
    links: Links = current_app.extensions["links"]
    try:
        links.verify(request.args.get("t", ""), payment_id, now())
    except InvalidLink as exc:
        return _refusal(f"{exc} Please contact the shop.", 403)
    payment = repo.load_payment(request_conn(), payment_id)
    if payment is None:
        return _refusal("We could not find this payment.", 404)
    resp = redirect(links.authorization_url(payment.shop_id, payment_id), 303)
    resp.headers["Referrer-Policy"] = "no-referrer"  # the old link's token never leaves in a Referer
    return resp
