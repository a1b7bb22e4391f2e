"""iCalendar components made from rows, by the ``icalendar`` library; and the JSON
bodies that list feeds.

Every line of every feed comes from these components and the library's serialisation;
nothing here formats an iCalendar line by hand.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

import icalendar
import pycountry
from icalendar import vCalAddress, vDuration, vText

from app.feeds import links, zones
from app.feeds.schemas import FeedRead, PersonalFeedIssued, PersonalFeedRead
from app.feeds.vevents import FeedEvent
from app.models import EntryVariant, EventKind, EventStatus, PersonalFeed, Seminar

PRODID = "-//KEP 2.0//Events service//EN"
PUBLISHER = "KEP 2.0"
# How often calendar apps should come back: the REFRESH-INTERVAL and X-PUBLISHED-TTL.
REFRESH = timedelta(hours=1)
# Calendar UIDs of feeds and milestones are derived from this namespace and stored UIDs.
NAMESPACE = uuid.UUID("6f1d7c1e-5b8a-4c1e-9a57-4b2f3c0d8e21")

KIND_CATEGORIES = {
    EventKind.joint_seminar: "Joint seminar",
    EventKind.peer_to_peer: "Peer-to-peer event",
    EventKind.other: "Event",
}


class LiteralText(vText):
    """TEXT whose every character is the author's.

    The library reads the two characters ``\\N`` in a Python string as a line break
    (its notation for one), so a title such as ``C:\\New`` would lose its backslash.
    Escaping the text between backslashes, and each backslash, separately with the
    library keeps every character while the library still does all the escaping.
    """

    def to_ical(self) -> bytes:
        backslash = vText("\\").to_ical()
        return backslash.join(vText(piece).to_ical() for piece in self.split("\\"))


# -- the calendar ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CalendarInfo:
    """What a feed says of itself: its name and description, a stable UID, and its own
    address where that is public."""

    name: str
    description: str
    key: str
    url: str | None = None

    @property
    def uid(self) -> str:
        return str(uuid.uuid5(NAMESPACE, self.key))


def calendar(info: CalendarInfo) -> icalendar.Calendar:
    """The calendar's own properties, without its components: its name and description
    both as RFC 7986 writes them and as Google, Apple and Outlook read them."""
    component = icalendar.Calendar.new(prodid=PRODID, method="PUBLISH", uid=info.uid, url=info.url)
    for name in ("NAME", "X-WR-CALNAME"):
        component.add(name, LiteralText(info.name))
    for name in ("DESCRIPTION", "X-WR-CALDESC"):
        component.add(name, LiteralText(info.description))
    # Calendar.new(refresh_interval=...) writes no VALUE=DURATION, which RFC 7986
    # requires; and a timedelta given as X-PUBLISHED-TTL would be written "1:00:00".
    component.add("REFRESH-INTERVAL", vDuration(REFRESH), parameters={"VALUE": "DURATION"})
    component.add("X-PUBLISHED-TTL", vDuration(REFRESH))
    return component


def frame(calendar: icalendar.Calendar) -> tuple[bytes, bytes]:
    """A calendar's opening lines (its properties) and its closing line, as the library
    writes them around its components: a feed or an invitation is assembled from them
    and its parts, each serialised once."""
    head, end, tail = calendar.to_ical().rpartition(b"END:VCALENDAR")
    return head, end + tail


# -- events ----------------------------------------------------------------------------

SUMMARY_PREFIXES = {
    EntryVariant.public: "",
    EntryVariant.waitlisted: "Waitlist: ",
    EntryVariant.unpublished: "Not yet published: ",
}


def _status(event: FeedEvent, variant: EntryVariant) -> tuple[str, str]:
    """The STATUS and the summary's prefix."""
    if event.status == EventStatus.cancelled:
        return "CANCELLED", "Cancelled: "
    if variant != EntryVariant.public or event.agenda_confirmed_at is None:
        return "TENTATIVE", SUMMARY_PREFIXES[variant]
    return "CONFIRMED", ""


@lru_cache(maxsize=512)
def country_name(code: str) -> str:
    country = pycountry.countries.get(alpha_2=code)
    return country.name if country is not None else code


def _venue(event: FeedEvent) -> str | None:
    if event.venue_name is None:
        return None
    country = country_name(event.venue_country) if event.venue_country else None
    parts = [event.venue_name, event.venue_address, event.venue_city, country]
    return ", ".join(part for part in parts if part)


def _clock(instant: datetime, zone_name: str, with_date: bool) -> str:
    local = instant.astimezone(zones.zone(zone_name))
    text = f"{local:%Y-%m-%d %H:%M}" if with_date else f"{local:%H:%M}"
    if zones.repeated(instant, zone_name):  # the repeated autumn hour: say which one
        offset = local.strftime("%z")
        text += f" (UTC{offset[:3]}:{offset[3:]})"
    return text


def _agenda(event: FeedEvent) -> list[str]:
    if not event.agenda:
        return []
    zone = zones.zone(event.timezone)
    several_days = event.starts_at.astimezone(zone).date() != event.ends_at.astimezone(zone).date()
    state = "confirmed" if event.agenda_confirmed_at is not None else "not yet confirmed"
    lines = ["", f"Agenda ({state}; times in {event.timezone}):"]
    for item in event.agenda:
        starts = _clock(item.starts_at, event.timezone, several_days)
        ends = _clock(item.ends_at, event.timezone, False)
        speakers = ", ".join(
            f"{speaker['name']} ({speaker['affiliation']})"
            if speaker.get("affiliation")
            else speaker["name"]
            for speaker in item.speakers
        )
        lines.append(f"{starts}–{ends} {item.title}" + (f" – {speakers}" if speakers else ""))
        if item.description:
            lines.append(f"  {item.description}")
    return lines


def _description(event: FeedEvent, base_url: str) -> str:
    lines: list[str] = []
    if event.status == EventStatus.cancelled:
        lines += [f"Cancelled: {event.cancel_reason}" if event.cancel_reason else "Cancelled.", ""]
    if event.description:
        lines += [event.description, ""]
    venue = _venue(event)
    if venue:
        lines.append(f"Venue: {venue}")
    if event.online_url:
        lines.append(f"Online: {event.online_url}")
    lines += _agenda(event)
    lines += ["", "Serves the Joint Action Plan's"]
    lines += [f"Action {action.number}: {action.title}" for action in event.actions]
    lines += [f"Priority area {area.number}: {area.title}" for area in event.priority_areas]
    lines += ["", f"Details: {links.event_page(base_url, event.id)}"]
    return "\n".join(lines)


def _categories(event: FeedEvent) -> list[str]:
    return [
        KIND_CATEGORIES[event.kind],
        *(f"Action {action.number}" for action in event.actions),
        *(f"Priority area {area.number}" for area in event.priority_areas),
    ]


def _organizer(event: FeedEvent) -> vCalAddress | None:
    if event.host is None:
        return None
    # A name and no e-mail address: the address is an opaque URN, stable per host.
    organizer = vCalAddress(f"urn:uuid:{uuid.uuid5(NAMESPACE, f'host:{event.host.id}')}")
    organizer.params["CN"] = event.host.name
    return organizer


def event_component(
    event: FeedEvent, *, base_url: str, variant: EntryVariant = EntryVariant.public
) -> icalendar.Event:
    """An event's VEVENT. Everything in it comes from the event's row, its agenda, links
    and host, so it changes only when the event records a change."""
    status, prefix = _status(event, variant)
    component = icalendar.Event()
    component.add("UID", event.uid)
    component.add("DTSTAMP", event.updated_at)
    component.add("CREATED", event.created_at)
    component.add("LAST-MODIFIED", event.updated_at)
    component.add("SEQUENCE", event.sequence)
    component.add("DTSTART", zones.written(event.starts_at, event.timezone))
    component.add("DTEND", zones.written(event.ends_at, event.timezone))
    component.add("SUMMARY", LiteralText(prefix + event.title))
    component.add("DESCRIPTION", LiteralText(_description(event, base_url)))
    location = _venue(event) or event.online_url
    if location:
        component.add("LOCATION", LiteralText(location))
    component.add("URL", links.event_page(base_url, event.id))
    component.add("CATEGORIES", _categories(event))
    organizer = _organizer(event)
    if organizer is not None:
        component.add("ORGANIZER", organizer)
    component.add("STATUS", status)
    return component


# -- seminar milestones ----------------------------------------------------------------

MILESTONE_LENGTH = timedelta(minutes=30)


@dataclass(frozen=True, slots=True)
class Milestone:
    """A moment of a seminar's call for topics, shown as a short event."""

    field: str
    what: str
    explanation: str


MILESTONES = (
    Milestone(
        "proposals_open_at",
        "call for topics opens",
        "Members and secretariat staff may propose topics from now on.",
    ),
    Milestone(
        "proposals_close_at",
        "call for topics closes",
        "Last moment to propose a topic, or to edit or withdraw one; voting opens.",
    ),
    Milestone(
        "voting_close_at",
        "voting closes",
        "Last moment to support proposals; DG RTD and CoR SEDEC then agree on the topic.",
    ),
)


def milestone_instant(seminar: Seminar, milestone: Milestone) -> datetime:
    instant: datetime = getattr(seminar, milestone.field)
    return instant


def milestone_component(
    seminar: Seminar, milestone: Milestone, *, base_url: str
) -> icalendar.Event:
    """One milestone of a seminar, at its instant, in UTC; it moves with the seminar's
    dates, and its SEQUENCE is the seminar's."""
    starts = milestone_instant(seminar, milestone)
    component = icalendar.Event()
    component.add("UID", str(uuid.uuid5(uuid.UUID(seminar.uid), milestone.field)))
    component.add("DTSTAMP", seminar.updated_at)
    component.add("CREATED", seminar.created_at)
    component.add("LAST-MODIFIED", seminar.updated_at)
    component.add("SEQUENCE", seminar.sequence)
    component.add("DTSTART", starts)
    component.add("DTEND", starts + MILESTONE_LENGTH)
    component.add("SUMMARY", f"Joint seminar {seminar.number} of {seminar.year}: {milestone.what}")
    page = links.seminar_page(base_url, seminar.id)
    component.add("DESCRIPTION", f"{milestone.explanation}\n\nDetails: {page}")
    component.add("URL", page)
    component.add("CATEGORIES", [KIND_CATEGORIES[EventKind.joint_seminar], "Deadline"])
    component.add("TRANSP", "TRANSPARENT")  # a deadline, not a meeting: never "busy"
    component.add("STATUS", "CONFIRMED")
    return component


# -- JSON bodies -----------------------------------------------------------------------


def public_feeds(
    base_url: str, actions: list[tuple[int, str]], areas: list[tuple[int, str]]
) -> list[FeedRead]:
    """The public feeds: all events, each priority area, each action, the seminars'
    deadlines."""

    def feed(title: str, description: str, url: str, **scope: int) -> FeedRead:
        return FeedRead(
            title=title,
            description=description,
            url=url,
            webcal_url=links.webcal(url),
            action=scope.get("action"),
            priority_area=scope.get("priority_area"),
        )

    return [
        feed(
            f"{PUBLISHER} – all events",
            "Every published event; cancelled ones stay, marked as such, until they end.",
            links.calendar(base_url),
        ),
        *(
            feed(
                f"{PUBLISHER} – priority area {number}: {title}",
                f"The events that serve priority area {number} of the Joint Action Plan.",
                links.calendar(base_url, {"priority_area": [number]}),
                priority_area=number,
            )
            for number, title in areas
        ),
        *(
            feed(
                f"{PUBLISHER} – action {number}: {title}",
                f"The events that serve action {number} of the Joint Action Plan.",
                links.calendar(base_url, {"action": [number]}),
                action=number,
            )
            for number, title in actions
        ),
        feed(
            f"{PUBLISHER} – joint seminars: calls for topics and votes",
            "When each joint seminar's call for topics opens and closes, when voting "
            "closes, and each seminar once it is scheduled.",
            links.seminars_calendar(base_url),
        ),
    ]


def personal_feed_read(feed: PersonalFeed) -> PersonalFeedRead:
    return PersonalFeedRead(
        id=feed.id,
        label=feed.label,
        created_at=feed.created_at,
        last_fetched_at=feed.last_fetched_at,
        revoked_at=feed.revoked_at,
    )


def personal_feed_issued(feed: PersonalFeed, token: str, base_url: str) -> PersonalFeedIssued:
    url = links.personal_calendar(base_url, token)
    return PersonalFeedIssued(
        **personal_feed_read(feed).model_dump(), url=url, webcal_url=links.webcal(url)
    )
