"""Signing in with a one-time link emailed to the person, and signing out.

1. ``/shops/<shop>/sign-in`` asks for the address and posts it to ``POST /api/v1/sign-in-links``; the answer is the
   same whether or not the address is a customer's (the API's 202 says nothing either). Where the person was going
   (``next``) is kept in their session.
2. The email's link opens ``/sign-in/<token>``: a page with one button, whose post exchanges the token for a
   customer session (``POST /api/v1/sessions``). Not on the GET: mail scanners and link previews open links, and
   would use up a one-time link before the person clicks it.
3. The session's credential is kept in the encrypted session cookie; then the person goes where they were going.
4. Signing out revokes that session at the API (``DELETE /api/v1/tokens/<id>``, the customer's own) and clears the
   cookie.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, abort, after_this_request, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from web_app import people
from web_app.api import ApiError
from web_app.forms import ConfirmForm, SignInForm, show_problem

bp = Blueprint("auth", __name__)
log = logging.getLogger("web_app.auth")


@bp.route("/shops/<uuid:shop_id>/sign-in", methods=["GET", "POST"])
def ask_for_link(shop_id):  # type: ignore[no-untyped-def]
    form = SignInForm(next=request.args.get("next"))
    shop_id = str(shop_id)
    if form.validate_on_submit() and send_link(form, "/api/v1/sign-in-links",
                                               {"email": form.email.data, "shop_id": shop_id}):
        session["shop_id"] = shop_id
        session["next"] = people.safe_next(form.next.data)
        return redirect(url_for("auth.link_sent", shop_id=shop_id, email=form.email.data), 303)
    return render_template("sign_in.html", form=form, shop_id=shop_id), 200 if not form.errors else 422


@bp.get("/shops/<uuid:shop_id>/sign-in/sent")
def link_sent(shop_id):  # type: ignore[no-untyped-def]
    return render_template("sign_in_sent.html", shop_id=str(shop_id), email=request.args.get("email", ""))


@bp.route("/sign-in/<token>", methods=["GET", "POST"])
def use_link(token: str):  # type: ignore[no-untyped-def]
    return link_page(token, "sign_in_confirm.html", "sign_in_expired.html", _land, shop_id=session.get("shop_id"))


def _land(person: people.Person, going: str | None) -> ResponseReturnValue:
    if person.role == "manager":  # a manager's link opened here: their console
        return redirect(url_for("manage.shops"), 303)
    return redirect(going or url_for("customer.subscriptions", shop_id=person.shop_ids[0]), 303)


@bp.post("/sign-out")
def sign_out():  # type: ignore[no-untyped-def]
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    shop_id = session.get("shop_ids", [None])[0]
    manager = session.get("role") == "manager"
    person, token_id = people.current(), session.get("token_id")
    if person is not None and token_id:  # the API session ends too: a copy of the old cookie is worth nothing
        try:
            people.api(person).request("DELETE", "subscriptions", f"/api/v1/tokens/{token_id}")
        except ApiError as err:  # already revoked or expired: signed out all the same
            log.info("session not revoked at sign-out", extra={"status": err.status})
    people.sign_out()
    if manager:
        return redirect(url_for("manage.sign_in"), 303)
    return redirect(url_for("auth.ask_for_link", shop_id=shop_id) if shop_id else url_for("customer.home"), 303)


# -- the steps a customer's and a manager's sign-in share (web_app.manage's pages call them too) --


def send_link(form: SignInForm, path: str, body: dict[str, Any]) -> bool:
    """Ask subscription-service for a one-time link (``path``: a customer's or a manager's); True once asked, else
    False with the refusal on the form: too many links asked for, or the address's problem by the field."""
    try:
        people.api(None).post("subscriptions", path, body)
    except ApiError as err:
        if err.status == 429:
            form.form_errors.append(_("Too many sign-in links were asked for. Wait a few minutes, then try "
                                      "again."))
        elif err.status == 422:
            show_problem(form, err)
        else:
            raise
        return False
    return True


def link_page(token: str, confirm_page: str, expired_page: str,
              land: Callable[[people.Person, str | None], ResponseReturnValue],
              **expired: Any) -> ResponseReturnValue:
    """The emailed link's page: one button, whose post exchanges the token for a session (``POST /api/v1/sessions``);
    never on the GET, which mail scanners and link previews open. Signed in, ``land(person, going)`` answers, where
    ``going`` is where the person was going when they asked for the link; a used or expired link shows
    ``expired_page`` (with ``expired`` as its context) and a 401."""
    if len(token) > 200:
        abort(404)
    after_this_request(_no_referrer)
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            issued = people.api(None).post("subscriptions", "/api/v1/sessions", {"token": token})
        except ApiError as err:
            if err.status not in (401, 422):
                raise
            return render_template(expired_page, going=people.safe_next(session.get("next")), **expired), 401
        going = people.safe_next(session.get("next"))
        return land(people.sign_in(issued), going)
    return render_template(confirm_page, form=form)


def _no_referrer(resp: Response) -> Response:
    resp.headers["Referrer-Policy"] = "no-referrer"  # the one-time token is in this page's address
    return resp
