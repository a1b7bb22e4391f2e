"""The read paths: a fixed number of statements whatever the size of the programme,
conditional GETs answered 304 without building a body, and SQLite readers that do not
wait for the write lock."""

import re
import sqlite3
import time

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from app.events import presenters as event_presenters
from app.seminars import presenters as seminar_presenters
from tests.helpers.database import migrate
from tests.helpers.events import published_event
from tests.helpers.seminars import (
    AFTER_VOTING,
    IN_PROPOSALS,
    IN_VOTING,
    open_seminar,
    propose,
    support,
)
from tests.test_database_failures import account, serve, upcoming_event


def _programme(client, secretariat, people, count: int) -> list[int]:
    made = []
    for n in range(count):
        event = published_event(
            client,
            secretariat.headers,
            title=f"Regional day {n}",
            starts_at=f"2027-0{1 + n % 9}-{10 + n % 18}T09:00",
            ends_at=f"2027-0{1 + n % 9}-{10 + n % 18}T17:00",
            timezone=("Europe/Brussels", "Europe/Lisbon", "Atlantic/Azores")[n % 3],
            actions=[1 + n % 11],
            capacity=1,
        )
        made.append(event["id"])
        for person in people[: n % 3]:  # some registered, some waitlisted
            response = client.post(f"/events/{event['id']}/registrations", headers=person.headers)
            assert response.status_code == 201, response.text
    return made


def _statements(count_queries, client, path: str, headers: dict[str, str]) -> list[str]:
    """The statements a read sends, with their lists of ids written as one."""
    with count_queries() as counted:
        response = client.get(path, headers=headers)
    assert response.status_code == 200, response.text
    return [
        re.sub(r" IN \((?:[^()]|\([^()]*\))*\)", " IN (ids)", statement)
        for statement in counted.statements
    ]


def test_reads_send_the_same_few_statements_for_3_or_27_events(
    client, dg_rtd, make_account, count_queries
):
    people = [make_account("participant") for _ in range(2)]
    member = make_account("member")
    # Every token has been used within the last minute: its last use is not written again.
    for account_ in (*people, member, dg_rtd):
        client.get("/me", headers=account_.headers)
    reads = [
        ("/events?from=2026-01-01T00:00Z&limit=200", {}),
        ("/events?from=2026-01-01T00:00Z&limit=200", member.headers),
        ("/events?from=2026-01-01T00:00Z&limit=200&action=2&country=BE", dg_rtd.headers),
        ("/me/registrations?limit=200", people[1].headers),  # on waitlists,
    ]
    _programme(client, dg_rtd, people, 3)
    few = {
        path + str(headers): _statements(count_queries, client, path, headers)
        for path, headers in reads
    }
    events = _programme(client, dg_rtd, people, 24)
    many = {
        path + str(headers): _statements(count_queries, client, path, headers)
        for path, headers in reads
    }
    assert few == many  # word for word, whatever the number of events
    anonymous, as_member, as_secretariat, own = many.values()
    # The state of the data (answers are kept by it), the page with its total, then
    # everything that goes with it.
    assert len(anonymous) == 3
    assert len(as_member) == 4  # and who is calling
    assert len(as_secretariat) == 4
    assert len(own) == 4  # who, the state, the page, the waitlist positions
    single = _statements(count_queries, client, f"/events/{events[5]}", {})
    assert len(single) == 3


def test_a_page_past_the_end_still_says_how_many_there_are(client, dg_rtd, make_account):
    _programme(client, dg_rtd, [], 3)
    response = client.get("/events?from=2026-01-01T00:00Z&offset=10")
    assert response.status_code == 200
    assert response.json() == {"items": [], "total": 3, "limit": 50, "offset": 10}


@pytest.fixture
def refuse_to_build(monkeypatch):
    def refuse(*_args, **_kwargs):
        raise AssertionError("a body was built")

    def arm() -> None:
        for module, name in [
            (event_presenters, "shown_read"),
            (event_presenters, "own_reads"),
            (seminar_presenters, "seminar_read"),
            (seminar_presenters, "tally_read"),
        ]:
            monkeypatch.setattr(module, name, refuse)

    return arm


def _etag(client, path: str, headers: dict[str, str] | None = None) -> str:
    response = client.get(path, headers=headers or {})
    assert response.status_code == 200, response.text
    etag = response.headers["etag"]
    assert etag.startswith('W/"')
    return etag


def test_reads_answer_304_to_a_current_copy_without_building_it(
    client, dg_rtd, sedec, member, make_account, clock, refuse_to_build
):
    person = make_account("participant")
    [event] = _programme(client, dg_rtd, [], 1)
    seminar = open_seminar(client, sedec)  # its dates still ahead
    clock.set(IN_PROPOSALS)
    proposal = propose(client, member, seminar["id"])
    clock.set(IN_VOTING)
    support(client, member, proposal["id"])
    reads = [
        ("/events?from=2026-01-01T00:00Z", {}),
        (f"/events/{event}", {}),
        (f"/seminars/{seminar['id']}", {}),
        (f"/seminars/{seminar['id']}/tally", sedec.headers),
        ("/me/registrations", person.headers),
    ]
    tags = {path: _etag(client, path, headers) for path, headers in reads}
    assert len(set(tags.values())) == len(tags)

    refuse_to_build()
    for path, headers in reads:
        for sent in (tags[path], f'{tags[path]}, W/"other"', tags[path].removeprefix("W/")):
            response = client.get(path, headers={**headers, "If-None-Match": sent})
            assert response.status_code == 304, (path, response.text)
            assert response.content == b""
            assert response.headers["etag"] == tags[path]


@pytest.mark.parametrize(
    "change",
    ["registration", "event", "time", "support"],
)
def test_a_change_to_what_a_read_shows_changes_its_etag(
    client, dg_rtd, sedec, member, make_account, clock, change
):
    person = make_account("participant")
    [event] = _programme(client, dg_rtd, [], 1)
    seminar = open_seminar(client, sedec)  # its dates still ahead
    clock.set(IN_PROPOSALS)
    proposal = propose(client, member, seminar["id"])
    reads = [
        ("/events?from=2026-01-01T00:00Z", {}),
        (f"/events/{event}", {}),
        (f"/seminars/{seminar['id']}", {}),
        (f"/seminars/{seminar['id']}/tally", sedec.headers),
    ]
    before = {path: _etag(client, path, headers) for path, headers in reads}
    if change == "registration":
        response = client.post(f"/events/{event}/registrations", headers=person.headers)
        assert response.status_code == 201, response.text
        moved = ["/events?from=2026-01-01T00:00Z", f"/events/{event}"]
    elif change == "event":
        response = client.patch(f"/events/{event}", headers=dg_rtd.headers, json={"capacity": 5})
        assert response.status_code == 200, response.text
        moved = ["/events?from=2026-01-01T00:00Z", f"/events/{event}"]
    elif change == "time":  # nothing written: the seminar's phase moves with the clock
        clock.set(AFTER_VOTING)
        moved = [f"/seminars/{seminar['id']}", f"/seminars/{seminar['id']}/tally"]
    else:
        clock.set(IN_VOTING)
        support(client, member, proposal["id"])
        moved = [f"/seminars/{seminar['id']}", f"/seminars/{seminar['id']}/tally"]
    after = {path: _etag(client, path, headers) for path, headers in reads}
    for path in before:
        if path in moved:
            assert after[path] != before[path], path
            response = client.get(
                path, headers={**dict(reads)[path], "If-None-Match": before[path]}
            )
            assert response.status_code == 200, path
    if change in ("registration", "event"):
        assert after[f"/seminars/{seminar['id']}"] == before[f"/seminars/{seminar['id']}"]


def test_on_sqlite_reads_do_not_wait_for_the_write_lock(tmp_path):
    """A transaction holds SQLite's write lock; reads are answered at once from the
    snapshot before it (WAL), while a change waits for the lock and gives up with a 503."""
    race_database = f"sqlite:///{tmp_path}/kep.db"  # a database of its own: rows committed
    migrate(race_database)
    with serve(race_database, db_lock_timeout=1) as (app, base_url):
        secretariat = account(app, "secretariat", institution="cor_sedec")
        person = account(app, "participant")
        event = upcoming_event(base_url, secretariat)
        httpx.get(f"{base_url}/me", headers=person.headers)  # its last use is recorded now
        writer = sqlite3.connect(make_url(race_database).database, isolation_level=None)
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("UPDATE events SET title = 'Not yet committed' WHERE id = ?", (event["id"],))
        try:
            started = time.monotonic()
            for path in ("/events", f"/events/{event['id']}", "/me/registrations"):
                response = httpx.get(f"{base_url}{path}", headers=person.headers, timeout=10)
                assert response.status_code == 200, (path, response.text)
            assert time.monotonic() - started < 0.9  # less than one wait for the lock
            listed = httpx.get(f"{base_url}/events/{event['id']}").json()
            assert listed["title"] == event["title"]  # the committed state, not the writer's
            refused = httpx.post(
                f"{base_url}/events/{event['id']}/registrations", headers=person.headers, timeout=20
            )
            assert refused.status_code == 503, refused.text
        finally:
            writer.rollback()
            writer.close()
        response = httpx.post(
            f"{base_url}/events/{event['id']}/registrations", headers=person.headers, timeout=20
        )
        assert response.status_code == 201, response.text


def test_a_read_that_would_write_undeclared_is_refused_on_sqlite(tmp_path, caplog):
    """Every GET whose transaction may write takes the write lock from the start: one
    that tried to write without having said so fails instead of racing a writer."""
    from sqlalchemy import text

    from app.auth.deps import SessionDep
    from app.config import Settings
    from app.db import UndeclaredWrite, writes_when_read
    from app.main import create_app

    app = create_app(Settings(database_url=f"sqlite:///{tmp_path}/kep.db", _env_file=None))  # type: ignore[call-arg]

    def write(session) -> dict[str, bool]:
        session.execute(text("CREATE TABLE IF NOT EXISTS t (x)"))
        session.execute(text("INSERT INTO t VALUES (1)"))
        return {"ok": True}

    @app.get("/sneaky")
    def sneaky(session: SessionDep) -> dict[str, bool]:
        return write(session)

    @app.get("/declared")
    @writes_when_read
    def declared(session: SessionDep) -> dict[str, bool]:
        return write(session)

    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/declared").json() == {"ok": True}
        with caplog.at_level("ERROR"):
            assert client.get("/sneaky").status_code == 500
        assert client.get("/declared").json() == {"ok": True}
    assert any(
        isinstance(record.exc_info[1], UndeclaredWrite)
        for record in caplog.records
        if record.exc_info
    )
    with sqlite3.connect(tmp_path / "kep.db") as connection:  # the refused write left nothing
        assert connection.execute("SELECT count(*) FROM t").fetchone() == (2,)
    app.state.engine.dispose()
