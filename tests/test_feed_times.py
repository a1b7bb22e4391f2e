"""Time in the feeds: every instant parsed back by two independent parsers is the instant
stored, across daylight saving changes, the repeated autumn hour, several days and zones
other than Brussels; never floating; one VTIMEZONE per zone, with only what it needs."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
import vobject
from sqlalchemy import select

from app.feeds import zones
from app.models import Event
from tests.helpers.events import published_event
from tests.helpers.feeds import fetch, lines, read


def uid_of(db, event_id: int) -> str:
    return db.scalar(select(Event.uid).where(Event.id == event_id))


CASES = {
    # Brussels springs forward on 28 March 2027 at 01:00 UTC.
    "spanning the spring change": ("2027-03-27T18:00", "2027-03-28T12:00", "Europe/Brussels"),
    # Brussels falls back on 31 October 2027 at 01:00 UTC: 02:00-03:00 happens twice.
    "starting in the first repeated hour": (
        "2027-10-31T02:30:00+02:00",
        "2027-10-31T05:00",
        "Europe/Brussels",
    ),
    "starting in the second repeated hour": (
        "2027-10-31T02:15:00+01:00",
        "2027-10-31T06:00",
        "Europe/Brussels",
    ),
    "ending in the first repeated hour": (
        "2027-10-30T22:00",
        "2027-10-31T02:45:00+02:00",
        "Europe/Brussels",
    ),
    "ending in the second repeated hour": (
        "2027-10-30T22:00",
        "2027-10-31T02:45:00+01:00",
        "Europe/Brussels",
    ),
    "over several days": ("2027-05-10T09:00", "2027-05-12T17:30", "Europe/Brussels"),
    "in Athens": ("2027-06-03T10:00", "2027-06-03T16:00", "Europe/Athens"),
    "in New York's repeated hour": (
        "2027-11-07T01:30:00-04:00",
        "2027-11-07T09:00",
        "America/New_York",
    ),
    "in Tokyo": ("2027-04-20T09:00", "2027-04-21T18:00", "Asia/Tokyo"),
    "in Lisbon's summer": ("2027-07-01T10:00", "2027-07-01T12:00", "Europe/Lisbon"),
    "kept in UTC": ("2027-02-01T08:00:00Z", "2027-02-01T09:00:00Z", "UTC"),
}


@pytest.fixture
def events(client, dg_rtd):
    return {
        case: published_event(
            client,
            dg_rtd.headers,
            title=f"Event {case}",
            starts_at=starts,
            ends_at=ends,
            timezone=zone,
            venue=None,
            online_url="https://meet.example.eu/",
        )
        for case, (starts, ends, zone) in CASES.items()
    }


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@pytest.mark.parametrize("case", list(CASES))
def test_every_instant_reads_back_as_stored(client, db, events, case):
    event = events[case]
    stored = (instant(event["starts_at"]), instant(event["ends_at"]))
    uid = uid_of(db, event["id"])
    for path in ("/calendar.ics", f"/events/{event['id']}.ics"):
        parsed = read(fetch(client, path))[uid]  # icalendar and vobject agree...
        assert (parsed.starts_at, parsed.ends_at) == stored, path  # ...on the stored instants


def test_the_repeated_hour_is_written_in_utc_and_other_times_in_their_zone(client, db, events):
    text = fetch(client, "/calendar.ics")
    by_summary = _dates_by_summary(text)
    assert by_summary["Event starting in the first repeated hour"] == (
        "DTSTART:20271031T003000Z",
        "DTEND;TZID=Europe/Brussels:20271031T050000",
    )
    assert by_summary["Event ending in the second repeated hour"] == (
        "DTSTART;TZID=Europe/Brussels:20271030T220000",
        "DTEND:20271031T014500Z",
    )
    assert by_summary["Event spanning the spring change"] == (
        "DTSTART;TZID=Europe/Brussels:20270327T180000",
        "DTEND;TZID=Europe/Brussels:20270328T120000",
    )
    assert by_summary["Event in New York's repeated hour"][0] == "DTSTART:20271107T053000Z"
    assert by_summary["Event kept in UTC"] == ("DTSTART:20270201T080000Z", "DTEND:20270201T090000Z")


def _dates_by_summary(text: str) -> dict[str, tuple[str, str]]:
    found: dict[str, tuple[str, str]] = {}
    summary, start, end = "", "", ""
    for line in lines(text):
        if line.startswith("SUMMARY:"):
            summary = line.removeprefix("SUMMARY:")
        elif line.startswith("DTSTART") and summary != "-":
            start = line
        elif line.startswith("DTEND"):
            end = line
        elif line == "END:VEVENT":
            found[summary], summary = (start, end), "-"
    return found


def test_no_time_is_floating(client, events):
    event_times = [
        line
        for line in lines(fetch(client, "/calendar.ics"))
        if line.startswith(("DTSTART", "DTEND", "DTSTAMP", "CREATED", "LAST-MODIFIED"))
    ]
    in_components = _event_lines(fetch(client, "/calendar.ics"))
    assert len(in_components) == 5 * len(CASES)
    for line in in_components:
        assert ";TZID=" in line or line.endswith("Z"), line
    assert len(event_times) > len(in_components)  # the VTIMEZONEs' onsets are local times


def _event_lines(text: str) -> list[str]:
    inside, found = False, []
    for line in lines(text):
        inside = (inside or line == "BEGIN:VEVENT") and line != "END:VEVENT"
        if inside and line.startswith(("DTSTART", "DTEND", "DTSTAMP", "CREATED", "LAST-MOD")):
            found.append(line)
    return found


def test_one_vtimezone_per_zone_written_with_only_the_transitions_needed(client, events):
    calendar = vobject.readOne(fetch(client, "/calendar.ics"), validate=True)
    timezones = {tz.tzid.value: tz for tz in calendar.vtimezone_list}
    assert set(timezones) == {
        "Europe/Brussels",
        "Europe/Athens",
        "America/New_York",
        "Asia/Tokyo",
        "Europe/Lisbon",
    }
    brussels = timezones["Europe/Brussels"]
    onsets = sorted(
        (observance.name, observance.dtstart.value)
        for observance in brussels.getChildren()
        if observance.name in ("STANDARD", "DAYLIGHT")
    )
    # In force on 27 March 2027 (since October 2026), then spring and autumn 2027.
    assert onsets == [
        ("DAYLIGHT", datetime(2027, 3, 28, 2, 0)),
        ("STANDARD", datetime(2026, 10, 25, 3, 0)),
        ("STANDARD", datetime(2027, 10, 31, 3, 0)),
    ]
    tokyo = [o for o in timezones["Asia/Tokyo"].getChildren() if o.name == "STANDARD"]
    assert len(tokyo) == 1


def test_a_feed_of_one_brussels_event_carries_one_observance(client, dg_rtd):
    event = published_event(client, dg_rtd.headers)  # 10 March 2027
    text = fetch(client, f"/events/{event['id']}.ics")
    assert text.count("BEGIN:VTIMEZONE") == 1
    assert text.count("BEGIN:STANDARD") + text.count("BEGIN:DAYLIGHT") == 1
    assert "DTSTART:20261025T030000" in text


@pytest.mark.parametrize(
    ("zone", "first", "last"),
    [
        ("Europe/Brussels", datetime(2026, 12, 1, tzinfo=UTC), datetime(2029, 12, 1, tzinfo=UTC)),
        ("America/New_York", datetime(2027, 1, 1, tzinfo=UTC), datetime(2028, 1, 1, tzinfo=UTC)),
        ("Australia/Sydney", datetime(2027, 1, 1, tzinfo=UTC), datetime(2028, 1, 1, tzinfo=UTC)),
        ("Europe/Dublin", datetime(2027, 1, 1, tzinfo=UTC), datetime(2028, 1, 1, tzinfo=UTC)),
    ],
)
def test_the_vtimezone_places_every_instant_as_the_zone_database_does(zone, first, last):
    """Read by vobject, the VTIMEZONE gives each instant between its first and last the
    offset the zone database gives, hour by hour and minute by minute around each change:
    the onsets are written in the offset they change from, as RFC 5545 asks."""
    calendar = icalendar.Calendar.new(prodid="-//test//EN", uid="test")
    calendar.add_component(zones.vtimezone(zone, zones.needed_transitions(zone, first, last)))
    tzinfo = vobject.readOne(calendar.to_ical().decode(), validate=True).vtimezone.gettzinfo()
    reference = ZoneInfo(zone)
    moments = [
        first + timedelta(hours=hours)
        for hours in range(int((last - first).total_seconds() // 3600))
    ]
    for transition in zones.needed_transitions(zone, first, last)[1:]:
        moments += [transition.at + timedelta(minutes=m) for m in range(-90, 91, 15)]
    for moment in moments:
        assert moment.astimezone(tzinfo).utcoffset() == moment.astimezone(reference).utcoffset(), (
            moment
        )


def test_a_zone_whose_instants_are_all_written_in_utc_gets_no_vtimezone(client, db, dg_rtd):
    event = published_event(
        client,
        dg_rtd.headers,
        starts_at="2027-10-31T02:10:00+02:00",
        ends_at="2027-10-31T02:50:00+01:00",  # from the first repeated hour to the second
        venue=None,
        online_url="https://meet.example.eu/",
    )
    text = fetch(client, f"/events/{event['id']}.ics")
    assert "BEGIN:VTIMEZONE" not in text
    assert "TZID" not in text
    shown = read(text)[uid_of(db, event["id"])]
    assert (shown.starts_at, shown.ends_at) == (
        instant(event["starts_at"]),
        instant(event["ends_at"]),
    )
