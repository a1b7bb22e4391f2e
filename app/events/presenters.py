"""Response bodies for events, agendas and registrations, made from rows."""

from typing import Any

from app.config import Settings
from app.events.queries import Listed, Occupancy, Shown
from app.events.registrations import OwnPage, Placed
from app.events.schemas import (
    AgendaItemRead,
    AgendaRead,
    EventRead,
    PersonRead,
    RegisteredEvent,
    Registrant,
    RegistrationRead,
    Speaker,
    VenueRead,
)
from app.events.service import year_warnings
from app.events.times import local
from app.feeds import links
from app.models import Event, User


def person(user: User) -> PersonRead:
    return PersonRead(id=user.id, name=user.name)


def venue(event: Any) -> VenueRead | None:
    if event.venue_name is None:
        return None
    return VenueRead(
        name=event.venue_name,
        address=event.venue_address,
        city=event.venue_city,
        country=event.venue_country,
    )


def event_read(listed: Listed, settings: Settings) -> EventRead:
    """An event's answer: its warnings consult the plan's term, its calendar links the
    service's public address."""
    event = listed.event
    return _event_answer(
        event,
        host=person(event.host) if event.host else None,
        actions=[action.number for action in event.actions],
        priority_areas=[area.number for area in event.priority_areas],
        occupancy=listed.occupancy,
        seminar_id=listed.seminar_id,
        settings=settings,
    )


def shown_read(shown: Shown, settings: Settings) -> EventRead:
    """The same answer, from the columns the event reads select."""
    event = shown.event
    return _event_answer(
        event,
        host=PersonRead(id=event.host_id, name=event.host_name) if event.host_id else None,
        actions=shown.actions,
        priority_areas=shown.priority_areas,
        occupancy=shown.occupancy,
        seminar_id=shown.seminar_id,
        settings=settings,
    )


def _event_answer(
    event: Any,
    *,
    host: PersonRead | None,
    actions: list[int],
    priority_areas: list[int],
    occupancy: Occupancy,
    seminar_id: int | None,
    settings: Settings,
) -> EventRead:
    calendar_url = links.event_calendar(settings.base_url, event.id)
    local_starts_at = local(event.starts_at, event.timezone)
    return EventRead(
        id=event.id,
        title=event.title,
        description=event.description,
        kind=event.kind,
        status=event.status,
        seminar_id=seminar_id,
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        timezone=event.timezone,
        local_starts_at=local_starts_at,
        local_ends_at=local(event.ends_at, event.timezone),
        venue=venue(event),
        online_url=event.online_url,
        capacity=event.capacity,
        registered=occupancy.registered,
        waitlisted=occupancy.waitlisted,
        actions=actions,
        priority_areas=priority_areas,
        host=host,
        sequence=event.sequence,
        created_at=event.created_at,
        updated_at=event.updated_at,
        published_at=event.published_at,
        cancelled_at=event.cancelled_at,
        cancel_reason=event.cancel_reason,
        agenda_confirmed_at=event.agenda_confirmed_at,
        warnings=year_warnings(local_starts_at.year, settings.plan_years),
        calendar_url=calendar_url,
        webcal_url=links.webcal(calendar_url),
    )


def agenda_read(event: Event) -> AgendaRead:
    return AgendaRead(
        event_id=event.id,
        items=[
            AgendaItemRead(
                starts_at=item.starts_at,
                ends_at=item.ends_at,
                local_starts_at=local(item.starts_at, event.timezone),
                local_ends_at=local(item.ends_at, event.timezone),
                title=item.title,
                description=item.description,
                speakers=[Speaker.model_validate(speaker) for speaker in item.speakers],
            )
            for item in event.agenda
        ],
        confirmed_at=event.agenda_confirmed_at,
        confirmed_by=person(event.agenda_confirmed_by) if event.agenda_confirmed_by else None,
    )


def registered_event(event: Event) -> RegisteredEvent:
    return _registered_event(event, event_id=event.id, status=event.status)


def _registered_event(when_where: Any, *, event_id: int, status: Any) -> RegisteredEvent:
    """The event as a registration shows it, from an event or from a row of
    ``own_page`` (which names the event's id and status apart from the registration's)."""
    return RegisteredEvent(
        id=event_id,
        title=when_where.title,
        kind=when_where.kind,
        status=status,
        starts_at=when_where.starts_at,
        timezone=when_where.timezone,
        local_starts_at=local(when_where.starts_at, when_where.timezone),
        local_ends_at=local(when_where.ends_at, when_where.timezone),
        venue=venue(when_where),
        online_url=when_where.online_url,
    )


def registrant(user: User) -> Registrant:
    return Registrant(
        id=user.id,
        name=user.name,
        email=user.email,
        role=user.role,
        institution=user.institution,
        member_state=user.member_state,
    )


def own_reads(found: OwnPage, user: User) -> list[RegistrationRead]:
    """The answers of "my registrations", from the columns ``own_page`` selects."""
    you = registrant(user)
    return [
        RegistrationRead(
            id=row.id,
            event_id=row.event_id,
            event=_registered_event(row, event_id=row.event_id, status=row.event_status),
            user=you,
            status=row.status,
            position=position,
            registered_at=row.registered_at,
            cancelled_at=row.cancelled_at,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )
        for row, position in found.rows
    ]


def registration_read(placed: Placed) -> RegistrationRead:
    registration = placed.registration
    return RegistrationRead(
        id=registration.id,
        event_id=registration.event_id,
        event=registered_event(registration.event),
        user=registrant(registration.user),
        status=registration.status,
        position=placed.position,
        registered_at=registration.registered_at,
        cancelled_at=registration.cancelled_at,
        created_at=registration.created_at,
        updated_at=registration.updated_at,
    )
