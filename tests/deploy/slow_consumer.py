"""A consumer in its own process whose handler is slow, for the graceful shutdown test.

python slow_consumer.py (env: DATABASE_URL, KAFKA_BOOTSTRAP_SERVERS, TOPIC_PREFIX, PROBE_TOPIC, PROBE_GROUP,
PROBE_STARTED_FILE, PROBE_DELAY_S, PROBE_BATCH, WORKER_HTTP_PORT). Before applying an event the handler appends
its event_id to PROBE_STARTED_FILE (outside the batch's transaction), so the test knows which events were in hand
at SIGTERM.
"""

import os
import time

from servicekit import logs
from servicekit.config import Settings
from servicekit.runners import make_consumer
from servicekit.worker import run_worker


def handler_factory(_settings):
    started = open(os.environ["PROBE_STARTED_FILE"], "a", buffering=1)  # noqa: SIM115 - lives as long as the process
    delay = float(os.environ.get("PROBE_DELAY_S", "0.05"))

    def handle(conn, env):
        started.write(f"{env.event_id}\n")
        time.sleep(delay)
        conn.execute("INSERT INTO applied (event_id) VALUES (%s)", [env.event_id])

    return handle


if __name__ == "__main__":  # servicekit.runners.run_consumer, with small batches
    settings = Settings.from_env("probe", 8000)
    logs.configure("probe", settings.log_level)
    consumer = make_consumer(settings, [os.environ["PROBE_TOPIC"]], handler_factory(settings),
                             group=os.environ["PROBE_GROUP"], max_batch=int(os.environ.get("PROBE_BATCH", "500")))
    run_worker(consumer, name="probe.consumer")
