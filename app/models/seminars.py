"""Joint seminars: the call for topics, proposals, supports and the joint agreement."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
    select,
    text,
)
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from app.models.base import Base, new_uid, text_enum, utcnow
from app.models.catalogue import Action, PriorityArea
from app.models.events import Event, EventStatus
from app.models.users import Affiliation, Institution, User


class SeminarPhase(StrEnum):
    upcoming = "upcoming"
    proposals = "proposals"
    voting = "voting"
    agreement = "agreement"
    agreed = "agreed"
    scheduled = "scheduled"


class ProposalStatus(StrEnum):
    submitted = "submitted"
    withdrawn = "withdrawn"
    agreed = "agreed"
    not_selected = "not_selected"


# Where DG RTD and CoR SEDEC set a seminar's dates unless they name another zone.
SEMINAR_ZONE = "Europe/Brussels"

# The two institutions whose choices make the joint agreement.
AGREEING_INSTITUTIONS = (Institution.dg_rtd, Institution.cor_sedec)


class Seminar(Base):
    __tablename__ = "seminars"
    __table_args__ = (
        # At most two seminars a year, one of each number.
        UniqueConstraint("year", "number"),
        CheckConstraint("number IN (1, 2)", name="number"),
        CheckConstraint(
            "proposals_open_at < proposals_close_at AND proposals_close_at < voting_close_at",
            name="dates_in_order",
        ),
        CheckConstraint("sequence >= 0", name="sequence_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Calendars know the seminar's milestones by identities derived from this one.
    uid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uid)
    year: Mapped[int]
    number: Mapped[int]
    proposals_open_at: Mapped[datetime]
    proposals_close_at: Mapped[datetime]
    voting_close_at: Mapped[datetime]
    # The zone the dates were set in: wall-clock times are read in it, and answers give
    # the dates' local times in it too.
    timezone: Mapped[str] = mapped_column(String(64), server_default=SEMINAR_ZONE)
    agreed_at: Mapped[datetime | None]
    # The event the seminar was last scheduled as. A cancelled one stays linked (it keeps
    # its record) until the seminar is scheduled again, which links the new event.
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"), unique=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # Raised whenever the dates, year or number move, as calendar clients expect of
    # the milestones they have seen before.
    sequence: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    agreements: Mapped[list["SeminarAgreement"]] = relationship(
        back_populates="seminar", order_by="SeminarAgreement.institution"
    )
    # Read with the seminar, in the same statement: its linked event's status. Once that
    # event is cancelled the seminar is agreed again and waits for an event; while it is
    # a draft, only the secretariat sees it scheduled.
    event_status: Mapped[EventStatus | None] = column_property(
        select(Event.status).where(Event.id == event_id).scalar_subquery()
    )

    @property
    def event_cancelled(self) -> bool:
        return self.event_status == EventStatus.cancelled

    def event_seen(self, *, drafts_seen: bool) -> int | None:
        """The live event as a caller sees it: one not published yet only if they see
        drafts (the secretariat)."""
        if self.live_event_id is None:
            return None
        return (
            self.live_event_id
            if drafts_seen or self.event_status == EventStatus.published
            else None
        )

    @property
    def label(self) -> str:
        """How answers and messages name the seminar: "Seminar 1 of 2027"."""
        return f"Seminar {self.number} of {self.year}"

    @property
    def live_event_id(self) -> int | None:
        """The event that holds the seminar: its linked event unless that was cancelled."""
        return None if self.event_cancelled else self.event_id

    def choice_of(self, institution: Institution) -> int | None:
        for agreement in self.agreements:
            if agreement.institution == institution:
                return agreement.proposal_id
        return None

    @property
    def agreed_proposal_id(self) -> int | None:
        # Agreed means both institutions named the same proposal; their choices are
        # locked from then on, so either one says which.
        return self.choice_of(Institution.dg_rtd) if self.agreed_at is not None else None


proposal_actions = Table(
    "proposal_actions",
    Base.metadata,
    Column("proposal_id", ForeignKey("proposals.id"), primary_key=True),
    Column("action_number", ForeignKey("actions.number"), primary_key=True, index=True),
)

proposal_priority_areas = Table(
    "proposal_priority_areas",
    Base.metadata,
    Column("proposal_id", ForeignKey("proposals.id"), primary_key=True),
    Column(
        "priority_area_number", ForeignKey("priority_areas.number"), primary_key=True, index=True
    ),
)


def topic_key(title: str) -> str:
    """A title as proposals are compared: lower-cased, its white space collapsed."""
    return " ".join(title.lower().split())


class Proposal(Base):
    __tablename__ = "proposals"
    __table_args__ = (
        CheckConstraint(
            "status IN ('submitted', 'withdrawn', 'agreed', 'not_selected')", name="status"
        ),
        # One standing proposal of a topic per proposer and seminar: the same title again
        # is refused until the first is withdrawn, even when both are sent at once.
        Index(
            "uq_proposals_seminar_id_proposer_id_title_key",
            "seminar_id",
            "proposer_id",
            "title_key",
            unique=True,
            postgresql_where=text("status != 'withdrawn'"),
            sqlite_where=text("status != 'withdrawn'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    seminar_id: Mapped[int] = mapped_column(ForeignKey("seminars.id"), index=True)
    proposer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    # The title as ``topic_key`` compares it (lower case can be longer than the title).
    title_key: Mapped[str] = mapped_column(String(400))
    summary: Mapped[str] = mapped_column(Text)
    status: Mapped[ProposalStatus] = mapped_column(
        text_enum(ProposalStatus), default=ProposalStatus.submitted
    )
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    withdrawn_at: Mapped[datetime | None]

    seminar: Mapped[Seminar] = relationship()
    proposer: Mapped[User] = relationship()
    actions: Mapped[list[Action]] = relationship(secondary=proposal_actions, order_by=Action.number)
    priority_areas: Mapped[list[PriorityArea]] = relationship(
        secondary=proposal_priority_areas, order_by=PriorityArea.number
    )

    @property
    def action_numbers(self) -> list[int]:
        return [action.number for action in self.actions]

    @property
    def priority_area_numbers(self) -> list[int]:
        return [area.number for area in self.priority_areas]


class Support(Base):
    """One voter's support for one proposal, with whom the voter spoke for at the time."""

    __tablename__ = "supports"
    __table_args__ = (
        UniqueConstraint("proposal_id", "voter_id"),
        CheckConstraint("affiliation IN ('cor', 'dg_rtd', 'cor_sedec', 'jrc')", name="affiliation"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"))
    voter_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    affiliation: Mapped[Affiliation] = mapped_column(text_enum(Affiliation))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Taking a support back keeps the row; supporting again gives it back.
    withdrawn_at: Mapped[datetime | None]


class SeminarAgreement(Base):
    """One institution's choice of topic. Withdrawing it empties `proposal_id`."""

    __tablename__ = "seminar_agreements"
    __table_args__ = (
        UniqueConstraint("seminar_id", "institution"),
        CheckConstraint("institution IN ('dg_rtd', 'cor_sedec')", name="institution"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    seminar_id: Mapped[int] = mapped_column(ForeignKey("seminars.id"))
    institution: Mapped[Institution] = mapped_column(text_enum(Institution))
    proposal_id: Mapped[int | None] = mapped_column(ForeignKey("proposals.id"), index=True)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    seminar: Mapped[Seminar] = relationship(back_populates="agreements")
