"""A/B of the rebuild rates on the same data: an older checkout of the code (a git worktree, through PYTHONPATH)
and this one, in turn and twice each, on one bench stack seeded by the burst section (subscriptions: N).

    git worktree add /tmp/old <rev> && python bench/rebuild_ab.py /tmp/old 30000
"""
import argparse
import os
import sys

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1]))
from bench import pipeline
from bench.__main__ import bench_stack
from bench.report import Report

TREE = sys.argv[1]
N = int(sys.argv[2]) if len(sys.argv) > 2 else 30000
args = argparse.Namespace(only="burst,rebuild", subscriptions=N, messages=100000, payments=2000, stripe_rate=25.0,
                          http_seconds=10.0, burst_timeout=1800.0, rest_rate=200.0, rest_seconds=15.0,
                          rest_orders=200, rebuild_timeout=3600.0, keep=False)
OLD = ":".join(f"{TREE}/{p}/src" for p in (
    "shared/events", "shared/servicekit", "services/subscription-service", "services/scheduler-service",
    "services/order-service", "services/billing-service"))
stack = bench_stack()
stack.up()
try:
    report = Report()
    pipeline.run_burst(stack, report, args)
    for label, path in (("before", OLD), ("after (HEAD)", None), ("before again", OLD),
                        ("after again", None)):
        if path:
            os.environ["PYTHONPATH"] = path
        else:
            os.environ.pop("PYTHONPATH", None)
        r = Report()
        pipeline.run_rebuild(stack, r, args)
        for row in r.rows:
            print(label, "|", " | ".join(str(x) for x in row.values()) if isinstance(row, dict) else row, flush=True)
finally:
    stack.down()
