"""The shared recording step against real PostgreSQL: each decided event applied (in the form the outbox stores)
and appended in the caller's transaction, encoded once."""

import uuid
from collections import Counter
from datetime import UTC, datetime

import psycopg
import pytest

from shared_events import Decided, decode, envelope, recording
from shared_events.decided import envelopes
from shared_events.examples import EXAMPLES
from shared_events.outbox import ConcurrencyError

pytestmark = pytest.mark.integration

NOW = datetime(2026, 3, 16, 10, 0, tzinfo=UTC)


@pytest.fixture
def conn(probe_db):
    dsn, _ = probe_db
    with psycopg.connect(dsn) as c:
        yield c


@pytest.fixture
def encodes(monkeypatch):
    """The event ids each encode was for, counted at the codec's entry (``envelope.to_wire``)."""
    seen: Counter[str] = Counter()
    real = envelope.to_wire

    def counting(env):
        seen[env.event_id] += 1
        return real(env)

    monkeypatch.setattr(envelope, "to_wire", counting)
    return seen


def issued_then_revoked(token_id):
    return [Decided("TokenIssued", dict(EXAMPLES["TokenIssued"], token_id=token_id)),
            Decided("TokenRevoked", dict(EXAMPLES["TokenRevoked"], token_id=token_id))]


def stored_bodies(conn, aggregate_id):
    return [bytes(b) for (b,) in conn.execute(
        "SELECT body FROM event_store WHERE aggregate_id = %s ORDER BY aggregate_version", [aggregate_id])]


def test_recorded_events_are_encoded_once_and_applied_as_the_outbox_stores_them(conn, encodes):
    token_id = str(uuid.uuid4())
    envs = envelopes(issued_then_revoked(token_id), token_id, 0, producer="test", shop_id=None, occurred_at=NOW)
    applied = []
    with conn.transaction():
        recording.record(conn, envs, lambda _c, env: applied.append(env))
    assert dict(encodes) == {e.event_id: 1 for e in envs}
    assert [(e.aggregate_version, e.event_type) for e in envs] == [(1, "TokenIssued"), (2, "TokenRevoked")]
    assert applied == [decode(body) for body in stored_bodies(conn, token_id)]


def test_a_stale_version_records_nothing(conn):
    token_id = str(uuid.uuid4())
    first = envelopes(issued_then_revoked(token_id)[:1], token_id, 0, producer="test", shop_id=None, occurred_at=NOW)
    recording.record(conn, first, lambda c, env: c.execute(
        "INSERT INTO token_view VALUES (%s, %s, false)", [env.aggregate_id, env.aggregate_version]))
    again = envelopes(issued_then_revoked(token_id)[1:], token_id, 0, producer="test", shop_id=None,
                      occurred_at=NOW)
    with pytest.raises(ConcurrencyError), conn.transaction():
        recording.record(conn, again, lambda c, env: c.execute(
            "UPDATE token_view SET revoked = true WHERE token_id = %s", [env.aggregate_id]))
    assert conn.execute("SELECT version, revoked FROM token_view WHERE token_id = %s", [token_id]).fetchall() == [
        (1, False)]
    assert [decode(b).event_type for b in stored_bodies(conn, token_id)] == ["TokenIssued"]


def test_record_new_skips_and_does_not_apply_a_key_already_stored(conn, encodes):
    token_id = str(uuid.uuid4())
    envs = envelopes(issued_then_revoked(token_id), token_id, 0, producer="test", shop_id=None, occurred_at=NOW)
    applied = []
    recording.record_new(conn, envs[:1], lambda _c, env: applied.append(env))
    stored = recording.record_new(conn, envs, lambda _c, env: applied.append(env))
    assert stored == envs[1:]
    assert [e.event_id for e in applied] == [e.event_id for e in envs]
    assert applied == [decode(body) for body in stored_bodies(conn, token_id)]


def test_as_built_the_projector_gets_the_envelopes_themselves_still_encoded_once(conn, encodes):
    token_id = str(uuid.uuid4())
    envs = envelopes(issued_then_revoked(token_id), token_id, 0, producer="test", shop_id=None, occurred_at=NOW)
    applied = []
    recording.record(conn, envs, lambda _c, env: applied.append(env), as_stored=False)
    assert all(a is e for a, e in zip(applied, envs, strict=True)) and len(applied) == 2
    assert dict(encodes) == {e.event_id: 1 for e in envs}
    assert [decode(body).event_id for body in stored_bodies(conn, token_id)] == [e.event_id for e in envs]
