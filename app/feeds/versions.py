"""The one small query that tells whether a feed changed.

A feed's version is read without rendering anything, in index lookups whatever the
number of events: the clocks of the scopes it draws on (every change to a public event
moves them, see ``FeedClock``), the catalogue's latest change, and the cut-off that
drops cancelled events once they have ended; for the seminars' deadlines, counts and
sums over the few seminars and their events. Every change that alters a feed moves one
of these, in every server process.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import String, and_, bindparam, case, func, not_, select, true
from sqlalchemy.orm import Session

from app.errors import Invalid, NotFound
from app.feeds.queries import (
    CalendarFilters,
    Rows,
    expired,
    personal_events,
    proposed_seminars,
    public,
    read_rows,
)
from app.models import (
    Action,
    Event,
    EventStatus,
    FeedClock,
    PriorityArea,
    Proposal,
    Registration,
    Seminar,
)
from app.models.base import UTCDateTime


@dataclass(frozen=True)
class FeedVersion:
    """What a feed's ETag is made from, and when it last changed (for Last-Modified)."""

    values: tuple[Any, ...]
    last_modified: datetime
    catalogue: datetime | None = field(default=None, compare=False)


NEVER = datetime(1970, 1, 1, tzinfo=UTC)


def _latest(*moments: datetime | None) -> datetime:
    known = [moment for moment in moments if moment is not None]
    return max(known) if known else NEVER


def catalogue_changed() -> Any:
    """When the catalogue last changed: every addition and amendment sets it."""
    return select(func.max(Action.updated_at)).scalar_subquery()


def cut_off(now: Any) -> Any:
    """When the latest cancelled event that has left the feeds ended: it moves each time
    another one leaves. One lookup in the index on (status, ends_at)."""
    return (
        select(func.max(Event.ends_at))
        .where(
            Event.status == EventStatus.cancelled,
            Event.ends_at <= now,
            Event.published_at.is_not(None),
        )
        .scalar_subquery()
    )


def _clock(scope: Any, column: Any) -> Any:
    return select(column).where(FeedClock.scope == scope).scalar_subquery()


@lru_cache(maxsize=64)
def _calendar_statement(scopes: int, actions: bool, areas: bool) -> Rows:
    """The version query for a number of scopes, built once: polls are the hot path,
    and building the statement costs more than running it."""
    names = [bindparam(f"scope_{index}", type_=String) for index in range(scopes)]
    columns = [
        cut_off(bindparam("now", type_=UTCDateTime())),
        catalogue_changed(),
        *(_clock(name, FeedClock.revision) for name in names),
        *(_clock(name, FeedClock.changed_at) for name in names),
    ]
    if actions:
        known = Action.number.in_(bindparam("actions", expanding=True))
        columns.append(select(func.count()).where(known).scalar_subquery())
    if areas:
        known = PriorityArea.number.in_(bindparam("areas", expanding=True))
        columns.append(select(func.count()).where(known).scalar_subquery())
    return select(*columns)


def calendar_version(session: Session, filters: CalendarFilters, now: datetime) -> FeedVersion:
    """The public calendar's version, in one query of a few index lookups: the clocks of
    its scopes, the cut-off and the catalogue's latest change; checking, in the same
    query, that the actions and priority areas it names exist."""
    scopes = filters.scopes()
    statement = _calendar_statement(
        len(scopes), bool(filters.actions), bool(filters.priority_areas)
    )
    values: dict[str, Any] = {f"scope_{index}": scope for index, scope in enumerate(scopes)}
    values.update(now=now, actions=list(filters.actions), areas=list(filters.priority_areas))
    row = read_rows(session).execute(statement, values).one()
    ended, catalogue = row[0], row[1]
    revisions = row[2 : 2 + len(scopes)]
    changes = row[2 + len(scopes) : 2 + 2 * len(scopes)]
    _check_known(session, filters, list(row[2 + 2 * len(scopes) :]))
    return FeedVersion(
        values=(tuple(revisions), ended, catalogue),
        last_modified=_latest(*changes, ended, catalogue),
        catalogue=catalogue,
    )


def _unknown_numbers(session: Session, column: Any, numbers: Sequence[int]) -> list[int]:
    known = set(session.scalars(select(column).where(column.in_(numbers))))
    return [number for number in numbers if number not in known]


def _check_known(session: Session, filters: CalendarFilters, known: list[int]) -> None:
    counts = iter(known)
    if filters.actions and next(counts) != len(filters.actions):
        unknown = _unknown_numbers(session, Action.number, filters.actions)
        raise Invalid(
            f"action: no action {', '.join(map(str, unknown))} in the catalogue; "
            "GET /actions lists them",
            loc=("query", "action"),
        )
    if filters.priority_areas and next(counts) != len(filters.priority_areas):
        unknown = _unknown_numbers(session, PriorityArea.number, filters.priority_areas)
        raise Invalid(
            f"priority_area: no priority area {', '.join(map(str, unknown))}; "
            "the plan has priority areas 1 to 4",
            loc=("query", "priority_area"),
        )


@lru_cache(maxsize=1)
def _event_statement() -> Rows:
    return select(Event.sequence, Event.updated_at, catalogue_changed(), Event.title).where(
        Event.id == bindparam("event_id"), public()
    )


def event_version(session: Session, event_id: int) -> tuple[FeedVersion, str]:
    """One public event's version, and its title (which names its file); 404 for an
    event that is not public."""
    row = read_rows(session).execute(_event_statement(), {"event_id": event_id}).one_or_none()
    if row is None:
        raise NotFound(f"No published event with id {event_id}")
    sequence, updated_at, catalogue, title = row
    version = FeedVersion(
        values=(sequence, updated_at, catalogue),
        last_modified=_latest(updated_at, catalogue),
        catalogue=catalogue,
    )
    return version, title


@lru_cache(maxsize=1)
def _seminars_statement() -> Rows:
    now = bindparam("now", type_=UTCDateTime())
    seminars = select(
        func.count(Seminar.id),
        func.max(Seminar.updated_at),
        func.coalesce(func.sum(Seminar.sequence), 0),
        func.coalesce(func.sum(Seminar.id), 0),
    ).subquery()
    held = and_(public(), not_(expired(now)))
    events = (
        select(
            func.count(case((held, 1))),
            func.max(case((public(), Event.updated_at))),
            func.coalesce(func.sum(case((held, Event.sequence))), 0),
            func.coalesce(func.sum(case((held, Event.id))), 0),
        )
        .select_from(Seminar)
        .join(Event, Event.id == Seminar.event_id)
        .subquery()
    )
    return select(seminars, events, cut_off(now), catalogue_changed()).select_from(
        seminars.join(events, true())  # two single-row aggregates side by side
    )


def seminars_version(session: Session, now: datetime) -> FeedVersion:
    """The seminars' deadlines: the seminars' own versions and their scheduled events',
    read from the seminars (two a year), with the events found by their ids."""
    *values, ended, catalogue = (
        read_rows(session).execute(_seminars_statement(), {"now": now}).one()
    )
    return FeedVersion(
        values=(*values, ended, catalogue),
        last_modified=_latest(values[1], values[5], ended, catalogue),
        catalogue=catalogue,
    )


def personal_version(session: Session, user_id: int, now: datetime) -> FeedVersion:
    """A personal feed's version: its events one by one (a handful), the seminars of
    the person's proposals, and when any of their registrations or proposals last
    changed, since a cancelled registration or a withdrawn proposal removes entries."""
    events = (
        read_rows(session)
        .execute(
            personal_events(user_id, now, (Event.sequence, Event.updated_at)).order_by(Event.id)
        )
        .all()
    )
    seminars = (
        read_rows(session)
        .execute(
            select(Seminar.id, Seminar.sequence, Seminar.updated_at)
            .where(Seminar.id.in_(proposed_seminars(user_id)))
            .order_by(Seminar.id)
        )
        .all()
    )
    registrations, proposals, ended, catalogue = (
        read_rows(session)
        .execute(
            select(
                select(func.max(Registration.updated_at))
                .where(Registration.user_id == user_id)
                .scalar_subquery(),
                select(func.max(Proposal.updated_at))
                .where(Proposal.proposer_id == user_id)
                .scalar_subquery(),
                cut_off(now),
                catalogue_changed(),
            )
        )
        .one()
    )
    return FeedVersion(
        values=(tuple(map(tuple, events)), tuple(map(tuple, seminars)), catalogue),
        last_modified=_latest(
            *(updated for *_rest, updated in events),
            *(updated for *_rest, updated in seminars),
            registrations,
            proposals,
            ended,
            catalogue,
        ),
        catalogue=catalogue,
    )
