"""catalog.events: variant names, per-shop prices and stock (producer: the platform's catalog).

We consume these; other platform teams publish them (see docs/for-platform-teams.md).
The key and aggregate id is "<shop_id>:<variant_id>"; aggregate_version increases
with every change of that variant in that shop. ``on_hand`` is authoritative when
present (null = unlimited stock); StockAdjusted adds or removes units (restock,
shrinkage). Allocations made by order-service are published in orders.events
(``stock_delta``) for the platform's inventory to follow.
"""

from marshmallow import Schema, fields, validate

from shared_events.contracts.common import TAX_CATEGORY, Currency, Id, Money
from shared_events.registry import event

TOPIC = "catalog.events"


def variant_key(shop_id: str, variant_id: str) -> str:
    return f"{shop_id}:{variant_id}"


@event("VariantUpdated", 1, topic=TOPIC, aggregate="Variant")
class VariantUpdatedV1(Schema):
    """The full current state of a variant in a shop: name, unit price, stock, and who produces it.
    ``supplier``: the producer (farm, maker) the hub orders it from, as the catalog names it, so that a hub can
    total what it must order from each (null, or absent in older events: the catalog does not say).
    ``tax_category``: the variant's tax category (a slug such as "reduced" or "standard"; the shop's tax rates
    give its rate); null, or absent in older events: not taxed."""

    variant_id = Id(required=True)
    shop_id = Id(required=True)
    product_name = fields.String(required=True, validate=validate.Length(min=1, max=300))
    variant_name = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=300))
    unit_price = Money(required=True, validate=validate.Range(min=0))
    currency = Currency(required=True)
    on_hand = fields.Integer(strict=True, load_default=None, allow_none=True)
    available = fields.Boolean(required=True)
    supplier = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=300))
    tax_category = fields.String(load_default=None, allow_none=True, validate=TAX_CATEGORY)


@event("StockAdjusted", 1, topic=TOPIC, aggregate="Variant")
class StockAdjustedV1(Schema):
    """Units added (restock) or removed (shrinkage, sales outside subscriptions)."""

    variant_id = Id(required=True)
    shop_id = Id(required=True)
    delta = fields.Integer(strict=True, required=True)
    reason = fields.String(load_default=None, allow_none=True)


@event("VariantDeleted", 1, topic=TOPIC, aggregate="Variant")
class VariantDeletedV1(Schema):
    """The variant is no longer sold by the shop (subscriptions that hold it still load)."""

    variant_id = Id(required=True)
    shop_id = Id(required=True)
