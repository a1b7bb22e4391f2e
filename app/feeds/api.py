"""iCalendar feeds: the public calendar, one event, the seminars' deadlines, personal feeds.

Calendar apps poll these for as long as they are subscribed. Every answer carries a
strong ETag, and Last-Modified once the feed's date has settled (``app.feeds.http``); a
poll with a current ``If-None-Match`` (or, without it, an ``If-Modified-Since`` that
names that date) is answered 304 after one small query, and a full answer of an
unchanged feed comes from a cache keyed by the feed's version.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status

from app.auth.deps import ClockDep, CurrentUser, SessionDep, SettingsDep
from app.bodies import JsonRoute
from app.catalogue import service as catalogue
from app.common.cache import FeedCache
from app.common.numbers import whole_number
from app.common.paging import slice_page
from app.common.params import Paging
from app.common.schemas import IdPath, Page, page_of, presented_page
from app.db import writes_when_read
from app.errors import Invalid, responses
from app.events.schemas import country_code
from app.feeds import http, personal, presenters
from app.feeds import service as feeds
from app.feeds.queries import CalendarFilters
from app.feeds.schemas import FeedRead, PersonalFeedCreate, PersonalFeedIssued, PersonalFeedRead
from app.models import ActionStatus, EventKind

router = APIRouter(tags=["feeds"], route_class=JsonRoute)


async def feed_cache(request: Request) -> FeedCache:
    cache: FeedCache = request.app.state.feed_cache
    return cache


FeedCacheDep = Annotated[FeedCache, Depends(feed_cache)]

CALENDAR_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"text/calendar": {"schema": {"type": "string"}}},
        "description": "The feed, as iCalendar (RFC 5545)",
    },
    304: {"description": "Not modified: your copy (its ETag or date) is current; no body"},
}

# -- filters ---------------------------------------------------------------------------

MAX_VALUES = 50
FilterValues = Annotated[
    list[str],
    Query(description="repeat the parameter or separate values with commas; any of them"),
]


def _values(name: str, given: list[str]) -> list[str]:
    values = [part.strip() for value in given for part in value.split(",") if part.strip()]
    if len(values) > MAX_VALUES:
        raise Invalid(f"{name}: at most {MAX_VALUES} values", loc=("query", name))
    return values


def _numbers(name: str, given: list[str], example: str) -> tuple[int, ...]:
    numbers = set()
    for value in _values(name, given):
        number = whole_number(value, most=1000)
        if number is None or number < 1:
            raise Invalid(
                f"{name}: {value[:20]!r} is not a number such as {example}", loc=("query", name)
            )
        numbers.add(number)
    return tuple(sorted(numbers))


def _kinds(given: list[str]) -> tuple[EventKind, ...]:
    kinds = set()
    for value in _values("kind", given):
        if value not in EventKind.__members__:
            raise Invalid(
                f"kind: {value[:40]!r} is not one of {', '.join(EventKind)}", loc=("query", "kind")
            )
        kinds.add(EventKind(value))
    return tuple(sorted(kinds))


def _countries(given: list[str]) -> tuple[str, ...]:
    codes = set()
    for value in _values("country", given):
        try:
            codes.add(country_code(value[:10]))
        except ValueError as error:
            raise Invalid(f"country: {error}", loc=("query", "country")) from None
    return tuple(sorted(codes))


async def calendar_filters(
    action: FilterValues = [],  # noqa: B006 (FastAPI copies the default)
    priority_area: FilterValues = [],  # noqa: B006
    kind: FilterValues = [],  # noqa: B006
    country: FilterValues = [],  # noqa: B006
) -> CalendarFilters:
    """The filters of ``/calendar.ics``: within one filter any value, across filters all."""
    return CalendarFilters(
        actions=_numbers("action", action, "3"),
        priority_areas=_numbers("priority_area", priority_area, "2"),
        kinds=_kinds(kind),
        countries=_countries(country),
    )


Filters = Annotated[CalendarFilters, Depends(calendar_filters)]

# -- feeds -----------------------------------------------------------------------------


@router.get(
    "/calendar.ics",
    response_class=Response,
    responses={**CALENDAR_ANSWERS, **responses(422)},
)
@router.head("/calendar.ics", response_class=Response, include_in_schema=False)
@writes_when_read
def calendar(
    request: Request,
    filters: Filters,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    cache: FeedCacheDep,
):
    """Every published event, and cancelled ones marked as cancelled until they end.
    Filter by `action`, `priority_area`, `kind` and `country`: each may be repeated or
    given as a comma-separated list, and matches any of its values; filters combine.
    Subscribe to it in a calendar app with the `webcal://` form of this address."""
    feed = feeds.calendar_feed(
        session=session, filters=filters, now=clock(), base_url=settings.base_url
    )
    return http.answer(
        request,
        feed,
        lambda: feeds.body(session, feed, cache=cache, base_url=settings.base_url),
    )


@router.get(
    "/events/{event_id}.ics",
    response_class=Response,
    responses={**CALENDAR_ANSWERS, **responses(404)},
)
@router.head("/events/{event_id}.ics", response_class=Response, include_in_schema=False)
@writes_when_read
def event_calendar(
    request: Request,
    event_id: IdPath,
    session: SessionDep,
    settings: SettingsDep,
    cache: FeedCacheDep,
):
    """One published or cancelled event, as a file to open in a calendar app. Events
    that are not published are 404 here, whoever asks."""
    feed = feeds.event_feed(session=session, event_id=event_id, base_url=settings.base_url)
    return http.answer(
        request,
        feed,
        lambda: feeds.body(session, feed, cache=cache, base_url=settings.base_url),
    )


@router.get("/seminars.ics", response_class=Response, responses=CALENDAR_ANSWERS)
@router.head("/seminars.ics", response_class=Response, include_in_schema=False)
@writes_when_read
def seminars_calendar(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    cache: FeedCacheDep,
):
    """The joint seminars' deadlines: for each seminar, when its call for topics opens
    and closes and when voting closes, and the seminar itself once it is scheduled."""
    feed = feeds.seminars_feed(session=session, now=clock(), base_url=settings.base_url)
    return http.answer(
        request,
        feed,
        lambda: feeds.body(session, feed, cache=cache, base_url=settings.base_url),
    )


@router.get(
    "/feeds/{token}.ics",
    response_class=Response,
    responses={**CALENDAR_ANSWERS, **responses(404)},
)
@router.head("/feeds/{token}.ics", response_class=Response, include_in_schema=False)
@writes_when_read
def personal_calendar(
    request: Request,
    token: str,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    cache: FeedCacheDep,
):
    """A personal feed, for whoever holds its address: the events its owner registered
    for (waitlisted ones marked "Waitlist:"), hosts, or proposed the seminar's topic for,
    with those seminars' deadlines. A revoked or unknown address is 404."""
    now = clock()
    owner = personal.feed_by_token(session=session, token=token, now=now)
    feed = feeds.personal_feed(session=session, feed=owner, now=now, base_url=settings.base_url)
    return http.answer(
        request,
        feed,
        lambda: feeds.body(session, feed, cache=cache, base_url=settings.base_url),
    )


@router.get("/feeds", response_model=Page[FeedRead])
def list_feeds(session: SessionDep, settings: SettingsDep, page: Paging):
    """The public feeds you can subscribe to: all events, each priority area, each
    active action and the seminars' deadlines, each with its `https` and `webcal` URL."""
    actions = catalogue.every_action(session=session, status=ActionStatus.active)
    areas = catalogue.every_priority_area(session=session)
    listed = presenters.public_feeds(
        settings.base_url,
        actions=[(action.number, action.title) for action in actions],
        areas=[(area.number, area.title) for area in areas],
    )
    shown = slice_page(listed, page)
    return page_of(FeedRead, shown.rows, total=shown.total, page=page)


# -- personal feeds --------------------------------------------------------------------


@router.post(
    "/me/feeds",
    response_model=PersonalFeedIssued,
    status_code=status.HTTP_201_CREATED,
    responses=responses(401),
)
def create_personal_feed(
    session: SessionDep,
    user: CurrentUser,
    clock: ClockDep,
    settings: SettingsDep,
    body: PersonalFeedCreate | None = None,
):
    """Make a personal feed of your events. Its secret address is in this answer only:
    add it to your calendar app now. Anyone who has it sees your events; revoke it with
    `DELETE /me/feeds/{id}`."""
    label = body.label if body is not None and body.label is not None else ""
    feed, token = personal.create_feed(session=session, user=user, label=label, now=clock())
    return presenters.personal_feed_issued(feed, token, settings.base_url)


@router.get("/me/feeds", response_model=Page[PersonalFeedRead], responses=responses(401))
def list_personal_feeds(session: SessionDep, user: CurrentUser, page: Paging):
    """Your personal feeds, oldest first, without their secret addresses, with when a
    calendar app last fetched each."""
    found = personal.list_feeds(session=session, user=user, page=page)
    return presented_page(PersonalFeedRead, found, presenters.personal_feed_read, page)


@router.delete(
    "/me/feeds/{feed_id}", response_model=PersonalFeedRead, responses=responses(401, 404)
)
def revoke_personal_feed(feed_id: IdPath, session: SessionDep, user: CurrentUser, clock: ClockDep):
    """Revoke one of your personal feeds: its address answers 404 from now on, exactly
    as an address that never existed. Revoking twice is harmless."""
    feed = personal.revoke_feed(session=session, user=user, feed_id=feed_id, now=clock())
    return presenters.personal_feed_read(feed)
