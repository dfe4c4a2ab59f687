"""A customer's own pages at a shop, read from the services' APIs with the customer's own session."""

from __future__ import annotations

from functools import wraps
from typing import Any

from flask import Blueprint, g, redirect, render_template, request, url_for

from web_app import people
from web_app.i18n import use_reader

bp = Blueprint("customer", __name__)

UPCOMING = 5  # next deliveries shown per subscription, after the last one that closed


def deliveries(api: people.Api, path: str) -> list[dict[str, Any]]:
    """The last delivery whose cycle closed (its order, payment and total as they ended) and the next ones.
    Occurrences come in close-time order: pages are read until the next ones are found (a subscription of some
    years has more than a page of past ones)."""
    last: list[dict[str, Any]] = []
    upcoming: list[dict[str, Any]] = []
    cursor = None
    while len(upcoming) < UPCOMING:
        page = api.get("subscriptions", path, limit=100, cursor=cursor)
        for o in page["items"]:
            if o["cycle_status"] == "closed":
                last = [o]
            else:
                upcoming.append(o)
        cursor = page.get("next_cursor")
        if not cursor:
            break
    return last + upcoming[:UPCOMING]


def coming_back_to() -> str | None:
    """Where to come back after signing in again: the page asked for (GET), or for a form's post the page the form
    is on when the view named it (``g.back_to``); never the post's own address, which has no page."""
    return request.full_path.rstrip("?") if request.method == "GET" else g.get("back_to")


def customer_of_shop(view: Any) -> Any:
    """The page is a customer's of the shop in its path: anyone else (no session, an expired one, another shop's)
    is sent to sign in, then comes back."""

    @wraps(view)
    def wrapper(shop_id: Any, **kw: Any) -> Any:
        person = people.current()
        if person is None or not person.is_customer_of(str(shop_id)):
            return redirect(url_for("auth.ask_for_link", shop_id=shop_id, next=coming_back_to()))
        return view(person, str(shop_id), **kw)

    return wrapper


@bp.get("/")
def home():  # type: ignore[no-untyped-def]
    person = people.current()
    if person is not None and person.role == "customer" and person.shop_ids:
        return redirect(url_for("customer.subscriptions", shop_id=person.shop_ids[0]))
    if person is not None and person.role == "manager":
        return redirect(url_for("manage.shops"))
    return render_template("home.html")


@bp.get("/shops/<uuid:shop_id>/subscriptions")
@customer_of_shop
def subscriptions(person: people.Person, shop_id: str):  # type: ignore[no-untyped-def]
    return subscriptions_page(person, shop_id)


def subscriptions_page(person: people.Person, shop_id: str, *, refused: tuple[str, Any] | None = None,
                       status: int = 200) -> Any:
    """The page; ``refused``: (subscription id, the form the API or the form's checks refused), shown with its
    errors by its fields (views/time_off.py, views/substitutes.py)."""
    from web_app.views.substitutes import products_for_sale, substitute_forms
    from web_app.views.time_off import time_off_forms

    api = people.api(person)
    base = f"/api/v1/shops/{shop_id}"
    shop = api.get("subscriptions", base)
    customer = api.get("subscriptions", f"{base}/customers/{person.customer_id}")
    use_reader(customer=customer, shop=shop)
    subs = api.all_items("subscriptions", f"{base}/subscriptions", customer_id=person.customer_id)
    changeable = [sub for sub in subs if sub["state"] not in ("cancelled", "ended")]
    products = products_for_sale(api, shop_id) if changeable else None
    for sub in subs:
        sub["deliveries"] = deliveries(api, f"{base}/subscriptions/{sub['id']}/occurrences")
        sub["forms"] = time_off_forms(sub, refused)
        sub["substitute_forms"] = substitute_forms(sub, products, refused)
    subs.sort(key=lambda s: (s["state"] == "cancelled", s["created_at"]))
    form = refused[1] if refused else None
    return render_template("subscriptions.html", shop=shop, customer=customer, subscriptions=subs,
                           form=form), status
