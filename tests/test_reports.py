"""The stocktaking export, the seminars' history, and what every report keeps to: who may
read it, which years, what it never shows, and how many queries it costs."""

import csv
import io
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from app.config import Settings
from tests.helpers.events import create_event, published_event, refused
from tests.helpers.programme import AS_OF, Programme, build_programme
from tests.helpers.seminars import iso

REPORTS = ["/reports/coverage", "/reports/events", "/reports/seminars"]


@pytest.fixture
def programme(client, clock, make_account) -> Programme:
    return build_programme(client, clock, make_account)


def read_csv(response) -> list[dict]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.content.startswith("\ufeff".encode())
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8")[1:])))


# -- the stocktaking export ------------------------------------------------------------

YEAR_2027 = {"from": "2027-01-01T00:00:00Z", "to": "2028-01-01T00:00:00Z"}


def test_the_stocktaking_export_lists_every_event_of_the_interval(client, programme, jrc):
    response = client.get("/reports/events", headers=jrc.headers, params=YEAR_2027)
    assert response.status_code == 200, response.text
    export = response.json()
    events = programme.events
    # Every status, by start; the interval is read in UTC, so the Azores' New Year watch
    # (already 2028 in UTC) is left out and Helsinki's (still 2026 in UTC) is in.
    order = ["HEL", "S1", "P1", "SUB", "P2", "C1", "D1"]
    assert [item["id"] for item in export["items"]] == [events[name] for name in order]
    assert (export["from"], export["to"], export["total"]) == (
        YEAR_2027["from"],
        YEAR_2027["to"],
        7,
    )
    items = {item["id"]: item for item in export["items"]}
    norte = programme.accounts["norte"]
    assert items[events["P1"]] == {
        "id": events["P1"],
        "title": "Smart specialisation in Norte",
        "kind": "peer_to_peer",
        "status": "published",
        "year": 2027,
        "starts_at": "2027-05-10T09:00:00Z",
        "ends_at": "2027-05-10T15:00:00Z",
        "timezone": "Europe/Lisbon",
        "local_starts_at": "2027-05-10T10:00:00+01:00",
        "local_ends_at": "2027-05-10T16:00:00+01:00",
        "host": {"id": norte.id, "name": "Ana Norte", "member_state": "PT", "region": "Norte"},
        "city": "Porto",
        "country": "PT",
        "online": False,
        "actions": [10],
        "priority_areas": [1],
        "capacity": None,
        "registered": 1,
        "waitlisted": 0,
        "agenda_confirmed": False,
        "agenda_confirmed_at": None,
        "published_at": "2026-11-25T09:00:00Z",
        "cancelled_at": None,
    }
    seminar = items[events["S1"]]
    assert (seminar["kind"], seminar["host"], seminar["capacity"]) == ("joint_seminar", None, 2)
    assert (seminar["actions"], seminar["priority_areas"]) == ([2, 10], [1, 2, 3, 4])
    assert (seminar["registered"], seminar["waitlisted"]) == (2, 1)
    assert seminar["agenda_confirmed"] is True
    assert seminar["agenda_confirmed_at"] == "2027-02-05T12:00:00Z"
    helsinki = items[events["HEL"]]
    assert (helsinki["year"], helsinki["starts_at"], helsinki["local_starts_at"]) == (
        2027,
        "2026-12-31T23:00:00Z",
        "2027-01-01T01:00:00+02:00",
    )
    cancelled = items[events["C1"]]
    assert (cancelled["status"], cancelled["cancelled_at"]) == ("cancelled", "2026-11-25T09:00:00Z")
    assert cancelled["registered"] == 1  # kept with the cancelled event, as recorded
    assert items[events["P2"]]["registered"] == 2  # the cancelled registration is not counted
    assert items[events["D1"]]["status"] == "draft"
    assert items[events["SUB"]]["status"] == "submitted"
    assert items[events["SUB"]]["published_at"] is None


def test_the_stocktaking_export_as_csv(client, programme, jrc):
    response = client.get(
        "/reports/events", headers={**jrc.headers, "Accept": "text/csv"}, params=YEAR_2027
    )
    assert response.headers["content-disposition"] == (
        'attachment; filename="kep-events-from-2027-01-01-to-2028-01-01.csv"'
    )
    rows = read_csv(response)
    events = programme.events
    assert [int(row["id"]) for row in rows] == [
        events[name] for name in ["HEL", "S1", "P1", "SUB", "P2", "C1", "D1"]
    ]
    norte = programme.accounts["norte"]
    assert rows[2] == {
        "id": str(events["P1"]),
        "title": "Smart specialisation in Norte",
        "kind": "peer_to_peer",
        "status": "published",
        "year": "2027",
        "starts_at": "2027-05-10T09:00:00Z",
        "ends_at": "2027-05-10T15:00:00Z",
        "timezone": "Europe/Lisbon",
        "local_starts_at": "2027-05-10T10:00:00+01:00",
        "local_ends_at": "2027-05-10T16:00:00+01:00",
        "host_id": str(norte.id),
        "host_name": "Ana Norte",
        "host_member_state": "PT",
        "host_region": "Norte",
        "city": "Porto",
        "country": "PT",
        "online": "no",
        "actions": "10",
        "priority_areas": "1",
        "capacity": "",
        "registered": "1",
        "waitlisted": "0",
        "agenda_confirmed": "no",
        "agenda_confirmed_at": "",
        "published_at": "2026-11-25T09:00:00Z",
        "cancelled_at": "",
    }
    seminar = rows[1]
    assert (seminar["actions"], seminar["priority_areas"]) == ("2; 10", "1; 2; 3; 4")
    assert (seminar["registered"], seminar["waitlisted"], seminar["agenda_confirmed"]) == (
        "2",
        "1",
        "yes",
    )
    assert (seminar["host_name"], seminar["capacity"]) == ("", "2")


def test_the_export_without_bounds_holds_every_event(client, programme, sedec):
    response = client.get("/reports/events", headers=sedec.headers, params={"format": "csv"})
    assert response.headers["content-disposition"] == 'attachment; filename="kep-events.csv"'
    assert len(read_csv(response)) == len(programme.events) == 10
    body = client.get("/reports/events", headers=sedec.headers).json()
    assert (body["from"], body["to"], body["total"]) == (None, None, 10)


def test_spreadsheets_write_instants_to_the_second_as_every_answer_does(client, sedec, clock):
    # A change made now is stamped with the clock's microseconds; the JSON answers drop
    # them, and a spreadsheet of the same rows must not show what the JSON does not.
    clock.set(datetime(2026, 11, 25, 9, 0, 7, 654321, tzinfo=UTC))
    event = published_event(client, sedec.headers)
    assert event["published_at"] == "2026-11-25T09:00:07Z"
    response = client.get("/reports/events", headers=sedec.headers, params={"format": "csv"})
    [row] = read_csv(response)
    assert row["published_at"] == "2026-11-25T09:00:07Z"
    assert row["starts_at"] == event["starts_at"]
    assert row["local_starts_at"] == event["local_starts_at"]


@pytest.mark.parametrize(
    ("params", "phrase", "where"),
    [
        (
            {"from": "2028-01-01T00:00:00Z", "to": "2027-01-01T00:00:00Z"},
            "`to` (2027-01-01T00:00:00Z) must be after `from` (2028-01-01T00:00:00Z)",
            "to",
        ),
        ({"from": "2027-01-01T00:00:00Z", "to": "2027-01-01T00:00:00Z"}, "`to` (2027", "to"),
        ({"from": "soon"}, "datetime", "from"),
        ({"to": "0001-01-01T00:00:00Z"}, "between 2000 and 2100", "to"),
    ],
)
def test_a_bad_interval_is_refused(client, sedec, params, phrase, where):
    response = client.get("/reports/events", headers=sedec.headers, params=params)
    assert response.status_code == 422, response.text
    assert phrase in str(response.json()["detail"])
    assert response.json()["detail"][0]["loc"] == ["query", where]


# -- the seminars' history -------------------------------------------------------------


def test_the_seminars_history_gives_proposals_supports_choices_topic_and_event(
    client, programme, dg_rtd
):
    response = client.get("/reports/seminars", headers=dg_rtd.headers, params={"year": 2027})
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["as_of"] == iso(AS_OF)
    first, second = report["items"]
    topic, other = programme.proposals["topic"], programme.proposals["other"]
    assert first == {
        "id": programme.seminars["2027/1"],
        "year": 2027,
        "number": 1,
        "phase": "scheduled",
        "proposals_open_at": "2026-12-01T09:00:00Z",
        "proposals_close_at": "2027-01-15T17:00:00Z",
        "voting_close_at": "2027-02-01T17:00:00Z",
        "proposals": [
            {
                "id": topic,
                "title": "Regional innovation valleys",
                "status": "agreed",
                "submitted_at": "2026-12-10T10:00:00Z",
                "withdrawn_at": None,
                "actions": [2, 10],
                "priority_areas": [1, 2, 3, 4],
                "proposed_by": {"affiliation": "cor", "member_state": "PT"},
                "supports": 2,
                "by_institution": {"cor": 1, "dg_rtd": 0, "cor_sedec": 0, "jrc": 1},
            },
            {
                "id": other,
                "title": "Valorising research in clusters",
                "status": "not_selected",
                "submitted_at": "2026-12-10T11:00:00Z",
                "withdrawn_at": None,
                "actions": [8],
                "priority_areas": [1, 3],
                "proposed_by": {"affiliation": "dg_rtd", "member_state": None},
                # DG RTD's support was taken back: only the member's stands.
                "supports": 1,
                "by_institution": {"cor": 1, "dg_rtd": 0, "cor_sedec": 0, "jrc": 0},
            },
        ],
        "choices": [
            {"institution": "dg_rtd", "proposal_id": topic, "recorded_at": "2027-02-05T10:00:00Z"},
            {
                "institution": "cor_sedec",
                "proposal_id": topic,
                "recorded_at": "2027-02-05T11:00:00Z",
            },
        ],
        "agreed_at": "2027-02-05T11:00:00Z",
        "agreed_topic": {"proposal_id": topic, "title": "Regional innovation valleys"},
        "event": {
            "id": programme.events["S1"],
            "status": "published",
            "starts_at": "2027-03-18T08:00:00Z",
            "timezone": "Europe/Brussels",
            "local_starts_at": "2027-03-18T09:00:00+01:00",
            "registered": 2,
            "waitlisted": 1,
        },
    }
    assert second == {
        "id": programme.seminars["2027/2"],
        "year": 2027,
        "number": 2,
        "phase": "proposals",
        "proposals_open_at": "2027-06-01T09:00:00Z",
        "proposals_close_at": "2027-07-01T17:00:00Z",
        "voting_close_at": "2027-07-15T17:00:00Z",
        "proposals": [],
        "choices": [
            {"institution": "dg_rtd", "proposal_id": None, "recorded_at": None},
            {"institution": "cor_sedec", "proposal_id": None, "recorded_at": None},
        ],
        "agreed_at": None,
        "agreed_topic": None,
        "event": None,
    }
    whole_term = client.get("/reports/seminars", headers=dg_rtd.headers).json()
    assert whole_term["items"] == report["items"]  # no seminar in the other years
    none = client.get("/reports/seminars", headers=dg_rtd.headers, params={"year": 2028})
    assert none.json()["items"] == []


def test_the_seminars_history_as_csv_has_a_row_per_proposal(client, programme, dg_rtd):
    response = client.get(
        "/reports/seminars", headers=dg_rtd.headers, params={"year": 2027, "format": "csv"}
    )
    assert response.headers["content-disposition"] == (
        'attachment; filename="kep-seminars-2027.csv"'
    )
    rows = read_csv(response)
    topic, other = programme.proposals["topic"], programme.proposals["other"]
    assert [(row["seminar"], row["proposal_id"]) for row in rows] == [
        ("1", str(topic)),
        ("1", str(other)),
        ("2", ""),
    ]
    assert rows[0] == {
        "year": "2027",
        "seminar": "1",
        "phase": "scheduled",
        "proposals_open_at": "2026-12-01T09:00:00Z",
        "proposals_close_at": "2027-01-15T17:00:00Z",
        "voting_close_at": "2027-02-01T17:00:00Z",
        "proposal_id": str(topic),
        "proposal_title": "Regional innovation valleys",
        "proposal_status": "agreed",
        "actions": "2; 10",
        "priority_areas": "1; 2; 3; 4",
        "proposed_by": "cor",
        "proposer_member_state": "PT",
        "supports": "2",
        "supports_cor": "1",
        "supports_dg_rtd": "0",
        "supports_cor_sedec": "0",
        "supports_jrc": "1",
        "dg_rtd_chose_at": "2027-02-05T10:00:00Z",
        "cor_sedec_chose_at": "2027-02-05T11:00:00Z",
        "agreed_at": "2027-02-05T11:00:00Z",
        "event_id": str(programme.events["S1"]),
        "event_status": "published",
        "event_starts_at": "2027-03-18T08:00:00Z",
    }
    assert (rows[1]["supports"], rows[1]["dg_rtd_chose_at"], rows[1]["proposed_by"]) == (
        "1",
        "",
        "dg_rtd",
    )
    assert (rows[2]["phase"], rows[2]["proposal_title"], rows[2]["event_id"]) == (
        "proposals",
        "",
        "",
    )


# -- which year an event belongs to ------------------------------------------------------


def _year_counts(client, account) -> dict[int, int]:
    report = client.get("/reports/coverage", headers=account.headers).json()
    return {part["year"]: part["all_events"]["events"]["upcoming"] for part in report["years"]}


def _stored_year(db, event_id: int) -> int:
    return db.execute(
        text("SELECT local_start_year FROM events WHERE id = :id"), {"id": event_id}
    ).scalar_one()


def test_an_event_belongs_to_the_year_it_starts_in_in_its_own_zone(client, dg_rtd, db):
    # 23:30 on New Year's Eve in the Azores is already 00:30 on 1 January 2028 in UTC.
    event = published_event(
        client,
        dg_rtd.headers,
        starts_at="2027-12-31T23:30",
        ends_at="2028-01-02T12:00",
        timezone="Atlantic/Azores",
    )
    assert event["starts_at"] == "2028-01-01T00:30:00Z"
    assert _stored_year(db, event["id"]) == 2027
    assert _year_counts(client, dg_rtd) == {2026: 0, 2027: 1, 2028: 0, 2029: 0}

    # A new zone keeps the instant; in Lisbon that instant is in 2028.
    response = client.patch(
        f"/events/{event['id']}", headers=dg_rtd.headers, json={"timezone": "Europe/Lisbon"}
    )
    assert response.status_code == 200, response.text
    assert _stored_year(db, event["id"]) == 2028
    assert _year_counts(client, dg_rtd) == {2026: 0, 2027: 0, 2028: 1, 2029: 0}

    # New times move it again.
    response = client.patch(
        f"/events/{event['id']}",
        headers=dg_rtd.headers,
        json={"starts_at": "2029-01-01T00:30", "ends_at": "2029-01-01T02:00"},
    )
    assert response.status_code == 200, response.text
    assert _year_counts(client, dg_rtd) == {2026: 0, 2027: 0, 2028: 0, 2029: 1}


def test_a_scheduled_seminar_takes_its_year_from_its_zone_too(client, programme, db):
    assert _stored_year(db, programme.events["S1"]) == 2027
    assert _stored_year(db, programme.events["HEL"]) == 2027
    assert _stored_year(db, programme.events["AZ"]) == 2027
    assert _stored_year(db, programme.events["E1"]) == 2026


# -- who may read reports, and for which years -----------------------------------------


@pytest.mark.parametrize("path", REPORTS)
@pytest.mark.parametrize("format_", ["json", "csv"])
def test_reports_are_for_the_secretariat_only(
    client, path, format_, member, participant, admin, jrc
):
    params = {"format": format_}
    response = client.get(path, params=params)
    refused(response, 401, "Not authenticated")
    assert response.headers["www-authenticate"] == "Bearer"
    for account in (member, participant, admin):
        response = client.get(path, headers=account.headers, params=params)
        refused(response, 403, "This needs the role secretariat")
    assert client.get(path, headers=jrc.headers, params=params).status_code == 200


def test_the_chart_is_for_the_secretariat_only(client, member):
    response = client.get("/reports/coverage", headers=member.headers, params={"format": "svg"})
    refused(response, 403, "secretariat")
    refused(client.get("/reports/coverage", params={"format": "svg"}), 401, "Not authenticated")


@pytest.mark.parametrize("path", ["/reports/coverage", "/reports/seminars"])
@pytest.mark.parametrize("year", ["2025", "2030", "0", "-2027", "99999999999999999999"])
def test_a_year_outside_the_plan_is_refused_with_the_term(client, sedec, path, year):
    for format_ in ("json", "csv"):
        response = client.get(path, headers=sedec.headers, params={"year": year, "format": format_})
        refused(response, 422, f"{int(year)} is outside the plan's term, 2026–2029")
        assert response.json()["detail"][0]["loc"] == ["query", "year"]


@pytest.mark.parametrize("path", ["/reports/coverage", "/reports/seminars"])
def test_a_year_that_is_not_a_number_is_refused(client, sedec, path):
    response = client.get(path, headers=sedec.headers, params={"year": "next"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "year"]


def test_the_term_is_a_setting(app, client, sedec, database_url):
    app.state.settings = Settings(
        database_url=database_url,
        plan_start_year=2027,
        plan_end_year=2028,
        _env_file=None,  # type: ignore[call-arg]
    )
    refused(
        client.get("/reports/coverage", headers=sedec.headers, params={"year": 2026}),
        422,
        "2026 is outside the plan's term, 2027–2028",
    )
    report = client.get("/reports/coverage", headers=sedec.headers).json()
    assert report["term"] == {"first_year": 2027, "last_year": 2028}
    assert [part["year"] for part in report["years"]] == [2027, 2028]
    assert report["total"]["joint_seminars"]["target"] == 4


# -- nothing leaks ---------------------------------------------------------------------


def _every_report(client, account) -> dict[str, str]:
    bodies = {}
    for path in REPORTS:
        for format_ in ("json", "csv"):
            for params in ({}, {"year": 2027}):
                if path == "/reports/events" and params:
                    continue
                response = client.get(
                    path, headers=account.headers, params={**params, "format": format_}
                )
                assert response.status_code == 200, response.text
                bodies[f"{path} {format_} {params}"] = response.content.decode("utf-8")
    for params in ({}, {"year": 2027}):
        response = client.get(
            "/reports/coverage", headers=account.headers, params={**params, "format": "svg"}
        )
        bodies[f"chart {params}"] = response.content.decode("utf-8")
    return bodies


def test_reports_hold_no_email_addresses_and_no_names_of_participants(client, programme, sedec, db):
    bodies = _every_report(client, sedec)
    emails = db.execute(text("SELECT email FROM users")).scalars().all()
    participants = (
        db.execute(text("SELECT name FROM users WHERE role = 'participant'")).scalars().all()
    )
    assert len(participants) == 4
    for where, body in bodies.items():
        assert "@" not in body, where
        for email in emails:
            assert email not in body, where
        for name in participants:
            assert name not in body, where
        assert "Venue closed" not in body, where  # a cancellation's free text
    # Proposers are given by institution and member state, never by name.
    for where, body in bodies.items():
        if where.startswith("/reports/seminars"):
            assert "Ana Norte" not in body and "Rui RTD" not in body, where
    # Hosts are named where the export lists events, as every event page names them.
    assert "Ana Norte" in bodies["/reports/events json {}"]


# -- the cost of a report --------------------------------------------------------------


def _programme_of(client, hosts, people, secretariat, count: int, start: int) -> None:
    for n in range(start, start + count):
        host = hosts[n % len(hosts)]
        event = create_event(
            client,
            host.headers,
            title=f"Event {n}",
            starts_at=f"{2027 + n % 3}-0{1 + n % 9}-1{n % 9}T10:00",
            ends_at=f"{2027 + n % 3}-0{1 + n % 9}-1{n % 9}T12:00",
            actions=[1 + n % 11, 1 + (n + 4) % 11],
        )
        client.post(f"/events/{event['id']}/publish", headers=secretariat.headers)
        for person in people[: n % 3]:
            client.post(f"/events/{event['id']}/registrations", headers=person.headers)
        if n % 5 == 4:
            client.post(
                f"/events/{event['id']}/cancel", headers=secretariat.headers, json={"reason": "x"}
            )


def _statements(client, count_queries, account) -> dict[str, list[str]]:
    requests = [
        ("/reports/coverage", {"year": 2027}),
        ("/reports/coverage", {}),
        ("/reports/coverage", {"format": "csv"}),
        ("/reports/events", {}),
        ("/reports/events", {"format": "csv"}),
        ("/reports/seminars", {}),
    ]
    counts = {}
    for path, params in requests:
        client.get(path, headers=account.headers, params=params)  # the token's first use
        with count_queries() as counter:
            response = client.get(path, headers=account.headers, params=params)
        assert response.status_code == 200, response.text
        counts[f"{path} {params}"] = counter.statements
    return counts


def test_the_number_of_queries_does_not_grow_with_the_number_of_events(
    client, count_queries, make_account, sedec
):
    hosts = [
        make_account("member", f"Host {state}", member_state=state, region=f"Region {state}")
        for state in ("PT", "BE", "IT", "PL")
    ]
    people = [make_account("participant") for _ in range(2)]
    _programme_of(client, hosts, people, sedec, count=3, start=0)
    few = _statements(client, count_queries, sedec)
    _programme_of(client, hosts, people, sedec, count=24, start=3)
    many = _statements(client, count_queries, sedec)
    assert client.get("/reports/events", headers=sedec.headers).json()["total"] == 27
    # The same statements, word for word: no list of event ids grows with the events.
    assert many == few
    assert max(len(statements) for statements in many.values()) <= 15


def test_a_report_of_an_empty_programme_is_all_gaps(client, sedec, clock):
    clock.set(datetime(2027, 1, 1, tzinfo=UTC))
    report = client.get("/reports/coverage", headers=sedec.headers, params={"year": 2027}).json()
    [year] = report["years"]
    assert [gap["number"] for gap in year["gaps"]["actions"]] == list(range(1, 12))
    assert [gap["number"] for gap in year["gaps"]["priority_areas"]] == [1, 2, 3, 4]
    assert year["joint_seminars"] == {
        "target": 2,
        "held_or_upcoming": 0,
        "short_by": 2,
        "seminars": [],
        "not_opened": [1, 2],
    }
    assert client.get("/reports/events", headers=sedec.headers).json()["items"] == []
    assert client.get("/reports/seminars", headers=sedec.headers).json()["items"] == []
