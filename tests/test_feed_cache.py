"""Almost free to poll: a 304 costs one small query and renders nothing; an unchanged
feed comes from the cache; after one change only that event is serialised again, and
the feed still equals, byte for byte, the library's serialisation of the whole
calendar; all of it correct when several server processes share the database."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select, update

from app.feeds import entries, presenters, service, zones
from app.feeds.queries import CalendarFilters
from app.main import create_app
from app.models import FeedEntry, PersonalFeed
from tests.helpers.events import create_event, published_event
from tests.helpers.feeds import read
from tests.helpers.seminars import IN_PROPOSALS, open_seminar, propose

COMMUNICATION = {"reference": "Ares(2027)1234567", "date": "2026-11-20"}


@pytest.fixture
def serialised(monkeypatch):
    """The ids of the events whose VEVENT the library serialises, as they are made."""
    made: list[int] = []
    original = presenters.event_component

    def counting(event, **kwargs):
        made.append(event.id)
        return original(event, **kwargs)

    monkeypatch.setattr(presenters, "event_component", counting)
    return made


@pytest.fixture
def nothing_rendered(monkeypatch):
    """Rendering of any kind fails the test."""

    def refuse(*_args, **_kwargs):
        raise AssertionError("rendered")

    for module, name in [
        (presenters, "event_component"),
        (presenters, "milestone_component"),
        (presenters, "calendar"),
        (service, "assemble"),
        (entries, "current_parts"),
        (zones, "vtimezone"),
    ]:
        monkeypatch.setattr(module, name, refuse)


@pytest.fixture
def programme(client, dg_rtd, member, sedec, clock):
    made = []
    for day in range(1, 21):
        made.append(
            published_event(
                client,
                dg_rtd.headers,
                title=f"Event {day}",
                starts_at=f"2027-03-{day:02}T09:00",
                ends_at=f"2027-03-{day:02}T12:00",
                actions=[3 if day % 2 else 9],
            )
        )
    seminar = open_seminar(client, sedec)
    clock.set(IN_PROPOSALS)
    propose(client, member, seminar["id"])
    client.post(f"/events/{made[0]['id']}/registrations", headers=member.headers)
    return made


def personal_path(client, member) -> str:
    url = client.post("/me/feeds", headers=member.headers).json()["url"]
    return url.removeprefix("http://127.0.0.1:8000")


FEEDS = ["/calendar.ics", "/calendar.ics?action=3&priority_area=1", "/seminars.ics"]


@pytest.mark.parametrize("path", [*FEEDS, "event"])
def test_a_304_costs_one_query_and_renders_nothing(client, programme, count_queries, request, path):
    path = f"/events/{programme[0]['id']}.ics" if path == "event" else path
    etag = client.get(path).headers["etag"]
    request.getfixturevalue("nothing_rendered")
    with count_queries() as counted:
        response = client.get(path, headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert counted.count == 1, counted.statements


def test_a_personal_304_renders_nothing(client, programme, member, count_queries, request):
    path = personal_path(client, member)
    etag = client.get(path).headers["etag"]
    request.getfixturevalue("nothing_rendered")
    with count_queries() as counted:
        response = client.get(path, headers={"If-None-Match": etag})
    assert response.status_code == 304
    # the token, the person's events, their seminars, and the latest of their changes
    assert counted.count == 4, counted.statements


@pytest.mark.parametrize("path", FEEDS)
def test_an_unchanged_feed_is_served_from_the_cache(
    client, programme, count_queries, request, path
):
    first = client.get(path)
    request.getfixturevalue("nothing_rendered")
    with count_queries() as counted:
        again = client.get(path)
    assert again.status_code == 200
    assert again.content == first.content
    assert counted.count == 1


def test_each_event_is_serialised_when_it_changes_and_polls_serialise_nothing(
    client, db, serialised, programme, dg_rtd, clock
):
    # Each event's VEVENT was made as the request that published it ended.
    assert sorted(serialised) == sorted(event["id"] for event in programme)
    serialised.clear()
    client.get("/calendar.ics")
    assert serialised == []
    changed = programme[7]
    clock.advance(minutes=5)
    client.patch(f"/events/{changed['id']}", headers=dg_rtd.headers, json={"title": "Renamed"})
    assert serialised == [changed["id"]]  # by the change itself
    response = client.get("/calendar.ics")
    assert serialised == [changed["id"]]  # and by no poll
    assert "SUMMARY:Renamed" in response.text
    assert response.content == library_calendar(db, clock())


def test_a_persons_own_variant_is_made_when_first_polled_then_kept(
    client, db, member, participant, dg_rtd, serialised
):
    full = published_event(client, dg_rtd.headers, title="Full", capacity=1)
    client.post(f"/events/{full['id']}/registrations", headers=participant.headers)
    client.post(f"/events/{full['id']}/registrations", headers=member.headers)
    path = personal_path(client, member)
    serialised.clear()
    assert "SUMMARY:Waitlist: Full" in client.get(path).text
    assert serialised == [full["id"]]  # its waitlisted variant, made once
    client.app.state.feed_cache.clear()
    client.get(path)
    assert serialised == [full["id"]]


def test_a_change_is_never_refused_for_its_vevent(client, programme, dg_rtd, monkeypatch, clock):
    def broken(*_args, **_kwargs):
        raise RuntimeError("the presenter fails")

    monkeypatch.setattr(presenters, "event_component", broken)
    clock.advance(minutes=5)
    changed = client.patch(
        f"/events/{programme[2]['id']}", headers=dg_rtd.headers, json={"title": "Still saved"}
    )
    assert changed.status_code == 200
    monkeypatch.undo()
    assert "SUMMARY:Still saved" in client.get("/calendar.ics").text


def library_calendar(db, now: datetime, filters: CalendarFilters | None = None) -> bytes:
    """The library's own serialisation of the whole calendar, built in one piece."""
    from app.feeds import vevents

    filters = filters or CalendarFilters()
    contents = service.calendar_contents(filters, now, "http://127.0.0.1:8000")(db)
    events = {
        event.id: event
        for event in vevents.events_for_entries(db, [row.event_id for row in contents.rows])
    }
    return service.whole_calendar(contents, events, base_url="http://127.0.0.1:8000").to_ical()


@pytest.mark.parametrize(("path", "entries_held"), [("/seminars.ics", 3), ("personal", 4)])
def test_feeds_with_milestones_equal_the_librarys_whole_calendar(
    client, db, programme, member, clock, path, entries_held
):
    from app.feeds import vevents

    if path == "personal":
        path = personal_path(client, member)
        contents = service.personal_feed(
            session=db,
            feed=db.scalars(select(PersonalFeed)).one(),
            now=clock(),
            base_url="http://127.0.0.1:8000",
        ).contents(db)
    else:
        contents = service.seminars_feed(
            session=db, now=clock(), base_url="http://127.0.0.1:8000"
        ).contents(db)
    body = client.get(path).content
    events = {
        event.id: event
        for event in vevents.events_for_entries(db, [row.event_id for row in contents.rows])
    }
    whole = service.whole_calendar(contents, events, base_url="http://127.0.0.1:8000")
    assert body == whole.to_ical()
    assert len(whole.walk("VEVENT")) == len(read(body.decode())) == entries_held


def test_an_empty_store_is_filled_once(client, db, programme, serialised):
    assert db.scalar(select(func.count()).select_from(FeedEntry)) == len(programme)
    db.execute(delete(FeedEntry))  # as after a release that writes different lines
    serialised.clear()
    client.get("/calendar.ics")
    client.get("/calendar.ics?action=3")
    client.get(f"/events/{programme[1]['id']}.ics")
    assert len(serialised) == len(programme)  # each event once, whichever feeds hold it
    assert db.scalar(select(func.count()).select_from(FeedEntry)) == len(programme)


def test_a_stored_part_is_made_again_when_its_version_does_not_match(
    client, db, programme, serialised
):
    first = client.get("/calendar.ics").content
    serialised.clear()
    db.execute(
        update(FeedEntry)
        .where(FeedEntry.event_id == programme[3]["id"])
        .values(version="stale", vevent="BEGIN:VEVENT\r\nEND:VEVENT\r\n")
    )
    client.app.state.feed_cache.clear()
    assert client.get("/calendar.ics").content == first
    assert serialised == [programme[3]["id"]]


def test_a_catalogue_change_makes_every_part_again(client, programme, sedec, serialised, clock):
    client.get("/calendar.ics")
    serialised.clear()
    clock.advance(minutes=5)
    client.patch(
        "/actions/9",
        headers=sedec.headers,
        json={"title": "Risk Data Hub", "communication": COMMUNICATION},
    )
    response = client.get("/calendar.ics")
    assert len(serialised) == len(programme)
    assert response.text.count("Action 9: Risk Data Hub") == len(programme) // 2


# -- several processes -----------------------------------------------------------------


@pytest.fixture
def other_process(settings, session_factory, clock):
    """A second server process on the same database, with a cache of its own."""
    app = create_app(settings)
    app.state.sessionmaker = session_factory
    app.state.clock = clock
    from fastapi.testclient import TestClient

    with TestClient(app) as client:
        yield client
    app.state.engine.dispose()


def test_a_change_made_through_another_process_is_served_at_once(
    client, other_process, programme, dg_rtd, clock
):
    first = client.get("/calendar.ics")
    assert other_process.get("/calendar.ics").content == first.content
    clock.advance(minutes=5)
    moved = other_process.patch(
        f"/events/{programme[2]['id']}",
        headers=dg_rtd.headers,
        json={"title": "Changed over there"},
    )
    assert moved.status_code == 200
    here = client.get("/calendar.ics", headers={"If-None-Match": first.headers["etag"]})
    assert here.status_code == 200
    assert "SUMMARY:Changed over there" in here.text
    there = other_process.get("/calendar.ics")
    assert here.content == there.content
    assert here.headers["etag"] == there.headers["etag"]


def test_a_process_uses_the_parts_another_one_stored(client, other_process, programme, serialised):
    client.get("/calendar.ics")
    serialised.clear()
    other_process.get("/calendar.ics?action=3")
    other_process.get("/calendar.ics")
    assert serialised == []


def test_validators_are_the_same_in_every_process(client, other_process, programme):
    for path in FEEDS:
        here, there = client.get(path), other_process.get(path)
        assert here.headers["etag"] == there.headers["etag"]
        assert here.headers["last-modified"] == there.headers["last-modified"]
        assert here.content == there.content


def test_the_cache_keeps_within_its_bound():
    from app.common.cache import FeedCache

    cache = FeedCache(max_bytes=100)
    cache.put('"a"', b"x" * 60)
    cache.put('"b"', b"y" * 30)
    assert cache.get('"a"') == b"x" * 60  # now the most recently served
    cache.put('"c"', b"z" * 30)
    assert cache.get('"b"') is None and cache.get('"a"') is not None
    cache.put('"d"', b"w" * 101)
    assert cache.get('"d"') is None


def test_unpublished_changes_leave_the_public_validators_alone(client, programme, member, clock):
    first = client.get("/calendar.ics")
    clock.advance(minutes=5)
    create_event(client, member.headers, title="Not yet public")
    again = client.get("/calendar.ics", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304


def test_time_alone_never_changes_a_feed_without_cancellations(client, programme, clock):
    first = client.get("/calendar.ics")
    clock.set(datetime(2027, 12, 1, tzinfo=UTC) + timedelta(days=1))
    again = client.get("/calendar.ics", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
