"""What an event's VEVENT is made from: its columns, host, links and agenda, read for many
events in four statements (one per kind of row), whatever their number."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.common.paging import among
from app.events.queries import WHEN_AND_WHERE
from app.feeds.queries import Rows, read_rows
from app.models import (
    Action,
    AgendaItem,
    Event,
    EventKind,
    EventStatus,
    PriorityArea,
    User,
)
from app.models.events import event_actions, event_priority_areas


@dataclass(frozen=True, slots=True)
class Link:
    """An action or priority area an event serves."""

    number: int
    title: str


@dataclass(frozen=True, slots=True)
class Host:
    id: int
    name: str


@dataclass(frozen=True, slots=True)
class AgendaLine:
    starts_at: datetime
    ends_at: datetime
    title: str
    description: str
    speakers: list[dict[str, Any]]


@dataclass(slots=True)
class FeedEvent:
    """Everything an event's VEVENT is made from, read as plain rows: a feed made from
    scratch reads thousands, and entities would cost more than the serialisation."""

    id: int
    uid: str
    title: str
    description: str
    kind: EventKind
    status: EventStatus
    starts_at: datetime
    ends_at: datetime
    timezone: str
    venue_name: str | None
    venue_address: str | None
    venue_city: str | None
    venue_country: str | None
    online_url: str | None
    sequence: int
    created_at: datetime
    updated_at: datetime
    cancel_reason: str | None
    agenda_confirmed_at: datetime | None
    host: Host | None
    actions: list[Link] = field(default_factory=list)
    priority_areas: list[Link] = field(default_factory=list)
    agenda: list[AgendaLine] = field(default_factory=list)


_FEED_EVENT_COLUMNS = (
    Event.id,
    Event.uid,
    Event.title,
    Event.description,
    Event.kind,
    Event.status,
    *WHEN_AND_WHERE,
    Event.sequence,
    Event.created_at,
    Event.updated_at,
    Event.cancel_reason,
    Event.agenda_confirmed_at,
)
# Ids per query: well below the bound variables either database takes.
_CHUNK = 2000


def events_for_entries(session: Session, event_ids: Sequence[int]) -> list[FeedEvent]:
    """The events whose VEVENT must be made again, with all that goes into one, in four
    queries per two thousand events."""
    found: list[FeedEvent] = []
    for start in range(0, len(event_ids), _CHUNK):
        found += _feed_events(session, list(event_ids[start : start + _CHUNK]))
    return found


@lru_cache(maxsize=2)
def _feed_event_statements(dialect: str) -> tuple[Rows, Rows, Rows, Rows]:
    """The four queries that read events for their VEVENTs, built once per database."""
    events = (
        select(*_FEED_EVENT_COLUMNS, User.id.label("host_id"), User.name.label("host_name"))
        .outerjoin(User, User.id == Event.host_id)
        .where(among(dialect, Event.id))
    )
    actions = (
        select(event_actions.c.event_id, Action.number, Action.title)
        .join(Action, Action.number == event_actions.c.action_number)
        .where(among(dialect, event_actions.c.event_id))
        .order_by(event_actions.c.event_id, Action.number)
    )
    areas = (
        select(event_priority_areas.c.event_id, PriorityArea.number, PriorityArea.title)
        .join(PriorityArea, PriorityArea.number == event_priority_areas.c.priority_area_number)
        .where(among(dialect, event_priority_areas.c.event_id))
        .order_by(event_priority_areas.c.event_id, PriorityArea.number)
    )
    agenda = (
        select(
            AgendaItem.event_id,
            AgendaItem.starts_at,
            AgendaItem.ends_at,
            AgendaItem.title,
            AgendaItem.description,
            AgendaItem.speakers,
        )
        .where(among(dialect, AgendaItem.event_id))
        .order_by(AgendaItem.event_id, AgendaItem.starts_at, AgendaItem.position)
    )
    return events, actions, areas, agenda


def _feed_events(session: Session, ids: list[int]) -> list[FeedEvent]:
    dialect = session.get_bind().dialect.name
    events_query, actions_query, areas_query, agenda_query = _feed_event_statements(dialect)
    values = {"ids": ids}
    events: dict[int, FeedEvent] = {}
    for row in read_rows(session).execute(events_query, values):
        *columns, host_id, host_name = row
        host = Host(host_id, host_name) if host_id is not None else None
        events[row.id] = FeedEvent(*cast(list[Any], [*columns, host]))
    for event_id, number, title in read_rows(session).execute(actions_query, values):
        events[event_id].actions.append(Link(number, title))
    for event_id, number, title in read_rows(session).execute(areas_query, values):
        events[event_id].priority_areas.append(Link(number, title))
    for event_id, *item in read_rows(session).execute(agenda_query, values):
        events[event_id].agenda.append(AgendaLine(*item))
    return list(events.values())
