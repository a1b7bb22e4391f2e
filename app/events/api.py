"""Events and their agendas."""

from dataclasses import replace
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response, status
from pydantic import AfterValidator
from sqlalchemy.orm import Session

from app.auth.deps import (
    ClockDep,
    CurrentUser,
    OptionalUser,
    Secretariat,
    SessionDep,
    SettingsDep,
)
from app.bodies import JsonRoute
from app.common.http import LOCATED, Made, kept_json, located, not_modified, weak_etag
from app.common.params import Paging
from app.common.schemas import MAX_ID, IdPath, Page, WallClockOrInstant, page_of
from app.config import Settings
from app.errors import responses
from app.events import access, agenda, presenters, queries, registrations
from app.events import service as events
from app.events.schemas import (
    AgendaIn,
    AgendaRead,
    CancelEvent,
    EventCreate,
    EventRead,
    EventUpdate,
    RegistrationRead,
    country_code,
)
from app.models import Event, EventKind, EventStatus, Registration

event_router = APIRouter(tags=["events"], route_class=JsonRoute)


def _as_utc(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _made_with(settings: Settings) -> tuple[object, ...]:
    """What an event's answer depends on besides the database: for its ETag, and for
    the key it is kept under."""
    return (settings.base_url, settings.plan_years)


def _present(session: Session, event: Event, settings: Settings) -> EventRead:
    [listed] = queries.with_occupancy(session, [event])
    return presenters.event_read(listed, settings)


def _present_registrations(session: Session, found: list[Registration]) -> list[RegistrationRead]:
    return [
        presenters.registration_read(placed)
        for placed in registrations.with_positions(session, found)
    ]


@event_router.post(
    "/events",
    response_model=EventRead,
    status_code=status.HTTP_201_CREATED,
    responses={**responses(401, 403), **LOCATED},
)
def create_event(
    body: EventCreate,
    session: SessionDep,
    user: CurrentUser,
    clock: ClockDep,
    settings: SettingsDep,
    response: Response,
):
    """Create an event. A member creates a `peer_to_peer` event that they host; it is
    `submitted` until the secretariat publishes it. The secretariat creates events of
    any kind, as `draft` or `published` at once. Priority areas default to those of the
    actions. An event outside the plan's term is accepted, with a `warnings` entry."""
    event = events.create_event(session=session, actor=user, data=body, now=clock())
    located(response, settings.base_url, f"/events/{event.id}")
    return _present(session, event, settings)


@event_router.get("/events", response_model=Page[EventRead], responses=responses(304, 401))
async def list_events(
    request: Request,
    session: SessionDep,
    viewer: OptionalUser,
    clock: ClockDep,
    settings: SettingsDep,
    page: Paging,
    q: Annotated[
        str | None,
        Query(max_length=200, description="words to find in the title or description"),
    ] = None,
    from_: Annotated[
        WallClockOrInstant | None,
        Query(
            alias="from",
            description="events that end after this instant; now by default, so that past "
            "events are listed only when asked for",
        ),
    ] = None,
    to: Annotated[
        WallClockOrInstant | None, Query(description="starts before this instant")
    ] = None,
    kind: EventKind | None = None,
    action: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    priority_area: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    country: Annotated[str | None, AfterValidator(country_code)] = None,
    status: EventStatus | None = None,
    host: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="the hosting member's user id")
    ] = None,
):
    """Events by start, upcoming first: those not over yet unless `from` says otherwise.
    `from` and `to` select the events that overlap that interval; `q` finds words in
    titles and descriptions. Anonymous callers see published and cancelled events; hosts
    also see their own unpublished ones; the secretariat sees all."""
    now = clock()
    filters = queries.EventFilters(
        ends_after=_as_utc(from_) or now,
        starts_before=_as_utc(to),
        kind=kind,
        action=action,
        priority_area=priority_area,
        country=country,
        status=status,
        host=host,
        text=q,
    )

    def read() -> Made:
        found = queries.shown_page(session=session, viewer=viewer, filters=filters, page=page)
        return Made(
            weak_etag(
                _made_with(settings), found.total, page, [shown.values for shown in found.events]
            ),
            lambda: page_of(
                EventRead,
                [presenters.shown_read(shown, settings) for shown in found.events],
                total=found.total,
                page=page,
            ),
            valid_until=queries.holds_until(filters, found.first_end) if from_ is None else None,
        )

    # A listing from now is the same until its first event ends and leaves it.
    asked = replace(filters, ends_after=None) if from_ is None else filters
    key = ("events", asked, page, access.visibility(viewer), _made_with(settings))
    return await kept_json(request, session, key, Page[EventRead], read, now=now)


# `:int`: /events/{id}.ics is the event's calendar file, a route of the feeds.
@event_router.get(
    "/events/{event_id:int}", response_model=EventRead, responses=responses(304, 401, 404)
)
async def read_event(
    request: Request,
    event_id: IdPath,
    session: SessionDep,
    viewer: OptionalUser,
    settings: SettingsDep,
):
    """One event, if you may see it."""

    def read() -> Made:
        shown = queries.shown_event(session=session, viewer=viewer, event_id=event_id)
        return Made(
            weak_etag(_made_with(settings), shown.values),
            lambda: presenters.shown_read(shown, settings),
        )

    key = ("event", event_id, access.visibility(viewer), _made_with(settings))
    return await kept_json(request, session, key, EventRead, read)


@event_router.patch(
    "/events/{event_id:int}", response_model=EventRead, responses=responses(401, 403, 404, 409)
)
def update_event(
    event_id: IdPath,
    body: EventUpdate,
    session: SessionDep,
    user: CurrentUser,
    clock: ClockDep,
    settings: SettingsDep,
):
    """Change an event (its host or the secretariat). A change to a published event
    increments `sequence`; a change of times clears the agenda's confirmation. The
    secretariat may change `kind` between `peer_to_peer` and `other`; a member's event
    stays `peer_to_peer`, and no edit makes or unmakes a `joint_seminar`. Priority areas
    left out stay as they are while the actions do; new actions take every priority area
    they serve. An update that changes nothing answers the event as it stands; a
    cancelled event changes no more."""
    event = events.update_event(
        session=session, actor=user, event_id=event_id, data=body, now=clock()
    )
    return _present(session, event, settings)


@event_router.post(
    "/events/{event_id}/publish",
    response_model=EventRead,
    responses=responses(401, 403, 404, 409),
)
def publish_event(
    event_id: IdPath, session: SessionDep, user: Secretariat, clock: ClockDep, settings: SettingsDep
):
    """Publish a draft or submitted event (secretariat). A published event is answered as
    it stands; a cancelled one cannot be published."""
    event = events.publish_event(session=session, actor=user, event_id=event_id, now=clock())
    return _present(session, event, settings)


@event_router.post(
    "/events/{event_id}/cancel",
    response_model=EventRead,
    responses=responses(401, 403, 404, 409),
)
def cancel_event(
    event_id: IdPath,
    body: CancelEvent,
    session: SessionDep,
    user: CurrentUser,
    clock: ClockDep,
    settings: SettingsDep,
):
    """Cancel an event (its host or the secretariat). It stays visible as `cancelled`,
    with its registrations kept. A cancelled event is answered as it stands, with the
    reason first given."""
    event = events.cancel_event(
        session=session, actor=user, event_id=event_id, reason=body.reason, now=clock()
    )
    return _present(session, event, settings)


@event_router.get(
    "/events/{event_id}/agenda", response_model=AgendaRead, responses=responses(304, 401, 404)
)
def read_agenda(
    request: Request,
    event_id: IdPath,
    session: SessionDep,
    viewer: OptionalUser,
    response: Response,
):
    """The agenda in order, with when and by whom it was confirmed. Its `ETag` names this
    version: send it in `If-Match` to confirm exactly what you read, or in
    `If-None-Match` to be answered 304 while your copy is current."""
    event = access.get_visible(session=session, event_id=event_id, viewer=viewer)
    tag = agenda.agenda_tag(event)
    if not_modified(request, tag):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers={"ETag": tag})
    return _agenda_answer(event, response, tag)


def _agenda_answer(event: Event, response: Response, tag: str | None = None) -> AgendaRead:
    """The agenda with its version (``tag``, when it was made already)."""
    response.headers["ETag"] = tag or agenda.agenda_tag(event)
    return presenters.agenda_read(event)


@event_router.put(
    "/events/{event_id}/agenda",
    response_model=AgendaRead,
    responses=responses(401, 403, 404, 409),
)
def replace_agenda(
    event_id: IdPath,
    body: AgendaIn,
    session: SessionDep,
    user: CurrentUser,
    clock: ClockDep,
    response: Response,
):
    """Replace the agenda (host or secretariat). Each item lies within the event's time;
    times without an offset are read in the event's zone. Any change clears the
    confirmation; the same agenda again is answered as it stands."""
    event = agenda.replace_agenda(
        session=session, actor=user, event_id=event_id, data=body, now=clock()
    )
    return _agenda_answer(event, response)


@event_router.post(
    "/events/{event_id}/agenda/confirm",
    response_model=AgendaRead,
    responses=responses(401, 403, 404, 409, 412),
)
def confirm_agenda(
    event_id: IdPath,
    session: SessionDep,
    user: Secretariat,
    clock: ClockDep,
    response: Response,
    if_match: Annotated[
        str | None,
        Header(
            max_length=1000,
            description="the agenda's `ETag` as you read it: confirm that version only",
        ),
    ] = None,
):
    """Confirm the agenda as it stands (secretariat). An empty agenda cannot be confirmed;
    a confirmed one is answered as it stands. With `If-Match` (the `ETag` of the agenda
    you reviewed), an agenda changed since is not confirmed: 412."""
    event = agenda.confirm_agenda(
        session=session, actor=user, event_id=event_id, now=clock(), reviewed=if_match
    )
    return _agenda_answer(event, response)


# Registration

registration_router = APIRouter(tags=["registrations"], route_class=JsonRoute)


@registration_router.post(
    "/events/{event_id}/registrations",
    response_model=RegistrationRead,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {
            "model": RegistrationRead,
            "description": "You were registered or waitlisted already: your registration "
            "as it stands",
        },
        **responses(401, 404, 409),
    },
)
def register(
    event_id: IdPath, session: SessionDep, user: CurrentUser, clock: ClockDep, response: Response
):
    """Register for a published event that has not begun: `registered` while places
    remain, otherwise `waitlisted` with a `position`. Asking again answers your
    registration as it stands, with 200."""
    outcome = registrations.register(session=session, user=user, event_id=event_id, now=clock())
    if not outcome.created:
        response.status_code = status.HTTP_200_OK
    [body] = _present_registrations(session, [outcome.registration])
    return body


@registration_router.delete(
    "/events/{event_id}/registrations/me",
    response_model=RegistrationRead,
    responses=responses(401, 404, 409),
)
def cancel_registration(event_id: IdPath, session: SessionDep, user: CurrentUser, clock: ClockDep):
    """Cancel your registration; until the event begins, the first on the waitlist takes
    the place. A cancelled registration is answered as it stands; 404 if you never
    registered."""
    registration = registrations.cancel_own(
        session=session, user=user, event_id=event_id, now=clock()
    )
    [body] = _present_registrations(session, [registration])
    return body


@registration_router.get(
    "/events/{event_id}/registrations",
    response_model=Page[RegistrationRead],
    responses=responses(401, 403, 404),
)
def list_registrations(event_id: IdPath, session: SessionDep, user: CurrentUser, page: Paging):
    """Who registered (the event's host and the secretariat only), with what a host needs:
    name, e-mail, institution or member state, when they registered. Places first, then
    the waitlist in order."""
    found = registrations.list_for_event(session=session, viewer=user, event_id=event_id, page=page)
    return page_of(
        RegistrationRead,
        _present_registrations(session, found.rows),
        total=found.total,
        page=page,
    )


@registration_router.get(
    "/me/registrations",
    response_model=Page[RegistrationRead],
    responses=responses(304, 401),
)
async def my_registrations(request: Request, session: SessionDep, user: CurrentUser, page: Paging):
    """Your registrations, newest first, cancelled ones included; each with its event's
    title, status (a cancelled event shows), local start and venue."""
    you = (user.id, user.name, user.email, user.role, user.institution, user.member_state)

    def read() -> Made:
        found = registrations.own_page(session=session, user=user, page=page)
        return Made(
            weak_etag(you, page, found.values),
            lambda: page_of(
                RegistrationRead, presenters.own_reads(found, user), total=found.total, page=page
            ),
        )

    key = ("my registrations", you, page)
    return await kept_json(request, session, key, Page[RegistrationRead], read)


router = APIRouter(route_class=JsonRoute)
router.include_router(event_router)
router.include_router(registration_router)
