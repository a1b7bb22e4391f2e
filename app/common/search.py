"""Text search: the one way lists match the words a person types."""

from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, true


def words(text: str | None) -> list[str]:
    return (text or "").lower().split()


def matching(text: str | None, *columns: Any) -> ColumnElement[bool]:
    """Rows where every word of ``text`` appears in at least one of ``columns``, whatever
    the case (SQLite's ``lower`` is the service's own, so accents fold there too)."""
    terms = words(text)
    if not terms:
        return true()
    return and_(
        *(
            or_(*(func.lower(column).contains(term, autoescape=True) for column in columns))
            for term in terms
        )
    )
