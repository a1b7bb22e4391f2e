"""The seminars' deadlines: each call for topics' milestones as short events that follow
the seminar's dates, and the seminar itself once scheduled, under its event's UID."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.models import Event
from tests.helpers.feeds import SETTLED, fetch, lines, read, vevents
from tests.helpers.seminars import (
    AFTER_VOTING,
    CLOSE,
    IN_PROPOSALS,
    IN_VOTING,
    OPEN,
    VOTING_CLOSE,
    iso,
    open_seminar,
    propose,
)

SUMMARIES = [
    "Joint seminar 1 of 2027: call for topics opens",
    "Joint seminar 1 of 2027: call for topics closes",
    "Joint seminar 1 of 2027: voting closes",
]


def milestones(text: str) -> list[tuple[str, datetime, datetime, int]]:
    shown = read(text)
    return sorted(
        (event.summary, event.starts_at, event.ends_at, event.sequence)
        for event in shown.values()
        if event.summary.startswith("Joint seminar ")
    )


def test_each_seminar_shows_its_three_milestones(client, sedec):
    open_seminar(client, sedec)
    text = fetch(client, "/seminars.ics")
    half_hour = timedelta(minutes=30)
    assert milestones(text) == sorted(
        [
            (SUMMARIES[0], OPEN, OPEN + half_hour, 0),
            (SUMMARIES[1], CLOSE, CLOSE + half_hour, 0),
            (SUMMARIES[2], VOTING_CLOSE, VOTING_CLOSE + half_hour, 0),
        ]
    )
    assert "DTSTART:20261201T090000Z" in lines(text)
    for event in vevents(text):
        assert str(event["TRANSP"]) == "TRANSPARENT"  # a deadline never makes anyone busy
        assert event.categories == ["Joint seminar", "Deadline"]
    own = [line for line in lines(text) if line.startswith(("NAME:", "X-WR-CALNAME:"))]
    assert own == [
        "NAME:KEP 2.0 – joint seminars: calls for topics and votes",
        "X-WR-CALNAME:KEP 2.0 – joint seminars: calls for topics and votes",
    ]


def test_milestones_follow_the_seminars_dates_under_the_same_uids(client, sedec, clock):
    seminar = open_seminar(client, sedec)
    clock.advance(seconds=SETTLED)
    before = client.get("/seminars.ics")
    uids = set(read(before.text))
    later_close = CLOSE + timedelta(days=3)
    clock.advance(hours=1)
    moved = client.patch(
        f"/seminars/{seminar['id']}",
        headers=sedec.headers,
        json={"proposals_close_at": iso(later_close)},
    )
    assert moved.status_code == 200, moved.text
    after = client.get("/seminars.ics", headers={"If-None-Match": before.headers["etag"]})
    assert after.status_code == 200
    assert set(read(after.text)) == uids
    shown = {event.summary: event for event in read(after.text).values()}
    assert shown[SUMMARIES[1]].starts_at == later_close
    assert {event.sequence for event in shown.values()} == {1}
    clock.advance(seconds=SETTLED)
    settled = client.get("/seminars.ics")
    assert settled.headers["last-modified"] != before.headers["last-modified"]


def test_two_seminars_have_distinct_milestones(client, sedec):
    open_seminar(client, sedec)
    open_seminar(client, sedec, number=2)
    assert len(read(fetch(client, "/seminars.ics"))) == 6


def scheduled_seminar(client, clock, sedec, dg_rtd, member, **timing):
    seminar = open_seminar(client, sedec)
    clock.set(IN_PROPOSALS)
    topic = propose(client, member, seminar["id"])
    clock.set(AFTER_VOTING)
    for account in (dg_rtd, sedec):
        chose = client.put(
            f"/seminars/{seminar['id']}/agreement",
            headers=account.headers,
            json={"proposal_id": topic["id"]},
        )
        assert chose.status_code == 200, chose.text
    response = client.post(
        f"/seminars/{seminar['id']}/event",
        headers=sedec.headers,
        json={
            "starts_at": "2027-04-15T09:30:00",
            "ends_at": "2027-04-15T17:00:00",
            "timezone": "Europe/Brussels",
            "venue": {"name": "Jacques Delors building", "city": "Brussels", "country": "BE"},
            **timing,
        },
    )
    assert response.status_code == 201, response.text
    return seminar, topic, response.json()


def test_a_scheduled_seminar_appears_under_its_events_uid(client, db, clock, sedec, dg_rtd, member):
    _seminar, _topic, event = scheduled_seminar(client, clock, sedec, dg_rtd, member)
    uid = db.scalar(select(Event.uid).where(Event.id == event["id"]))
    seminars = read(fetch(client, "/seminars.ics"))
    assert len(seminars) == 4
    assert seminars[uid] == read(fetch(client, "/calendar.ics"))[uid]
    assert seminars[uid].starts_at == datetime(2027, 4, 15, 7, 30, tzinfo=UTC)


def test_an_unpublished_seminar_event_stays_out(client, db, clock, sedec, dg_rtd, member):
    scheduled_seminar(client, clock, sedec, dg_rtd, member, status="draft")
    assert len(read(fetch(client, "/seminars.ics"))) == 3


@pytest.mark.parametrize("moved", ["cancelled", "edited"])
def test_the_seminar_events_changes_reach_the_seminars_feed(
    client, clock, sedec, dg_rtd, member, moved
):
    _seminar, _topic, event = scheduled_seminar(client, clock, sedec, dg_rtd, member)
    etag = client.get("/seminars.ics").headers["etag"]
    clock.advance(minutes=5)
    if moved == "cancelled":
        client.post(f"/events/{event['id']}/cancel", headers=sedec.headers, json={"reason": "x"})
    else:
        client.patch(f"/events/{event['id']}", headers=sedec.headers, json={"title": "Moved"})
    response = client.get("/seminars.ics", headers={"If-None-Match": etag})
    assert response.status_code == 200
    assert ("Cancelled: " if moved == "cancelled" else "SUMMARY:Moved") in response.text


@pytest.mark.parametrize("path", ["close-proposals", "close-voting"])
def test_closing_a_phase_now_gives_its_milestone_a_new_sequence(client, sedec, clock, path):
    seminar = open_seminar(client, sedec)
    clock.set(IN_VOTING if path == "close-voting" else IN_PROPOSALS)
    before = client.get("/seminars.ics")
    closed = client.post(f"/seminars/{seminar['id']}/{path}", headers=sedec.headers)
    assert closed.status_code == 200, closed.text
    after = client.get("/seminars.ics", headers={"If-None-Match": before.headers["etag"]})
    assert after.status_code == 200
    assert set(read(after.text)) == set(read(before.text))
    shown = {event.summary: event for event in read(after.text).values()}
    moved = SUMMARIES[2] if path == "close-voting" else SUMMARIES[1]
    assert shown[moved].starts_at == clock()
    assert {event.sequence for event in shown.values()} == {1}
    # Closed already: nothing moves, and the sequence stays.
    clock.advance(hours=1)
    assert client.post(f"/seminars/{seminar['id']}/{path}", headers=sedec.headers).json() == (
        closed.json()
    )
    assert {event.sequence for event in read(fetch(client, "/seminars.ics")).values()} == {1}


def test_a_seminar_scheduled_again_shows_its_new_event_alone(
    client, db, clock, sedec, dg_rtd, member
):
    seminar, _topic, first = scheduled_seminar(client, clock, sedec, dg_rtd, member)
    client.post(f"/events/{first['id']}/cancel", headers=sedec.headers, json={"reason": "x"})
    # While cancelled, the feed shows it cancelled beside the three milestones.
    shown = read(fetch(client, "/seminars.ics"))
    assert len(shown) == 4
    first_uid = db.scalar(select(Event.uid).where(Event.id == first["id"]))
    assert shown[first_uid].summary.startswith("Cancelled: ")
    clock.advance(hours=1)
    second = client.post(
        f"/seminars/{seminar['id']}/event",
        headers=sedec.headers,
        json={
            "starts_at": "2027-06-14T09:00",
            "ends_at": "2027-06-14T17:00",
            "timezone": "Europe/Brussels",
            "online_url": "https://meet.example.eu/seminar",
        },
    )
    assert second.status_code == 201, second.text
    second_uid = db.scalar(select(Event.uid).where(Event.id == second.json()["id"]))
    shown = read(fetch(client, "/seminars.ics"))
    live = [
        uid
        for uid, event in shown.items()
        if not event.summary.startswith(("Joint seminar ", "Cancelled: "))
    ]
    assert live == [second_uid]
    assert shown[second_uid].starts_at == datetime(2027, 6, 14, 7, 0, tzinfo=UTC)
