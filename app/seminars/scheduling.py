"""Scheduling the agreed seminar as a joint_seminar event."""

from datetime import datetime

from sqlalchemy.orm import Session

from app.audit import service as audit
from app.errors import Conflict
from app.events import service as events
from app.events.schemas import EventTiming
from app.models import Event, EventKind, EventStatus, User
from app.seminars.calendar import phase_of
from app.seminars.locks import lock_seminar
from app.seminars.proposals import get_proposal


def schedule(
    *,
    session: Session,
    actor: User,
    seminar_id: int,
    timing: EventTiming,
    status: EventStatus,
    now: datetime,
) -> Event:
    """Create the agreed seminar's `joint_seminar` event, through the events service."""
    seminar = lock_seminar(session, seminar_id)
    if seminar.event_id is not None:
        raise Conflict(f"{seminar.label} is already scheduled as event {seminar.event_id}")
    if seminar.agreed_at is None:
        raise Conflict(
            f"{seminar.label} is in its {phase_of(seminar, now)} phase; only a "
            "seminar whose topic DG RTD and CoR SEDEC agreed can be scheduled"
        )
    topic_id = seminar.agreed_proposal_id
    if topic_id is None:  # agreed means both chose it; a withdrawn choice cannot be agreed
        raise Conflict(f"{seminar.label} has no agreed topic to schedule")
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
    )
    seminar.event_id = event.id
    seminar.updated_at = now
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="seminar.scheduled",
        entity_type="seminar",
        entity_id=seminar.id,
        before={"event_id": None},
        after={"event_id": event.id, "proposal_id": topic.id},
        at=now,
    )
    return event
