"""A request records its decided events through the shared recording step: each event encoded once."""

from collections import Counter

import pytest

from devstack.testing import rows
from shared_events import decode, envelope

pytestmark = pytest.mark.integration


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


def test_a_subscription_created_through_rest_encodes_its_event_once(shop, kit, app, encodes):
    sub = kit.ok(shop.manager.post(f"/shops/{shop.id}/subscriptions", kit.subscription_body(shop)), 201)
    [(event_id, body)] = rows(app.dsn, "SELECT event_id, body FROM event_store WHERE aggregate_id = %s", [sub["id"]])
    assert dict(encodes) == {str(event_id): 1}
    assert decode(bytes(body)).payload["subscription_id"] == sub["id"]


def test_a_new_email_that_ends_the_customers_session_encodes_each_event_once(shop, kit, app, encodes):
    [(before,)] = rows(app.dsn, "SELECT max(position) FROM event_store")
    kit.ok(shop.session.patch(f"/shops/{shop.id}/customers/{shop.customer['id']}",
                              {"email": f"new-{shop.customer['email']}"}))
    stored = rows(app.dsn, "SELECT event_id, event_type FROM event_store WHERE position > %s", [before])
    assert sorted(t for _, t in stored) == ["CustomerUpdated", "TokenRevoked"]  # two aggregates, one request
    assert dict(encodes) == {str(event_id): 1 for event_id, _ in stored}
