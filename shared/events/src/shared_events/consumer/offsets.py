"""Where Kafka resumes: offsets committed after the batch's PostgreSQL commit, partitions paused for an event that
must wait (RetryLater), batches rewound after a transient error."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any

from shared_events.kafka import KafkaError, KafkaException, TopicPartition

log = logging.getLogger("shared_events.consumer")

# a commit refused because the group rebalanced: the partitions' next owner redelivers from the last commit
REBALANCED = frozenset({KafkaError.REBALANCE_IN_PROGRESS, KafkaError.ILLEGAL_GENERATION,
                        KafkaError.UNKNOWN_MEMBER_ID, KafkaError._ASSIGNMENT_LOST})


class Offsets:
    """The offsets of one Kafka consumer (librdkafka's, auto-commit off)."""

    def __init__(self, consumer: Any, pause_s: float) -> None:
        self.consumer = consumer
        self.pause_s = pause_s  # how long a partition with a waiting event is paused
        self._paused_until: dict[TopicPartition, float] = {}
        # offsets whose commit failed because Kafka could not be reached: committed again at the next polls, empty
        # ones included (else a partition whose last batch met a broker outage shows a lag until new records come)
        self._uncommitted: dict[TopicPartition, Any] = {}
        self._commit_retry_at = 0.0

    def batch_done(self, records: Iterable[Any], blocked: set[TopicPartition]) -> None:
        """Commit past every record of the batch, except on a ``blocked`` partition: there, up to its first record
        of the batch (the waiting event), from which it is redelivered after a pause."""
        offsets: dict[TopicPartition, int] = {}
        first_blocked: dict[TopicPartition, int] = {}
        for rec in records:
            tp = TopicPartition(rec.topic, rec.partition)
            if tp in blocked:
                first_blocked.setdefault(tp, rec.offset)
                continue
            offsets[tp] = rec.offset + 1
        for tp, offset in first_blocked.items():
            # everything before the waiting event is done; redeliver from it after a pause
            offsets[tp] = offset
            self.consumer.seek(TopicPartition(tp.topic, tp.partition, offset))
            self.consumer.pause([tp])
            self._paused_until[tp] = time.monotonic() + self.pause_s
        self.commit(offsets)

    def idle(self) -> None:
        """A poll brought nothing: commit what an earlier commit could not, when it is time to try again."""
        if self._uncommitted and time.monotonic() >= self._commit_retry_at:
            self.commit({})

    def commit(self, offsets: dict[TopicPartition, int]) -> None:
        """Commit these offsets and any left over from a commit that could not reach Kafka.

        A rebalance (REBALANCED) drops them: the partitions' next owner redelivers from the last commit and the
        inbox drops the copies. Any other Kafka error (the broker restarting, the coordinator moving) keeps them
        for the next poll, so that a partition that receives nothing more still ends up committed."""
        pending = {**self._uncommitted, **offsets}
        assigned = set(self.consumer.assignment())
        pending = {tp: offset for tp, offset in pending.items() if tp in assigned}
        self._uncommitted = {}
        if not pending:
            return
        try:
            answered = self.consumer.commit(
                offsets=[TopicPartition(tp.topic, tp.partition, offset) for tp, offset in pending.items()],
                asynchronous=False)
            refused = [tp.error for tp in answered or [] if tp.error is not None]
            if refused:
                raise KafkaException(refused[0])
        except KafkaException as exc:
            if exc.args[0].code() in REBALANCED:
                log.info("offset commit skipped: the group rebalanced", extra={"error": str(exc)})
                return
            self._uncommitted = pending
            self._commit_retry_at = time.monotonic() + 1.0
            log.warning("offset commit failed, trying again at the next poll", extra={"error": str(exc)})

    def resume_due_partitions(self) -> None:
        now = time.monotonic()
        for tp, until in list(self._paused_until.items()):
            if until <= now:
                del self._paused_until[tp]
                try:
                    self.consumer.resume([tp])
                except KafkaException:
                    pass  # revoked meanwhile

    def rewind(self, records: Iterable[Any]) -> None:
        """Seek each partition back to its first record of the batch (redelivered after a transient error)."""
        first: dict[TopicPartition, int] = {}
        for rec in records:
            first.setdefault(TopicPartition(rec.topic, rec.partition), rec.offset)
        for tp, offset in first.items():
            try:
                self.consumer.seek(TopicPartition(tp.topic, tp.partition, offset))
            except KafkaException:
                pass  # no longer assigned to us
