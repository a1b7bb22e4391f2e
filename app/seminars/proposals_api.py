"""Topics proposed for a joint seminar, the supports they gather and the tally."""

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from sqlalchemy.orm import Session

from app.auth.deps import (
    ClockDep,
    CurrentUser,
    OptionalUser,
    SessionDep,
    SettingsDep,
)
from app.bodies import JsonRoute
from app.clock import Clock
from app.common.http import LOCATED, Made, kept_json, located, weak_etag
from app.common.params import Paging
from app.common.schemas import IdPath, Page, page_of
from app.config import Settings
from app.errors import responses
from app.models import Proposal, ProposalStatus, User
from app.seminars import calendar, presenters, proposals, supports, tally
from app.seminars.deps import SeminarDep, Voter, seminar_row_or_404
from app.seminars.schemas import (
    ProposalCreate,
    ProposalRead,
    ProposalUpdate,
    SupportRead,
    TallyRead,
)

router = APIRouter(route_class=JsonRoute)


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


# Proposals


@router.post(
    "/seminars/{seminar_id}/proposals",
    tags=["proposals"],
    response_model=ProposalRead,
    status_code=status.HTTP_201_CREATED,
    responses={**responses(401, 403, 404, 409), **LOCATED},
)
def submit_proposal(
    seminar_id: IdPath,
    body: ProposalCreate,
    session: SessionDep,
    user: Voter,
    clock: ClockDep,
    settings: SettingsDep,
    response: Response,
):
    """Propose a topic while proposals are open (members and secretariat staff): a title,
    a summary, the plan's actions it serves and, optionally, which of their priority areas
    (by default all of them)."""
    now = clock()
    proposal = proposals.submit_proposal(
        session=session, actor=user, seminar_id=seminar_id, data=body, now=now
    )
    located(response, settings.base_url, f"/proposals/{proposal.id}")
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
    return _support_read(supports.give_support, proposal_id, session, user, clock, settings)


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
    return _support_read(supports.take_back_support, proposal_id, session, user, clock, settings)


def _support_read(
    change: Callable[..., Any],
    proposal_id: int,
    session: Session,
    user: User,
    clock: Clock,
    settings: Settings,
) -> SupportRead:
    """A voter's support given or taken back, under the seminar's cap, as it then stands."""
    state = change(
        session=session, voter=user, proposal_id=proposal_id, cap=settings.support_cap, now=clock()
    )
    return presenters.support_read(state)


@router.get(
    "/seminars/{seminar_id}/tally",
    tags=["supports"],
    response_model=TallyRead,
    responses=responses(304, 401, 403, 404),
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
