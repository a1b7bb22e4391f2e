"""Joint DG RTD-CoR seminars: the call for topics, supports, the tally, the joint agreement
and the scheduling of the agreed seminar."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from sqlalchemy.orm import Session

from app.auth.deps import (
    ClockDep,
    CurrentUser,
    OptionalUser,
    Secretariat,
    SessionDep,
    SettingsDep,
    require_roles,
)
from app.bodies import JsonRoute
from app.common.http import Made, kept_json, weak_etag
from app.common.params import Paging
from app.common.schemas import IdPath, Page, page_of
from app.errors import responses
from app.events import presenters as event_presenters
from app.events import queries
from app.events.schemas import EventRead
from app.models import Proposal, ProposalStatus, Role, Seminar, User
from app.seminars import agreement, calendar, presenters, proposals, scheduling, supports, tally
from app.seminars.schemas import (
    AgreementChoice,
    ProposalCreate,
    ProposalRead,
    ProposalUpdate,
    ScheduleSeminar,
    SeminarCreate,
    SeminarRead,
    SeminarUpdate,
    SupportRead,
    TallyRead,
)

router = APIRouter(route_class=JsonRoute)

# Members and secretariat staff propose topics and support them.
Voter = Annotated[User, Depends(require_roles(Role.member, Role.secretariat))]


def seminar_or_404(seminar_id: IdPath, session: SessionDep) -> Seminar:
    return calendar.get_seminar(session=session, seminar_id=seminar_id)


SeminarDep = Annotated[Seminar, Depends(seminar_or_404)]


def seminar_row_or_404(seminar_id: IdPath, session: SessionDep) -> Seminar:
    """The seminar without the institutions' choices, for answers that show none."""
    return calendar.get_seminar(session=session, seminar_id=seminar_id, choices=False)


SeminarRowDep = Annotated[Seminar, Depends(seminar_row_or_404)]


def _present(
    session: Session, found: list[Proposal], viewer: User | None, now: datetime
) -> list[ProposalRead]:
    figures = tally.proposal_figures(session=session, proposals=found, viewer=viewer, now=now)
    return [presenters.proposal_read(proposal, figures) for proposal in found]


def _present_one(
    session: Session, proposal: Proposal, viewer: User | None, now: datetime
) -> ProposalRead:
    [body] = _present(session, [proposal], viewer, now)
    return body


# Seminars


@router.post(
    "/seminars",
    tags=["seminars"],
    response_model=SeminarRead,
    status_code=status.HTTP_201_CREATED,
    responses=responses(401, 403, 409),
)
def create_seminar(
    body: SeminarCreate,
    session: SessionDep,
    user: Secretariat,
    clock: ClockDep,
    settings: SettingsDep,
):
    """Open a joint seminar: seminar 1 or 2 of a year of the plan, with the moments when
    proposals open, proposals close (and voting opens) and voting closes, in that order."""
    now = clock()
    seminar = calendar.create_seminar(
        session=session, actor=user, data=body, plan_years=settings.plan_years, now=now
    )
    return presenters.seminar_read(seminar, now)


@router.get("/seminars", tags=["seminars"], response_model=Page[SeminarRead])
def list_seminars(
    session: SessionDep,
    clock: ClockDep,
    page: Paging,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
):
    """The joint seminars, by year and number, each with its current `phase`: `upcoming`,
    `proposals`, `voting`, `agreement`, `agreed` or `scheduled`."""
    now = clock()
    found = calendar.list_seminars(session=session, year=year, page=page)
    return page_of(
        SeminarRead,
        [presenters.seminar_read(seminar, now) for seminar in found.rows],
        total=found.total,
        page=page,
    )


@router.get(
    "/seminars/{seminar_id}",
    tags=["seminars"],
    response_model=SeminarRead,
    responses=responses(404),
)
async def read_seminar(request: Request, seminar_id: IdPath, session: SessionDep, clock: ClockDep):
    """One joint seminar with its phase, the institutions' choices and its event, once
    scheduled."""
    now = clock()

    def read() -> Made:
        seminar = seminar_or_404(seminar_id, session)
        shown = (
            [getattr(seminar, column.key) for column in Seminar.__table__.columns],
            [(choice.institution, choice.proposal_id) for choice in seminar.agreements],
            calendar.phase_of(seminar, now),
        )
        return Made(
            weak_etag(shown),
            lambda: presenters.seminar_read(seminar, now),
            valid_until=calendar.next_turn(seminar, now),
        )

    return await kept_json(request, session, ("seminar", seminar_id), SeminarRead, read, now=now)


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


# Proposals


@router.post(
    "/seminars/{seminar_id}/proposals",
    tags=["proposals"],
    response_model=ProposalRead,
    status_code=status.HTTP_201_CREATED,
    responses=responses(401, 403, 404, 409),
)
def submit_proposal(
    seminar_id: IdPath, body: ProposalCreate, session: SessionDep, user: Voter, clock: ClockDep
):
    """Propose a topic while proposals are open (members and secretariat staff): a title,
    a summary, the plan's actions it serves and, optionally, which of their priority areas
    (by default all of them)."""
    now = clock()
    proposal = proposals.submit_proposal(
        session=session, actor=user, seminar_id=seminar_id, data=body, now=now
    )
    return _present_one(session, proposal, user, now)


@router.get(
    "/seminars/{seminar_id}/proposals",
    tags=["proposals"],
    response_model=Page[ProposalRead],
    responses=responses(401, 404),
)
def list_proposals(
    seminar: SeminarDep,
    session: SessionDep,
    viewer: OptionalUser,
    clock: ClockDep,
    page: Paging,
    status: ProposalStatus | None = None,
    q: Annotated[
        str | None, Query(max_length=200, description="words to find in the title or summary")
    ] = None,
):
    """The seminar's proposals in order of submission, withdrawn ones included (`status`
    filters, `q` finds words). `supports` is filled in once you may see the tally."""
    found = proposals.list_proposals(
        session=session, seminar=seminar, status=status, text=q, page=page
    )
    return page_of(
        ProposalRead, _present(session, found.rows, viewer, clock()), total=found.total, page=page
    )


@router.get(
    "/proposals/{proposal_id}",
    tags=["proposals"],
    response_model=ProposalRead,
    responses=responses(401, 404),
)
def read_proposal(proposal_id: IdPath, session: SessionDep, viewer: OptionalUser, clock: ClockDep):
    """One proposal."""
    proposal = proposals.get_proposal(session=session, proposal_id=proposal_id)
    return _present_one(session, proposal, viewer, clock())


@router.patch(
    "/proposals/{proposal_id}",
    tags=["proposals"],
    response_model=ProposalRead,
    responses=responses(401, 403, 404, 409),
)
def update_proposal(
    proposal_id: IdPath,
    body: ProposalUpdate,
    session: SessionDep,
    user: CurrentUser,
    clock: ClockDep,
):
    """Edit your own proposal until proposals close. Changing `actions` without naming
    `priority_areas` links every priority area the new actions serve. An edit that changes
    nothing answers the proposal as it stands."""
    now = clock()
    proposal = proposals.update_proposal(
        session=session, actor=user, proposal_id=proposal_id, data=body, now=now
    )
    return _present_one(session, proposal, user, now)


@router.post(
    "/proposals/{proposal_id}/withdraw",
    tags=["proposals"],
    response_model=ProposalRead,
    responses=responses(401, 403, 404, 409),
)
def withdraw_proposal(proposal_id: IdPath, session: SessionDep, user: CurrentUser, clock: ClockDep):
    """Withdraw your own proposal until proposals close. It stays listed as `withdrawn`;
    withdrawing it again answers it as it stands."""
    now = clock()
    proposal = proposals.withdraw_proposal(
        session=session, actor=user, proposal_id=proposal_id, now=now
    )
    return _present_one(session, proposal, user, now)


# Supports and the tally


@router.put(
    "/proposals/{proposal_id}/support",
    tags=["supports"],
    response_model=SupportRead,
    responses=responses(401, 403, 404, 409),
)
def give_support(
    proposal_id: IdPath, session: SessionDep, user: Voter, clock: ClockDep, settings: SettingsDep
):
    """Support a proposal while voting is open (members and secretariat staff). A voter
    gives at most `support_cap` supports per seminar. A support that stands is answered
    as it stands."""
    state = supports.give_support(
        session=session,
        voter=user,
        proposal_id=proposal_id,
        cap=settings.support_cap,
        now=clock(),
    )
    return presenters.support_read(state)


@router.delete(
    "/proposals/{proposal_id}/support",
    tags=["supports"],
    response_model=SupportRead,
    responses=responses(401, 403, 404, 409),
)
def take_back_support(
    proposal_id: IdPath, session: SessionDep, user: Voter, clock: ClockDep, settings: SettingsDep
):
    """Take your support back while voting is open; it frees a support for another
    proposal. A support not standing is answered as it stands (`supported: false`)."""
    state = supports.take_back_support(
        session=session,
        voter=user,
        proposal_id=proposal_id,
        cap=settings.support_cap,
        now=clock(),
    )
    return presenters.support_read(state)


@router.get(
    "/seminars/{seminar_id}/tally",
    tags=["supports"],
    response_model=TallyRead,
    responses=responses(401, 403, 404),
)
async def read_tally(
    request: Request,
    seminar_id: IdPath,
    session: SessionDep,
    viewer: OptionalUser,
    clock: ClockDep,
):
    """Supports per proposal, most supported first (ties: earlier submission), split by
    the voters' institution: `cor` for members, `dg_rtd`, `cor_sedec`, `jrc`. Visible to
    the secretariat at any time, to everyone once voting closes."""
    now = clock()

    def read() -> Made:
        seminar = seminar_row_or_404(seminar_id, session)
        counted = tally.tally(session=session, seminar=seminar, viewer=viewer, now=now)
        shown = (
            seminar.id,
            seminar.label,
            counted.phase,
            counted.final,
            counted.voters,
            [
                (line.proposal_id, line.title, line.status, line.submitted_at, line.by_affiliation)
                for line in counted.lines
            ],
        )
        return Made(
            weak_etag(shown),
            lambda: presenters.tally_read(counted),
            valid_until=calendar.next_turn(seminar, now),
        )

    # Who may see it depends on the role alone (and on time, as ``valid_until`` says).
    key = ("tally", seminar_id, viewer.role if viewer else None)
    return await kept_json(request, session, key, TallyRead, read, now=now)


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
    responses=responses(401, 403, 404, 409),
)
def schedule_seminar(
    seminar_id: IdPath,
    body: ScheduleSeminar,
    session: SessionDep,
    user: Secretariat,
    clock: ClockDep,
    settings: SettingsDep,
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
    return event_presenters.event_read(listed, settings)
