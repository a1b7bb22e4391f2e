"""Events: who may create and change them, and what each change does."""

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.catalogue import links
from app.common import zones
from app.errors import Conflict, Forbidden, Invalid
from app.events import registrations
from app.events.access import check_manager, check_not_cancelled, get_visible
from app.events.schemas import EventCreate, EventTiming, EventUpdate, Venue
from app.events.times import check_span, instant, local
from app.models import Event, EventKind, EventStatus, Role, Seminar, User
from app.seminars.years import check_held_in_year

LONGEST_EVENT = timedelta(days=31)


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


def term_warnings(event: Event, plan_years: range) -> list[str]:
    """What is unusual about an event but accepted: a start outside the plan's term."""
    return year_warnings(local(event.starts_at, event.timezone).year, plan_years)


def year_warnings(year: int, plan_years: range) -> list[str]:
    if year in plan_years:
        return []
    return [
        f"The event starts in {year}, outside the plan's term {plan_years[0]}–"
        f"{plan_years[-1]}; it is kept, and the plan's reports count the term's years only"
    ]


# -- changes --------------------------------------------------------------------------


def _apply_venue(event: Event, venue: Venue | None) -> None:
    event.venue_name = venue.name if venue else None
    event.venue_address = venue.address if venue else None
    event.venue_city = venue.city if venue else None
    event.venue_country = venue.country if venue else None


def create_event(*, session: Session, actor: User, data: EventCreate, now: datetime) -> Event:
    """A new event: a member's own peer-to-peer event, submitted for publication, or the
    secretariat's event of any kind, as a draft or published at once."""
    if actor.role == Role.member:
        if data.kind is not None:
            _check_kind_allowed(actor, data.kind)
        if data.status is not None:
            raise Forbidden(
                "Choosing an event's status needs the role secretariat: a member's event is "
                "submitted to the secretariat, which publishes it; leave status out"
            )
        kind, status, host = EventKind.peer_to_peer, EventStatus.submitted, actor
    elif actor.role == Role.secretariat:
        if data.kind is None:
            raise Invalid(
                "Name the event's kind: joint_seminar, peer_to_peer or other", loc=("body", "kind")
            )
        kind, status, host = data.kind, data.status or EventStatus.draft, None
    else:
        raise Forbidden(
            f"Creating an event needs the role member (for your own peer_to_peer events) or "
            f"secretariat; you are {actor.role}"
        )
    return add_event(
        session=session,
        actor=actor,
        title=data.title,
        description=data.description,
        kind=kind,
        status=status,
        host=host,
        timing=data,
        actions=data.actions,
        priority_areas=data.priority_areas,
        now=now,
    )


def add_event(
    *,
    session: Session,
    actor: User,
    title: str,
    description: str,
    kind: EventKind,
    status: EventStatus,
    host: User | None,
    timing: EventTiming,
    actions: Iterable[int],
    priority_areas: Iterable[int] | None,
    now: datetime,
    inherited_actions: Iterable[int] = (),
    inherited_areas: Iterable[int] = (),
) -> Event:
    """Store an event whose kind, status and host are decided. ``inherited_actions`` and
    ``inherited_areas`` were linked before the event existed (an agreed seminar topic's),
    so they stay linked even if the plan was amended since."""
    zone = zones.zone(timing.timezone)
    starts_at = instant(timing.starts_at, zone, "starts_at")
    ends_at = instant(timing.ends_at, zone, "ends_at")
    check_span(starts_at, ends_at, longest=LONGEST_EVENT)
    linked_actions, linked_areas = links.resolve_links(
        session=session,
        action_numbers=actions,
        priority_area_numbers=priority_areas,
        already_linked=inherited_actions,
        areas_linked=inherited_areas,
    )
    event = Event(
        title=title,
        description=description,
        kind=kind,
        status=status,
        online_url=str(timing.online_url) if timing.online_url else None,
        capacity=timing.capacity,
        host=host,
        created_by_id=actor.id,
        created_at=now,
        updated_at=now,
        published_at=now if status == EventStatus.published else None,
        actions=linked_actions,
        priority_areas=linked_areas,
    )
    event.set_times(starts_at, ends_at, timing.timezone)
    _apply_venue(event, timing.venue)
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
    """Change an event. An update that changes nothing answers the event as it stands,
    whatever its state; a change to a cancelled event is refused."""
    event = get_visible(session=session, event_id=event_id, viewer=actor, for_update=True)
    check_manager(actor, event)
    before = snapshot(event)
    changes = data.model_dump(exclude_unset=True)

    for field in ("title", "description"):
        if field in changes:
            setattr(event, field, changes[field])
    if data.kind is not None and data.kind != event.kind:
        _check_kind_change(actor, event, data.kind)
        event.kind = data.kind
    if "venue" in changes:
        _apply_venue(event, data.venue)
    if "online_url" in changes:
        event.online_url = str(data.online_url) if data.online_url else None
    if event.venue_name is None and event.online_url is None:
        raise Invalid(
            "An event needs a venue, an online_url, or both; keep one of them", loc=("body",)
        )

    if {"starts_at", "ends_at", "timezone"} & changes.keys():
        _retime(event, data)
        _check_seminars_year(session, event)

    if "capacity" in changes:
        _check_capacity(session, event, data.capacity)
        event.capacity = data.capacity

    if "actions" in changes or "priority_areas" in changes:
        event.actions, event.priority_areas = links.relink(
            session=session,
            actions=event.actions,
            priority_areas=event.priority_areas,
            action_numbers=data.actions,
            priority_area_numbers=data.priority_areas,
        )

    after = snapshot(event)
    if after == before:
        return event
    check_not_cancelled(event)  # the transaction is rolled back with the changes above
    if after["capacity"] != before["capacity"] or after["starts_at"] != before["starts_at"]:
        # More places, or a begun event moved to a later day: the waitlist goes first.
        registrations.fill_places(session=session, actor=actor, event=event, now=now)
    event.record_change(now)
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


def _check_kind_allowed(actor: User, kind: EventKind) -> None:
    """Members host peer_to_peer events; the secretariat makes the others."""
    if actor.role != Role.secretariat and kind != EventKind.peer_to_peer:
        raise Forbidden(
            f"An event of kind {kind} needs the role secretariat; members host peer_to_peer events"
        )


def _check_kind_change(actor: User, event: Event, kind: EventKind) -> None:
    """The rules of creation, kept by every edit; and a joint seminar's event is made by
    scheduling the agreed seminar, so no edit turns an event into one or one into another
    kind."""
    _check_kind_allowed(actor, kind)
    if kind == EventKind.joint_seminar:
        raise Invalid(
            f"Event {event.id} cannot become a joint_seminar by an edit: a joint seminar's "
            "event is made by scheduling the agreed seminar; kind may be changed between "
            "peer_to_peer and other",
            loc=("body", "kind"),
        )
    if event.kind == EventKind.joint_seminar:
        raise Invalid(
            f"Event {event.id} is a joint_seminar and stays one: a joint seminar's event is "
            "made by scheduling the agreed seminar, and its kind is not changed by an edit",
            loc=("body", "kind"),
        )
    if event.host is not None and kind != EventKind.peer_to_peer:
        raise Conflict(
            f"Event {event.id} is hosted by {event.host.name}, a member, and a member's "
            "event is peer_to_peer; its kind stays peer_to_peer"
        )


def _check_seminars_year(session: Session, event: Event) -> None:
    """A joint seminar's event stays in its seminar's year."""
    if event.kind != EventKind.joint_seminar:
        return
    seminar = session.scalars(select(Seminar).where(Seminar.event_id == event.id)).first()
    if seminar is not None:
        check_held_in_year(seminar.label, seminar.year, event.starts_at, event.timezone)


def _retime(event: Event, data: EventUpdate) -> None:
    zone_name = data.timezone or event.timezone
    zone = zones.zone(zone_name)
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
    event.set_times(starts_at, ends_at, zone_name)


def _check_capacity(session: Session, event: Event, capacity: int | None) -> None:
    registered = registrations.count_registered(session=session, event_id=event.id)
    if capacity is not None and capacity < registered:
        raise Conflict(
            f"{registered} people hold a place; the capacity cannot go below that "
            f"(asked for {capacity})"
        )


def publish_event(*, session: Session, actor: User, event_id: int, now: datetime) -> Event:
    """Publish a draft or submitted event; a published one is answered as it stands."""
    event = get_visible(session=session, event_id=event_id, viewer=actor, for_update=True)
    if event.status == EventStatus.published:
        return event
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
    """Cancel an event; a cancelled one is answered as it stands, with its first reason."""
    event = get_visible(session=session, event_id=event_id, viewer=actor, for_update=True)
    check_manager(actor, event)
    if event.status == EventStatus.cancelled:
        return event
    before_status = event.status
    event.status = EventStatus.cancelled
    event.cancelled_at = now
    event.cancel_reason = reason
    event.record_change(now)
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
