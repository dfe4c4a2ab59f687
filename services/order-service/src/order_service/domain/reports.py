"""Rules of the managers' reports that are not a query: how product totals add up per supplier. Pure."""

from __future__ import annotations

from typing import Any


def by_supplier(products: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The product totals grouped by supplier (what the hub orders from each farm), in the order the products come
    (by supplier name, those without a supplier last), each supplier with its quantity, amount and tax summed."""
    groups: dict[str | None, dict[str, Any]] = {}
    for product in products:
        group = groups.setdefault(product["supplier"], {"supplier": product["supplier"], "quantity": 0,
                                                        "amount": 0, "tax": 0, "products": []})
        group["quantity"] += product["quantity"]
        group["amount"] += product["amount"]
        group["tax"] += product.get("tax") or 0
        group["products"].append(product)
    return list(groups.values())


def grand_total(products: list[dict[str, Any]]) -> dict[str, int]:
    return {"products": len(products), "quantity": sum(p["quantity"] for p in products),
            "amount": sum(p["amount"] for p in products), "tax": sum(p.get("tax") or 0 for p in products)}
