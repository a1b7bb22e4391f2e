"""The public web pages: the programme, each event, the joint seminars, the plan and the
calendar feeds to subscribe to.

They are for people, not programs: HTML, left out of the OpenAPI document (as `/docs`
is), and every link they give to the API or to a feed is built from
``KEP_PUBLIC_BASE_URL``. ``GET /`` is shared with the API's front door: a browser, which
asks for ``text/html``, gets the programme; any other client gets the JSON of
``app.home``.
"""

from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Path, Request, Response
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
from app.notifications.kinds import KINDS, OPTIONAL_KINDS
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
    choices = preferences.choices_code(session, user.id)
    return _unsubscribe_page(request, settings, kind, enabled=enabled, choices=choices)


@browser_router.post("/notifications/unsubscribe/{code}")
def unsubscribe_by_page(
    request: Request, code: LinkCode, session: SessionDep, clock: ClockDep, settings: SettingsDep
):
    """The page's button: that kind of mail stops, and the page says so, with the way
    to the person's other choices."""
    try:
        user, kind = preferences.unsubscribe(session=session, code=code, now=clock())
    except NotFound:
        return _unsubscribe_page(request, settings, None, enabled=False)
    choices = preferences.choices_code(session, user.id)
    return _unsubscribe_page(request, settings, kind, enabled=False, choices=choices)


def _unsubscribe_page(
    request: Request,
    settings: Settings,
    kind: str | None,
    *,
    enabled: bool,
    choices: str | None = None,
) -> Response:
    """The page of an unsubscribe link; with ``choices``, the code of the person's
    choices, to which it links."""
    response = rendering.page(
        request,
        "unsubscribe.html",
        status_code=404 if kind is None else 200,
        private=True,
        kind=None if kind is None else KINDS[kind],
        enabled=enabled,
        choices_url=choices and preferences.choices_url(settings.base_url, choices),
        **_shared(settings.base_url),
    )
    response.headers["Vary"] = "Accept"  # mail programs get JSON at the same address
    return response


# -- a person's mail choices, from the link at the foot of every optional mail ---------------

# A form of the choices page: one field per box, and the form's own.
FORM_FIELDS_AT_MOST = len(OPTIONAL_KINDS) + 1
NAMES_SHOWN = 40


async def form_fields(request: Request) -> dict[str, list[str]] | None:
    """The fields of a form a page sent (``application/x-www-form-urlencoded``, as
    browsers send it), or None for a body that is not one."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "application/x-www-form-urlencoded":
        return None
    try:
        text = (await request.body()).decode("ascii")  # browsers percent-encode the rest
        return parse_qs(text, max_num_fields=FORM_FIELDS_AT_MOST)
    except ValueError:  # not ASCII, or more fields than the page has
        return None


FormFields = Annotated[dict[str, list[str]] | None, Depends(form_fields)]


@router.get("/notifications/choices/{code}")
def choices_page(request: Request, code: LinkCode, session: SessionDep, settings: SettingsDep):
    """Every optional mail, a box each, ticked for those the person receives; opening
    the page changes nothing."""
    try:
        user = preferences.read_choices_code(session, code)
    except NotFound:
        return _choices_page(request, settings, None)
    return _choices_page(request, settings, preferences.choices(session=session, user=user))


@router.post("/notifications/choices/{code}")
def choose_by_page(
    request: Request,
    code: LinkCode,
    fields: FormFields,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
):
    """The page's form: the ticked kinds are received, the others not; the page says
    it is saved. A form not sent whole, or naming what it does not offer, changes
    nothing and says so."""
    try:
        user = preferences.read_choices_code(session, code)
    except NotFound:
        return _choices_page(request, settings, None)
    current = preferences.choices(session=session, user=user)
    if fields is None or fields.get("form") != ["choices"]:
        error = "The form was not sent whole: tick the mails you want again, then save."
        return _choices_page(request, settings, current, error=error)
    ticked = set(fields.get("receive", []))
    if unknown := sorted(ticked - set(OPTIONAL_KINDS)):
        names = ", ".join(name[:NAMES_SHOWN] for name in unknown)
        error = f"Not mails you can choose, so nothing was changed: {names}."
        return _choices_page(request, settings, current, error=error)
    chosen = {kind: kind in ticked for kind in OPTIONAL_KINDS}
    preferences.choose(session=session, user=user, changes=chosen, now=clock())
    return _choices_page(request, settings, chosen, saved=True)


def _choices_page(
    request: Request,
    settings: Settings,
    chosen: dict[str, bool] | None,
    *,
    error: str | None = None,
    saved: bool = False,
) -> Response:
    return rendering.page(
        request,
        "mail_choices.html",
        status_code=404 if chosen is None else 422 if error else 200,
        private=True,
        kinds=[(KINDS[name], on) for name, on in (chosen or {}).items()],
        valid=chosen is not None,
        error=error,
        saved=saved,
        **_shared(settings.base_url),
    )
