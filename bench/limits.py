"""The limits of the parts, measured in the same run as the pipeline benchmarks.

- Kafka: kafka-python producing then consuming 500-byte messages (idempotent producer, acks=all, as the relay),
  and the same with confluent-kafka for comparison when it is installed.
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
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic

from bench import loadgen

PAYLOAD = b"x" * 500


def _topic(bootstrap: str, partitions: int = 12) -> str:
    name = f"bench.raw.{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic(name, partitions, 1)])
    admin.close()
    return name


def kafka_python(bootstrap: str, n: int = 100_000) -> dict[str, Any]:
    topic = _topic(bootstrap)
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5,
                             batch_size=256 * 1024)
    started = time.perf_counter()
    for i in range(n):
        producer.send(topic, key=str(i).encode(), value=PAYLOAD)
    producer.flush()
    produce_s = time.perf_counter() - started
    producer.close()
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, max_poll_records=5000,
                             fetch_max_bytes=64 * 1024 * 1024)
    parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
    consumer.assign(parts)
    consumer.seek_to_beginning(*parts)
    got = 0
    started = time.perf_counter()
    while got < n:
        for recs in consumer.poll(timeout_ms=1000).values():
            got += len(recs)
    consume_s = time.perf_counter() - started
    consumer.close()
    return {"messages": n, "produce_per_s": round(n / produce_s), "consume_per_s": round(n / consume_s),
            "produce_then_consume_per_s": round(n / (produce_s + consume_s))}


def confluent(bootstrap: str, n: int = 100_000) -> dict[str, Any] | None:
    try:
        from confluent_kafka import Consumer, Producer
    except ImportError:
        return None
    topic = _topic(bootstrap)
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all",
                         "linger.ms": 5})
    started = time.perf_counter()
    for i in range(n):
        while True:
            try:
                producer.produce(topic, key=str(i).encode(), value=PAYLOAD)
                break
            except BufferError:
                producer.poll(0.01)
    producer.flush()
    produce_s = time.perf_counter() - started
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-{uuid.uuid4().hex[:6]}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
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
