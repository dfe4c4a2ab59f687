"""shared_events.listening: leadership by a session advisory lock, and a connection kept open, against real
PostgreSQL."""

import threading

import psycopg
import pytest

from shared_events import listening

pytestmark = pytest.mark.integration

KEY = 424242


def test_one_replica_leads_the_other_stands_by_until_the_leaders_connection_goes_or_it_is_stopped(make_db):
    dsn = make_db(None)
    stop = threading.Event()
    with psycopg.connect(dsn, autocommit=True) as first:
        assert listening.lead(first, KEY, stop)
        with psycopg.connect(dsn, autocommit=True) as second:
            listening.listen(second, "lead_test")
            tries = []

            def standby(conn, timeout):
                tries.append(timeout)
                if len(tries) == 3:
                    stop.set()
                return listening.notified(conn, 0.01)

            assert not listening.lead(second, KEY, stop, standby=standby)  # stopped while the first leads
            assert tries == [2.0, 2.0, 2.0]
    stop.clear()
    with psycopg.connect(dsn, autocommit=True) as third:  # the leader's connection went, and its lock with it
        assert listening.lead(third, KEY, stop)


def test_a_worker_kept_connected_gets_a_new_connection_after_postgresql_is_lost(make_db):
    dsn = make_db(None)
    stop = threading.Event()
    pids, lost = [], []

    def work(conn):
        pids.append(conn.info.backend_pid)
        if len(pids) == 1:
            with psycopg.connect(dsn, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", [conn.info.backend_pid])
            conn.execute("SELECT 1")  # the connection is gone: OperationalError
        stop.set()

    listening.keep_connected(dsn, stop, work, what="test worker", lost=lambda: lost.append(True), retry_s=0.01)
    assert len(pids) == 2 and pids[0] != pids[1] and lost == [True]
