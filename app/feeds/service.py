"""The feeds: what each holds, its version, and its body made from stored parts.

Opening a feed costs one small query for its version; nothing is rendered until an
answer needs a body. A body is served from the cache of whole bodies when its version
was served before, else assembled from the events' stored VEVENTs (serialising only the
events that changed), the VTIMEZONEs its instants need and the seminars' milestones.
"""

import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import icalendar
from sqlalchemy.orm import Session

from app.catalogue import service as catalogue
from app.common.cache import FeedCache
from app.feeds import entries, links, presenters, queries, versions, zones
from app.feeds.presenters import MILESTONES, CalendarInfo
from app.feeds.queries import CalendarFilters, EntryRow
from app.feeds.versions import FeedVersion
from app.feeds.vevents import FeedEvent
from app.models import EntryVariant, EventKind, PersonalFeed, Seminar

PLATFORM = (
    "Events of KEP 2.0, the Knowledge Exchange Platform of the Joint Action Plan between "
    "the European Committee of the Regions and the European Commission (DG RTD and JRC)"
)
CANCELLED_NOTE = "Cancelled events stay, marked as cancelled, until they would have ended."


@dataclass(frozen=True)
class Contents:
    """What a feed holds: its own properties, its events with their stored parts, and
    the seminars whose milestones it shows."""

    info: CalendarInfo
    rows: list[EntryRow]
    seminars: list[Seminar]


@dataclass(frozen=True)
class Feed:
    """A feed opened for one request: which one, its version and validators, and how
    to read what it holds when a body is needed."""

    key: str
    version: FeedVersion
    etag: str
    filename: str
    contents: Callable[[Session], Contents]
    attachment: bool = False
    private: bool = False

    @property
    def last_modified(self) -> datetime:
        return self.version.last_modified


def _etag(key: str, version: FeedVersion, base_url: str) -> str:
    made_from = "|".join([entries.CODE_VERSION, base_url, key, repr(version.values)])
    return '"' + hashlib.sha256(made_from.encode()).hexdigest()[:32] + '"'


def _open(
    key: str,
    version: FeedVersion,
    base_url: str,
    filename: str,
    contents: Callable[[Session], Contents],
    **options: bool,
) -> Feed:
    return Feed(
        key=key,
        version=version,
        etag=_etag(key, version, base_url),
        filename=filename,
        contents=contents,
        **options,
    )


# -- the public calendar ---------------------------------------------------------------

KIND_PLURALS = {
    EventKind.joint_seminar: "joint seminars",
    EventKind.peer_to_peer: "peer-to-peer events",
    EventKind.other: "other events",
}


def _numbered(word: str, numbers: Sequence[int], titles: dict[int, str]) -> str:
    if len(numbers) == 1:
        return f"{word} {numbers[0]}: {titles[numbers[0]]}"
    return f"{word}s {', '.join(map(str, numbers))}"


def calendar_name(filters: CalendarFilters, actions: dict[int, str], areas: dict[int, str]) -> str:
    """What the calendar holds, as a calendar app lists it, such as "KEP 2.0 - priority
    area 2: Facilitating the green and digital transition" (with an en dash)."""
    parts = []
    if filters.actions:
        parts.append(_numbered("action", filters.actions, actions))
    if filters.priority_areas:
        parts.append(_numbered("priority area", filters.priority_areas, areas))
    if filters.kinds:
        parts.append(" or ".join(KIND_PLURALS[kind] for kind in filters.kinds))
    if filters.countries:
        names = [presenters.country_name(code) for code in filters.countries]
        parts.append("in " + " or ".join(names))
    return f"{presenters.PUBLISHER} – " + (" · ".join(parts) if parts else "all events")


def calendar_filename(filters: CalendarFilters) -> str:
    chosen = "".join(
        f"-{name.replace('_', '-')}-" + "-".join(str(value).lower() for value in values)
        for name, values in filters.as_query().items()
        if values
    )
    name = f"kep-events{chosen}"
    return (name if len(name) <= 100 else "kep-events-selection") + ".ics"


def calendar_contents(filters: CalendarFilters, now: datetime, base_url: str):
    def contents(session: Session) -> Contents:
        actions: dict[int, str] = {}
        areas: dict[int, str] = {}
        if filters.actions or filters.priority_areas:  # their titles name the calendar
            actions = {a.number: a.title for a in catalogue.every_action(session=session)}
            areas = {a.number: a.title for a in catalogue.every_priority_area(session=session)}
        name = calendar_name(filters, actions, areas)
        selection = name.split(" – ", 1)[1]
        return Contents(
            info=CalendarInfo(
                name=name,
                description=f"{PLATFORM}: {selection}. {CANCELLED_NOTE}",
                key=filters.key,
                url=links.calendar(base_url, filters.as_query()),
            ),
            rows=queries.calendar_rows(session, filters, now),
            seminars=[],
        )

    return contents


def calendar_feed(
    *, session: Session, filters: CalendarFilters, now: datetime, base_url: str
) -> Feed:
    """Every published event that matches the filters, and cancelled ones until they end."""
    version = versions.calendar_version(session, filters, now)
    return _open(
        filters.key,
        version,
        base_url,
        calendar_filename(filters),
        calendar_contents(filters, now, base_url),
    )


# -- one event -------------------------------------------------------------------------


def _slug(text: str, limit: int = 50) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:limit].rstrip("-")


def event_feed(*, session: Session, event_id: int, base_url: str) -> Feed:
    """One published or cancelled event, as a file to open or import."""
    version, title = versions.event_version(session, event_id)
    slug = _slug(title)

    def contents(session: Session) -> Contents:
        return Contents(
            info=CalendarInfo(
                name=f"{presenters.PUBLISHER} – {title}",
                description=f"{PLATFORM}: {title}.",
                key=f"event/{event_id}",
                url=links.event_calendar(base_url, event_id),
            ),
            rows=queries.event_rows(session, event_id),
            seminars=[],
        )

    return _open(
        f"event/{event_id}",
        version,
        base_url,
        f"kep-event-{event_id}" + (f"-{slug}" if slug else "") + ".ics",
        contents,
        attachment=True,
    )


# -- the seminars' deadlines -----------------------------------------------------------

SEMINARS_NAME = f"{presenters.PUBLISHER} – joint seminars: calls for topics and votes"


def seminars_feed(*, session: Session, now: datetime, base_url: str) -> Feed:
    """The joint seminars' milestones, and each seminar itself once it is scheduled."""
    version = versions.seminars_version(session, now)

    def contents(session: Session) -> Contents:
        return Contents(
            info=CalendarInfo(
                name=SEMINARS_NAME,
                description=(
                    "The joint DG RTD–CoR seminars of KEP 2.0: when each call for topics "
                    "opens and closes, when voting closes, and each seminar once it is "
                    f"scheduled. {CANCELLED_NOTE}"
                ),
                key="seminars",
                url=links.seminars_calendar(base_url),
            ),
            rows=queries.seminar_event_rows(session, now),
            seminars=queries.seminars(session),
        )

    return _open("seminars", version, base_url, "kep-joint-seminars.ics", contents)


# -- a personal feed -------------------------------------------------------------------


def personal_feed(*, session: Session, feed: PersonalFeed, now: datetime, base_url: str) -> Feed:
    """The events a person registered for, hosts, or proposed the seminar's topic for,
    with the milestones of those seminars. Its key names the feed's id, never its token."""
    user_id = feed.user_id
    version = versions.personal_version(session, user_id, now)
    key = f"personal/{feed.id}"

    def contents(session: Session) -> Contents:
        return Contents(
            info=CalendarInfo(
                name=f"{presenters.PUBLISHER} – my events",
                description=(
                    "The KEP 2.0 events you registered for (waitlisted ones marked as "
                    "such), host, or proposed a seminar topic for, with those seminars' "
                    f"deadlines. {CANCELLED_NOTE}"
                ),
                key=key,
            ),
            rows=queries.personal_rows(session, user_id, now),
            seminars=queries.seminars(session, queries.proposed_seminar_ids(session, user_id)),
        )

    return _open(key, version, base_url, "kep-my-events.ics", contents, private=True)


# -- bodies ----------------------------------------------------------------------------


def body(session: Session, feed: Feed, *, cache: FeedCache, base_url: str) -> bytes:
    """The feed's body: from the cache when this version was served before, else made
    from the stored parts and kept for the next poll."""
    cached = cache.get(feed.etag)
    if cached is not None:
        return cached
    made = assemble(
        session, feed.contents(session), catalogue=feed.version.catalogue, base_url=base_url
    )
    cache.put(feed.etag, made)
    return made


def _order(row: EntryRow) -> tuple[datetime, int, int, int]:
    return row.starts_at, 0, row.event_id, 0


def _milestone_order(seminar: Seminar, index: int) -> tuple[datetime, int, int, int]:
    return presenters.milestone_instant(seminar, MILESTONES[index]), 1, seminar.id, index


def _spans(rows: Iterable[EntryRow]) -> zones.ZoneSpans:
    spans = zones.ZoneSpans()
    for row in rows:
        spans.add(row.timezone, row.starts_at, row.ends_at)
    return spans


@lru_cache(maxsize=256)
def _frame(info: CalendarInfo) -> tuple[bytes, bytes]:
    return presenters.frame(presenters.calendar(info))


def assemble(
    session: Session, contents: Contents, *, catalogue: datetime | None, base_url: str
) -> bytes:
    """The calendar made of its parts: byte for byte what the library writes for the
    whole calendar (``whole_calendar``), with each event serialised once per version."""
    parts = entries.current_parts(session, contents.rows, catalogue=catalogue, base_url=base_url)
    pieces = [(_order(row), part) for row, part in zip(contents.rows, parts, strict=True)]
    if contents.seminars:
        pieces += [
            (
                _milestone_order(seminar, index),
                presenters.milestone_component(seminar, milestone, base_url=base_url).to_ical(),
            )
            for seminar in contents.seminars
            for index, milestone in enumerate(MILESTONES)
        ]
        pieces.sort(key=lambda piece: piece[0])
    head, foot = _frame(contents.info)
    timezones = _spans(contents.rows).serialised()
    return b"".join([head, *timezones, *(part for _order, part in pieces), foot])


def whole_calendar(
    contents: Contents, events: dict[int, FeedEvent], *, base_url: str
) -> icalendar.Calendar:
    """The same calendar built by the library in one piece from the rows: what a feed
    must equal, and what the benchmark measures the library alone by."""
    calendar = presenters.calendar(contents.info)
    for name, transitions in _spans(contents.rows).needed():
        calendar.add_component(zones.vtimezone(name, transitions))
    components: list[tuple[tuple[datetime, int, int, int], icalendar.Component]] = [
        (
            _order(row),
            presenters.event_component(
                events[row.event_id], base_url=base_url, variant=EntryVariant(row.variant)
            ),
        )
        for row in contents.rows
    ]
    components += [
        (
            _milestone_order(seminar, index),
            presenters.milestone_component(seminar, milestone, base_url=base_url),
        )
        for seminar in contents.seminars
        for index, milestone in enumerate(MILESTONES)
    ]
    for _order_key, component in sorted(components, key=lambda item: item[0]):
        calendar.add_component(component)
    return calendar
