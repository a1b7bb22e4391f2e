"""What each feed holds: which events, whose, and the rows of its entries with their
parts already serialised. Whether a feed changed is ``app.feeds.versions``' to tell."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    case,
    exists,
    literal,
    not_,
    or_,
    select,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from app.events.access import visible_to
from app.models import (
    EntryVariant,
    Event,
    EventKind,
    EventStatus,
    FeedEntry,
    Proposal,
    ProposalStatus,
    Registration,
    RegistrationStatus,
    Seminar,
)
from app.models.base import UTCDateTime
from app.models.events import event_actions, event_priority_areas


def read_rows(session: Session) -> Connection:
    """The session's connection, for the plain reads of rows: the feeds read no entities,
    and the ORM's execution costs more than these lookups themselves."""
    return session.connection()


# A query of several columns, whatever their types.
Rows = Select[*tuple[Any, ...]]

# -- which events ----------------------------------------------------------------------


def public() -> ColumnElement[bool]:
    """Published events, and cancelled ones that were published: what anyone may see."""
    return visible_to(None)


def expired(now: Any) -> ColumnElement[bool]:
    """A cancelled event leaves the feeds once it would have ended."""
    return and_(Event.status == EventStatus.cancelled, Event.ends_at <= now)


def in_feeds(now: Any) -> ColumnElement[bool]:
    return and_(public(), not_(expired(now)))


@dataclass(frozen=True)
class CalendarFilters:
    """The public calendar's filters: values within one filter are alternatives, the
    filters together must all hold. Sorted and without repeats, so that one selection
    has one address, one cache entry and one ETag however it was written."""

    actions: tuple[int, ...] = ()
    priority_areas: tuple[int, ...] = ()
    kinds: tuple[EventKind, ...] = ()
    countries: tuple[str, ...] = ()

    def as_query(self) -> dict[str, tuple[object, ...]]:
        return {
            "action": self.actions,
            "priority_area": self.priority_areas,
            "kind": self.kinds,
            "country": self.countries,
        }

    @property
    def key(self) -> str:
        chosen = [
            f"{name}={','.join(map(str, values))}"
            for name, values in self.as_query().items()
            if values
        ]
        return "calendar?" + "&".join(chosen)

    def scopes(self) -> list[str]:
        """The clocks that move whenever this selection's content may change: those of
        one filter's values (an event that enters, leaves or changes in the selection
        belongs to one of them before or after), the most selective filter's; or the
        clock of all public events."""
        for name, values in (
            ("action", self.actions),
            ("priority_area", self.priority_areas),
            ("country", self.countries),
            ("kind", self.kinds),
        ):
            if values:
                return [f"{name}:{value}" for value in values]
        return ["all"]

    def where(self) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if self.actions:
            conditions.append(
                exists().where(
                    event_actions.c.event_id == Event.id,
                    event_actions.c.action_number.in_(self.actions),
                )
            )
        if self.priority_areas:
            conditions.append(
                exists().where(
                    event_priority_areas.c.event_id == Event.id,
                    event_priority_areas.c.priority_area_number.in_(self.priority_areas),
                )
            )
        if self.kinds:
            conditions.append(Event.kind.in_(self.kinds))
        if self.countries:
            conditions.append(Event.venue_country.in_(self.countries))
        return conditions


# -- whose events --------------------------------------------------------------------

_UNPUBLISHED = (EventStatus.draft, EventStatus.submitted)
_HOLDING = (RegistrationStatus.registered, RegistrationStatus.waitlisted)


def personal_events(user_id: int, now: datetime, columns: Sequence[Any]) -> Rows:
    """A person's events, each with how their feed shows it: the events they registered
    for (waitlisted ones as such), host (their own unpublished ones too), or proposed
    the seminar's topic for."""
    unpublished = Event.status.in_(_UNPUBLISHED)
    hosted = Event.host_id == user_id
    variant = case(
        (unpublished, EntryVariant.unpublished.value),
        (hosted, EntryVariant.public.value),
        (Registration.status == RegistrationStatus.waitlisted, EntryVariant.waitlisted.value),
        else_=EntryVariant.public.value,
    ).label("variant")
    return (
        select(Event.id, variant, *columns)
        .select_from(Event)
        .outerjoin(
            Registration,
            and_(
                Registration.event_id == Event.id,
                Registration.user_id == user_id,
                Registration.status.in_(_HOLDING),
            ),
        )
        .where(
            or_(
                and_(hosted, unpublished),
                and_(
                    in_feeds(now),
                    or_(
                        hosted,
                        Registration.id.is_not(None),
                        Event.id.in_(seminar_event_ids(proposed_seminars(user_id))),
                    ),
                ),
            )
        )
    )


def proposed_seminars(user_id: int) -> Select[int]:
    """The seminars a person proposed a topic for (and has not withdrawn it)."""
    return select(Proposal.seminar_id).where(
        Proposal.proposer_id == user_id, Proposal.status != ProposalStatus.withdrawn
    )


def seminar_event_ids(seminars: Select[int] | None = None) -> Rows:
    query = select(Seminar.event_id).where(Seminar.event_id.is_not(None))
    if seminars is not None:
        query = query.where(Seminar.id.in_(seminars))
    return query


# -- what a feed holds, with the parts already serialised ----------------------------


@dataclass(frozen=True, slots=True)
class EntryRow:
    """An event as a feed holds it, with its stored VEVENT and that part's version."""

    event_id: int
    variant: EntryVariant
    sequence: int
    updated_at: datetime
    timezone: str
    starts_at: datetime
    ends_at: datetime
    stored_version: str | None
    stored_vevent: str | None


_ROW_COLUMNS = (
    Event.sequence,
    Event.updated_at,
    Event.timezone,
    Event.starts_at,
    Event.ends_at,
    FeedEntry.version,
    FeedEntry.vevent,
)


def _with_parts(query: Rows, variant: Any) -> Rows:
    return query.outerjoin(
        FeedEntry, and_(FeedEntry.event_id == Event.id, FeedEntry.variant == variant)
    ).order_by(Event.starts_at, Event.id)


_VARIANTS = {variant.value: variant for variant in EntryVariant}


def _rows(session: Session, query: Rows, values: dict[str, Any] | None = None) -> list[EntryRow]:
    return [split_entry(row)[0] for row in read_rows(session).execute(query, values)]


def split_entry(row: Sequence[Any]) -> tuple[EntryRow, tuple[Any, ...]]:
    """A row of ``_public_rows`` as its entry, and the extra columns selected after it."""
    end = 2 + len(_ROW_COLUMNS)
    return EntryRow(row[0], _VARIANTS[row[1]], *row[2:end]), tuple(row[end:])


def public_rows(where: Sequence[ColumnElement[bool]], *extra: Any) -> Rows:
    """Events as the public feeds hold them, with their stored parts; ``extra`` columns
    after the entry's (``split_entry``)."""
    variant = literal(EntryVariant.public.value)
    query = select(Event.id, variant, *_ROW_COLUMNS, *extra).where(*where)
    return _with_parts(query, variant)


@lru_cache(maxsize=128)
def _calendar_rows_statement(filters: CalendarFilters) -> Rows:
    return public_rows([in_feeds(bindparam("now", type_=UTCDateTime())), *filters.where()])


def calendar_rows(session: Session, filters: CalendarFilters, now: datetime) -> list[EntryRow]:
    return _rows(session, _calendar_rows_statement(filters), {"now": now})


def event_rows(session: Session, event_id: int) -> list[EntryRow]:
    return _rows(session, public_rows([Event.id == event_id, public()]))


def seminar_event_rows(session: Session, now: datetime) -> list[EntryRow]:
    """The scheduled seminars' events, as the seminars' feed shows them."""
    return _rows(session, public_rows([in_feeds(now), Event.id.in_(seminar_event_ids())]))


def personal_rows(session: Session, user_id: int, now: datetime) -> list[EntryRow]:
    query = personal_events(user_id, now, _ROW_COLUMNS)
    variant = query.selected_columns.variant
    return _rows(session, _with_parts(query, variant))


def seminars(session: Session, seminar_ids: Sequence[int] | None = None) -> list[Seminar]:
    query = select(Seminar).order_by(Seminar.year, Seminar.number)
    if seminar_ids is not None:
        query = query.where(Seminar.id.in_(seminar_ids))
    return list(session.scalars(query))


def proposed_seminar_ids(session: Session, user_id: int) -> list[int]:
    return list(session.scalars(proposed_seminars(user_id).distinct()))
