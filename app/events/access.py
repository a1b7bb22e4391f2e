"""Who sees an event and who may change it; shared by events, agendas and registrations."""

from collections.abc import Hashable
from typing import Any

from sqlalchemy import and_, or_, select, true
from sqlalchemy.orm import Session

from app.errors import Conflict, Forbidden, NotFound
from app.models import Event, EventStatus, Role, User


def visible_to(viewer: User | None) -> Any:
    public = or_(
        Event.status == EventStatus.published,
        and_(Event.status == EventStatus.cancelled, Event.published_at.is_not(None)),
    )
    if viewer is None:
        return public
    if viewer.role == Role.secretariat:
        return true()
    return or_(public, Event.host_id == viewer.id)


def visibility(viewer: User | None) -> Hashable:
    """Which events ``visible_to`` lets the viewer see, as a value: the same for every
    anonymous caller, for all of the secretariat, and one's own for everybody else."""
    if viewer is None:
        return None
    if viewer.role == Role.secretariat:
        return Role.secretariat
    return ("host", viewer.id)


def may_manage(user: User, event: Event) -> bool:
    return user.role == Role.secretariat or (event.host_id is not None and event.host_id == user.id)


def check_manager(user: User, event: Event) -> None:
    if not may_manage(user, event):
        raise Forbidden(
            f"This needs the role secretariat, or to be the host of event {event.id}; "
            f"you are {user.role} and not its host"
        )


def get_visible(
    *, session: Session, event_id: int, viewer: User | None, for_update: bool = False
) -> Event:
    """The event if the viewer may see it; 404 otherwise, so hidden events stay unknown.

    ``for_update`` locks the event's row until the transaction ends: every change that
    depends on the event's current state (capacity, status, times) takes this lock.
    """
    query = select(Event).where(Event.id == event_id, visible_to(viewer))
    if for_update:
        query = query.with_for_update()
    event = session.scalars(query).one_or_none()
    if event is None:
        raise NotFound(f"No event with id {event_id}")
    return event


def check_not_cancelled(event: Event) -> None:
    if event.status == EventStatus.cancelled:
        raise Conflict(f"Event {event.id} is cancelled; it can no longer be changed")
