"""Calendar invitations (iTIP, RFC 5546) made from the same VEVENT as the feeds.

A ``REQUEST`` adds the event to the recipient's calendar and, sent again with a higher
``SEQUENCE``, updates it in place; a ``CANCEL`` removes it. Outlook, Gmail and
Thunderbird match the event by its stored ``UID``. The organizer is the service's own
address (the sender of the mail); the recipient is the one attendee.

Every invitation to one version of an event shares all its lines but the few that are
the message's own (when it was made, its sequence, organizer, attendee and status): the
shared lines are written once (``EventLines``), and each invitation writes its own and
puts them all in the order the library writes them.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parseaddr
from functools import lru_cache

import icalendar
from icalendar import vCalAddress, vDatetime
from icalendar.caselessdict import canonsort_keys

from app.feeds import presenters, zones
from app.feeds.presenters import event_component
from app.feeds.queries import EntryRow
from app.feeds.vevents import FeedEvent

REQUEST = "REQUEST"
CANCEL = "CANCEL"

# The feed's lines that an invitation writes for itself.
OWN_LINES = ("SEQUENCE", "DTSTAMP", "ORGANIZER", "STATUS")


@dataclass(frozen=True, slots=True)
class EventLines:
    """What every invitation to one version of an event shares: the VTIMEZONEs of its
    zones and the lines of its VEVENT but the invitation's own, by property."""

    uid: str
    sequence: int
    confirmed: bool
    timezones: bytes
    properties: dict[str, bytes]

    @property
    def size(self) -> int:
        return len(self.timezones) + sum(map(len, self.properties.values()))


def event_lines(event: FeedEvent, *, base_url: str) -> EventLines:
    """The shared lines, written from the event."""
    properties = _lines(event_component(event, base_url=base_url))
    return _shared(event, event.uid, event.agenda_confirmed_at, properties)


def kept_lines(
    entry: EntryRow, vevent: str, *, uid: str, agenda_confirmed_at: datetime | None
) -> EventLines:
    """The shared lines, taken from the event's public VEVENT as the feeds keep it
    (``vevent``, the stored part of ``entry``): the same component, written whole by
    the library."""
    return _shared(entry, uid, agenda_confirmed_at, _written_lines(vevent))


def _shared(
    event: FeedEvent | EntryRow,
    uid: str,
    agenda_confirmed_at: datetime | None,
    properties: dict[str, bytes],
) -> EventLines:
    spans = zones.ZoneSpans()
    spans.add(event.timezone, event.starts_at, event.ends_at)
    return EventLines(
        uid=uid,
        sequence=event.sequence,
        confirmed=agenda_confirmed_at is not None,
        timezones=b"".join(spans.serialised()),
        properties={name: line for name, line in properties.items() if name not in OWN_LINES},
    )


def _lines(component: icalendar.Event) -> dict[str, bytes]:
    """The component's content lines, folded as the library writes them, by property."""
    lines: dict[str, bytes] = {}
    for name, value in component.property_items(recursive=False, sorted=False):
        if name not in ("BEGIN", "END"):
            line = component.content_line(name, value).to_ical() + b"\r\n"
            lines[name] = lines.get(name, b"") + line
    return lines


def _written_lines(vevent: str) -> dict[str, bytes]:
    """What ``_lines`` gives for a component, from the text the library wrote for it:
    each property's lines, folded as written, without those of the components inside."""
    lines: dict[str, bytes] = {}
    depth = 0
    name = ""
    for line in vevent.encode().split(b"\r\n"):
        if line[:1] in (b" ", b"\t"):  # the folded rest of the line before
            if depth == 1:
                lines[name] += line + b"\r\n"
            continue
        name = _NAME.match(line).group().decode().upper()  # type: ignore[union-attr]
        if name == "BEGIN":
            depth += 1
        elif name == "END":
            depth -= 1
        elif depth == 1:
            lines[name] = lines.get(name, b"") + line + b"\r\n"
    return lines


# A content line's name: up to its first parameter or its value (RFC 5545, 3.1).
_NAME = re.compile(rb"[^;:]*")


def invitation(
    event: EventLines,
    *,
    method: str,
    sequence: int,
    attendee: str,
    attendee_name: str,
    organizer: str,
    now: datetime,
) -> str:
    """The text/calendar part of one invitation or cancellation, for one attendee."""
    status = "CANCELLED" if method == CANCEL else ("CONFIRMED" if event.confirmed else "TENTATIVE")
    own = {
        # DTSTAMP of an iTIP message is when the message was made (RFC 5546, 2.1.5).
        "DTSTAMP": b"DTSTAMP:%s\r\n" % vDatetime(now.astimezone(UTC)).to_ical(),
        "SEQUENCE": b"SEQUENCE:%d\r\n" % sequence,
        "ATTENDEE": _attendee_line(attendee, attendee_name, method),
        "STATUS": b"STATUS:%s\r\n" % status.encode(),
        "ORGANIZER": _organizer_line(organizer),
    }
    # Both sets of lines in the order the library writes a VEVENT's properties.
    lines = {**event.properties, **own}
    head, foot = _frame(method)
    vevent = [b"BEGIN:VEVENT\r\n", *(lines[name] for name in _order(*lines)), b"END:VEVENT\r\n"]
    return b"".join([head, event.timezones, *vevent, foot]).decode()


@lru_cache(maxsize=64)
def _order(*names: str) -> tuple[str, ...]:
    """Properties in the order the library writes a VEVENT's: the same for every
    invitation to events with the same properties."""
    return tuple(canonsort_keys(dict.fromkeys(names), icalendar.Event.canonical_order))


# People are sent many invitations (one per registration, and each change): their line
# is written once per process, with what the iTIP method says of them.
@lru_cache(maxsize=4096)
def _attendee_line(address: str, name: str, method: str) -> bytes:
    person = _address(address, name)
    person.params["ROLE"] = "REQ-PARTICIPANT"
    person.params["PARTSTAT"] = "ACCEPTED" if method == REQUEST else "DECLINED"
    person.params["RSVP"] = "FALSE"
    own = icalendar.Event()
    own.add("ATTENDEE", person)
    return _lines(own)["ATTENDEE"]


@lru_cache(maxsize=4)
def _frame(method: str) -> tuple[bytes, bytes]:
    """An invitation's calendar around its parts: it is assembled as the feeds are, with
    each zone's VTIMEZONE written once per process."""
    calendar = icalendar.Calendar()
    calendar.add("PRODID", presenters.PRODID)
    calendar.add("VERSION", "2.0")
    calendar.add("CALSCALE", "GREGORIAN")
    calendar.add("METHOD", method)
    return presenters.frame(calendar)


@lru_cache(maxsize=4)
def _organizer_line(organizer: str) -> bytes:
    """The ORGANIZER line, the same in every invitation: the service's own address."""
    name, address = parseaddr(organizer)
    own = icalendar.Event()
    own.add("ORGANIZER", _address(address, name or presenters.PUBLISHER))
    return _lines(own)["ORGANIZER"]


def _address(address: str, name: str) -> vCalAddress:
    value = vCalAddress(f"mailto:{address}")
    if name:
        value.params["CN"] = name
    return value
