"""Response bodies for seminars, proposals, supports and the tally, made from rows."""

from datetime import datetime

from app.events.times import local
from app.models import Affiliation, Institution, Proposal, Seminar
from app.seminars.calendar import phase_of
from app.seminars.schemas import (
    AgreementRead,
    InstitutionSplit,
    ProposalRead,
    ProposerRead,
    SeminarRead,
    SupportRead,
    TallyEntry,
    TallyRead,
)
from app.seminars.supports import SupportState
from app.seminars.tally import ProposalFigures, Tally


def seminar_read(seminar: Seminar, now: datetime, *, drafts_seen: bool = True) -> SeminarRead:
    """The seminar as a caller sees it: its event in draft only to the secretariat."""
    return SeminarRead(
        id=seminar.id,
        label=seminar.label,
        year=seminar.year,
        number=seminar.number,
        proposals_open_at=seminar.proposals_open_at,
        proposals_close_at=seminar.proposals_close_at,
        voting_close_at=seminar.voting_close_at,
        timezone=seminar.timezone,
        local_proposals_open_at=local(seminar.proposals_open_at, seminar.timezone),
        local_proposals_close_at=local(seminar.proposals_close_at, seminar.timezone),
        local_voting_close_at=local(seminar.voting_close_at, seminar.timezone),
        phase=phase_of(seminar, now, drafts_seen=drafts_seen),
        agreement=AgreementRead(
            dg_rtd=seminar.choice_of(Institution.dg_rtd),
            cor_sedec=seminar.choice_of(Institution.cor_sedec),
            agreed_proposal_id=seminar.agreed_proposal_id,
        ),
        agreed_at=seminar.agreed_at,
        event_id=seminar.event_seen(drafts_seen=drafts_seen),
        created_at=seminar.created_at,
        updated_at=seminar.updated_at,
    )


def proposal_read(proposal: Proposal, figures: ProposalFigures) -> ProposalRead:
    mine = figures.supported_by_viewer
    return ProposalRead(
        id=proposal.id,
        seminar_id=proposal.seminar_id,
        seminar_label=proposal.seminar.label,
        title=proposal.title,
        summary=proposal.summary,
        actions=proposal.action_numbers,
        priority_areas=proposal.priority_area_numbers,
        proposer=ProposerRead(
            id=proposal.proposer.id,
            name=proposal.proposer.name,
            institution=proposal.proposer.institution,
            member_state=proposal.proposer.member_state,
        ),
        status=proposal.status,
        submitted_at=proposal.submitted_at,
        updated_at=proposal.updated_at,
        withdrawn_at=proposal.withdrawn_at,
        supports=figures.supports_of(proposal.id),
        supported_by_me=(proposal.id in mine) if mine is not None else None,
    )


def support_read(state: SupportState) -> SupportRead:
    support = state.support
    return SupportRead(
        proposal_id=state.proposal_id,
        seminar_id=state.seminar_id,
        supported=state.supported,
        affiliation=state.affiliation,
        given_at=support.created_at if support is not None else None,
        withdrawn_at=support.withdrawn_at if support is not None else None,
        supports_given=state.given,
        support_cap=state.cap,
    )


def tally_read(tally: Tally) -> TallyRead:
    return TallyRead(
        seminar_id=tally.seminar.id,
        seminar_label=tally.seminar.label,
        phase=tally.phase,
        final=tally.final,
        voters=tally.voters,
        proposals=[
            TallyEntry(
                proposal_id=line.proposal_id,
                title=line.title,
                status=line.status,
                submitted_at=line.submitted_at,
                supports=line.supports,
                by_institution=InstitutionSplit(
                    cor=line.by_affiliation[Affiliation.cor],
                    dg_rtd=line.by_affiliation[Affiliation.dg_rtd],
                    cor_sedec=line.by_affiliation[Affiliation.cor_sedec],
                    jrc=line.by_affiliation[Affiliation.jrc],
                ),
            )
            for line in tally.lines
        ],
    )
