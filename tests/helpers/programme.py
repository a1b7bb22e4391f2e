"""A known programme across the plan's years, built through the API, for the reports.

As of ``AS_OF`` (2027-06-15), it holds:

2026  E1      other, held, Brussels (BE), action 3, 1 registered
2027  HEL     other, held, Helsinki (FI), action 1; starts 01:00 on 1 January 2027 in
              Helsinki, still 31 December 2026 in UTC; 1 registered
      S1      joint_seminar (seminar 1 of 2027, topic on actions 2 and 10), held, Brussels
              (BE), capacity 2: 2 registered, 1 waitlisted; its agenda confirmed
      P1      peer_to_peer hosted from PT/Norte, held, Porto (PT), action 10, priority
              area 1 only; 1 registered
      P2      peer_to_peer hosted from BE/Brussels-Capital Region, upcoming, Brussels
              (BE), action 7 (retired since); 2 registered, 1 cancelled registration
      AZ      peer_to_peer hosted from PT/Região Autónoma dos Açores, upcoming, Ponta
              Delgada (PT), action 11; runs across New Year, from 23:30 on 31 December
              2027 in the Azores, already 2028 in UTC; 1 registered
      C1      other, cancelled, Warsaw (PL), action 9; its registration is kept
      D1      other, a draft, Rome (IT), action 5: not counted
      SUB     peer_to_peer submitted, never published, Milan (IT), action 6: not counted
      seminar 2 of 2027 is in its proposals phase
2028  F1      other, upcoming, online only, action 4
2029  nothing

Action 8 is served by no event at all.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient

from tests.helpers.events import create_event, published_event
from tests.helpers.seminars import (
    AFTER_VOTING,
    IN_PROPOSALS,
    IN_VOTING,
    iso,
    open_seminar,
    propose,
    support,
)

AS_OF = datetime(2027, 6, 15, 12, 0, tzinfo=UTC)
AZORES = "Região Autónoma dos Açores"
COMMUNICATION = {"reference": "Ares(2026)4455667", "date": "2026-11-20"}


def _venue(name: str, city: str, country: str) -> dict[str, Any]:
    return {"name": name, "city": city, "country": country}


@dataclass
class Programme:
    events: dict[str, int] = field(default_factory=dict)
    seminars: dict[str, int] = field(default_factory=dict)
    proposals: dict[str, int] = field(default_factory=dict)
    accounts: dict[str, Any] = field(default_factory=dict)


def _register(client: TestClient, event_id: int, *accounts: Any) -> None:
    for account in accounts:
        response = client.post(f"/events/{event_id}/registrations", headers=account.headers)
        assert response.status_code == 201, response.text


def _publish(client: TestClient, event_id: int, secretariat: Any) -> None:
    response = client.post(f"/events/{event_id}/publish", headers=secretariat.headers)
    assert response.status_code == 200, response.text


def build_programme(client: TestClient, clock: Any, make_account: Any) -> Programme:
    """The programme above; the clock is left at ``AS_OF``."""
    rtd = make_account("secretariat", "Rui RTD", institution="dg_rtd")
    sedec = make_account("secretariat", "Sofia SEDEC", institution="cor_sedec")
    jrc = make_account("secretariat", "Jo JRC", institution="jrc")
    norte = make_account("member", "Ana Norte", member_state="PT", region="Norte")
    brussels = make_account(
        "member", "Bert Bruxelles", member_state="BE", region="Brussels-Capital Region"
    )
    azores = make_account("member", "Inês Açores", member_state="PT", region=AZORES)
    milan = make_account("member", "Carla Lombardia", member_state="IT", region="Lombardia")
    people = [make_account("participant", f"Pia Public {n}") for n in range(4)]
    programme = Programme(
        accounts={
            "rtd": rtd,
            "sedec": sedec,
            "jrc": jrc,
            "norte": norte,
            "brussels": brussels,
            "azores": azores,
            "milan": milan,
            "people": people,
        }
    )
    events = programme.events

    events["E1"] = published_event(
        client,
        rtd.headers,
        title="Innovation valleys in practice",
        starts_at="2026-12-10T09:30",
        ends_at="2026-12-10T17:00",
        actions=[3],
    )["id"]
    events["HEL"] = published_event(
        client,
        rtd.headers,
        title="Nordic foresight at the turn of the year",
        starts_at="2027-01-01T01:00",
        ends_at="2027-01-01T05:00",
        timezone="Europe/Helsinki",
        venue=_venue("Oodi", "Helsinki", "FI"),
        actions=[1],
    )["id"]
    events["P1"] = create_event(
        client,
        norte.headers,
        title="Smart specialisation in Norte",
        starts_at="2027-05-10T10:00",
        ends_at="2027-05-10T16:00",
        timezone="Europe/Lisbon",
        venue=_venue("Alfândega", "Porto", "PT"),
        actions=[10],
        priority_areas=[1],
    )["id"]
    events["P2"] = create_event(
        client,
        brussels.headers,
        title="=Creative industries in Brussels",  # a title a spreadsheet would compute
        starts_at="2027-09-20T14:00",
        ends_at="2027-09-20T18:00",
        venue=_venue("Bozar", "Brussels", "BE"),
        actions=[7],
    )["id"]
    events["AZ"] = create_event(
        client,
        azores.headers,
        title="Atlantic resilience: a watch across the New Year",
        starts_at="2027-12-31T23:30",
        ends_at="2028-01-02T12:00",
        timezone="Atlantic/Azores",
        venue=_venue("Teatro Micaelense", "Ponta Delgada", "PT"),
        actions=[11],
    )["id"]
    events["C1"] = published_event(
        client,
        rtd.headers,
        title="Risk data for municipalities",
        starts_at="2027-10-05T09:00",
        ends_at="2027-10-05T13:00",
        timezone="Europe/Warsaw",
        venue=_venue("Pałac Kultury", "Warsaw", "PL"),
        actions=[9],
    )["id"]
    events["D1"] = create_event(
        client,
        rtd.headers,
        kind="other",
        title="A draft in Rome",
        starts_at="2027-11-01T10:00",
        ends_at="2027-11-01T12:00",
        timezone="Europe/Rome",
        venue=_venue("Palazzo", "Rome", "IT"),
        actions=[5],
    )["id"]
    events["SUB"] = create_event(
        client,
        milan.headers,
        title="Health research in Lombardia",
        starts_at="2027-07-01T10:00",
        ends_at="2027-07-01T12:00",
        timezone="Europe/Rome",
        venue=_venue("Pirellone", "Milan", "IT"),
        actions=[6],
    )["id"]
    events["F1"] = published_event(
        client,
        rtd.headers,
        title="2Zero partnership online",
        starts_at="2028-02-01T10:00",
        ends_at="2028-02-01T12:00",
        venue=None,
        online_url="https://meet.example.eu/2zero",
        actions=[4],
    )["id"]
    for name in ("P1", "P2", "AZ"):
        _publish(client, events[name], rtd)

    first, second, third, fourth = people
    _register(client, events["E1"], first)
    _register(client, events["HEL"], second)
    _register(client, events["P1"], first)
    _register(client, events["P2"], second, third, fourth)
    response = client.delete(f"/events/{events['P2']}/registrations/me", headers=fourth.headers)
    assert response.status_code == 200, response.text
    _register(client, events["AZ"], first)
    _register(client, events["C1"], first)
    response = client.post(
        f"/events/{events['C1']}/cancel", headers=rtd.headers, json={"reason": "Venue closed"}
    )
    assert response.status_code == 200, response.text
    response = client.patch(
        "/actions/7",
        headers=sedec.headers,
        json={"status": "retired", "communication": COMMUNICATION},
    )
    assert response.status_code == 200, response.text

    _seminars(client, clock, programme, people)
    clock.set(AS_OF)
    return programme


def _seminars(client: TestClient, clock: Any, programme: Programme, people: list[Any]) -> None:
    """Seminar 1 of 2027 from call to event; seminar 2 of 2027 opened for June."""
    accounts = programme.accounts
    rtd, sedec, jrc = accounts["rtd"], accounts["sedec"], accounts["jrc"]
    seminar = open_seminar(client, sedec)
    programme.seminars["2027/1"] = seminar["id"]
    programme.seminars["2027/2"] = open_seminar(
        client,
        sedec,
        number=2,
        proposals_open_at=iso(datetime(2027, 6, 1, 9, tzinfo=UTC)),
        proposals_close_at=iso(datetime(2027, 7, 1, 17, tzinfo=UTC)),
        voting_close_at=iso(datetime(2027, 7, 15, 17, tzinfo=UTC)),
    )["id"]

    clock.set(IN_PROPOSALS)
    topic = propose(client, accounts["norte"], seminar["id"], title="Regional innovation valleys")
    clock.advance(hours=1)
    other = propose(
        client, rtd, seminar["id"], title="Valorising research in clusters", actions=[8]
    )
    programme.proposals = {"topic": topic["id"], "other": other["id"]}

    clock.set(IN_VOTING)
    support(client, accounts["norte"], topic["id"])
    support(client, jrc, topic["id"])
    support(client, accounts["brussels"], other["id"])
    support(client, rtd, other["id"])
    response = client.delete(f"/proposals/{other['id']}/support", headers=rtd.headers)
    assert response.status_code == 200, response.text  # taken back: it no longer counts
    assert response.json()["supported"] is False

    clock.set(AFTER_VOTING)
    path = f"/seminars/{seminar['id']}"
    for account in (rtd, sedec):
        response = client.put(
            f"{path}/agreement", headers=account.headers, json={"proposal_id": topic["id"]}
        )
        assert response.status_code == 200, response.text
        clock.advance(hours=1)
    response = client.post(
        f"{path}/event",
        headers=sedec.headers,
        json={
            "starts_at": "2027-03-18T09:00",
            "ends_at": "2027-03-18T17:00",
            "timezone": "Europe/Brussels",
            "venue": _venue("Jacques Delors building", "Brussels", "BE"),
            "capacity": 2,
        },
    )
    assert response.status_code == 201, response.text
    programme.events["S1"] = event_id = response.json()["id"]
    _register(client, event_id, *people[:3])
    item = {"starts_at": "2027-03-18T09:30", "ends_at": "2027-03-18T12:00", "title": "Opening"}
    response = client.put(
        f"/events/{event_id}/agenda", headers=sedec.headers, json={"items": [item]}
    )
    assert response.status_code == 200, response.text
    response = client.post(f"/events/{event_id}/agenda/confirm", headers=rtd.headers)
    assert response.status_code == 200, response.text
