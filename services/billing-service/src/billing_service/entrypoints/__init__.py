"""Processes of billing-service: the API (flask_app, under gunicorn), and the workers below,
each runnable with ``python -m billing_service.entrypoints.<name>``; ``migrate`` applies the SQL migrations,
``rebuild`` replays the topics into the projections."""

WORKERS = ["consumer", "relay", "charger"]
