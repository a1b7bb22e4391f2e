"""Limits that hold when many requests race through a live server, with real commits,
on PostgreSQL and on SQLite."""

import itertools
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import func, select

from app.config import Settings
from app.models import Proposal, Support
from tests.helpers.answers import detail_of
from tests.helpers.seminars import AFTER_VOTING, IN_PROPOSALS, IN_VOTING, seminar_body

# The race database lives for the whole session: each test takes years of its own.
_years = itertools.count(2040)


@pytest.fixture
def race(race_app, race_client, race_account, clock):
    """The live server, with a plan term wide enough for a fresh year per seminar."""
    race_app.state.settings = Settings(
        database_url=race_app.state.settings.database_url,
        plan_start_year=2000,
        plan_end_year=2100,
        _env_file=None,  # type: ignore[call-arg]
    )
    base_url, client = race_client
    clock.set(datetime(2026, 11, 25, 9, 0, tzinfo=UTC))
    return base_url, client


def all_at_once(
    base_url: str, calls: list[tuple[str, str, dict, dict | None]]
) -> list[httpx.Response]:
    """Send the calls (method, path, headers, json) together, released by one barrier."""
    barrier = threading.Barrier(len(calls))

    def send(call):
        method, path, headers, body = call
        with httpx.Client(base_url=base_url, timeout=60) as client:
            barrier.wait()
            return client.request(method, path, headers=headers, json=body)

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(send, calls))


def new_seminar(client: httpx.Client, account) -> dict:
    year = next(_years)
    response = client.post("/seminars", headers=account.headers, json=seminar_body(year=year))
    assert response.status_code == 201, response.text
    return response.json()


def proposals_for(client, clock, seminar: dict, proposer, count: int) -> list[dict]:
    clock.set(IN_PROPOSALS)
    made = []
    for n in range(count):
        response = client.post(
            f"/seminars/{seminar['id']}/proposals",
            headers=proposer.headers,
            json={"title": f"Topic {n}", "summary": "A topic.", "actions": [1 + n % 11]},
        )
        assert response.status_code == 201, response.text
        made.append(response.json())
    return made


def test_many_supports_at_once_from_one_voter_stop_at_the_cap(race, race_app, race_account, clock):
    base_url, client = race
    sedec = race_account("secretariat", institution="cor_sedec")
    voter = race_account("member")
    seminar = new_seminar(client, sedec)
    proposals = proposals_for(client, clock, seminar, sedec, 12)
    clock.set(IN_VOTING)
    responses = all_at_once(
        base_url,
        [("PUT", f"/proposals/{p['id']}/support", voter.headers, None) for p in proposals],
    )
    codes = sorted(response.status_code for response in responses)
    assert codes == [200] * 3 + [409] * 9, [r.text for r in responses]
    assert all("the cap of 3" in detail_of(r) for r in responses if r.status_code == 409)
    with race_app.state.sessionmaker() as session:
        stored = session.scalar(
            select(func.count()).select_from(Support).where(Support.voter_id == voter.id)
        )
    assert stored == 3


def test_the_same_support_sent_many_times_at_once_counts_once(race, race_app, race_account, clock):
    base_url, client = race
    sedec = race_account("secretariat", institution="cor_sedec")
    voter = race_account("secretariat", institution="jrc")
    seminar = new_seminar(client, sedec)
    [proposal] = proposals_for(client, clock, seminar, sedec, 1)
    clock.set(IN_VOTING)
    responses = all_at_once(
        base_url, [("PUT", f"/proposals/{proposal['id']}/support", voter.headers, None)] * 10
    )
    assert [r.status_code for r in responses] == [200] * 10, [r.text for r in responses]
    with race_app.state.sessionmaker() as session:
        stored = session.scalars(select(Support).where(Support.voter_id == voter.id)).all()
    assert [(s.proposal_id, s.affiliation) for s in stored] == [(proposal["id"], "jrc")]


def test_both_institutions_choosing_at_once_never_leave_a_seminar_half_agreed(
    race, race_account, clock
):
    base_url, client = race
    officials = [
        race_account("secretariat", institution=institution)
        for institution in ("dg_rtd", "cor_sedec")
        for _ in range(3)
    ]
    for _round in range(8):
        clock.set(datetime(2026, 11, 25, 9, 0, tzinfo=UTC))
        seminar = new_seminar(client, officials[0])
        proposals = proposals_for(client, clock, seminar, officials[0], 3)
        clock.set(AFTER_VOTING)
        chosen = proposals[1]["id"]
        path = f"/seminars/{seminar['id']}/agreement"
        responses = all_at_once(
            base_url,
            [("PUT", path, official.headers, {"proposal_id": chosen}) for official in officials],
        )
        assert [r.status_code for r in responses] == [200] * 6, [r.text for r in responses]
        state = client.get(f"/seminars/{seminar['id']}").json()
        assert state["phase"] == "agreed"
        assert state["agreement"] == {
            "dg_rtd": chosen,
            "cor_sedec": chosen,
            "agreed_proposal_id": chosen,
        }
        listed = client.get(f"/seminars/{seminar['id']}/proposals").json()["items"]
        assert {p["id"]: p["status"] for p in listed} == {
            p["id"]: "agreed" if p["id"] == chosen else "not_selected" for p in proposals
        }


def test_many_openings_of_the_same_seminar_at_once_make_one(race, race_account):
    base_url, client = race
    sedec = race_account("secretariat", institution="cor_sedec")
    year = next(_years)
    responses = all_at_once(
        base_url, [("POST", "/seminars", sedec.headers, seminar_body(year=year))] * 10
    )
    codes = sorted(response.status_code for response in responses)
    assert codes == [201] + [409] * 9, [r.text for r in responses]
    assert client.get("/seminars", params={"year": year}).json()["total"] == 1


def test_a_proposal_withdrawn_many_times_at_once_is_withdrawn_once(race, race_account, clock):
    base_url, client = race
    sedec = race_account("secretariat", institution="cor_sedec")
    proposer = race_account("member")
    seminar = new_seminar(client, sedec)
    [proposal] = proposals_for(client, clock, seminar, proposer, 1)
    responses = all_at_once(
        base_url, [("POST", f"/proposals/{proposal['id']}/withdraw", proposer.headers, None)] * 8
    )
    # One withdraws; the others find it withdrawn and answer it as it stands.
    assert [r.status_code for r in responses] == [200] * 8, [r.text for r in responses]
    assert len({r.text for r in responses}) == 1
    trail = client.get(
        "/audit",
        headers=sedec.headers,
        params={"entity_type": "proposal", "entity_id": proposal["id"]},
    ).json()["items"]
    assert [entry["action"] for entry in trail].count("proposal.withdrawn") == 1


def test_the_same_topic_sent_twice_at_once_is_one_proposal(race, race_app, race_account, clock):
    base_url, client = race
    sedec = race_account("secretariat", institution="cor_sedec")
    proposers = [race_account("member") for _ in range(3)]
    for _round in range(4):
        clock.set(datetime(2026, 11, 25, 9, 0, tzinfo=UTC))
        seminar = new_seminar(client, sedec)
        clock.set(IN_PROPOSALS)
        path = f"/seminars/{seminar['id']}/proposals"
        body = {"title": "Regional innovation valleys", "summary": "A topic.", "actions": [10]}
        responses = all_at_once(
            base_url,
            [("POST", path, proposer.headers, body) for proposer in proposers for _ in range(2)],
        )
        codes = sorted(response.status_code for response in responses)
        assert codes == [201] * 3 + [409] * 3, [r.text for r in responses]
        made = {r.json()["id"] for r in responses if r.status_code == 201}
        for response in responses:
            if response.status_code == 409:
                named = detail_of(response).split("(proposal ")[1].split(")")[0]
                assert int(named) in made, detail_of(response)
        with race_app.state.sessionmaker() as session:
            stored = session.scalars(
                select(Proposal.proposer_id).where(Proposal.seminar_id == seminar["id"])
            ).all()
        assert sorted(stored) == sorted(proposer.id for proposer in proposers)


def test_a_seminar_scheduled_again_at_once_gets_one_event(race, race_account, clock):
    base_url, client = race
    dg_rtd = race_account("secretariat", institution="dg_rtd")
    sedec = race_account("secretariat", institution="cor_sedec")
    seminar = new_seminar(client, sedec)
    [topic] = proposals_for(client, clock, seminar, sedec, 1)
    clock.set(AFTER_VOTING)
    path = f"/seminars/{seminar['id']}"
    for official in (dg_rtd, sedec):
        chosen = client.put(
            f"{path}/agreement", headers=official.headers, json={"proposal_id": topic["id"]}
        )
        assert chosen.status_code == 200, chosen.text
    year = seminar["year"]
    when = {
        "starts_at": f"{year}-04-15T09:00",
        "ends_at": f"{year}-04-15T17:00",
        "timezone": "Europe/Brussels",
        "online_url": "https://meet.example.eu/seminar",
    }
    first = client.post(f"{path}/event", headers=sedec.headers, json=when)
    assert first.status_code == 201, first.text
    cancelled = client.post(
        f"/events/{first.json()['id']}/cancel", headers=sedec.headers, json={"reason": "x"}
    )
    assert cancelled.status_code == 200, cancelled.text
    responses = all_at_once(base_url, [("POST", f"{path}/event", sedec.headers, when)] * 6)
    codes = sorted(response.status_code for response in responses)
    assert codes == [201] + [409] * 5, [r.text for r in responses]
    [made] = [r.json()["id"] for r in responses if r.status_code == 201]
    assert all(
        f"already scheduled as event {made}" in detail_of(r)
        for r in responses
        if r.status_code == 409
    )
    state = client.get(path).json()
    assert (state["phase"], state["event_id"]) == ("scheduled", made)
    live = client.get("/events", params={"kind": "joint_seminar", "status": "published"})
    # (the race database is shared with the other races, which may schedule seminars too)
    assert [e["id"] for e in live.json()["items"] if e["seminar_id"] == seminar["id"]] == [made]
