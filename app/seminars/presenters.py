"""Response bodies for seminars and proposals."""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import (
    Proposal,
    ProposalStatus,
    Support,
    User,
)
from app.seminars.schemas import (
    ProposalRead,
    ProposerRead,
)
from app.seminars.supports import STANDING
from app.seminars.tally import support_counts, tally_visible


def describe_proposals(
    *, session: Session, proposals: list[Proposal], viewer: User | None, now: datetime
) -> list[ProposalRead]:
    """Response bodies, with the support counts where the viewer may see the tally.

    Two queries at most, however many proposals: one grouped count, one for the
    viewer's own supports.
    """
    seminars = {proposal.seminar_id: proposal.seminar for proposal in proposals}
    visible = {
        seminar_id
        for seminar_id, seminar in seminars.items()
        if tally_visible(seminar, viewer, now)
    }
    counts = support_counts(
        session, (proposal.id for proposal in proposals if proposal.seminar_id in visible)
    )
    mine: set[int] = set()
    if viewer is not None and proposals:
        mine = set(
            session.scalars(
                select(Support.proposal_id).where(
                    Support.voter_id == viewer.id,
                    Support.proposal_id.in_([proposal.id for proposal in proposals]),
                    STANDING,
                )
            )
        )
    return [
        ProposalRead(
            id=proposal.id,
            seminar_id=proposal.seminar_id,
            title=proposal.title,
            summary=proposal.summary,
            actions=proposal.action_numbers,
            priority_areas=proposal.priority_area_numbers,
            proposer=ProposerRead.model_validate(proposal.proposer),
            status=ProposalStatus(proposal.status),
            submitted_at=proposal.submitted_at,
            updated_at=proposal.updated_at,
            withdrawn_at=proposal.withdrawn_at,
            supports=counts.get(proposal.id, 0) if proposal.seminar_id in visible else None,
            supported_by_me=(proposal.id in mine) if viewer is not None else None,
        )
        for proposal in proposals
    ]
