"""What each feed holds, and the one small query that tells whether it changed.

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

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    bindparam,
    case,
    exists,
    func,
    literal,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from app.errors import Invalid, NotFound
from app.events.access import visible_to
from app.models import (
    Action,
    EntryVariant,
    Event,
    EventKind,
    EventStatus,
    FeedClock,
    FeedEntry,
    PriorityArea,
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


# -- versions --------------------------------------------------------------------------


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
            "GET /actions lists them"
        )
    if filters.priority_areas and next(counts) != len(filters.priority_areas):
        unknown = _unknown_numbers(session, PriorityArea.number, filters.priority_areas)
        raise Invalid(
            f"priority_area: no priority area {', '.join(map(str, unknown))}; "
            "the plan has priority areas 1 to 4"
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


def _proposed_seminars(user_id: int) -> Select[int]:
    """The seminars a person proposed a topic for (and has not withdrawn it)."""
    return select(Proposal.seminar_id).where(
        Proposal.proposer_id == user_id, Proposal.status != ProposalStatus.withdrawn
    )


def _seminar_event_ids(seminars: Select[int] | None = None) -> Rows:
    query = select(Seminar.event_id).where(Seminar.event_id.is_not(None))
    if seminars is not None:
        query = query.where(Seminar.id.in_(seminars))
    return query


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


# -- personal feeds --------------------------------------------------------------------

_UNPUBLISHED = (EventStatus.draft, EventStatus.submitted)
_HOLDING = (RegistrationStatus.registered, RegistrationStatus.waitlisted)


def _personal(user_id: int, now: datetime, columns: Sequence[Any]) -> Rows:
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
                        Event.id.in_(_seminar_event_ids(_proposed_seminars(user_id))),
                    ),
                ),
            )
        )
    )


def personal_version(session: Session, user_id: int, now: datetime) -> FeedVersion:
    """A personal feed's version: its events one by one (a handful), the seminars of
    the person's proposals, and when any of their registrations or proposals last
    changed, since a cancelled registration or a withdrawn proposal removes entries."""
    events = (
        read_rows(session)
        .execute(_personal(user_id, now, (Event.sequence, Event.updated_at)).order_by(Event.id))
        .all()
    )
    seminars = (
        read_rows(session)
        .execute(
            select(Seminar.id, Seminar.sequence, Seminar.updated_at)
            .where(Seminar.id.in_(_proposed_seminars(user_id)))
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
    return [
        EntryRow(row[0], _VARIANTS[row[1]], *row[2:])
        for row in read_rows(session).execute(query, values)
    ]


def _public_rows(where: Sequence[ColumnElement[bool]]) -> Rows:
    variant = literal(EntryVariant.public.value)
    query = select(Event.id, variant, *_ROW_COLUMNS).where(*where)
    return _with_parts(query, variant)


@lru_cache(maxsize=128)
def _calendar_rows_statement(filters: CalendarFilters) -> Rows:
    return _public_rows([in_feeds(bindparam("now", type_=UTCDateTime())), *filters.where()])


def calendar_rows(session: Session, filters: CalendarFilters, now: datetime) -> list[EntryRow]:
    return _rows(session, _calendar_rows_statement(filters), {"now": now})


def event_rows(session: Session, event_id: int) -> list[EntryRow]:
    return _rows(session, _public_rows([Event.id == event_id, public()]))


def seminar_event_rows(session: Session, now: datetime) -> list[EntryRow]:
    """The scheduled seminars' events, as the seminars' feed shows them."""
    return _rows(session, _public_rows([in_feeds(now), Event.id.in_(_seminar_event_ids())]))


def personal_rows(session: Session, user_id: int, now: datetime) -> list[EntryRow]:
    query = _personal(user_id, now, _ROW_COLUMNS)
    variant = query.selected_columns.variant
    return _rows(session, _with_parts(query, variant))


def seminars(session: Session, seminar_ids: Sequence[int] | None = None) -> list[Seminar]:
    query = select(Seminar).order_by(Seminar.year, Seminar.number)
    if seminar_ids is not None:
        query = query.where(Seminar.id.in_(seminar_ids))
    return list(session.scalars(query))


def proposed_seminar_ids(session: Session, user_id: int) -> list[int]:
    return list(session.scalars(_proposed_seminars(user_id).distinct()))
