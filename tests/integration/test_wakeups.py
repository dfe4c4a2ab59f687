"""The wake-up triggers of every service's database: one shared function (notify_channel, created by the platform's
migration shared_events/sql/0005_notify_channel.sql) NOTIFYs the channel each trigger names, and a LISTENer
(shared_events.listening) on that channel is woken by a statement on the table, against real PostgreSQL."""

import psycopg
import pytest
from psycopg import sql

from billing_service.config import MIGRATIONS_DIR as BILLING
from order_service.config import MIGRATIONS_DIR as ORDER
from scheduler_service.config import MIGRATIONS_DIR as SCHEDULER
from shared_events import listening
from subscription_service.config import MIGRATIONS_DIR as SUBSCRIPTION

pytestmark = pytest.mark.integration

CHANNELS = {  # table -> the channel its trigger wakes, per service
    "subscription": (SUBSCRIPTION, {"event_store": "event_store"}),
    "scheduler": (SCHEDULER, {"event_store": "event_store", "order_cycles": "scheduler_wakeup",
                              "cycle_boundaries": "scheduler_wakeup", "shops": "scheduler_wakeup"}),
    "order": (ORDER, {"event_store": "event_store", "notifications": "notifications"}),
    "billing": (BILLING, {"event_store": "event_store", "payment_attempts": "billing_attempts"}),
}


@pytest.mark.parametrize("service", CHANNELS)
def test_each_wake_up_trigger_notifies_its_channel_through_the_one_shared_function(make_db, service):
    migrations, expected = CHANNELS[service]
    dsn = make_db(migrations)
    with psycopg.connect(dsn, autocommit=True) as conn, psycopg.connect(dsn, autocommit=True) as listener:
        notifying = conn.execute("SELECT proname FROM pg_proc WHERE prosrc LIKE '%%pg_notify%%' "
                                 "AND pronamespace = current_schema()::regnamespace").fetchall()
        assert notifying == [("notify_channel",)]
        triggers = conn.execute(
            "SELECT tgrelid::regclass::text, encode(tgargs, 'escape') FROM pg_trigger "
            "WHERE tgfoid = 'notify_channel'::regproc AND NOT tgisinternal").fetchall()
        assert {table: args.split("\\000")[0] for table, args in triggers} == expected
        for table, channel in expected.items():
            listening.listen(listener, channel)
            listening.drain(listener)
            conn.execute(sql.SQL("INSERT INTO {t} SELECT * FROM {t} WHERE false").format(t=sql.Identifier(table)))
            assert listening.notified(listener, 10), f"{table} woke no one on {channel}"
