"""Dates are written out, never numbers; event zones are the tz database's region zones."""

import pytest

from tests.helpers.database import audit_count
from tests.helpers.events import event_body, published_event
from tests.helpers.seminars import seminar_body

NUMBERS = [0, 1700000000, 1.5, "0", "1700000000", "-86400", True]


@pytest.mark.parametrize("value", NUMBERS)
def test_an_event_time_given_as_a_number_is_refused(client, dg_rtd, db, value):
    count = audit_count(db)
    response = client.post(
        "/events", headers=dg_rtd.headers, json=event_body(kind="other", starts_at=value)
    )
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "starts_at"]
    assert "ISO 8601" in error["msg"]
    assert audit_count(db) == count


@pytest.mark.parametrize("value", NUMBERS)
def test_a_seminar_date_given_as_a_number_is_refused(client, sedec, db, value):
    count = audit_count(db)
    response = client.post(
        "/seminars", headers=sedec.headers, json=seminar_body(proposals_open_at=value)
    )
    assert response.status_code == 422
    assert "ISO 8601" in response.text
    assert audit_count(db) == count


@pytest.mark.parametrize("value", [0, 20270203, "0", "20270203"])
def test_a_communication_date_given_as_a_number_is_refused(client, sedec, db, value):
    count = audit_count(db)
    response = client.patch(
        "/actions/3",
        headers=sedec.headers,
        json={"title": "New title", "communication": {"reference": "Ares(1)", "date": value}},
    )
    assert response.status_code == 422
    assert "ISO 8601" in response.text
    assert audit_count(db) == count


def test_an_agenda_time_given_as_a_number_is_refused(client, dg_rtd):
    event = published_event(client, dg_rtd.headers)
    item = {"starts_at": 0, "ends_at": "2027-03-10T11:00", "title": "Opening"}
    response = client.put(
        f"/events/{event['id']}/agenda", headers=dg_rtd.headers, json={"items": [item]}
    )
    assert response.status_code == 422
    assert "ISO 8601" in response.text


@pytest.mark.parametrize("param", ["from", "to"])
def test_a_listing_bound_given_as_a_number_is_refused(client, param):
    response = client.get("/events", params={param: "0"})
    assert response.status_code == 422
    assert "ISO 8601" in response.text


def test_dates_written_out_still_work(client, sedec):
    response = client.patch(
        "/actions/3",
        headers=sedec.headers,
        json={
            "title": "New title",
            "communication": {"reference": "Ares(1)", "date": "2026-11-03"},
        },
    )
    assert response.status_code == 200, response.text
    assert client.get("/events", params={"from": "2027-01-01T00:00Z"}).status_code == 200


@pytest.mark.parametrize(
    "zone",
    [
        "localtime",  # the system's symlink: its meaning depends on the host
        "Factory",  # a placeholder zone whose abbreviation is "-00"
        "posixrules",
        "US/Eastern",  # legacy alias of America/New_York
        "Europe/Kiev",  # renamed Europe/Kyiv
        "GB",
        "EST5EDT",
        "Etc/GMT+1",
        "GMT",
        "UCT",
        "Zulu",
    ],
)
def test_only_region_zones_and_utc_are_accepted(client, dg_rtd, db, zone):
    count = audit_count(db)
    response = client.post(
        "/events", headers=dg_rtd.headers, json=event_body(kind="other", timezone=zone)
    )
    assert response.status_code == 422, response.text
    message = response.json()["detail"][0]["msg"]
    assert "Area/Location" in message and "UTC" in message, message
    assert audit_count(db) == count


def test_a_legacy_alias_is_answered_with_its_region_zone(client, dg_rtd):
    response = client.post(
        "/events", headers=dg_rtd.headers, json=event_body(kind="other", timezone="US/Eastern")
    )
    assert "America/New_York" in response.json()["detail"][0]["msg"]


@pytest.mark.parametrize(
    "zone", ["UTC", "Europe/Brussels", "Europe/Lisbon", "Atlantic/Azores", "Europe/Kyiv"]
)
def test_region_zones_and_utc_are_accepted(client, dg_rtd, zone):
    event = published_event(client, dg_rtd.headers, timezone=zone)
    assert event["timezone"] == zone


def test_a_zone_change_is_checked_the_same_way(client, dg_rtd):
    event = published_event(client, dg_rtd.headers)
    response = client.patch(
        f"/events/{event['id']}", headers=dg_rtd.headers, json={"timezone": "Factory"}
    )
    assert response.status_code == 422
    assert "Area/Location" in response.text
    assert client.get(f"/events/{event['id']}").json()["timezone"] == "Europe/Brussels"


# The years 2000 to 2100 are those of the local time the user sends, whatever UTC says.


@pytest.mark.parametrize(
    ("starts_at", "ends_at", "zone", "utc_start"),
    [
        ("2000-01-01T00:30", "2000-01-01T02:00", "Europe/Brussels", "1999-12-31T23:30:00Z"),
        (
            "2000-01-01T00:30+01:00",
            "2000-01-01T02:00+01:00",
            "Europe/Paris",
            "1999-12-31T23:30:00Z",
        ),
        ("2100-12-31T20:00", "2100-12-31T22:00", "America/Los_Angeles", "2101-01-01T04:00:00Z"),
    ],
)
def test_the_first_and_last_years_are_read_in_local_time(
    client, dg_rtd, starts_at, ends_at, zone, utc_start
):
    event = published_event(
        client, dg_rtd.headers, starts_at=starts_at, ends_at=ends_at, timezone=zone
    )
    assert event["starts_at"] == utc_start
    assert event["local_starts_at"].startswith(starts_at[:16])


@pytest.mark.parametrize(
    ("starts_at", "ends_at", "zone", "field"),
    [
        ("1999-12-31T23:30", "2000-01-01T02:00", "Europe/Brussels", "starts_at"),
        ("2100-12-31T22:00", "2101-01-01T00:30", "Europe/Brussels", "ends_at"),
        ("2101-01-01T00:30+05:00", "2101-01-01T02:00+05:00", "UTC", "starts_at"),
    ],
)
def test_a_local_year_before_2000_or_after_2100_is_refused(
    client, dg_rtd, db, starts_at, ends_at, zone, field
):
    count = audit_count(db)
    response = client.post(
        "/events",
        headers=dg_rtd.headers,
        json=event_body(kind="other", starts_at=starts_at, ends_at=ends_at, timezone=zone),
    )
    assert response.status_code == 422, response.text
    error = response.json()["detail"][0]
    assert error["loc"] == ["body", field]
    assert "must be between 2000 and 2100" in error["msg"]
    assert audit_count(db) == count


def test_an_edit_reads_the_years_in_local_time_too(client, dg_rtd):
    event = published_event(client, dg_rtd.headers)
    response = client.patch(
        f"/events/{event['id']}",
        headers=dg_rtd.headers,
        json={"starts_at": "2000-01-01T00:30", "ends_at": "2000-01-01T02:00"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["starts_at"] == "1999-12-31T23:30:00Z"
