"""JSON bodies of the reports, made from what the report queries return."""

from datetime import datetime

from app.events.queries import Listed
from app.events.times import local
from app.models import Affiliation, EventKind
from app.reports.coverage import SEMINARS_PER_YEAR, Coverage, Figures, Period
from app.reports.history import SeminarHistory, SeminarRecord
from app.reports.schemas import (
    ActionCoverage,
    ActionGap,
    AgreedTopic,
    ChoiceRead,
    CoverageRead,
    EventCounts,
    EventExportRead,
    ExportedEventRead,
    FiguresRead,
    Gaps,
    HostRead,
    HostsRead,
    KindCounts,
    PriorityAreaCoverage,
    PriorityAreaGap,
    ProposalHistory,
    ProposedBy,
    RegionRead,
    RegistrationCounts,
    SeminarEvent,
    SeminarHistoryRead,
    SeminarSlot,
    SeminarsReportRead,
    SeminarTarget,
    SupportSplit,
    Term,
    TermCoverage,
    YearCoverage,
    YearSeminars,
)
from app.reports.stocktaking import ExportedEvent


def figures_read(figures: Figures) -> FiguresRead:
    return FiguresRead(
        events=EventCounts(
            held=figures.held, upcoming=figures.upcoming, cancelled=figures.cancelled
        ),
        kinds=KindCounts(
            joint_seminar=figures.kinds[EventKind.joint_seminar],
            peer_to_peer=figures.kinds[EventKind.peer_to_peer],
            other=figures.kinds[EventKind.other],
        ),
        registrations=RegistrationCounts(
            registered=figures.registered, waitlisted=figures.waitlisted
        ),
        hosts=HostsRead(
            member_states=sorted(figures.member_states),
            regions=[
                RegionRead(member_state=state, region=region)
                for state, region in sorted(figures.regions)
            ],
        ),
        countries=sorted(figures.countries),
    )


def _actions(period: Period) -> list[ActionCoverage]:
    return [
        ActionCoverage(
            number=line.action.number,
            title=line.action.title,
            status=line.action.status,
            priority_areas=line.action.priority_area_numbers,
            figures=figures_read(line.figures),
        )
        for line in period.actions
    ]


def _areas(period: Period) -> list[PriorityAreaCoverage]:
    return [
        PriorityAreaCoverage(
            number=line.area.number, title=line.area.title, figures=figures_read(line.figures)
        )
        for line in period.priority_areas
    ]


def _gaps(period: Period) -> Gaps:
    return Gaps(
        actions=[
            ActionGap(number=action.number, title=action.title, status=action.status)
            for action in period.action_gaps
        ],
        priority_areas=[
            PriorityAreaGap(number=area.number, title=area.title) for area in period.area_gaps
        ],
    )


def seminar_event(listed: Listed | None) -> SeminarEvent | None:
    if listed is None:
        return None
    event = listed.event
    return SeminarEvent(
        id=event.id,
        status=event.status,
        starts_at=event.starts_at,
        timezone=event.timezone,
        local_starts_at=local(event.starts_at, event.timezone),
        registered=listed.occupancy.registered,
        waitlisted=listed.occupancy.waitlisted,
    )


def agreed_topic(record: SeminarRecord) -> AgreedTopic | None:
    topic = record.agreed_topic
    return AgreedTopic(proposal_id=topic.id, title=topic.title) if topic else None


def _seminar_slot(record: SeminarRecord) -> SeminarSlot:
    return SeminarSlot(
        id=record.seminar.id,
        number=record.seminar.number,
        phase=record.phase,
        agreed_topic=agreed_topic(record),
        event=seminar_event(record.event),
    )


def _target(period: Period) -> SeminarTarget:
    return SeminarTarget(
        target=period.seminar_target,
        held_or_upcoming=period.seminars_held_or_upcoming,
        short_by=period.seminars_short_by,
    )


def year_coverage(period: Period) -> YearCoverage:
    [year] = period.years
    opened = {record.seminar.number for record in period.seminars}
    return YearCoverage(
        year=year,
        all_events=figures_read(period.all_events),
        actions=_actions(period),
        priority_areas=_areas(period),
        gaps=_gaps(period),
        joint_seminars=YearSeminars(
            **_target(period).model_dump(),
            seminars=[_seminar_slot(record) for record in period.seminars],
            not_opened=[n for n in range(1, SEMINARS_PER_YEAR + 1) if n not in opened],
        ),
    )


def term_coverage(period: Period) -> TermCoverage:
    return TermCoverage(
        first_year=period.years[0],
        last_year=period.years[-1],
        all_events=figures_read(period.all_events),
        actions=_actions(period),
        priority_areas=_areas(period),
        gaps=_gaps(period),
        joint_seminars=_target(period),
    )


def coverage_read(coverage: Coverage, plan_years: range) -> CoverageRead:
    return CoverageRead(
        term=Term(first_year=plan_years[0], last_year=plan_years[-1]),
        as_of=coverage.as_of,
        years=[year_coverage(period) for period in coverage.years],
        total=term_coverage(coverage.total) if coverage.total else None,
    )


def exported_event_read(exported: ExportedEvent) -> ExportedEventRead:
    event, host = exported.event, exported.event.host
    return ExportedEventRead(
        id=event.id,
        title=event.title,
        kind=event.kind,
        status=event.status,
        year=event.local_start_year,
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        timezone=event.timezone,
        local_starts_at=local(event.starts_at, event.timezone),
        local_ends_at=local(event.ends_at, event.timezone),
        host=(
            HostRead(id=host.id, name=host.name, member_state=host.member_state, region=host.region)
            if host
            else None
        ),
        city=event.venue_city,
        country=event.venue_country,
        online=event.online_url is not None,
        actions=exported.actions,
        priority_areas=exported.priority_areas,
        capacity=event.capacity,
        registered=exported.occupancy.registered,
        waitlisted=exported.occupancy.waitlisted,
        agenda_confirmed=event.agenda_confirmed_at is not None,
        agenda_confirmed_at=event.agenda_confirmed_at,
        published_at=event.published_at,
        cancelled_at=event.cancelled_at,
    )


def event_export_read(
    exported: list[ExportedEvent], ends_after: datetime | None, starts_before: datetime | None
) -> EventExportRead:
    return EventExportRead(
        from_=ends_after,
        to=starts_before,
        total=len(exported),
        items=[exported_event_read(item) for item in exported],
    )


def seminar_history_read(history: SeminarHistory) -> SeminarHistoryRead:
    record = history.record
    seminar = record.seminar
    return SeminarHistoryRead(
        id=seminar.id,
        year=seminar.year,
        number=seminar.number,
        phase=record.phase,
        proposals_open_at=seminar.proposals_open_at,
        proposals_close_at=seminar.proposals_close_at,
        voting_close_at=seminar.voting_close_at,
        proposals=[
            ProposalHistory(
                id=line.proposal.id,
                title=line.proposal.title,
                status=line.proposal.status,
                submitted_at=line.proposal.submitted_at,
                withdrawn_at=line.proposal.withdrawn_at,
                actions=line.actions,
                priority_areas=line.priority_areas,
                proposed_by=ProposedBy(
                    affiliation=line.proposal.proposer.affiliation,
                    member_state=line.proposal.proposer.member_state,
                ),
                supports=line.supports,
                by_institution=SupportSplit(
                    cor=line.by_affiliation[Affiliation.cor],
                    dg_rtd=line.by_affiliation[Affiliation.dg_rtd],
                    cor_sedec=line.by_affiliation[Affiliation.cor_sedec],
                    jrc=line.by_affiliation[Affiliation.jrc],
                ),
            )
            for line in history.proposals
        ],
        choices=[
            ChoiceRead(
                institution=institution,
                proposal_id=choice.proposal_id if choice else None,
                recorded_at=choice.recorded_at if choice else None,
            )
            for institution, choice in record.choices
        ],
        agreed_at=seminar.agreed_at,
        agreed_topic=agreed_topic(record),
        event=seminar_event(record.event),
    )


def seminars_report_read(histories: list[SeminarHistory], now: datetime) -> SeminarsReportRead:
    return SeminarsReportRead(
        as_of=now, items=[seminar_history_read(history) for history in histories]
    )
