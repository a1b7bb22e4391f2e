"""The tally of supports, and who may see it when."""

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.errors import Forbidden
from app.models import (
    Proposal,
    ProposalStatus,
    Role,
    Seminar,
    Support,
    User,
)
from app.seminars.calendar import phase_of
from app.seminars.schemas import (
    InstitutionSplit,
    TallyEntry,
    TallyRead,
)
from app.seminars.supports import STANDING
from app.seminars.wording import iso, label


def tally_visible(seminar: Seminar, viewer: User | None, now: datetime) -> bool:
    if viewer is not None and viewer.role == Role.secretariat:
        return True
    return now >= seminar.voting_close_at or seminar.agreed_at is not None


def support_counts(session: Session, proposal_ids: Iterable[int]) -> dict[int, int]:
    ids = list(proposal_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(Support.proposal_id, func.count())
        .where(Support.proposal_id.in_(ids), STANDING)
        .group_by(Support.proposal_id)
    )
    return {row[0]: row[1] for row in rows}


def tally(*, session: Session, seminar: Seminar, viewer: User | None, now: datetime) -> TallyRead:
    if not tally_visible(seminar, viewer, now):
        raise Forbidden(
            f"The tally of {label(seminar)} is visible to the secretariat, and to everyone "
            f"once voting closes on {iso(seminar.voting_close_at)}"
        )
    proposals = session.execute(
        select(Proposal.id, Proposal.title, Proposal.status, Proposal.submitted_at).where(
            Proposal.seminar_id == seminar.id, Proposal.status != ProposalStatus.withdrawn
        )
    ).all()
    split: dict[int, dict[str, int]] = {
        row.id: dict.fromkeys(InstitutionSplit.model_fields, 0) for row in proposals
    }
    rows = session.execute(
        select(Support.proposal_id, Support.affiliation, func.count())
        .join(Proposal, Proposal.id == Support.proposal_id)
        .where(Proposal.seminar_id == seminar.id, STANDING)
        .group_by(Support.proposal_id, Support.affiliation)
    )
    for proposal_id, affiliation, count in rows:
        if proposal_id in split:
            split[proposal_id][affiliation] = count
    voters = session.scalar(
        select(func.count(func.distinct(Support.voter_id)))
        .join(Proposal, Proposal.id == Support.proposal_id)
        .where(Proposal.seminar_id == seminar.id, STANDING)
    )
    entries = [
        TallyEntry(
            proposal_id=row.id,
            title=row.title,
            status=ProposalStatus(row.status),
            submitted_at=row.submitted_at,
            supports=sum(split[row.id].values()),
            by_institution=InstitutionSplit(**split[row.id]),
        )
        for row in proposals
    ]
    entries.sort(key=lambda entry: (-entry.supports, entry.submitted_at, entry.proposal_id))
    return TallyRead(
        seminar_id=seminar.id,
        phase=phase_of(seminar, now),
        final=now >= seminar.voting_close_at,
        voters=voters or 0,
        proposals=entries,
    )
