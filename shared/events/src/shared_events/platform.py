"""What another platform team does to talk to us: publish catalog.events (used by the demo, tests, bench).

    pub = CatalogPublisher(bootstrap)
    pub.variant(shop_id, "eggs-6", "Eggs", unit_price=320, currency="EUR", on_hand=40, supplier="Ferme du Pré")
    pub.adjust_stock(shop_id, "eggs-6", +10)
    pub.flush()
"""

from __future__ import annotations

import itertools
import time
from typing import Any

from shared_events import binding
from shared_events import kafka as kafka_clients
from shared_events.contracts.catalog import variant_key
from shared_events.envelope import Envelope, encode
from shared_events.topics import physical

_seq = itertools.count()


def _version() -> int:
    """Catalog versions only need to increase per variant: milliseconds since 2026 plus a tie-breaker."""
    return int((time.time() - 1_767_225_600) * 1000) * 100 + next(_seq) % 100


class CatalogPublisher:
    def __init__(self, bootstrap: str | None = None, producer: kafka_clients.Producer | None = None,
                 topic_prefix: str | None = None) -> None:
        self.producer = producer or kafka_clients.producer(bootstrap)
        self.topic = physical("catalog.events", topic_prefix)

    def _send(self, event_type: str, shop_id: str, variant_id: str, payload: dict[str, Any]) -> Envelope:
        env = Envelope(event_type=event_type, aggregate_id=variant_key(shop_id, variant_id),
                       aggregate_version=_version(), payload=payload, producer="platform-catalog", shop_id=shop_id)
        kafka_clients.send(self.producer, self.topic, env.aggregate_id.encode(), encode(env),
                           binding.headers(env.event_id, env.event_type, env.producer, env.occurred_at))
        return env

    def variant(self, shop_id: str, variant_id: str, product_name: str, *, unit_price: int, currency: str,
                on_hand: int | None = None, available: bool = True, variant_name: str | None = None,
                supplier: str | None = None, tax_category: str | None = None) -> Envelope:
        return self._send("VariantUpdated", shop_id, variant_id, {
            "variant_id": variant_id, "shop_id": shop_id, "product_name": product_name,
            "variant_name": variant_name, "unit_price": unit_price, "currency": currency, "on_hand": on_hand,
            "available": available, "supplier": supplier, "tax_category": tax_category})

    def adjust_stock(self, shop_id: str, variant_id: str, delta: int, reason: str | None = None) -> Envelope:
        return self._send("StockAdjusted", shop_id, variant_id,
                          {"variant_id": variant_id, "shop_id": shop_id, "delta": delta, "reason": reason})

    def delete(self, shop_id: str, variant_id: str) -> Envelope:
        return self._send("VariantDeleted", shop_id, variant_id, {"variant_id": variant_id, "shop_id": shop_id})

    def flush(self, timeout: float = 30) -> None:
        remaining = self.producer.flush(timeout)
        if remaining:
            raise TimeoutError(f"{remaining} catalog event(s) not acknowledged by Kafka in {timeout:.0f}s")

    def close(self) -> None:
        self.flush()
