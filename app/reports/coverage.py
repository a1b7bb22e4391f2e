"""Coverage: for each year of the plan, what its events delivered per action and priority area.

Every figure is an aggregate computed by the database: a handful of grouped queries
whatever the number of events, each grouped by the event's year and by the action or
priority area it serves. An event belongs to the year in which it starts on its own
zone's calendar (``Event.local_start_year``, kept by the events service).

Which events count, as of ``now``:
- *held*: published and begun; *upcoming*: published and not yet begun;
- *cancelled*: cancelled, counted apart; a cancelled event serves nothing, so its
  registrations, hosts and places are left out, and it closes no gap;
- drafts and events submitted for publication are not counted: they are not (yet) part
  of the programme.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, Table, func, select
from sqlalchemy.orm import Session

from app.catalogue import service as catalogue
from app.errors import Invalid
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
            "reports cover the plan's years"
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
    def seminars_short_by(self) -> int:
        return max(0, self.seminar_target - self.all_events.kinds[EventKind.joint_seminar])


@dataclass(frozen=True)
class Coverage:
    years: list[Period]  # one per year asked for
    total: Period | None  # the whole term, when no single year was asked for
    as_of: datetime


# -- the aggregate queries -------------------------------------------------------------

_SERVING = Event.status == EventStatus.published

# The links an event is counted by: its actions, or its priority areas; None counts
# every event once.
_ACTIONS = event_actions, event_actions.c.action_number
_AREAS = event_priority_areas, event_priority_areas.c.priority_area_number
Link = tuple[Table, ColumnElement[int]] | None


def _grouped(columns: Sequence[Any], link: Link, years: list[int]) -> tuple[Select[Any], list[Any]]:
    """``columns`` of the events of ``years``, after their grouping keys: the year, then
    the linked number if ``link``. The caller groups (or makes distinct) by the keys."""
    keys: list[Any] = [Event.local_start_year]
    if link is None:
        query = select(*keys, *columns).select_from(Event)
    else:
        table, number = link
        keys.append(number)
        query = select(*keys, *columns).join_from(Event, table, table.c.event_id == Event.id)
    return query.where(Event.local_start_year.in_(years)), keys


def _counts(
    session: Session, link: Link, years: list[int], now: datetime
) -> dict[tuple[int, int], Figures]:
    in_years = Event.local_start_year.in_(years)
    # Registrations are counted per event first, so that joining them cannot multiply
    # the events counted beside them.
    occupancy = (
        select(
            Registration.event_id,
            func.count()
            .filter(Registration.status == RegistrationStatus.registered)
            .label("registered"),
            func.count()
            .filter(Registration.status == RegistrationStatus.waitlisted)
            .label("waitlisted"),
        )
        .join(Event, Event.id == Registration.event_id)
        .where(in_years, _SERVING, Registration.status != RegistrationStatus.cancelled)
        .group_by(Registration.event_id)
        .subquery()
    )
    begun = Event.starts_at <= now
    columns: list[Any] = [
        func.count().filter(_SERVING & begun),
        func.count().filter(_SERVING & ~begun),
        func.count().filter(Event.status == EventStatus.cancelled),
        *(func.count().filter(_SERVING & (Event.kind == kind)) for kind in EventKind),
        func.coalesce(func.sum(occupancy.c.registered), 0),
        func.coalesce(func.sum(occupancy.c.waitlisted), 0),
    ]
    query, keys = _grouped(columns, link, years)
    query = (
        query.outerjoin(occupancy, occupancy.c.event_id == Event.id)
        .where(Event.status.in_([EventStatus.published, EventStatus.cancelled]))
        .group_by(*keys)
    )
    found: dict[tuple[int, int], Figures] = {}
    width = len(keys)
    for row in session.execute(query):
        key = (row[0], row[1] if link is not None else 0)
        # PostgreSQL sums integers as numeric: every figure is read back as an int.
        held, upcoming, cancelled, *rest = (int(value) for value in row[width:])
        kinds, (registered, waitlisted) = rest[: len(EventKind)], rest[len(EventKind) :]
        found[key] = Figures(
            held=held,
            upcoming=upcoming,
            cancelled=cancelled,
            kinds=dict(zip(EventKind, kinds, strict=True)),
            registered=registered,
            waitlisted=waitlisted,
        )
    return found


def _places(
    session: Session, link: Link, years: list[int], found: dict[tuple[int, int], Figures]
) -> None:
    """Add the hosts' member states and regions, and the venues' countries, to ``found``:
    one row per distinct place, never per event."""
    query, keys = _grouped([User.member_state, User.region, Event.venue_country], link, years)
    query = query.outerjoin(User, User.id == Event.host_id).where(_SERVING).distinct()
    width = len(keys)
    for row in session.execute(query):
        key = (row[0], row[1] if link is not None else 0)
        member_state, region, country = row[width:]
        figures = found.setdefault(key, Figures())
        if member_state is not None:
            figures.member_states.add(member_state)
            if region is not None:
                figures.regions.add((member_state, region))
        if country is not None:
            figures.countries.add(country)


def _figures(
    session: Session, link: Link, years: list[int], now: datetime
) -> dict[tuple[int, int], Figures]:
    found = _counts(session, link, years, now)
    _places(session, link, years, found)
    return found


# -- the report ------------------------------------------------------------------------


def _period(
    years: list[int],
    actions: list[Action],
    areas: list[PriorityArea],
    by_action: dict[tuple[int, int], Figures],
    by_area: dict[tuple[int, int], Figures],
    overall: dict[tuple[int, int], Figures],
    seminars: Iterable[SeminarRecord],
) -> Period:
    def summed(found: dict[tuple[int, int], Figures], number: int) -> Figures:
        total = Figures()
        for year in years:
            if (year, number) in found:
                total.add(found[(year, number)])
        return total

    return Period(
        years=years,
        all_events=summed(overall, 0),
        actions=[ActionLine(action, summed(by_action, action.number)) for action in actions],
        priority_areas=[AreaLine(area, summed(by_area, area.number)) for area in areas],
        seminars=[record for record in seminars if record.seminar.year in years],
    )


def coverage(*, session: Session, years: list[int], whole_term: bool, now: datetime) -> Coverage:
    """The coverage of ``years``, each on its own, and their total if ``whole_term``."""
    actions = catalogue.list_actions(session=session)  # retired ones too: they are marked
    areas = catalogue.list_priority_areas(session=session)
    by_action = _figures(session, _ACTIONS, years, now)
    by_area = _figures(session, _AREAS, years, now)
    overall = _figures(session, None, years, now)
    seminars = seminar_records(session=session, years=years, now=now)
    periods = [
        _period([year], actions, areas, by_action, by_area, overall, seminars) for year in years
    ]
    total = (
        _period(years, actions, areas, by_action, by_area, overall, seminars)
        if whole_term
        else None
    )
    return Coverage(years=periods, total=total, as_of=now)
