"""make bench: python -m bench [--only limits,burst,...] [--subscriptions N]

Starts its own infrastructure (PostgreSQL, Kafka, localstripe, SMTP sink on free ports under .local/bench),
runs each benchmark, prints a table and writes bench/results/{results.json,results.md,*.png}.
Nothing here fails: these are measurements.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import traceback
import uuid
from pathlib import Path

from bench import limits
from bench.report import Report
from devstack.procs import free_port
from devstack.stack import SERVICES, Stack, StackConfig, repo_root

SECTIONS = ["limits", "burst", "billing", "rest", "rebuild", "web", "consumers"]


def bench_stack() -> Stack:
    base = repo_root() / ".local" / "bench"
    base.mkdir(parents=True, exist_ok=True)
    state = Path(tempfile.mkdtemp(prefix="run-", dir=base))
    state.chmod(0o755)
    cfg = StackConfig(state=state, pg_port=free_port(), kafka_port=free_port(), kafka_controller_port=free_port(),
                      stripe_port=free_port(), smtp_port=free_port(), smtp_http_port=free_port(),
                      db_prefix=f"b{uuid.uuid4().hex[:6]}_", topic_prefix=f"b{uuid.uuid4().hex[:6]}.",
                      admin_token="rop_bench_admin_" + uuid.uuid4().hex, test_clock=True, pg_fast=False,
                      stripe_persist=False, service_ports={s.name: free_port() for s in SERVICES}, web_port=free_port(),
                      external_db=None, external_kafka=None, external_stripe=None)
    return Stack(cfg)


def run_limits(stack: Stack, report: Report, args: argparse.Namespace) -> None:
    kp = limits.kafka(stack.bootstrap, args.messages)
    report.detail("kafka", kp)
    report.add("limits", "Kafka produce (confluent-kafka, 500 B, acks=all, idempotent)", kp["produce_per_s"], "msg/s")
    report.add("limits", "Kafka consume", kp["consume_per_s"], "msg/s")
    report.add("limits", "Kafka produce+consume", kp["produce_then_consume_per_s"], "msg/s")
    pg = limits.postgres(stack.db_url("subscriptions"), args.messages)
    report.detail("postgres", pg)
    report.add("limits", "PostgreSQL insert, executemany batches of 1000", pg["executemany_rows_per_s"], "rows/s")
    report.add("limits", "PostgreSQL insert, COPY batches of 1000", pg["copy_rows_per_s"], "rows/s")
    http = limits.http_hello(free_port(), stack.cfg.state, duration=args.http_seconds)
    report.detail("http_hello", http)
    report.add("limits", "Flask+gunicorn hello (2 workers x 4 threads, 32 conns)", http["requests_per_s"], "req/s",
               note=f"p50 {http['p50_ms']} ms, p99 {http['p99_ms']} ms")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma list of {SECTIONS}")
    parser.add_argument("--subscriptions", type=int, default=100_000)
    parser.add_argument("--substituted", type=float, default=0.10,
                        help="share of the burst's order lines placed as substitutes (their product out of stock)")
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--payments", type=int, default=2_000)
    parser.add_argument("--stripe-rate", type=float, default=25.0)
    parser.add_argument("--http-seconds", type=float, default=10.0)
    parser.add_argument("--burst-timeout", type=float, default=1800.0, help="seconds to wait for the open/close")
    parser.add_argument("--rest-rate", type=float, default=200.0, help="offered requests/s per REST route")
    parser.add_argument("--rest-seconds", type=float, default=15.0, help="seconds of load per REST route")
    parser.add_argument("--rest-orders", type=int, default=200, help="orders of the REST shop")
    parser.add_argument("--rebuild-timeout", type=float, default=3600.0)
    parser.add_argument("--web-subscriptions", type=int, default=10_000, help="subscriptions of the web section's shop")
    parser.add_argument("--web-requests", type=int, default=100, help="requests per page in the web section")
    parser.add_argument("--web-parts", default="customer,reports,console",
                        help="comma list of the web section's parts: customer (the customer's pages), reports "
                             "(the console's reports of the cycle), console (the console's lists and settings)")
    parser.add_argument("--web-file-requests", type=int, default=10, help="downloads of each CSV in the web section")
    parser.add_argument("--order-consumers", default="1,2",
                        help="section consumers: the cycle's open with each of these counts of order-service "
                             "consumer processes in its group, each on a world of its own")
    parser.add_argument("--keep", action="store_true", help="leave the bench stack running")
    args = parser.parse_args()
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    report = Report()
    report.detail("command", " ".join(["python -m bench", *sys.argv[1:]]))
    report.detail("load_average_at_start", os.getloadavg())
    stack = bench_stack()
    started = time.monotonic()
    try:
        stack.up()
        for section in only:
            fn = globals().get(f"run_{section}")
            if fn is None:
                from bench import consumers, pipeline, web

                fn = next((f for m in (pipeline, web, consumers) if (f := getattr(m, f"run_{section}", None))), None)
            if fn is None:
                print(f"unknown section {section}", file=sys.stderr)
                continue
            print(f"== {section} (load average {os.getloadavg()[0]:.2f})", flush=True)
            try:
                fn(stack, report, args)
            except Exception as exc:
                traceback.print_exc()
                report.add(section, "FAILED", type(exc).__name__, note=str(exc)[:200])
    finally:
        report.detail("total_seconds", round(time.monotonic() - started, 1))
        report.detail("load_average_at_end", os.getloadavg())
        if not args.keep:
            stack.down()
            shutil.rmtree(stack.cfg.state, ignore_errors=True)
    report.print()
    out = report.write()
    print(f"results written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
