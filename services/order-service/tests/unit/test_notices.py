"""What the emails outside an order's life say and in which language (pure decisions, no I/O)."""

from order_service.adapters.email_context import language, web_links
from order_service.service_layer.notices import describe_changes

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
