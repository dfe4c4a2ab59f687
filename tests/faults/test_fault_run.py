"""kill -9 of service processes, a Kafka broker crash and a PostgreSQL crash during a whole order cycle
(open, edits, close, charges, emails): afterwards nothing is lost and nothing happened twice.

The short form runs in `make test`; the full forms (`make faults`, marker ``slow``) have 2,000 subscriptions and at
least 20 kills, on one broker and on a three-node Kafka cluster (its busiest leader killed at the open, another
broker stopped at the close; ``-k three`` runs that one alone). Every form runs two members of order-service's and
billing-service's consumer groups, each killed and restarted like any process (one of each on purpose, at the open and
at the close). FAULT_SUBSCRIPTIONS, FAULT_KILLS, FAULT_CONSUMERS (members per group)
and FAULT_SEED override any form; the report is printed and saved in .local/faults/report-<form>.txt.
"""

from __future__ import annotations

import pytest
from fault_run import FaultConfig, FaultRun, save_report

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


def run_and_report(fault_stack, cfg: FaultConfig, capsys) -> None:
    run = FaultRun(fault_stack, cfg)
    try:
        run.run()
    finally:
        run.chaos.stop()
        run.supervisor.stop()
        run.check()
        text = run.report()
        path = save_report(text, cfg.form)
        with capsys.disabled():
            print(text)
            print(f"(saved in {path})")
    failed = [c.name for c in run.checks if not c.ok]
    assert not failed, f"checks that did not hold: {failed}"
    assert cfg.calm or len(run.chaos.kills) >= cfg.min_kills


@pytest.mark.timeout(1500)
def test_a_short_cycle_under_kill_9_and_broker_and_database_crashes_loses_nothing_and_repeats_nothing(
        fault_stack, capsys):
    cfg = FaultConfig.from_env("short", subscriptions=240, min_kills=6, kill_every_s=(8.0, 16.0),
                               consumers_per_group=2)
    run_and_report(fault_stack, cfg, capsys)


@pytest.mark.slow
@pytest.mark.timeout(7200)
def test_two_thousand_subscriptions_through_a_cycle_under_twenty_kills_and_crashes_lose_and_repeat_nothing(
        fault_stack, capsys):
    cfg = FaultConfig.from_env("full", subscriptions=2000, min_kills=24, kill_every_s=(10.0, 25.0),
                               consumers_per_group=2)
    run_and_report(fault_stack, cfg, capsys)


THREE = 3


@pytest.mark.slow
@pytest.mark.timeout(7200)
@pytest.mark.parametrize("fault_stack", [{"kafka_nodes": THREE}], ids=["three-brokers"], indirect=True)
def test_on_three_brokers_a_cycle_with_its_busiest_leader_killed_and_a_broker_stopped_loses_and_repeats_nothing(
        fault_stack, capsys):
    """The full run on a three-node KRaft cluster (topics with 3 replicas, min.insync.replicas 2), two members per
    consumer group as in the other forms: the node leading the busiest partition of the opening burst is killed
    (kill -9) and restarted, another is stopped gracefully during the close and restarted; the report says how long
    the elections, the relays and the consumers waited."""
    cfg = FaultConfig.from_env("three-brokers", subscriptions=2000, min_kills=24, kill_every_s=(10.0, 25.0),
                               kafka_nodes=THREE, kafka_down_s=20.0, consumers_per_group=2)
    run_and_report(fault_stack, cfg, capsys)
