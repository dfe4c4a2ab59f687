"""Payment failure reasons in the customer's language, and why a due was not placed in the manager's.

billing-service states the reason in plain English (``PaymentFailed.message``) with its ``code`` and, for a
card decline, the bank's ``decline_code``. Emails in another language look the reason up here by those codes;
an unknown code falls back to billing's English sentence rather than to nothing.
"""

from __future__ import annotations

from typing import Any

_SEIZED_FR = ("Votre banque a refusé le paiement et nous demande de ne plus essayer cette carte. "
              "Merci d'enregistrer une autre carte.")
_BANK_BUSY_FR = "La banque n'a pas pu traiter le paiement cette fois-ci."

FR = {
    "insufficient_funds": "Votre banque a refusé le paiement : le solde de la carte était insuffisant.",
    "expired_card": "La carte a expiré, le paiement n'a donc pas été pris. Merci d'enregistrer une nouvelle carte.",
    "incorrect_cvc": "Le code de sécurité de la carte n'est plus valable. Merci d'enregistrer la carte à nouveau.",
    "invalid_cvc": "Le code de sécurité de la carte n'est plus valable. Merci d'enregistrer la carte à nouveau.",
    "incorrect_number": "Le numéro de carte n'est plus valable. Merci d'enregistrer une autre carte.",
    "invalid_number": "Le numéro de carte n'est plus valable. Merci d'enregistrer une autre carte.",
    "lost_card": _SEIZED_FR, "stolen_card": _SEIZED_FR, "pickup_card": _SEIZED_FR, "fraudulent": _SEIZED_FR,
    "restricted_card": _SEIZED_FR, "security_violation": _SEIZED_FR, "do_not_try_again": _SEIZED_FR,
    "stop_payment_order": _SEIZED_FR, "revocation_of_authorization": _SEIZED_FR,
    "revocation_of_all_authorizations": _SEIZED_FR,
    "card_not_supported": "Cette carte ne peut pas être utilisée pour ce paiement. Merci d'en enregistrer une autre.",
    "currency_not_supported": "Cette carte ne peut pas payer dans cette devise. Merci d'en enregistrer une autre.",
    "processing_error": _BANK_BUSY_FR,
    "try_again_later": _BANK_BUSY_FR,
    "card_declined": "Votre banque a refusé le paiement.",
    "authentication_failed": ("Le paiement n'a pas été autorisé : la vérification de la banque "
                                              "(3-D Secure) n'a pas abouti."),
    "authentication_required": "Votre banque vous demande de confirmer ce paiement (3-D Secure).",
    "stripe_unavailable": "Le service de paiement par carte n'a pas répondu à temps.",
    "stripe_error": "Le service de paiement par carte a refusé la demande ; la boutique a été prévenue.",
    "payment_method_unavailable": "La carte enregistrée n'est plus disponible. Merci d'enregistrer une carte.",
    "canceled": "Le paiement par carte a été annulé.",
    "no_card": "Aucune carte n'est enregistrée par défaut pour vous : le paiement n'a pas pu être pris.",
    "no_permission": ("Vous n'avez pas autorisé cette boutique à débiter votre carte : le paiement n'a pas pu "
                      "être pris."),
}
TABLES = {"fr": FR}


def failure_reason(payload: dict[str, Any], lang: str) -> str:
    """The reason of a failed payment for a reader of ``lang`` (the English message when no translation)."""
    table = TABLES.get(lang)
    english = payload.get("message") or ""
    if table is None:
        return english
    return table.get(payload.get("decline_code") or "") or table.get(payload.get("code") or "") or english


# Why a due got no order (scheduler.events OrderDueMissed.reason), for the shop's placement summary.
_POLICY_EN = ("and this shop places no order once a cycle has closed (late placement setting: \"while_open\", "
              "the default; \"always\" places such orders late)")
_POLICY_FR = ("et cette boutique ne passe aucune commande une fois le cycle clos (réglage de placement tardif : "
              "« while_open », par défaut ; « always » passe ces commandes en retard)")
MISSED = {
    "en": {
        "open_processed_after_close": "the order cycle closed before its opening was processed (the scheduler was "
                                      f"not running from its open until after its close), {_POLICY_EN}",
        "change_processed_after_close": "the change that made it due was made while the order cycle was open but "
                                        f"processed only after the cycle closed, {_POLICY_EN}",
    },
    "fr": {
        "open_processed_after_close": "le cycle de vente s'est clos avant que son ouverture soit traitée (le "
                                      "planificateur était arrêté de son ouverture jusqu'après sa clôture), "
                                      f"{_POLICY_FR}",
        "change_processed_after_close": "la modification qui la rendait due a été faite pendant que le cycle de "
                                        "vente était ouvert mais traitée seulement après sa clôture, "
                                        f"{_POLICY_FR}",
    },
}


def missed_reason(code: str, lang: str) -> str:
    """Why a due was not placed, for a reader of ``lang`` (English when no translation; the code if unknown)."""
    return MISSED.get(lang, MISSED["en"]).get(code) or MISSED["en"].get(code) or code
