"""Reading events: the filtered listing, and the occupancy figures that go with events."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Select, func, literal_column, select, true, union_all
from sqlalchemy.orm import Session, selectinload

from app.common.paging import PageRequest, among, fetch_page
from app.common.schemas import utc_text
from app.common.search import matching
from app.errors import Invalid, NotFound
from app.events.access import visible_to
from app.models import (
    Event,
    EventKind,
    EventStatus,
    Registration,
    RegistrationStatus,
    Seminar,
    User,
)
from app.models.events import event_actions, event_priority_areas

# What an event's answer shows besides its own columns, loaded with it in one query each.
EVENT_OPTIONS = (
    selectinload(Event.actions),
    selectinload(Event.priority_areas),
    selectinload(Event.host),
)


@dataclass(frozen=True, slots=True)
class Occupancy:
    """How many people hold a place at an event, and how many wait for one."""

    registered: int = 0
    waitlisted: int = 0


@dataclass(frozen=True, slots=True)
class Listed:
    """An event with its occupancy and, for a joint seminar, its seminar: as every event
    answer shows it."""

    event: Event
    occupancy: Occupancy
    seminar_id: int | None = None


def _seminars_held(session: Session, events: list[Event]) -> dict[int, int]:
    """Seminar ids by event id, for the joint seminars among ``events``: one query."""
    joint = [event.id for event in events if event.kind == EventKind.joint_seminar]
    if not joint:
        return {}
    rows = session.execute(select(Seminar.id, Seminar.event_id).where(Seminar.event_id.in_(joint)))
    return {event_id: seminar_id for seminar_id, event_id in rows if event_id is not None}


def with_occupancy(session: Session, events: list[Event]) -> list[Listed]:
    """``events`` with their registration counts, in one grouped query for all of them,
    and the seminars the joint seminars among them hold, in one more."""
    seminars = _seminars_held(session, events)
    counts: dict[tuple[int, str], int] = {}
    if events:
        rows = session.execute(
            select(Registration.event_id, Registration.status, func.count())
            .where(
                Registration.event_id.in_([event.id for event in events]),
                Registration.status != RegistrationStatus.cancelled,
            )
            .group_by(Registration.event_id, Registration.status)
        )
        counts = {(event_id, status): count for event_id, status, count in rows}
    return [
        Listed(
            event=event,
            occupancy=Occupancy(
                registered=counts.get((event.id, RegistrationStatus.registered), 0),
                waitlisted=counts.get((event.id, RegistrationStatus.waitlisted), 0),
            ),
            seminar_id=seminars.get(event.id),
        )
        for event in events
    ]


@dataclass(frozen=True)
class EventFilters:
    starts_before: datetime | None = None
    ends_after: datetime | None = None
    kind: EventKind | None = None
    action: int | None = None
    priority_area: int | None = None
    country: str | None = None
    status: EventStatus | None = None
    host: int | None = None
    text: str | None = None


def filtered(query: Select[Any], filters: EventFilters) -> Select[Any]:
    if filters.ends_after is not None:
        query = query.where(Event.ends_at > filters.ends_after)
    if filters.starts_before is not None:
        query = query.where(Event.starts_at < filters.starts_before)
    if filters.kind is not None:
        query = query.where(Event.kind == filters.kind)
    if filters.status is not None:
        query = query.where(Event.status == filters.status)
    if filters.country is not None:
        query = query.where(Event.venue_country == filters.country)
    if filters.host is not None:
        query = query.where(Event.host_id == filters.host)
    if filters.text:
        query = query.where(matching(filters.text, Event.title, Event.description))
    if filters.action is not None:
        query = query.where(
            select(event_actions.c.event_id)
            .where(
                event_actions.c.event_id == Event.id,
                event_actions.c.action_number == filters.action,
            )
            .exists()
        )
    if filters.priority_area is not None:
        query = query.where(
            select(event_priority_areas.c.event_id)
            .where(
                event_priority_areas.c.event_id == Event.id,
                event_priority_areas.c.priority_area_number == filters.priority_area,
            )
            .exists()
        )
    return query


@dataclass(frozen=True)
class EventPage:
    events: list[Listed]
    total: int


def check_interval(filters: EventFilters) -> None:
    if filters.ends_after and filters.starts_before and filters.starts_before <= filters.ends_after:
        raise Invalid(
            f"`to` ({utc_text(filters.starts_before)}) must be after `from` "
            f"({utc_text(filters.ends_after)}); `from` is now unless you give it",
            loc=("query", "to"),
        )


def holds_until(filters: EventFilters, first_end: datetime | None) -> datetime | None:
    """Until when a listing from now holds: its first event's end (it then leaves the
    listing), or ``to`` if that comes first (from then on ``to`` is not after now, and
    ``check_interval`` refuses the listing)."""
    return min(
        (moment for moment in (first_end, filters.starts_before) if moment is not None),
        default=None,
    )


def list_events(
    *,
    session: Session,
    viewer: User | None,
    filters: EventFilters,
    page: PageRequest,
) -> EventPage:
    """The events the viewer may see that match ``filters``, by start, with the total."""
    check_interval(filters)
    query = filtered(select(Event).where(visible_to(viewer)), filters)
    found = fetch_page(
        session, query.options(*EVENT_OPTIONS).order_by(Event.starts_at, Event.id), page
    )
    return EventPage(events=with_occupancy(session, found.rows), total=found.total)


# -- the answers of the event reads, in columns ------------------------------------------
#
# The listing and the single event read just what their answers show: the events'
# own columns with the host's name (one statement, with the total of the listing as a
# window over the same rows), then every event's actions, priority areas, seminar and
# occupancy (one more statement). No entity is built, no catalogue row read.

# When and where: every answer that shows an event shows these, in this order.
WHEN_AND_WHERE: tuple[Any, ...] = (
    Event.starts_at,
    Event.ends_at,
    Event.timezone,
    Event.venue_name,
    Event.venue_address,
    Event.venue_city,
    Event.venue_country,
    Event.online_url,
)

SHOWN_COLUMNS: tuple[Any, ...] = (
    Event.id,
    Event.title,
    Event.description,
    Event.kind,
    Event.status,
    *WHEN_AND_WHERE,
    Event.capacity,
    Event.host_id,
    Event.sequence,
    Event.created_at,
    Event.updated_at,
    Event.published_at,
    Event.cancelled_at,
    Event.cancel_reason,
    Event.agenda_confirmed_at,
)


@dataclass(frozen=True, slots=True)
class Shown:
    """What one event's answer is made of: its row (the columns above and
    ``host_name``), and the numbers that go with it."""

    event: Any  # a row with Event's attribute names
    actions: list[int]
    priority_areas: list[int]
    occupancy: Occupancy
    seminar_id: int | None

    @property
    def values(self) -> tuple[Any, ...]:
        """Everything the answer shows, for its ETag."""
        return (
            tuple(self.event),
            self.actions,
            self.priority_areas,
            self.occupancy.registered,
            self.occupancy.waitlisted,
            self.seminar_id,
        )


def _shown_query(viewer: User | None) -> Select[Any]:
    query: Select[Any] = (
        select(*SHOWN_COLUMNS, User.name.label("host_name"))
        .outerjoin(User, User.id == Event.host_id)
        .where(visible_to(viewer))
    )
    return query


def _links(session: Session, ids: list[int]) -> dict[tuple[str, int], list[int]]:
    """Actions ``a``, priority areas ``p``, seminar ``s``, registered ``r`` and
    waitlisted ``w`` counts of the events ``ids``, by (kind, event id): one statement."""
    if not ids:
        return {}
    dialect = session.get_bind().dialect.name

    def tagged(tag: str) -> Any:
        return literal_column(f"'{tag}'")

    parts = union_all(
        select(tagged("a"), event_actions.c.event_id, event_actions.c.action_number).where(
            among(dialect, event_actions.c.event_id, ids)
        ),
        select(
            tagged("p"),
            event_priority_areas.c.event_id,
            event_priority_areas.c.priority_area_number,
        ).where(among(dialect, event_priority_areas.c.event_id, ids)),
        select(tagged("s"), Seminar.event_id, Seminar.id).where(
            among(dialect, Seminar.event_id, ids)
        ),
        *(
            select(tagged(tag), Registration.event_id, func.count())
            .where(among(dialect, Registration.event_id, ids), Registration.status == status)
            .group_by(Registration.event_id)
            for tag, status in (
                ("r", RegistrationStatus.registered),
                ("w", RegistrationStatus.waitlisted),
            )
        ),
    )
    found: dict[tuple[str, int], list[int]] = {}
    for tag, event_id, value in session.execute(parts):
        found.setdefault((tag, event_id), []).append(value)
    return found


def _shown(session: Session, rows: list[Any]) -> list[Shown]:
    links = _links(session, [row.id for row in rows])

    def first(tag: str, event_id: int) -> int | None:
        values = links.get((tag, event_id))
        return values[0] if values else None

    return [
        Shown(
            event=row,
            actions=sorted(links.get(("a", row.id), [])),
            priority_areas=sorted(links.get(("p", row.id), [])),
            occupancy=Occupancy(
                registered=first("r", row.id) or 0, waitlisted=first("w", row.id) or 0
            ),
            seminar_id=first("s", row.id) if row.kind == EventKind.joint_seminar else None,
        )
        for row in rows
    ]


@dataclass(frozen=True)
class ShownPage:
    events: list[Shown]
    total: int
    # When the first of the matching events ends: with ``from`` now, the listing holds
    # until then (that event leaves it), unless the data changes.
    first_end: datetime | None = None


def shown_page(
    *, session: Session, viewer: User | None, filters: EventFilters, page: PageRequest
) -> ShownPage:
    """The listing's answer, as ``list_events`` selects it, in two statements (three
    when the page lies past the end, where the total is counted on its own)."""
    check_interval(filters)
    query = filtered(_shown_query(viewer), filters)
    # The total as an uncorrelated one-row subquery, counted once over the ids alone: a
    # window over the page's query would carry every matching row, description and all.
    counting = select(func.count().label("total"), func.min(Event.ends_at).label("first_end"))
    counted = filtered(
        cast(Select[Any], counting.select_from(Event).where(visible_to(viewer))), filters
    ).subquery()
    rows = session.execute(
        query.add_columns(counted.c.total, counted.c.first_end)
        .join(counted, true())
        .order_by(Event.starts_at, Event.id)
        .limit(page.limit)
        .offset(page.offset)
    ).all()
    if rows:
        total, first_end = rows[0].total, rows[0].first_end
    elif page.offset:
        total, first_end = session.execute(select(counted)).one()
    else:
        total, first_end = 0, None
    return ShownPage(events=_shown(session, list(rows)), total=total, first_end=first_end)


def shown_event(*, session: Session, viewer: User | None, event_id: int) -> Shown:
    """One event's answer, if the viewer may see it (404 otherwise): two statements."""
    row = session.execute(_shown_query(viewer).where(Event.id == event_id)).one_or_none()
    if row is None:
        raise NotFound(f"No event with id {event_id}")
    [shown] = _shown(session, [row])
    return shown
