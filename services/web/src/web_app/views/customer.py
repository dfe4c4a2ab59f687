"""A customer's own pages at a shop, read from the services' APIs with the customer's own session."""

from __future__ import annotations

from functools import wraps
from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for

from web_app import people
from web_app.i18n import use_reader

bp = Blueprint("customer", __name__)

UPCOMING = 5  # deliveries shown per subscription


def customer_of_shop(view: Any) -> Any:
    """The page is a customer's of the shop in its path: anyone else is sent to sign in, then comes back."""

    @wraps(view)
    def wrapper(shop_id: Any, **kw: Any) -> Any:
        person = people.current()
        if person is None or not person.is_customer_of(str(shop_id)):
            return redirect(url_for("auth.ask_for_link", shop_id=shop_id, next=request.full_path.rstrip("?")))
        return view(person, str(shop_id), **kw)

    return wrapper


@bp.get("/")
def home():  # type: ignore[no-untyped-def]
    person = people.current()
    if person is not None and person.role == "customer" and person.shop_ids:
        return redirect(url_for("customer.subscriptions", shop_id=person.shop_ids[0]))
    return render_template("home.html")


@bp.get("/shops/<uuid:shop_id>/subscriptions")
@customer_of_shop
def subscriptions(person: people.Person, shop_id: str):  # type: ignore[no-untyped-def]
    api = people.api(person)
    base = f"/api/v1/shops/{shop_id}"
    shop = api.get("subscriptions", base)
    customer = api.get("subscriptions", f"{base}/customers/{person.customer_id}")
    use_reader(customer=customer, shop=shop)
    subs = api.all_items("subscriptions", f"{base}/subscriptions", customer_id=person.customer_id)
    for sub in subs:
        occurrences = api.get("subscriptions", f"{base}/subscriptions/{sub['id']}/occurrences", limit=100)["items"]
        sub["next_deliveries"] = [o for o in occurrences if o["cycle_status"] != "closed"][:UPCOMING]
    subs.sort(key=lambda s: (s["state"] == "cancelled", s["created_at"]))
    return render_template("subscriptions.html", shop=shop, customer=customer, subscriptions=subs)
