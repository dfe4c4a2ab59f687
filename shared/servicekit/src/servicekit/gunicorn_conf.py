"""gunicorn settings shared by every service API: ``gunicorn -c python:servicekit.gunicorn_conf APP``.

PORT, WEB_CONCURRENCY (workers), WEB_THREADS and GRACEFUL_TIMEOUT come from the
environment. On SIGTERM gunicorn stops accepting and lets requests in flight finish.
"""

import os

bind = f"{os.environ.get('BIND_HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("WEB_THREADS", "4"))
worker_class = "gthread"
graceful_timeout = int(os.environ.get("GRACEFUL_TIMEOUT", "20"))
timeout = 30
keepalive = 5
accesslog = None  # requests are logged as JSON by the app
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
preload_app = False  # clients (pool, Kafka) are made per worker, after the fork


def child_exit(server, worker):  # type: ignore[no-untyped-def]
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
