import pytest

PROBE_SCHEMA = """
CREATE TABLE IF NOT EXISTS applied (event_id uuid NOT NULL, aggregate_id text NOT NULL, version int NOT NULL,
                                    at timestamptz NOT NULL DEFAULT clock_timestamp());
CREATE TABLE IF NOT EXISTS token_view (token_id text PRIMARY KEY, version int NOT NULL, revoked boolean NOT NULL);
"""


@pytest.fixture
def probe_db(tmp_path, make_db):
    """A consumer-side database with the probe's projection tables; returns (dsn, migrations folder)."""
    migrations = tmp_path / "probe_migrations"
    migrations.mkdir()
    (migrations / "0100_probe.sql").write_text(PROBE_SCHEMA)
    return make_db(migrations), migrations
