"""Scheduling the agreed seminar as a joint_seminar event."""

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.common import zones
from app.errors import Conflict
from app.events import service as events
from app.events.schemas import EventTiming
from app.events.times import instant
from app.models import Event, EventKind, EventStatus, Seminar, User
from app.seminars.calendar import phase_of
from app.seminars.locks import lock_seminar
from app.seminars.proposals import get_proposal
from app.seminars.years import check_held_in_year


def schedule(
    *,
    session: Session,
    actor: User,
    seminar_id: int,
    timing: EventTiming,
    status: EventStatus,
    now: datetime,
) -> Event:
    """Create the agreed seminar's `joint_seminar` event, through the events service. A
    seminar whose event was cancelled is scheduled again: the new event takes the cancelled
    one's place, which keeps its record."""
    # Under this lock, so that two schedulings of one seminar are seen one after the
    # other: the second finds the first's event, live.
    seminar = lock_seminar(session, seminar_id)
    replaced = _cancelled_event(session, seminar)
    if seminar.agreed_at is None:
        raise Conflict(
            f"{seminar.label} is in its {phase_of(seminar, now)} phase; only a "
            "seminar whose topic DG RTD and CoR SEDEC agreed can be scheduled"
        )
    topic_id = seminar.agreed_proposal_id
    if topic_id is None:  # agreed means both chose it; a withdrawn choice cannot be agreed
        raise Conflict(f"{seminar.label} has no agreed topic to schedule")
    _check_year(seminar, timing)
    topic = get_proposal(session=session, proposal_id=topic_id)
    event = events.add_event(
        session=session,
        actor=actor,
        title=topic.title,
        description=topic.summary,
        kind=EventKind.joint_seminar,
        status=status,
        host=None,
        timing=timing,
        actions=topic.action_numbers,
        priority_areas=topic.priority_area_numbers,
        now=now,
        inherited_actions=topic.action_numbers,
        inherited_areas=topic.priority_area_numbers,
    )
    seminar.event_id = event.id
    seminar.updated_at = now
    session.flush()
    session.expire(seminar, ["event_status"])  # read again, of the new event
    before: dict[str, Any] = {"event_id": None}
    if replaced is not None:
        before = {"event_id": replaced, "event_status": EventStatus.cancelled}
    audit.record(
        session=session,
        actor=actor,
        action="seminar.scheduled",
        entity_type="seminar",
        entity_id=seminar.id,
        before=before,
        after={"event_id": event.id, "proposal_id": topic.id},
        at=now,
    )
    return event


def _cancelled_event(session: Session, seminar: Seminar) -> int | None:
    """The seminar's event if it was cancelled (the seminar may be scheduled again), None
    if it has none; a live event is a conflict."""
    if seminar.event_id is None:
        return None
    # Read afresh, after the lock: a cancellation is final, so once seen it holds.
    status = session.scalar(select(Event.status).where(Event.id == seminar.event_id))
    if status == EventStatus.cancelled:
        return seminar.event_id
    raise Conflict(
        f"{seminar.label} is already scheduled as event {seminar.event_id}; to schedule "
        "it again, cancel that event first"
    )


def _check_year(seminar: Seminar, timing: EventTiming) -> None:
    starts_at = instant(timing.starts_at, zones.zone(timing.timezone), "starts_at")
    check_held_in_year(seminar.label, seminar.year, starts_at, timing.timezone)
