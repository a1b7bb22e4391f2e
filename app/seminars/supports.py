"""Supports: one per voter and proposal, at most a cap per voter and seminar."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.errors import Conflict, Forbidden
from app.models import Affiliation, Proposal, ProposalStatus, Seminar, Support, User
from app.seminars.locks import lock_seminar
from app.seminars.proposals import get_proposal
from app.seminars.wording import iso

# A support counts until its voter takes it back; the row stays either way.
STANDING = Support.withdrawn_at.is_(None)


def check_voting_open(seminar: Seminar, now: datetime) -> None:
    if seminar.agreed_at is None and seminar.proposals_close_at <= now < seminar.voting_close_at:
        return
    when = "opens on" if now < seminar.proposals_close_at else "was open from"
    raise Conflict(
        f"Voting on {seminar.label} {when} {iso(seminar.proposals_close_at)} until "
        f"{iso(seminar.voting_close_at)}; supports are given or taken back only while it is open"
    )


def _supports_given(session: Session, voter: User, seminar: Seminar) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(Support)
            .join(Proposal, Proposal.id == Support.proposal_id)
            .where(Support.voter_id == voter.id, Proposal.seminar_id == seminar.id, STANDING)
        )
        or 0
    )


@dataclass(frozen=True)
class SupportState:
    """A voter's support of one proposal as it stands (``support`` is None if never given),
    with how many of the cap they use in its seminar."""

    proposal_id: int
    seminar_id: int
    affiliation: Affiliation
    support: Support | None
    given: int
    cap: int

    @property
    def supported(self) -> bool:
        return self.support is not None and self.support.withdrawn_at is None


def _affiliation(voter: User) -> Affiliation:
    if voter.affiliation is None:
        raise Forbidden(
            f"Supporting proposals needs the role member or secretariat; you are {voter.role}"
        )
    return voter.affiliation


def _voters_support(
    session: Session, voter: User, proposal_id: int
) -> tuple[Proposal, Seminar, Support | None]:
    """The proposal, its seminar under a shared lock, and the voter's support row (with
    the voter's row locked: one voter's supports queue here, so counts are the truth)."""
    proposal = get_proposal(session=session, proposal_id=proposal_id)
    seminar = lock_seminar(session, proposal.seminar_id, shared=True)
    session.execute(select(User.id).where(User.id == voter.id).with_for_update())
    support = session.scalars(
        select(Support).where(Support.proposal_id == proposal.id, Support.voter_id == voter.id)
    ).one_or_none()
    return proposal, seminar, support


def _state(
    session: Session,
    voter: User,
    proposal: Proposal,
    seminar: Seminar,
    support: Support | None,
    cap: int,
) -> SupportState:
    return SupportState(
        proposal_id=proposal.id,
        seminar_id=seminar.id,
        affiliation=support.affiliation if support is not None else _affiliation(voter),
        support=support,
        given=_supports_given(session, voter, seminar),
        cap=cap,
    )


def give_support(
    *, session: Session, voter: User, proposal_id: int, cap: int, now: datetime
) -> SupportState:
    """Support a proposal while voting is open; a standing support is answered as it
    stands, whatever the phase."""
    affiliation = _affiliation(voter)
    proposal, seminar, support = _voters_support(session, voter, proposal_id)
    if support is not None and support.withdrawn_at is None:
        return _state(session, voter, proposal, seminar, support, cap)
    check_voting_open(seminar, now)
    if proposal.status == ProposalStatus.withdrawn:
        raise Conflict(f"Proposal {proposal.id} was withdrawn; it takes no supports")
    given = _supports_given(session, voter, seminar)
    if given >= cap:
        raise Conflict(
            f"You already support {given} proposals in {seminar.label}, the cap of "
            f"{cap} supports per voter; take one back to support this one"
        )
    if support is None:
        support = Support(proposal_id=proposal.id, voter_id=voter.id)
        session.add(support)
    support.affiliation = affiliation
    support.created_at = now
    support.withdrawn_at = None
    session.flush()
    audit.record(
        session=session,
        actor=voter,
        action="support.given",
        entity_type="proposal",
        entity_id=proposal.id,
        after={"voter_id": voter.id, "affiliation": support.affiliation},
        at=now,
    )
    return _state(session, voter, proposal, seminar, support, cap)


def take_back_support(
    *, session: Session, voter: User, proposal_id: int, cap: int, now: datetime
) -> SupportState:
    """Take a support back while voting is open; a support not standing (never given, or
    taken back already) is answered as it stands, whatever the phase."""
    proposal, seminar, support = _voters_support(session, voter, proposal_id)
    if support is None or support.withdrawn_at is not None:
        return _state(session, voter, proposal, seminar, support, cap)
    check_voting_open(seminar, now)
    support.withdrawn_at = now  # kept, as everything a user made is
    session.flush()
    audit.record(
        session=session,
        actor=voter,
        action="support.withdrawn",
        entity_type="proposal",
        entity_id=proposal.id,
        before={"voter_id": voter.id, "affiliation": support.affiliation},
        at=now,
    )
    return _state(session, voter, proposal, seminar, support, cap)
