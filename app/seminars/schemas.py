"""Bodies for joint seminars, topic proposals, supports, the tally and the joint agreement."""

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, Field

from app.common.schemas import Id, Patch, Strict, Summary, Title, WrittenOut, plausible
from app.events.schemas import ActionNumbers, EventTiming, PriorityAreaNumbers
from app.models import EventStatus, ProposalStatus, SeminarPhase

UtcInstant = Annotated[
    AwareDatetime,
    WrittenOut,
    AfterValidator(plausible),
    AfterValidator(lambda moment: moment.astimezone(UTC)),
    Field(description="ISO 8601 with an offset, e.g. 2027-01-11T09:00:00+01:00; kept in UTC"),
]


def _not_blank(value: str) -> str:
    if not value:
        raise ValueError("must not be empty: say what the topic is about")
    return value


ProposalSummary = Annotated[Summary, AfterValidator(_not_blank)]


class SeminarCreate(Strict):
    year: int = Field(description="a year of the plan's term")
    number: Literal[1, 2] = Field(description="the first or the second seminar of the year")
    proposals_open_at: UtcInstant
    proposals_close_at: UtcInstant
    voting_close_at: UtcInstant


class SeminarUpdate(Patch):
    not_emptied = ("year", "number", "proposals_open_at", "proposals_close_at", "voting_close_at")

    year: int | None = None
    number: Literal[1, 2] | None = None
    proposals_open_at: UtcInstant | None = None
    proposals_close_at: UtcInstant | None = None
    voting_close_at: UtcInstant | None = None


class AgreementRead(BaseModel):
    dg_rtd: int | None = Field(description="the proposal DG RTD agrees to, if it has chosen")
    cor_sedec: int | None = Field(description="the proposal CoR SEDEC agrees to, if it has chosen")
    agreed_proposal_id: int | None = Field(description="set once both chose the same proposal")


class SeminarRead(BaseModel):
    id: int
    year: int
    number: int
    proposals_open_at: datetime
    proposals_close_at: datetime
    voting_close_at: datetime
    phase: SeminarPhase
    agreement: AgreementRead
    agreed_at: datetime | None
    event_id: int | None
    created_at: datetime
    updated_at: datetime


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
    title: str
    summary: str
    actions: list[int]
    priority_areas: list[int]
    proposer: ProposerRead
    status: ProposalStatus
    submitted_at: datetime
    updated_at: datetime
    withdrawn_at: datetime | None
    supports: int | None = Field(
        description="empty until the tally is visible to you: to the secretariat at any "
        "time, to everyone once voting closes"
    )
    supported_by_me: bool | None = Field(description="empty when not logged in")


class SupportRead(BaseModel):
    proposal_id: int
    seminar_id: int
    affiliation: str = Field(description="cor for members, or the secretariat's institution")
    created_at: datetime
    supports_given: int = Field(description="your supports in this seminar, this one included")
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
    submitted_at: datetime
    supports: int
    by_institution: InstitutionSplit


class TallyRead(BaseModel):
    seminar_id: int
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
