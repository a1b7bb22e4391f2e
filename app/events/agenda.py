"""Agendas: set by the host or the secretariat, confirmed by the secretariat.

A confirmation stands for the agenda exactly as it was confirmed: any later change to
the items or to the event's times clears it.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.common import zones
from app.common.http import strong_etag, strong_match
from app.errors import Conflict, Invalid, PreconditionFailed
from app.events.access import check_manager, check_not_cancelled, get_visible
from app.events.schemas import AgendaIn
from app.events.times import instant, local
from app.models import AgendaItem, Event, User


def _items_snapshot(event: Event) -> list[dict[str, Any]]:
    return [
        {
            "starts_at": item.starts_at,
            "ends_at": item.ends_at,
            "title": item.title,
            "description": item.description,
            "speakers": item.speakers,
        }
        for item in event.agenda
    ]


def replace_agenda(
    *, session: Session, actor: User, event_id: int, data: AgendaIn, now: datetime
) -> Event:
    """Replace the agenda. The same agenda again answers it as it stands, even on a
    cancelled event; a different one is refused there."""
    event = get_visible(session=session, event_id=event_id, viewer=actor, for_update=True)
    check_manager(actor, event)
    zone = zones.zone(event.timezone)
    items = []
    for index, given in enumerate(data.items):
        where = f"agenda item {index + 1} ({given.title!r})"
        loc = ("body", "items", index)
        starts_at = instant(given.starts_at, zone, f"{where}: starts_at", (*loc, "starts_at"))
        ends_at = instant(given.ends_at, zone, f"{where}: ends_at", (*loc, "ends_at"))
        if ends_at <= starts_at:
            raise Invalid(f"{where} must end after it starts", loc=(*loc, "ends_at"))
        if starts_at < event.starts_at or ends_at > event.ends_at:
            raise Invalid(
                f"{where} must lie within the event, "
                f"{local(event.starts_at, event.timezone):%Y-%m-%d %H:%M} to "
                f"{local(event.ends_at, event.timezone):%Y-%m-%d %H:%M} {event.timezone}",
                loc=loc,
            )
        items.append((starts_at, ends_at, given))
    items.sort(key=lambda item: item[0])
    before = _items_snapshot(event)
    asked = [
        {
            "starts_at": starts_at,
            "ends_at": ends_at,
            "title": given.title,
            "description": given.description,
            "speakers": [speaker.model_dump() for speaker in given.speakers],
        }
        for starts_at, ends_at, given in items
    ]
    if asked == before:
        return event
    check_not_cancelled(event)

    session.execute(delete(AgendaItem).where(AgendaItem.event_id == event.id))
    for position, (starts_at, ends_at, given) in enumerate(items, start=1):
        session.add(
            AgendaItem(
                event_id=event.id,
                position=position,
                starts_at=starts_at,
                ends_at=ends_at,
                title=given.title,
                description=given.description,
                speakers=[speaker.model_dump() for speaker in given.speakers],
            )
        )
    session.flush()
    session.expire(event, ["agenda"])
    after = _items_snapshot(event)
    was_confirmed = event.agenda_confirmed_at is not None
    event.agenda_confirmed_at = None
    event.agenda_confirmed_by_id = None
    event.record_change(now)
    audit.record(
        session=session,
        actor=actor,
        action="agenda.replaced",
        entity_type="event",
        entity_id=event.id,
        before={"items": before, "confirmed": was_confirmed},
        after={"items": after, "confirmed": False},
        at=now,
    )
    return event


def agenda_tag(event: Event) -> str:
    """The version of the event's agenda as its answers show it (items, the zone their
    local times are shown in, and confirmation), as a strong ETag."""
    return strong_etag(
        _items_snapshot(event),
        event.timezone,
        event.agenda_confirmed_at,
        event.agenda_confirmed_by_id,
    )


def confirm_agenda(
    *, session: Session, actor: User, event_id: int, now: datetime, reviewed: str | None = None
) -> Event:
    """Confirm the agenda as it stands; a confirmed one is answered as it stands. With
    ``reviewed`` (an ``If-Match``), only the version it names: a confirmation stands for
    the agenda that was read, never for one changed since."""
    event = get_visible(session=session, event_id=event_id, viewer=actor, for_update=True)
    current = agenda_tag(event)
    if reviewed is not None and not strong_match(reviewed, current):
        raise PreconditionFailed(
            f"The agenda of event {event.id} changed since it was read (it is now "
            f"{current}); read it again and confirm what you reviewed"
        )
    if event.agenda_confirmed_at is not None:
        return event
    check_not_cancelled(event)
    if not event.agenda:
        raise Conflict(f"Event {event.id} has no agenda yet; an empty agenda cannot be confirmed")
    event.agenda_confirmed_at = now
    event.agenda_confirmed_by_id = actor.id
    event.record_change(now)  # its calendar entry turns from tentative to confirmed
    audit.record(
        session=session,
        actor=actor,
        action="agenda.confirmed",
        entity_type="event",
        entity_id=event.id,
        after={"items": _items_snapshot(event)},
        at=now,
    )
    return event
