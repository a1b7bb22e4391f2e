"""Nothing waits for ever, and a database that fails or hangs gets 503 JSON answers.

Each test serves the real application on a live port, over a database with real commits,
and makes the database fail in one way: a lock held by another transaction, a client
that gives up, a network that stops forwarding, a server that is not there.
"""

import contextlib
import re
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import TextClause, create_engine, text
from sqlalchemy.engine import make_url

from app.config import Settings
from app.main import create_app
from tests.helpers.accounts import Account, add_account
from tests.helpers.database import migrate, scratch_database
from tests.helpers.events import event_body
from tests.helpers.relay import relay_to
from tests.helpers.server import live_server
from tests.helpers.waiting import until

UNREACHABLE = "postgresql+psycopg://nobody@127.0.0.1:1/none"


@contextlib.contextmanager
def serve(database_url: str, **settings: Any) -> Iterator[tuple[FastAPI, str]]:
    app = create_app(Settings(database_url=database_url, _env_file=None, **settings))  # type: ignore[call-arg]
    try:
        with live_server(app) as base_url:
            yield app, base_url
    finally:
        app.state.engine.dispose()


def account(app: FastAPI, role: str, **fields: Any) -> Account:
    return add_account(app.state.sessionmaker, role, now=datetime.now(UTC), **fields)


def upcoming_event(base_url: str, secretariat: Account) -> dict:
    starts = datetime.now(UTC) + timedelta(days=60)
    body = event_body(
        kind="other",
        status="published",
        starts_at=starts.isoformat(timespec="minutes"),
        ends_at=(starts + timedelta(hours=3)).isoformat(timespec="minutes"),
        capacity=10,
    )
    # A server's first request on a new database may be slow on a busy machine.
    response = httpx.post(f"{base_url}/events", headers=secretariat.headers, json=body, timeout=30)
    assert response.status_code == 201, response.text
    return response.json()


def holding_lock(database_url: str, event_id: int) -> contextlib.AbstractContextManager[None]:
    """Another transaction holds the event's row (PostgreSQL) or the write lock (SQLite)."""
    rows = text("SELECT id FROM events WHERE id = :id FOR UPDATE").bindparams(id=event_id)
    return holding_rows(database_url, rows)


@contextlib.contextmanager
def holding_rows(database_url: str, rows: TextClause) -> Iterator[None]:
    """Another transaction holds the rows the ``SELECT ... FOR UPDATE`` finds
    (PostgreSQL), or the write lock (SQLite)."""
    if database_url.startswith("sqlite"):
        connection = sqlite3.connect(make_url(database_url).database, isolation_level=None)
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            connection.rollback()
            connection.close()
        return
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            connection.execute(rows)
            yield
            connection.rollback()
    finally:
        engine.dispose()


def registered(base_url: str, secretariat: Account, event_id: int) -> list[int]:
    response = httpx.get(
        f"{base_url}/events/{event_id}/registrations", headers=secretariat.headers, timeout=30
    )
    assert response.status_code == 200, response.text
    return [entry["user"]["id"] for entry in response.json()["items"]]


def warnings_of(caplog: pytest.LogCaptureFixture, logger: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == logger and r.levelname == "WARNING"]


def test_a_held_lock_ends_in_a_503_with_retry_after(race_database, caplog):
    with serve(race_database, db_lock_timeout=1) as (app, base_url):
        secretariat = account(app, "secretariat", institution="cor_sedec")
        person = account(app, "participant")
        event = upcoming_event(base_url, secretariat)
        with holding_lock(race_database, event["id"]):
            response = httpx.post(
                f"{base_url}/events/{event['id']}/registrations", headers=person.headers, timeout=20
            )
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"] == "5"
        assert "Another change holds the data" in response.json()["detail"]
        assert registered(base_url, secretariat, event["id"]) == []
    # The operator reads which statement waited, and on SQLite why the wait ended.
    (unavailable,) = warnings_of(caplog, "app.errors")
    if race_database.startswith("sqlite"):
        assert unavailable.startswith(
            "database unavailable (OperationalError) in 'BEGIN IMMEDIATE'"
        )
        (gave_up,) = warnings_of(caplog, "app.db")
        assert re.fullmatch(
            r"gave up waiting for SQLite's write lock after \d+\.\d s: the limit is 1 s", gave_up
        )
    else:
        assert unavailable.startswith("database unavailable (OperationalError) in 'SELECT events.")


def test_a_request_that_finds_no_free_slot_gets_a_503_in_bounded_time(race_database):
    settings = {"db_pool_size": 1, "db_slot_timeout": 1, "db_lock_timeout": 20}
    with serve(race_database, **settings) as (app, base_url):
        secretariat = account(app, "secretariat", institution="cor_sedec")
        person = account(app, "participant")
        event = upcoming_event(base_url, secretariat)
        answers: list[httpx.Response] = []
        with holding_lock(race_database, event["id"]):
            waiting = threading.Thread(
                target=lambda: answers.append(
                    httpx.post(
                        f"{base_url}/events/{event['id']}/registrations",
                        headers=person.headers,
                        timeout=30,
                    )
                )
            )
            waiting.start()
            until(lambda: app.state.db_slots.value == 0)
            crowded = httpx.get(f"{base_url}/events/{event['id']}", timeout=10)
        waiting.join(timeout=30)
        assert crowded.status_code == 503, crowded.text
        assert crowded.headers["retry-after"] == "5"
        assert "in use" in crowded.json()["detail"]
        assert [answer.status_code for answer in answers] == [201]


def test_a_client_that_gives_up_frees_its_slot_and_changes_nothing(race_database, caplog):
    settings = {"db_pool_size": 1, "db_slot_timeout": 10, "db_lock_timeout": 20}
    with serve(race_database, **settings) as (app, base_url):
        secretariat = account(app, "secretariat", institution="cor_sedec")
        person = account(app, "participant")
        event = upcoming_event(base_url, secretariat)
        with holding_lock(race_database, event["id"]):
            with pytest.raises(httpx.ReadTimeout):
                httpx.post(
                    f"{base_url}/events/{event['id']}/registrations",
                    headers=person.headers,
                    timeout=1,
                )
            # The lock is still held, and the slot is free again.
            until(lambda: app.state.db_slots.value == 1, seconds=5)
            if not race_database.startswith("sqlite"):  # SQLite's readers need the lock too
                response = httpx.get(f"{base_url}/events/{event['id']}", timeout=10)
                assert response.status_code == 200
        assert registered(base_url, secretariat, event["id"]) == []
    if race_database.startswith("sqlite"):
        (gave_up,) = warnings_of(caplog, "app.db")
        assert gave_up.endswith("s: its client left"), gave_up


@pytest.mark.parametrize("backend", ["postgresql"])  # its id says where it runs
def test_a_database_that_stops_answering_gets_503s_and_health_says_so(backend, tmp_path_factory):
    """PostgreSQL behind a relay that stops forwarding, as a hung network or proxy does."""
    with (
        scratch_database(backend, tmp_path_factory) as database,
        relay_to(database) as (relay, through_relay),
    ):
        migrate(database)
        settings = {
            "db_pool_size": 2,
            "db_statement_timeout": 1,
            "db_lock_timeout": 1,
            "db_connect_timeout": 2,
            "db_slot_timeout": 1,
            "health_timeout": 1,
        }
        with serve(through_relay, **settings) as (_app, base_url):
            assert httpx.get(f"{base_url}/actions", timeout=10).status_code == 200
            relay.stall()
            health = httpx.get(f"{base_url}/health", timeout=5)
            assert health.status_code == 503
            assert health.json() == {"status": "degraded", "database": "unreachable"}
            with httpx.Client(base_url=base_url, timeout=30) as client:
                answers = list(_at_once([lambda: client.get("/actions")] * 4))
            for answer in answers:
                assert answer.status_code == 503, answer.text
                assert answer.headers["retry-after"] == "5"
                assert "detail" in answer.json()
            relay.resume()
            until(lambda: httpx.get(f"{base_url}/actions", timeout=10).status_code == 200)
            assert httpx.get(f"{base_url}/health", timeout=5).status_code == 200


def _at_once(calls):
    results: list[Any] = [None] * len(calls)
    threads = [
        threading.Thread(target=lambda i=i, call=call: results.__setitem__(i, call()))
        for i, call in enumerate(calls)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_every_endpoint_answers_503_json_when_the_database_is_unreachable():
    app = create_app(Settings(database_url=UNREACHABLE, _env_file=None))  # type: ignore[call-arg]
    token = {"Authorization": "Bearer kep_anything"}
    bodies = {
        ("post", "/signup"): {"name": "Ann", "email": "ann@example.eu"},
        ("post", "/token-recovery"): {"email": "ann@example.eu"},
        ("patch", "/me/notifications"): {"event_reminder": False},
    }
    with TestClient(app) as client:
        spec = client.get("/openapi.json").json()
        checked = 0
        for path, operations in spec["paths"].items():
            if path == "/":
                continue  # the front door names the service from the process alone
            # Ids as integers, a feed's secret shaped like one (a malformed one is 404
            # without asking the database).
            url = path.replace("{token}", "x" * 43)
            url = re.sub(r"\{\w+\}", "1", url)
            for method in operations:
                headers = {} if path == "/health" else token
                response = client.request(
                    method.upper(), url, headers=headers, json=bodies.get((method, path))
                )
                assert response.status_code == 503, (method, path, response.text)
                assert response.headers["content-type"] == "application/json"
                assert response.json()["detail"] if path != "/health" else response.json()
                checked += 1
    assert checked > 40
    app.state.engine.dispose()


def test_a_database_failure_is_documented_on_every_operation(client):
    spec = client.get("/openapi.json").json()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            assert "503" in operation["responses"], (method, path)
