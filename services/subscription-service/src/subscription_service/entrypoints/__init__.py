"""Processes of subscription-service: the API (flask_app, under gunicorn), and the workers below,
each runnable with ``python -m subscription_service.entrypoints.<name>``; ``migrate`` applies the SQL migrations and
``rebuild`` replays the topics into the projections."""

WORKERS = ["consumer", "relay"]
