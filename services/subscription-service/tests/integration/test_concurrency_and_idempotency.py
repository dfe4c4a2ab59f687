"""Two writers never both win; a retried create returns the first response."""

import psycopg
import pytest

from devstack.testing import race as run_together
from devstack.testing import scalar

pytestmark = pytest.mark.integration


def race(app, kit, token, requests):
    """Send the requests at the same moment from separate clients; return the responses in order."""
    clients = [kit.Client(app, token) for _ in requests]
    return run_together([lambda c=c, r=r: c.call(r[0], r[1], r[2], headers=r[3]) for c, r in zip(clients, requests)])


def test_two_parallel_updates_with_the_same_if_match_exactly_one_wins(shop, kit, app):
    for _ in range(5):
        sub = kit.ok(shop.manager.post(f"/shops/{shop.id}/subscriptions", kit.subscription_body(shop)), 201)
        url = f"/shops/{shop.id}/subscriptions/{sub['id']}"
        responses = race(app, kit, shop.manager.token, [
            ("PATCH", url, {"items": [{"variant_id": "eggs-6", "quantity": q}]}, {"If-Match": '"1"'})
            for q in (3, 4)])
        codes = sorted(r.status_code for r in responses)
        assert codes[0] == 200 and codes[1] in (409, 412), codes
        winner = next(r for r in responses if r.status_code == 200).get_json()
        final = kit.ok(shop.manager.get(url))
        assert final["version"] == 2 and final["items"] == winner["items"]
        assert scalar(app.dsn, "SELECT count(*) FROM event_store WHERE aggregate_id = %s", [sub["id"]]) == 2


def test_parallel_pause_and_cancel_with_the_same_etag_never_both_apply(shop, kit, app):
    sub = kit.ok(shop.manager.post(f"/shops/{shop.id}/subscriptions", kit.subscription_body(shop)), 201)
    url = f"/shops/{shop.id}/subscriptions/{sub['id']}"
    responses = race(app, kit, shop.manager.token, [("POST", f"{url}/pause", {}, {"If-Match": '"1"'}),
                                                    ("POST", f"{url}/cancel", {}, {"If-Match": '"1"'})])
    assert sorted(r.status_code for r in responses)[0] == 200
    assert sum(r.status_code == 200 for r in responses) == 1
    assert kit.ok(shop.manager.get(url))["version"] == 2


def test_parallel_writers_without_if_match_are_serialised_and_nothing_is_lost(shop, kit, app):
    sub = kit.ok(shop.manager.post(f"/shops/{shop.id}/subscriptions", kit.subscription_body(shop)), 201)
    base = f"/shops/{shop.id}/subscriptions/{sub['id']}/occurrences"
    responses = race(app, kit, shop.manager.token, [("POST", f"{base}/{c['id']}/skip", None, None)
                                                    for c in shop.cycles[:4]])
    assert [r.status_code for r in responses] == [200] * 4
    final = kit.ok(shop.manager.get(f"/shops/{shop.id}/subscriptions/{sub['id']}"))
    assert final["version"] == 5 and set(final["skipped_order_cycle_ids"]) == {c["id"] for c in shop.cycles[:4]}


def test_two_customers_with_the_same_email_created_at_once_only_one_exists(shop, kit, app):
    path = f"/shops/{shop.id}/customers"
    for n in range(5):
        body = {"email": f"twin{n}@example.org", "first_name": "T", "last_name": "W"}
        responses = race(app, kit, shop.manager.token, [("POST", path, body, None), ("POST", path, body, None)])
        assert sorted(r.status_code for r in responses) == [201, 409]
    assert scalar(app.dsn, "SELECT count(*) FROM customers WHERE email LIKE 'twin%%'") == 5


def test_a_retried_create_with_the_same_idempotency_key_returns_the_first_response(shop, kit, app):
    path = f"/shops/{shop.id}/subscriptions"
    body = kit.subscription_body(shop)
    first = shop.manager.post(path, body, headers={"Idempotency-Key": "create-sub-1"})
    again = shop.manager.post(path, body, headers={"Idempotency-Key": "create-sub-1"})
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json() and again.headers["ETag"] == first.headers["ETag"]
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert scalar(app.dsn, "SELECT count(*) FROM subscriptions") == 1
    assert scalar(app.dsn, "SELECT count(*) FROM event_store WHERE event_type = 'SubscriptionCreated'") == 1
    other = shop.manager.post(path, {**body, "ends_at": None}, headers={"Idempotency-Key": "create-sub-1"})
    assert other.status_code == 422
    assert shop.manager.post(path, body, headers={"Idempotency-Key": "k" * 201}).status_code == 422
    assert shop.manager.post(path, body, headers={"Idempotency-Key": "nul\x00key"}).status_code == 422


def test_parallel_retries_with_one_idempotency_key_create_once(shop, kit, app):
    path = f"/shops/{shop.id}/customers"
    body = {"email": "once@example.org", "first_name": "O", "last_name": "N"}
    responses = race(app, kit, shop.manager.token, [("POST", path, body, {"Idempotency-Key": "cust-once"})] * 3)
    assert [r.status_code for r in responses] == [201] * 3
    assert len({r.get_json()["id"] for r in responses}) == 1
    assert scalar(app.dsn, "SELECT count(*) FROM customers WHERE email = 'once@example.org'") == 1


def test_a_failed_create_is_not_remembered_under_its_key(shop, kit):
    path = f"/shops/{shop.id}/customers"
    bad = shop.manager.post(path, {"email": "nope"}, headers={"Idempotency-Key": "k-1"})
    assert bad.status_code == 422
    good = shop.manager.post(path, {"email": "fine@example.org", "first_name": "F", "last_name": "I"},
                             headers={"Idempotency-Key": "k-1"})
    assert good.status_code == 201


def _ranks(dsn, subscription_ids):
    bodies = {r: scalar(dsn, "SELECT convert_from(body, 'UTF8')::jsonb -> 'payload' ->> 'sequence' FROM event_store "
                             "WHERE aggregate_id = %s AND event_type = 'SubscriptionCreated'", [r])
              for r in subscription_ids}
    return {k: int(v) for k, v in bodies.items()}


def test_parallel_creates_in_one_shop_get_distinct_increasing_ranks(shop, kit, app):
    """SubscriptionCreated.sequence is the first-come-first-served rank stock is allocated by: parallel creates
    each get their own, and a create that starts after others finished ranks after all of them."""
    responses = race(app, kit, shop.manager.token, [
        ("POST", f"/shops/{shop.id}/subscriptions", kit.subscription_body(shop), None) for _ in range(6)])
    assert [r.status_code for r in responses] == [201] * 6
    first = _ranks(app.dsn, [r.get_json()["id"] for r in responses])
    assert len(set(first.values())) == 6 and min(first.values()) >= 1
    later = kit.ok(shop.manager.post(f"/shops/{shop.id}/subscriptions", kit.subscription_body(shop)), 201)
    assert _ranks(app.dsn, [later["id"]])[later["id"]] > max(first.values())


def test_the_rules_reads_hold_the_customer_and_schedule_until_the_subscription_is_written(shop, app):
    """The one statement that reads a create's shop, customer, schedule and variants share-locks the customer and
    the schedule: a delete, which locks either row for update first, waits for the create's transaction and then
    sees its subscription. Neither row is locked by the read of a missing one."""
    from subscription_service.adapters import repository as repo

    with psycopg.connect(app.dsn) as creating, psycopg.connect(app.dsn) as deleting:
        refs = repo.references(creating, shop.id, shop.customer["id"], shop.schedule["id"], ["eggs-6", "nope"],
                               rank=True)
        assert refs is not None and refs.customer is not None and refs.schedule is not None
        assert refs.customer.customer_id == shop.customer["id"] and refs.schedule.schedule_id == shop.schedule["id"]
        assert set(refs.variants) == {"eggs-6"} and refs.rank is not None
        deleting.execute("SET lock_timeout = '200ms'")
        deleting.commit()  # for the session, not only this transaction
        for table, key, value in (("customers", "customer_id", shop.customer["id"]),
                                  ("schedules", "schedule_id", shop.schedule["id"])):
            with pytest.raises(psycopg.errors.LockNotAvailable):
                deleting.execute(f"SELECT 1 FROM {table} WHERE {key} = %s FOR UPDATE", [value])
            deleting.rollback()
        creating.rollback()
        for table, key, value in (("customers", "customer_id", shop.customer["id"]),
                                  ("schedules", "schedule_id", shop.schedule["id"])):
            assert deleting.execute(f"SELECT 1 FROM {table} WHERE {key} = %s FOR UPDATE", [value]).fetchone()
            deleting.rollback()
        assert repo.references(creating, "no-such-shop", shop.customer["id"], None, []) is None
