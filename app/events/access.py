"""Who sees an event and who may change it; shared by events, agendas and registrations."""

from collections.abc import Hashable
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, or_, select, true
from sqlalchemy.orm import Session

from app.errors import Conflict, Forbidden, NotFound
from app.models import Event, EventStatus, Role, User


def visible_to(viewer: User | None) -> Any:
    return _shown(_audience(viewer), None if viewer is None else viewer.id)


def sees_every_event(viewer: User | None) -> bool:
    """The secretariat sees every event, drafts included."""
    return viewer is not None and viewer.role == Role.secretariat


def _audience(viewer: User | None) -> str | None:
    if viewer is None:
        return None
    return "all" if sees_every_event(viewer) else "host"


def _shown(audience: str | None, host_id: Any) -> Any:
    """Which events an audience sees: anyone the public ones, the secretariat all of
    them, anybody else the public ones and those whose host is ``host_id``."""
    if audience is None:
        return Event.public
    if audience == "all":
        return true()
    return or_(Event.public, Event.host_id == host_id)


def visibility(viewer: User | None) -> Hashable:
    """Which events ``visible_to`` lets the viewer see, as a value: the same for every
    anonymous caller, for all of the secretariat, and one's own for everybody else."""
    audience = _audience(viewer)
    return (audience, viewer.id) if viewer is not None and audience == "host" else audience


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
    values = {"event_id": event_id, "viewer_id": None if viewer is None else viewer.id}
    event = session.scalars(_visible_event(_audience(viewer), for_update), values).one_or_none()
    if event is None:
        raise NotFound(f"No event with id {event_id}")
    return event


@lru_cache(maxsize=6)
def _visible_event(audience: str | None, for_update: bool) -> Any:
    """Built once for each audience: nearly every request about one event begins with it."""
    query = select(Event).where(
        Event.id == bindparam("event_id"), _shown(audience, bindparam("viewer_id"))
    )
    return query.with_for_update() if for_update else query


def check_not_cancelled(event: Event) -> None:
    if event.status == EventStatus.cancelled:
        raise Conflict(f"Event {event.id} is cancelled; it can no longer be changed")
