"""A French customer chooses the substitutes of a product of their subscription on their own page, in a real
browser on a phone-sized screen against the real stack (signed in by the emailed link): two substitutes in order
of preference, saved and listed; a choice the API refuses (the same product twice), shown by its select box with
nothing changed; and a form made stale by the shop's change, shown as the subscription is now. Every state of the
page passes axe-core and is photographed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from devstack.scenario import ApiError
from devstack.testing import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


def subscribed(web_system, items: dict[str, int] | None = None) -> dict[str, Any]:
    """A French shop with tomatoes, peppers and courgettes (known to order-service's products for sale and to
    subscription-service), a French customer subscribed to two tomatoes a week, paying cash."""
    p = web_system.platform
    shop = p.create_shop(name=f"Ruche {uuid.uuid4().hex[:4]}", locale="fr", timezone="Europe/Paris")
    ship = shop.shipping_method("Livraison", fee_flat=500)
    cash = shop.payment_method("cash")
    shop.variant("tomatoes", "Tomates", 300, on_hand=100)
    shop.variant("peppers", "Poivrons", 350, on_hand=100)
    shop.variant("courgettes", "Courgettes", 250, on_hand=100)
    now = p.now()
    cycles = [shop.order_cycle(f"Semaine {n}", now + timedelta(days=7 * n - 6), now + timedelta(days=7 * n - 4))
              for n in (1, 2)]
    schedule = shop.schedule("Panier hebdo", [c["id"] for c in cycles])
    customer = shop.customer("Anne", "Martin", locale="fr")

    def catalog_known() -> bool:
        try:
            listed = shop.orders_api().get(f"{shop.base}/products")["items"]
        except ApiError as exc:  # order-service has not heard of the shop or of the manager's token yet
            if " -> 404 " not in str(exc) and " -> 401 " not in str(exc):
                raise
            return False
        priced = shop.subs().post(f"{shop.base}/subscriptions/estimate", {"items": [
            {"variant_id": v, "quantity": 1} for v in ("tomatoes", "peppers", "courgettes")]})
        return len(listed) == 3 and priced["estimate"]["item_total"] == 900

    wait_for(catalog_known, 30, "the catalog to reach order-service and subscription-service")
    sub = shop.subscribe(customer, schedule["id"], ship["id"], cash["id"], items or {"tomatoes": 2}, begins_at=now)
    return {"shop": shop, "customer": customer, "subscription": sub}


def keep_a_line_at_0(web_system, shop: Any, sub: dict[str, Any], variant_id: str) -> None:
    """The subscription as one saved before a quantity of 0 was refused: its version 2 sets that line to 0 (applied
    to subscription-service's projection as its consumer applies an event)."""
    from shared_events import Envelope
    from subscription_service.adapters.projections import apply

    items = [{"variant_id": i["variant_id"], "quantity": 0 if i["variant_id"] == variant_id else i["quantity"],
              "price_estimate": i["price_estimate"]} for i in sub["items"]]
    env = Envelope(event_type="SubscriptionUpdated", aggregate_id=sub["id"], aggregate_version=2, payload={
        "subscription_id": sub["id"], "shop_id": shop.id, "changes": {"items": items}, "previous": {"items": []},
        "actor": {"type": "manager", "id": "m"}, "reason": None}, producer="test", shop_id=shop.id,
        occurred_at=datetime.now(UTC))
    with psycopg.connect(web_system.stack.db_url("subscriptions")) as conn:
        apply(conn, env)


def press(page: Any, name: str) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name=name, exact=True).click()


def open_substitutes(page: Any, name: str) -> None:
    """Opens a line's substitutes and waits for its opening to end (a half-faded button is no contrast to judge)."""
    page.get_by_text(name).click()
    page.wait_for_function("() => document.getAnimations().every(a => a.playState !== 'running')")


def saved_substitutes(shop: Any, sub: dict[str, Any]) -> list[str]:
    return shop.subs().get(f"{shop.base}/subscriptions/{sub['id']}")["items"][0]["substitutes"]


def test_a_french_customer_chooses_two_substitutes_in_order_and_sees_them_listed(web_system, visit, sign_in_customer):
    world = subscribed(web_system)
    shop, sub = world["shop"], world["subscription"]
    page = sign_in_customer(world["customer"], f"/shops/{shop.id}/subscriptions")
    box = f"#subst-{sub['id']}-0-substitute"
    open_substitutes(page, "Remplacements de Tomates")
    assert page.locator(f"{box}_1 option[value=tomatoes]").count() == 0  # not a substitute of itself
    page.locator(f"{box}_1").select_option("peppers")
    page.locator(f"{box}_2").select_option("courgettes")
    visit.check("deux produits de remplacement choisis")
    press(page, "Enregistrer ces remplacements")

    assert page.get_by_role("status").inner_text() == "Vos remplacements sont enregistrés."
    assert "S'il manque : Poivrons, Courgettes" in page.locator("main").inner_text()
    assert saved_substitutes(shop, sub) == ["peppers", "courgettes"]
    history = shop.subs().get(f"{shop.base}/subscriptions/{sub['id']}/history")["items"]
    assert history[-1]["actor"]["type"] == "customer"
    visit.check("les produits de remplacement listés")
    open_substitutes(page, "Remplacements de Tomates")
    assert page.locator(f"{box}_1").input_value() == "peppers"
    assert page.locator(f"{box}_2").input_value() == "courgettes"


def test_a_customer_whose_subscription_kept_an_old_line_of_quantity_0_still_chooses_substitutes(web_system, visit,
                                                                                                sign_in_customer):
    world = subscribed(web_system, {"tomatoes": 2, "peppers": 1})
    shop, sub = world["shop"], world["subscription"]
    keep_a_line_at_0(web_system, shop, sub, "peppers")
    page = sign_in_customer(world["customer"], f"/shops/{shop.id}/subscriptions")
    assert "Quantité 0 : jamais commandé." in page.locator("main").inner_text()
    open_substitutes(page, "Remplacements de Tomates")
    page.locator(f"#subst-{sub['id']}-0-substitute_1").select_option("courgettes")
    press(page, "Enregistrer ces remplacements")

    assert page.get_by_role("status").inner_text() == "Vos remplacements sont enregistrés."
    saved = shop.subs().get(f"{shop.base}/subscriptions/{sub['id']}")["items"]
    assert [(i["variant_id"], i["quantity"], i["substitutes"]) for i in saved] == [
        ("tomatoes", 2, ["courgettes"]), ("peppers", 0, [])]
    visit.check("des remplacements choisis à côté d'une ligne à 0")


def test_a_refused_substitute_is_shown_by_its_select_box_and_a_stale_form_shows_the_subscription_as_it_is_now(
        web_system, visit, sign_in_customer):
    world = subscribed(web_system)
    shop, sub = world["shop"], world["subscription"]
    page = sign_in_customer(world["customer"], f"/shops/{shop.id}/subscriptions")
    box = f"subst-{sub['id']}-0-substitute"
    open_substitutes(page, "Remplacements de Tomates")
    page.locator(f"#{box}_1").select_option("peppers")
    page.locator(f"#{box}_2").select_option("peppers")  # the same product twice: the API refuses the second
    press(page, "Enregistrer ces remplacements")

    assert page.title().startswith("Erreur")
    assert "Ce produit remplace déjà celui de cette ligne : choisissez-en un autre." in page.locator(
        f"#{box}_2-error").inner_text()
    assert page.locator(f".error-summary a[href='#{box}_2']").count() == 1
    assert page.locator(f"#{box}_2").input_value() == "peppers"  # what was chosen is kept
    assert saved_substitutes(shop, sub) == []
    visit.check("un produit de remplacement refusé par son champ")

    # meanwhile the shop changes them: the form the customer still has is stale (412), shown as it is now
    shop.subs().patch(f"{shop.base}/subscriptions/{sub['id']}", {"items": [
        {"variant_id": "tomatoes", "quantity": 2, "substitutes": ["courgettes"]}]}, headers={"If-Match": '"1"'})
    page.locator(f"#{box}_2").select_option("")
    press(page, "Enregistrer ces remplacements")
    assert "Cet abonnement a été modifié depuis que vous avez ouvert la page" in page.get_by_role("alert").first \
        .inner_text()
    assert "S'il manque : Courgettes" in page.locator("main").inner_text()
    assert saved_substitutes(shop, sub) == ["courgettes"]
    visit.check("un formulaire périmé montre l'abonnement tel qu'il est")
