"""Demo data for `make run`: a French food hub and an English one, their catalogs, schedules, customers (a card
that works, one declined at charge time, one that needs 3-D Secure, cash) and subscriptions.

Tax: the French hub's prices include tax, food at the reduced rate (5.5 %), cider and delivery at the standard rate
(20 %); the English hub's prices exclude tax, food at the zero rate, cider and delivery at the standard rate (20 %).

Loaded through the public APIs (devstack.scenario), so the demo exercises exactly what users do: each customer with
a card signs in with the link emailed to them (read from the SMTP sink's API), confirms a card setup with the
publishable key as Stripe.js would (3-D Secure included) and gives their consent through the charges-permission
route. Each hub has a manager, known by their email address: every run prints a fresh one-time link that signs
them in to the hub's console (asked for and read from the mailbox as the manager would). Loading twice loads
nothing the second time (the shops are found by name).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from devstack.scenario import (
    CARD_DECLINED_AT_CHARGE,
    CARD_NEEDS_3DS,
    CARD_OK,
    ApiError,
    Platform,
    Shop,
    wait_for,
)

HUBS: list[dict[str, Any]] = [
    {
        "settings": {"name": "La Ruche de Lyon", "timezone": "Europe/Paris", "currency": "EUR", "locale": "fr",
                     "contact_email": "bonjour@ruche-lyon.example", "owner_email": "camille@ruche-lyon.example",
                     "allow_order_changes": True, "allow_customer_skip": True, "allocation_policy": "first_come",
                     "payment_retry": {"delays_hours": [24, 72], "max_attempts": 3},
                     "prices_include_tax": True,
                     "tax_rates": [{"category": "reduced", "rate_bp": 550}, {"category": "standard", "rate_bp": 2000}]},
        "shipping": [("Livraison à domicile", 490, False), ("Retrait à la ferme", 0, True)],
        "shipping_tax_category": "standard",
        "catalog": [("panier-legumes-grand", "Panier de légumes (grand)", 2500, 40, "reduced"),
                    ("oeufs-6", "Œufs bio x6", 320, 100, "reduced"),
                    ("pain-campagne", "Pain de campagne", 450, 30, "reduced"),
                    ("chevre-frais", "Chèvre frais", 380, 6, "reduced"),
                    ("cidre-brut", "Cidre brut fermier 75 cl", 650, 24, "standard")],
        "rule": {"opens_weekday": "tuesday", "opens_time": "09:00", "closes_weekday": "friday",
                 "closes_time": "17:00", "count": 8, "interval_weeks": 1, "name_prefix": "Semaine"},
        "schedule": "Panier hebdomadaire",
        "manager": "camille@ruche-lyon.example",
        "customers": [("Camille", "Durand", CARD_OK, {"panier-legumes-grand": 1, "oeufs-6": 2, "cidre-brut": 1}),
                      ("Louis", "Martin", CARD_DECLINED_AT_CHARGE, {"panier-legumes-grand": 1, "chevre-frais": 4}),
                      ("Inès", "Bernard", CARD_NEEDS_3DS, {"pain-campagne": 2, "chevre-frais": 4}),
                      ("Hugo", "Petit", None, {"oeufs-6": 1, "pain-campagne": 1})],
    },
    {
        "settings": {"name": "Bristol Veg Box", "timezone": "Europe/London", "currency": "GBP", "locale": "en",
                     "contact_email": "hello@bristolvegbox.example", "allow_order_changes": False,
                     "allow_customer_skip": False, "allocation_policy": "fair_share",
                     "payment_retry": {"delays_hours": [24], "max_attempts": 2},
                     "prices_include_tax": False,
                     "tax_rates": [{"category": "zero", "rate_bp": 0}, {"category": "standard", "rate_bp": 2000}]},
        "shipping": [("Doorstep delivery", 350, False)],
        "shipping_tax_category": "standard",
        "catalog": [("veg-box-medium", "Veg box (medium)", 1800, 25, "zero"),
                    ("apples-1kg", "Apples 1 kg", 290, 50, "zero"),
                    ("cider-500", "Somerset cider 500 ml", 350, 40, "standard")],
        "rule": {"opens_weekday": "monday", "opens_time": "08:00", "closes_weekday": "wednesday",
                 "closes_time": "20:00", "count": 6, "interval_weeks": 2, "name_prefix": "Fortnight"},
        "schedule": "Fortnightly box",
        "manager": "sam@bristolvegbox.example",
        "customers": [("Alice", "Smith", CARD_OK, {"veg-box-medium": 1, "apples-1kg": 2, "cider-500": 2}),
                      ("Ben", "Jones", None, {"veg-box-medium": 1})],
    },
]


def _existing(platform: Platform) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in platform.admin.all_pages("/api/v1/shops")}


def ensure_manager(platform: Platform, shop_id: str, email: str) -> None:
    """``email`` manages the shop (added as the platform admin adds a shop's first manager, unless it already is)."""
    managers = platform.admin.all_pages(f"/api/v1/shops/{shop_id}/managers")
    if email not in {m["email"] for m in managers}:
        platform.admin.post(f"/api/v1/shops/{shop_id}/managers", {"email": email})


def manager_sign_in_link(platform: Platform, email: str) -> str:
    """A fresh one-time link that signs the manager in to the console, as they would get it: asked for with their
    address, read from the mailbox (valid a few minutes, once)."""
    from devstack.testing import emailed_sign_in_token, last_message_id, sink_messages

    assert platform.smtp_api, "the demo reads the link from the mailbox"
    before = last_message_id(platform.smtp_api)
    platform.api("subscription-service").post("/api/v1/manager-sign-in-links", {"email": email})
    token = emailed_sign_in_token(platform.smtp_api, email, before)
    sent = [m for m in sink_messages(platform.smtp_api, email) if m["id"] > before]
    return next(line.strip() for line in sent[-1]["text"].splitlines() if line.strip().endswith(f"/{token}"))


def _load_hub(platform: Platform, hub: dict[str, Any], start: date) -> dict[str, Any]:
    shop = platform.create_shop(**hub["settings"])
    ensure_manager(platform, shop.id, hub["manager"])
    shipping = [shop.shipping_method(name, fee, 0, pickup, hub["shipping_tax_category"])
                for name, fee, pickup in hub["shipping"]]
    card = shop.payment_method("stripe", fee_percent_bp=150)
    cash = shop.payment_method("cash")
    for variant_id, name, price, stock, tax_category in hub["catalog"]:
        shop.variant(variant_id, name, price, stock, tax_category)
    generated = shop.subs().post(f"{shop.base}/order-cycles/generate",
                                 dict(hub["rule"], start_date=start.isoformat(),
                                      timezone=hub["settings"]["timezone"]))
    cycles = generated["order_cycles"]
    schedule = shop.schedule(hub["schedule"], [c["id"] for c in cycles])
    customers = []
    for first, last, card_number, items in hub["customers"]:
        cust = shop.customer(first, last, card=card_number, locale=hub["settings"]["locale"])
        payment = card if card_number else cash

        def subscribe(c: Any = cust, p: dict[str, Any] = payment, i: dict[str, int] = items) -> Any:
            try:  # the catalog reaches subscription-service through Kafka: retry until it knows the variants
                return shop.subscribe(c, schedule["id"], shipping[0]["id"], p["id"], i,
                                      begins_at=platform.now())
            except ApiError as exc:
                if "422" in str(exc) and "available" in str(exc):
                    return None
                raise

        sub = wait_for(subscribe, 30, f"subscription of {first}")
        customers.append({"name": f"{first} {last}", "email": cust.email, "card": card_number or "cash",
                          "token": cust.session or cust.token, "customer_id": cust.id, "subscription_id": sub["id"]})
    return {"shop": shop, "customers": customers, "cycles": cycles, "schedule": schedule}


def load(stack: Any, console: Any) -> None:
    platform = Platform.from_stack(stack)
    existing = _existing(platform)
    start = platform.now().date() + timedelta(days=1)
    loaded = []
    for hub in HUBS:
        name = hub["settings"]["name"]
        if name in existing:
            console.print(f"demo: {name} is already there")
            ensure_manager(platform, existing[name]["id"], hub["manager"])
            continue
        loaded.append(_load_hub(platform, hub, start))
        console.print(f"demo: loaded {name}")
    if not loaded:
        console.print("demo data already loaded; tokens were printed the first time (or issue new ones with "
                      "`platformctl tokens issue`)")
    else:
        _print_guide(stack, platform, loaded, console)
    _print_console_links(stack, platform, console)


def _print_console_links(stack: Any, platform: Platform, console: Any) -> None:
    """Every run: a fresh sign-in link to each demo hub's console (the links of the previous run are used or
    expired)."""
    console.print("\n[bold]The managers' console[/bold] (each link works once, for a few minutes; afterwards ask "
                  f"for a new one at {stack.web_url}/manage/sign-in with the manager's address):")
    for hub in HUBS:
        email = hub["manager"]
        console.print(f"  {hub['settings']['name']}, manager {email}:")
        console.print(f"    {manager_sign_in_link(platform, email)}")


def _print_guide(stack: Any, platform: Platform, loaded: list[dict[str, Any]], console: Any) -> None:
    from devstack.stack import SERVICES

    console.rule("[bold]Recurring orders: the demo is ready")
    console.print("API docs (OpenAPI at /openapi.json):")
    for s in SERVICES:
        console.print(f"  {s.name:22} {stack.service_url(s.name)}/docs")
    console.print(f"Emails sent (the mailbox): {stack.smtp.web_url}")
    console.print(f"Admin token (local only): {stack.cfg.admin_token}")
    for hub in loaded:
        shop: Shop = hub["shop"]
        console.print(f"\n[bold]{shop.data['name']}[/bold] ({shop.id}), schedule '{hub['schedule']['name']}', "
                      f"first cycle {hub['cycles'][0]['opens_at_local']} -> {hub['cycles'][0]['closes_at_local']}")
        console.print(f"  manager token: {shop.manager_token}")
        console.print(f"  customers' pages: {stack.web_url}/shops/{shop.id}/subscriptions (sign in with a customer's "
                      "address below; the link arrives in the mailbox)")
        for c in hub["customers"]:
            email = f" <{c['email']}>" if c.get("email") else ""
            console.print(f"  customer {c['name']:16}{email} ({c['card']}): token {c['token']}")
    console.print("\nCustomers with a card signed in with the link emailed to them (see the mailbox): their token is "
                  "that session, the only kind that may change a card or the consent to charges. A customer asks "
                  "for a new link with POST /api/v1/sign-in-links {email, shop_id}.")
    first = loaded[0]["shop"]
    console.print("\nTry:")
    console.print(f"  curl -H 'Authorization: Bearer {first.manager_token}' "
                  f"{stack.service_url('subscription-service')}/api/v1/shops/{first.id}/subscriptions")
    console.print("  .venv/bin/platformctl clock advance --next open    # the cycle opens: orders are placed")
    console.print("  .venv/bin/platformctl clock advance --next close   # it closes: cards are charged")
    console.print("  .venv/bin/platformctl report                       # orders, payments, emails")
