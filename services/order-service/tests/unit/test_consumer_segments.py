"""The consumer's split of a poll into runs of OrderDue (applied in bulk) and runs of anything else."""

from types import SimpleNamespace

from order_service.entrypoints.consumer import _segments
from shared_events import Envelope, encode
from shared_events.examples import EXAMPLES


def record(event_type, offset):
    raw = encode(Envelope(event_type=event_type, aggregate_id="a", aggregate_version=1,
                          payload=EXAMPLES[event_type], producer="test"))
    return SimpleNamespace(topic="scheduler.events", partition=0, offset=offset, value=raw)


def test_a_poll_is_cut_into_consecutive_runs_in_order_and_nothing_is_lost():
    kinds = ["OrderDue", "OrderDue", "OrderCycleOpened", "OrderDue", "OrderCycleClosed", "OrderCycleClosed"]
    records = [record(k, i) for i, k in enumerate(kinds)]
    segments = list(_segments(records))
    assert [(bulk, [r.offset for r in run]) for bulk, run in segments] == [
        (True, [0, 1]), (False, [2]), (True, [3]), (False, [4, 5])]


def test_a_record_without_a_value_is_never_taken_for_a_due():
    tomb = SimpleNamespace(topic="scheduler.events", partition=0, offset=9, value=None)
    assert list(_segments([tomb])) == [(False, [tomb])]
