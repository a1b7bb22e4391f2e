"""The joint agreement on a seminar's topic, and the scheduling of the agreed seminar."""

from fastapi import APIRouter, Response, status

from app.auth.deps import (
    ClockDep,
    Secretariat,
    SessionDep,
    SettingsDep,
)
from app.bodies import JsonRoute
from app.common.http import LOCATED, located
from app.common.schemas import IdPath
from app.errors import responses
from app.events import presenters as event_presenters
from app.events import queries
from app.events.schemas import EventRead
from app.seminars import agreement, presenters, scheduling
from app.seminars.schemas import (
    AgreementChoice,
    ScheduleSeminar,
    SeminarRead,
)

router = APIRouter(route_class=JsonRoute)


# The joint agreement and scheduling


@router.put(
    "/seminars/{seminar_id}/agreement",
    tags=["seminars"],
    response_model=SeminarRead,
    responses=responses(401, 403, 404, 409),
)
def record_choice(
    seminar_id: IdPath,
    body: AgreementChoice,
    session: SessionDep,
    user: Secretariat,
    clock: ClockDep,
):
    """Record your institution's choice of topic (DG RTD or CoR SEDEC staff, after voting
    closes). When both institutions name the same proposal, the topic is agreed: that
    proposal becomes `agreed`, the others `not_selected`, and the choices are locked."""
    now = clock()
    seminar = agreement.record_choice(
        session=session, actor=user, seminar_id=seminar_id, proposal_id=body.proposal_id, now=now
    )
    return presenters.seminar_read(seminar, now)


@router.delete(
    "/seminars/{seminar_id}/agreement",
    tags=["seminars"],
    response_model=SeminarRead,
    responses=responses(401, 403, 404, 409),
)
def withdraw_choice(seminar_id: IdPath, session: SessionDep, user: Secretariat, clock: ClockDep):
    """Withdraw your institution's choice, until the topic is agreed. Withdrawing when no
    choice is recorded answers the seminar as it stands."""
    now = clock()
    seminar = agreement.withdraw_choice(session=session, actor=user, seminar_id=seminar_id, now=now)
    return presenters.seminar_read(seminar, now)


@router.post(
    "/seminars/{seminar_id}/event",
    tags=["seminars"],
    response_model=EventRead,
    status_code=status.HTTP_201_CREATED,
    responses={**responses(401, 403, 404, 409), **LOCATED},
)
def schedule_seminar(
    seminar_id: IdPath,
    body: ScheduleSeminar,
    session: SessionDep,
    user: Secretariat,
    clock: ClockDep,
    settings: SettingsDep,
    response: Response,
):
    """Schedule the agreed seminar as a `joint_seminar` event. Its title, description,
    actions and priority areas come from the agreed topic; the body gives when and where.
    From then on it is an event like any other (agenda, registration, cancellation)."""
    event = scheduling.schedule(
        session=session,
        actor=user,
        seminar_id=seminar_id,
        timing=body,
        status=body.status,
        now=clock(),
    )
    [listed] = queries.with_occupancy(session, [event])
    located(response, settings.base_url, f"/events/{event.id}")
    return event_presenters.event_read(listed, settings)
