"""The tally of supports, and who may see it when."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, literal, null, select, union_all
from sqlalchemy.orm import Session

from app.errors import Forbidden
from app.events.access import sees_every_event
from app.models import (
    Affiliation,
    Proposal,
    ProposalStatus,
    Seminar,
    SeminarPhase,
    Support,
    User,
)
from app.seminars.calendar import phase_of
from app.seminars.supports import STANDING
from app.seminars.visibility import tally_visible
from app.seminars.wording import iso


def support_counts(session: Session, proposal_ids: Iterable[int]) -> dict[int, int]:
    """Standing supports per proposal, in one grouped query."""
    ids = list(proposal_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(Support.proposal_id, func.count())
        .where(Support.proposal_id.in_(ids), STANDING)
        .group_by(Support.proposal_id)
    )
    return {row[0]: row[1] for row in rows}


@dataclass(frozen=True)
class ProposalFigures:
    """What proposal answers show beyond the proposals' own rows, for one viewer."""

    supports: dict[int, int]  # by proposal id, only where the viewer may see the tally
    supported_by_viewer: set[int] | None  # None for anonymous viewers

    def supports_of(self, proposal_id: int) -> int | None:
        return self.supports.get(proposal_id)


def proposal_figures(
    *, session: Session, proposals: list[Proposal], viewer: User | None, now: datetime
) -> ProposalFigures:
    """Support counts where the viewer may see the tally, and the viewer's own supports.

    Two queries at most, however many proposals: one grouped count, one for the
    viewer's own supports.
    """
    visible = [
        proposal.id for proposal in proposals if tally_visible(proposal.seminar, viewer, now)
    ]
    counts = support_counts(session, visible)
    supports = {proposal_id: counts.get(proposal_id, 0) for proposal_id in visible}
    if viewer is None:
        return ProposalFigures(supports=supports, supported_by_viewer=None)
    mine: set[int] = set()
    if proposals:
        mine = set(
            session.scalars(
                select(Support.proposal_id).where(
                    Support.voter_id == viewer.id,
                    Support.proposal_id.in_([proposal.id for proposal in proposals]),
                    STANDING,
                )
            )
        )
    return ProposalFigures(supports=supports, supported_by_viewer=mine)


@dataclass(frozen=True)
class TallyLine:
    proposal_id: int
    title: str
    status: ProposalStatus
    submitted_at: datetime
    by_affiliation: dict[Affiliation, int]

    @property
    def supports(self) -> int:
        return sum(self.by_affiliation.values())


@dataclass(frozen=True)
class Tally:
    seminar: Seminar
    phase: SeminarPhase
    final: bool
    voters: int
    lines: list[TallyLine]  # most supported first; ties go to the earlier submission


def tally(*, session: Session, seminar: Seminar, viewer: User | None, now: datetime) -> Tally:
    if not tally_visible(seminar, viewer, now):
        raise Forbidden(
            f"The tally of {seminar.label} needs the role secretariat until voting closes "
            f"on {iso(seminar.voting_close_at)}; from then on it is public"
        )
    proposals = session.execute(
        select(Proposal.id, Proposal.title, Proposal.status, Proposal.submitted_at).where(
            Proposal.seminar_id == seminar.id, Proposal.status != ProposalStatus.withdrawn
        )
    ).all()
    split: dict[int, dict[Affiliation, int]] = {
        row.id: dict.fromkeys(Affiliation, 0) for row in proposals
    }
    # The split and the number of voters in one statement: the voters come on a row of
    # their own, under proposal id 0 (ids start at 1).
    standing = (Proposal.seminar_id == seminar.id, STANDING)
    rows: Any = session.execute(
        union_all(
            select(Support.proposal_id, Support.affiliation, func.count())
            .join(Proposal, Proposal.id == Support.proposal_id)
            .where(*standing)
            .group_by(Support.proposal_id, Support.affiliation),
            select(literal(0), null(), func.count(func.distinct(Support.voter_id)))
            .join(Proposal, Proposal.id == Support.proposal_id)
            .where(*standing),
        )
    )
    voters = 0
    for proposal_id, affiliation, count in rows:
        if proposal_id == 0:
            voters = count
        elif proposal_id in split:
            split[proposal_id][affiliation] = count
    lines = [
        TallyLine(
            proposal_id=row.id,
            title=row.title,
            status=row.status,
            submitted_at=row.submitted_at,
            by_affiliation=split[row.id],
        )
        for row in proposals
    ]
    lines.sort(key=lambda line: (-line.supports, line.submitted_at, line.proposal_id))
    return Tally(
        seminar=seminar,
        phase=phase_of(seminar, now, drafts_seen=sees_every_event(viewer)),
        final=now >= seminar.voting_close_at,
        voters=voters or 0,
        lines=lines,
    )
