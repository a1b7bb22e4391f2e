"""When a seminar's tally is public: to the secretariat at any time, to everyone else
once voting has closed (or a topic was agreed before it did). Here alone, in Python and
in SQL, for the tally itself and for what would add up to it (the audit trail's
supports)."""

from datetime import datetime

from sqlalchemy import ColumnElement, and_

from app.models import Role, Seminar, User


def tally_visible(seminar: Seminar, viewer: User | None, now: datetime) -> bool:
    if viewer is not None and viewer.role == Role.secretariat:
        return True
    return now >= seminar.voting_close_at or seminar.agreed_at is not None


def tally_hidden(now: datetime) -> ColumnElement[bool]:
    """The seminars whose tally only the secretariat may read yet, as a condition."""
    return and_(Seminar.voting_close_at > now, Seminar.agreed_at.is_(None))
