"""The public calendar: what it says of itself, what each event says, which events it
holds, its filters, and how every change reaches calendar apps as a new version."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, func, select

from app.models import Event, FeedEntry
from tests.helpers.events import create_event, published_event, refused
from tests.helpers.feeds import calendar_lines, fetch, lines, read, vevent, vevents

COMMUNICATION = {"reference": "Ares(2027)1234567", "date": "2026-11-20"}
AGENDA = [
    {
        "starts_at": "2027-03-10T09:30",
        "ends_at": "2027-03-10T10:00",
        "title": "Opening",
        "description": "Welcome by the SEDEC chair.",
        "speakers": [{"name": "Heike Raab", "affiliation": "CoR SEDEC"}],
    },
    {
        "starts_at": "2027-03-10T14:00",
        "ends_at": "2027-03-10T15:30",
        "title": "Panel: valleys and missions",
        "speakers": [{"name": "Ana Costa", "affiliation": "Norte region"}, {"name": "Piet Jansen"}],
    },
]


def uid_of(db, event_id: int) -> str:
    return db.scalar(select(Event.uid).where(Event.id == event_id))


def ical_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


# -- the calendar ----------------------------------------------------------------------


def test_the_calendar_names_itself_and_tells_apps_to_come_back_every_hour(client, dg_rtd):
    published_event(client, dg_rtd.headers)
    own = calendar_lines(fetch(client, "/calendar.ics"))
    assert "VERSION:2.0" in own
    assert "PRODID:-//KEP 2.0//Events service//EN" in own
    assert "METHOD:PUBLISH" in own
    assert "NAME:KEP 2.0 – all events" in own
    assert "X-WR-CALNAME:KEP 2.0 – all events" in own
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT1H" in own
    assert "X-PUBLISHED-TTL:PT1H" in own
    [description] = [line for line in own if line.startswith("DESCRIPTION:")]
    assert "Knowledge Exchange Platform" in description
    assert f"X-WR-CALDESC:{description.removeprefix('DESCRIPTION:')}" in own


def test_a_filtered_calendar_says_what_it_holds(client, dg_rtd):
    own = calendar_lines(fetch(client, "/calendar.ics?priority_area=2"))
    name = "KEP 2.0 – priority area 2: Facilitating the green and digital transition"
    assert f"NAME:{name}" in own
    assert f"X-WR-CALNAME:{name}" in own
    both = calendar_lines(fetch(client, "/calendar.ics?action=3,5&kind=joint_seminar&country=BE"))
    assert "NAME:KEP 2.0 – actions 3\\, 5 · joint seminars · in Belgium" in both


def test_no_feed_names_an_attendee(client, dg_rtd, participant):
    event = published_event(client, dg_rtd.headers)
    client.post(f"/events/{event['id']}/registrations", headers=participant.headers)
    text = fetch(client, "/calendar.ics")
    assert not [line for line in lines(text) if line.startswith("ATTENDEE")]


# -- each event ------------------------------------------------------------------------


def test_a_published_event_says_when_where_what_and_why(client, db, member, sedec):
    event = create_event(
        client,
        member.headers,
        online_url="https://meet.example.eu/valleys",
        actions=[3, 10],
        priority_areas=[1, 2],
    )
    client.put(f"/events/{event['id']}/agenda", headers=member.headers, json={"items": AGENDA})
    client.post(f"/events/{event['id']}/publish", headers=sedec.headers)
    stored = client.get(f"/events/{event['id']}").json()
    text = fetch(client, "/calendar.ics")
    entry = vevent(text, uid_of(db, event["id"]))

    assert str(entry["SUMMARY"]) == "Regional innovation valleys: lessons from Norte"
    assert entry["DTSTART"].to_ical() == b"20270310T093000"
    assert entry["DTSTART"].params["TZID"] == "Europe/Brussels"
    assert entry["DTEND"].to_ical() == b"20270310T170000"
    assert entry["DTSTAMP"].to_ical().decode() == ical_time(
        datetime.fromisoformat(stored["updated_at"])
    )
    assert entry["LAST-MODIFIED"].to_ical() == entry["DTSTAMP"].to_ical()
    assert entry["CREATED"].to_ical().decode() == ical_time(
        datetime.fromisoformat(stored["created_at"])
    )
    assert int(entry["SEQUENCE"]) == stored["sequence"]
    assert str(entry["STATUS"]) == "TENTATIVE"  # the agenda is not confirmed yet
    location = "Jacques Delors building, Rue Belliard 99-101, Brussels, Belgium"
    assert str(entry["LOCATION"]) == location
    assert str(entry["URL"]) == f"http://127.0.0.1:8000/e/{event['id']}"
    assert entry.categories == [
        "Peer-to-peer event",
        "Action 3",
        "Action 10",
        "Priority area 1",
        "Priority area 2",
    ]
    organizer = entry["ORGANIZER"]
    assert organizer.params["CN"] == "Maria Member"
    assert organizer.startswith("urn:uuid:")
    assert "@" not in organizer and member.user.email not in text

    description = str(entry["DESCRIPTION"])
    for expected in [
        "How regions build innovation ecosystems.",
        f"Venue: {location}",
        "Online: https://meet.example.eu/valleys",
        "Agenda (not yet confirmed; times in Europe/Brussels):",
        "09:30–10:00 Opening – Heike Raab (CoR SEDEC)",
        "  Welcome by the SEDEC chair.",
        "14:00–15:30 Panel: valleys and missions – Ana Costa (Norte region), Piet Jansen",
        "Action 3: Collaborating with Horizon Europe's five missions",
        "Action 10: ",
        "Priority area 1: Building strong local and regional innovation ecosystems",
        "Priority area 2: Facilitating the green and digital transition",
    ]:
        assert expected in description, expected


def test_an_online_event_is_located_at_its_link_and_has_no_organizer_without_a_host(
    client, dg_rtd, db
):
    event = published_event(
        client, dg_rtd.headers, venue=None, online_url="https://meet.example.eu/x"
    )
    entry = vevent(fetch(client, "/calendar.ics"), uid_of(db, event["id"]))
    assert str(entry["LOCATION"]) == "https://meet.example.eu/x"
    assert "ORGANIZER" not in entry
    assert entry.categories[0] == "Event"


def test_the_uid_is_stored_at_creation_and_the_same_in_every_feed(client, db, dg_rtd):
    event = published_event(client, dg_rtd.headers, kind="joint_seminar", actions=[3])
    uid = uid_of(db, event["id"])
    assert len(uid) == 36 and "@" not in uid
    for path in [
        "/calendar.ics",
        "/calendar.ics?action=3",
        "/calendar.ics?kind=joint_seminar",
        f"/events/{event['id']}.ics",
    ]:
        assert uid in read(fetch(client, path)), path
    client.patch(f"/events/{event['id']}", headers=dg_rtd.headers, json={"title": "Renamed"})
    assert uid_of(db, event["id"]) == uid
    assert read(fetch(client, "/calendar.ics"))[uid].summary == "Renamed"


def test_every_event_gets_its_own_random_uid(client, db, dg_rtd):
    ids = [published_event(client, dg_rtd.headers)["id"] for _ in range(3)]
    uids = {uid_of(db, event_id) for event_id in ids}
    assert len(uids) == 3
    assert set(read(fetch(client, "/calendar.ics"))) == uids


def test_a_feed_made_again_from_scratch_is_the_same_bytes(client, db, dg_rtd, clock):
    """Nothing in a feed depends on when or where it is made: UIDs, stamps and order are
    all stored, so serialising every event again gives the very same calendar."""
    for day in (10, 11, 12):
        published_event(
            client, dg_rtd.headers, starts_at=f"2027-03-{day}T09:00", ends_at=f"2027-03-{day}T12:00"
        )
    first = client.get("/calendar.ics")
    clock.advance(days=3)
    db.execute(delete(FeedEntry))
    client.app.state.feed_cache.clear()
    second = client.get("/calendar.ics")
    assert second.content == first.content
    assert list(read(second.text)) == list(read(first.text))


def test_an_unchanged_feed_is_the_same_bytes_on_every_poll(client, dg_rtd, clock):
    for day in (10, 11, 12):
        published_event(
            client, dg_rtd.headers, starts_at=f"2027-03-{day}T09:00", ends_at=f"2027-03-{day}T12:00"
        )
    first = client.get("/calendar.ics")
    clock.advance(hours=5)
    client.app.state.feed_cache.clear()  # made again from the stored parts
    second = client.get("/calendar.ics")
    assert first.content == second.content
    assert first.headers["etag"] == second.headers["etag"]


# -- which events ----------------------------------------------------------------------


def test_unpublished_events_never_appear_in_public_feeds(client, db, member, dg_rtd):
    submitted = create_event(client, member.headers)
    draft = create_event(client, dg_rtd.headers, kind="other")
    cancelled_draft = create_event(client, dg_rtd.headers, kind="other")
    client.post(
        f"/events/{cancelled_draft['id']}/cancel", headers=dg_rtd.headers, json={"reason": "no"}
    )
    published = published_event(client, dg_rtd.headers)
    held = read(fetch(client, "/calendar.ics"))
    assert set(held) == {uid_of(db, published["id"])}
    for hidden in (submitted, draft, cancelled_draft):
        assert client.get(f"/events/{hidden['id']}.ics").status_code == 404
        assert client.get(f"/events/{hidden['id']}.ics", headers=dg_rtd.headers).status_code == 404


def test_a_cancelled_event_stays_marked_until_its_end_has_passed(client, db, dg_rtd, clock):
    event = published_event(client, dg_rtd.headers)
    uid = uid_of(db, event["id"])
    clock.advance(days=1)
    client.post(f"/events/{event['id']}/cancel", headers=dg_rtd.headers, json={"reason": "Storm"})
    shown = read(fetch(client, "/calendar.ics"))[uid]
    assert shown.status == "CANCELLED"
    assert shown.summary == "Cancelled: Regional innovation valleys: lessons from Norte"
    assert shown.sequence == 1
    assert shown.description.startswith("Cancelled: Storm")

    clock.set(datetime(2027, 3, 10, 15, 59, tzinfo=UTC))  # an hour before its end
    assert uid in read(fetch(client, "/calendar.ics"))
    clock.set(datetime(2027, 3, 10, 16, 0, tzinfo=UTC))  # 17:00 in Brussels: it has ended
    assert uid not in read(fetch(client, "/calendar.ics"))
    single = read(fetch(client, f"/events/{event['id']}.ics"))
    assert single[uid].status == "CANCELLED"  # its own file still says so


def test_past_events_that_took_place_stay_in_the_calendar(client, db, dg_rtd, clock):
    event = published_event(client, dg_rtd.headers)
    clock.set(datetime(2027, 6, 1, tzinfo=UTC))
    assert read(fetch(client, "/calendar.ics"))[uid_of(db, event["id"])].status == "TENTATIVE"


# -- filters ---------------------------------------------------------------------------


@pytest.fixture
def programme(client, dg_rtd, member, sedec):
    """Four published events that differ in action, priority area, kind and country."""
    made = {
        "a3_be": published_event(client, dg_rtd.headers, actions=[3], priority_areas=[1]),
        "a5_pt": published_event(
            client,
            dg_rtd.headers,
            kind="joint_seminar",
            actions=[5],
            venue={"name": "Casa", "city": "Porto", "country": "PT"},
        ),
        "a9_online": published_event(
            client, dg_rtd.headers, actions=[9], venue=None, online_url="https://x.eu/"
        ),
    }
    hosted = create_event(client, member.headers, actions=[3, 11], priority_areas=[2])
    client.post(f"/events/{hosted['id']}/publish", headers=sedec.headers)
    made["a3_a11_peer"] = hosted
    return made


def held(client, db, programme, query: str) -> set[str]:
    uids = set(read(fetch(client, f"/calendar.ics{query}")))
    return {name for name, event in programme.items() if uid_of(db, event["id"]) in uids}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", {"a3_be", "a5_pt", "a9_online", "a3_a11_peer"}),
        ("?action=3", {"a3_be", "a3_a11_peer"}),
        ("?action=5,9", {"a5_pt", "a9_online"}),
        ("?action=5&action=9", {"a5_pt", "a9_online"}),
        ("?action=3&priority_area=2", {"a3_a11_peer"}),
        ("?priority_area=1", {"a3_be", "a5_pt"}),
        ("?kind=joint_seminar,peer_to_peer", {"a5_pt", "a3_a11_peer"}),
        ("?kind=other&country=BE", {"a3_be"}),
        ("?country=be,pt", {"a3_be", "a5_pt", "a3_a11_peer"}),
        ("?action=9&country=BE", set()),
        ("?action=3,,&kind=", {"a3_be", "a3_a11_peer"}),
    ],
)
def test_filters_match_any_of_their_values_and_all_together(client, db, programme, query, expected):
    assert held(client, db, programme, query) == expected


def test_one_selection_however_written_is_one_feed(client, programme):
    first = client.get("/calendar.ics?action=9,5&kind=other,joint_seminar")
    second = client.get("/calendar.ics?kind=joint_seminar&kind=other&action=5&action=9")
    assert first.content == second.content
    assert first.headers["etag"] == second.headers["etag"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?action=99", "action: no action 99 in the catalogue"),
        ("?action=3,12,99", "no action 12, 99"),
        ("?action=three", "action: 'three' is not a number"),
        ("?action=0", "action: '0' is not a number"),
        # Digits that are not 0-9: str.isdigit() takes them, int() does not.
        ("?action=²", "action: '²' is not a number"),
        ("?priority_area=①", "priority_area: '①' is not a number"),
        ("?action=٣", "action: '٣' is not a number"),
        ("?action=" + "3" * 5000, "is not a number such as 3"),
        ("?priority_area=5", "priority_area: no priority area 5"),
        ("?kind=workshop", "kind: 'workshop' is not one of joint_seminar, peer_to_peer, other"),
        ("?country=XX", "country: 'XX' is not an ISO 3166 alpha-2 country code"),
        ("?action=" + ",".join(["1"] * 51), "action: at most 50 values"),
    ],
)
def test_an_unknown_filter_value_is_422_and_writes_nothing(client, db, dg_rtd, query, message):
    published_event(client, dg_rtd.headers)
    before = db.scalar(select(func.count()).select_from(FeedEntry))
    response = client.get(f"/calendar.ics{query}")
    refused(response, 422, message)
    [error] = response.json()["detail"]
    assert error["loc"] == ["query", query[1:].split("=")[0]]  # the filter, not a body
    assert db.scalar(select(func.count()).select_from(FeedEntry)) == before


# -- versions: every change that alters an event's lines -------------------------------


def _version(client, db, event_id: int) -> tuple[int, str, str]:
    """The event's SEQUENCE, LAST-MODIFIED and STATUS in the feed, and its ETag."""
    response = client.get("/calendar.ics")
    entry = vevent(response.text, uid_of(db, event_id))
    return (
        int(entry["SEQUENCE"]),
        entry["LAST-MODIFIED"].to_ical().decode(),
        response.headers["etag"],
    )


def test_confirming_and_clearing_the_agenda_are_new_versions(client, db, dg_rtd, sedec, clock):
    event = published_event(client, dg_rtd.headers)
    client.put(f"/events/{event['id']}/agenda", headers=dg_rtd.headers, json={"items": AGENDA})
    sequence, modified, etag = _version(client, db, event["id"])
    clock.advance(minutes=10)
    client.post(f"/events/{event['id']}/agenda/confirm", headers=sedec.headers)
    confirmed = vevent(fetch(client, "/calendar.ics"), uid_of(db, event["id"]))
    assert str(confirmed["STATUS"]) == "CONFIRMED"
    assert "Agenda (confirmed;" in str(confirmed["DESCRIPTION"])
    after_confirm = _version(client, db, event["id"])
    assert after_confirm[0] == sequence + 1
    assert after_confirm[1] > modified and after_confirm[2] != etag

    clock.advance(minutes=10)
    client.put(f"/events/{event['id']}/agenda", headers=dg_rtd.headers, json={"items": AGENDA[:1]})
    cleared = vevent(fetch(client, "/calendar.ics"), uid_of(db, event["id"]))
    assert str(cleared["STATUS"]) == "TENTATIVE"
    after_clear = _version(client, db, event["id"])
    assert after_clear[0] == sequence + 2
    assert after_clear[1] > after_confirm[1] and after_clear[2] != after_confirm[2]


def test_confirming_an_agenda_again_changes_nothing(client, db, dg_rtd, clock):
    event = published_event(client, dg_rtd.headers)
    client.put(f"/events/{event['id']}/agenda", headers=dg_rtd.headers, json={"items": AGENDA})
    client.post(f"/events/{event['id']}/agenda/confirm", headers=dg_rtd.headers)
    before = _version(client, db, event["id"])
    clock.advance(minutes=10)
    client.post(f"/events/{event['id']}/agenda/confirm", headers=dg_rtd.headers)
    assert _version(client, db, event["id"]) == before


def test_cancelling_is_a_new_version(client, db, dg_rtd, clock):
    event = published_event(client, dg_rtd.headers)
    sequence, modified, etag = _version(client, db, event["id"])
    clock.advance(minutes=10)
    client.post(f"/events/{event['id']}/cancel", headers=dg_rtd.headers, json={"reason": "Storm"})
    after = _version(client, db, event["id"])
    assert after[0] == sequence + 1 and after[1] > modified and after[2] != etag


def test_a_new_title_of_a_linked_action_is_a_new_version_of_its_events(
    client, db, dg_rtd, sedec, clock
):
    linked = published_event(client, dg_rtd.headers, actions=[3, 10])
    other = published_event(client, dg_rtd.headers, actions=[9])
    draft = create_event(client, dg_rtd.headers, kind="other", actions=[3])
    linked_before = _version(client, db, linked["id"])
    other_before = _version(client, db, other["id"])
    clock.advance(hours=1)
    amended = client.patch(
        "/actions/3",
        headers=sedec.headers,
        json={"title": "Horizon Europe missions in the regions", "communication": COMMUNICATION},
    )
    assert amended.status_code == 200, amended.text

    text = fetch(client, "/calendar.ics")
    entry = vevent(text, uid_of(db, linked["id"]))
    assert "Action 3: Horizon Europe missions in the regions" in str(entry["DESCRIPTION"])
    linked_after = _version(client, db, linked["id"])
    assert linked_after[0] == linked_before[0] + 1
    assert linked_after[1] > linked_before[1]
    assert linked_after[2] != linked_before[2]
    assert _version(client, db, other["id"])[:2] == other_before[:2]
    assert client.get(f"/events/{linked['id']}").json()["sequence"] == 1
    unpublished = client.get(f"/events/{draft['id']}", headers=dg_rtd.headers).json()
    assert unpublished["sequence"] == 0  # never published: no version to raise yet
    assert unpublished["updated_at"] == "2026-11-25T10:00:00Z"


def test_other_amendments_of_an_action_leave_its_events_as_they_are(client, db, dg_rtd, sedec):
    event = published_event(client, dg_rtd.headers, actions=[3])
    before = client.get(f"/events/{event['id']}").json()
    client.patch(
        "/actions/3",
        headers=sedec.headers,
        json={"summary": "A new summary", "communication": COMMUNICATION},
    )
    after = client.get(f"/events/{event['id']}").json()
    assert (after["sequence"], after["updated_at"]) == (before["sequence"], before["updated_at"])


def test_an_edit_raises_sequence_and_last_modified_and_changes_the_etag(client, db, dg_rtd, clock):
    event = published_event(client, dg_rtd.headers)
    sequence, modified, etag = _version(client, db, event["id"])
    clock.advance(minutes=1)
    client.patch(f"/events/{event['id']}", headers=dg_rtd.headers, json={"capacity": 40})
    after = _version(client, db, event["id"])
    assert after[0] == sequence + 1 and after[1] > modified and after[2] != etag
    assert len(vevents(fetch(client, "/calendar.ics"))) == 1
