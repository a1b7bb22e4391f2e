"""A token's last use, as requests note it: the uses of many tokens are written together, so
that people starting to read do not drop, one commit each, the answers every worker
keeps; what is noted is written as the service stops, and a write that fails is tried
again. Served for real on the service's own pool, as in production."""

import logging

import httpx
from sqlalchemy import text

from app.config import Settings
from app.main import create_app
from tests.helpers.accounts import last_uses
from tests.helpers.server import live_server
from tests.helpers.waiting import until
from tests.test_database_failures import holding_rows, upcoming_event


def test_first_reads_by_many_tokens_keep_the_kept_answers_and_are_written_together(
    race_database, race_app, race_account, clock, reached
):
    people = [race_account("participant", f"Reader {number}") for number in range(12)]
    race_app.state.token_uses.every = 3600  # no write until the service stops
    with live_server(race_app) as base_url, httpx.Client(base_url=base_url) as http:
        for _ in range(2):
            assert http.get("/events").status_code == 200
        reached.clear()
        for person in people:
            assert http.get("/me", headers=person.headers).status_code == 200
        # Nothing was committed: the listing kept before is still the answer.
        assert http.get("/events").status_code == 200
        assert reached == ["/me"] * len(people)
        first = clock()
        assert last_uses(race_database, people) == [None] * len(people)
        # The token's listing shows the use noted, before it is written.
        listed = http.get(f"/users/{people[0].id}/tokens", headers=people[0].headers)
        assert [token["last_used_at"] for token in listed.json()["items"]] == [
            first.isoformat().replace("+00:00", "Z")
        ]
        # Within the minute, a token's use is not noted again; after it, it is.
        clock.advance(seconds=59)
        assert http.get("/me", headers=people[0].headers).status_code == 200
        clock.advance(seconds=1)
        assert http.get("/me", headers=people[1].headers).status_code == 200
    # Stopping wrote what was noted.
    assert last_uses(race_database, people) == [first, clock()] + [first] * (len(people) - 2)


TOKENS = text("SELECT id FROM api_tokens FOR UPDATE")


def test_uses_that_could_not_be_written_are_written_once_they_can(
    race_database, race_account, clock, caplog
):
    app = create_app(Settings(database_url=race_database, db_lock_timeout=1, _env_file=None))  # type: ignore[call-arg]
    app.state.clock = clock
    app.state.token_uses.every = 0.1
    person = race_account("participant")
    try:
        with live_server(app) as base_url:
            with holding_rows(race_database, TOKENS), caplog.at_level(logging.WARNING):
                assert httpx.get(f"{base_url}/me", headers=person.headers).status_code == 200
                until(lambda: "last uses were not written" in caplog.text)
                assert last_uses(race_database, [person]) == [None]
            until(app.state.token_uses.settled)
            assert last_uses(race_database, [person]) == [clock()]
    finally:
        app.state.engine.dispose()


def test_a_change_notes_its_token_use_too(race_database, race_app, race_account, clock):
    secretariat = race_account("secretariat", institution="cor_sedec")
    person = race_account("participant")
    race_app.state.token_uses.every = 3600  # no write until the service stops
    with live_server(race_app) as base_url:
        event = upcoming_event(base_url, secretariat)
        registered = httpx.post(
            f"{base_url}/events/{event['id']}/registrations", headers=person.headers
        )
        assert registered.status_code == 201, registered.text
        assert last_uses(race_database, [person]) == [None]
    assert last_uses(race_database, [person]) == [clock()]
