"""The limits of the parts, measured in the same run as the pipeline benchmarks.

- Kafka: confluent-kafka producing then consuming 500-byte messages (idempotent producer, acks=all, as the relay).
- PostgreSQL: inserting 500-byte rows in batches (executemany in a pipeline, and COPY).
- HTTP: Flask + gunicorn "hello" requests/s with the services' gunicorn settings, from a second process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg

from bench import loadgen
from shared_events import kafka as kafka_clients

PAYLOAD = b"x" * 500


def _topic(bootstrap: str, partitions: int = 12) -> str:
    from confluent_kafka.admin import NewTopic

    name = f"bench.raw.{uuid.uuid4().hex[:8]}"
    admin = kafka_clients.admin(bootstrap)
    for future in admin.create_topics([NewTopic(name, partitions, 1)]).values():
        future.result()
    return name


def kafka(bootstrap: str, n: int = 100_000) -> dict[str, Any]:
    """confluent-kafka producing (the platform's producer settings: idempotent, acks=all) then consuming."""
    topic = _topic(bootstrap)
    producer = kafka_clients.producer(bootstrap)
    started = time.perf_counter()
    for i in range(n):
        kafka_clients.send(producer, topic, str(i).encode(), PAYLOAD)
    producer.flush()
    produce_s = time.perf_counter() - started
    consumer = kafka_clients.consumer(f"bench-{uuid.uuid4().hex[:6]}", bootstrap)
    consumer.subscribe([topic])
    got = 0
    started = time.perf_counter()
    while got < n:
        got += len([m for m in consumer.consume(5000, timeout=1.0) if m.error() is None])
    consume_s = time.perf_counter() - started
    consumer.close()
    return {"messages": n, "produce_per_s": round(n / produce_s), "consume_per_s": round(n / consume_s),
            "produce_then_consume_per_s": round(n / (produce_s + consume_s))}


def postgres(dsn: str, n: int = 100_000, batch: int = 1000) -> dict[str, Any]:
    body = "x" * 500
    with psycopg.connect(dsn) as conn:
        conn.execute("CREATE TEMP TABLE bench_rows (id bigint PRIMARY KEY, key text NOT NULL, body text NOT NULL)")
        started = time.perf_counter()
        with conn.cursor() as cur:
            for start in range(0, n, batch):
                cur.executemany("INSERT INTO bench_rows VALUES (%s, %s, %s)",
                                [(i, str(i), body) for i in range(start, start + batch)])
                conn.commit()
        executemany_s = time.perf_counter() - started
        conn.execute("TRUNCATE bench_rows")
        conn.commit()
        started = time.perf_counter()
        with conn.cursor() as cur:
            for start in range(0, n, batch):
                with cur.copy("COPY bench_rows (id, key, body) FROM STDIN") as copy:
                    for i in range(start, start + batch):
                        copy.write_row((i, str(i), body))
                conn.commit()
        copy_s = time.perf_counter() - started
    return {"rows": n, "batch": batch, "executemany_rows_per_s": round(n / executemany_s),
            "copy_rows_per_s": round(n / copy_s)}


def http_hello(port: int, state: Path, duration: float = 10.0, concurrency: int = 32) -> dict[str, Any]:
    env = dict(os.environ, PORT=str(port), PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    log = (state / "hello.log").open("ab")
    proc = subprocess.Popen([gunicorn, "-c", "python:servicekit.gunicorn_conf", "bench.hello_app:create_app()"],
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}/hello"
        deadline = time.monotonic() + 30
        import urllib.request

        while True:
            try:
                urllib.request.urlopen(url, timeout=1).read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        res = loadgen.run("closed", lambda i: ("GET", url, {}, None), concurrency=concurrency, duration=duration)
        return {"requests_per_s": round(res.rate), "p50_ms": round(res.percentile(50), 2),
                "p99_ms": round(res.percentile(99), 2), "errors": res.errors}
    finally:
        proc.terminate()
        proc.wait(timeout=30)
