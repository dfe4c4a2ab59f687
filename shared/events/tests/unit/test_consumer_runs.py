"""The consumer's split of a poll into runs applied together: by a bulk handler, by the handler, or (records that
do not decode) one by one. Moved here with the split from order-service's consumer, which had its own."""

from types import SimpleNamespace

from shared_events import Envelope, encode
from shared_events.consumer import EventConsumer
from shared_events.consumer.running import _EACH, _PLAIN, _read
from shared_events.examples import EXAMPLES


def record(event_type, offset):
    raw = encode(Envelope(event_type=event_type, aggregate_id="a", aggregate_version=1,
                          payload=EXAMPLES[event_type], producer="test"))
    return SimpleNamespace(topic="scheduler.events", partition=0, offset=offset, value=raw, headers=None)


def dues_in_bulk(_conn, _envs):
    pass


def runs_of(records, bulk):
    consumer = EventConsumer("postgresql://unused", "test", ["scheduler.events"], lambda c, e: None, bulk=bulk)
    return [(how, [i.rec.offset for i in run]) for how, run in consumer._runs([_read(r) for r in records])]


def test_a_poll_is_cut_into_consecutive_runs_in_order_and_nothing_is_lost():
    kinds = ["OrderDue", "OrderDue", "OrderCycleOpened", "OrderDue", "OrderCycleClosed", "OrderCycleClosed"]
    records = [record(k, i) for i, k in enumerate(kinds)]
    assert runs_of(records, {"OrderDue": dues_in_bulk}) == [
        (dues_in_bulk, [0, 1]), (_PLAIN, [2]), (dues_in_bulk, [3]), (_PLAIN, [4, 5])]


def test_types_sharing_a_bulk_handler_share_a_run_and_without_bulk_a_poll_is_one_run():
    kinds = ["OrderDue", "OrderDueMissed", "OrderDue", "OrderCycleOpened"]
    records = [record(k, i) for i, k in enumerate(kinds)]
    assert runs_of(records, {"OrderDue": dues_in_bulk, "OrderDueMissed": dues_in_bulk}) == [
        (dues_in_bulk, [0, 1, 2]), (_PLAIN, [3])]
    assert runs_of(records, None) == [(_PLAIN, [0, 1, 2, 3])]


def test_a_record_without_a_value_is_never_taken_for_a_due():
    tomb = SimpleNamespace(topic="scheduler.events", partition=0, offset=9, value=None, headers=None)
    assert runs_of([record("OrderDue", 8), tomb], {"OrderDue": dues_in_bulk}) == [
        (dues_in_bulk, [8]), (_EACH, [9])]
