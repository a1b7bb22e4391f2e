"""Feeds over HTTP: media type, file names, validators, conditional requests, HEAD,
caching headers, the routes beside the events' own, and the links in JSON answers."""

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime

import pytest
import vobject
from sqlalchemy import select

from app.config import Settings
from app.models import Event
from tests.helpers.events import published_event
from tests.helpers.feeds import SETTLED, fetch, read

BASE = "https://kep.example.eu/api"
COMMUNICATION = {"reference": "Ares(2027)1234567", "date": "2026-11-20"}


@pytest.fixture
def settings(database_url: str) -> Settings:
    """The service behind a public address of its own, as in production."""
    return Settings(  # type: ignore[call-arg]
        database_url=database_url, public_base_url=BASE + "/", _env_file=None
    )


@pytest.fixture
def event(client, dg_rtd):
    return published_event(client, dg_rtd.headers)


def http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC), usegmt=True)


# -- what an answer carries ------------------------------------------------------------


def test_a_feed_is_text_calendar_inline_with_a_meaningful_name(client, event):
    for path, filename in [
        ("/calendar.ics", "kep-events.ics"),
        ("/calendar.ics?action=3,10&kind=other", "kep-events-action-3-10-kind-other.ics"),
        ("/calendar.ics?country=be", "kep-events-country-be.ics"),
        ("/seminars.ics", "kep-joint-seminars.ics"),
    ]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"] == "text/calendar; charset=utf-8"
        assert response.headers["content-disposition"] == f'inline; filename="{filename}"'
        assert response.headers["cache-control"] == "public, max-age=300"


def test_a_single_event_is_an_attachment_named_after_it(client, event):
    response = client.get(f"/events/{event['id']}.ics")
    assert response.headers["content-disposition"] == (
        f'attachment; filename="kep-event-{event["id"]}-regional-innovation-valleys-lessons-'
        'from-norte.ics"'
    )


def test_no_accept_header_is_needed_and_json_is_not_forced(client, event):
    response = client.get("/calendar.ics", headers={"Accept": "application/json"})
    assert response.status_code == 200
    assert response.text.startswith("BEGIN:VCALENDAR\r\n")


def test_validators_are_a_strong_etag_and_the_last_change(client, event, clock):
    clock.advance(seconds=SETTLED)
    response = client.get(f"/events/{event['id']}.ics")
    etag = response.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"') and not etag.startswith("W/")
    assert response.headers["last-modified"] == http_date(
        datetime.fromisoformat(event["updated_at"])
    )


# -- conditional requests --------------------------------------------------------------


def test_a_current_etag_gets_304_with_no_body(client, event, clock):
    clock.advance(seconds=SETTLED)
    first = client.get("/calendar.ics")
    again = client.get("/calendar.ics", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == first.headers["etag"]
    assert again.headers["last-modified"] == first.headers["last-modified"]
    assert again.headers["cache-control"] == "public, max-age=300"
    assert "content-type" not in again.headers


@pytest.mark.parametrize("form", ["W/{etag}", '"other", {etag}', "*"])
def test_if_none_match_compares_weakly_and_takes_lists(client, event, form):
    etag = client.get("/calendar.ics").headers["etag"]
    response = client.get("/calendar.ics", headers={"If-None-Match": form.format(etag=etag)})
    assert response.status_code == 304


def test_a_stale_etag_gets_the_feed(client, event, dg_rtd, clock):
    etag = client.get("/calendar.ics").headers["etag"]
    clock.advance(minutes=5)
    client.patch(f"/events/{event['id']}", headers=dg_rtd.headers, json={"title": "New title"})
    response = client.get("/calendar.ics", headers={"If-None-Match": etag})
    assert response.status_code == 200
    assert response.headers["etag"] != etag
    assert "SUMMARY:New title" in response.text


def test_if_modified_since_is_honoured_without_an_etag(client, event, dg_rtd, clock):
    clock.advance(seconds=SETTLED)
    last = client.get("/calendar.ics").headers["last-modified"]
    later = http_date(parsedate_to_datetime(last) + timedelta(days=1))
    earlier = http_date(parsedate_to_datetime(last) - timedelta(seconds=1))
    assert client.get("/calendar.ics", headers={"If-Modified-Since": last}).status_code == 304
    # Not the feed's date: the client's own, which a change to come may be dated before.
    assert client.get("/calendar.ics", headers={"If-Modified-Since": later}).status_code == 200
    assert client.get("/calendar.ics", headers={"If-Modified-Since": earlier}).status_code == 200
    for unreadable in (
        "yesterday",
        "Mon, 01 Jan 99999999999999999999 00:00:00 GMT",  # past any year Python holds
        "Mon, 01 Jan 2020 00:00:00 +99999999999999999999",
    ):
        answer = client.get("/calendar.ics", headers={"If-Modified-Since": unreadable})
        assert answer.status_code == 200, unreadable
    clock.advance(minutes=5)
    client.patch(f"/events/{event['id']}", headers=dg_rtd.headers, json={"title": "New"})
    assert client.get("/calendar.ics", headers={"If-Modified-Since": last}).status_code == 200


def test_a_date_is_given_only_once_no_change_to_come_can_be_dated_at_or_before_it(
    client, event, dg_rtd, clock
):
    """A change is dated when its transaction began, and seen when it commits: one that
    began before a read and commits after it is dated before what the read saw, as is a
    change later in the same second. Told that date, a client revalidating with
    If-Modified-Since would never be given the change."""
    other = published_event(client, dg_rtd.headers)
    start = clock()

    def change(which: dict, title: str, at: datetime) -> None:
        clock.set(at)
        answer = client.patch(
            f"/events/{which['id']}", headers=dg_rtd.headers, json={"title": title}
        )
        assert answer.status_code == 200, answer.text

    change(other, "Seen first", start + timedelta(minutes=3))
    clock.set(start + timedelta(minutes=3, seconds=1))
    early = client.get("/calendar.ics")
    assert "last-modified" not in early.headers  # a change dated before it may still come
    # Begun at 09:01, committed after the read: its ETag tells the client so.
    change(event, "Committed last", start + timedelta(minutes=1))
    clock.set(start + timedelta(minutes=3, seconds=2))
    again = client.get("/calendar.ics", headers={"If-None-Match": early.headers["etag"]})
    assert again.status_code == 200
    settled_at = start + timedelta(minutes=3, seconds=SETTLED)
    clock.set(settled_at)
    last = client.get("/calendar.ics").headers["last-modified"]
    assert last == http_date(start + timedelta(minutes=3))
    # The earliest a change still to come can be dated: begun five minutes before now.
    change(event, "Later still", settled_at - timedelta(minutes=5))
    clock.set(settled_at + timedelta(seconds=1))
    answer = client.get("/calendar.ics", headers={"If-Modified-Since": last})
    assert answer.status_code == 200
    assert "SUMMARY:Later still" in answer.text


def test_a_date_the_feed_did_not_give_never_gets_304(client, event, dg_rtd, clock):
    """A client given no Last-Modified may revalidate with a date of its own, such as
    its copy's Date (RFC 9110, 13.1.3). A change begun before that date and committed
    after it is dated no later: judged by that date, the copy would be current for
    good. Only the feed's own date, once given, tells a copy is current."""
    other = published_event(client, dg_rtd.headers)
    start = clock()
    clock.set(start + timedelta(minutes=3))
    client.patch(f"/events/{other['id']}", headers=dg_rtd.headers, json={"title": "First"})
    clock.set(start + timedelta(minutes=3, seconds=1))
    copy = client.get("/calendar.ics")
    assert "last-modified" not in copy.headers
    received = http_date(clock())  # the copy's Date
    clock.set(start + timedelta(minutes=1))  # begun before the copy was read, committed after
    client.patch(f"/events/{event['id']}", headers=dg_rtd.headers, json={"title": "Last"})
    for later in (timedelta(minutes=3, seconds=2), timedelta(hours=1)):
        clock.set(start + later)
        answer = client.get("/calendar.ics", headers={"If-Modified-Since": received})
        assert answer.status_code == 200, later
        assert "SUMMARY:Last" in answer.text
    given = client.get("/calendar.ics").headers["last-modified"]
    assert given == http_date(start + timedelta(minutes=3))
    assert client.get("/calendar.ics", headers={"If-Modified-Since": given}).status_code == 304


def test_if_none_match_wins_over_if_modified_since(client, event):
    first = client.get("/calendar.ics")
    long_ago = http_date(datetime(2020, 1, 1, tzinfo=UTC))
    future = http_date(datetime(2099, 1, 1, tzinfo=UTC))
    current = {"If-None-Match": first.headers["etag"], "If-Modified-Since": long_ago}
    assert client.get("/calendar.ics", headers=current).status_code == 304
    stale = {"If-None-Match": '"stale"', "If-Modified-Since": future}
    assert client.get("/calendar.ics", headers=stale).status_code == 200


def test_an_event_edited_out_of_a_filtered_feed_is_never_answered_304_by_date(
    client, dg_rtd, clock
):
    staying = published_event(client, dg_rtd.headers, actions=[3])
    leaving = published_event(client, dg_rtd.headers, actions=[3])
    clock.advance(seconds=SETTLED)
    last = client.get("/calendar.ics?action=3").headers["last-modified"]
    clock.advance(hours=2)
    client.patch(f"/events/{leaving['id']}", headers=dg_rtd.headers, json={"actions": [9]})
    response = client.get("/calendar.ics?action=3", headers={"If-Modified-Since": last})
    assert response.status_code == 200
    assert len(read(response.text)) == 1
    assert staying["title"] in response.text


def test_a_cancelled_event_leaving_at_its_end_changes_the_validators(client, dg_rtd, clock):
    event = published_event(client, dg_rtd.headers)
    client.post(f"/events/{event['id']}/cancel", headers=dg_rtd.headers, json={"reason": "x"})
    clock.advance(seconds=SETTLED)
    before = client.get("/calendar.ics")
    clock.set(datetime(2027, 3, 11, tzinfo=UTC))
    after = client.get(
        "/calendar.ics",
        headers={"If-Modified-Since": before.headers["last-modified"]},
    )
    assert after.status_code == 200
    assert after.headers["etag"] != before.headers["etag"]
    assert after.headers["last-modified"] == http_date(datetime.fromisoformat(event["ends_at"]))
    assert read(after.text) == {}


def test_head_answers_the_headers_of_get_without_a_body(client, event, member, clock):
    issued = client.post("/me/feeds", headers=member.headers).json()
    clock.advance(seconds=SETTLED)
    for path in [
        "/calendar.ics",
        "/calendar.ics?action=3",
        f"/events/{event['id']}.ics",
        "/seminars.ics",
        issued["url"].removeprefix(BASE),
    ]:
        get = client.get(path)
        head = client.head(path)
        assert head.status_code == 200, path
        assert head.content == b""
        for name in ("etag", "last-modified", "content-type", "content-length", "cache-control"):
            assert head.headers[name] == get.headers[name], (path, name)
        assert client.head(path, headers={"If-None-Match": get.headers["etag"]}).status_code == 304


# -- routes ----------------------------------------------------------------------------


def test_an_event_ics_reaches_the_feed_and_the_event_still_answers_json(client, event):
    assert client.get(f"/events/{event['id']}").json()["id"] == event["id"]
    assert client.get(f"/events/{event['id']}.ics").text.startswith("BEGIN:VCALENDAR")
    assert client.get("/events/abc.ics").status_code == 422
    assert client.get("/events/99999.ics").json() == {"detail": "No published event with id 99999"}


# -- links -----------------------------------------------------------------------------


def test_every_event_gives_its_calendar_urls(client, event, dg_rtd):
    expected = f"{BASE}/events/{event['id']}.ics"
    assert event["calendar_url"] == expected
    assert event["webcal_url"] == f"webcal://kep.example.eu/api/events/{event['id']}.ics"
    listed = client.get("/events").json()["items"][0]
    assert (listed["calendar_url"], listed["webcal_url"]) == (
        event["calendar_url"],
        event["webcal_url"],
    )
    assert client.get(expected.removeprefix(BASE)).status_code == 200


def test_feeds_lists_every_public_feed_with_both_urls(client, event, sedec):
    client.patch(
        "/actions/5",
        headers=sedec.headers,
        json={"status": "retired", "communication": COMMUNICATION},
    )
    feeds = client.get("/feeds").json()["items"]
    titles = [feed["title"] for feed in feeds]
    assert titles[0] == "KEP 2.0 – all events"
    assert titles[-1] == "KEP 2.0 – joint seminars: calls for topics and votes"
    assert [feed["priority_area"] for feed in feeds if feed["priority_area"]] == [1, 2, 3, 4]
    actions = [feed["action"] for feed in feeds if feed["action"]]
    assert actions == [1, 2, 3, 4, 6, 7, 8, 9, 10, 11]  # retired action 5 is not offered
    for feed in feeds:
        assert feed["url"].startswith(f"{BASE}/")
        assert feed["webcal_url"] == "webcal://" + feed["url"].removeprefix("https://")
        response = client.get(feed["url"].removeprefix(BASE))
        assert response.status_code == 200, feed
        calendar = vobject.readOne(response.text, validate=True).contents
        assert calendar["name"][0].value == calendar["x-wr-calname"][0].value == feed["title"]
    assert {feed["url"] for feed in feeds} >= {
        f"{BASE}/calendar.ics",
        f"{BASE}/calendar.ics?priority_area=2",
        f"{BASE}/calendar.ics?action=3",
        f"{BASE}/seminars.ics",
    }


def test_the_feed_links_to_the_event_at_the_public_address(client, db, event):
    uid = db.scalar(select(Event.uid).where(Event.id == event["id"]))
    shown = read(fetch(client, "/calendar.ics"))[uid]
    assert shown.description.endswith(f"Details: {BASE}/e/{event['id']}")
    assert f"URL:{BASE}/calendar.ics" in fetch(client, "/calendar.ics")
