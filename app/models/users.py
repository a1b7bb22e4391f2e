"""Accounts and their API tokens."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, text_enum, utcnow


class Role(StrEnum):
    admin = "admin"
    secretariat = "secretariat"
    member = "member"
    participant = "participant"


class Institution(StrEnum):
    dg_rtd = "dg_rtd"
    cor_sedec = "cor_sedec"
    jrc = "jrc"


class Affiliation(StrEnum):
    """Who a voter speaks for: `cor` for a CoR member, or a secretariat's institution."""

    cor = "cor"
    dg_rtd = "dg_rtd"
    cor_sedec = "cor_sedec"
    jrc = "jrc"


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN ('admin', 'secretariat', 'member', 'participant')", name="role"),
        CheckConstraint(
            # IS NOT NULL first: `NULL IN (...)` is NULL, which a CHECK lets through.
            "(role = 'secretariat' AND institution IS NOT NULL"
            " AND institution IN ('dg_rtd', 'cor_sedec', 'jrc'))"
            " OR (role <> 'secretariat' AND institution IS NULL)",
            name="institution_iff_secretariat",
        ),
        CheckConstraint(
            "(role = 'member' AND member_state IS NOT NULL) OR (role <> 'member' "
            "AND member_state IS NULL AND region IS NULL)",
            name="member_state_iff_member",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320), unique=True)
    role: Mapped[Role] = mapped_column(text_enum(Role))
    institution: Mapped[Institution | None] = mapped_column(text_enum(Institution))
    member_state: Mapped[str | None] = mapped_column(String(2))
    region: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set by an admin: no token, link or mail of the account works until it is cleared.
    disabled_at: Mapped[datetime | None]

    tokens: Mapped[list["ApiToken"]] = relationship(back_populates="user")

    @property
    def affiliation(self) -> Affiliation | None:
        """Who the person speaks for: `cor` for a CoR member, or their institution;
        None for roles that speak for nobody (admins, participants)."""
        if self.role == Role.member:
            return Affiliation.cor
        return Affiliation(self.institution) if self.institution is not None else None


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(back_populates="tokens")


class Invitation(Base):
    """A one-time link through which an account's owner receives its first API token.

    Only the hash of the link's secret is kept. It works once (``opened_at``), until it
    expires, and stops working when a newer one is issued (``withdrawn_at``).
    """

    __tablename__ = "invitations"
    __table_args__ = (
        CheckConstraint("expires_at > created_at", name="expires_after_creation"),
        CheckConstraint("opened_at IS NULL OR token_id IS NOT NULL", name="opened_with_a_token"),
        CheckConstraint("purpose IN ('invitation', 'recovery')", name="purpose"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    # The admin who invited; empty when the owner asked for it, signing up.
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    opened_at: Mapped[datetime | None]
    withdrawn_at: Mapped[datetime | None]
    # The token its opening issued: one link, one token.
    token_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id"), unique=True)
    # Why it was made: an account's first token, or a new token for an owner who lost
    # theirs (``POST /token-recovery``, short-lived).
    purpose: Mapped[str] = mapped_column(
        String(20), default="invitation", server_default="invitation"
    )

    user: Mapped[User] = relationship(foreign_keys=[user_id])


class LinkRequest(Base):
    """How many sign-ups and token recoveries a client address asked for in an hour.

    Each mails a link to an address anyone may type in; the count, kept here for every
    worker to share, limits how many one machine makes the service send. Hours that
    are over are deleted as new ones are counted."""

    __tablename__ = "link_requests"
    __table_args__ = (CheckConstraint("count >= 1", name="counted"),)

    # An IPv4 address, an IPv6 /64 network, or "unknown".
    client: Mapped[str] = mapped_column(String(64), primary_key=True)
    # The start of the hour counted.
    hour: Mapped[datetime] = mapped_column(primary_key=True, index=True)
    count: Mapped[int]
