"""What the emails outside an order's life say and in which language (pure decisions, no I/O)."""

from datetime import UTC, datetime, timedelta

from order_service.adapters.email_context import language, web_links
from order_service.adapters.mailer import Templates
from order_service.service_layer.notices import describe_changes, hours_left, skip_key
from shared_events import Envelope

NAMES = {"eggs": "Eggs", "honey": "Honey", "box": "Veg box"}
METHODS = {("shipping", "ship-1"): "Pick-up", ("shipping", "ship-2"): "Home delivery"}


def test_a_subscription_change_is_described_product_by_product_and_method_by_name():
    changes = {"items": [{"variant_id": "eggs", "quantity": 3}, {"variant_id": "honey", "quantity": 1}],
               "shipping_method_id": "ship-2", "ends_at": None, "shipping_fee_estimate": 500}
    previous = {"items": [{"variant_id": "eggs", "quantity": 2}, {"variant_id": "box", "quantity": 1}],
                "shipping_method_id": "ship-1", "ends_at": "2026-06-30T00:00:00+00:00", "shipping_fee_estimate": 0}
    assert describe_changes(changes, previous, NAMES, METHODS) == [
        {"what": "item", "name": "Eggs", "from": 2, "to": 3},
        {"what": "item", "name": "Honey", "from": None, "to": 1},
        {"what": "item", "name": "Veg box", "from": 1, "to": None},
        {"what": "shipping_method", "from": "Pick-up", "to": "Home delivery"},
        {"what": "ends_at", "from": "2026-06-30T00:00:00+00:00", "to": None},
    ]


def test_a_change_of_estimates_alone_describes_nothing_to_tell():
    assert describe_changes({"shipping_fee_estimate": 500}, {"shipping_fee_estimate": 0}, NAMES, METHODS) == []


def test_an_email_to_a_customer_speaks_their_language_else_the_shops_and_a_consent_its_own():
    shop = {"locale": "fr"}
    to_customer = {"recipient": "customer", "payload": {}}
    assert language(to_customer, shop, {"locale": "en"}) == "en"
    assert language(to_customer, shop, {"locale": None}) == "fr"
    assert language({"recipient": "shop_contact", "payload": {}}, shop, {"locale": "en"}) == "fr"
    assert language({"recipient": "customer", "payload": {"locale": "fr"}}, {"locale": "en"}, {"locale": "en"}) == "fr"


def test_customer_links_open_the_web_apps_pages_under_the_shop():
    links = web_links("https://shop.example", "s-1", "o-9")
    assert links == {"order": "https://shop.example/shops/s-1/orders/o-9",
                     "subscriptions": "https://shop.example/shops/s-1/subscriptions",
                     "payment": "https://shop.example/shops/s-1/payment"}


def _skipped(version, holiday=None):
    return Envelope(event_type="OccurrenceSkipped", aggregate_id="sub-1", aggregate_version=version, producer="t",
                    payload={"subscription_id": "sub-1", "shop_id": "s-1", "order_cycle_id": f"oc-{version}",
                             "holiday": holiday, "actor": {"type": "customer", "id": "x"}, "reason": None})


def test_the_shop_is_told_once_per_single_skip_and_once_per_holiday_of_several_skips():
    holiday = {"first_day": "2026-07-01", "last_day": "2026-07-21"}
    assert skip_key(_skipped(4)) != skip_key(_skipped(5))
    assert skip_key(_skipped(4, holiday)) == skip_key(_skipped(5, holiday)) == skip_key(_skipped(6, holiday))
    assert skip_key(_skipped(7, {**holiday, "last_day": "2026-07-28"})) != skip_key(_skipped(4, holiday))


def _render(kind, locale, payload):
    context = {"shop": {"name": "La Ruche", "contact_email": "b@ruche.example", "timezone": "Europe/Paris",
                        "currency": "EUR"},
               "customer": {"first_name": "Léa", "last_name": "Martin", "email": "lea@example.org"},
               "order": None, "cycle": {"name": "Semaine 27", "closes_at": None}, "payload": payload,
               "order_url": "http://orders/oc", "web": web_links("https://web.example", "s-1", None)}
    return Templates().render(kind, locale, context)


def test_a_holiday_is_told_to_the_shop_as_the_days_away_in_its_language():
    holiday = {"first_day": "2026-07-01", "last_day": "2026-07-21"}
    subject, text, _ = _render("delivery_skipped_shop", "fr", {"holiday": holiday, "reason": None})
    assert subject == "La Ruche : Léa Martin a sauté les livraisons du mercredi 1 juillet 2026 au mardi 21 juillet 2026"
    assert "la première au cycle de commande Semaine 27" in text
    subject, text, _ = _render("delivery_skipped_shop", "en", {"holiday": None, "reason": "ill"})
    assert subject == "La Ruche: Léa Martin skipped a delivery" and "Their note: ill" in text


def test_a_pause_until_a_date_says_when_the_subscription_resumes_by_itself():
    payload = {"open_orders": "none", "until": "2026-08-01T22:00:00+00:00", "reason": None,
               "at": "2026-07-01T08:00:00+00:00"}
    _, text, _ = _render("subscription_paused", "en", payload)
    assert "no new order is placed for you until Sunday 2 August 2026 at 00:00, when it resumes by itself" in text


def test_the_reminder_counts_the_hours_really_left_when_it_comes_late():
    close = datetime(2026, 4, 3, 15, 0, tzinfo=UTC)
    assert hours_left(close, close - timedelta(hours=24)) == 24
    assert hours_left(close, close - timedelta(hours=23, minutes=50)) == 24
    assert hours_left(close, close - timedelta(hours=5, minutes=20)) == 5
    assert hours_left(close, close - timedelta(minutes=10)) == 1
