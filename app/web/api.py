"""The public web pages: the programme, each event, the joint seminars, the plan and the
calendar feeds to subscribe to.

They are for people, not programs: HTML, left out of the OpenAPI document (as `/docs`
is), and every link they give to the API or to a feed is built from
``KEP_PUBLIC_BASE_URL``. ``GET /`` is shared with the API's front door: a browser, which
asks for ``text/html``, gets the programme; any other client gets the JSON of
``app.home``.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from starlette.routing import Match
from starlette.types import Scope

from app.auth.deps import ClockDep, SessionDep, SettingsDep
from app.bodies import JsonRoute
from app.catalogue import service as catalogue
from app.common.numbers import whole_number
from app.config import Settings
from app.errors import NotFound
from app.feeds import links, presenters
from app.models import ActionStatus, EventKind
from app.notifications import preferences
from app.notifications.kinds import KINDS
from app.web import pages, rendering

router = APIRouter(tags=["pages"], route_class=JsonRoute, include_in_schema=False)


def _quality(part: str) -> float:
    for parameter in part.split(";")[1:]:
        name, _, value = parameter.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                return float(value)
            except ValueError:
                return 0.0
    return 1.0


def prefers_html(accept: str) -> bool:
    """Whether a client's ``Accept`` asks for HTML at least as much as for JSON: what
    browsers send. No ``Accept``, ``*/*`` or ``application/json`` mean JSON."""
    html = json = 0.0
    for part in accept.lower().split(","):
        media = part.split(";", 1)[0].strip()
        if media in ("text/html", "application/xhtml+xml"):
            html = max(html, _quality(part))
        elif media == "application/json":
            json = max(json, _quality(part))
    return html > 0 and html >= json


class BrowserRoute(JsonRoute):
    """A route that only browsers reach: for any other client it does not match, and
    the router goes on to the next route of the same path (the JSON front door)."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        accept = dict(scope.get("headers") or []).get(b"accept", b"").decode("latin-1")
        if scope.get("type") == "http" and not prefers_html(accept):
            return Match.NONE, {}
        return super().matches(scope)


browser_router = APIRouter(tags=["pages"], route_class=BrowserRoute, include_in_schema=False)


def _shared(base_url: str) -> dict[str, Any]:
    """What every page's links to the API and the feeds start with."""
    return {"base_url": base_url, "api": base_url}


@browser_router.get("/")
def programme(request: Request, session: SessionDep, clock: ClockDep, settings: SettingsDep):
    now = clock()
    known = pages.read_catalogue(session)
    error = None
    try:
        filters = pages.read_filters(
            dict(request.query_params), areas=known.areas, actions=known.actions
        )
    except pages.BadFilter as refused:
        error, filters = str(refused), pages.ProgrammeFilters()
    shown = pages.programme(session, filters, now=now, error=error is not None)
    status_code = 422 if error else 200
    if shown.past_the_last:
        # As for an event that does not exist: the address names nothing.
        error, status_code = shown.no_such_page(), 404
    feed_filters: dict[str, list[object]] = {
        "priority_area": [filters.priority_area] if filters.priority_area else [],
        "action": [filters.action] if filters.action else [],
        "kind": [filters.kind.value] if filters.kind else [],
        "country": [filters.country] if filters.country else [],
    }
    feed_url = links.calendar(settings.base_url, feed_filters)
    response = rendering.page(
        request,
        "programme.html",
        status_code=status_code,
        programme=shown,
        catalogue=known,
        kinds=list(EventKind),
        error=error,
        feed_url=feed_url,
        webcal_url=links.webcal(feed_url),
        **_shared(settings.base_url),
    )
    response.headers["Vary"] = "Accept"
    return response


@router.get("/e/{event_id}")
def event(
    request: Request, event_id: str, session: SessionDep, clock: ClockDep, settings: SettingsDep
):
    try:
        number = whole_number(event_id)
        if number is None:
            raise NotFound("not an event id")
        shown = pages.event_page(session, number)
    except NotFound:
        return rendering.page(
            request, "not_found.html", status_code=404, **_shared(settings.base_url)
        )
    calendar_url = links.event_calendar(settings.base_url, shown.listed.event.id)
    return rendering.page(
        request,
        "event.html",
        shown=shown,
        event=shown.listed.event,
        now=clock(),
        calendar_url=calendar_url,
        webcal_url=links.webcal(calendar_url),
        **_shared(settings.base_url),
    )


@router.get("/joint-seminars")
def joint_seminars(request: Request, session: SessionDep, clock: ClockDep, settings: SettingsDep):
    return rendering.page(
        request,
        "joint_seminars.html",
        seminars=pages.joint_seminars(session, now=clock()),
        seminars_feed=links.seminars_calendar(settings.base_url),
        webcal=links.webcal,
        **_shared(settings.base_url),
    )


@router.get("/plan")
def plan(request: Request, session: SessionDep, clock: ClockDep, settings: SettingsDep):
    return rendering.page(
        request, "plan.html", plan=pages.plan(session, now=clock()), **_shared(settings.base_url)
    )


@router.get("/subscribe")
def subscribe(request: Request, session: SessionDep, settings: SettingsDep):
    actions = catalogue.every_action(session=session, status=ActionStatus.active)
    areas = catalogue.every_priority_area(session=session)
    feeds = presenters.public_feeds(
        settings.base_url,
        actions=[(action.number, action.title) for action in actions],
        areas=[(area.number, area.title) for area in areas],
    )
    return rendering.page(request, "subscribe.html", feeds=feeds, **_shared(settings.base_url))


# -- the unsubscribe link of a mail, opened in a browser -------------------------------------

# As the JSON route of the same path takes it; a mail program (no Accept, or JSON) gets
# that route's answer, a browser these pages.
LinkCode = Annotated[str, Path(max_length=120)]


@browser_router.get("/notifications/unsubscribe/{code}")
def unsubscribe_page(request: Request, code: LinkCode, session: SessionDep, settings: SettingsDep):
    """What the link stops, with a button; opening it changes nothing (link checkers
    open links too)."""
    try:
        user, kind = preferences.read_code(session, code)
    except NotFound:
        return _unsubscribe_page(request, settings, None, enabled=False)
    enabled = preferences.choices(session=session, user=user)[kind]
    return _unsubscribe_page(request, settings, kind, enabled=enabled)


@browser_router.post("/notifications/unsubscribe/{code}")
def unsubscribe_by_page(
    request: Request, code: LinkCode, session: SessionDep, clock: ClockDep, settings: SettingsDep
):
    """The page's button: that kind of mail stops, and the page says so."""
    try:
        _user, kind = preferences.unsubscribe(session=session, code=code, now=clock())
    except NotFound:
        return _unsubscribe_page(request, settings, None, enabled=False)
    return _unsubscribe_page(request, settings, kind, enabled=False)


def _unsubscribe_page(
    request: Request, settings: Settings, kind: str | None, *, enabled: bool
) -> Response:
    return rendering.page(
        request,
        "unsubscribe.html",
        status_code=404 if kind is None else 200,
        kind=None if kind is None else KINDS[kind],
        enabled=enabled,
        **_shared(settings.base_url),
    )
