"""servicekit's HTTP conventions on a tiny app against real PostgreSQL: auth, problems, If-Match, Idempotency-Key,
one transaction per request."""

import threading
import uuid
from datetime import UTC, datetime

import marshmallow as ma
import psycopg
import pytest
from flask import jsonify
from flask_smorest import Blueprint

from servicekit.auth import apply_identity_event, new_token, token_hash
from servicekit.clock import FixedClock
from servicekit.config import Settings
from servicekit.db import make_pool
from servicekit.web.app import create_base_app, principal, request_conn
from servicekit.web.http import check_version, idempotent, with_etag
from servicekit.web.problems import NotFound
from shared_events import Envelope

pytestmark = pytest.mark.integration

ADMIN = "rop_admin_" + uuid.uuid4().hex


class NoteIn(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    text = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=50))
    stars = ma.fields.Integer(strict=True, validate=ma.validate.Range(min=1, max=5), load_default=3)


@pytest.fixture
def app(make_db, tmp_path):
    migrations = tmp_path / "m"
    migrations.mkdir()
    (migrations / "0100.sql").write_text(
        "CREATE TABLE notes (id uuid PRIMARY KEY, shop_id text NOT NULL, text text NOT NULL, version int NOT NULL)")
    dsn = make_db(migrations)
    settings = Settings(service_name="probe", database_url=dsn, kafka_bootstrap="127.0.0.1:1", topic_prefix="",
                        admin_token=ADMIN, app_env="test", test_clock_url=None, log_level="WARNING",
                        public_base_url="http://x", rate_limit_per_minute=600, max_body_bytes=2000)
    pool = make_pool(dsn, max_size=4)
    flask_app, api = create_base_app(settings, title="Probe", description="probe", pool=pool,
                                     clock=FixedClock(datetime(2026, 5, 1, tzinfo=UTC)))
    blp = Blueprint("notes", __name__, url_prefix="/api/v1")

    @blp.route("/shops/<shop_id>/notes", methods=["POST"])
    @idempotent
    @blp.arguments(NoteIn)
    def create(args, shop_id):
        if not principal().manages(shop_id):
            raise NotFound("No such shop.")
        note_id = str(uuid.uuid4())
        request_conn().execute("INSERT INTO notes VALUES (%s, %s, %s, 1)", [note_id, shop_id, args["text"]])
        return with_etag(jsonify(id=note_id, text=args["text"]), 1), 201

    @blp.route("/shops/<shop_id>/notes/<note_id>", methods=["PUT"])
    @blp.arguments(NoteIn)
    def update(args, shop_id, note_id):
        row = request_conn().execute("SELECT version, shop_id FROM notes WHERE id = %s FOR UPDATE",
                                     [note_id]).fetchone()
        if row is None or not principal().manages(row["shop_id"]):
            raise NotFound("No such note.")
        check_version(row["version"])
        request_conn().execute("UPDATE notes SET text = %s, version = version + 1 WHERE id = %s",
                               [args["text"], note_id])
        if args["text"] == "fail after write":
            raise NotFound("simulated failure after the write")
        return with_etag(jsonify(id=note_id, text=args["text"]), row["version"] + 1)

    @blp.route("/shops/<shop_id>/notes/<note_id>", methods=["GET"])
    def read(shop_id, note_id):
        row = request_conn().execute("SELECT text FROM notes WHERE id = %s AND shop_id = %s",
                                     [note_id, shop_id]).fetchone()
        if row is None or not principal().manages(shop_id):
            raise NotFound("No such note.")
        status = request_conn().info.transaction_status  # IDLE after a statement: no transaction was opened
        return jsonify(text=row["text"], transaction=status.name)

    api.register_blueprint(blp)
    flask_app.dsn = dsn
    flask_app.pool = pool
    yield flask_app
    pool.close()


def manager_token(app, shops):
    token = new_token()
    env = Envelope(event_type="TokenIssued", aggregate_id=str(uuid.uuid4()), aggregate_version=1, producer="t",
                   payload={"token_id": str(uuid.uuid4()), "token_hash": token_hash(token), "role": "manager",
                            "shop_ids": shops, "customer_id": None, "label": None, "expires_at": None})
    env = Envelope(**{**env.__dict__, "payload": dict(env.payload, token_id=env.aggregate_id)})
    with psycopg.connect(app.dsn) as conn:
        apply_identity_event(conn, env)
        conn.commit()
    return {"Authorization": f"Bearer {token}"}


def test_requests_without_or_with_a_bad_token_get_401_problem_details(app):
    client = app.test_client()
    r = client.post("/api/v1/shops/s1/notes", json={"text": "hi"})
    assert r.status_code == 401 and r.mimetype == "application/problem+json"
    assert r.json["title"] == "Authentication required" and "correlation_id" in r.json
    r = client.post("/api/v1/shops/s1/notes", json={"text": "hi"}, headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401
    r = client.post("/api/v1/shops/s1/notes", json={"text": "hi"}, headers={"Authorization": "Basic abc"})
    assert r.status_code == 401


def test_bad_input_gets_field_by_field_errors_and_changes_nothing(app):
    client, auth = app.test_client(), {"Authorization": f"Bearer {ADMIN}"}
    cases = [({"text": ""}, "text"), ({"text": "x", "stars": "5"}, "stars"), ({"text": "x", "stars": 9}, "stars"),
             ({"text": "x", "surprise": 1}, "surprise"), ({}, "text")]
    for body, field in cases:
        r = client.post("/api/v1/shops/s1/notes", json=body, headers=auth)
        assert r.status_code == 422, body
        assert field in r.json["errors"], r.json
    r = client.post("/api/v1/shops/s1/notes", data="{not json", headers=dict(auth, **{"Content-Type":
                                                                                    "application/json"}))
    assert r.status_code == 400 and r.mimetype == "application/problem+json"
    r = client.post("/api/v1/shops/s1/notes", data="x" * 5000, headers=dict(auth, **{"Content-Type":
                                                                                   "application/json"}))
    assert r.status_code == 413
    with psycopg.connect(app.dsn) as conn:
        assert conn.execute("SELECT count(*) FROM notes").fetchone()[0] == 0


def test_a_chunked_body_over_the_limit_is_a_413_not_its_first_bytes_taken_for_all_of_it(app):
    import io

    client, auth = app.test_client(), {"Authorization": f"Bearer {ADMIN}", "Content-Type": "application/json",
                                       "Transfer-Encoding": "chunked"}
    body = b'{"text": "fits"}' + b" " * 5000  # valid JSON: cut at the limit it would still parse
    r = client.post("/api/v1/shops/s1/notes", input_stream=io.BytesIO(body), headers=auth,
                    environ_overrides={"wsgi.input_terminated": True})
    assert r.status_code == 413 and r.mimetype == "application/problem+json"
    r = client.post("/api/v1/shops/s1/notes", input_stream=io.BytesIO(b'{"text": "small"}'), headers=auth,
                    environ_overrides={"wsgi.input_terminated": True})
    assert r.status_code == 201  # a chunked body within the limit is read as usual
    with psycopg.connect(app.dsn) as conn:
        assert [r[0] for r in conn.execute("SELECT text FROM notes").fetchall()] == ["small"]


def test_json_nested_too_deeply_for_the_parser_is_a_400_not_a_500(app):
    client, auth = app.test_client(), {"Authorization": f"Bearer {ADMIN}", "Content-Type": "application/json"}
    for body in ("[" * 990 + "]" * 990, '{"text": ' + "[" * 990 + "]" * 990 + "}"):  # within the 2000-byte limit
        r = client.post("/api/v1/shops/s1/notes", data=body, headers=auth)
        assert r.status_code == 400 and r.mimetype == "application/problem+json", r.get_data(as_text=True)[:300]
    r = client.post("/api/v1/shops/s1/notes", data="[" * 400 + "]" * 400, headers=auth)  # deep, yet parsable
    assert r.status_code == 422
    with psycopg.connect(app.dsn) as conn:
        assert conn.execute("SELECT count(*) FROM notes").fetchone()[0] == 0


def test_a_nul_character_in_a_query_path_or_body_is_a_422_not_a_database_error(app):
    client, auth = app.test_client(), {"Authorization": f"Bearer {ADMIN}"}
    for url, body in (("/api/v1/shops/s1/notes?filter=a%00b", {"text": "x"}),
                      ("/api/v1/shops/s%001/notes", {"text": "x"}),
                      ("/api/v1/shops/s1/notes", {"text": "a\x00b"})):
        r = client.post(url, json=body, headers=auth)
        assert r.status_code == 422 and r.mimetype == "application/problem+json", (url, body, r.status_code)
        assert "NUL" in str(r.json["errors"])
    r = client.post("/api/v1/shops/s1/notes", json={"text": "a\x00b", "tags": ["ok", "b\x00d"]}, headers=auth)
    assert set(r.json["errors"]) == {"text", "tags.1"}, "each field with a NUL is named, as marshmallow names them"
    # the six characters \u0000 in a string are no NUL
    assert client.post("/api/v1/shops/s1/notes", json={"text": "a\\u0000b"}, headers=auth).status_code == 201
    with psycopg.connect(app.dsn) as conn:
        assert [r[0] for r in conn.execute("SELECT text FROM notes").fetchall()] == ["a\\u0000b"]


def test_another_shops_resource_is_a_404(app):
    client = app.test_client()
    a, b = manager_token(app, ["shop-a"]), manager_token(app, ["shop-b"])
    created = client.post("/api/v1/shops/shop-a/notes", json={"text": "mine"}, headers=a)
    assert created.status_code == 201
    r = client.put(f"/api/v1/shops/shop-a/notes/{created.json['id']}", json={"text": "theirs"}, headers=b)
    assert r.status_code == 404 and "mine" not in r.get_data(as_text=True)
    assert client.post("/api/v1/shops/shop-a/notes", json={"text": "x"}, headers=b).status_code == 404


def test_a_stale_if_match_gets_412_and_concurrent_writers_never_both_win(app):
    client, auth = app.test_client(), {"Authorization": f"Bearer {ADMIN}"}
    note = client.post("/api/v1/shops/s1/notes", json={"text": "v1"}, headers=auth)
    url, etag = f"/api/v1/shops/s1/notes/{note.json['id']}", note.headers["ETag"]
    assert client.put(url, json={"text": "v2"}, headers=dict(auth, **{"If-Match": etag})).status_code == 200
    stale = client.put(url, json={"text": "v3"}, headers=dict(auth, **{"If-Match": etag}))
    assert stale.status_code == 412 and stale.headers["ETag"] == '"2"'

    results = []

    def write(text):
        results.append(app.test_client().put(url, json={"text": text},
                                             headers=dict(auth, **{"If-Match": '"2"'})).status_code)

    threads = [threading.Thread(target=write, args=(f"race{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200, 412, 412, 412]


def test_a_failed_request_rolls_back_what_it_wrote(app):
    client, auth = app.test_client(), {"Authorization": f"Bearer {ADMIN}"}
    note = client.post("/api/v1/shops/s1/notes", json={"text": "kept"}, headers=auth)
    r = client.put(f"/api/v1/shops/s1/notes/{note.json['id']}", json={"text": "fail after write"}, headers=auth)
    assert r.status_code == 404
    with psycopg.connect(app.dsn) as conn:
        assert conn.execute("SELECT text FROM notes").fetchone()[0] == "kept"


def test_a_retried_create_with_the_same_idempotency_key_returns_the_first_response(app):
    client, auth = app.test_client(), {"Authorization": f"Bearer {ADMIN}", "Idempotency-Key": "k-1"}
    first = client.post("/api/v1/shops/s1/notes", json={"text": "once"}, headers=auth)
    again = client.post("/api/v1/shops/s1/notes", json={"text": "once"}, headers=auth)
    assert first.status_code == again.status_code == 201
    assert first.json == again.json and again.headers["Idempotent-Replayed"] == "true"
    other = client.post("/api/v1/shops/s1/notes", json={"text": "different"}, headers=auth)
    assert other.status_code == 422
    with psycopg.connect(app.dsn) as conn:
        assert conn.execute("SELECT count(*) FROM notes").fetchone()[0] == 1


def test_health_readiness_metrics_and_openapi_are_served(app):
    client = app.test_client()
    assert client.get("/healthz").json["status"] == "ok"
    ready = client.get("/readyz")
    # the probe app points at no broker: reported, but an API is ready as long as its database is
    assert ready.status_code == 200 and ready.json["checks"]["kafka"].startswith("down")
    assert b"http_requests_total" in client.get("/metrics").data
    spec = client.get("/openapi.json").json
    assert "/api/v1/shops/{shop_id}/notes" in spec["paths"]


def test_a_read_opens_no_transaction_and_gives_its_connection_back_ready_for_a_write(app):
    client, auth = app.test_client(), {"Authorization": f"Bearer {ADMIN}"}
    note = client.post("/api/v1/shops/s1/notes", json={"text": "kept"}, headers=auth).json
    read = client.get(f"/api/v1/shops/s1/notes/{note['id']}", headers=auth)
    assert read.json == {"text": "kept", "transaction": "IDLE"}  # autocommit: no BEGIN, no COMMIT
    assert client.get("/api/v1/shops/s1/notes/" + str(uuid.uuid4()), headers=auth).status_code == 404
    with app.pool.connection() as conn:
        assert conn.autocommit is False  # every connection went back as the pool gave it
    # a write after the reads is still one transaction, rolled back when the request fails
    r = client.put(f"/api/v1/shops/s1/notes/{note['id']}", json={"text": "fail after write"}, headers=auth)
    assert r.status_code == 404
    assert client.get(f"/api/v1/shops/s1/notes/{note['id']}", headers=auth).json["text"] == "kept"


def test_the_pool_checks_a_connection_only_after_it_sat_idle_and_replaces_a_dead_one(app, monkeypatch):
    from psycopg_pool import ConnectionPool

    from servicekit import db

    checks = []
    real = ConnectionPool.check_connection
    monkeypatch.setattr(ConnectionPool, "check_connection", staticmethod(lambda c: (checks.append(1), real(c))))
    pool = make_pool(app.dsn, max_size=1)  # one connection: every getconn hands out the same one
    try:
        pool.wait()
        conn = pool.getconn()
        assert checks == [1]  # never given back before: checked
        pid = conn.info.backend_pid
        pool.putconn(conn)
        checks.clear()
        again = pool.getconn()  # back a moment ago: handed out without a round trip
        assert checks == [] and again.info.backend_pid == pid
        pool.putconn(again)
        monkeypatch.setattr(db, "CHECK_AFTER_IDLE_S", 0.0)  # now it has sat idle long enough to be checked
        with psycopg.connect(app.dsn, autocommit=True) as killer:
            killer.execute("SELECT pg_terminate_backend(%s)", [pid])
        conn = pool.getconn()  # the check finds it dead: the pool hands out a new one instead
        try:
            assert conn.execute("SELECT 1").fetchone() is not None and conn.info.backend_pid != pid
        finally:
            pool.putconn(conn)
        assert checks
    finally:
        pool.close()
