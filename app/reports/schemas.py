"""Bodies of the monitoring reports."""

from enum import StrEnum

from pydantic import BaseModel, Field

from app.common.schemas import Instant, LocalTime
from app.models import (
    ActionStatus,
    Affiliation,
    EventKind,
    EventStatus,
    Institution,
    ProposalStatus,
    SeminarPhase,
)


class ReportFormat(StrEnum):
    json = "json"
    csv = "csv"
    svg = "svg"


class TableFormat(StrEnum):
    json = "json"
    csv = "csv"


# -- coverage --------------------------------------------------------------------------


class EventCounts(BaseModel):
    held: int = Field(description="published events that have begun")
    upcoming: int = Field(description="published events that have not begun")
    cancelled: int = Field(description="cancelled events; they serve nothing")


class KindCounts(BaseModel):
    """The events held and upcoming, by kind."""

    joint_seminar: int
    peer_to_peer: int
    other: int


class RegistrationCounts(BaseModel):
    """Places held and people waiting, on the events held and upcoming."""

    registered: int
    waitlisted: int


class RegionRead(BaseModel):
    member_state: str = Field(description="ISO 3166 alpha-2")
    region: str


class HostsRead(BaseModel):
    """Where the hosting CoR members come from (joint seminars have no host)."""

    member_states: list[str]
    regions: list[RegionRead]


class FiguresRead(BaseModel):
    events: EventCounts
    kinds: KindCounts
    registrations: RegistrationCounts
    hosts: HostsRead
    countries: list[str] = Field(description="the venues' countries (ISO 3166 alpha-2)")


class ActionCoverage(BaseModel):
    number: int
    title: str
    status: ActionStatus = Field(description="retired actions are counted and marked")
    priority_areas: list[int]
    figures: FiguresRead


class PriorityAreaCoverage(BaseModel):
    number: int
    title: str
    figures: FiguresRead


class ActionGap(BaseModel):
    number: int
    title: str
    status: ActionStatus


class PriorityAreaGap(BaseModel):
    number: int
    title: str


class Gaps(BaseModel):
    """What no event held or upcoming served."""

    actions: list[ActionGap]
    priority_areas: list[PriorityAreaGap]


class AgreedTopic(BaseModel):
    proposal_id: int
    title: str


class SeminarEvent(BaseModel):
    id: int
    status: EventStatus
    starts_at: Instant = Field(description="UTC")
    timezone: str
    local_starts_at: LocalTime
    registered: int
    waitlisted: int


class SeminarSlot(BaseModel):
    id: int
    number: int
    phase: SeminarPhase
    agreed_topic: AgreedTopic | None
    event: SeminarEvent | None


class SeminarTarget(BaseModel):
    target: int = Field(description="two joint seminars a year")
    held_or_upcoming: int = Field(
        description="the seminars whose agreed topic is held or upcoming (its event "
        "published); a joint_seminar event of no seminar does not count"
    )
    short_by: int = Field(description="how many are missing to reach the target")


class YearSeminars(SeminarTarget):
    seminars: list[SeminarSlot] = Field(description="the seminars opened for the year")
    not_opened: list[int] = Field(description="seminar numbers (1, 2) not opened for the year")


class YearCoverage(BaseModel):
    year: int
    all_events: FiguresRead = Field(description="every event of the year, each counted once")
    actions: list[ActionCoverage]
    priority_areas: list[PriorityAreaCoverage]
    gaps: Gaps
    joint_seminars: YearSeminars


class TermCoverage(BaseModel):
    first_year: int
    last_year: int
    all_events: FiguresRead
    actions: list[ActionCoverage]
    priority_areas: list[PriorityAreaCoverage]
    gaps: Gaps = Field(description="what no event of any year served")
    joint_seminars: SeminarTarget


class Term(BaseModel):
    first_year: int
    last_year: int


class CoverageRead(BaseModel):
    term: Term
    as_of: Instant = Field(description="held and upcoming are counted as of this instant")
    years: list[YearCoverage] = Field(description="the year asked for, or each year of the term")
    total: TermCoverage | None = Field(description="the whole term, when no year is asked for")


# -- the stocktaking export ------------------------------------------------------------


class HostRead(BaseModel):
    id: int
    name: str
    member_state: str | None
    region: str | None


class ExportedEventRead(BaseModel):
    id: int
    title: str
    kind: EventKind
    status: EventStatus
    year: int = Field(description="the year the event starts in, in its own zone")
    starts_at: Instant = Field(description="UTC")
    ends_at: Instant = Field(description="UTC")
    timezone: str
    local_starts_at: LocalTime
    local_ends_at: LocalTime
    host: HostRead | None
    city: str | None
    country: str | None = Field(description="the venue's country (ISO 3166 alpha-2)")
    online: bool
    actions: list[int]
    priority_areas: list[int]
    capacity: int | None
    registered: int
    waitlisted: int
    agenda_confirmed: bool
    agenda_confirmed_at: Instant | None
    published_at: Instant | None
    cancelled_at: Instant | None


class EventExportRead(BaseModel):
    from_: Instant | None = Field(serialization_alias="from", description="events ending after")
    to: Instant | None = Field(description="events starting before")
    total: int
    items: list[ExportedEventRead]


# -- the seminars' history -------------------------------------------------------------


class ProposedBy(BaseModel):
    """Who proposed a topic, without naming them."""

    affiliation: Affiliation | None
    member_state: str | None


class SupportSplit(BaseModel):
    cor: int = Field(description="supports from CoR members")
    dg_rtd: int
    cor_sedec: int
    jrc: int


class ProposalHistory(BaseModel):
    id: int
    title: str
    status: ProposalStatus
    submitted_at: Instant
    withdrawn_at: Instant | None
    actions: list[int]
    priority_areas: list[int]
    proposed_by: ProposedBy
    supports: int
    by_institution: SupportSplit


class ChoiceRead(BaseModel):
    institution: Institution
    proposal_id: int | None = Field(description="empty if not chosen, or withdrawn")
    recorded_at: Instant | None = Field(description="when chosen, or withdrawn")


class SeminarHistoryRead(BaseModel):
    id: int
    year: int
    number: int
    phase: SeminarPhase
    proposals_open_at: Instant
    proposals_close_at: Instant
    voting_close_at: Instant
    proposals: list[ProposalHistory] = Field(
        description="most supported first; ties go to the earlier submission"
    )
    choices: list[ChoiceRead]
    agreed_at: Instant | None
    agreed_topic: AgreedTopic | None
    event: SeminarEvent | None


class SeminarsReportRead(BaseModel):
    as_of: Instant
    items: list[SeminarHistoryRead]
