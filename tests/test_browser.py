"""The public pages in a real browser: Debian's chromium, headless, driven by Playwright,
against the service served for real on a local port, with axe-core checking every page
against WCAG 2.1 AA.

``KEP_SKIP_BROWSER=1`` skips them (saying so); otherwise a missing chromium is a
failure, not a skip: ``.ci/run`` installs it.
"""

import os
import re
import shutil
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import icalendar
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from app.config import Settings
from app.main import create_app
from app.models import Role, User
from app.notifications import preferences
from tests.helpers.accounts import add_account
from tests.helpers.clock import MovableClock
from tests.helpers.database import migrate
from tests.helpers.seminars import AFTER_VOTING, IN_PROPOSALS, IN_VOTING, START, seminar_body
from tests.helpers.server import free_port, live_server

pytestmark = pytest.mark.skipif(
    os.environ.get("KEP_SKIP_BROWSER") == "1",
    reason="browser tests skipped: KEP_SKIP_BROWSER=1 (they need Debian's chromium)",
)

CHROMIUM = os.environ.get("KEP_CHROMIUM", "/usr/bin/chromium")
DOCS = Path(__file__).resolve().parent.parent / "docs"
# WCAG 2.1 levels A and AA, which the Web Accessibility Directive requires of EU bodies.
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# Pages that answer an error on purpose: a filter that names nothing, an unknown event.
REFUSED = ("/?priority_area=9", "/e/424242")


@dataclass
class Site:
    url: str
    events: dict[str, dict[str, Any]]
    mail_pages: list[str]  # a member's mail choices, and one of their unsubscribe links


def _post(client: httpx.Client, path: str, headers: dict[str, str], body: Any) -> Any:
    response = client.post(path, headers=headers, json=body)
    assert response.status_code in (200, 201), response.text
    return response.json()


def _event(title: str, day: str, **fields: Any) -> dict[str, Any]:
    return {
        "title": title,
        "description": "How regions and cities turn research into local innovation.\n\n"
        "Open to CoR members, regional authorities and researchers.",
        "kind": "other",
        "status": "published",
        "starts_at": f"{day}T09:30",
        "ends_at": f"{day}T17:00",
        "timezone": "Europe/Brussels",
        "venue": {
            "name": "Jacques Delors building",
            "address": "Rue Belliard 99-101",
            "city": "Brussels",
            "country": "BE",
        },
        "capacity": 80,
        "actions": [3],
        **fields,
    }


def _seed(app: FastAPI, clock: MovableClock, url: str) -> dict[str, dict[str, Any]]:
    """A small programme: a seminar cycle that voted, an agreed and scheduled seminar with
    a confirmed agenda, events in several priority areas and countries, one past."""
    people = app.state.sessionmaker
    rtd = add_account(people, "secretariat", "Rosa Research", now=clock(), institution="dg_rtd")
    sedec = add_account(people, "secretariat", "Sven Sedec", now=clock(), institution="cor_sedec")
    members = [
        add_account(people, "member", name, now=clock(), member_state=state, region=region)
        for name, state, region in (
            ("Ana Costa", "PT", "Norte"),
            ("Zofia Nowak", "PL", "Małopolskie"),
        )
    ]
    events: dict[str, dict[str, Any]] = {}
    with httpx.Client(base_url=url, timeout=30) as client:
        seminar = _post(client, "/seminars", rtd.headers, seminar_body())
        clock.set(IN_PROPOSALS)
        topics = [
            _post(
                client,
                f"/seminars/{seminar['id']}/proposals",
                author.headers,
                {"title": title, "summary": "Why it matters to the regions.", "actions": actions},
            )
            for author, title, actions in (
                (members[0], "Regional innovation valleys", [2, 10]),
                (members[1], "Resilience evidence for territories", [9]),
            )
        ]
        clock.set(IN_VOTING)
        for voter in members:
            client.put(f"/proposals/{topics[0]['id']}/support", headers=voter.headers)
        client.put(f"/proposals/{topics[1]['id']}/support", headers=members[1].headers)
        clock.set(AFTER_VOTING)
        for chooser in (rtd, sedec):
            agreed = {"proposal_id": topics[0]["id"]}
            assert (
                client.put(
                    f"/seminars/{seminar['id']}/agreement", headers=chooser.headers, json=agreed
                ).status_code
                == 200
            )
        scheduled = {
            key: value
            for key, value in _event("", "2027-05-12", capacity=120).items()
            if key not in ("title", "description", "kind", "status", "actions")
        }
        events["seminar"] = _post(
            client, f"/seminars/{seminar['id']}/event", rtd.headers, scheduled
        )
        agenda = {
            "items": [
                {
                    "starts_at": "2027-05-12T09:30",
                    "ends_at": "2027-05-12T10:00",
                    "title": "Opening",
                    "speakers": [{"name": "Chair of the SEDEC commission", "affiliation": "CoR"}],
                },
                {
                    "starts_at": "2027-05-12T10:00",
                    "ends_at": "2027-05-12T12:00",
                    "title": "Valleys in practice: three regions",
                    "speakers": [
                        {"name": "Ana Costa", "affiliation": "Norte"},
                        {"name": "Zofia Nowak", "affiliation": "Małopolskie"},
                    ],
                },
            ]
        }
        seminar_id = events["seminar"]["id"]
        client.put(f"/events/{seminar_id}/agenda", headers=rtd.headers, json=agenda)
        client.post(f"/events/{seminar_id}/agenda/confirm", headers=rtd.headers)
        if events["seminar"]["status"] != "published":
            client.post(f"/events/{seminar_id}/publish", headers=rtd.headers)
        for key, body in {
            "green": _event(
                "Green and digital transition in rural regions",
                "2027-03-18",
                actions=[11],
                venue={"name": "Tampere Hall", "city": "Tampere", "country": "FI"},
            ),
            "evidence": _event(
                "Territorial foresight with the Risk Data Hub",
                "2027-04-07",
                actions=[9],
                venue=None,
                online_url="https://meet.example.eu/foresight",
            ),
            "funding": _event("Funding opportunities: a clinic for regions", "2027-06-02"),
            "past": _event("Knowledge valorisation in the regions", "2027-01-20", actions=[8]),
        }.items():
            events[key] = _post(client, "/events", rtd.headers, body)
    return events


def _mail_pages(app: FastAPI) -> list[str]:
    with app.state.sessionmaker() as session:
        member = session.scalars(select(User.id).where(User.role == Role.member)).first()
        assert member is not None
        return [
            f"/notifications/choices/{preferences.choices_code(session, member)}",
            "/notifications/unsubscribe/"
            + preferences.unsubscribe_code(session, member, "call_for_topics"),
        ]


# The event page shows the service's address: a fixed port, when it is free, keeps the
# committed screenshots the same from one run to the next.
SCREENSHOT_PORT = 8765


def _screenshot_port() -> int:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", SCREENSHOT_PORT))
        except OSError:
            return free_port()
    return SCREENSHOT_PORT


def _published_at(url: str, folder: Path) -> FastAPI:
    """The service published at ``url``, on a migrated SQLite database in ``folder``."""
    database_url = f"sqlite:///{folder}/kep.db"
    migrate(database_url)
    settings = Settings(database_url=database_url, public_base_url=url, _env_file=None)  # type: ignore[call-arg]
    return create_app(settings)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    port = _screenshot_port()
    url = f"http://127.0.0.1:{port}"
    app = _published_at(url, tmp_path_factory.mktemp("browser"))
    clock = MovableClock(START)  # the seminar is opened before its dates
    app.state.clock = clock
    try:
        with live_server(app, port=port):
            events = _seed(app, clock, url)
            yield Site(url=url, events=events, mail_pages=_mail_pages(app))
    finally:
        app.state.engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.fail(
            f"No chromium at {CHROMIUM}: install Debian's package (apt-get install chromium), "
            "or set KEP_SKIP_BROWSER=1 to skip the browser tests",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, site: Site) -> Iterator[Any]:
    context = browser.new_context(
        viewport={"width": 1100, "height": 900}, accept_downloads=True, locale="en-GB"
    )
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site.url)
    opened = context.new_page()
    errors: list[str] = []

    def console(message: Any) -> None:
        # The pages that answer 404 and 422 on purpose are logged as failed loads.
        if message.type == "error" and not message.location["url"].endswith(REFUSED):
            errors.append(f"{message.location['url']}: {message.text}")

    opened.on("console", console)
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert errors == [], errors  # nothing the policy blocked, no script error


def test_a_visitor_filters_the_programme_opens_an_event_and_adds_it_to_a_calendar(
    page: Any, site: Site, tmp_path: Path
):
    page.goto(site.url + "/")
    assert page.locator("h1").inner_text() == "Programme of events"
    titles = page.locator("article.event h3").all_inner_texts()
    assert "Green and digital transition in rural regions" in titles
    assert "Territorial foresight with the Risk Data Hub" in titles
    assert "Knowledge valorisation in the regions" not in titles  # past: on the other tab
    page.screenshot(path=str(DOCS / "programme.png"), full_page=True)

    page.get_by_label("Priority area").select_option("2")
    page.get_by_role("button", name="Show events").click()
    page.wait_for_url("**/?tab=upcoming&priority_area=2**")
    titles = page.locator("article.event h3").all_inner_texts()
    assert "Green and digital transition in rural regions" in titles
    assert "Territorial foresight with the Risk Data Hub" not in titles  # priority area 4

    page.get_by_role("link", name="Past").click()
    assert page.locator("article.event h3").all_inner_texts() == []
    page.goto(site.url + "/?tab=past")
    assert "Knowledge valorisation in the regions" in page.locator("main").inner_text()

    seminar = site.events["seminar"]
    page.goto(site.url + "/")
    page.get_by_role("link", name=seminar["title"]).click()
    page.wait_for_url(f"**/e/{seminar['id']}")
    assert page.locator("h1").inner_text() == seminar["title"]
    text = page.locator("main").inner_text()
    assert "Wednesday 12 May 2027, 09:30–17:00" in text and "UTC+02:00" in text
    assert "Confirmed by the secretariat" in text and "Zofia Nowak, Małopolskie" in text
    page.screenshot(path=str(DOCS / "event.png"), full_page=True)

    with page.expect_download() as downloading:
        page.get_by_role("link", name="Add to calendar").click()
    download = downloading.value
    assert download.suggested_filename.endswith(".ics")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    calendar = icalendar.Calendar.from_ical(saved.read_bytes())
    [vevent] = calendar.walk("VEVENT")
    assert str(vevent["SUMMARY"]) == seminar["title"]
    assert vevent["DTSTART"].dt.isoformat() == "2027-05-12T09:30:00+02:00"
    assert str(vevent["URL"]) == f"{site.url}/e/{seminar['id']}"


def test_every_webcal_link_on_the_subscribe_page_is_a_feed(page: Any, site: Site):
    page.goto(site.url + "/subscribe")
    links = page.locator('a[href^="webcal://"]')
    hrefs = [links.nth(index).get_attribute("href") for index in range(links.count())]
    assert len(hrefs) == 1 + 4 + 11 + 1  # all, each priority area, each action, seminars
    for href in hrefs:
        answer = page.request.get("http://" + href.removeprefix("webcal://"))
        assert answer.status == 200, href
        assert answer.headers["content-type"].startswith("text/calendar"), href
        assert icalendar.Calendar.from_ical(answer.body()).get("X-WR-CALNAME"), href
    # The copy button is added by the page's own script, and copies the address.
    first = page.locator("input[data-copy]").first
    page.get_by_role("button", name="Copy address").first.click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == first.input_value() == f"{site.url}/calendar.ics"
    assert page.locator("#copy-status").inner_text().startswith("Address copied")


def _pages(site: Site) -> list[str]:
    return [
        "/",
        "/?tab=past",
        *REFUSED,
        f"/e/{site.events['seminar']['id']}",
        f"/e/{site.events['evidence']['id']}",
        "/joint-seminars",
        "/plan",
        "/subscribe",
        *site.mail_pages,
    ]


@pytest.mark.parametrize("width", [1100, 360], ids=["desktop", "phone"])
def test_axe_core_finds_no_wcag_21_aa_violation_on_any_page(
    browser: Any, page: Any, site: Site, width: int
):
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    page.set_viewport_size({"width": width, "height": 800})
    for path in _pages(site):
        page.goto(site.url + path)
        results = axe.run(page, options={"runOnly": {"type": "tag", "values": WCAG_21_AA}})
        assert results.violations_count == 0, (path, results.generate_report())
        assert results.response["passes"], path  # the rules ran
        # Usable on a phone: nothing wider than the screen.
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), path


def test_a_member_chooses_their_mails_from_the_link_in_a_mail(page: Any, site: Site):
    choices, unsubscribe = site.mail_pages
    page.goto(site.url + choices)
    wanted = page.get_by_label(re.compile("a joint seminar's call for topics opens"))
    assert wanted.is_checked()
    wanted.uncheck()
    page.get_by_role("button", name="Save my choices").click()
    assert page.get_by_role("status").inner_text() == "Your choices are saved."
    page.goto(site.url + choices)  # as stored, not as the form was left
    assert not page.get_by_label(re.compile("a joint seminar's call for topics opens")).is_checked()
    assert page.get_by_label(re.compile("voting on a joint seminar")).is_checked()
    # The unsubscribe link of that kind says it is stopped, and leads back here.
    page.goto(site.url + unsubscribe)
    assert page.get_by_role("heading", level=1).inner_text() == "You no longer receive these mails"
    page.get_by_role("link", name="your mail choices").click()
    assert page.url == site.url + choices
    wanted = page.get_by_label(re.compile("a joint seminar's call for topics opens"))
    wanted.check()
    page.get_by_role("button", name="Save my choices").click()
    assert page.get_by_role("status").inner_text() == "Your choices are saved."
    page.goto(site.url + unsubscribe)
    assert page.get_by_role("heading", level=1).inner_text() == "Stop these mails?"


def test_the_keyboard_reaches_the_skip_link_first_and_focus_is_visible(page: Any, site: Site):
    page.goto(site.url + "/")
    page.keyboard.press("Tab")
    focused = page.evaluate(
        "(() => { const e = document.activeElement; const s = getComputedStyle(e);"
        " return [e.textContent, s.outlineStyle, s.outlineWidth,"
        " e.getBoundingClientRect().top]; })()"
    )
    assert focused[0] == "Skip to content"
    assert focused[1] != "none" and focused[2] != "0px"
    assert focused[3] >= 0  # moved into view when focused
    page.keyboard.press("Enter")
    # The jump to the fragment is a navigation within the page, noted a moment later.
    page.wait_for_url(re.compile(r"#content$"), timeout=5_000)


def _published_under(prefix: str, app: FastAPI) -> Any:
    """``app`` as a proxy that publishes it under ``prefix`` reaches it: with the prefix
    taken off each request's path, and nothing outside it answered."""

    async def proxy(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            if not scope["path"].startswith(prefix + "/"):
                await send({"type": "http.response.start", "status": 404, "headers": []})
                await send({"type": "http.response.body", "body": b""})
                return
            scope = {
                **scope,
                "path": scope["path"][len(prefix) :],
                "raw_path": scope["raw_path"][len(prefix) :],
            }
        await app(scope, receive, send)

    return proxy


def test_swagger_ui_under_a_path_prefix_loads_and_calls_the_service_there(browser, tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}/kep"
    app = _published_at(url, tmp_path)
    context = browser.new_context()
    try:
        with live_server(_published_under("/kep", app), port=port):
            page = context.new_page()
            requested: list[str] = []
            page.on("request", lambda request: requested.append(request.url))
            page.goto(url + "/docs")
            health = page.locator(".opblock-get", has_text="/health").first
            health.locator(".opblock-summary").click()
            health.get_by_role("button", name="Try it out").click()
            health.get_by_role("button", name="Execute").click()
            status = health.locator(".live-responses-table tr.response .response-col_status").first
            status.wait_for()
            assert status.inner_text().strip() == "200"
        assert f"{url}/openapi.json" in requested
        assert f"{url}/health" in requested
        assert all(address.startswith(url + "/") for address in requested), requested
    finally:
        context.close()
        app.state.engine.dispose()
