"""Consumer runner: Kafka's at-least-once delivery turned into exactly-once effect.

For each polled batch, in ONE PostgreSQL transaction: every new event is applied by the handler and recorded in
``inbox`` (consumer, event_id); an event already in ``inbox`` is skipped. Kafka offsets are committed only after
that transaction commits, so a crash anywhere means redelivery, and redelivery means a skip.

The inbox's ``consumer`` is the service (``name``), not the Kafka consumer group (``group``): the group only says
where Kafka resumes. A new group (a blue/green switch, offsets lost or reset) reads every topic from the start, and
the inbox skips every event the service has already applied, so no reaction (an email, an event, a stock movement,
a charge) is decided twice.

- A poll is cut into runs of consecutive events applied together in one savepoint: events whose type has a
  ``bulk`` handler (a set-based handler of many events, e.g. a cycle's 100,000 OrderDue) by that handler, any
  other by the handler, one after the other. If a run fails in any way, it is rolled back and its events are
  applied one by one, each in its own savepoint, which isolates the faulty one.
- Poison messages (undecodable, unknown type, a handler bug, a domain error) go to ``<topic>.dlq`` with the
  error and the original bytes, are recorded as dead-lettered, and the consumer goes on.
- Transient trouble (PostgreSQL unreachable, serialization failure, deadlock) rolls the batch back and
  redelivers it after a backoff.
- ``RetryLater`` from a handler (the event depends on another one that has not arrived yet, e.g. an OrderDue
  before its SubscriptionCreated) pauses that partition briefly and redelivers from that event; after
  ``retry_later_max_s`` it is dead-lettered instead, so a partition can never stall for ever. ``waited_s()``
  tells a handler how long the event it is applying has waited so.
- SIGTERM (stop()): the batch in hand is finished and committed, then the consumer leaves its group.

Modules: ``running`` (the loop and the apply paths), ``inbox`` (what was applied), ``dead_letters``,
``offsets`` (offset commits, pauses, rewinds).
"""

from shared_events.consumer.dead_letters import REPLAY_HEADER
from shared_events.consumer.inbox import InboxRace, synthetic_event_id
from shared_events.consumer.offsets import REBALANCED
from shared_events.consumer.running import (
    TRANSIENT_ERRORS,
    BulkHandler,
    ConsumerStats,
    EventConsumer,
    Handler,
    RetryLater,
    dispatch,
    waited_s,
)

__all__ = ["REBALANCED", "REPLAY_HEADER", "TRANSIENT_ERRORS", "BulkHandler", "ConsumerStats", "EventConsumer",
           "Handler", "InboxRace", "RetryLater", "dispatch", "synthetic_event_id", "waited_s"]
