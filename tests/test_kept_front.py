"""Reads asked again are answered in front of the routes: a GET whose answer is kept for
the very same request (path, parameters, credentials) and the current state of the data
is sent from memory without routing it or solving its dependencies, and is the answer
the endpoint would have given, headers included. These tests run the service on its
own pool, whose commits are real, as it runs in production."""

from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import create_engine, update

from app import metrics
from app.errors import DatabaseBusy
from app.models import ApiToken, Event, User
from tests.helpers.events import event_body
from tests.helpers.seminars import (
    AFTER_VOTING,
    seminar_in_voting,
)
from tests.test_database_failures import upcoming_event


@pytest.fixture
def setting(race_client, race_account):
    base_url, _http = race_client
    secretariat = race_account("secretariat", institution="cor_sedec")
    member = race_account("member", member_state="PT", region="Norte")
    made = upcoming_event(base_url, secretariat)
    for account in (secretariat, member):  # their tokens' last use is noted now
        assert httpx.get(f"{base_url}/me", headers=account.headers).status_code == 200
    return made, secretariat, member


def _shown(response) -> tuple[int, bytes, dict[str, str]]:
    headers = {
        name: value for name, value in response.headers.items() if name.lower() != "x-request-id"
    }
    return response.status_code, response.content, headers


def test_a_read_asked_again_is_answered_in_front_of_its_route(race_client, setting, reached):
    _base_url, http = race_client
    event, secretariat, member = setting
    for path, headers in [
        (f"/events/{event['id']}", {}),
        (f"/events/{event['id']}", member.headers),
        ("/events?limit=5", secretariat.headers),
        ("/me/registrations", member.headers),
    ]:
        reached.clear()
        first = http.get(path, headers=headers)
        assert first.status_code == 200, first.text
        assert reached == [path.partition("?")[0]]
        counted = metrics.REQUESTS.labels("GET", first_route(path), "200")._value.get()
        again = http.get(path, headers=headers)
        assert reached == [path.partition("?")[0]], "asked again, it reached the endpoint"
        assert _shown(again) == _shown(first)
        assert again.headers["x-request-id"] != first.headers["x-request-id"]
        # Counted under its route's template, as every request is.
        assert metrics.REQUESTS.labels("GET", first_route(path), "200")._value.get() == counted + 1
        current = http.get(path, headers={**headers, "If-None-Match": first.headers["etag"]})
        assert current.status_code == 304
        assert current.headers["etag"] == first.headers["etag"]
        assert current.content == b""
        head = http.head(path, headers=headers)
        assert head.status_code == 200 and head.content == b""
        assert head.headers["etag"] == first.headers["etag"]
        assert reached == [path.partition("?")[0]]


def first_route(path: str) -> str:
    if path.startswith("/events/"):
        return "/events/{event_id}"
    return path.partition("?")[0]


def test_another_request_is_not_answered_with_a_kept_one(race_client, setting, reached):
    _base_url, http = race_client
    event, secretariat, member = setting
    path = f"/events/{event['id']}"
    assert http.get(path, headers=member.headers).status_code == 200
    for other, status in (
        ({"Authorization": member.headers["Authorization"] + "x"}, 401),
        ({"Authorization": "Bearer"}, 200),  # no token: anonymous
        ({"Authorization": "Basic bWU6cGFzcw=="}, 200),  # not a token: anonymous
        (secretariat.headers, 200),
        (member.headers | {"X-Other": "1"}, 200),  # the same credentials: answered
    ):
        reached.clear()
        response = http.get(path, headers=other)
        assert response.status_code == status, response.text
        assert reached == ([] if "X-Other" in other else [path])
    assert http.get(path + "?unknown=1", headers=member.headers).status_code == 422
    assert http.get(path, headers=member.headers).status_code == 200


def test_a_change_anywhere_outdates_every_answer_in_front(
    race_app, race_database, race_client, setting, race_account, reached
):
    _base_url, http = race_client
    event, secretariat, member = setting
    path = f"/events/{event['id']}"
    for _ in range(2):
        assert http.get(path, headers=member.headers).json()["title"] == event["title"]
    other = create_engine(race_database)  # not the service's: another process's writes
    try:
        with other.begin() as connection:
            connection.execute(update(Event).where(Event.id == event["id"]).values(title="Moved"))
        assert http.get(path, headers=member.headers).json()["title"] == "Moved"
        # The member becomes secretariat: their next listing shows drafts.
        drafts = "/events?status=draft&from=2026-01-01T00:00Z"
        created = http.post(
            "/events", headers=secretariat.headers, json=event_body(kind="other", status="draft")
        )
        assert created.status_code == 201, created.text
        for _ in range(2):
            assert http.get(drafts, headers=member.headers).json()["total"] == 0
        with other.begin() as connection:
            connection.execute(
                update(User)
                .where(User.id == member.id)
                .values(role="secretariat", institution="dg_rtd", member_state=None, region=None)
            )
        assert http.get(drafts, headers=member.headers).json()["total"] == 1
        with other.begin() as connection:
            connection.execute(
                update(ApiToken)
                .where(ApiToken.user_id == member.id)
                .values(revoked_at=ApiToken.created_at)
            )
        for asked in (drafts, path):
            assert http.get(asked, headers=member.headers).status_code == 401
    finally:
        other.dispose()


def test_the_front_steps_aside_as_time_passes(race_client, setting, clock, reached):
    _base_url, http = race_client
    event, _secretariat, member = setting
    listing = "/events"
    clock.set(datetime.fromisoformat(event["starts_at"]) - timedelta(days=1))
    for _ in range(2):
        assert event["id"] in {item["id"] for item in http.get(listing).json()["items"]}
    reached.clear()
    # The event ends: a listing from now no longer shows it, though nothing was written.
    clock.set(datetime.fromisoformat(event["ends_at"]) + timedelta(minutes=1))
    assert event["id"] not in {item["id"] for item in http.get(listing).json()["items"]}
    assert reached == [listing]

    # A caller's token: its last use is noted once a minute, kept answer or not (and
    # written later, app.auth.uses); the token's listing shows it at once.
    path = f"/events/{event['id']}"

    def last_used() -> str:
        tokens = http.get(f"/users/{member.id}/tokens", headers=member.headers).json()
        [token] = tokens["items"]
        return token["last_used_at"]

    for _ in range(2):
        assert http.get(path, headers=member.headers).status_code == 200
    used = clock()
    assert last_used() == written(used)
    clock.set(clock() + timedelta(seconds=30))
    assert http.get(path, headers=member.headers).status_code == 200
    assert last_used() == written(used)
    clock.set(clock() + timedelta(seconds=31))
    assert http.get(path, headers=member.headers).status_code == 200
    assert last_used() == written(clock())


def test_what_the_front_keeps_and_what_it_leaves_to_the_routes(
    race_app, race_client, setting, reached, monkeypatch
):
    _base_url, http = race_client
    event, _secretariat, member = setting
    path = f"/events/{event['id']}"
    etag = http.get(path).headers["etag"]

    # Only a 304 was answered: a request that wants the body goes to the route.
    race_app.state.answers.clear()
    race_app.state.front.clear()
    assert http.get(path, headers={"If-None-Match": etag}).status_code == 304
    reached.clear()
    assert http.get(path, headers={"If-None-Match": etag}).status_code == 304
    assert reached == []
    full = http.get(path)
    assert full.status_code == 200 and full.json()["id"] == event["id"]
    assert reached == [path]

    # A HEAD the front answers is counted as a HEAD of its route.
    counted = metrics.REQUESTS.labels("HEAD", "/events/{event_id}", "200")._value.get()
    assert http.head(path).status_code == 200
    assert reached == [path]
    assert metrics.REQUESTS.labels("HEAD", "/events/{event_id}", "200")._value.get() == counted + 1

    # Two Authorization headers, or a path and query too long: never kept.
    twice = [("Authorization", member.headers["Authorization"])] * 2
    long = "/events?q=" + "%C3%A9" * 200  # 200 letters, 1,200 characters once encoded
    for headers, asked in ((twice, path), ({}, long)):
        reached.clear()
        for _ in range(2):
            assert http.get(asked, headers=headers).status_code == 200
        assert reached == [asked.partition("?")[0]] * 2

    # The state cannot be read: one failed read, answered as the route answers it.
    reads: list[int] = []

    async def failing_read():
        reads.append(1)
        raise DatabaseBusy("The database did not answer in time; try again later")

    monkeypatch.setattr(race_app.state.data_states, "read", failing_read)
    refused = http.get(path)
    assert refused.status_code == 503, refused.text
    assert reads == [1]


def test_a_listing_up_to_a_moment_is_refused_once_that_moment_is_past(
    race_client, setting, clock, reached
):
    _base_url, http = race_client
    moment = clock() + timedelta(days=1)
    listing = f"/events?to={moment.isoformat().replace('+00:00', 'Z')}"
    for _ in range(2):
        answer = http.get(listing)
        assert answer.status_code == 200, answer.text
        assert answer.json()["items"] == []  # the event begins in 60 days
    assert reached == ["/events"]
    clock.set(moment + timedelta(minutes=1))
    refused = http.get(listing)
    assert refused.status_code == 422, refused.text


def test_a_seminar_and_its_tally_in_front_follow_its_dates(
    race_client, race_account, clock, reached
):
    _base_url, http = race_client
    sedec = race_account("secretariat", institution="cor_sedec")
    member = race_account("member", member_state="PT", region="Norte")
    seminar = seminar_in_voting(http, clock, sedec, member)
    shown, tally = f"/seminars/{seminar['id']}", f"/seminars/{seminar['id']}/tally"
    reached.clear()
    for _ in range(2):
        assert http.get(shown).json()["phase"] == "voting"
        assert http.get(tally, headers=sedec.headers).status_code == 200
        assert http.get(tally, headers=member.headers).status_code == 403
    assert reached == [shown, tally, tally, tally]  # a refusal is never kept
    clock.set(AFTER_VOTING)  # nothing written: the phase moves, the tally opens
    assert http.get(shown).json()["phase"] == "agreement"
    assert http.get(tally, headers=member.headers).status_code == 200


def written(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
