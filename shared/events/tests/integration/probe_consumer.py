"""A consumer in its own process for the plumbing tests: records every application it makes.

python probe_consumer.py  (env: DATABASE_URL, KAFKA_BOOTSTRAP_SERVERS, TOPIC_PREFIX, PROBE_TOPIC, PROBE_GROUP)
A TokenRevoked whose reason is "boom" makes the handler fail (a handler bug -> dead letter) unless
PROBE_BUG_FIXED is set (the fix, for the replay test). PROBE_FIRST_COMMITS_FAIL=N: the first N offset commits
meet a Kafka connection error (the broker restarting at that moment).
"""

import os

from servicekit.runners import run_consumer


def handler_factory(_settings):
    def handle(conn, env):
        if env.payload.get("reason") == "boom" and not os.environ.get("PROBE_BUG_FIXED"):
            raise ValueError("handler bug on purpose")
        conn.execute("INSERT INTO applied (event_id, aggregate_id, version) VALUES (%s, %s, %s)",
                     [env.event_id, env.aggregate_id, env.aggregate_version])
        conn.execute(
            "INSERT INTO token_view (token_id, version, revoked) VALUES (%s, %s, %s) "
            "ON CONFLICT (token_id) DO UPDATE SET version = EXCLUDED.version, revoked = EXCLUDED.revoked "
            "WHERE token_view.version < EXCLUDED.version",
            [env.payload["token_id"], env.aggregate_version, env.event_type == "TokenRevoked"])

    return handle


def fail_first_commits(n):
    from shared_events import kafka as kafka_clients

    left = [n]

    class FlakyConsumer(kafka_clients.Consumer):
        def commit(self, *args, **kwargs):
            if left[0] > 0:
                left[0] -= 1
                raise kafka_clients.KafkaException(kafka_clients.KafkaError(
                    kafka_clients.KafkaError._TRANSPORT, "probe: the broker is restarting"))
            return super().commit(*args, **kwargs)

    kafka_clients.Consumer = FlakyConsumer


if __name__ == "__main__":
    if os.environ.get("PROBE_FIRST_COMMITS_FAIL"):
        fail_first_commits(int(os.environ["PROBE_FIRST_COMMITS_FAIL"]))
    run_consumer("probe", [os.environ["PROBE_TOPIC"]], handler_factory, group=os.environ["PROBE_GROUP"])
