"""Two server processes on one PostgreSQL database, as behind a load balancer: requests race
through both, and every limit holds, nothing answers 5xx, and every accepted change has
exactly one audit entry.

The servers run `kep serve` (both started at once, so both migrate at once) with the
system clock; a seminar's phases are closed by the secretariat when the test moves on, so
no race depends on how long the machine takes to answer it.
"""

import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from app.db import make_engine, make_sessionmaker
from tests.helpers.accounts import Account, add_account
from tests.helpers.database import scratch_database
from tests.helpers.processes import Served, start

Call = tuple[str, str, dict[str, str], Any]


@pytest.fixture(scope="module", params=["postgresql"])  # the tests' ids say where they run
def servers(request, tmp_path_factory) -> Iterator[tuple[str, list[Served]]]:
    with scratch_database(request.param, tmp_path_factory) as url:
        logs = tmp_path_factory.mktemp("servers")
        started: list[Served] = []
        threads = [
            threading.Thread(target=lambda n=n: started.append(start(url, logs / f"{n}.log")))
            for n in range(2)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(started) == 2, [path.read_text()[-2000:] for path in logs.iterdir()]
        try:
            yield url, started
        finally:
            for served in started:
                served.stop()


@pytest.fixture(scope="module")
def people(servers):
    url, _ = servers
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    now = datetime.now(UTC)

    def make(role: str, **fields: Any) -> Account:
        return add_account(factory, role, now=now, **fields)

    yield make
    engine.dispose()


def race(servers: list[Served], calls: list[Call]) -> list[httpx.Response]:
    """Send the calls all at once, alternating between the two servers."""
    barrier = threading.Barrier(len(calls))

    def send(indexed: tuple[int, Call]) -> httpx.Response:
        index, (method, path, headers, body) = indexed
        with httpx.Client(base_url=servers[index % 2].base_url, timeout=120) as client:
            barrier.wait()
            return client.request(method, path, headers=headers, json=body)

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        answers = list(pool.map(send, enumerate(calls)))
    assert [a.text for a in answers if a.status_code >= 500] == []
    return answers


def audit_count(url: str, action: str, entity_id: int | None = None) -> int:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            query = "SELECT count(*) FROM audit_entries WHERE action = :action"
            if entity_id is not None:
                query += " AND entity_id = :id"
            return session.execute(
                text(query), {"action": action, "id": str(entity_id)}
            ).scalar_one()
    finally:
        engine.dispose()


def ahead(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


def statuses(answers: list[httpx.Response]) -> Counter[int]:
    return Counter(answer.status_code for answer in answers)


def test_registrations_past_capacity_through_both_servers(servers, people):
    url, served = servers
    secretariat = people("secretariat", institution="cor_sedec")
    starts = datetime.now(UTC) + timedelta(days=30)
    event = httpx.post(
        served[0].base_url + "/events",
        headers=secretariat.headers,
        json={
            "title": "Oversubscribed",
            "kind": "other",
            "status": "published",
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=4)).isoformat(),
            "timezone": "Europe/Brussels",
            "online_url": "https://meet.example.eu/x",
            "capacity": 15,
            "actions": [1],
        },
    ).json()
    participants = [people("participant") for _ in range(60)]
    path = f"/events/{event['id']}/registrations"
    answers = race(served, [("POST", path, p.headers, None) for p in participants])
    assert statuses(answers) == {201: 60}
    placed = Counter(answer.json()["status"] for answer in answers)
    assert placed == {"registered": 15, "waitlisted": 45}
    positions = sorted(a.json()["position"] for a in answers if a.json()["position"])
    assert positions == list(range(1, 46))
    assert audit_count(url, "registration.created") == 60


def test_a_third_seminar_in_a_year_never_happens(servers, people):
    url, served = servers
    secretariat = people("secretariat", institution="dg_rtd")
    calls = [
        (
            "POST",
            "/seminars",
            secretariat.headers,
            {
                "year": 2028,
                "number": 1 + n % 2,
                "proposals_open_at": ahead(3600),
                "proposals_close_at": ahead(7200),
                "voting_close_at": ahead(10800),
            },
        )
        for n in range(12)
    ]
    answers = race(served, calls)
    assert statuses(answers) == {201: 2, 409: 10}
    assert sorted(a.json()["number"] for a in answers if a.status_code == 201) == [1, 2]
    third = httpx.post(
        served[1].base_url + "/seminars",
        headers=secretariat.headers,
        json={**calls[0][3], "number": 3},
    )
    assert third.status_code == 422
    seminars = httpx.get(served[0].base_url + "/seminars", params={"year": 2028}).json()["items"]
    assert len(seminars) == 2
    assert audit_count(url, "seminar.created") >= 2
    assert sum(audit_count(url, "seminar.created", seminar["id"]) for seminar in seminars) == 2


def test_supports_past_the_cap_and_both_agreements_at_once(servers, people):
    url, served = servers
    first, second = (server.base_url for server in served)
    dg_rtd = people("secretariat", institution="dg_rtd")
    sedec = people("secretariat", institution="cor_sedec")
    members = [people("member") for _ in range(6)]
    seminar = httpx.post(
        first + "/seminars",
        headers=sedec.headers,
        json={
            "year": 2029,
            "number": 1,
            "proposals_open_at": ahead(1),
            "proposals_close_at": ahead(3600),
            "voting_close_at": ahead(7200),
        },
    )
    assert seminar.status_code == 201, seminar.text
    time.sleep(1.5)  # its call opens a second after it was opened, not before
    seminar_id = seminar.json()["id"]
    proposals = []
    for index, member in enumerate(members):
        made = httpx.post(
            (first, second)[index % 2] + f"/seminars/{seminar_id}/proposals",
            headers=member.headers,
            json={"title": f"Topic {index}", "summary": "Why it matters.", "actions": [2]},
        )
        assert made.status_code == 201, made.text
        proposals.append(made.json()["id"])

    # voting: each member supports all six proposals at once
    closed = httpx.post(first + f"/seminars/{seminar_id}/close-proposals", headers=dg_rtd.headers)
    assert closed.status_code == 200, closed.text
    calls = [
        ("PUT", f"/proposals/{proposal}/support", member.headers, None)
        for member in members
        for proposal in proposals
    ]
    answers = race(served, calls)
    assert statuses(answers) == {200: 18, 409: 18}, [a.text for a in answers]  # three each
    refused = {a.json()["detail"].split(" in ")[0] for a in answers if a.status_code == 409}
    assert refused == {"You already support 3 proposals"}  # the cap, and nothing else
    tally = httpx.get(first + f"/seminars/{seminar_id}/tally", headers=sedec.headers).json()
    assert sum(line["supports"] for line in tally["proposals"]) == 18
    assert sum(audit_count(url, "support.given", p) for p in proposals) == 18

    # agreement: both institutions choose at once, several times
    closed = httpx.post(second + f"/seminars/{seminar_id}/close-voting", headers=sedec.headers)
    assert closed.status_code == 200, closed.text
    chosen = proposals[0]
    path = f"/seminars/{seminar_id}/agreement"
    calls = [
        ("PUT", path, account.headers, {"proposal_id": chosen}) for account in (dg_rtd, sedec) * 4
    ]
    answers = race(served, calls)
    assert 200 in statuses(answers) and set(statuses(answers)) <= {200, 409}
    agreed = httpx.get(second + f"/seminars/{seminar_id}").json()
    assert agreed["phase"] == "agreed"
    assert agreed["agreement"] == {
        "dg_rtd": chosen,
        "cor_sedec": chosen,
        "agreed_proposal_id": chosen,
    }
    assert audit_count(url, "seminar.agreed", seminar_id) == 1
    assert audit_count(url, "agreement.recorded", seminar_id) == 2
    states = Counter(httpx.get(first + f"/proposals/{p}").json()["status"] for p in proposals)
    assert states == {"agreed": 1, "not_selected": 5}


def test_edits_to_one_event_through_both_servers(servers, people):
    url, served = servers
    secretariat = people("secretariat", institution="jrc")
    starts = datetime.now(UTC) + timedelta(days=40)
    event = httpx.post(
        served[1].base_url + "/events",
        headers=secretariat.headers,
        json={
            "title": "Edited at once",
            "kind": "other",
            "status": "published",
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=2)).isoformat(),
            "timezone": "Europe/Lisbon",
            "online_url": "https://meet.example.eu/y",
            "actions": [4],
        },
    ).json()
    path = f"/events/{event['id']}"
    calls = [
        ("PATCH", path, secretariat.headers, {"title": f"Edit {n}", "capacity": 10 + n})
        for n in range(20)
    ]
    answers = race(served, calls)
    assert statuses(answers) == {200: 20}
    final = httpx.get(served[0].base_url + path).json()
    assert final["sequence"] == event["sequence"] + 20  # each edit, one version
    assert (final["title"], final["capacity"]) in {(f"Edit {n}", 10 + n) for n in range(20)}
    assert audit_count(url, "event.updated", event["id"]) == 20
