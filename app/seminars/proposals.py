"""Topic proposals: made, edited and withdrawn while proposals are open."""

from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from app.audit import service as audit
from app.catalogue.links import relink, resolve_links
from app.common.paging import Paged, PageRequest, fetch_page
from app.common.search import matching
from app.errors import Conflict, Forbidden, NotFound
from app.models import Proposal, ProposalStatus, Seminar, User
from app.models.seminars import topic_key
from app.seminars.locks import lock_seminar
from app.seminars.schemas import ProposalCreate, ProposalUpdate
from app.seminars.wording import iso


def check_proposals_open(seminar: Seminar, now: datetime, doing: str) -> None:
    if seminar.agreed_at is None and seminar.proposals_open_at <= now < seminar.proposals_close_at:
        return
    when = "open on" if now < seminar.proposals_open_at else "were open from"
    raise Conflict(
        f"Proposals for {seminar.label} {when} {iso(seminar.proposals_open_at)} until "
        f"{iso(seminar.proposals_close_at)}; {doing} only while they are open"
    )


def _proposal_snapshot(proposal: Proposal) -> dict[str, Any]:
    return {
        "title": proposal.title,
        "summary": proposal.summary,
        "actions": proposal.action_numbers,
        "priority_areas": proposal.priority_area_numbers,
        "status": proposal.status,
    }


def _proposal_query() -> Select[Proposal]:
    return select(Proposal).options(
        selectinload(Proposal.proposer),
        selectinload(Proposal.actions),
        selectinload(Proposal.priority_areas),
    )


def get_proposal(*, session: Session, proposal_id: int) -> Proposal:
    proposal = session.scalars(_proposal_query().where(Proposal.id == proposal_id)).one_or_none()
    if proposal is None:
        raise NotFound(f"No proposal with id {proposal_id}")
    return proposal


def list_proposals(
    *,
    session: Session,
    seminar: Seminar,
    status: ProposalStatus | None = None,
    text: str | None = None,
    page: PageRequest,
) -> Paged[Proposal]:
    """The seminar's proposals in order of submission; ``text`` finds words in their
    titles and summaries."""
    query = (
        _proposal_query()
        .where(Proposal.seminar_id == seminar.id, matching(text, Proposal.title, Proposal.summary))
        .order_by(Proposal.submitted_at, Proposal.id)
    )
    if status is not None:
        query = query.where(Proposal.status == status)
    return fetch_page(session, query, page)


def _check_not_repeated(
    session: Session, seminar: Seminar, proposer_id: int, key: str, proposal_id: int | None
) -> None:
    """The proposer's standing proposals in a seminar have different titles (as
    ``topic_key`` compares them): the same topic twice would split its supports."""
    with session.no_autoflush:  # the proposal being edited is compared, not stored yet
        same = session.scalars(
            select(Proposal).where(
                Proposal.seminar_id == seminar.id,
                Proposal.proposer_id == proposer_id,
                Proposal.title_key == key,
                Proposal.status != ProposalStatus.withdrawn,
                Proposal.id != (proposal_id or 0),
            )
        ).first()
    if same is not None:
        raise Conflict(
            f'You already proposed "{same.title}" for {seminar.label} (proposal {same.id}); '
            "edit that proposal, or withdraw it before proposing the topic again"
        )


def _add(session: Session, seminar: Seminar, proposal: Proposal) -> None:
    """Store a new proposal; the unique index on standing topics settles a race with the
    same topic sent at the same moment, answered as the check above answers."""
    proposer_id, key = proposal.proposer_id, proposal.title_key
    try:
        with session.begin_nested():
            session.add(proposal)
            session.flush()
    except IntegrityError:
        _check_not_repeated(session, seminar, proposer_id, key, None)
        raise


def submit_proposal(
    *, session: Session, actor: User, seminar_id: int, data: ProposalCreate, now: datetime
) -> Proposal:
    seminar = lock_seminar(session, seminar_id, shared=True)
    check_proposals_open(seminar, now, "topics are proposed")
    key = topic_key(data.title)
    _check_not_repeated(session, seminar, actor.id, key, None)
    actions, areas = resolve_links(
        session=session, action_numbers=data.actions, priority_area_numbers=data.priority_areas
    )
    proposal = Proposal(
        seminar_id=seminar.id,
        proposer_id=actor.id,
        title=data.title,
        title_key=key,
        summary=data.summary,
        status=ProposalStatus.submitted,
        submitted_at=now,
        updated_at=now,
        actions=actions,
        priority_areas=areas,
    )
    _add(session, seminar, proposal)
    audit.record(
        session=session,
        actor=actor,
        action="proposal.submitted",
        entity_type="proposal",
        entity_id=proposal.id,
        after={"seminar_id": seminar.id, **_proposal_snapshot(proposal)},
        at=now,
    )
    return proposal


def _own_proposal(
    session: Session, actor: User, proposal_id: int, doing: str
) -> tuple[Proposal, Seminar]:
    """The actor's own proposal, locked, with its seminar under a shared lock."""
    proposal = get_proposal(session=session, proposal_id=proposal_id)
    if proposal.proposer_id != actor.id:
        raise Forbidden(
            f"To {doing} proposal {proposal.id} needs its proposer, {proposal.proposer.name}; "
            "proposers change only their own proposals"
        )
    seminar = lock_seminar(session, proposal.seminar_id, shared=True)
    # Re-read under a row lock: two edits or withdrawals of one proposal queue here.
    proposal = session.scalars(
        _proposal_query()
        .where(Proposal.id == proposal_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    return proposal, seminar


def _check_open(proposal: Proposal, seminar: Seminar, now: datetime, doing: str) -> None:
    if proposal.status == ProposalStatus.withdrawn:
        raise Conflict(f"Proposal {proposal.id} was withdrawn on {iso(proposal.withdrawn_at)}")
    check_proposals_open(seminar, now, f"the proposer may {doing} it")


def update_proposal(
    *, session: Session, actor: User, proposal_id: int, data: ProposalUpdate, now: datetime
) -> Proposal:
    """Edit your own proposal while proposals are open. An edit that changes nothing
    answers the proposal as it stands, whatever its state."""
    proposal, seminar = _own_proposal(session, actor, proposal_id, "edit")
    before = _proposal_snapshot(proposal)
    changes = data.model_dump(exclude_unset=True)
    if "actions" in changes or "priority_areas" in changes:
        proposal.actions, proposal.priority_areas = relink(
            session=session,
            actions=proposal.actions,
            priority_areas=proposal.priority_areas,
            action_numbers=data.actions,
            priority_area_numbers=data.priority_areas,
        )
    for name in ("title", "summary"):
        if name in changes:
            setattr(proposal, name, changes[name])
    after = _proposal_snapshot(proposal)
    if after == before:
        return proposal
    _check_open(proposal, seminar, now, "edit")  # refused: the changes above roll back
    key = topic_key(proposal.title)
    if key != proposal.title_key:
        _check_not_repeated(session, seminar, proposal.proposer_id, key, proposal.id)
        proposal.title_key = key
    proposal.updated_at = now
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="proposal.updated",
        entity_type="proposal",
        entity_id=proposal.id,
        before=before,
        after=after,
        at=now,
    )
    return proposal


def withdraw_proposal(
    *, session: Session, actor: User, proposal_id: int, now: datetime
) -> Proposal:
    """Withdraw your own proposal while proposals are open; a withdrawn one is answered as
    it stands."""
    proposal, seminar = _own_proposal(session, actor, proposal_id, "withdraw")
    if proposal.status == ProposalStatus.withdrawn:
        return proposal
    _check_open(proposal, seminar, now, "withdraw")
    proposal.status = ProposalStatus.withdrawn
    proposal.withdrawn_at = now
    proposal.updated_at = now
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="proposal.withdrawn",
        entity_type="proposal",
        entity_id=proposal.id,
        before={"status": ProposalStatus.submitted},
        after={"status": ProposalStatus.withdrawn},
        at=now,
    )
    return proposal
