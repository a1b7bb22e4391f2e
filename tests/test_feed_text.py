"""User text in the feeds: escaped, folded at 75 octets without splitting a character,
unable to inject lines, and read back by both parsers exactly as it was written."""

from sqlalchemy import select, update

from app.models import Event
from tests.helpers.database import audit_count
from tests.helpers.events import create_event, published_event
from tests.helpers.feeds import fetch, lines, read

MIXED = "Καινοτομία, иновации; 🇪🇺🎉 back\\slash \\N \\n \\, \\; done"
TITLE = (MIXED + " · ") * 4
TITLE = TITLE[:199] + "Ω"
DESCRIPTION = (
    "Line one, with; punctuation\n"
    "Ελληνικά και Български текст 🚀\n"
    "C:\\New\\folder and a literal \\N\n"
    "\nATTENDEE:mailto:everyone@example.eu\n"
    "BEGIN:VEVENT\nUID:forged\nEND:VEVENT\n" + "Ж" * 120
)
VENUE = {
    "name": "Hall; East, \\wing",
    "address": "Ул. Раковски 1",
    "city": "София",
    "country": "BG",
}


def uid_of(db, event_id: int) -> str:
    return db.scalar(select(Event.uid).where(Event.id == event_id))


def test_nasty_text_round_trips_through_the_feed(client, db, dg_rtd):
    assert len(TITLE) == 200
    event = published_event(
        client, dg_rtd.headers, title=TITLE, description=DESCRIPTION, venue=VENUE
    )
    assert event["title"] == TITLE and event["description"] == DESCRIPTION
    for path in ("/calendar.ics", f"/events/{event['id']}.ics"):
        shown = read(fetch(client, path))[uid_of(db, event["id"])]  # both parsers agree
        assert shown.summary == TITLE
        assert shown.description.startswith(DESCRIPTION + "\n")


def test_lines_are_folded_at_75_octets_without_splitting_a_character(client, dg_rtd):
    published_event(client, dg_rtd.headers, title=TITLE, description=DESCRIPTION, venue=VENUE)
    body = client.get("/calendar.ics").content
    assert body.endswith(b"\r\n")
    physical = body.split(b"\r\n")[:-1]
    assert max(len(line) for line in physical) <= 75
    assert any(len(line) >= 70 for line in physical)  # long lines really were folded
    for line in physical:
        line.decode("utf-8")  # each piece is whole characters
    assert b"\n" not in body.replace(b"\r\n", b"")


def test_text_that_tries_to_inject_lines_stays_text(client, db, dg_rtd):
    event = published_event(client, dg_rtd.headers, description=DESCRIPTION)
    text = fetch(client, "/calendar.ics")
    unfolded = lines(text)
    assert unfolded.count("BEGIN:VEVENT") == 1
    assert not [line for line in unfolded if line.startswith(("ATTENDEE", "UID:forged"))]
    assert set(read(text)) == {uid_of(db, event["id"])}


def test_a_title_with_a_line_break_is_refused_and_writes_nothing(client, db, dg_rtd):
    before = audit_count(db)
    response = client.post(
        "/events",
        headers=dg_rtd.headers,
        json={
            "title": "Innocent\r\nBEGIN:VEVENT",
            "kind": "other",
            "starts_at": "2027-03-10T09:30",
            "ends_at": "2027-03-10T17:00",
            "timezone": "Europe/Brussels",
            "online_url": "https://x.eu",
            "actions": [3],
        },
    )
    assert response.status_code == 422
    assert "control characters" in response.text
    assert audit_count(db) == before


def test_line_breaks_stored_by_any_means_stay_inside_their_text(client, db, dg_rtd):
    """Even a title that reached the database with CR LF in it cannot end its line."""
    event = create_event(client, dg_rtd.headers, kind="other", status="published")
    db.execute(
        update(Event)
        .where(Event.id == event["id"])
        .values(
            title="Innocent\r\nBEGIN:VEVENT\r\nATTENDEE:mailto:x@example.eu",
            sequence=Event.sequence + 1,  # recorded as a change, as every change is
        )
    )
    text = fetch(client, "/calendar.ics")
    assert lines(text).count("BEGIN:VEVENT") == 1
    assert not [line for line in lines(text) if line.startswith("ATTENDEE")]
    shown = read(text)[uid_of(db, event["id"])]
    assert shown.summary == "Innocent\nBEGIN:VEVENT\nATTENDEE:mailto:x@example.eu"
