"""The joint agreement: DG RTD and CoR SEDEC each choose; the same choice agrees the topic."""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.errors import Conflict, Forbidden, Invalid
from app.models import (
    AGREEING_INSTITUTIONS,
    Institution,
    Proposal,
    ProposalStatus,
    Seminar,
    SeminarAgreement,
    User,
)
from app.seminars.locks import lock_seminar
from app.seminars.wording import INSTITUTION_NAMES, iso


def _agreeing_institution(actor: User) -> Institution:
    if actor.institution is None or actor.institution not in AGREEING_INSTITUTIONS:
        who = (
            f"speak for {INSTITUTION_NAMES[actor.institution]}"
            if actor.institution
            else f"are {actor.role}"
        )
        raise Forbidden(
            f"Agreeing a seminar topic needs the secretariat of DG RTD or CoR SEDEC; you {who}"
        )
    return actor.institution


def _open_for_agreement(seminar: Seminar, now: datetime) -> None:
    if seminar.agreed_at is not None:
        raise Conflict(
            f"DG RTD and CoR SEDEC agreed the topic of {seminar.label} on "
            f"{iso(seminar.agreed_at)} (proposal {seminar.agreed_proposal_id}); "
            "the choices are locked"
        )
    if now < seminar.voting_close_at:
        raise Conflict(
            f"Voting on {seminar.label} closes on {iso(seminar.voting_close_at)}; the "
            "institutions record their choices after that"
        )


def _set_choice(
    session: Session,
    actor: User,
    seminar: Seminar,
    institution: Institution,
    proposal_id: int | None,
    now: datetime,
) -> bool:
    """Record (or with None, withdraw) an institution's choice; False if it stood already."""
    choice = next((a for a in seminar.agreements if a.institution == institution), None)
    before = choice.proposal_id if choice is not None else None
    if before == proposal_id:
        return False
    if choice is None:
        choice = SeminarAgreement(institution=institution, recorded_by_id=actor.id)
        seminar.agreements.append(choice)
    choice.proposal_id = proposal_id
    choice.recorded_by_id = actor.id
    choice.recorded_at = now
    seminar.updated_at = now
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="agreement.recorded" if proposal_id is not None else "agreement.withdrawn",
        entity_type="seminar",
        entity_id=seminar.id,
        before={"institution": institution, "proposal_id": before},
        after={"institution": institution, "proposal_id": proposal_id},
        at=now,
    )
    return True


def record_choice(
    *, session: Session, actor: User, seminar_id: int, proposal_id: int, now: datetime
) -> Seminar:
    institution = _agreeing_institution(actor)
    # Both institutions' choices are read and written under this lock, so two choices
    # made at the same moment are seen one after the other, never half.
    seminar = lock_seminar(session, seminar_id)
    if seminar.agreed_at is not None and seminar.choice_of(institution) == proposal_id:
        return seminar  # the same choice again: nothing changes
    _open_for_agreement(seminar, now)
    proposal = session.get(Proposal, proposal_id)
    if proposal is None or proposal.seminar_id != seminar.id:
        raise Invalid(
            f"Proposal {proposal_id} is not a proposal of {seminar.label}; choose one of "
            "its submitted proposals",
            loc=("body", "proposal_id"),
        )
    if proposal.status != ProposalStatus.submitted:
        raise Conflict(f"Proposal {proposal.id} is {proposal.status}; choose a submitted one")
    if not _set_choice(session, actor, seminar, institution, proposal.id, now):
        return seminar
    other = next(name for name in AGREEING_INSTITUTIONS if name != institution)
    if seminar.choice_of(other) == proposal.id:
        _agree(session, actor, seminar, proposal, now)
    return seminar


def _agree(
    session: Session, actor: User, seminar: Seminar, agreed: Proposal, now: datetime
) -> None:
    seminar.agreed_at = now
    seminar.updated_at = now
    proposals = session.scalars(select(Proposal).where(Proposal.seminar_id == seminar.id))
    for proposal in proposals:
        if proposal.status != ProposalStatus.submitted:
            continue
        status = ProposalStatus.agreed if proposal.id == agreed.id else ProposalStatus.not_selected
        proposal.status = status
        proposal.updated_at = now
        audit.record(
            session=session,
            actor=actor,
            action=f"proposal.{status}",
            entity_type="proposal",
            entity_id=proposal.id,
            before={"status": ProposalStatus.submitted},
            after={"status": status},
            at=now,
        )
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="seminar.agreed",
        entity_type="seminar",
        entity_id=seminar.id,
        after={"agreed_proposal_id": agreed.id, "title": agreed.title},
        at=now,
    )


def withdraw_choice(*, session: Session, actor: User, seminar_id: int, now: datetime) -> Seminar:
    """Withdraw the institution's choice; withdrawing when none is recorded changes nothing."""
    institution = _agreeing_institution(actor)
    seminar = lock_seminar(session, seminar_id)
    if seminar.agreed_at is not None:
        _open_for_agreement(seminar, now)
    _set_choice(session, actor, seminar, institution, None, now)
    return seminar
