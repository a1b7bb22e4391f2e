"""Events, their agendas, and registrations."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    ColumnElement,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    case,
    or_,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.common.zones import zone
from app.models.base import Base, new_uid, text_enum, utcnow
from app.models.catalogue import Action, PriorityArea
from app.models.users import User


class EventKind(StrEnum):
    joint_seminar = "joint_seminar"
    peer_to_peer = "peer_to_peer"
    other = "other"


class EventStatus(StrEnum):
    draft = "draft"
    submitted = "submitted"
    published = "published"
    cancelled = "cancelled"


class RegistrationStatus(StrEnum):
    registered = "registered"
    waitlisted = "waitlisted"
    cancelled = "cancelled"


event_actions = Table(
    "event_actions",
    Base.metadata,
    Column("event_id", ForeignKey("events.id"), primary_key=True),
    Column("action_number", ForeignKey("actions.number"), primary_key=True, index=True),
)

event_priority_areas = Table(
    "event_priority_areas",
    Base.metadata,
    Column("event_id", ForeignKey("events.id"), primary_key=True),
    Column(
        "priority_area_number", ForeignKey("priority_areas.number"), primary_key=True, index=True
    ),
)


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (
        CheckConstraint("kind IN ('joint_seminar', 'peer_to_peer', 'other')", name="kind"),
        CheckConstraint(
            "status IN ('draft', 'submitted', 'published', 'cancelled')", name="status"
        ),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("capacity IS NULL OR capacity > 0", name="capacity_positive"),
        CheckConstraint("venue_name IS NOT NULL OR online_url IS NOT NULL", name="venue_or_online"),
        CheckConstraint("sequence >= 0", name="sequence_not_negative"),
        Index("ix_events_status_starts_at", "status", "starts_at"),
        Index("ix_events_local_start_year_status", "local_start_year", "status"),
        # The feeds' cut-off: the latest cancelled event that has ended.
        Index("ix_events_status_ends_at", "status", "ends_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The event's identity in every calendar: random, set once, never changed, so that
    # calendar apps update the event they know instead of adding a duplicate.
    uid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uid)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[EventKind] = mapped_column(text_enum(EventKind))
    status: Mapped[EventStatus] = mapped_column(text_enum(EventStatus))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    timezone: Mapped[str] = mapped_column(String(64))
    # The year in which the event starts on its own zone's calendar: the year it belongs
    # to in reports. Kept beside the instant because SQLite has no time-zone functions,
    # so neither engine could group by it in SQL otherwise; set only through `set_times`.
    local_start_year: Mapped[int]
    venue_name: Mapped[str | None] = mapped_column(String(200))
    venue_address: Mapped[str | None] = mapped_column(String(300))
    venue_city: Mapped[str | None] = mapped_column(String(100))
    venue_country: Mapped[str | None] = mapped_column(String(2), index=True)
    online_url: Mapped[str | None] = mapped_column(String(2000))
    capacity: Mapped[int | None]
    host_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    sequence: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    agenda_confirmed_at: Mapped[datetime | None]
    agenda_confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    host: Mapped[User | None] = relationship(foreign_keys=[host_id])
    agenda_confirmed_by: Mapped[User | None] = relationship(foreign_keys=[agenda_confirmed_by_id])
    actions: Mapped[list[Action]] = relationship(secondary=event_actions, order_by=Action.number)
    priority_areas: Mapped[list[PriorityArea]] = relationship(
        secondary=event_priority_areas, order_by=PriorityArea.number
    )
    agenda: Mapped[list["AgendaItem"]] = relationship(
        back_populates="event", order_by="(AgendaItem.starts_at, AgendaItem.position)"
    )

    @hybrid_property
    def public(self) -> bool:
        """Whether anyone may see the event: published, or cancelled after it was. A draft,
        or an event cancelled before it was ever published, never was in the programme."""
        return self.status == EventStatus.published or (
            self.status == EventStatus.cancelled and self.published_at is not None
        )

    @public.inplace.expression
    @classmethod
    def _public_expression(cls) -> ColumnElement[bool]:
        return or_(
            cls.status == EventStatus.published,
            and_(cls.status == EventStatus.cancelled, cls.published_at.is_not(None)),
        )

    def set_times(self, starts_at: datetime, ends_at: datetime, timezone: str) -> None:
        """Place the event in time: its instants, its zone, and the local year they give."""
        self.starts_at, self.ends_at, self.timezone = starts_at, ends_at, timezone
        self.local_start_year = starts_at.astimezone(zone(timezone)).year

    def record_change(self, now: datetime) -> None:
        """Mark a change: a published event gets a new version (``sequence``), as calendar
        clients expect of every change they have seen the event before."""
        if self.published_at is not None:
            self.sequence += 1
        self.updated_at = now

    @classmethod
    def change_recorded(cls, now: datetime) -> dict[Any, Any]:
        """``record_change`` as the values of one UPDATE, for many events at once."""
        return {
            cls.sequence: cls.sequence + case((cls.published_at.is_not(None), 1), else_=0),
            cls.updated_at: now,
        }


class AgendaItem(Base):
    __tablename__ = "agenda_items"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        UniqueConstraint("event_id", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"))
    position: Mapped[int]
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    speakers: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)

    event: Mapped[Event] = relationship(back_populates="agenda")


class Registration(Base):
    __tablename__ = "registrations"
    __table_args__ = (
        # One registration per person and event; registering again after cancelling
        # reuses the row, so the rule holds in the database without exceptions.
        UniqueConstraint("event_id", "user_id"),
        CheckConstraint("status IN ('registered', 'waitlisted', 'cancelled')", name="status"),
        # The order in which people asked for a place: numbered while the event's row is
        # locked, so it is the order in which the requests were served, never a clock's.
        UniqueConstraint("event_id", "queue_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[RegistrationStatus] = mapped_column(text_enum(RegistrationStatus))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When the place was last asked for: the first registration, or the one after a
    # cancellation (the row is reused, so created_at keeps the first).
    registered_at: Mapped[datetime] = mapped_column(default=utcnow)
    queue_number: Mapped[int]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    cancelled_at: Mapped[datetime | None]

    event: Mapped[Event] = relationship()
    user: Mapped[User] = relationship()
