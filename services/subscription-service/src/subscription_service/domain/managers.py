"""A shop's managers: people known by their email address, which is how they sign in (a one-time link sent to it
opens a manager session for every shop where the address is a manager). The platform admin adds a shop's first
manager; its managers add and remove the others."""

from __future__ import annotations

from dataclasses import dataclass

from subscription_service.domain.common import By, Decided
from subscription_service.domain.customers import normalise_email
from subscription_service.domain.errors import Conflict, NotFound
from subscription_service.domain.shops import Shop


@dataclass(frozen=True)
class Manager:
    manager_id: str
    shop_id: str
    email: str


def add_manager(shop: Shop, managers: list[Manager], manager_id: str, email: str, by: By) -> list[Decided]:
    """Refused (409, by the field) when the address already manages the shop."""
    email = normalise_email(email)
    if any(m.email == email for m in managers):
        raise Conflict("This address is already a manager of the shop.",
                       {"email": ["This address is already a manager of the shop."]})
    return [Decided("ShopManagerAdded", by.stamp({"shop_id": shop.shop_id, "manager_id": manager_id,
                                                  "email": email}))]


def remove_manager(shop: Shop, managers: list[Manager], manager_id: str, by: By) -> list[Decided]:
    found = next((m for m in managers if m.manager_id == manager_id), None)
    if found is None:
        raise NotFound("No such manager.")
    return [Decided("ShopManagerRemoved", by.stamp({"shop_id": shop.shop_id, "manager_id": manager_id,
                                                    "email": found.email}))]
