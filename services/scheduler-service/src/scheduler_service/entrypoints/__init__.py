"""Processes of scheduler-service: the API (flask_app, under gunicorn), and the workers below,
each runnable with ``python -m scheduler_service.entrypoints.<name>``; ``migrate`` applies the SQL migrations,
``rebuild`` replays the projections."""

WORKERS = ["consumer", "relay", "ticker"]
