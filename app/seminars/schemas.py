"""Bodies for joint seminars, topic proposals, supports, the tally and the joint agreement."""

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field

from app.common.schemas import (
    Id,
    Instant,
    LocalTime,
    Patch,
    Strict,
    Summary,
    Title,
    WallClockOrInstant,
    Whole,
)
from app.events.schemas import ActionNumbers, EventTiming, PriorityAreaNumbers, TimeZoneName
from app.models import SEMINAR_ZONE, EventStatus, ProposalStatus, SeminarPhase

SeminarDate = Annotated[
    WallClockOrInstant,
    Field(
        description="ISO 8601 with an offset (2027-01-11T09:00:00+01:00), or a wall-clock "
        "time read in the seminar's `timezone` (2027-01-11T09:00)"
    ),
]


def _not_blank(value: str) -> str:
    if not value:
        raise ValueError("must not be empty: say what the topic is about")
    return value


ProposalSummary = Annotated[Summary, AfterValidator(_not_blank)]

# The first or the second of the year; a JSON number, never true or "1".
SeminarNumber = Annotated[Whole, Field(ge=1, le=2)]


class SeminarCreate(Strict):
    year: Whole = Field(description="a year of the plan's term")
    number: SeminarNumber = Field(description="the first or the second seminar of the year")
    proposals_open_at: SeminarDate
    proposals_close_at: SeminarDate
    voting_close_at: SeminarDate
    timezone: TimeZoneName = Field(
        default=SEMINAR_ZONE, description="the IANA zone the dates are set in"
    )


class SeminarUpdate(Patch):
    not_emptied = (
        "year",
        "number",
        "proposals_open_at",
        "proposals_close_at",
        "voting_close_at",
        "timezone",
    )

    year: Whole | None = None
    number: SeminarNumber | None = None
    proposals_open_at: SeminarDate | None = None
    proposals_close_at: SeminarDate | None = None
    voting_close_at: SeminarDate | None = None
    timezone: TimeZoneName | None = Field(
        default=None,
        description="a new zone alone keeps the instants; wall-clock dates given with it are "
        "read in it",
    )


class AgreementRead(BaseModel):
    dg_rtd: int | None = Field(description="the proposal DG RTD agrees to, if it has chosen")
    cor_sedec: int | None = Field(description="the proposal CoR SEDEC agrees to, if it has chosen")
    agreed_proposal_id: int | None = Field(description="set once both chose the same proposal")


class SeminarRead(BaseModel):
    id: int
    label: str = Field(examples=["Seminar 1 of 2027"])
    year: int
    number: int
    proposals_open_at: Instant
    proposals_close_at: Instant = Field(description="when proposals close and voting opens")
    voting_close_at: Instant
    timezone: str = Field(description="the zone the dates are set in")
    local_proposals_open_at: LocalTime
    local_proposals_close_at: LocalTime
    local_voting_close_at: LocalTime
    phase: SeminarPhase
    agreement: AgreementRead
    agreed_at: Instant | None
    event_id: int | None = Field(description="the joint_seminar event, once scheduled")
    created_at: Instant
    updated_at: Instant


class ProposalCreate(Strict):
    title: Title
    summary: ProposalSummary
    actions: ActionNumbers
    priority_areas: PriorityAreaNumbers | None = Field(
        default=None, description="default: every priority area the actions serve"
    )


class ProposalUpdate(Patch):
    not_emptied = ("title", "summary", "actions", "priority_areas")

    title: Title | None = None
    summary: ProposalSummary | None = None
    actions: ActionNumbers | None = None
    priority_areas: PriorityAreaNumbers | None = Field(
        default=None,
        description="left out while actions change: every priority area the new actions serve",
    )


class ProposerRead(BaseModel):
    id: int
    name: str
    institution: str | None = Field(description="for secretariat staff")
    member_state: str | None = Field(description="for CoR members")


class ProposalRead(BaseModel):
    id: int
    seminar_id: int
    seminar_label: str = Field(examples=["Seminar 1 of 2027"])
    title: str
    summary: str
    actions: list[int]
    priority_areas: list[int]
    proposer: ProposerRead
    status: ProposalStatus
    submitted_at: Instant
    updated_at: Instant
    withdrawn_at: Instant | None
    supports: int | None = Field(
        description="empty until the tally is visible to you: to the secretariat at any "
        "time, to everyone once voting closes"
    )
    supported_by_me: bool | None = Field(description="empty when not logged in")


class SupportRead(BaseModel):
    """Your support of one proposal: given (`supported`) or not."""

    proposal_id: int
    seminar_id: int
    supported: bool = Field(description="whether your support of this proposal stands")
    affiliation: str = Field(description="cor for members, or the secretariat's institution")
    given_at: Instant | None = Field(description="when you last gave it")
    withdrawn_at: Instant | None = Field(description="when you took it back, if you did")
    supports_given: int = Field(description="your standing supports in this seminar")
    support_cap: int = Field(description="the most supports one voter may give in a seminar")


class InstitutionSplit(BaseModel):
    cor: int = Field(description="supports from CoR members")
    dg_rtd: int
    cor_sedec: int
    jrc: int


class TallyEntry(BaseModel):
    proposal_id: int
    title: str
    status: ProposalStatus
    submitted_at: Instant
    supports: int
    by_institution: InstitutionSplit


class TallyRead(BaseModel):
    seminar_id: int
    seminar_label: str = Field(examples=["Seminar 1 of 2027"])
    phase: SeminarPhase
    final: bool = Field(description="true once voting has closed")
    voters: int = Field(description="people who support at least one proposal")
    proposals: list[TallyEntry] = Field(
        description="most supported first; ties go to the earlier submission"
    )


class AgreementChoice(Strict):
    proposal_id: Id = Field(description="a submitted proposal of this seminar")


class ScheduleSeminar(EventTiming):
    """When and where the agreed seminar takes place; its topic and links come from the
    agreed proposal."""

    status: Literal[EventStatus.draft, EventStatus.published] = EventStatus.published
