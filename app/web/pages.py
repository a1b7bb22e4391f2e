"""What each public page shows, read through the domains' services and queries.

Every page reads a fixed number of statements, however many events there are: the
events of one page with their actions, priority areas, hosts and occupancy (the events
listing's own loaders), the catalogue, and one grouped statement where a page counts.
Only what anyone may see is read: published events, and cancelled ones that were
published, exactly as ``GET /events`` shows them to an anonymous caller.
"""

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from app.catalogue import service as catalogue
from app.common.numbers import whole_number
from app.common.paging import PageRequest, fetch_page
from app.errors import NotFound
from app.events import access, queries
from app.events.queries import EventFilters, Listed
from app.events.schemas import country_code
from app.models import (
    Action,
    Event,
    EventKind,
    EventStatus,
    PriorityArea,
    Proposal,
    ProposalStatus,
    Seminar,
)
from app.models.events import event_actions, event_priority_areas
from app.reports import coverage
from app.reports.coverage import Stage
from app.seminars import calendar, tally, visibility
from app.seminars.calendar import phase_of

PAGE_SIZE = 20
MAX_PAGE = 100_000
# How many upcoming events the plan's page names under each action and priority area.
NAMED_PER_ENTRY = 3
# ... found among the next this many events not cancelled, so that the plan's page reads a
# bounded number of rows: an entry served only later shows its count and its link.
NEXT_WINDOW = 100


class Tab(StrEnum):
    upcoming = "upcoming"
    past = "past"


class BadFilter(ValueError):
    """A filter of the programme that names nothing that exists: the page says which."""


@dataclass(frozen=True)
class ProgrammeFilters:
    tab: Tab = Tab.upcoming
    priority_area: int | None = None
    action: int | None = None
    kind: EventKind | None = None
    country: str | None = None
    page: int = 1

    def query(self, **changes: Any) -> dict[str, str]:
        """The query string of these filters with ``changes``, leaving out defaults."""
        values = {
            "tab": self.tab.value,
            "priority_area": self.priority_area,
            "action": self.action,
            "kind": self.kind.value if self.kind else None,
            "country": self.country,
            "page": self.page,
        } | changes
        defaults = {"tab": Tab.upcoming.value, "page": 1}
        return {
            name: str(value)
            for name, value in values.items()
            if value is not None and value != "" and defaults.get(name) != value
        }

    @property
    def narrowed(self) -> bool:
        return any(
            value is not None
            for value in (self.priority_area, self.action, self.kind, self.country)
        )


def _number(name: str, value: str | None, known: set[int]) -> int | None:
    if value is None or value.strip() == "":
        return None
    text = value.strip()
    number = whole_number(text)
    if number is None or number not in known:
        choices = ", ".join(str(known_number) for known_number in sorted(known))
        raise BadFilter(f"There is no {name} {text[:20]!r}; choose one of {choices}")
    return number


def read_filters(
    params: dict[str, str], *, areas: list[PriorityArea], actions: list[Action]
) -> ProgrammeFilters:
    """The programme's filters from its query string; a value that names nothing is
    refused with a sentence that says what to choose instead."""
    tab_text = params.get("tab") or Tab.upcoming.value
    if tab_text not in Tab.__members__:
        raise BadFilter(f"There is no tab {tab_text[:20]!r}; choose upcoming or past")
    kind_text = params.get("kind") or None
    if kind_text is not None and kind_text not in EventKind.__members__:
        raise BadFilter(
            f"There is no kind of event {kind_text[:30]!r}; choose one of "
            + ", ".join(kind.value for kind in EventKind)
        )
    country = params.get("country") or None
    if country is not None:
        try:
            country = country_code(country[:10])
        except ValueError as error:
            raise BadFilter(f"Country: {error}") from None
    page_text = (params.get("page") or "1").strip()
    page = whole_number(page_text, most=MAX_PAGE)
    if page is None or page < 1:
        raise BadFilter(f"There is no page {page_text[:20]!r}; pages are numbered from 1")
    return ProgrammeFilters(
        tab=Tab(tab_text),
        priority_area=_number(
            "priority area", params.get("priority_area"), {area.number for area in areas}
        ),
        action=_number("action", params.get("action"), {action.number for action in actions}),
        kind=EventKind(kind_text) if kind_text else None,
        country=country,
        page=page,
    )


@dataclass(frozen=True)
class Catalogue:
    areas: list[PriorityArea]
    actions: list[Action]


def read_catalogue(session: Session) -> Catalogue:
    """The plan's priority areas and actions (retired ones too: past events served
    them): two statements."""
    return Catalogue(
        areas=catalogue.every_priority_area(session=session),
        actions=catalogue.every_action(session=session),
    )


@dataclass(frozen=True)
class Programme:
    filters: ProgrammeFilters
    events: list[Listed]
    total: int
    countries: list[str]

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))

    @property
    def past_the_last(self) -> bool:
        """Whether the page asked for comes after the last (the first always exists)."""
        return self.filters.page > self.pages

    def no_such_page(self) -> str:
        """What the page says when it comes after the last."""
        matching = " that match these filters" if self.filters.narrowed else ""
        plural = "" if self.pages == 1 else "s"
        return (
            f"There is no page {self.filters.page}: the {self.filters.tab.value} events"
            f"{matching} fit on {self.pages} page{plural}"
        )


def _countries(session: Session) -> list[str]:
    """The countries where public events take place, for the country filter: the few
    distinct countries from their index, each kept if one public event is there (rather
    than reading every public event's row)."""
    codes = (
        select(Event.venue_country.label("code"))
        .where(Event.venue_country.is_not(None))
        .distinct()
        .subquery()
    )
    public_there = (
        select(Event.id).where(Event.venue_country == codes.c.code, access.visible_to(None))
    ).exists()
    return list(session.scalars(select(codes.c.code).where(public_there).order_by(codes.c.code)))


def programme(
    session: Session, filters: ProgrammeFilters, *, now: datetime, error: bool = False
) -> Programme:
    """One page of the programme: the events not over yet by start (the events listing
    as anyone sees it), or those that are over, latest first."""
    countries = _countries(session)
    if error:
        return Programme(filters=filters, events=[], total=0, countries=countries)
    page = PageRequest(limit=PAGE_SIZE, offset=(filters.page - 1) * PAGE_SIZE)
    chosen = EventFilters(
        kind=filters.kind,
        action=filters.action,
        priority_area=filters.priority_area,
        country=filters.country,
    )
    if filters.tab is Tab.upcoming:
        found = queries.list_events(
            session=session,
            viewer=None,
            filters=replace(chosen, ends_after=now),
            page=page,
        )
        return Programme(filters, found.events, found.total, countries)
    query = queries.filtered(
        select(Event).where(access.visible_to(None), Event.ends_at <= now), chosen
    )
    rows = fetch_page(
        session,
        query.options(*queries.EVENT_OPTIONS).order_by(Event.starts_at.desc(), Event.id.desc()),
        page,
    )
    return Programme(filters, queries.with_occupancy(session, rows.rows), rows.total, countries)


# -- one event -------------------------------------------------------------------------


@dataclass(frozen=True)
class EventPage:
    listed: Listed
    seminar: Seminar | None

    @property
    def places_left(self) -> int | None:
        capacity = self.listed.event.capacity
        if capacity is None:
            return None
        return max(0, capacity - self.listed.occupancy.registered)


def event_page(session: Session, event_id: int) -> EventPage:
    """A public event with everything its page shows; NotFound, as for an unknown id,
    when the event is not published."""
    event = session.scalars(
        select(Event)
        .where(Event.id == event_id, access.visible_to(None))
        .options(*queries.EVENT_OPTIONS, selectinload(Event.agenda))
    ).one_or_none()
    if event is None:
        raise NotFound(f"No event with id {event_id}")
    [listed] = queries.with_occupancy(session, [event])
    seminar = None
    if listed.seminar_id is not None:
        seminar = calendar.get_seminar(session=session, seminar_id=listed.seminar_id)
    return EventPage(listed=listed, seminar=seminar)


# -- the joint seminars ----------------------------------------------------------------


@dataclass(frozen=True)
class SeminarEntry:
    seminar: Seminar
    phase: str
    proposals: list[Proposal]
    supports: dict[int, int] | None  # by proposal id, once the tally is public
    agreed: Proposal | None
    # The seminar's public event, published or cancelled: the page marks a cancelled one
    # as every page does, since the seminar then waits for a new date.
    event: Event | None


@dataclass(frozen=True)
class SeminarYears:
    years: list[tuple[int, list[SeminarEntry]]]


def joint_seminars(session: Session, *, now: datetime) -> SeminarYears:
    """Every joint seminar by year, latest year first, with its proposals (withdrawn
    ones left out), their supports once voting has closed, the agreed topic and its
    event when public: five statements whatever the number of seminars."""
    seminars = calendar.list_seminars(
        session=session, year=None, page=PageRequest(limit=10_000)
    ).rows
    ids = [seminar.id for seminar in seminars]
    proposals: list[Proposal] = []
    if ids:
        proposals = list(
            session.scalars(
                select(Proposal)
                .where(Proposal.seminar_id.in_(ids), Proposal.status != ProposalStatus.withdrawn)
                .options(selectinload(Proposal.proposer))
                .order_by(Proposal.submitted_at, Proposal.id)
            )
        )
    by_seminar: dict[int, list[Proposal]] = defaultdict(list)
    for proposal in proposals:
        by_seminar[proposal.seminar_id].append(proposal)
    public_tally = {
        seminar.id for seminar in seminars if visibility.tally_visible(seminar, None, now)
    }
    counts = tally.support_counts(
        session, [proposal.id for proposal in proposals if proposal.seminar_id in public_tally]
    )
    event_ids = [seminar.event_id for seminar in seminars if seminar.event_id is not None]
    events: dict[int, Event] = {}
    if event_ids:
        events = {
            event.id: event
            for event in session.scalars(
                select(Event).where(Event.id.in_(event_ids), access.visible_to(None))
            )
        }
    years: dict[int, list[SeminarEntry]] = defaultdict(list)
    for seminar in seminars:
        listed = by_seminar[seminar.id]
        supports = None
        if seminar.id in public_tally:
            supports = {proposal.id: counts.get(proposal.id, 0) for proposal in listed}
            listed = sorted(listed, key=lambda proposal: -supports[proposal.id])  # stable
        agreed = next((p for p in listed if p.status == ProposalStatus.agreed), None)
        years[seminar.year].append(
            SeminarEntry(
                seminar=seminar,
                phase=phase_of(seminar, now, drafts_seen=False).value,
                proposals=listed,
                supports=supports,
                agreed=agreed,
                event=events.get(seminar.event_id) if seminar.event_id else None,
            )
        )
    return SeminarYears(years=sorted(years.items(), reverse=True))


# -- the plan --------------------------------------------------------------------------


@dataclass
class Served:
    """The public events that served one action or priority area, and those cancelled,
    which serve nothing."""

    held: int = 0
    upcoming: int = 0
    cancelled: int = 0
    next_events: list[Event] = field(default_factory=list)


@dataclass(frozen=True)
class Plan:
    catalogue: Catalogue
    actions: dict[int, Served]
    areas: dict[int, Served]


def _counts(session: Session, link: Any, column: Any, now: datetime) -> dict[int, Served]:
    """Per catalogue entry, the public events held, upcoming and cancelled, by the stages
    the coverage report counts. One grouped statement."""
    at = coverage.stage(now)
    served: dict[int, Served] = defaultdict(Served)
    counts = session.execute(
        select(
            column,
            func.count().filter(at == Stage.held),
            func.count().filter(at == Stage.upcoming),
            func.count().filter(at == Stage.cancelled),
        )
        .join(Event, Event.id == link.c.event_id)
        .where(access.visible_to(None))
        .group_by(column)
    )
    for number, held, upcoming, cancelled in counts:
        entry = served[number]
        entry.held, entry.upcoming, entry.cancelled = held, upcoming, cancelled
    return served


def plan(session: Session, *, now: datetime) -> Plan:
    """The catalogue, each entry's events held, upcoming and cancelled, and the next few
    that are not cancelled among the programme's next ``NEXT_WINDOW`` such events: seven
    statements, however many events (the counts read every link; the next events read a
    bounded window by start)."""
    actions = _counts(session, event_actions, event_actions.c.action_number, now)
    areas = _counts(session, event_priority_areas, event_priority_areas.c.priority_area_number, now)
    # A cancelled event serves nothing: it is counted apart, and never named as one of
    # the next, where it would take the place of one that is held.
    upcoming = session.scalars(
        select(Event)
        .where(access.visible_to(None), Event.status != EventStatus.cancelled, Event.ends_at > now)
        .options(selectinload(Event.actions), selectinload(Event.priority_areas))
        .order_by(Event.starts_at, Event.id)
        .limit(NEXT_WINDOW)
    )
    for event in upcoming:
        for served in [
            *(actions[action.number] for action in event.actions),
            *(areas[area.number] for area in event.priority_areas),
        ]:
            if len(served.next_events) < NAMED_PER_ENTRY:
                served.next_events.append(event)
    return Plan(catalogue=read_catalogue(session), actions=actions, areas=areas)
