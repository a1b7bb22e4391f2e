"""The read paths answer exactly what they answered before they were made faster.

A fixed programme (tests/helpers/programme.py) is built through the API on a fresh
database of each kind, so that ids and times are always the same; then a fixed list of
reads is made as anonymous callers, members, participants and the secretariat, and each
answer's status, media type and body are compared, byte for byte, with the answers kept
in ``tests/answers/``. Those were written by the code as it stood before the read paths
were reworked (``KEP_WRITE_ANSWERS=1`` writes them again, for a deliberate change).
"""

import json
import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.accounts import service as users
from app.accounts.schemas import UserCreate
from app.config import Settings
from app.main import create_app
from app.models import Role
from tests.helpers.accounts import Account
from tests.helpers.clock import MovableClock
from tests.helpers.database import BACKENDS, migrate, scratch_database
from tests.helpers.programme import AS_OF, Programme, build_programme

ANSWERS = Path(__file__).parent / "answers"
WRITE = os.environ.get("KEP_WRITE_ANSWERS") == "1"


@pytest.fixture(scope="module", params=BACKENDS)
def built(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, TestClient, Programme]]:
    with scratch_database(request.param, tmp_path_factory) as url:
        migrate(url)
        clock = MovableClock(datetime(2026, 11, 25, 9, 0, tzinfo=AS_OF.tzinfo))
        app: FastAPI = create_app(Settings(database_url=url, _env_file=None))  # type: ignore[call-arg]
        app.state.clock = clock
        made = 0

        def make_account(role: Role | str, name: str | None = None, **fields) -> Account:
            nonlocal made
            made += 1
            role = Role(role)
            if role == Role.member:
                fields = {"member_state": "BE", "region": "Brussels-Capital Region", **fields}
            if role == Role.secretariat:
                fields = {"institution": "dg_rtd", **fields}
            data = UserCreate(
                name=name or f"Person {made}",
                email=f"person{made}@example.eu",
                role=role,
                **fields,
            )
            with app.state.sessionmaker.begin() as session:
                account = users.create_account(
                    session=session, data=data, token_label="test", now=clock()
                )
            return Account(user=account.user, token=account.secret)

        try:
            with TestClient(app) as client:
                programme = build_programme(client, clock, make_account)
                yield request.param, client, programme
        finally:
            app.state.engine.dispose()


def _reads(programme: Programme) -> list[tuple[str, str, str | None]]:
    """(name, path, who): who is an account's key, or None for an anonymous caller."""
    events, seminars = programme.events, programme.seminars
    reads: list[tuple[str, str, str | None]] = []
    listings = [
        "/events",
        "/events?limit=50",
        "/events?limit=2&offset=1",
        "/events?from=2026-01-01T00:00Z&limit=50",
        "/events?from=2026-01-01T00:00Z&priority_area=2&country=PT",
        "/events?from=2026-01-01T00:00Z&action=10",
        "/events?from=2026-01-01T00:00Z&kind=peer_to_peer",
        "/events?from=2026-01-01T00:00Z&status=cancelled",
        "/events?from=2026-01-01T00:00Z&q=innovation",
        "/events?from=2027-01-01T00:00Z&to=2027-06-30T00:00Z",
        "/events?from=2026-01-01T00:00Z&host=5",
        "/events?offset=500",
    ]
    for who in (None, "rtd", "milan", "people0"):
        for path in listings:
            reads.append((f"{path} as {who}", path, who))
    for name, event_id in sorted(events.items()):
        for who in (None, "rtd", "milan"):
            reads.append((f"event {name} as {who}", f"/events/{event_id}", who))
        reads.append((f"agenda {name}", f"/events/{event_id}/agenda", None))
        reads.append((f"registrations {name}", f"/events/{event_id}/registrations", "rtd"))
    reads.append(("no such event", "/events/999999", None))
    for name, seminar_id in sorted(seminars.items()):
        for who in (None, "sedec", "norte"):
            reads.append((f"seminar {name} as {who}", f"/seminars/{seminar_id}", who))
            reads.append((f"tally {name} as {who}", f"/seminars/{seminar_id}/tally", who))
            reads.append((f"proposals {name} as {who}", f"/seminars/{seminar_id}/proposals", who))
    reads.append(("seminars", "/seminars", None))
    reads.append(("no such seminar", "/seminars/999999/tally", "sedec"))
    for who in ("people0", "people1", "people2", "people3", "norte", "rtd"):
        reads.append((f"my registrations as {who}", "/me/registrations", who))
        reads.append(
            (f"my registrations, page 2 as {who}", "/me/registrations?limit=1&offset=1", who)
        )
    for path in ("/actions", "/priority-areas", "/actions/7", "/priority-areas/2"):
        reads.append((path, path, None))
    return reads


def _headers(programme: Programme, who: str | None) -> dict[str, str]:
    if who is None:
        return {}
    accounts = programme.accounts
    if who.startswith("people"):
        return accounts["people"][int(who.removeprefix("people"))].headers
    return accounts[who].headers


def test_reads_answer_byte_for_byte_what_they_answered_before(built):
    backend, client, programme = built
    answers = {}
    for name, path, who in _reads(programme):
        response = client.get(path, headers=_headers(programme, who))
        answers[name] = {
            "path": path,
            "status": response.status_code,
            "type": response.headers.get("content-type"),
            "body": response.content.decode("utf-8"),
        }
    kept = ANSWERS / f"reads-{backend}.json"
    if WRITE:
        ANSWERS.mkdir(exist_ok=True)
        kept.write_text(json.dumps(answers, indent=1, ensure_ascii=False) + "\n")
    expected = json.loads(kept.read_text())
    assert list(answers) == list(expected)
    for name, answer in answers.items():
        assert answer == expected[name], name
