"""Email templates (English and French) and the formatting of money and dates (pure rendering)."""

from datetime import UTC, datetime

import pytest

from order_service.adapters import email_context, formatting
from order_service.adapters.mailer import Templates, build_message, message_id_for
from order_service.adapters.notifications import RECIPIENTS

SHOP = {"name": "La Ruche", "contact_email": "bonjour@ruche.example", "owner_email": "owner@ruche.example",
        "timezone": "Europe/Paris", "currency": "EUR", "locale": "fr", "allow_order_changes": True}
ORDER = {"order_id": "o-1", "number": "R00000042", "currency": "EUR", "status": "placed", "payment_kind": "stripe",
         "payment_method_name": "Carte", "shipping_method_name": "Livraison", "cancel_cause": "manager",
         "totals": {"item_total": 3140, "shipping_fee": 500, "payment_fee": 55, "total": 3695},
         "lines": [{"name": "Oeufs", "unit_price": 320, "requested_quantity": 3, "quantity": 2, "total": 640},
                   {"name": "Panier", "unit_price": 2500, "requested_quantity": 1, "quantity": 1, "total": 2500}]}
CLOSE = datetime(2026, 4, 3, 15, 0, tzinfo=UTC)
PAYLOADS = {
    "order_confirmed": {"paid": True, "amount": 3695, "currency": "EUR"},
    "payment_failed": {"message": "Your bank declined the payment: there were not enough funds on the card.",
                       "final": False, "next_attempt_at": "2026-04-04T15:00:00+00:00", "attempt": 1},
    "payment_failed_shop": {"message": "Card declined.", "final": True, "next_attempt_at": None},
    "authorization_required": {"amount": 3695, "currency": "EUR",
                               "authorization_url": "https://billing.example/pay/authorize/pi_1"},
    "authorization_required_shop": {"amount": 3695, "currency": "EUR",
                                    "authorization_url": "https://billing.example/pay/authorize/pi_1"},
    "placement_summary": {"counts": {"total": 3, "orders": 2, "placed": 1, "capped": 1, "empty": 1, "skipped": 1,
                                     "errors": 0},
                          "issues": [{"kind": "capped", "number": "R00000042", "customer_email": "c@x.example",
                                      "lines": [{"name": "Oeufs", "requested": 3, "quantity": 2}]},
                                     {"kind": "empty", "number": "R00000043", "customer_email": "d@x.example",
                                      "lines": [{"name": "Oeufs", "requested": 1, "quantity": 0}]}],
                          "more_issues": 0, "errors": []},
    "confirmation_summary": {"counts": {"total": 2, "orders": 2, "paid": 0, "cash_pending": 0, "no_payment_needed": 0,
                                        "failed": 1, "authorization_required": 1, "awaiting_outcome": 0, "errors": 0},
                             "issues": [{"kind": "failed_payment", "number": "R00000042", "customer_email": "c@x",
                                         "total": 3695, "currency": "EUR", "message": "Card declined."},
                                        {"kind": "authorization_required", "number": "R00000044",
                                         "customer_email": "e@x", "total": 100, "currency": "EUR", "message": None}],
                             "more_issues": 0, "errors": []},
    "order_reminder": {"order_cycle_id": "oc-1", "hours_before_close": 24, "hours_left": 24},
    "subscription_created": {"items": [{"name": "Oeufs", "quantity": 2}], "shipping_method": "Livraison",
                             "payment_method": "Carte", "begins_at": "2026-04-01T00:00:00+00:00", "ends_at": None,
                             "at": "2026-03-30T10:00:00+00:00"},
    "subscription_changed": {"changes": [{"what": "item", "name": "Oeufs", "from": 2, "to": 3},
                                         {"what": "item", "name": "Miel", "from": None, "to": 1},
                                         {"what": "item", "name": "Panier", "from": 1, "to": None},
                                         {"what": "shipping_method", "from": "Retrait", "to": "Livraison"},
                                         {"what": "ends_at", "from": None, "to": "2026-06-30T00:00:00+00:00"}],
                             "at": "2026-03-30T10:00:00+00:00"},
    "subscription_paused": {"open_orders": "keep", "until": None, "reason": None, "at": "2026-03-30T10:00:00+00:00"},
    "subscription_cancelled": {"open_orders": "cancel", "until": None, "reason": "moving away",
                               "at": "2026-03-30T10:00:00+00:00"},
    "charges_allowed": {"text": "I allow La Ruche to charge my card.", "locale": "en",
                        "at": "2026-03-30T10:00:00+00:00", "email": "camille@example.org"},
    "charges_withdrawn": {"text": "I withdraw it.", "locale": "en", "at": "2026-03-30T10:00:00+00:00",
                          "email": "camille@example.org"},
    "delivery_skipped_shop": {"order_cycle_id": "oc-1", "reason": "away", "at": "2026-03-30T10:00:00+00:00"},
    "order_paid": {"paid": True, "amount": 1140, "currency": "EUR"},
    "line_withdrawn": {"name": "Miel", "quantity": 2, "unit_price": 850, "cause": "deleted", "status": "placed",
                       "totals": {"item_total": 3140, "shipping_fee": 500, "payment_fee": 55, "total": 3695}},
    "lines_withdrawn_shop": {"name": "Miel", "cause": "unavailable", "count": 3, "units": 5, "order_cycle_id": "oc-1",
                             "numbers": ["R00000042", "R00000043"], "emptied": 1},
}


def context(kind, locale):
    return {"shop": dict(SHOP, locale=locale), "order": ORDER, "payload": PAYLOADS.get(kind, {}),
            "customer": {"first_name": "Camille", "last_name": "Durand", "email": "camille@example.org"},
            "cycle": {"name": "Semaine 14", "closes_at": CLOSE}, "order_url": "http://orders/o-1",
            "may_change": True, "capped": True, "language": locale,
            "web": {"order": "https://web.example/shops/s-1/orders/o-1",
                    "subscriptions": "https://web.example/shops/s-1/subscriptions",
                    "payment": "https://web.example/shops/s-1/payment"}}


@pytest.mark.parametrize("locale", ["en", "fr"])
@pytest.mark.parametrize("kind", sorted(RECIPIENTS))
def test_every_notification_renders_in_both_languages(kind, locale):
    subject, text, html = Templates().render(kind, locale, context(kind, locale))
    assert "La Ruche" in subject and "\n" not in subject
    assert text.strip() and "<" not in text.replace("<del>", "")
    assert html.startswith("<!DOCTYPE html>") and f'lang="{locale}"' in html


def test_the_placement_email_strikes_through_what_could_not_be_had_and_says_it_may_still_change():
    _, text, html = Templates().render("order_placed", "en", context("order_placed", "en"))
    assert "<del>3</del> 2" in html
    assert "2 x Oeufs (you asked for 3)" in text
    assert "make changes until orders close on Friday 3 April 2026 at 17:00" in text
    no_changes = dict(context("order_placed", "en"), may_change=False)
    assert "To change it, please contact La Ruche" in Templates().render("order_placed", "en", no_changes)[1]


def test_french_emails_are_in_french_with_french_money_and_dates():
    subject, text, _ = Templates().render("order_placed", "fr", context("order_placed", "fr"))
    assert subject == "La Ruche : votre commande R00000042 a été passée"
    assert "Bonjour Camille" in text and "36,95\u00a0€" in text
    assert "vendredi 3 avril 2026 à 17:00" in text


def test_the_confirmation_says_a_payment_was_processed_only_when_it_was():
    paid = Templates().render("order_confirmed", "en", context("order_confirmed", "en"))[1]
    assert "An automatic payment of €36.95 has been processed" in paid
    cash = dict(context("order_confirmed", "en"), payload={"paid": False}, order=dict(ORDER, payment_kind="cash"))
    text = Templates().render("order_confirmed", "en", cash)[1]
    assert "is now confirmed" in text and "automatic payment" not in text and "to be paid to La Ruche" in text


def test_failed_payment_emails_give_the_reason_and_the_authorisation_email_the_link():
    text = Templates().render("payment_failed", "en", context("payment_failed", "en"))[1]
    assert "not enough funds on the card" in text and "We will try again on Saturday 4 April 2026" in text
    text = Templates().render("authorization_required", "fr", context("authorization_required", "fr"))[1]
    assert "https://billing.example/pay/authorize/pi_1" in text


def test_a_withdrawn_line_email_says_what_left_the_order_that_nothing_is_charged_for_it_and_the_order_now():
    subject, text, _ = Templates().render("line_withdrawn", "en", context("line_withdrawn", "en"))
    assert subject == "La Ruche: Miel removed from your order R00000042"
    assert "Miel is no longer sold by La Ruche, so it has been removed from your order R00000042 (2 x €8.50)" in text
    assert "Nothing will be charged for it." in text and "Total: €36.95" in text and "Miel" not in text.split(
        "Your order now:")[1]
    subject, text, _ = Templates().render("line_withdrawn", "fr", dict(
        context("line_withdrawn", "fr"), payload={**PAYLOADS["line_withdrawn"], "cause": "unavailable",
                                                  "status": "empty"}))
    assert subject == "La Ruche : Miel retiré de votre commande R00000042"
    assert "Miel n'est plus disponible chez La Ruche" in text and "elle ne sera pas confirmée" in text
    assert "Total" not in text


def test_the_withdrawal_email_says_what_was_placed_instead_in_both_languages():
    instead = {"line_id": "l-3", "variant_id": "jam", "name": "Confiture", "unit_price": 400, "requested_quantity": 2,
               "quantity": 2, "total": 800, "substitute_for": {"variant_id": "honey", "name": "Miel"}}
    for lang, said in (("en", "charged for it. In its place, as you asked: 2 x Confiture (€4.00 each)."),
                       ("fr", "À sa place, comme vous l'avez demandé : 2 x Confiture (4,00")):
        _, text, html = Templates().render("line_withdrawn", lang, dict(
            context("line_withdrawn", lang), payload={**PAYLOADS["line_withdrawn"], "substitute": instead}))
        assert said in text and "2 x Confiture" in html


def test_the_shop_is_told_once_which_open_orders_lost_a_withdrawn_product():
    subject, text, _ = Templates().render("lines_withdrawn_shop", "en", context("lines_withdrawn_shop", "en"))
    assert subject == "La Ruche: Miel withdrawn from 3 open orders"
    assert ("Miel was made unavailable in the catalog after orders were placed, so it was withdrawn from 3 open "
            "orders (5 units released to stock)") in text
    assert "1 of these orders was left with nothing: it will not be confirmed." in text
    assert "Orders: R00000042, R00000043 and 1 more" in text
    subject, text, _ = Templates().render("lines_withdrawn_shop", "fr", context("lines_withdrawn_shop", "fr"))
    assert subject == "La Ruche : Miel retiré de 3 commandes en cours"
    assert "Commandes : R00000042, R00000043 et 1 autre\n" in text


def test_money_is_written_as_people_read_it():
    assert formatting.money(123456, "EUR", "en") == "€1,234.56"
    assert formatting.money(123456, "EUR", "fr") == "1\u202f234,56\u00a0€"
    assert formatting.money(500, "JPY", "en") == "¥500"
    assert formatting.money(1999, "SEK", "en") == "19.99 SEK"


def test_a_message_id_is_derived_from_the_notification_and_the_sender_domain():
    mid = message_id_for("3f0c", "Orders <orders@shop.example>")
    assert mid == "<3f0c@shop.example>"
    from order_service.adapters.mailer import Email

    msg = build_message(Email("a@b.example", "Hi", "text", "<p>html</p>", "c@d.example"), sender="o@e.example",
                        message_id=mid)
    assert msg["Message-ID"] == mid and msg["Reply-To"] == "c@d.example" and msg.is_multipart()


@pytest.mark.parametrize("locale", ["en", "fr"])
def test_a_confirmation_without_payment_details_renders_as_confirmed(locale):
    text = Templates().render("order_confirmed", locale, dict(context("order_confirmed", locale), payload={}))[1]
    assert ("is now confirmed" if locale == "en" else "est maintenant confirmée") in text


@pytest.mark.parametrize("subject", [
    "Test hub : merci d'autoriser votre paiement pour la commande R00000004 (a long all-ASCII subject)",
    "La Ruche de Lyon : récapitulatif des commandes récurrentes finalisées (Semaine 14)",
])
def test_a_long_subject_reads_back_exactly_as_written(subject):
    import email
    import email.policy

    from order_service.adapters.mailer import Email

    raw = build_message(Email("a@b.example", subject, "text", "<p>html</p>"), sender="o@e.example",
                        message_id="<1@e.example>").as_bytes()
    assert email.message_from_bytes(raw, policy=email.policy.default)["Subject"] == subject


MISSED_PAYLOAD = {"counts": {"total": 1, "orders": 0, "placed": 0, "capped": 0, "empty": 0, "skipped": 0,
                             "errors": 0, "missed": 1},
                  "issues": [], "more_issues": 0, "errors": [],
                  "missed": [{"subscription_id": "sub-9", "customer_id": "cust-9", "customer_email": "m@x.example",
                              "customer_name": "Marie Curie", "due_reason": "cycle_opened",
                              "reason": "open_processed_after_close", "due_at": "2026-03-31T07:00:00+00:00"}]}


@pytest.mark.parametrize(("locale", "why"), [
    ("en", "the order cycle closed before its opening was processed"),
    ("fr", "le cycle de vente s'est clos avant que son ouverture soit traitée"),
])
def test_the_placement_summary_lists_each_subscription_not_placed_and_why_in_the_shops_language(locale, why):
    ctx = dict(context("placement_summary", locale), payload=MISSED_PAYLOAD)
    import html as markup

    _, text, html = Templates().render("placement_summary", locale, ctx)
    for part in (text, markup.unescape(html)):
        assert "Marie Curie" in part and "m@x.example" in part and "sub-9" in part and why in part
    assert ("processed after the order cycle closed: 1" if locale == "en"
            else "traitées après la clôture du cycle : 1") in text


def test_every_reason_the_scheduler_can_give_for_a_missed_due_has_an_english_and_a_french_wording():
    from order_service.adapters.reasons import MISSED
    from shared_events.contracts.scheduler import MISSED_REASONS

    for lang in ("en", "fr"):
        assert set(MISSED[lang]) == set(MISSED_REASONS), lang


# the payment's page (authorisation) and the payment page (consent) instead
LINK_TO_PAYMENTS = ("authorization_required", "charges_allowed", "charges_withdrawn")


@pytest.mark.parametrize("locale", ["en", "fr"])
@pytest.mark.parametrize("kind", sorted(k for k, r in RECIPIENTS.items() if r == "customer"
                                        and k not in LINK_TO_PAYMENTS))
def test_every_email_to_a_customer_links_to_their_order_in_both_parts(kind, locale):
    url = "http://shop.example/shops/s-1/orders/o-1"
    _, text, html = Templates().render(kind, locale, dict(context(kind, locale), order_url=url))
    assert url in text and f'href="{url}"' in html


def test_a_customers_link_opens_the_web_apps_order_page_and_a_shops_the_api():
    row = {"shop_id": "s-1", "order_id": "o-1", "recipient": "customer"}
    web, api = "http://shop.example", "http://orders.example"
    assert email_context.links(row, "c-1", api, web) == "http://shop.example/shops/s-1/orders/o-1"
    assert email_context.links(dict(row, order_id=None), "c-1", api, web) == "http://shop.example/shops/s-1/subscriptions"
    for recipient in ("shop_contact", "shop_owner"):
        assert email_context.links(dict(row, recipient=recipient), "c-1", api, web) == \
            "http://orders.example/api/v1/shops/s-1/orders/o-1"
    assert email_context.links(dict(row, recipient="shop_contact", order_id=None), "c-1", api, web) == \
        "http://orders.example/api/v1/shops/s-1/order-cycles/c-1"


def test_a_subscription_change_email_lists_what_changed_and_when_it_applies_in_french():
    subscriptions = "https://web.example/shops/s-1/subscriptions"
    subject, text, html = Templates().render("subscription_changed", "fr",
                                             dict(context("subscription_changed", "fr"), order_url=subscriptions))
    assert subject == "La Ruche : votre abonnement a été modifié"
    for line in ("Oeufs : 2 -> 3", "Ajouté : 1 x Miel", "Retiré : Panier", "Livraison : Retrait -> Livraison",
                 "Fin : aucune -> mardi 30 juin 2026 à 02:00", "Cela s'applique dès maintenant",
                 "https://web.example/shops/s-1/subscriptions"):
        assert line in text, line
    assert 'href="https://web.example/shops/s-1/subscriptions"' in html


def test_the_reminder_links_to_the_customers_order_page_and_says_when_orders_close():
    order_page = "https://web.example/shops/s-1/orders/o-1"
    subject, text, html = Templates().render("order_reminder", "en",
                                             dict(context("order_reminder", "en"), order_url=order_page))
    assert subject == "La Ruche: you can change order R00000042 until Friday 3 April 2026 at 17:00"
    assert "Orders close in 24 hours" in text
    assert "See or change your order: https://web.example/shops/s-1/orders/o-1" in text
    assert 'href="https://web.example/shops/s-1/orders/o-1"' in html


def test_the_consent_email_quotes_the_text_the_customer_was_shown():
    _, text, html = Templates().render("charges_allowed", "en", context("charges_allowed", "en"))
    assert "I allow La Ruche to charge my card." in text and "camille@example.org" in text
    assert "https://web.example/shops/s-1/payment" in text and "<blockquote" in html


@pytest.mark.parametrize(("kind", "locale", "words"), [
    ("order_placed", "en", "2 x Poivrons (instead of Tomates)"), ("order_confirmed", "en", "instead of Tomates"),
    ("order_placed", "fr", "2 x Poivrons (à la place de Tomates)"), ("order_confirmed", "fr", "à la place de Tomates")])
def test_the_placed_and_confirmed_emails_say_which_product_was_placed_instead_of_which(kind, locale, words):
    substituted = {"name": "Poivrons", "unit_price": 450, "requested_quantity": 2, "quantity": 2, "total": 900,
                   "substitute_for": {"variant_id": "tomatoes", "name": "Tomates"}}
    order = dict(ORDER, lines=[*ORDER["lines"], substituted])
    _, text, html = Templates().render(kind, locale, dict(context(kind, locale), order=order))
    assert words in text
    assert words.split("(")[-1].rstrip(")") in html
    assert text.count("Tomates") == 1


FRENCH_TAXED = {**ORDER, "prices_include_tax": True,
                "totals": {"item_total": 3140, "shipping_fee": 500, "payment_fee": 0, "shipping_tax": 83,
                           "payment_tax": 0, "tax_total": 246, "total": 3640},
                "tax_by_rate": [(550, 163)]}
UK_TAXED = {**ORDER, "currency": "GBP", "prices_include_tax": False,
            "totals": {"item_total": 2500, "shipping_fee": 350, "payment_fee": 0, "shipping_tax": 70,
                       "payment_tax": 0, "tax_total": 210, "total": 3060},
            "tax_by_rate": [(2000, 140)]}


@pytest.mark.parametrize("kind", ["order_placed", "order_confirmed"])
def test_an_order_whose_prices_include_tax_shows_the_tax_it_includes_per_rate_in_both_languages(kind):
    ctx = {**context(kind, "fr"), "order": FRENCH_TAXED}
    _, text, html = Templates().render(kind, "fr", ctx)
    assert "Dont TVA : 2,46\u00a0€" in text
    assert "à 5,5\u00a0% : 1,63\u00a0€" in text and "sur la livraison : 0,83\u00a0€" in text
    assert "Dont TVA" in html and "5,5\u00a0%" in html
    _, text, _ = Templates().render(kind, "en", {**context(kind, "en"), "order": FRENCH_TAXED})
    assert "Including tax: €2.46" in text and "at 5.5\u00a0%: €1.63" in text and "on shipping: €0.83" in text


def test_an_order_whose_prices_exclude_tax_lists_the_tax_added_before_the_total():
    _, text, html = Templates().render("order_placed", "en", {**context("order_placed", "en"), "order": UK_TAXED})
    assert text.index("Tax at 20\u00a0%: £1.40") < text.index("Tax on shipping: £0.70") < text.index("Total: £30.60")
    assert "Tax at 20\u00a0%" in html
    _, text, _ = Templates().render("order_placed", "fr", {**context("order_placed", "fr"), "order": UK_TAXED})
    assert "TVA à 20\u00a0% : 1,40\u00a0£" in text


def test_an_untaxed_order_shows_no_tax_line():
    _, text, _ = Templates().render("order_placed", "en", context("order_placed", "en"))
    assert "tax" not in text.lower()


def test_rates_are_written_as_percentages():
    assert formatting.percent(550, "fr") == "5,5\u00a0%" and formatting.percent(2000, "en") == "20\u00a0%"
    assert formatting.percent(1250, "en") == "12.5\u00a0%" and formatting.percent(5, "en") == "0.05\u00a0%"
