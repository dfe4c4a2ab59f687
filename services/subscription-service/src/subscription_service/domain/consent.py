"""The words a customer is shown when they allow the shop to charge their card, or withdraw that permission: one
text per language, kept here on the server so that the event can record exactly what was shown (a page shows what
``GET .../charges-permission`` answers, and the customer's ``PUT``/``DELETE`` names the language it showed)."""

from __future__ import annotations

LOCALES = ("en", "fr")
METHOD_EMAIL_SIGN_IN = "email_sign_in_link"

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "allow": ("I authorise {shop} to charge my saved card, without me being present, for the orders of my "
                  "subscriptions with {shop}, each time an order cycle closes, until I withdraw this permission. "
                  "I can withdraw it at any time; orders already confirmed may still be charged."),
        "withdraw": ("I withdraw the permission I gave {shop} to charge my saved card for the orders of my "
                     "subscriptions. My orders will no longer be charged to this card."),
    },
    "fr": {
        "allow": ("J'autorise {shop} à débiter ma carte enregistrée, sans ma présence, pour les commandes de mes "
                  "abonnements chez {shop}, à la clôture de chaque cycle de commande, jusqu'à ce que je retire "
                  "cette autorisation. Je peux la retirer à tout moment ; les commandes déjà confirmées peuvent "
                  "encore être débitées."),
        "withdraw": ("Je retire l'autorisation donnée à {shop} de débiter ma carte enregistrée pour les commandes "
                     "de mes abonnements. Mes commandes ne seront plus débitées sur cette carte."),
    },
}


def language(requested: str | None, customer_locale: str | None, shop_locale: str | None) -> str:
    """The language shown: the one named, else the customer's, else the shop's, else English."""
    for candidate in (requested, customer_locale, shop_locale):
        if candidate in LOCALES:
            return str(candidate)
    return "en"


def text(kind: str, locale: str, shop_name: str) -> str:
    """``kind``: allow | withdraw."""
    return TEXTS[locale][kind].format(shop=shop_name)
