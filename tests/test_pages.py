"""The public web pages, through HTTP: what each shows, to whom, and how it is answered."""

import itertools
import re
from datetime import UTC, datetime

import pytest

from app.config import Settings
from tests.helpers.events import create_event, published_event
from tests.helpers.feeds import fetch, read
from tests.helpers.pages import BROWSER, open_page
from tests.helpers.programme import build_programme
from tests.helpers.seminars import (
    AFTER_VOTING,
    IN_PROPOSALS,
    IN_VOTING,
    open_seminar,
    propose,
    support,
)

PAGES = ("/", "/joint-seminars", "/plan", "/subscribe")


@pytest.fixture
def event(client, dg_rtd):
    return published_event(client, dg_rtd.headers, capacity=2, online_url="https://meet.example/x")


# -- the front door ----------------------------------------------------------------------


def test_a_browser_gets_the_programme_and_other_clients_the_json_front_door(client):
    page = client.get("/", headers=BROWSER)
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "<h1>Programme of events</h1>" in page.text
    for accept in (
        "",
        "*/*",
        "application/json",
        "text/html;q=0",
        "application/json, text/html;q=0.5",
    ):
        headers = {"Accept": accept}
        answer = client.get("/", headers=headers)
        assert answer.status_code == 200, accept
        assert answer.headers["content-type"] == "application/json", accept
        assert answer.json()["name"] == "KEP 2.0 events service"
    # Caches keep the two apart.
    assert page.headers["vary"] == "Accept"
    assert client.get("/", headers={"Accept": "application/json"}).headers["vary"] == "Accept"


def test_the_json_front_door_still_refuses_unknown_parameters_and_the_page_reads_filters(client):
    assert client.get("/", params={"priority_area": "2"}).status_code == 422
    assert client.get("/", params={"priority_area": "2"}, headers=BROWSER).status_code == 200


# -- the programme ---------------------------------------------------------------------------


def test_the_programme_shows_upcoming_published_events_with_when_where_kind_and_areas(
    client, dg_rtd, member, event
):
    create_event(
        client,
        member.headers,
        title="A member's event not yet published",
        venue={"name": "Sala", "city": "Roma", "country": "IT"},
    )
    create_event(client, dg_rtd.headers, title="A draft of the secretariat", kind="other")
    page = open_page(client, "/")
    assert event["title"] in page.text
    assert "not yet published" not in page.text and "A draft" not in page.text
    assert "Wednesday 10 March 2027, 09:30–17:00 (Europe/Brussels, UTC+01:00)" in page.text
    assert "Jacques Delors building, Brussels, Belgium, and online" in page.text
    assert "Other event" in page.text
    assert "3. Raising awareness" in page.text  # action 3 serves priority areas 1, 2 and 3
    assert f"/e/{event['id']}" in page.links
    assert "Upcoming events: 1 found" in page.text
    # The country filter offers where public events are, not where unpublished ones are.
    assert '<option value="BE">Belgium</option>' in page.html and "Italy" not in page.html


def test_an_online_event_says_online(client, dg_rtd):
    published_event(client, dg_rtd.headers, venue=None, online_url="https://meet.example/y")
    assert "Where Online" in open_page(client, "/").text


def test_past_events_are_on_their_own_tab_latest_first(client, dg_rtd, clock):
    older = published_event(
        client,
        dg_rtd.headers,
        title="Older",
        starts_at="2026-12-01T10:00",
        ends_at="2026-12-01T12:00",
    )
    newer = published_event(
        client,
        dg_rtd.headers,
        title="Newer",
        starts_at="2026-12-02T10:00",
        ends_at="2026-12-02T12:00",
    )
    clock.advance(days=30)
    upcoming = open_page(client, "/")
    assert "No upcoming event matches" in upcoming.text
    past = open_page(client, "/?tab=past")
    assert past.text.index(newer["title"]) < past.text.index(older["title"])
    assert "Past events: 2 found" in past.text


def test_filters_are_links_and_a_form_whose_urls_can_be_shared(client, dg_rtd):
    green = published_event(client, dg_rtd.headers, title="Green", actions=[11])
    evidence = published_event(client, dg_rtd.headers, title="Evidence", actions=[9])
    page = open_page(client, "/?priority_area=2")
    assert "Green" in page.text and "Evidence" not in page.text
    assert '<option value="2" selected>' in page.html
    by_action = open_page(client, "/?action=9&kind=other&country=be")
    assert "Evidence" in by_action.text and "Green" not in by_action.text
    assert '<option value="BE" selected>Belgium</option>' in by_action.html
    # Each event's priority areas link to the programme filtered by them.
    assert "/?priority_area=4" in open_page(client, f"/e/{evidence['id']}").links
    # The form needs no script: a GET with named, labelled controls.
    assert re.search(r'<form method="get" action="/"', page.html)
    for name in ("priority_area", "action", "kind", "country"):
        assert f'<label for="{name}">' in page.html and f'name="{name}"' in page.html
    # The feed of what is shown, to subscribe to.
    assert "webcal://127.0.0.1:8000/calendar.ics?priority_area=2" in page.links
    assert green["id"] != evidence["id"]


def test_the_programme_is_paged_with_links_to_the_next_and_previous_pages(client, dg_rtd):
    for number in range(23):
        published_event(
            client,
            dg_rtd.headers,
            title=f"Event {number:02d}",
            starts_at=f"2027-03-{number + 1:02d}T10:00",
            ends_at=f"2027-03-{number + 1:02d}T12:00",
        )
    first = open_page(client, "/?action=3")
    assert "Page 1 of 2" in first.text and "Event 19" in first.text and "Event 20" not in first.text
    assert "/?action=3&page=2" in first.links
    second = open_page(client, "/?action=3&page=2")
    assert "Event 22" in second.text and "Event 19" not in second.text
    assert "/?action=3" in second.links  # back to page 1
    third = open_page(client, "/?action=3&page=3", status=404)
    assert "There is no page 3: the upcoming events that match these filters fit on 2 pages" in (
        third.text
    )
    assert "Page 3 of 2" not in third.text and "/?action=3&page=2" not in third.links


def test_a_page_past_the_last_is_a_404_that_links_to_the_first_page(client, dg_rtd):
    event = published_event(client, dg_rtd.headers)
    page = open_page(client, "/?page=5", status=404)
    assert "There is no such page" in page.text
    assert "There is no page 5: the upcoming events fit on 1 page" in page.text
    assert "Upcoming events: 1 found" in page.text
    assert "No upcoming event matches" not in page.text
    alert = page.html.split('role="alert"')[1].split("</div>")[0]
    assert '<a href="/?">See the first page</a>' in alert
    assert event["title"] not in page.text

    page = open_page(client, "/?action=3&tab=past&page=2", status=404)
    assert "There is no page 2: the past events that match these filters fit on 1 page" in (
        page.text
    )
    alert = page.html.split('role="alert"')[1].split("</div>")[0]
    assert '<a href="/?tab=past&amp;action=3">See the first page</a>' in alert
    # The first page is a page, even with nothing on it.
    assert "No past event matches these filters" in open_page(client, "/?action=3&tab=past").text


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("priority_area=9", "There is no priority area '9'; choose one of 1, 2, 3, 4"),
        ("action=x", "There is no action 'x'"),
        ("kind=webinar", "There is no kind of event 'webinar'; choose one of joint_seminar"),
        ("country=XX", "'XX' is not an ISO 3166 alpha-2 country code"),
        ("tab=future", "choose upcoming or past"),
        ("page=0", "pages are numbered from 1"),
        # Digits that are not 0-9: str.isdigit() takes them, int() does not.
        ("action=²", "There is no action '²'"),
        ("priority_area=①", "There is no priority area '①'"),
        ("priority_area=٣", "There is no priority area '٣'"),
        ("page=²", "There is no page '²'"),
        ("action=" + "9" * 5000, "There is no action '99999999999999999999'"),
        ("page=" + "9" * 5000, "pages are numbered from 1"),
    ],
)
def test_a_filter_that_names_nothing_is_a_422_page_that_says_what_to_choose(
    client, event, query, says
):
    page = open_page(client, f"/?{query}", status=422)
    assert says in page.text
    assert event["title"] not in page.text


# -- one event -------------------------------------------------------------------------------


def test_the_event_page_has_what_a_participant_needs(client, event, dg_rtd, participant, member):
    eid = event["id"]
    agenda = {
        "items": [
            {
                "starts_at": "2027-03-10T09:30",
                "ends_at": "2027-03-10T10:00",
                "title": "Opening",
                "speakers": [{"name": "Heike Raab", "affiliation": "CoR SEDEC"}],
            }
        ]
    }
    assert (
        client.put(f"/events/{eid}/agenda", headers=dg_rtd.headers, json=agenda).status_code == 200
    )
    page = open_page(client, f"/e/{eid}")
    assert "Provisional: the secretariat has not confirmed this agenda yet" in page.text
    client.post(f"/events/{eid}/agenda/confirm", headers=dg_rtd.headers)
    client.post(f"/events/{eid}/registrations", headers=participant.headers)
    page = open_page(client, f"/e/{eid}")
    assert f"<h1>{event['title']}</h1>" in page.html
    assert event["description"] in page.text
    assert "Wednesday 10 March 2027, 09:30–17:00 (Europe/Brussels, UTC+01:00)" in page.text
    assert "Rue Belliard 99-101" in page.text
    assert "https://meet.example/x" in page.links
    assert "1 of 2 places left" in page.text
    assert "Confirmed by the secretariat" in page.text
    assert "09:30 –10:00 Opening" in page.text and "Heike Raab, CoR SEDEC" in page.text
    assert "Action 3: Collaborating with Horizon Europe" in page.text
    assert "Priority area 2: Facilitating the green and digital transition" in page.text
    assert f"http://127.0.0.1:8000/events/{eid}.ics" in page.links  # Add to calendar
    assert f"webcal://127.0.0.1:8000/events/{eid}.ics" in page.links
    assert f"POST http://127.0.0.1:8000/events/{eid}/registrations" in page.text
    assert f"http://127.0.0.1:8000/events/{eid}" in page.links
    client.post(f"/events/{eid}/registrations", headers=member.headers)
    assert "Full: new registrations join the waitlist" in open_page(client, f"/e/{eid}").text


def test_a_cancelled_event_says_so_and_why(client, event, dg_rtd):
    client.post(f"/events/{event['id']}/cancel", headers=dg_rtd.headers, json={"reason": "Strike"})
    page = open_page(client, f"/e/{event['id']}")
    assert "This event is cancelled. Strike" in page.text
    assert "Registration is closed: the event is cancelled" in page.text
    assert f"Cancelled: {event['title']}" in open_page(client, "/").text


def test_an_unpublished_event_is_the_same_404_as_an_unknown_one(client, member, dg_rtd):
    submitted = create_event(client, member.headers, title="Secret plans")
    draft = create_event(client, dg_rtd.headers, kind="other", title="Secret draft")
    unknown = client.get("/e/999999", headers=BROWSER)
    assert unknown.status_code == 404
    for hidden in (submitted, draft):
        answer = client.get(f"/e/{hidden['id']}", headers=BROWSER)
        assert answer.status_code == 404
        assert answer.text == unknown.text
        assert "Secret" not in answer.text
    for path in ("/e/abc", "/e/-1", "/e/99999999999999999999", "/e/2147483648", "/e/0"):
        assert client.get(path, headers=BROWSER).status_code == 404


@pytest.mark.parametrize("written", ["²", "①", "٣", "1²", "9" * 5000])
def test_an_event_id_in_other_digits_is_the_404_page(client, event, written):
    answer = client.get(f"/e/{written}", headers=BROWSER)
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "text/html; charset=utf-8"
    assert answer.text == client.get("/e/abc", headers=BROWSER).text


# -- the joint seminars and the plan -----------------------------------------------------------


def test_the_joint_seminars_page_shows_the_call_proposals_and_the_tally_once_voting_closes(
    client, clock, dg_rtd, member, make_account
):
    seminar = open_seminar(client, dg_rtd)
    clock.set(IN_PROPOSALS)
    valleys = propose(client, member, seminar["id"], title="Regional innovation valleys")
    propose(client, dg_rtd, seminar["id"], title="Missions in the regions")
    clock.set(IN_VOTING)
    for voter in (member, make_account("member", "Other Member", member_state="IT")):
        support(client, voter, valleys["id"])
    page = open_page(client, "/joint-seminars")
    assert "Seminar 1 of 2027" in page.text and "Voting on the proposed topics is open" in page.text
    assert (
        "Call for topics opens Tuesday 1 December 2026, 10:00 (Europe/Brussels, UTC+01:00)"
        in page.text
    )
    assert "published when voting closes" in page.text and "Supports" not in page.text
    assert "Maria Member, CoR member, Portugal" in page.text
    assert "Rita Research, DG RTD" in page.text
    clock.set(AFTER_VOTING)
    page = open_page(client, "/joint-seminars")
    assert "Regional innovation valleys Maria Member, CoR member, Portugal 2 Proposed" in page.text
    assert "Missions in the regions Rita Research, DG RTD 0 Proposed" in page.text
    assert "http://127.0.0.1:8000/seminars.ics" in page.links


def test_a_joint_seminar_whose_event_was_cancelled_marks_that_event_cancelled(
    client, clock, dg_rtd, sedec, member
):
    seminar = open_seminar(client, dg_rtd)
    clock.set(IN_PROPOSALS)
    topic = propose(client, member, seminar["id"], title="Valleys")
    clock.set(IN_VOTING)
    support(client, member, topic["id"])
    clock.set(AFTER_VOTING)
    for partner in (dg_rtd, sedec):
        answer = client.put(
            f"/seminars/{seminar['id']}/agreement",
            headers=partner.headers,
            json={"proposal_id": topic["id"]},
        )
        assert answer.status_code == 200, answer.text
    answer = client.post(
        f"/seminars/{seminar['id']}/event",
        headers=dg_rtd.headers,
        json={
            "starts_at": "2027-06-10T09:30",
            "ends_at": "2027-06-10T17:00",
            "timezone": "Europe/Brussels",
            "venue": {"name": "JDE", "city": "Brussels", "country": "BE"},
        },
    )
    assert answer.status_code == 201, answer.text
    event = answer.json()
    assert event["status"] == "published"
    page = open_page(client, "/joint-seminars")
    assert "The topic is agreed and the seminar is scheduled" in page.text
    assert f"The seminar {event['title']}" in page.text
    answer = client.post(
        f"/events/{event['id']}/cancel", headers=dg_rtd.headers, json={"reason": "Strike"}
    )
    assert answer.status_code == 200, answer.text

    page = open_page(client, "/joint-seminars")
    assert "The topic is agreed." in page.text
    # The cancelled event is named as the programme and its own page name it, not as
    # the seminar that will be held.
    assert f"The seminar {event['title']}" not in page.text
    assert f'<a href="/e/{event["id"]}">Cancelled: {event["title"]}</a>' in page.html


def test_the_plan_page_lists_the_four_areas_and_eleven_actions_with_their_events(
    client, clock, make_account
):
    built = build_programme(client, clock, make_account)
    page = open_page(client, "/plan")
    assert [f"Priority area {n}:" in page.text for n in range(1, 5)] == [True] * 4
    assert [f"Action {n}:" in page.text for n in range(1, 12)] == [True] * 11
    assert page.text.count("(retired)") == 1  # action 7
    # Action 11 is served by the Azores watch, still upcoming.
    assert f"/e/{built.events['AZ']}" in page.links
    assert "/?action=8" in page.links and "/?priority_area=4" in page.links
    action_8 = page.html.split('id="action-8"')[1].split("</article>")[0]
    assert "0 events held, 0 upcoming" in action_8


def test_the_plan_page_says_which_priority_area_an_action_focuses_on(client, dg_rtd):
    def areas_line(page, action: int) -> str:
        section = page.html.split(f'id="action-{action}"')[1].split("</article>")[0]
        [line] = re.findall(r'<p class="areas">.*?</p>', section)
        return re.sub(r"<[^>]+>", "", line)

    page = open_page(client, "/plan")
    # "... contribute to all priority areas, with a focus on priority area 1."
    assert areas_line(page, 10) == (
        "Serves priority areas 1, 2, 3, 4, with a focus on priority area 1."
    )
    section = page.html.split('id="action-10"')[1].split("</article>")[0]
    assert 'with a focus on priority area <a href="#priority-area-1">1</a>' in section
    assert areas_line(page, 3) == "Serves priority areas 1, 2, 3."
    answer = client.patch(
        "/actions/3",
        headers=dg_rtd.headers,
        json={
            "focus_priority_area": 2,
            "communication": {"reference": "Ares(2026)7", "date": "2026-11-20"},
        },
    )
    assert answer.status_code == 200, answer.text
    page = open_page(client, "/plan")
    assert areas_line(page, 3) == (
        "Serves priority areas 1, 2, 3, with a focus on priority area 2."
    )


def _served(page, entry: str) -> str:
    section = page.html.split(f'id="{entry}"')[1].split("</article>")[0]
    found = re.search(r"\d+ events? held, \d+ upcoming(, \d+ cancelled)?", section)
    assert found, section
    return found.group(0)


def test_the_plan_page_counts_cancelled_events_apart_as_the_coverage_report_does(
    client, dg_rtd, clock
):
    def health_event(day: str, title: str) -> dict:
        return published_event(
            client,
            dg_rtd.headers,
            title=title,
            actions=[6],  # priority area 1 only
            starts_at=f"{day}T09:00",
            ends_at=f"{day}T12:00",
        )

    health_event("2026-12-01", "Held")
    health_event("2027-03-10", "Coming")
    for day in ("2026-12-02", "2027-03-11"):
        cancelled = health_event(day, "Called off")
        answer = client.post(
            f"/events/{cancelled['id']}/cancel", headers=dg_rtd.headers, json={"reason": "Venue"}
        )
        assert answer.status_code == 200, answer.text
    clock.set(datetime(2027, 1, 15, 9, 0, tzinfo=UTC))

    page = open_page(client, "/plan")
    assert _served(page, "action-6") == "1 event held, 1 upcoming, 2 cancelled"
    assert _served(page, "priority-area-1") == "1 event held, 1 upcoming, 2 cancelled"
    assert _served(page, "action-3") == "0 events held, 0 upcoming"
    report = client.get("/reports/coverage", headers=dg_rtd.headers).json()["total"]
    (action_6,) = [line for line in report["actions"] if line["number"] == 6]
    assert action_6["figures"]["events"] == {"held": 1, "upcoming": 1, "cancelled": 2}


def test_the_plan_page_names_the_next_events_held_not_the_cancelled_ones(client, dg_rtd):
    for day in ("2027-03-01", "2027-03-02", "2027-03-03"):
        called_off = published_event(
            client,
            dg_rtd.headers,
            title=f"Called off {day}",
            actions=[6],
            starts_at=f"{day}T09:00",
            ends_at=f"{day}T12:00",
        )
        answer = client.post(
            f"/events/{called_off['id']}/cancel", headers=dg_rtd.headers, json={"reason": "Venue"}
        )
        assert answer.status_code == 200, answer.text
    coming = published_event(
        client,
        dg_rtd.headers,
        title="The one that takes place",
        actions=[6],
        starts_at="2027-04-01T09:00",
        ends_at="2027-04-01T12:00",
    )
    page = open_page(client, "/plan")
    for entry in ("action-6", "priority-area-1"):
        assert _served(page, entry) == "0 events held, 1 upcoming, 3 cancelled"
        section = page.html.split(f'id="{entry}"')[1].split("</article>")[0]
        assert f"/e/{coming['id']}" in section, entry
        assert "Called off" not in section, entry


def test_the_subscribe_page_lists_every_public_feed_with_webcal_https_and_instructions(client):
    page = open_page(client, "/subscribe")
    feeds = client.get("/feeds", params={"limit": 200}).json()["items"]
    assert len(feeds) == 1 + 4 + 11 + 1
    for feed in feeds:
        assert feed["webcal_url"] in page.links
        assert f'value="{feed["url"]}"' in page.html.replace("&amp;", "&")
    for app_name in ("Outlook", "Google Calendar", "Apple Calendar"):
        assert app_name in page.text
    assert '<script src="/static/copy.js" defer></script>' in page.html


# -- safe and correct --------------------------------------------------------------------------

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_every_text_a_user_wrote_is_escaped(client, dg_rtd, member, clock):
    event = published_event(
        client,
        dg_rtd.headers,
        title=f"Title {HOSTILE}",
        description=f"About {HOSTILE}",
        venue={"name": f"Hall {HOSTILE}", "city": "Brussels", "country": "BE"},
    )
    client.put(
        f"/events/{event['id']}/agenda",
        headers=dg_rtd.headers,
        json={
            "items": [
                {
                    "starts_at": "2027-03-10T09:30",
                    "ends_at": "2027-03-10T10:00",
                    "title": f"Item {HOSTILE}",
                    "speakers": [{"name": f"Speaker {HOSTILE}", "affiliation": HOSTILE}],
                }
            ]
        },
    )
    seminar = open_seminar(client, dg_rtd)
    clock.set(IN_PROPOSALS)
    propose(client, member, seminar["id"], title=f"Topic {HOSTILE}")
    for path in (*PAGES, f"/e/{event['id']}"):
        page = open_page(client, path)
        assert "<script>alert" not in page.html, path
        assert "<img src=x" not in page.html, path
    escaped = open_page(client, f"/e/{event['id']}")
    assert "Title &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in escaped.html
    assert f"Speaker {HOSTILE}" in escaped.text  # shown as text, as written
    assert f"Topic {HOSTILE}" in open_page(client, "/joint-seminars").text


def test_pages_run_no_inline_script_and_load_nothing_from_elsewhere(client, event):
    for path in (*PAGES, f"/e/{event['id']}", "/e/404404"):
        response = client.get(path, headers=BROWSER)
        policy = response.headers["content-security-policy"]
        assert "default-src 'none'" in policy and "script-src 'self';" in policy, path
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
        html = response.text
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), path  # no inline script
        assert not re.search(r"\son[a-z]+=", html), path  # no event handler attribute
        assert "style=" not in html and "<style" not in html, path
        for asset in re.findall(r'<(?:link|script|img)[^>]+(?:href|src)="([^"]+)"', html):
            assert asset.startswith("/static/"), asset
            assert client.get(asset).status_code == 200
        assert 'lang="en"' in html and '<meta name="viewport"' in html
        for footer_link in ('href="/docs"', 'href="/health"', 'href="/subscribe"'):
            assert footer_link in html.split("<footer")[1], path


def test_headings_go_down_one_level_at_a_time(client, event, dg_rtd, clock, member):
    seminar = open_seminar(client, dg_rtd)
    clock.set(IN_PROPOSALS)
    propose(client, member, seminar["id"])
    for path in (*PAGES, f"/e/{event['id']}"):
        levels = [
            int(level)
            for level in re.findall(r"<h([1-6])[ >]", client.get(path, headers=BROWSER).text)
        ]
        assert levels[0] == 1 and levels.count(1) == 1, path
        assert all(b <= a + 1 for a, b in itertools.pairwise(levels)), (path, levels)


def test_pages_answer_an_etag_and_304_while_they_are_unchanged(client, event, participant):
    path = f"/e/{event['id']}"
    first = client.get(path, headers=BROWSER)
    etag = first.headers["etag"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
    assert first.headers["cache-control"] == "public, no-cache"
    again = client.get(path, headers={**BROWSER, "If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    head = client.head(path, headers=BROWSER)
    assert head.status_code == 200 and head.headers["etag"] == etag and head.content == b""
    client.post(f"/events/{event['id']}/registrations", headers=participant.headers)
    changed = client.get(path, headers={**BROWSER, "If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert "1 of 2 places left" in changed.text
    for page in PAGES:
        tag = client.get(page, headers=BROWSER).headers["etag"]
        assert client.get(page, headers={**BROWSER, "If-None-Match": tag}).status_code == 304


def test_links_out_of_the_pages_are_built_from_the_public_base_url(app, client, event):
    app.state.settings = Settings(
        database_url=app.state.settings.database_url,
        public_base_url="https://kep.example.eu",
        _env_file=None,  # type: ignore[call-arg]
    )
    page = open_page(client, f"/e/{event['id']}")
    assert f"https://kep.example.eu/events/{event['id']}.ics" in page.links
    assert f"webcal://kep.example.eu/events/{event['id']}.ics" in page.links
    assert "webcal://kep.example.eu/calendar.ics" in open_page(client, "/").links
    assert "webcal://kep.example.eu/seminars.ics" in open_page(client, "/subscribe").links
    assert "http://127.0.0.1:8000" not in open_page(client, "/subscribe").html


def test_behind_a_path_prefix_the_pages_link_their_own_paths_under_it(app, client, event):
    """A service reached at https://example.eu/kep: a link to /e/1 or /static/site.css
    would leave it for another site's pages on the same host."""
    app.state.settings = Settings(
        database_url=app.state.settings.database_url,
        public_base_url="https://example.eu/kep/",
        _env_file=None,  # type: ignore[call-arg]
    )
    for path in (*PAGES, f"/e/{event['id']}", "/e/999999"):
        response = client.get(path, headers=BROWSER)
        own = re.findall(r'(?:href|src|action)="(/[^"]*)"', response.text)
        assert own, path
        assert all(link.startswith("/kep/") for link in own), (path, own)
    page = open_page(client, "/")
    assert "/kep/static/site.css" in page.html
    assert f"/kep/e/{event['id']}" in page.links


def test_the_pages_give_the_plans_term_of_the_settings(app, client, event):
    app.state.settings = Settings(
        database_url=app.state.settings.database_url,
        plan_start_year=2031,
        plan_end_year=2034,
        _env_file=None,  # type: ignore[call-arg]
    )
    assert "The Joint Action Plan, 2031–2034" in open_page(client, "/plan").text
    for path in (*PAGES, f"/e/{event['id']}"):
        page = open_page(client, path)
        assert "(DG RTD and JRC), 2031–2034." in page.text, path  # the footer
        assert "2029" not in page.text, path
    missing = client.get("/e/999999", headers=BROWSER)
    assert missing.status_code == 404 and "2031–2034" in missing.text


def test_the_feeds_link_each_event_to_its_page(client, event):
    [shown] = read(fetch(client, "/calendar.ics")).values()
    url = f"http://127.0.0.1:8000/e/{event['id']}"
    assert shown.description.endswith(f"Details: {url}")
    page = open_page(client, url.removeprefix("http://127.0.0.1:8000"))
    assert event["title"] in page.text


# -- fast --------------------------------------------------------------------------------------


def _statements(client, count_queries, path: str) -> int:
    with count_queries() as counter:
        response = client.get(path, headers=BROWSER)
    assert response.status_code == 200, response.text
    return counter.count


def test_every_page_reads_a_fixed_number_of_statements_however_many_events(
    client, dg_rtd, count_queries, clock, make_account
):
    built = build_programme(client, clock, make_account)
    seminar_event = built.events["S1"]
    # An upcoming joint seminar from the start, so that the programme reads its seminar
    # (one statement, whatever the number of joint seminars) before and after.
    published_event(
        client,
        dg_rtd.headers,
        title="Joint",
        kind="joint_seminar",
        starts_at="2027-09-01T10:00",
        ends_at="2027-09-01T12:00",
    )
    paths = (*PAGES, "/?tab=past", "/?priority_area=1", f"/e/{seminar_event}")
    before = {path: _statements(client, count_queries, path) for path in paths}
    for number in range(30):
        day = f"2028-0{number % 9 + 1}-{number % 27 + 1:02d}"
        published_event(
            client,
            dg_rtd.headers,
            title=f"More {number}",
            actions=[[1, 2, 3, 4, 5, 6, 8, 9, 10, 11][number % 10]],
            starts_at=f"{day}T10:00",
            ends_at=f"{day}T12:00",
            kind="joint_seminar" if number % 5 == 0 else "other",
        )
        published_event(
            client,
            dg_rtd.headers,
            title=f"Earlier {number}",
            actions=[[1, 2, 3, 4, 5, 6, 8, 9, 10, 11][number % 10]],
            starts_at=f"2027-01-{number % 27 + 1:02d}T10:00",
            ends_at=f"2027-01-{number % 27 + 1:02d}T12:00",
        )
    after = {path: _statements(client, count_queries, path) for path in paths}
    assert after == before
    assert max(after.values()) <= 11, after
