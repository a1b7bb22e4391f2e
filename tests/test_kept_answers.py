"""Answers kept in memory by the state of the data: a read asked again while nothing has
changed costs one statement, and no change (made here, committed by another process,
or rolled back) is ever answered from an older state."""

import json
import threading
from datetime import UTC, datetime, timedelta

import anyio
import httpx
import pytest
from sqlalchemy import create_engine, event, update

from app import data_state
from app.models import Event, Registration, User
from tests.helpers.events import create_event, published_event
from tests.helpers.seminars import (
    AFTER_VOTING,
    seminar_in_voting,
)
from tests.test_database_failures import upcoming_event


def _is_state(statement: str) -> bool:
    return "data_version" in statement or "pg_current_snapshot" in statement


def _reads(event_id: int, member, person) -> list[tuple[str, dict[str, str]]]:
    return [
        ("/events?from=2026-01-01T00:00Z", {}),
        ("/events", {}),
        ("/events?kind=other&limit=5", member.headers),
        (f"/events/{event_id}", {}),
        (f"/events/{event_id}", member.headers),
        ("/me/registrations", person.headers),
    ]


@pytest.fixture
def programme(client, dg_rtd, member, make_account):
    person = make_account("participant")
    event = published_event(client, dg_rtd.headers, capacity=1)
    response = client.post(f"/events/{event['id']}/registrations", headers=person.headers)
    assert response.status_code == 201, response.text
    for account in (member, person):  # their tokens' last use is recorded now
        assert client.get("/me", headers=account.headers).status_code == 200
    return event, person


def test_a_read_asked_again_reads_the_state_of_the_data_alone(
    client, member, programme, count_queries
):
    event, person = programme
    for path, headers in _reads(event["id"], member, person):
        first = client.get(path, headers=headers)
        assert first.status_code == 200, first.text
        with count_queries() as counted:
            again = client.get(path, headers=headers)
        assert again.content == first.content, path
        assert again.headers["etag"] == first.headers["etag"]
        # Who is calling is kept by the same state, as the answer is.
        assert len(counted.statements) == 1, (path, counted.statements)
        assert _is_state(counted.statements[0])
        with count_queries() as counted:
            current = client.get(path, headers={**headers, "If-None-Match": first.headers["etag"]})
        assert current.status_code == 304
        assert len(counted.statements) == 1


def _answers(client, reads) -> dict[str, bytes]:
    found = {}
    for path, headers in reads:
        response = client.get(path, headers=headers)
        assert response.status_code == 200, response.text
        found[path + str(headers)] = response.content
    return found


@pytest.mark.parametrize(
    "change",
    ["registration", "cancelled registration", "edit", "cancelled event", "new event", "host"],
)
def test_after_a_change_every_answer_is_the_one_built_afresh(
    client, db, dg_rtd, member, programme, change
):
    event, person = programme
    reads = _reads(event["id"], member, person)
    before = _answers(client, reads)
    assert _answers(client, reads) == before  # from memory
    if change == "registration":
        response = client.post(f"/events/{event['id']}/registrations", headers=member.headers)
        assert response.status_code == 201, response.text
    elif change == "cancelled registration":
        response = client.delete(f"/events/{event['id']}/registrations/me", headers=person.headers)
        assert response.status_code == 200, response.text
    elif change == "edit":
        response = client.patch(
            f"/events/{event['id']}", headers=dg_rtd.headers, json={"title": "Renamed"}
        )
        assert response.status_code == 200, response.text
    elif change == "cancelled event":
        response = client.post(
            f"/events/{event['id']}/cancel", headers=dg_rtd.headers, json={"reason": "Storm"}
        )
        assert response.status_code == 200, response.text
    elif change == "new event":
        published_event(client, dg_rtd.headers, title="Another day")
    else:  # the host's name, changed in the database itself
        db.execute(update(Event).where(Event.id == event["id"]).values(host_id=member.id))
        db.execute(update(User).where(User.id == member.id).values(name="Renamed Member"))
        db.commit()
    after = _answers(client, reads)
    assert after != before
    client.app.state.answers.clear()
    assert _answers(client, reads) == after


def test_a_role_changed_or_a_token_revoked_counts_at_once(
    client, db, admin, dg_rtd, member, programme
):
    create_event(client, dg_rtd.headers, kind="other", status="draft", title="Not yet public")
    drafts = "/events?status=draft&from=2026-01-01T00:00Z"
    for _ in range(2):  # the second from memory
        assert client.get(drafts, headers=member.headers).json()["total"] == 0
    db.execute(
        update(User)
        .where(User.id == member.id)
        .values(role="secretariat", institution="cor_sedec", member_state=None, region=None)
    )
    db.commit()
    assert client.get(drafts, headers=member.headers).json()["total"] == 1
    tokens = client.get(f"/users/{member.id}/tokens", headers=admin.headers).json()["items"]
    for token in tokens:
        response = client.delete(f"/users/{member.id}/tokens/{token['id']}", headers=admin.headers)
        assert response.status_code == 200, response.text
    for path in (drafts, "/me/registrations", f"/events/{programme[0]['id']}"):
        response = client.get(path, headers=member.headers)
        assert response.status_code == 401, (path, response.text)


def test_a_change_rolled_back_is_not_answered_from_memory(client, db, programme):
    event, _person = programme
    path = f"/events/{event['id']}"
    assert client.get(path).json()["title"] == event["title"]
    undone = db.begin_nested()
    db.execute(update(Event).where(Event.id == event["id"]).values(title="Never kept"))
    db.flush()
    assert client.get(path).json()["title"] == "Never kept"  # the same transaction sees it
    undone.rollback()
    assert client.get(path).json()["title"] == event["title"]
    db.execute(update(Registration).values(status="cancelled"))
    db.rollback()
    assert client.get(path).json()["registered"] == 1


def test_a_listing_from_now_drops_an_event_as_it_ends(client, dg_rtd, clock, count_queries):
    soon = clock() + timedelta(hours=2)
    first = published_event(
        client,
        dg_rtd.headers,
        title="Ends soon",
        timezone="UTC",
        starts_at=clock().strftime("%Y-%m-%dT%H:%M"),
        ends_at=soon.strftime("%Y-%m-%dT%H:%M"),
    )
    published_event(client, dg_rtd.headers, title="Later")
    listed = client.get("/events").json()
    assert [item["title"] for item in listed["items"]] == ["Ends soon", "Later"]
    with count_queries() as counted:
        assert client.get("/events").json() == listed  # from memory
    assert len(counted.statements) == 1
    clock.set(soon - timedelta(seconds=1))
    assert client.get("/events").json() == listed
    clock.set(soon)  # nothing was written: time alone ended it
    listed = client.get("/events").json()
    assert [item["title"] for item in listed["items"]] == ["Later"]
    assert listed["total"] == 1
    assert client.get(f"/events/{first['id']}").status_code == 200  # still there by id


def test_a_change_committed_by_another_process_is_answered_at_once(
    race_app, race_database, race_client, race_account
):
    base_url, http = race_client
    secretariat = race_account("secretariat", institution="cor_sedec")
    made = upcoming_event(base_url, secretariat)
    path = f"/events/{made['id']}"
    statements: list[str] = []

    def record(_connection, _cursor, statement: str, *_args) -> None:
        if statement not in ("BEGIN", "COMMIT", "ROLLBACK"):  # SQLite's transactions
            statements.append(statement)

    event.listen(race_app.state.engine, "before_cursor_execute", record)
    assert http.get(path).json()["title"] == made["title"]
    statements.clear()
    assert http.get(path).json()["title"] == made["title"]
    # From memory: the state of the data is read on a connection of its own (see
    # app.data_state), and the service's pool sends nothing.
    assert statements == []
    listing = http.get("/events").json()
    other = create_engine(race_database)  # not the service's: another process's writes
    try:
        with other.begin() as connection:
            connection.execute(
                update(Event)
                .where(Event.id == made["id"])
                .values(title="Changed elsewhere", updated_at=datetime.now(UTC))
            )
    finally:
        other.dispose()
    assert http.get(path).json()["title"] == "Changed elsewhere"
    listed = {item["id"]: item["title"] for item in http.get("/events").json()["items"]}
    assert listed[made["id"]] == "Changed elsewhere"
    assert listing != http.get("/events").json()


def test_a_seminar_and_its_tally_asked_again_and_as_their_dates_pass(
    client, sedec, member, clock, count_queries
):
    seminar = seminar_in_voting(client, clock, sedec, member)
    reads = [
        (f"/seminars/{seminar['id']}", {}),
        (f"/seminars/{seminar['id']}/tally", sedec.headers),
    ]
    before = _answers(client, reads)
    with count_queries() as counted:
        assert _answers(client, reads) == before
    assert len(counted.statements) == 2, counted.statements  # the state, for each
    tally = f"/seminars/{seminar['id']}/tally"
    refused = client.get(tally, headers=member.headers)
    assert refused.status_code == 403, refused.text  # until voting closes
    clock.set(AFTER_VOTING)  # nothing written: the phase moves, the tally opens
    after = _answers(client, reads)
    assert json.loads(after[f"/seminars/{seminar['id']}{{}}"])["phase"] == "agreement"
    assert after != before
    assert client.get(tally, headers=member.headers).status_code == 200
    client.app.state.answers.clear()
    assert _answers(client, reads) == after


def test_a_client_reads_its_own_change_while_others_keep_reading(
    race_app, race_client, race_account
):
    """Readers keep the shared reads of the data's state busy; after each change, the
    client that made it asks at once and gets it, never an answer kept from before."""
    base_url, http = race_client
    secretariat = race_account("secretariat", institution="cor_sedec")
    made = upcoming_event(base_url, secretariat)
    path = f"/events/{made['id']}"
    stop = threading.Event()

    def read_on() -> None:
        with httpx.Client(base_url=base_url, timeout=30) as reader:
            while not stop.is_set():
                assert reader.get(path).status_code == 200
                assert reader.get("/events").status_code == 200

    readers = [threading.Thread(target=read_on) for _ in range(4)]
    for reader in readers:
        reader.start()
    try:
        for n in range(15):
            title = f"Version {n}"
            response = http.patch(path, headers=secretariat.headers, json={"title": title})
            assert response.status_code == 200, response.text
            assert http.get(path).json()["title"] == title
            listed = {item["id"]: item["title"] for item in http.get("/events").json()["items"]}
            assert listed[made["id"]] == title
    finally:
        stop.set()
        for reader in readers:
            reader.join()


def test_requests_share_a_read_of_the_state_only_if_it_began_after_they_asked(monkeypatch):
    """A read under way may predate a change its asker's client has just seen finish: a
    request that asks meanwhile waits for the next read, which it shares with every
    other request that asked before that one began."""
    begun: list[int] = []
    first_may_end = threading.Event()

    def read_state(_engine) -> int:
        begun.append(len(begun) + 1)
        if len(begun) == 1:
            assert first_may_end.wait(10)
        return len(begun)

    monkeypatch.setattr(data_state, "_committed_state", read_state)
    shared = data_state.SharedStates(engine=None, timeout=10)  # type: ignore[arg-type]
    answers: dict[str, int] = {}

    async def ask(name: str) -> None:
        answers[name] = await shared.read()

    async def scenario() -> None:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(ask, "first")
            while not begun:
                await anyio.sleep(0.001)
            for name in ("second", "third"):  # asked while the first read is under way
                tasks.start_soon(ask, name)
            await anyio.sleep(0.05)
            assert begun == [1]  # they wait: no read of their own yet
            first_may_end.set()

    anyio.run(scenario)
    assert answers == {"first": 1, "second": 2, "third": 2}
    assert begun == [1, 2]  # the two shared one read
