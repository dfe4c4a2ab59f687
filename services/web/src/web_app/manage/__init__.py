"""The managers' console under ``/manage``: the foundation every console page builds on.

- ``bp`` (blueprint ``manage``): the manager's sign-in (a one-time link emailed to the address the shop knows them
  by, ``/manage/sign-in``; the link opens ``/manage/sign-in/<token>``: a session for every shop they manage), the
  shop picker at ``/manage`` (a manager of one shop goes
  straight to it) and the shop's home at ``/manage/shops/<shop_id>``.
- :func:`register` registers ``bp`` and AUTO-REGISTERS every module ``web_app/manage/<page>.py`` that defines a
  Blueprint ``bp`` (``Blueprint("manage_<page>", __name__, url_prefix="/manage/shops/<uuid:shop_id>/<page>")``),
  so that a new page is one new module and nobody edits a shared list.
- :data:`NAV`: the shop's pages as (endpoint, label); the layout (``templates/manage/layout.html``) shows only the
  endpoints that exist (:func:`nav`), so a page appears in the nav the moment its module does.
- :func:`shop_page`: the decorator of every view taking ``shop_id``: a signed-in manager of that shop, else the
  manager's sign-in (nobody signed in, or a customer) or 404 (a manager of other shops: the shop is not theirs to
  know of). It sets ``g.shop`` (the shop as subscription-service answers it; templates see it as ``shop``), and
  the page's language and time zone (the shop's).
- :func:`manager_api`: the web app's :class:`~web_app.api.Api` with the signed-in manager's own token.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import wraps
from typing import Any

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l

from web_app import people
from web_app.forms import SignInForm
from web_app.i18n import use_reader
from web_app.views import auth

bp = Blueprint("manage", __name__, url_prefix="/manage")

NAV: list[tuple[str, Any]] = [
    ("manage.home", _l("Set-up")),
    ("manage_schedules.index", _l("Schedules")),
    ("manage_catalog.index", _l("Catalog")),
    ("manage_customers.index", _l("Customers")),
    ("manage_subscriptions.index", _l("Subscriptions")),
    ("manage_orders.index", _l("Orders")),
    ("manage_payments.index", _l("Payments")),
    ("manage_reports.index", _l("Reports")),
    ("manage_settings.index", _l("Settings")),
]


def register(app: Flask) -> None:
    """``manage`` and every page module of this package that defines a Blueprint ``bp``."""
    app.register_blueprint(bp)
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        page = getattr(importlib.import_module(f"{__name__}.{module.name}"), "bp", None)
        if isinstance(page, Blueprint):
            app.register_blueprint(page)

    @app.context_processor
    def console() -> dict[str, Any]:
        """``shop`` for every template of a shop's page (a view's own ``shop=`` wins), and the nav."""
        return {"shop": g.shop, "console_nav": nav(g.shop["id"])} if "shop" in g else {}


def endpoint_exists(endpoint: str) -> bool:
    return endpoint in current_app.view_functions


def nav(shop_id: str) -> list[dict[str, Any]]:
    """The shop's pages that exist: their address, label and whether this page is one of them (the current
    endpoint is in the page's blueprint, e.g. ``manage_orders.edit`` for ``manage_orders.index``)."""
    here = request.endpoint or ""
    items = []
    for endpoint, label in NAV:
        if not endpoint_exists(endpoint):
            continue
        blueprint = endpoint.rsplit(".", 1)[0]
        current = here == endpoint if blueprint == "manage" else here.startswith(blueprint + ".")
        items.append({"url": url_for(endpoint, shop_id=shop_id), "label": label, "current": current})
    return items


def signed_in_manager() -> people.Person | None:
    person = people.current()
    return person if person is not None and person.role == "manager" else None


def coming_back_to() -> str | None:
    """Where to come back after signing in: the page asked for (GET), else the page a form's view named
    (``g.back_to``)."""
    return request.full_path.rstrip("?") if request.method == "GET" else g.get("back_to")


def to_sign_in() -> Any:
    return redirect(url_for("manage.sign_in", next=coming_back_to()))


def manager_api() -> people.Api:
    """The services' APIs as the signed-in manager (their own token: every service checks it is theirs)."""
    person = signed_in_manager()
    if person is None:
        abort(401)
    return people.api(person)


def shop_page(view: Any) -> Any:
    """A console page of the shop in its path, for its managers only. The view is called with ``shop_id`` as a
    string; ``g.shop`` is the shop."""

    @wraps(view)
    def wrapper(shop_id: Any, **kw: Any) -> Any:
        person = signed_in_manager()
        if person is None:
            return to_sign_in()
        shop_id = str(shop_id)
        if shop_id not in person.shop_ids:
            abort(404)
        g.shop = manager_api().get("subscriptions", f"/api/v1/shops/{shop_id}")
        use_reader(shop=g.shop)
        return view(shop_id=shop_id, **kw)

    return wrapper


@bp.get("")
def shops():  # type: ignore[no-untyped-def]
    """The shop picker: the shops the manager manages; a manager of one shop goes straight to it."""
    person = signed_in_manager()
    if person is None:
        return to_sign_in()
    if len(person.shop_ids) == 1:
        return redirect(url_for("manage.home", shop_id=person.shop_ids[0]))
    mine = manager_api().all_items("subscriptions", "/api/v1/shops")
    mine.sort(key=lambda s: s["name"].casefold())
    return render_template("manage/shops.html", shops=mine)


# The set-up checklist: each check of ``GET /api/v1/shops/<shop>/readiness``, what it asks the manager to do, and
# the console page where they do it (linked only when that page exists).
CHECKLIST: dict[str, tuple[Any, str]] = {
    "subscriptions_enabled": (_l("Turn subscriptions on"), "manage_settings.index"),
    "shipping_method": (_l("Add a shipping method: delivery or pickup"), "manage_settings.index"),
    "payment_method": (_l("Add a payment method: cash or card"), "manage_settings.index"),
    "customers": (_l("Add your customers"), "manage_customers.index"),
    "schedule": (_l("Create a schedule with upcoming order cycles"), "manage_schedules.index"),
}


def checklist(shop_id: str, readiness: dict[str, Any]) -> list[dict[str, Any]]:
    lines = []
    for check in readiness["checks"]:
        label, endpoint = CHECKLIST.get(check["name"], (check["name"], ""))
        url = url_for(endpoint, shop_id=shop_id) if endpoint_exists(endpoint) else None
        lines.append({"name": check["name"], "label": label, "done": check["done"], "url": url})
    return lines


@bp.get("/shops/<uuid:shop_id>")
@shop_page
def home(shop_id: str):  # type: ignore[no-untyped-def]
    """The shop's home: the set-up checklist, each line linking to the page that does it."""
    readiness = manager_api().get("subscriptions", f"/api/v1/shops/{shop_id}/readiness")
    return render_template("manage/home.html", ready=readiness["ready"], checklist=checklist(shop_id, readiness))


# -- signing in: a one-time link emailed to the manager (views/auth.py's send_link and link_page, the customer's
#    steps, for the shops the address manages) --


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():  # type: ignore[no-untyped-def]
    """Ask for a link: ``POST /api/v1/manager-sign-in-links`` answers the same whether or not the address is a
    manager's, and so does this page. Where the manager was going (``next``) is kept in their session."""
    form = SignInForm(next=people.safe_next(request.args.get("next")))
    if form.validate_on_submit() and auth.send_link(form, "/api/v1/manager-sign-in-links",
                                                    {"email": form.email.data}):
        session["next"] = people.safe_next(form.next.data)
        return redirect(url_for("manage.link_sent", email=form.email.data), 303)
    return render_template("manage/sign_in.html", form=form), 200 if not form.errors else 422


@bp.get("/sign-in/sent")
def link_sent():  # type: ignore[no-untyped-def]
    return render_template("manage/sign_in_sent.html", email=request.args.get("email", ""))


@bp.route("/sign-in/<token>", methods=["GET", "POST"])
def use_link(token: str):  # type: ignore[no-untyped-def]
    """The emailed link's page: one button, whose post exchanges the token for the manager's session
    (``POST /api/v1/sessions``); never on the GET, which mail scanners and link previews open."""
    return auth.link_page(token, "manage/sign_in_confirm.html", "manage/sign_in_expired.html", _land)


def _land(person: people.Person, going: str | None) -> ResponseReturnValue:
    if person.role != "manager":  # a customer's link opened here: their own pages
        return redirect(url_for("customer.subscriptions", shop_id=person.shop_ids[0]), 303)
    return redirect(going or url_for("manage.shops"), 303)
