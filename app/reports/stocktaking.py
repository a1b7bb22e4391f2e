"""The stocktaking export: every event of an interval, with what the partners look at.

Three queries whatever the number of events: the events with their host and their
registration counts, then their actions, then their priority areas, each link query
selecting by the same filter rather than by a list of ids.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, Table, func, select
from sqlalchemy.orm import Session, defer, joinedload

from app.common.schemas import utc_text
from app.errors import Invalid
from app.events.queries import EventFilters, Occupancy, filtered
from app.models import Event, Registration, RegistrationStatus
from app.models.events import event_actions, event_priority_areas


@dataclass(frozen=True)
class ExportedEvent:
    event: Event
    actions: list[int]
    priority_areas: list[int]
    occupancy: Occupancy


def _links(
    session: Session, table: Table, column: str, events: Select[Any]
) -> dict[int, list[int]]:
    found: dict[int, list[int]] = defaultdict(list)
    rows = session.execute(
        select(table.c.event_id, table.c[column])
        .where(table.c.event_id.in_(events))
        .order_by(table.c.event_id, table.c[column])
    )
    for event_id, number in rows:
        found[event_id].append(number)
    return found


def export_events(
    *, session: Session, starts_before: datetime | None, ends_after: datetime | None
) -> list[ExportedEvent]:
    """Every event, whatever its status, that overlaps the interval, by start."""
    if starts_before and ends_after and starts_before <= ends_after:
        raise Invalid(
            f"`to` ({utc_text(starts_before)}) must be after `from` ({utc_text(ends_after)})",
            loc=("query", "to"),
        )
    # One selection of the events, used by every query as a subquery.
    ids = filtered(
        select(Event.id), EventFilters(starts_before=starts_before, ends_after=ends_after)
    )
    occupancy = (
        select(
            Registration.event_id,
            func.count()
            .filter(Registration.status == RegistrationStatus.registered)
            .label("registered"),
            func.count()
            .filter(Registration.status == RegistrationStatus.waitlisted)
            .label("waitlisted"),
        )
        .where(Registration.event_id.in_(ids))
        .group_by(Registration.event_id)
        .subquery()
    )
    rows = session.execute(
        select(
            Event,
            func.coalesce(occupancy.c.registered, 0),
            func.coalesce(occupancy.c.waitlisted, 0),
        )
        .outerjoin(occupancy, occupancy.c.event_id == Event.id)
        .where(Event.id.in_(ids))
        # The export shows neither descriptions nor cancellation reasons: free text
        # that could name people, and the bulk of a row.
        .options(joinedload(Event.host), defer(Event.description), defer(Event.cancel_reason))
        .order_by(Event.starts_at, Event.id)
    ).all()
    actions = _links(session, event_actions, "action_number", ids)
    areas = _links(session, event_priority_areas, "priority_area_number", ids)
    return [
        ExportedEvent(
            event=event,
            actions=actions.get(event.id, []),
            priority_areas=areas.get(event.id, []),
            occupancy=Occupancy(registered=registered, waitlisted=waitlisted),
        )
        for event, registered, waitlisted in rows
    ]
