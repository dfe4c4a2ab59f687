"""The platform's published language and event plumbing.

- ``envelope``: the one envelope every event travels in, encode/decode.
- ``registry``: event types, their payload schemas per version, upcasters.
- ``contracts``: one module per producing family (the public API of our events).
- ``topics``: topic names, partitions and configs; creates/validates them.
- ``decided``: what a domain decision returns (``Decided``), numbered into envelopes.
- ``recording``: record decided events: projection and outbox, in the caller's transaction, encoded once.
- ``outbox``/``relay``: transactional outbox and the process that publishes it.
- ``consumer``: at-least-once delivery made exactly-once in effect, with dead letters.
- ``rebuild``: replay topics from offset 0 into a projection.
"""

from shared_events.decided import Decided
from shared_events.envelope import Envelope, decode, encode, new_envelope
from shared_events.registry import REGISTRY, DecodeError

__all__ = ["REGISTRY", "Decided", "DecodeError", "Envelope", "decode", "encode", "new_envelope"]

import shared_events.contracts  # noqa: F401  (registers every event type)
