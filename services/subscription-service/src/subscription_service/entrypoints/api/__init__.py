"""The REST API's blueprints and the mapping of domain errors to problem details."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api

from subscription_service.domain.errors import DomainError
from subscription_service.entrypoints.api import (
    customers,
    managers,
    schedules,
    shops,
    sign_in,
    subscriptions,
    tokens,
)
from subscription_service.entrypoints.api.common import domain_error_response

BLUEPRINTS = [shops.blp, managers.blp, customers.blp, schedules.blp, subscriptions.blp, tokens.blp, sign_in.blp]


def register(app: Flask, api: Api) -> None:
    for blp in BLUEPRINTS:
        api.register_blueprint(blp)
    app.register_error_handler(DomainError, domain_error_response)
