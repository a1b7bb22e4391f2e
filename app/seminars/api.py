"""Joint DG RTD-CoR seminars: the call for topics, supports, the tally, the joint agreement
and the scheduling of the agreed seminar."""

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from app.auth.deps import (
    ClockDep,
    OptionalUser,
    Secretariat,
    SessionDep,
    SettingsDep,
)
from app.bodies import JsonRoute
from app.common.http import LOCATED, Made, kept_json, located, weak_etag
from app.common.params import Paging
from app.common.schemas import IdPath, Page, presented_page
from app.errors import responses
from app.events.access import sees_every_event
from app.models import Seminar
from app.seminars import agreement_api, calendar, presenters, proposals_api
from app.seminars.deps import seminar_or_404
from app.seminars.schemas import (
    SeminarCreate,
    SeminarRead,
    SeminarUpdate,
)

router = APIRouter(route_class=JsonRoute)


# Seminars


@router.post(
    "/seminars",
    tags=["seminars"],
    response_model=SeminarRead,
    status_code=status.HTTP_201_CREATED,
    responses={**responses(401, 403, 409), **LOCATED},
)
def create_seminar(
    body: SeminarCreate,
    session: SessionDep,
    user: Secretariat,
    clock: ClockDep,
    settings: SettingsDep,
    response: Response,
):
    """Open a joint seminar: seminar 1 or 2 of a year of the plan, with the moments when
    proposals open, proposals close (and voting opens) and voting closes, in that order."""
    now = clock()
    seminar = calendar.create_seminar(
        session=session, actor=user, data=body, plan_years=settings.plan_years, now=now
    )
    located(response, settings.base_url, f"/seminars/{seminar.id}")
    return presenters.seminar_read(seminar, now)


@router.get(
    "/seminars", tags=["seminars"], response_model=Page[SeminarRead], responses=responses(401)
)
def list_seminars(
    session: SessionDep,
    clock: ClockDep,
    page: Paging,
    caller: OptionalUser,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
):
    """The joint seminars, by year and number, each with its current `phase`: `upcoming`,
    `proposals`, `voting`, `agreement`, `agreed` or `scheduled` (a seminar whose event
    is a draft is `agreed`, with no `event_id`, to all but the secretariat)."""
    now = clock()
    drafts_seen = sees_every_event(caller)
    found = calendar.list_seminars(session=session, year=year, page=page)
    return presented_page(
        SeminarRead,
        found,
        lambda seminar: presenters.seminar_read(seminar, now, drafts_seen=drafts_seen),
        page,
    )


@router.get(
    "/seminars/{seminar_id}",
    tags=["seminars"],
    response_model=SeminarRead,
    responses=responses(304, 401, 404),
)
async def read_seminar(
    request: Request,
    seminar_id: IdPath,
    session: SessionDep,
    clock: ClockDep,
    caller: OptionalUser,
):
    """One joint seminar with its phase, the institutions' choices and its event, once
    scheduled (an event still in draft, to the secretariat only)."""
    now = clock()
    drafts_seen = sees_every_event(caller)

    def read() -> Made:
        seminar = seminar_or_404(seminar_id, session)
        shown = (
            [getattr(seminar, column.key) for column in Seminar.__table__.columns],
            [(choice.institution, choice.proposal_id) for choice in seminar.agreements],
            calendar.phase_of(seminar, now, drafts_seen=drafts_seen),
            seminar.event_seen(drafts_seen=drafts_seen),
        )
        return Made(
            weak_etag(shown),
            lambda: presenters.seminar_read(seminar, now, drafts_seen=drafts_seen),
            valid_until=calendar.next_turn(seminar, now),
        )

    key = ("seminar", seminar_id, drafts_seen)
    return await kept_json(request, session, key, SeminarRead, read, now=now)


@router.patch(
    "/seminars/{seminar_id}",
    tags=["seminars"],
    response_model=SeminarRead,
    responses=responses(401, 403, 404, 409),
)
def update_seminar(
    seminar_id: IdPath,
    body: SeminarUpdate,
    session: SessionDep,
    user: Secretariat,
    clock: ClockDep,
    settings: SettingsDep,
):
    """Move the seminar's dates (or its year, number or zone). Dates stay in order and
    never move into the past (to close a phase now, use `close-proposals` or
    `close-voting`); a date that has passed moves forward only while nothing it closed
    has happened since (proposals, supports, an institution's choice). After the
    agreement nothing changes. An update that changes nothing answers the seminar as it
    stands."""
    now = clock()
    seminar = calendar.update_seminar(
        session=session,
        actor=user,
        seminar_id=seminar_id,
        data=body,
        plan_years=settings.plan_years,
        now=now,
    )
    return presenters.seminar_read(seminar, now)


@router.post(
    "/seminars/{seminar_id}/close-proposals",
    tags=["seminars"],
    response_model=SeminarRead,
    responses=responses(401, 403, 404, 409),
)
def close_proposals(seminar_id: IdPath, session: SessionDep, user: Secretariat, clock: ClockDep):
    """Close the call for topics now (secretariat): `proposals_close_at` becomes this
    moment and voting opens. A call closed already is answered as it stands."""
    now = clock()
    seminar = calendar.close_proposals(session=session, actor=user, seminar_id=seminar_id, now=now)
    return presenters.seminar_read(seminar, now)


@router.post(
    "/seminars/{seminar_id}/close-voting",
    tags=["seminars"],
    response_model=SeminarRead,
    responses=responses(401, 403, 404, 409),
)
def close_voting(seminar_id: IdPath, session: SessionDep, user: Secretariat, clock: ClockDep):
    """Close voting now (secretariat): `voting_close_at` becomes this moment, the tally
    is final and public, and DG RTD and CoR SEDEC may record their choices. Voting closed
    already is answered as it stands."""
    now = clock()
    seminar = calendar.close_voting(session=session, actor=user, seminar_id=seminar_id, now=now)
    return presenters.seminar_read(seminar, now)


# In the order they were always served: seminars, proposals and supports, agreement.
router.include_router(proposals_api.router)
router.include_router(agreement_api.router)
