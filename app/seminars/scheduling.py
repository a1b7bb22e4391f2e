"""Scheduling the agreed seminar as a joint_seminar event."""

from datetime import datetime

from pydantic import ValidationError
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.errors import Conflict, Invalid
from app.events import service as events
from app.events.schemas import EventCreate, EventTiming
from app.models import (
    Event,
    User,
)
from app.seminars.calendar import phase_of
from app.seminars.locks import lock_seminar
from app.seminars.proposals import get_proposal
from app.seminars.schemas import (
    ScheduleSeminar,
)
from app.seminars.wording import label


def schedule(
    *, session: Session, actor: User, seminar_id: int, data: ScheduleSeminar, now: datetime
) -> Event:
    """Create the agreed seminar's `joint_seminar` event, through the events service."""
    seminar = lock_seminar(session, seminar_id)
    if seminar.event_id is not None:
        raise Conflict(
            f"{label(seminar).capitalize()} is already scheduled as event {seminar.event_id}"
        )
    if seminar.agreed_at is None:
        raise Conflict(
            f"{label(seminar).capitalize()} is in its {phase_of(seminar, now)} phase; only a "
            "seminar whose topic DG RTD and CoR SEDEC agreed can be scheduled"
        )
    topic_id = seminar.agreed_proposal_id
    if topic_id is None:  # agreed means both chose it; a withdrawn choice cannot be agreed
        raise Conflict(f"{label(seminar).capitalize()} has no agreed topic to schedule")
    topic = get_proposal(session=session, proposal_id=topic_id)
    try:
        event_data = EventCreate(
            **{name: getattr(data, name) for name in EventTiming.model_fields},
            title=topic.title,
            description=topic.summary,
            kind="joint_seminar",
            actions=topic.action_numbers,
            priority_areas=topic.priority_area_numbers,
            status=data.status,
        )
    except ValidationError as error:
        problem = error.errors()[0]
        raise Invalid(f"The agreed topic cannot become an event: {problem['msg']}") from None
    event = events.create_event(
        session=session,
        actor=actor,
        data=event_data,
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
