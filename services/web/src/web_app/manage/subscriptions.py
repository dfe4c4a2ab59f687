"""The console's Subscriptions page: the shop's subscriptions (filters, search, pages), a subscription (its
products and estimate, its deliveries, pause, unpause, cancel, holidays, skip and resume a delivery), its form
(new and change, with a product picker from the shop's catalog and a live estimate) and its history (who changed
what, when and why).

Everything goes through subscription-service's API with the manager's own token; the catalog comes from
order-service's list of the shop's variants. Every change carries the version the page showed (``If-Match``): a
subscription changed meanwhile is the API's 412, and the page then says so and shows it as it is now, nothing
done. The live estimate is ``POST .../subscriptions/estimate`` (the API prices a draft by the rule of a saved
subscription): ``static/manage_subscription.js`` asks for it as the form changes; without the script, the form's
"Update the estimate" button does the same with a plain post.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm

from web_app import refusals
from web_app.api import Api, ApiError
from web_app.i18n import day, money
from web_app.manage import manager_api, shop_page
from web_app.manage.subscription_forms import (
    ActionForm,
    ManagerCancelForm,
    ManagerHolidayForm,
    ManagerPauseForm,
    SubscriptionForm,
    add_lines,
    change_body,
    create_body,
    error_list,
    estimate_body,
    fill,
    if_match,
    show_refusal,
)
from web_app.views.customer import deliveries

bp = Blueprint("manage_subscriptions", __name__, url_prefix="/manage/shops/<uuid:shop_id>/subscriptions")

STATES = ("active", "pending", "paused", "ended", "cancelled")
SORTS = {"-created_at": _l("Newest first"), "created_at": _l("Oldest first"), "begins_at": _l("First day"),
         "customer_email": _l("Customer's email")}
PAGE_SIZE = 50
ONCE = re.compile(r"[0-9a-f-]{36}")
REFUSED = (403, 409, 422)
STALE = _l("This subscription was changed by someone else since you opened the page: here it is as it is now. "
           "Nothing was changed. Check it and try again.")


def _path(shop_id: str, tail: str = "") -> str:
    return f"/api/v1/shops/{shop_id}/subscriptions{tail}"


# -- what the forms choose from ----------------------------------------------------------------------------------


def catalog(api: Api, shop_id: str) -> list[dict[str, Any]]:
    """The shop's variants as order-service lists them (the platform's catalog), by name."""
    found = api.all_items("orders", f"/api/v1/shops/{shop_id}/variants")
    return sorted(found, key=lambda v: (variant_name(v).casefold(), v.get("variant_id", "")))


def variant_name(v: dict[str, Any]) -> str:
    if v.get("name"):
        return str(v["name"])
    product, variant = v.get("product_name") or v.get("variant_id") or "", v.get("variant_name")
    return f"{product} - {variant}" if variant else str(product)


def product_choices(variants: list[dict[str, Any]], currency: str,
                    kept: list[dict[str, Any]] = ()) -> list[tuple[str, str]]:  # type: ignore[assignment]
    """The picker's options: every variant with its price (and whether it is available now), and the
    subscription's own products the catalog no longer lists (so that an edit does not lose them unawares)."""
    choices = [("", _("Choose a product"))]
    for v in variants:
        label = f"{variant_name(v)} – {money(v.get('unit_price'), v.get('currency') or currency)}"
        if v.get("available") is False:
            label += " " + _("(not available now)")
        choices.append((v["variant_id"], label))
    known = {v["variant_id"] for v in variants}
    for item in kept:
        if item["variant_id"] not in known:
            choices.append((item["variant_id"], f"{item.get('name') or item['variant_id']} " + _("(no longer sold)")))
    return choices


def fees(m: dict[str, Any], currency: str) -> str:
    parts = []
    if m.get("fee_flat"):
        parts.append(money(m["fee_flat"], currency))
    if m.get("fee_percent_bp"):
        parts.append(f"{m['fee_percent_bp'] / 100:g} %")
    return " + ".join(parts) if parts else _("no fee")


def methods(api: Api, shop_id: str, kind: str) -> list[dict[str, Any]]:
    return api.all_items("subscriptions", f"/api/v1/shops/{shop_id}/{kind}-methods")


def method_choices(found: list[dict[str, Any]], currency: str, current: str | None) -> list[tuple[str, str]]:
    return [("", _("Choose one"))] + [(m["id"], f"{m['name']} ({fees(m, currency)})") for m in found
                                      if m.get("active", True) or m["id"] == current]


def choices_for(form: SubscriptionForm, api: Api, shop: dict[str, Any], sub: dict[str, Any] | None) -> dict[str, Any]:
    """Fill the form's lists from the API; answers what the page shows besides (names of the methods)."""
    shop_id, currency = shop["id"], shop.get("currency") or "EUR"
    variants = catalog(api, shop_id)
    kept = (sub or {}).get("items") or []
    products = product_choices(variants, currency, kept)
    substitutes = [("", _("No substitute")), *products[1:]]
    for entry in form.lines.entries:
        entry.form.variant_id.choices = products
        for f in (entry.form.substitute_1, entry.form.substitute_2, entry.form.substitute_3):
            f.choices = substitutes
    shipping, payment = methods(api, shop_id, "shipping"), methods(api, shop_id, "payment")
    form.shipping_method_id.choices = method_choices(shipping, currency, (sub or {}).get("shipping_method_id"))
    form.payment_method_id.choices = method_choices(payment, currency, (sub or {}).get("payment_method_id"))
    if sub is None:
        schedules = api.all_items("subscriptions", f"/api/v1/shops/{shop_id}/schedules")
        form.schedule_id.choices = [("", _("Choose a schedule"))] + [(s["id"], s["name"]) for s in schedules]
    return {"variants": variants, "shipping": shipping, "payment": payment}


# -- the list --------------------------------------------------------------------------------------------------


@bp.get("")
@shop_page
def index(shop_id: str):  # type: ignore[no-untyped-def]
    """The shop's subscriptions, filtered as the API filters them: state (any of), schedule, customer, text in the
    customer's name or email; sorted; a page at a time (the API's cursor)."""
    api = manager_api()
    args = request.args
    states = [s for s in args.getlist("state") if s in STATES]
    sort = args.get("sort") if args.get("sort") in SORTS else "-created_at"
    q = (args.get("q") or "").strip()[:200]
    schedule_id, customer_id = args.get("schedule_id") or None, args.get("customer_id") or None
    query = {"state": states or None, "schedule_id": schedule_id, "customer_id": customer_id, "q": q or None,
             "sort": sort, "limit": PAGE_SIZE, "cursor": args.get("cursor") or None}
    error = None
    try:
        found = api.request("GET", "subscriptions", _path(shop_id),
                            params={k: v for k, v in query.items() if v is not None})
    except ApiError as err:
        if err.status not in (400, 422):
            raise
        error = _("This page of the list is no longer valid: here is the first page.") if err.status == 400 \
            else refusals.problem_message(err)
        found = api.request("GET", "subscriptions", _path(shop_id), params={"sort": sort, "limit": PAGE_SIZE})
        states, schedule_id, customer_id, q = [], None, None, ""
    schedules = api.all_items("subscriptions", f"/api/v1/shops/{shop_id}/schedules")
    customer = api.get("subscriptions", f"/api/v1/shops/{shop_id}/customers/{customer_id}") if customer_id else None
    filters: dict[str, Any] = {"state": states, "schedule_id": schedule_id, "customer_id": customer_id,
                               "q": q or None, "sort": sort}
    nxt = url_for(".index", shop_id=shop_id, cursor=found["next_cursor"], **filters) if found.get(
        "next_cursor") else None
    first = url_for(".index", shop_id=shop_id, **filters) if args.get("cursor") and error is None else None
    return render_template("manage/subscriptions.html", subscriptions=found["items"], states=STATES,
                           chosen_states=states, schedules=schedules, schedule_id=schedule_id, customer=customer,
                           q=q, sort=sort, sorts=SORTS, next_page=nxt, first_page=first, error=error)


# -- new and change --------------------------------------------------------------------------------------------


def _form_page(form: SubscriptionForm, api: Api, sub: dict[str, Any] | None, customer: dict[str, Any],
               *, estimate: dict[str, Any] | None = None, status: int = 200, stale: bool = False) -> Any:
    shop = g.shop
    lists = choices_for(form, api, shop, sub)
    if estimate is None and any(e.form.variant_id.data for e in form.lines.entries):
        estimate = _estimate(api, shop["id"], form)
    return render_template("manage/subscription_form.html", form=form, sub=sub, customer=customer,
                           estimate=estimate, errors=error_list(form), stale=stale, **lists), status


def _estimate(api: Api, shop_id: str, form: SubscriptionForm) -> dict[str, Any] | None:
    try:
        return api.post("subscriptions", _path(shop_id, "/estimate"), estimate_body(form))  # type: ignore[no-any-return]
    except ApiError as err:
        if err.status != 422:
            raise
        return None  # a quantity out of range: the form says so by the field when saved


def _customer_step(api: Api, shop_id: str) -> Any:
    """A new subscription starts from its customer: search the shop's customers, pick one."""
    q = (request.args.get("q") or "").strip()[:200]
    found = api.get("subscriptions", f"/api/v1/shops/{shop_id}/customers", q=q or None, limit=20,
                    sort="last_name")["items"]
    return render_template("manage/subscription_customer.html", customers=found, q=q)


@bp.route("/new", methods=["GET", "POST"])
@shop_page
def new(shop_id: str):  # type: ignore[no-untyped-def]
    api = manager_api()
    customer_id = request.values.get("customer_id")
    if not customer_id:
        return _customer_step(api, shop_id)
    customer = api.get("subscriptions", f"/api/v1/shops/{shop_id}/customers/{customer_id}")
    tz = g.shop.get("timezone") or "UTC"
    if request.method == "GET":
        form = SubscriptionForm(formdata=None)
        fill(form, {"bill_address": customer.get("bill_address"), "ship_address": customer.get("ship_address")}, tz)
        form.customer_id.data = customer["id"]
        form.begins_on.data = datetime.now(ZoneInfo(tz)).date()
        form.once.data = str(uuid.uuid4())
        return _form_page(form, api, None, customer)
    form = SubscriptionForm()
    form.customer_id.data = customer["id"]
    action = request.form.get("action")
    if action in ("estimate", "add_lines"):
        if action == "add_lines":
            add_lines(form)
        return _form_page(form, api, None, customer)
    if not form.validate_on_submit():
        return _form_page(form, api, None, customer, status=422)
    body, rows = create_body(form, tz)
    once = form.once.data if ONCE.fullmatch(form.once.data or "") else str(uuid.uuid4())
    try:
        done = api.post("subscriptions", _path(shop_id), body, headers={"Idempotency-Key": once})
    except ApiError as err:
        if err.status not in REFUSED:
            raise
        show_refusal(form, err, rows)
        return _form_page(form, api, None, customer, status=422)
    flash(_("The subscription is saved."))
    _flash_notices(done.get("warnings"))
    return redirect(url_for(".show", shop_id=shop_id, subscription_id=done["id"]), 303)


@bp.post("/estimate")
@shop_page
def estimate(shop_id: str):  # type: ignore[no-untyped-def]
    """The live estimate's fragment, for the form's script: the form as it is now, priced by the API."""
    form = SubscriptionForm()  # CSRFProtect has checked the post's token
    found = _estimate(manager_api(), shop_id, form)
    return render_template("manage/subscription_estimate.html", estimate=found)


def _subscription(api: Api, shop_id: str, subscription_id: Any) -> dict[str, Any]:
    return api.get("subscriptions", _path(shop_id, f"/{subscription_id}"))  # type: ignore[no-any-return]


@bp.route("/<uuid:subscription_id>/edit", methods=["GET", "POST"])
@shop_page
def edit(shop_id: str, subscription_id: Any):  # type: ignore[no-untyped-def]
    api = manager_api()
    g.back_to = url_for(".edit", shop_id=shop_id, subscription_id=subscription_id)
    tz = g.shop.get("timezone") or "UTC"
    sub = _subscription(api, shop_id, subscription_id)
    if request.method == "GET":
        form = SubscriptionForm(formdata=None)
        fill(form, sub, tz)
        return _form_page(form, api, sub, sub["customer"])
    form = SubscriptionForm()
    action = request.form.get("action")
    if action in ("estimate", "add_lines"):
        if action == "add_lines":
            add_lines(form)
        return _form_page(form, api, sub, sub["customer"])
    if not form.validate_on_submit():
        return _form_page(form, api, sub, sub["customer"], status=422)
    body, rows = change_body(form, sub, tz)
    try:
        done = api.request("PATCH", "subscriptions", _path(shop_id, f"/{subscription_id}"), json=body,
                           headers=if_match(form.version.data, form.reason.data))
    except ApiError as err:
        if err.status == 412:  # changed meanwhile: the form as the subscription is now, the change not made
            fresh = _subscription(api, shop_id, subscription_id)
            form = SubscriptionForm(formdata=None)
            fill(form, fresh, tz)
            return _form_page(form, api, fresh, fresh["customer"], status=409, stale=True)
        if err.status not in REFUSED:
            raise
        show_refusal(form, err, rows)
        return _form_page(form, api, sub, sub["customer"], status=422)
    flash(_("The subscription is saved.") if body else _("Nothing was changed."))
    _flash_notices(done.get("warnings"))
    return redirect(url_for(".show", shop_id=shop_id, subscription_id=subscription_id), 303)


# -- one subscription and its actions ------------------------------------------------------------------------------


def _flash_notices(warnings: list[str] | None) -> None:
    for text in warnings or []:
        flash(refusals.notice(text), "warning")


def action_forms(sub: dict[str, Any], refused: FlaskForm | None = None) -> dict[str, FlaskForm]:
    """The page's forms, fresh with the subscription's version, or the refused one as it was sent."""
    version = str(sub["version"])
    forms: dict[str, FlaskForm] = {
        "pause": ManagerPauseForm(formdata=None, prefix="pause", version=version),
        "cancel": ManagerCancelForm(formdata=None, prefix="cancel", version=version),
        "holiday": ManagerHolidayForm(formdata=None, prefix="holiday", version=version),
        "action": ActionForm(formdata=None, prefix="act", version=version),
    }
    for name, form in forms.items():
        if refused is not None and type(refused) is type(form):
            forms[name] = refused
    return forms


def detail_page(shop_id: str, subscription_id: Any, *, refused: FlaskForm | None = None, status: int = 200,
                stale: bool = False) -> Any:
    api = manager_api()
    sub = _subscription(api, shop_id, subscription_id)
    base = _path(shop_id, f"/{subscription_id}")
    names = {m["id"]: m["name"] for kind in ("shipping", "payment") for m in methods(api, shop_id, kind)}
    return render_template("manage/subscription.html", sub=sub, deliveries=deliveries(api, f"{base}/occurrences"),
                           notices=[refusals.notice(w) for w in sub.get("warnings") or []],
                           forms=action_forms(sub, None if stale else refused), method_names=names,
                           errors=error_list(refused) if refused is not None and not stale else [],
                           refused=None if stale else refused, stale=stale,
                           form=None if stale else refused), status


@bp.get("/<uuid:subscription_id>")
@shop_page
def show(shop_id: str, subscription_id: Any):  # type: ignore[no-untyped-def]
    return detail_page(shop_id, subscription_id)


def _act(shop_id: str, subscription_id: Any, form: ActionForm, tail: str, body: dict[str, Any] | None,
         done: str, *, fields: dict[str, str] | None = None) -> Any:
    """Send one action with the version the page showed; a refusal re-renders the page with it by its field, a
    stale version shows the subscription as it is now."""
    g.back_to = url_for(".show", shop_id=shop_id, subscription_id=subscription_id)
    if not form.validate_on_submit():
        return detail_page(shop_id, subscription_id, refused=form, status=422)
    try:
        answer = manager_api().post("subscriptions", _path(shop_id, f"/{subscription_id}{tail}"), body,
                                    headers=if_match(form.version.data, form.reason.data))
    except ApiError as err:
        if err.status == 412:
            flash(str(STALE), "error")
            return detail_page(shop_id, subscription_id, status=409, stale=True)
        if err.status not in REFUSED:
            raise
        if err.status == 409 and "open_orders" in err.errors and hasattr(form, "open_orders"):
            form.open_orders.errors = refusals.manager_field_errors(err)["open_orders"]
            form.asked = True  # type: ignore[attr-defined]
        elif err.errors:
            show_refusal(form, err)
        else:
            form.form_errors.append(refusals.manager_problem(err))
        return detail_page(shop_id, subscription_id, refused=form, status=409 if err.status == 409 else 422)
    flash(done)
    _flash_notices((answer or {}).get("warnings"))
    return redirect(url_for(".show", shop_id=shop_id, subscription_id=subscription_id), 303)


def _choice(form: Any) -> dict[str, Any]:
    return {"open_orders": form.open_orders.data} if form.open_orders.data in ("keep", "cancel") else {}


@bp.post("/<uuid:subscription_id>/pause")
@shop_page
def pause(shop_id: str, subscription_id: Any):  # type: ignore[no-untyped-def]
    form = ManagerPauseForm(prefix="pause")
    until = form.until.data
    body = {**_choice(form), **({"until": until.isoformat()} if until else {})}
    done = _("The subscription is paused until %(day)s.", day=format_date(until, "long")) if until \
        else _("The subscription is paused.")
    return _act(shop_id, subscription_id, form, "/pause", body, done)


@bp.post("/<uuid:subscription_id>/unpause")
@shop_page
def unpause(shop_id: str, subscription_id: Any):  # type: ignore[no-untyped-def]
    return _act(shop_id, subscription_id, ActionForm(prefix="act"), "/unpause", None,
                _("The subscription is active again."))


@bp.post("/<uuid:subscription_id>/cancel")
@shop_page
def cancel(shop_id: str, subscription_id: Any):  # type: ignore[no-untyped-def]
    form = ManagerCancelForm(prefix="cancel")
    return _act(shop_id, subscription_id, form, "/cancel", _choice(form), _("The subscription is cancelled."))


@bp.post("/<uuid:subscription_id>/holidays")
@shop_page
def holidays(shop_id: str, subscription_id: Any):  # type: ignore[no-untyped-def]
    form = ManagerHolidayForm(prefix="holiday")
    first, last = form.first_day.data, form.last_day.data
    body = {"from": first.isoformat(), "to": last.isoformat()} if first and last else {}
    done = _("Holidays saved: every delivery from %(first)s to %(last)s is skipped.",
             first=format_date(first, "long"), last=format_date(last, "long")) if first and last else ""
    return _act(shop_id, subscription_id, form, "/holidays", body, done)


@bp.post("/<uuid:subscription_id>/deliveries/<uuid:cycle_id>/<any(skip, resume):action>")
@shop_page
def delivery(shop_id: str, subscription_id: Any, cycle_id: Any, action: str):  # type: ignore[no-untyped-def]
    done = _("That delivery is skipped.") if action == "skip" else _("That delivery is back on.")
    return _act(shop_id, subscription_id, ActionForm(prefix="act"), f"/occurrences/{cycle_id}/{action}", None, done)


# -- history ---------------------------------------------------------------------------------------------------------


@bp.get("/<uuid:subscription_id>/history")
@shop_page
def history(shop_id: str, subscription_id: Any):  # type: ignore[no-untyped-def]
    """Who changed what, when and why, oldest first, a page at a time; products and cycles by their names."""
    api = manager_api()
    sub = _subscription(api, shop_id, subscription_id)
    cursor = request.args.get("cursor") or None
    try:
        found = api.get("subscriptions", _path(shop_id, f"/{subscription_id}/history"), limit=PAGE_SIZE,
                        cursor=cursor)
    except ApiError as err:
        if err.status != 400:
            raise
        return redirect(url_for(".history", shop_id=shop_id, subscription_id=subscription_id), 303)
    schedule = api.get("subscriptions", f"/api/v1/shops/{shop_id}/schedules/{sub['schedule_id']}")
    cycles = {c["id"]: c["name"] for c in schedule.get("order_cycles") or []}
    products = {v["variant_id"]: variant_name(v) for v in catalog(api, shop_id)}
    products.update({i["variant_id"]: i["name"] for i in sub["items"] if i.get("name")})
    names = {m["id"]: m["name"] for kind in ("shipping", "payment") for m in methods(api, shop_id, kind)}
    nxt = url_for(".history", shop_id=shop_id, subscription_id=subscription_id,
                  cursor=found["next_cursor"]) if found.get("next_cursor") else None
    entries = [{**e, "what": describe(e, products, cycles, names), "by": who(e)} for e in found["items"]]
    return render_template("manage/subscription_history.html", sub=sub, entries=entries, next_page=nxt,
                           first_page=url_for(".history", shop_id=shop_id, subscription_id=subscription_id)
                           if cursor else None)


EVENTS = {
    "SubscriptionCreated": _l("Created"),
    "SubscriptionUpdated": _l("Changed"),
    "SubscriptionPaused": _l("Paused"),
    "SubscriptionUnpaused": _l("Started again"),
    "SubscriptionCancelled": _l("Cancelled"),
    "OccurrenceSkipped": _l("Delivery skipped"),
    "OccurrenceResumed": _l("Delivery brought back"),
}
OPEN_ORDER_WORDS = {"keep": _l("Orders already placed were kept."),
                    "cancel": _l("Orders already placed were cancelled.")}
ACTORS = {"manager": _l("By a manager"), "customer": _l("By the customer"),
          "admin": _l("By the platform's administrator"), "system": _l("Automatically")}


def who(entry: dict[str, Any]) -> str:
    """Who made a change, in words: their name (and email) when the API says it, else their role."""
    named = entry.get("who") or {}
    if named.get("name") and named.get("email"):
        return _("By %(who)s", who=f"{named['name']} ({named['email']})")
    if named.get("name") or named.get("email"):
        return _("By %(who)s", who=named.get("name") or named.get("email"))
    return str(ACTORS.get(((entry.get("actor") or {}).get("type")) or "system", ACTORS["system"]))


def _quantities(items: list[dict[str, Any]] | None) -> dict[str, int]:
    return {i["variant_id"]: i["quantity"] for i in items or []}


def _substitutes(items: list[dict[str, Any]] | None) -> dict[str, list[str]]:
    return {i["variant_id"]: list(i.get("substitutes") or []) for i in items or []}


def _day(value: str | None) -> str:
    return day(value, "long") if value else _("no end")


def describe(entry: dict[str, Any], products: dict[str, str], cycles: dict[str, str],
             method_names: dict[str, str]) -> list[str]:
    """What a change did, line by line, in words: products by name (quantity before -> after), methods by name,
    days in the shop's time zone, deliveries by their cycle's name."""
    kind, data = entry["event_type"], entry.get("data") or {}
    lines = [str(EVENTS.get(kind, kind))]
    if kind == "SubscriptionCreated":
        for item in (data.get("terms") or {}).get("items") or []:
            lines.append(f"{item['quantity']} × {products.get(item['variant_id'], item['variant_id'])}")
    elif kind == "SubscriptionUpdated":
        changes, previous = data.get("changes") or {}, data.get("previous") or {}
        if "items" in changes:
            before, after = _quantities(previous.get("items")), _quantities(changes.get("items"))
            for vid in [*before, *[v for v in after if v not in before]]:
                name = products.get(vid, vid)
                if vid not in after:
                    lines.append(_("%(name)s taken off (was %(before)s)", name=name, before=before[vid]))
                elif vid not in before:
                    lines.append(_("%(name)s added: %(after)s", name=name, after=after[vid]))
                elif before[vid] != after[vid]:
                    lines.append(_("%(name)s: %(before)s → %(after)s", name=name, before=before[vid],
                                   after=after[vid]))
            was, now = _substitutes(previous.get("items")), _substitutes(changes.get("items"))
            for vid in [v for v in now if v in was and was[v] != now[v]]:
                lines.append(_("%(name)s, its substitutes: %(before)s → %(after)s", name=products.get(vid, vid),
                               before=", ".join(products.get(v, v) for v in was[vid]) or _("none"),
                               after=", ".join(products.get(v, v) for v in now[vid]) or _("none")))
        for key, label in (("shipping_method_id", _("Delivery or pickup")), ("payment_method_id",
                                                                               _("Payment method"))):
            if key in changes:
                lines.append(_("%(name)s: %(before)s → %(after)s", name=label,
                                 before=method_names.get(previous.get(key) or "", "–"),
                                 after=method_names.get(changes.get(key) or "", "–")))
        for key, label in (("begins_at", _("First day")), ("ends_at", _("Last day"))):
            if key in changes:
                lines.append(_("%(name)s: %(before)s → %(after)s", name=label, before=_day(previous.get(key)),
                                 after=_day(changes.get(key))))
        for key, label in (("ship_address", _("Delivery address changed")),
                           ("bill_address", _("Billing address changed"))):
            if key in changes:
                lines.append(str(label))
    elif kind == "SubscriptionPaused" and data.get("resumes_on"):
        lines.append(_("Until %(day)s", day=format_date(datetime.fromisoformat(data["resumes_on"]).date(), "long")))
    elif kind == "SubscriptionUnpaused" and data.get("automatic"):
        lines.append(_("At the end of its pause"))
    elif kind in ("OccurrenceSkipped", "OccurrenceResumed"):
        lines.append(cycles.get(data.get("order_cycle_id") or "", _("an order cycle no longer in its schedule")))
        holiday = data.get("holiday")
        if holiday:
            lines.append(_("Holidays from %(first)s to %(last)s",
                           first=format_date(datetime.fromisoformat(holiday["first_day"]).date(), "long"),
                           last=format_date(datetime.fromisoformat(holiday["last_day"]).date(), "long")))
    if kind in ("SubscriptionPaused", "SubscriptionCancelled") and data.get("open_orders") in OPEN_ORDER_WORDS:
        lines.append(str(OPEN_ORDER_WORDS[data["open_orders"]]))
    return lines
