"""The projections do not depend on how events of different aggregates interleave (a rebuild merges topics by
time, and events published in the same millisecond may come back in any order): replaying this service's own
events in shuffled cross-aggregate orders (each aggregate's own order kept) gives the live rows."""

import random
from collections import defaultdict

import psycopg
import pytest
from psycopg import sql

from servicekit.db import migrate
from shared_events import decode
from shared_events.rebuild import diff_tables
from subscription_service.adapters.projections import apply
from subscription_service.config import MIGRATIONS_DIR

pytestmark = pytest.mark.integration

OWN_TABLES = ["api_tokens", "shops", "shop_methods", "customers", "order_cycles", "schedules", "subscriptions",
              "occurrence_skips"]


def shuffled(events, seed):
    """A random interleaving of the aggregates' streams, each stream in its own order."""
    streams = defaultdict(list)
    for env in events:
        streams[(env.topic_family, env.aggregate_id)].append(env)
    queues = list(streams.values())
    rng, out = random.Random(seed), []
    while queues:
        q = rng.choice(queues)
        out.append(q.pop(0))
        if not q:
            queues.remove(q)
    return out


def test_replaying_own_events_in_any_cross_aggregate_order_gives_the_live_rows(shop, other_shop, kit, app):
    m = shop.manager
    for n in range(3):  # emails freed and taken again, by other customers
        c = kit.ok(m.post(f"/shops/{shop.id}/customers", {"email": "reused@example.org", "first_name": "R",
                                                          "last_name": str(n)}), 201)
        assert m.delete(f"/shops/{shop.id}/customers/{c['id']}").status_code == 204
    sub = kit.ok(m.post(f"/shops/{shop.id}/subscriptions", kit.subscription_body(shop)), 201)
    url = f"/shops/{shop.id}/subscriptions/{sub['id']}"
    kit.ok(m.post(f"{url}/occurrences/{shop.cycles[2]['id']}/skip"))
    kit.ok(m.patch(url, {"items": [{"variant_id": "veg-box", "quantity": 3}]}))
    kit.ok(m.post(f"{url}/pause", {}))
    kit.ok(m.patch(f"/shops/{shop.id}/schedules/{shop.schedule['id']}", {"remove": [shop.cycles[5]["id"]]}))
    assert m.delete(f"/shops/{shop.id}/order-cycles/{shop.cycles[5]['id']}").status_code == 204
    kit.ok(m.patch(f"/shops/{shop.id}/shipping-methods/{shop.ship['id']}", {"fee_flat": 650}))
    with psycopg.connect(app.dsn) as conn:
        events = [decode(bytes(b)) for (b,) in conn.execute("SELECT body FROM event_store ORDER BY position")]
        for seed in range(4):
            scratch = f"shuffled_{seed}"
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(scratch)))
            conn.execute(sql.SQL("SET search_path TO {}, public").format(sql.Identifier(scratch)))
            migrate(conn, MIGRATIONS_DIR)
            for env in shuffled(events, seed):
                with conn.transaction():
                    apply(conn, env)
            conn.execute("SET search_path TO public")
            differences = {t: diff_tables(conn, "public", scratch, t, []) for t in OWN_TABLES}
            assert differences == {t: 0 for t in OWN_TABLES}, (seed, differences)
        conn.rollback()

