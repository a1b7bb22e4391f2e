"""Capacity holds when many people register at the same moment: real HTTP, real commits,
on PostgreSQL and on SQLite."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import httpx

from app.config import Settings
from app.main import create_app
from tests.helpers.server import live_server

CAPACITY = 20
PEOPLE = 120


class TickingClock:
    """A clock that moves on at every reading, as a real one does between requests: the
    order in which requests read it differs from the order in which they get the lock."""

    def __init__(self, start: datetime) -> None:
        self.now = start
        self.lock = threading.Lock()

    def __call__(self) -> datetime:
        with self.lock:
            self.now += timedelta(milliseconds=1)
            return self.now


def test_capacity_and_waitlist_hold_under_120_concurrent_registrations(
    race_app, race_database, race_client, race_account, clock
):
    """Two servers with their own connection pools share one database, as two
    processes behind a load balancer would; each takes half of the requests."""
    base_url, client = race_client
    secretariat = race_account("secretariat", institution="cor_sedec")
    people = [race_account("participant") for _ in range(PEOPLE)]
    created = client.post(
        "/events",
        headers=secretariat.headers,
        json={
            "title": "Oversubscribed seminar",
            "kind": "joint_seminar",
            "status": "published",
            "starts_at": "2027-06-01T09:00",
            "ends_at": "2027-06-01T17:00",
            "timezone": "Europe/Brussels",
            "venue": {"name": "Hemicycle", "city": "Brussels", "country": "BE"},
            "capacity": CAPACITY,
            "actions": [1],
        },
    )
    assert created.status_code == 201, created.text
    event_id = created.json()["id"]

    ticking = TickingClock(clock.now)
    race_app.state.clock = ticking
    second_app = create_app(Settings(database_url=race_database, _env_file=None))  # type: ignore[call-arg]
    second_app.state.clock = ticking
    start = threading.Barrier(PEOPLE)
    limits = httpx.Limits(max_connections=PEOPLE, max_keepalive_connections=PEOPLE)

    with (
        live_server(second_app) as second_url,
        httpx.Client(base_url=base_url, timeout=120, limits=limits) as first,
        httpx.Client(base_url=second_url, timeout=120, limits=limits) as second,
    ):

        def attempt(index: int) -> httpx.Response:
            start.wait()
            server = first if index % 2 else second
            return server.post(f"/events/{event_id}/registrations", headers=people[index].headers)

        with ThreadPoolExecutor(max_workers=PEOPLE) as pool:
            answers = list(pool.map(attempt, range(PEOPLE)))
    second_app.state.engine.dispose()

    assert [a.status_code for a in answers if a.status_code != 201] == []
    statuses = [a.json()["status"] for a in answers]
    assert statuses.count("registered") == CAPACITY
    assert statuses.count("waitlisted") == PEOPLE - CAPACITY
    positions = sorted(a.json()["position"] for a in answers if a.json()["status"] == "waitlisted")
    assert positions == list(range(1, PEOPLE - CAPACITY + 1))

    everyone = {"limit": 200}
    listed = client.get(
        f"/events/{event_id}/registrations", headers=secretariat.headers, params=everyone
    ).json()["items"]
    assert sum(r["status"] == "registered" for r in listed) == CAPACITY
    assert [r["position"] for r in listed if r["status"] == "waitlisted"] == list(
        range(1, PEOPLE - CAPACITY + 1)
    )
    event = client.get(f"/events/{event_id}").json()
    assert (event["registered"], event["waitlisted"]) == (CAPACITY, PEOPLE - CAPACITY)

    # Ten people with places cancel at once: exactly ten move up, in waitlist order.
    leaving = [a.json()["user"]["id"] for a in answers if a.json()["status"] == "registered"][:10]
    by_id = {person.id: person for person in people}
    with ThreadPoolExecutor(max_workers=10) as pool:
        cancelled = list(
            pool.map(
                lambda user_id: client.delete(
                    f"/events/{event_id}/registrations/me", headers=by_id[user_id].headers
                ),
                leaving,
            )
        )
    assert [c.status_code for c in cancelled] == [200] * 10
    after = client.get(
        f"/events/{event_id}/registrations", headers=secretariat.headers, params=everyone
    ).json()["items"]
    assert sum(r["status"] == "registered" for r in after) == CAPACITY
    assert [r["position"] for r in after if r["status"] == "waitlisted"] == list(
        range(1, PEOPLE - CAPACITY - 10 + 1)
    )
