"""Personal feeds: a secret, revocable address per feed, stored only as a hash, that shows
one person's events; its token in no log line, audit entry or error message."""

import hashlib
import logging
import re

import httpx
import pytest
from sqlalchemy import select, text

from app.models import Event, PersonalFeed
from tests.helpers.database import audit_count
from tests.helpers.events import create_event, published_event, refused
from tests.helpers.feeds import SETTLED, fetch, read
from tests.helpers.seminars import IN_PROPOSALS, open_seminar, propose
from tests.helpers.server import live_server

BASE = "http://127.0.0.1:8000"


def make_feed(client, account, **body) -> dict:
    response = client.post("/me/feeds", headers=account.headers, json=body or None)
    assert response.status_code == 201, response.text
    return response.json()


def path_of(feed: dict) -> str:
    return feed["url"].removeprefix(BASE)


def token_of(feed: dict) -> str:
    return re.fullmatch(rf"{BASE}/feeds/(.+)\.ics", feed["url"]).group(1)


def uid_of(db, event_id: int) -> str:
    return db.scalar(select(Event.uid).where(Event.id == event_id))


# -- making, listing, revoking ---------------------------------------------------------


def test_a_personal_feed_is_answered_once_with_its_secret_address(client, db, member):
    feed = make_feed(client, member, label="Phone")
    token = token_of(feed)
    assert len(token) >= 22 and re.fullmatch(r"[A-Za-z0-9_-]+", token)  # >= 128 bits
    assert feed["webcal_url"] == f"webcal://127.0.0.1:8000/feeds/{token}.ics"
    assert (feed["label"], feed["last_fetched_at"], feed["revoked_at"]) == ("Phone", None, None)
    stored = db.scalar(select(PersonalFeed).where(PersonalFeed.id == feed["id"]))
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    listed = client.get("/me/feeds", headers=member.headers).json()["items"]
    assert listed == [
        {
            "id": feed["id"],
            "label": "Phone",
            "created_at": feed["created_at"],
            "last_fetched_at": None,
            "revoked_at": None,
        }
    ]
    assert token not in client.get("/me/feeds", headers=member.headers).text


def test_the_token_is_stored_nowhere_in_clear(client, db, member):
    token = token_of(make_feed(client, member))
    for table in ("personal_feeds", "audit_entries"):
        rows = db.execute(text(f"SELECT * FROM {table}")).all()
        assert token not in repr(rows), table


def test_every_feed_has_its_own_token(client, member):
    tokens = {token_of(make_feed(client, member)) for _ in range(5)}
    assert len(tokens) == 5


def test_the_label_is_optional_and_checked(client, db, member):
    assert make_feed(client, member)["label"] == ""
    before = audit_count(db)
    response = client.post("/me/feeds", headers=member.headers, json={"label": "x" * 101})
    assert response.status_code == 422
    assert audit_count(db) == before
    assert client.post("/me/feeds").status_code == 401


def test_the_owner_sees_when_a_calendar_app_last_fetched(client, member, clock):
    feed = make_feed(client, member)
    fetch(client, path_of(feed))
    [listed] = client.get("/me/feeds", headers=member.headers).json()["items"]
    assert listed["last_fetched_at"] == "2026-11-25T09:00:00Z"
    clock.advance(seconds=30)  # within the minute: not written again
    fetch(client, path_of(feed))
    clock.advance(hours=2)
    fetch(client, path_of(feed))
    [listed] = client.get("/me/feeds", headers=member.headers).json()["items"]
    assert listed["last_fetched_at"] == "2026-11-25T11:00:30Z"


def test_a_revoked_feed_answers_exactly_as_an_unknown_one(client, db, member, clock):
    feed = make_feed(client, member)
    assert client.get(path_of(feed)).status_code == 200
    clock.advance(minutes=1)
    revoked = client.delete(f"/me/feeds/{feed['id']}", headers=member.headers)
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] == "2026-11-25T09:01:00Z"
    gone = client.get(path_of(feed))
    unknown = client.get(f"/feeds/{'A' * len(token_of(feed))}.ics")
    assert gone.status_code == unknown.status_code == 404
    assert gone.content == unknown.content
    # The same headers but for the request's own id.
    assert {**gone.headers, "x-request-id": ""} == {**unknown.headers, "x-request-id": ""}
    assert client.head(path_of(feed)).status_code == 404
    again = client.delete(f"/me/feeds/{feed['id']}", headers=member.headers)
    assert again.json()["revoked_at"] == "2026-11-25T09:01:00Z"  # revoking twice: the same


def test_nobody_revokes_or_lists_anothers_feed(client, db, member, participant):
    feed = make_feed(client, member)
    before = audit_count(db)
    refused(
        client.delete(f"/me/feeds/{feed['id']}", headers=participant.headers),
        404,
        f"You have no calendar feed with id {feed['id']}",
    )
    assert audit_count(db) == before
    assert client.get(path_of(feed)).status_code == 200
    assert client.get("/me/feeds", headers=participant.headers).json()["items"] == []


@pytest.mark.parametrize(
    "token",
    ["short", "x" * 300, "has.dots.in.it", "%2e%2e", "üñíçødé-token-of-some-length", "' OR 1=1 --"],
)
def test_a_malformed_token_gets_the_same_404_and_is_never_echoed(client, token):
    response = client.get(f"/feeds/{token}.ics")
    assert response.status_code == 404
    assert response.json() == {
        "detail": "No calendar feed at this address; it may have been revoked"
    }


def test_a_personal_feed_is_private_to_caches(client, member):
    response = client.get(path_of(make_feed(client, member)))
    assert response.headers["cache-control"] == "private, max-age=300"
    assert response.headers["content-disposition"] == 'inline; filename="kep-my-events.ics"'
    assert "BEGIN:VCALENDAR" in response.text and "URL:" not in response.text


# -- what it shows ---------------------------------------------------------------------


def test_it_shows_the_owners_registrations_hosted_events_and_seminar_deadlines(
    client, db, clock, member, participant, make_account, dg_rtd, sedec
):
    full = published_event(client, dg_rtd.headers, title="Full", capacity=1)
    client.post(f"/events/{full['id']}/registrations", headers=participant.headers)
    open_event = published_event(client, dg_rtd.headers, title="Open")
    someone_elses = published_event(client, dg_rtd.headers, title="Not mine")
    hosted = create_event(client, member.headers, title="Hosted")
    client.post(f"/events/{hosted['id']}/publish", headers=sedec.headers)
    submitted = create_event(client, member.headers, title="Submitted")
    others_submission = create_event(
        client, make_account("member", "Other Member").headers, title="Their submission"
    )
    seminar = open_seminar(client, sedec)
    clock.set(IN_PROPOSALS)
    propose(client, member, seminar["id"])
    for event in (full, open_event):
        client.post(f"/events/{event['id']}/registrations", headers=member.headers)
    feed = make_feed(client, member)

    shown = read(fetch(client, path_of(feed)))
    by_summary = {event.summary: event for event in shown.values()}
    assert set(by_summary) == {
        "Waitlist: Full",
        "Open",
        "Hosted",
        "Not yet published: Submitted",
        "Joint seminar 1 of 2027: call for topics opens",
        "Joint seminar 1 of 2027: call for topics closes",
        "Joint seminar 1 of 2027: voting closes",
    }
    assert by_summary["Waitlist: Full"].status == "TENTATIVE"
    assert by_summary["Not yet published: Submitted"].status == "TENTATIVE"
    public = read(fetch(client, "/calendar.ics"))
    for event in (full, open_event, hosted):
        assert uid_of(db, event["id"]) in public  # the same UID as everywhere
    assert uid_of(db, event["id"]) in shown
    for hidden in (someone_elses, others_submission):
        assert uid_of(db, hidden["id"]) not in shown
    assert uid_of(db, submitted["id"]) not in public


def test_a_promotion_from_the_waitlist_reaches_the_feed(
    client, db, member, participant, dg_rtd, clock
):
    event = published_event(client, dg_rtd.headers, title="Full", capacity=1)
    client.post(f"/events/{event['id']}/registrations", headers=participant.headers)
    client.post(f"/events/{event['id']}/registrations", headers=member.headers)
    feed = make_feed(client, member)
    first = client.get(path_of(feed))
    assert read(first.text)[uid_of(db, event["id"])].summary == "Waitlist: Full"
    clock.advance(minutes=5)
    client.delete(f"/events/{event['id']}/registrations/me", headers=participant.headers)
    promoted = client.get(path_of(feed), headers={"If-None-Match": first.headers["etag"]})
    assert promoted.status_code == 200
    assert read(promoted.text)[uid_of(db, event["id"])].summary == "Full"


def test_cancelling_a_registration_or_withdrawing_a_topic_removes_entries(
    client, db, member, dg_rtd, sedec, clock
):
    event = published_event(client, dg_rtd.headers)
    client.post(f"/events/{event['id']}/registrations", headers=member.headers)
    seminar = open_seminar(client, sedec)
    clock.set(IN_PROPOSALS)
    topic = propose(client, member, seminar["id"])
    feed = make_feed(client, member)
    clock.advance(seconds=SETTLED)
    first = client.get(path_of(feed))
    assert len(read(first.text)) == 4
    clock.advance(minutes=5)
    client.delete(f"/events/{event['id']}/registrations/me", headers=member.headers)
    client.post(f"/proposals/{topic['id']}/withdraw", headers=member.headers)
    after = client.get(path_of(feed), headers={"If-Modified-Since": first.headers["last-modified"]})
    assert after.status_code == 200
    assert read(after.text) == {}


def test_a_personal_feed_answers_304_when_nothing_changed(client, member, dg_rtd):
    event = published_event(client, dg_rtd.headers)
    client.post(f"/events/{event['id']}/registrations", headers=member.headers)
    feed = make_feed(client, member)
    first = client.get(path_of(feed))
    again = client.get(path_of(feed), headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


# -- tokens stay secret ----------------------------------------------------------------


def test_tokens_reach_no_log_line_and_no_audit_entry(race_app, race_account, caplog):
    member = race_account("member", "Maria Member", member_state="PT", region="Norte")
    caplog.set_level(logging.DEBUG)
    with (
        live_server(race_app, log_level="info", log_config=None, access_log=True) as base_url,
        httpx.Client(base_url=base_url) as client,
    ):
        issued = client.post("/me/feeds", headers=member.headers, json={"label": "Phone"})
        feed = issued.json()
        path = feed["url"].removeprefix(BASE)
        assert client.get(path).status_code == 200
        client.delete(f"/me/feeds/{feed['id']}", headers=member.headers)
        assert client.get(path).status_code == 404
        trail = client.get(
            "/audit", headers=race_account("admin").headers, params={"limit": 200}
        ).text
    token = token_of(feed)
    access = [record.getMessage() for record in caplog.records if record.name == "uvicorn.access"]
    assert any('"GET /feeds/[token].ics HTTP/1.1" 200' in line for line in access), access
    assert any('"GET /feeds/[token].ics HTTP/1.1" 404' in line for line in access), access
    # Everything the service logged; the test's own HTTP client logs the URL it calls.
    service = [
        record.getMessage()
        for record in caplog.records
        if not record.name.startswith(("httpx", "httpcore"))
    ]
    assert len(service) > len(access)
    assert not [line for line in service if token in line]
    assert "personal_feed.created" in trail and "personal_feed.revoked" in trail
    assert token not in trail
