"""The feeds' clocks: every change to a public event moves the clocks of the scopes it
was in and is in, and nothing else does; concurrent changes from several processes are
each counted, so a feed's version is a lookup that never misses a committed change."""

from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import select

from app.models import FeedClock
from tests.helpers.events import create_event, event_body, published_event
from tests.helpers.feeds import read


def clocks(db) -> dict[str, int]:
    db.expire_all()
    return dict(db.execute(select(FeedClock.scope, FeedClock.revision)).all())


def moved(before: dict[str, int], after: dict[str, int]) -> set[str]:
    return {scope for scope, revision in after.items() if before.get(scope) != revision}


def test_a_change_moves_the_clocks_of_every_scope_of_the_event(client, db, dg_rtd, clock):
    event = published_event(client, dg_rtd.headers, actions=[3, 10], priority_areas=[1, 2])
    before = clocks(db)
    clock.advance(minutes=1)
    client.patch(f"/events/{event['id']}", headers=dg_rtd.headers, json={"title": "New"})
    assert moved(before, clocks(db)) == {
        "all",
        "action:3",
        "action:10",
        "priority_area:1",
        "priority_area:2",
        "kind:other",
        "country:BE",
    }


def test_an_event_that_leaves_a_scope_moves_its_clock_too(client, db, dg_rtd, clock):
    event = published_event(client, dg_rtd.headers, actions=[3], priority_areas=[1])
    before = clocks(db)
    clock.advance(minutes=1)
    client.patch(
        f"/events/{event['id']}",
        headers=dg_rtd.headers,
        json={"actions": [9], "venue": {"name": "Casa", "city": "Porto", "country": "PT"}},
    )
    assert moved(before, clocks(db)) == {
        "all",
        "action:3",
        "action:9",
        "priority_area:1",
        "priority_area:4",
        "kind:other",
        "country:BE",
        "country:PT",
    }


def test_unpublished_events_move_no_clock_until_they_are_published(
    client, db, member, sedec, clock
):
    before = clocks(db)
    event = create_event(client, member.headers)
    client.patch(f"/events/{event['id']}", headers=member.headers, json={"title": "Draft 2"})
    assert clocks(db) == before
    clock.advance(minutes=1)
    client.post(f"/events/{event['id']}/publish", headers=sedec.headers)
    assert "all" in moved(before, clocks(db))


def test_registrations_and_refused_changes_move_no_clock(client, db, dg_rtd, participant):
    event = published_event(client, dg_rtd.headers)
    before = clocks(db)
    client.post(f"/events/{event['id']}/registrations", headers=participant.headers)
    refused = client.patch(
        f"/events/{event['id']}",
        headers=dg_rtd.headers,
        json={"title": "Changed first", "venue": None},  # the title changes, then it fails
    )
    assert refused.status_code == 422
    assert clocks(db) == before


def test_each_change_moves_the_clock_once_and_every_change_counts(client, db, dg_rtd, clock):
    event = published_event(client, dg_rtd.headers)
    start = clocks(db)["all"]
    for n in range(3):
        clock.advance(minutes=1)
        client.patch(f"/events/{event['id']}", headers=dg_rtd.headers, json={"title": f"T{n}"})
    assert clocks(db)["all"] == start + 3


def test_a_change_elsewhere_leaves_a_filtered_feed_unchanged(client, dg_rtd, clock):
    nine = published_event(client, dg_rtd.headers, actions=[9])
    three = published_event(client, dg_rtd.headers, actions=[3])
    first = client.get("/calendar.ics?action=3")
    clock.advance(minutes=1)
    client.patch(f"/events/{nine['id']}", headers=dg_rtd.headers, json={"title": "Elsewhere"})
    same = client.get("/calendar.ics?action=3", headers={"If-None-Match": first.headers["etag"]})
    assert same.status_code == 304
    clock.advance(minutes=1)
    client.patch(f"/events/{three['id']}", headers=dg_rtd.headers, json={"title": "Here"})
    changed = client.get("/calendar.ics?action=3", headers={"If-None-Match": first.headers["etag"]})
    assert changed.status_code == 200 and "SUMMARY:Here" in changed.text


def test_concurrent_changes_from_two_processes_are_each_counted(
    race_app, race_client, race_account
):
    """Twelve edits of twelve events at once, through real connections: the clock moves
    once for each, none is lost, and the feed served afterwards holds every edit."""
    base_url, client = race_client
    secretariat = race_account("secretariat", institution="cor_sedec")
    ids = []
    for n in range(12):
        created = client.post(
            "/events",
            headers=secretariat.headers,
            json=event_body(kind="other", status="published", title=f"Event {n}"),
        )
        assert created.status_code == 201, created.text
        ids.append(created.json()["id"])
    with race_app.state.sessionmaker() as session:
        start = session.scalar(select(FeedClock.revision).where(FeedClock.scope == "all"))
    first = client.get("/calendar.ics")

    def edit(event_id: int) -> int:
        with httpx.Client(base_url=base_url, timeout=60) as own:
            return own.patch(
                f"/events/{event_id}",
                headers=secretariat.headers,
                json={"title": f"Edited {event_id}"},
            ).status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        assert list(pool.map(edit, ids)) == [200] * 12
    with race_app.state.sessionmaker() as session:
        end = session.scalar(select(FeedClock.revision).where(FeedClock.scope == "all"))
    assert end == start + 12
    after = client.get("/calendar.ics", headers={"If-None-Match": first.headers["etag"]})
    assert after.status_code == 200
    # The race database is shared by the race tests: its feed may hold their events too.
    summaries = [event.summary for event in read(after.text).values()]
    assert {f"Edited {event_id}" for event_id in ids} <= set(summaries)
    assert not {f"Event {n}" for n in range(12)} & set(summaries)
