"""Builders for unit tests: orders, lines, catalog entries (no I/O)."""

from datetime import UTC, datetime, timedelta

from order_service.domain.model import Fee, Fees, Line, Order
from order_service.domain.placement import Due, Terms, Variant

NOW = datetime(2026, 4, 1, 10, 0, tzinfo=UTC)
CLOSES = NOW + timedelta(days=2)
ADDRESS = {"first_name": "Camille", "last_name": "Durand", "address1": "12 rue des Lilas", "address2": None,
           "city": "Lyon", "zipcode": "69003", "state": None, "country": "FR", "phone": None}
FEES = Fees({"ship": Fee(500, 0), "ship2": Fee(300, 0)}, {"card": Fee(0, 150), "cash": Fee(0, 0)})


def line(n, variant, quantity, requested=None, price=100, edited_by=None):
    return Line(f"l-{n}", variant, variant.title(), price, quantity if requested is None else requested, quantity,
                edited_by)


def order(*lines, status="placed", closes_at=CLOSES, cycle_closed=False, version=1, **kw):
    fields = dict(order_id="o-1", number="R00000001", shop_id="shop", subscription_id="sub", order_cycle_id="oc",
                  customer_id="cust", status=status, currency="EUR", lines=list(lines), shipping_method_id="ship",
                  payment_method_id="card", payment_kind="stripe", bill_address=dict(ADDRESS),
                  ship_address=dict(ADDRESS), closes_at=closes_at, cycle_closed=cycle_closed, version=version)
    fields.update(kw)
    return Order(**fields)


def variant(variant_id, on_hand=None, price=100, sellable=True):
    return Variant(variant_id, variant_id.title(), price, on_hand, sellable)


def terms(sub_id, items, created_at=NOW, shipping="ship", payment="card"):
    return Terms(sub_id, f"cust-{sub_id}", created_at,
                 [{"variant_id": v, "quantity": q, "price_estimate": None, "substitutes": list(subs)}
                  for v, q, *subs in items],
                 shipping, payment, "stripe", ADDRESS, ADDRESS)


def due(sub_id, cycle="oc"):
    return Due(sub_id, cycle, NOW, CLOSES, False)
