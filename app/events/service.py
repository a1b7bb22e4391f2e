"""Events: who may create, see and change them, and how they answer."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, selectinload

from app.audit import service as audit
from app.catalogue import links
from app.errors import Conflict, Forbidden, Invalid
from app.events import registrations
from app.events.access import (
    check_manager,
    check_not_cancelled,
    get_visible,
    touch,
    visible_to,
)
from app.events.schemas import (
    EventCreate,
    EventRead,
    EventUpdate,
    PersonRead,
    Venue,
    VenueRead,
)
from app.events.times import check_span, instant, local
from app.models import (
    Event,
    EventKind,
    EventStatus,
    Registration,
    RegistrationStatus,
    Role,
    User,
)
from app.models.events import event_actions, event_priority_areas

LONGEST_EVENT = timedelta(days=31)
EVENT_OPTIONS = (
    selectinload(Event.actions),
    selectinload(Event.priority_areas),
    selectinload(Event.host),
)


# -- answers --------------------------------------------------------------------------


def _counts(session: Session, event_ids: list[int]) -> dict[tuple[int, str], int]:
    if not event_ids:
        return {}
    rows = session.execute(
        select(Registration.event_id, Registration.status, func.count())
        .where(
            Registration.event_id.in_(event_ids),
            Registration.status != RegistrationStatus.cancelled,
        )
        .group_by(Registration.event_id, Registration.status)
    )
    return {(event_id, status): count for event_id, status, count in rows}


def describe(*, session: Session, events: list[Event]) -> list[EventRead]:
    """The response bodies for ``events``, with their registration counts in one query."""
    counts = _counts(session, [event.id for event in events])
    return [_read(event, counts) for event in events]


def _read(event: Event, counts: dict[tuple[int, str], int]) -> EventRead:
    venue = None
    if event.venue_name is not None:
        venue = VenueRead(
            name=event.venue_name,
            address=event.venue_address,
            city=event.venue_city,
            country=event.venue_country,
        )
    return EventRead(
        id=event.id,
        title=event.title,
        description=event.description,
        kind=EventKind(event.kind),
        status=EventStatus(event.status),
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        timezone=event.timezone,
        local_starts_at=local(event.starts_at, event.timezone),
        local_ends_at=local(event.ends_at, event.timezone),
        venue=venue,
        online_url=event.online_url,
        capacity=event.capacity,
        registered=counts.get((event.id, RegistrationStatus.registered), 0),
        waitlisted=counts.get((event.id, RegistrationStatus.waitlisted), 0),
        actions=[action.number for action in event.actions],
        priority_areas=[area.number for area in event.priority_areas],
        host=PersonRead.model_validate(event.host) if event.host else None,
        sequence=event.sequence,
        created_at=event.created_at,
        updated_at=event.updated_at,
        published_at=event.published_at,
        cancelled_at=event.cancelled_at,
        cancel_reason=event.cancel_reason,
        agenda_confirmed_at=event.agenda_confirmed_at,
    )


def snapshot(event: Event) -> dict[str, Any]:
    """What the audit trail keeps of an event."""
    return {
        "title": event.title,
        "description": event.description,
        "kind": event.kind,
        "status": event.status,
        "starts_at": event.starts_at,
        "ends_at": event.ends_at,
        "timezone": event.timezone,
        "venue": {
            "name": event.venue_name,
            "address": event.venue_address,
            "city": event.venue_city,
            "country": event.venue_country,
        },
        "online_url": event.online_url,
        "capacity": event.capacity,
        "actions": [action.number for action in event.actions],
        "priority_areas": [area.number for area in event.priority_areas],
        "host_id": event.host_id,
        "sequence": event.sequence,
    }


# -- listing --------------------------------------------------------------------------


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


def list_events(
    *,
    session: Session,
    viewer: User | None,
    filters: EventFilters,
    limit: int,
    offset: int,
) -> tuple[list[EventRead], int]:
    if filters.ends_after and filters.starts_before and filters.starts_before <= filters.ends_after:
        raise Invalid("`to` must be after `from`")
    query = filtered(select(Event).where(visible_to(viewer)), filters)
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    events = list(
        session.scalars(
            query.options(*EVENT_OPTIONS)
            .order_by(Event.starts_at, Event.id)
            .limit(limit)
            .offset(offset)
        )
    )
    return describe(session=session, events=events), total or 0


# -- changes --------------------------------------------------------------------------


def _apply_venue(event: Event, venue: Venue | None) -> None:
    event.venue_name = venue.name if venue else None
    event.venue_address = venue.address if venue else None
    event.venue_city = venue.city if venue else None
    event.venue_country = venue.country if venue else None


def create_event(
    *,
    session: Session,
    actor: User,
    data: EventCreate,
    now: datetime,
    inherited_actions: Iterable[int] = (),
) -> Event:
    """A new event. ``inherited_actions`` were linked before the event existed (an agreed
    seminar topic's), so they stay linked even if retired since."""
    if actor.role == Role.member:
        if data.kind not in (None, EventKind.peer_to_peer):
            raise Forbidden("Members host peer_to_peer events; other kinds are for the secretariat")
        if data.status is not None:
            raise Forbidden(
                "A member's event is submitted to the secretariat, which publishes it; "
                "leave status out"
            )
        kind, status, host = EventKind.peer_to_peer, EventStatus.submitted, actor
    elif actor.role == Role.secretariat:
        if data.kind is None:
            raise Invalid("Name the event's kind: joint_seminar, peer_to_peer or other")
        kind, status, host = data.kind, data.status or EventStatus.draft, None
    else:
        raise Forbidden("Events are created by members (their own) and the secretariat")
    zone = ZoneInfo(data.timezone)
    starts_at = instant(data.starts_at, zone, "starts_at")
    ends_at = instant(data.ends_at, zone, "ends_at")
    check_span(starts_at, ends_at, longest=LONGEST_EVENT)
    actions, areas = links.resolve_links(
        session=session,
        action_numbers=data.actions,
        priority_area_numbers=data.priority_areas,
        already_linked=inherited_actions,
    )
    event = Event(
        title=data.title,
        description=data.description,
        kind=kind,
        status=status,
        starts_at=starts_at,
        ends_at=ends_at,
        timezone=data.timezone,
        online_url=str(data.online_url) if data.online_url else None,
        capacity=data.capacity,
        host=host,
        created_by_id=actor.id,
        created_at=now,
        updated_at=now,
        published_at=now if status == EventStatus.published else None,
        actions=actions,
        priority_areas=areas,
    )
    _apply_venue(event, data.venue)
    session.add(event)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="event.created",
        entity_type="event",
        entity_id=event.id,
        after=snapshot(event),
        at=now,
    )
    return event


def update_event(
    *, session: Session, actor: User, event_id: int, data: EventUpdate, now: datetime
) -> Event:
    event = get_visible(session=session, event_id=event_id, viewer=actor, for_update=True)
    check_manager(actor, event)
    check_not_cancelled(event)
    before = snapshot(event)
    changes = data.model_dump(exclude_unset=True)

    for field in ("title", "description"):
        if field in changes:
            setattr(event, field, changes[field])
    if "venue" in changes:
        _apply_venue(event, data.venue)
    if "online_url" in changes:
        event.online_url = str(data.online_url) if data.online_url else None
    if event.venue_name is None and event.online_url is None:
        raise Invalid("An event needs a venue, an online_url, or both; keep one of them")

    if {"starts_at", "ends_at", "timezone"} & changes.keys():
        _retime(event, data)

    if "capacity" in changes:
        _recapacitate(session, actor, event, data.capacity, now)

    if "actions" in changes or "priority_areas" in changes:
        event.actions, event.priority_areas = links.relink(
            session=session,
            linked=[action.number for action in event.actions],
            action_numbers=data.actions,
            priority_area_numbers=data.priority_areas,
        )

    after = snapshot(event)
    if after == before:
        return event
    touch(event, now)
    after["sequence"] = event.sequence
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="event.updated",
        entity_type="event",
        entity_id=event.id,
        before=before,
        after=after,
        at=now,
    )
    return event


def _retime(event: Event, data: EventUpdate) -> None:
    zone_name = data.timezone or event.timezone
    zone = ZoneInfo(zone_name)
    # A new zone alone keeps the instants; wall-clock times given are read in the new zone.
    starts_at = instant(data.starts_at, zone, "starts_at") if data.starts_at else event.starts_at
    ends_at = instant(data.ends_at, zone, "ends_at") if data.ends_at else event.ends_at
    check_span(starts_at, ends_at, longest=LONGEST_EVENT)
    outside = [
        item.title for item in event.agenda if item.starts_at < starts_at or item.ends_at > ends_at
    ]
    if outside:
        raise Conflict(
            f"The agenda item {outside[0]!r} would fall outside the event's new times; "
            "change the agenda first"
        )
    if (starts_at, ends_at) != (event.starts_at, event.ends_at):
        event.agenda_confirmed_at = None
        event.agenda_confirmed_by_id = None
    event.starts_at, event.ends_at, event.timezone = starts_at, ends_at, zone_name


def _recapacitate(
    session: Session, actor: User, event: Event, capacity: int | None, now: datetime
) -> None:
    registered = registrations.count_registered(session=session, event_id=event.id)
    if capacity is not None and capacity < registered:
        raise Conflict(
            f"{registered} people hold a place; the capacity cannot go below that "
            f"(asked for {capacity})"
        )
    event.capacity = capacity
    registrations.fill_places(session=session, actor=actor, event=event, now=now)


def publish_event(*, session: Session, actor: User, event_id: int, now: datetime) -> Event:
    event = get_visible(session=session, event_id=event_id, viewer=actor, for_update=True)
    if event.status == EventStatus.published:
        raise Conflict(f"Event {event.id} is already published")
    check_not_cancelled(event)
    before = snapshot(event)
    event.status = EventStatus.published
    event.published_at = now
    event.updated_at = now
    audit.record(
        session=session,
        actor=actor,
        action="event.published",
        entity_type="event",
        entity_id=event.id,
        before={"status": before["status"]},
        after={"status": event.status},
        at=now,
    )
    return event


def cancel_event(
    *, session: Session, actor: User, event_id: int, reason: str, now: datetime
) -> Event:
    event = get_visible(session=session, event_id=event_id, viewer=actor, for_update=True)
    check_manager(actor, event)
    if event.status == EventStatus.cancelled:
        raise Conflict(f"Event {event.id} was already cancelled on {event.cancelled_at:%Y-%m-%d}")
    before_status = event.status
    event.status = EventStatus.cancelled
    event.cancelled_at = now
    event.cancel_reason = reason
    touch(event, now)
    audit.record(
        session=session,
        actor=actor,
        action="event.cancelled",
        entity_type="event",
        entity_id=event.id,
        before={"status": before_status},
        after={"status": event.status, "reason": reason, "sequence": event.sequence},
        at=now,
    )
    return event
