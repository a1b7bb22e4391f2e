"""Reading events: the filtered listing, and the occupancy figures that go with events."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, selectinload

from app.common.paging import PageRequest, fetch_page
from app.common.schemas import utc_text
from app.common.search import matching
from app.errors import Invalid
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


def list_events(
    *,
    session: Session,
    viewer: User | None,
    filters: EventFilters,
    page: PageRequest,
) -> EventPage:
    """The events the viewer may see that match ``filters``, by start, with the total."""
    if filters.ends_after and filters.starts_before and filters.starts_before <= filters.ends_after:
        raise Invalid(
            f"`to` ({utc_text(filters.starts_before)}) must be after `from` "
            f"({utc_text(filters.ends_after)}); `from` is now unless you give it",
            loc=("query", "to"),
        )
    query = filtered(select(Event).where(visible_to(viewer)), filters)
    found = fetch_page(
        session, query.options(*EVENT_OPTIONS).order_by(Event.starts_at, Event.id), page
    )
    return EventPage(events=with_occupancy(session, found.rows), total=found.total)
