"""Pages of rows: how services answer a list that can grow."""

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Integer, Select, any_, bindparam, func, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


@dataclass(frozen=True, slots=True)
class PageRequest:
    """Which slice of a list to answer: at most ``limit`` rows after skipping ``offset``."""

    limit: int = DEFAULT_LIMIT
    offset: int = 0


@dataclass(frozen=True, slots=True)
class Paged(Generic[T]):
    """One page of rows, with how many rows the whole list holds."""

    rows: list[T]
    total: int


def fetch_page(session: Session, query: Select[Any], page: PageRequest) -> Paged[Any]:
    """The page of ``query``'s rows (which must be ordered) and the total it selects."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = list(session.scalars(query.limit(page.limit).offset(page.offset)))
    return Paged(rows=rows, total=total or 0)


def slice_page(rows: list[T], page: PageRequest) -> Paged[T]:
    """A page of a list already in memory (short lists such as the catalogue's)."""
    return Paged(rows=rows[page.offset : page.offset + page.limit], total=len(rows))


def among(dialect: str, column: Any, ids: list[int] | None = None) -> Any:
    """``column IN ids``: on PostgreSQL as ``= ANY(array)``, one parameter, so that the
    statement's text is the same for any number of ids (the driver parses and prepares
    it once, much faster than thousands of bound values); SQLite has no arrays and takes
    the list. Without ``ids``, the list is the parameter ``ids`` of a statement built
    once and given its ids as it runs."""
    name = "ids" if ids is None else None
    if dialect == "postgresql":
        return column == any_(bindparam(name, ids, type_=postgresql.ARRAY(Integer)))
    return column.in_(bindparam(name, ids, expanding=True))
