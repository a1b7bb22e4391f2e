"""The plan's catalogue: priority areas, actions, and each action's history of changes."""

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, ForeignKey, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, text_enum, utcnow


class ActionStatus(StrEnum):
    active = "active"
    retired = "retired"


class ActionChangeKind(StrEnum):
    added = "added"
    amended = "amended"
    retired = "retired"
    restored = "restored"


class PriorityArea(Base):
    __tablename__ = "priority_areas"

    number: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text)


action_priority_areas = Table(
    "action_priority_areas",
    Base.metadata,
    Column("action_number", ForeignKey("actions.number"), primary_key=True),
    Column("priority_area_number", ForeignKey("priority_areas.number"), primary_key=True),
)


class Action(Base):
    __tablename__ = "actions"
    __table_args__ = (CheckConstraint("status IN ('active', 'retired')", name="status"),)

    number: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text)
    status: Mapped[ActionStatus] = mapped_column(
        text_enum(ActionStatus, length=10), default=ActionStatus.active
    )
    focus_priority_area: Mapped[int | None] = mapped_column(ForeignKey("priority_areas.number"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    priority_areas: Mapped[list[PriorityArea]] = relationship(
        secondary=action_priority_areas, order_by=PriorityArea.number
    )
    history: Mapped[list["ActionChange"]] = relationship(
        back_populates="action", order_by="ActionChange.id"
    )

    @property
    def priority_area_numbers(self) -> list[int]:
        return [area.number for area in self.priority_areas]


class ActionChange(Base):
    """One change to an action, with the registered communication that agreed it."""

    __tablename__ = "action_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    action_number: Mapped[int] = mapped_column(ForeignKey("actions.number"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    change: Mapped[ActionChangeKind] = mapped_column(text_enum(ActionChangeKind))
    communication_reference: Mapped[str] = mapped_column(String(200))
    communication_date: Mapped[date]
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any]] = mapped_column(JSON)

    action: Mapped[Action] = relationship(back_populates="history")
