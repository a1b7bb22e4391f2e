"""The seminars' history: each seminar's dates, proposals and supports, the institutions'
choices, the agreed topic and its event.

A fixed number of queries whatever the number of seminars, proposals or supports: the
seminars with their choices, then the agreed topics, the events, the proposals, their
links and their supports, each in one query for all the seminars asked for.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session, joinedload, selectinload

from app.events.queries import Listed, with_occupancy
from app.models import (
    AGREEING_INSTITUTIONS,
    Affiliation,
    Event,
    Institution,
    Proposal,
    Seminar,
    SeminarAgreement,
    SeminarPhase,
    Support,
)
from app.models.seminars import proposal_actions, proposal_priority_areas
from app.seminars.calendar import phase_of
from app.seminars.supports import STANDING


@dataclass(frozen=True)
class SeminarRecord:
    """A seminar as reports show it: its phase, the agreed topic and the event it became."""

    seminar: Seminar
    phase: SeminarPhase
    agreed_topic: Proposal | None
    event: Listed | None

    def choice(self, institution: Institution) -> SeminarAgreement | None:
        for agreement in self.seminar.agreements:
            if agreement.institution == institution:
                return agreement
        return None

    @property
    def choices(self) -> list[tuple[Institution, SeminarAgreement | None]]:
        return [(institution, self.choice(institution)) for institution in AGREEING_INSTITUTIONS]

    @property
    def held_or_upcoming(self) -> bool:
        """Whether the agreed topic is held or upcoming: its live event, as the public sees
        it. A draft is not part of the programme yet, a cancelled event no longer."""
        return self.seminar.event_seen(drafts_seen=False) is not None


def seminar_records(*, session: Session, years: list[int], now: datetime) -> list[SeminarRecord]:
    """The seminars opened for ``years``, by year and number."""
    seminars = list(
        session.scalars(
            select(Seminar)
            .where(Seminar.year.in_(years))
            .options(selectinload(Seminar.agreements))
            .order_by(Seminar.year, Seminar.number)
        )
    )
    topic_ids = [s.agreed_proposal_id for s in seminars if s.agreed_proposal_id is not None]
    topics = (
        {p.id: p for p in session.scalars(select(Proposal).where(Proposal.id.in_(topic_ids)))}
        if topic_ids
        else {}
    )
    event_ids = [s.event_id for s in seminars if s.event_id is not None]
    events = (
        {
            listed.event.id: listed
            for listed in with_occupancy(
                session, list(session.scalars(select(Event).where(Event.id.in_(event_ids))))
            )
        }
        if event_ids
        else {}
    )
    return [
        SeminarRecord(
            seminar=seminar,
            phase=phase_of(seminar, now),
            agreed_topic=topics.get(seminar.agreed_proposal_id or 0),
            event=events.get(seminar.event_id or 0),
        )
        for seminar in seminars
    ]


@dataclass(frozen=True)
class ProposalLine:
    proposal: Proposal
    actions: list[int]
    priority_areas: list[int]
    by_affiliation: dict[Affiliation, int]  # standing supports

    @property
    def supports(self) -> int:
        return sum(self.by_affiliation.values())


@dataclass(frozen=True)
class SeminarHistory:
    record: SeminarRecord
    proposals: list[ProposalLine]  # most supported first; ties go to the earlier submission


def _linked(
    session: Session, table: Table, column: str, seminar_ids: list[int]
) -> dict[int, list[int]]:
    """The numbers a link table gives each proposal of the seminars, in one query."""
    found: dict[int, list[int]] = defaultdict(list)
    rows = session.execute(
        select(table.c.proposal_id, table.c[column])
        .join(Proposal, Proposal.id == table.c.proposal_id)
        .where(Proposal.seminar_id.in_(seminar_ids))
        .order_by(table.c.proposal_id, table.c[column])
    )
    for proposal_id, number in rows:
        found[proposal_id].append(number)
    return found


def seminar_history(*, session: Session, years: list[int], now: datetime) -> list[SeminarHistory]:
    records = seminar_records(session=session, years=years, now=now)
    seminar_ids = [record.seminar.id for record in records]
    if not seminar_ids:
        return []
    proposals = list(
        session.scalars(
            select(Proposal)
            .where(Proposal.seminar_id.in_(seminar_ids))
            .options(joinedload(Proposal.proposer))
        )
    )
    actions = _linked(session, proposal_actions, "action_number", seminar_ids)
    areas = _linked(session, proposal_priority_areas, "priority_area_number", seminar_ids)
    split: dict[int, dict[Affiliation, int]] = defaultdict(lambda: dict.fromkeys(Affiliation, 0))
    rows = session.execute(
        select(Support.proposal_id, Support.affiliation, func.count())
        .join(Proposal, Proposal.id == Support.proposal_id)
        .where(Proposal.seminar_id.in_(seminar_ids), STANDING)
        .group_by(Support.proposal_id, Support.affiliation)
    )
    for proposal_id, affiliation, count in rows:
        split[proposal_id][affiliation] = count
    lines: dict[int, list[ProposalLine]] = defaultdict(list)
    for proposal in proposals:
        lines[proposal.seminar_id].append(
            ProposalLine(
                proposal=proposal,
                actions=actions.get(proposal.id, []),
                priority_areas=areas.get(proposal.id, []),
                by_affiliation=split[proposal.id],
            )
        )
    for found in lines.values():
        found.sort(key=lambda line: (-line.supports, line.proposal.submitted_at, line.proposal.id))
    return [
        SeminarHistory(record=record, proposals=lines.get(record.seminar.id, []))
        for record in records
    ]
