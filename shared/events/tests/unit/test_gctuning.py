"""The collector's thresholds for batch processes."""

import gc

from shared_events import gctuning


def test_batch_thresholds_hold_for_the_block_only_and_cycles_are_still_collected():
    before = gc.get_threshold()
    collected = []

    class Node:
        def __del__(self):
            collected.append(1)

    with gctuning.batch_thresholds():
        assert gc.get_threshold() == gctuning.BATCH_THRESHOLDS
        counts = gc.get_count()[0]
        for _ in range(1000):  # more than the default 700 net allocations: no young collection started
            a, b = Node(), Node()
            a.other, b.other = b, a
        assert gc.get_count()[0] > counts + 700
        del a, b
        gc.collect()
        assert len(collected) == 2000  # garbage in cycles is collected when a collection comes
    assert gc.get_threshold() == before


def test_a_worker_freezes_what_start_up_made_and_keeps_the_batch_thresholds():
    before = gc.get_threshold()
    try:
        gctuning.for_batches()
        assert gc.get_threshold() == gctuning.BATCH_THRESHOLDS
        assert gc.get_freeze_count() > 1000  # the modules and objects loaded so far
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
