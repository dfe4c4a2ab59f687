"""Processes of order-service: the API (flask_app, under gunicorn), and the workers below,
each runnable with ``python -m order_service.entrypoints.<name>``; ``migrate`` applies the SQL migrations
and ``rebuild`` replays the projections from Kafka."""

WORKERS = ["consumer", "relay", "notifier"]
