"""Outgoing mail: the outbox, each person's choice of optional mails, the time-based
notices already fired, and the key that signs unsubscribe links."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, text_enum, utcnow
from app.models.users import User


class MessageStatus(StrEnum):
    pending = "pending"
    sent = "sent"
    failed = "failed"
    # Not sent: by its next attempt, what it said no longer held (a reminder of an event
    # cancelled or moved since, a call for topics that has closed), or its recipient had
    # turned its kind off.
    withdrawn = "withdrawn"


class OutboxMessage(Base):
    """One message to one recipient, written in the transaction of the change it tells of.

    A sender claims a message for a while (``claimed_by``, ``claimed_until``), delivers it
    and marks it ``sent``; a failed attempt puts it back with a later ``next_attempt_at``,
    until ``failed``; a notice that no longer holds by its next attempt is ``withdrawn``.
    The ``idempotency_key`` names what the message is about, so the same news is never
    queued twice for one person.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'sent', 'failed', 'withdrawn')", name="status"),
        CheckConstraint(
            "calendar_method IS NULL OR calendar_method IN ('REQUEST', 'CANCEL')",
            name="calendar_method",
        ),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        # What a sender looks for: pending messages that are due.
        Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),
        # The last invitation sent to a person for an event, for its SEQUENCE.
        Index("ix_outbox_calendar_uid_recipient", "calendar_uid", "recipient"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    recipient: Mapped[str] = mapped_column(String(320))
    recipient_name: Mapped[str] = mapped_column(String(200), default="")
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    # Whether the message carries a one-click unsubscribe link for its kind.
    optional: Mapped[bool] = mapped_column(Boolean, default=False)
    # A link's secret (an invitation, a token recovery), kept only until delivery: the
    # body names where it goes, and the sender puts it in at the last moment.
    secret: Mapped[str | None] = mapped_column(String(200))
    calendar: Mapped[str | None] = mapped_column(Text)
    calendar_method: Mapped[str | None] = mapped_column(String(10))
    calendar_uid: Mapped[str | None] = mapped_column(String(36))
    calendar_sequence: Mapped[int | None]
    message_id: Mapped[str] = mapped_column(String(200))
    status: Mapped[MessageStatus] = mapped_column(
        text_enum(MessageStatus), default=MessageStatus.pending
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(36))
    claimed_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]

    user: Mapped[User | None] = relationship()


class NotificationSetting(Base):
    """A person's choice for one kind of optional mail; without a row, the kind is on."""

    __tablename__ = "notification_settings"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Notice(Base):
    """A time-based notice that has fired (a call for topics opening, an event tomorrow).

    Its key names the moment it announces; the primary key lets it fire once, whichever
    sender and however many restarts.
    """

    __tablename__ = "notices"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    fired_at: Mapped[datetime] = mapped_column(default=utcnow)


class MailKey(Base):
    """A secret the service signs links in its mails with (one-click unsubscribe), made
    at random when the table is created and the same for every process."""

    __tablename__ = "mail_keys"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    secret: Mapped[str] = mapped_column(String(128))
