"""Coverage: for each year of the plan, what its events delivered per action and priority area.

Every figure is an aggregate computed by the database: three grouped statements whatever
the number of events, each grouped by the event's year and by the action or priority
area it serves. An event belongs to the year in which it starts on its own
zone's calendar (``Event.local_start_year``, kept by the events service).

Which events count, as of ``now``:
- *held*: published and begun; *upcoming*: published and not yet begun;
- *cancelled*: cancelled after it was published, counted apart; a cancelled event
  serves nothing, so its registrations, hosts and places are left out, and it closes no
  gap;
- drafts and events submitted for publication are not counted: they are not (yet) part
  of the programme; nor are those cancelled before they were ever published, which never
  were. The events counted are those the public sees, as on the plan's page.
"""

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    Table,
    case,
    func,
    literal_column,
    outerjoin,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from app.catalogue import service as catalogue
from app.errors import Invalid
from app.events import access
from app.models import (
    Action,
    Event,
    EventKind,
    EventStatus,
    PriorityArea,
    Registration,
    RegistrationStatus,
    User,
)
from app.models.events import event_actions, event_priority_areas
from app.reports.history import SeminarRecord, seminar_records

# The plan's target: "two joint DG RTD-CoR seminars a year".
SEMINARS_PER_YEAR = 2


def check_years(year: int | None, plan_years: range) -> list[int]:
    """The years a report covers: the one asked for, or the whole term."""
    if year is None:
        return list(plan_years)
    if year not in plan_years:
        raise Invalid(
            f"{year} is outside the plan's term, {plan_years[0]}–{plan_years[-1]}; "
            "reports cover the plan's years",
            loc=("query", "year"),
        )
    return [year]


@dataclass
class Figures:
    """What the events of one year (or of the term) did for one action or priority area."""

    held: int = 0
    upcoming: int = 0
    cancelled: int = 0
    kinds: dict[EventKind, int] = field(default_factory=lambda: dict.fromkeys(EventKind, 0))
    registered: int = 0
    waitlisted: int = 0
    member_states: set[str] = field(default_factory=set)
    regions: set[tuple[str, str]] = field(default_factory=set)
    countries: set[str] = field(default_factory=set)

    @property
    def served(self) -> int:
        """Events held or upcoming: those that serve the plan."""
        return self.held + self.upcoming

    def add(self, other: "Figures") -> None:
        self.held += other.held
        self.upcoming += other.upcoming
        self.cancelled += other.cancelled
        for kind, count in other.kinds.items():
            self.kinds[kind] += count
        self.registered += other.registered
        self.waitlisted += other.waitlisted
        self.member_states |= other.member_states
        self.regions |= other.regions
        self.countries |= other.countries


@dataclass(frozen=True)
class ActionLine:
    action: Action
    figures: Figures


@dataclass(frozen=True)
class AreaLine:
    area: PriorityArea
    figures: Figures


@dataclass(frozen=True)
class Period:
    """The coverage of one year, or of the whole term (``years`` then holds them all)."""

    years: list[int]
    all_events: Figures
    actions: list[ActionLine]
    priority_areas: list[AreaLine]
    seminars: list[SeminarRecord]  # the seminars opened for these years

    @property
    def action_gaps(self) -> list[Action]:
        return [line.action for line in self.actions if line.figures.served == 0]

    @property
    def area_gaps(self) -> list[PriorityArea]:
        return [line.area for line in self.priority_areas if line.figures.served == 0]

    @property
    def seminar_target(self) -> int:
        return SEMINARS_PER_YEAR * len(self.years)

    @property
    def seminars_held_or_upcoming(self) -> int:
        """The seminars of these years whose agreed topic is held or upcoming. The target
        counts seminars, not events of the kind ``joint_seminar``: the secretariat may make
        such an event outside any seminar, and it is no seminar of the plan."""
        return sum(record.held_or_upcoming for record in self.seminars)

    @property
    def seminars_short_by(self) -> int:
        return max(0, self.seminar_target - self.seminars_held_or_upcoming)


@dataclass(frozen=True)
class Coverage:
    years: list[Period]  # one per year asked for
    total: Period | None  # the whole term, when no single year was asked for
    as_of: datetime


# -- the aggregate queries -------------------------------------------------------------
#
# Three statements whatever the number of events: the events counted, the registrations
# on them, the places they were held and hosted from. Each gives its figures per year
# for all events, per action and per priority area at once (a UNION ALL of the three),
# and works out what it needs of each event (its stage, its registrations) once, in a
# common table that the three parts share.


class Dimension(IntEnum):
    """What a row of figures is about; ``all_events`` rows count every event once."""

    all_events = 0
    action = 1
    priority_area = 2


# The link table an event is counted by in each dimension, and the number it gives.
_LINKS: dict[Dimension, tuple[Table, ColumnElement[int]] | None] = {
    Dimension.all_events: None,
    Dimension.action: (event_actions, event_actions.c.action_number),
    Dimension.priority_area: (event_priority_areas, event_priority_areas.c.priority_area_number),
}
_SERVING = Event.status == EventStatus.published
Key = tuple[Dimension, int, int]  # (dimension, year, number)
Found = dict[Key, Figures]


def _part(
    dimension: Dimension,
    event_id: Any,
    year: Any,
    columns: Sequence[Any],
    source: Any,
    grouped_by: Sequence[Any] | None = (),
) -> Select[Any]:
    """One dimension's rows: (dimension, year, number, *columns) from ``source``, whose
    ``event_id`` and ``year`` columns are given, joined to the dimension's links; grouped
    by year, number and ``grouped_by``, unless that is None."""
    link = _LINKS[dimension]
    tag = literal_column(str(dimension.value), Integer)
    if link is None:
        query = select(tag, year, literal_column("0", Integer), *columns).select_from(source)
        keys = [year]
    else:
        table, number = link
        query = select(tag, year, number, *columns).join_from(
            source, table, table.c.event_id == event_id
        )
        keys = [year, number]
    return query if grouped_by is None else query.group_by(*keys, *grouped_by)


def _rows(session: Session, parts: list[Select[Any]]) -> Iterator[tuple[Key, Sequence[Any]]]:
    for row in session.execute(union_all(*parts)):
        yield (Dimension(row[0]), row[1], row[2]), row[3:]


class Stage(IntEnum):
    held = 0
    upcoming = 1
    cancelled = 2


def stage(now: datetime) -> ColumnElement[int]:
    """A public event's ``Stage`` at ``now``, as the plan's monitoring counts it: held once
    begun, upcoming before, and a cancelled one apart whenever it was to be held (it
    serves nothing). The coverage report and the plan's page count by it."""
    return case(
        (Event.status == EventStatus.cancelled, Stage.cancelled.value),
        (Event.starts_at <= now, Stage.held.value),
        else_=Stage.upcoming.value,
    )


def _counts(session: Session, years: list[int], now: datetime) -> Found:
    """Events held, upcoming and cancelled, and those held or upcoming by kind.

    Each event's stage is worked out once, in a common table that the three dimensions
    share; each dimension then counts its events by stage and kind.
    """
    counted = (
        select(
            Event.id, Event.local_start_year.label("year"), stage(now).label("stage"), Event.kind
        )
        .where(Event.local_start_year.in_(years), access.visible_to(None))
        .cte("counted")
    )
    by = [counted.c.stage, counted.c.kind]
    parts = [
        _part(dimension, counted.c.id, counted.c.year, [*by, func.count()], counted, by)
        for dimension in Dimension
    ]
    found: Found = {}
    for key, (stage_of, kind, count) in _rows(session, parts):
        figures = found.setdefault(key, Figures())
        if stage_of == Stage.cancelled:
            figures.cancelled += count
            continue
        if stage_of == Stage.held:
            figures.held += count
        else:
            figures.upcoming += count
        figures.kinds[EventKind(kind)] += count
    return found


def _registrations(session: Session, years: list[int], found: Found) -> None:
    """Add the places held and the people waiting on the events held and upcoming.

    Registrations are counted per event first, once (the statement names the counts
    three times, so both engines compute them once and keep them), then summed per
    dimension: joined straight to the links, each registration would be counted once
    per link.
    """
    per_event = (
        select(
            Registration.event_id,
            Event.local_start_year.label("year"),
            func.count()
            .filter(Registration.status == RegistrationStatus.registered)
            .label("registered"),
            func.count()
            .filter(Registration.status == RegistrationStatus.waitlisted)
            .label("waitlisted"),
        )
        .join(Event, Event.id == Registration.event_id)
        .where(
            Event.local_start_year.in_(years),
            _SERVING,
            Registration.status != RegistrationStatus.cancelled,
        )
        .group_by(Registration.event_id, Event.local_start_year)
        .cte("per_event")
    )
    columns = [func.sum(per_event.c.registered), func.sum(per_event.c.waitlisted)]
    parts = [
        _part(dimension, per_event.c.event_id, per_event.c.year, columns, per_event)
        for dimension in Dimension
    ]
    for key, (registered, waitlisted) in _rows(session, parts):
        figures = found.setdefault(key, Figures())
        # PostgreSQL sums integers as numeric.
        figures.registered, figures.waitlisted = int(registered), int(waitlisted)


def _places(session: Session, years: list[int], found: Found) -> None:
    """Add the hosts' member states and regions, and the venues' countries: one row per
    distinct place, never per event."""
    hosted = outerjoin(Event, User, User.id == Event.host_id)
    columns = [User.member_state, User.region, Event.venue_country]
    parts = [
        _part(dimension, Event.id, Event.local_start_year, columns, hosted, grouped_by=None)
        .where(Event.local_start_year.in_(years), _SERVING)
        .distinct()
        for dimension in Dimension
    ]
    for key, (member_state, region, country) in _rows(session, parts):
        figures = found.setdefault(key, Figures())
        if member_state is not None:
            figures.member_states.add(member_state)
            if region is not None:
                figures.regions.add((member_state, region))
        if country is not None:
            figures.countries.add(country)


def _figures(session: Session, years: list[int], now: datetime) -> Found:
    found = _counts(session, years, now)
    _registrations(session, years, found)
    _places(session, years, found)
    return found


# -- the report ------------------------------------------------------------------------


def _period(
    years: list[int],
    actions: list[Action],
    areas: list[PriorityArea],
    found: Found,
    seminars: Iterable[SeminarRecord],
) -> Period:
    def summed(dimension: Dimension, number: int) -> Figures:
        total = Figures()
        for year in years:
            if (dimension, year, number) in found:
                total.add(found[(dimension, year, number)])
        return total

    return Period(
        years=years,
        all_events=summed(Dimension.all_events, 0),
        actions=[ActionLine(action, summed(Dimension.action, action.number)) for action in actions],
        priority_areas=[
            AreaLine(area, summed(Dimension.priority_area, area.number)) for area in areas
        ],
        seminars=[record for record in seminars if record.seminar.year in years],
    )


def coverage(*, session: Session, years: list[int], whole_term: bool, now: datetime) -> Coverage:
    """The coverage of ``years``, each on its own, and their total if ``whole_term``."""
    actions = catalogue.every_action(session=session)  # retired ones too: they are marked
    areas = catalogue.every_priority_area(session=session)
    found = _figures(session, years, now)
    seminars = seminar_records(session=session, years=years, now=now)
    periods = [_period([year], actions, areas, found, seminars) for year in years]
    total = _period(years, actions, areas, found, seminars) if whole_term else None
    return Coverage(years=periods, total=total, as_of=now)
