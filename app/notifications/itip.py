"""Calendar invitations (iTIP, RFC 5546) made from the same VEVENT as the feeds.

A ``REQUEST`` adds the event to the recipient's calendar and, sent again with a higher
``SEQUENCE``, updates it in place; a ``CANCEL`` removes it. Outlook, Gmail and
Thunderbird match the event by its stored ``UID``. The organizer is the service's own
address (the sender of the mail); the recipient is the one attendee.
"""

from datetime import datetime
from email.utils import parseaddr
from functools import lru_cache

import icalendar
from icalendar import vCalAddress

from app.feeds import presenters, zones
from app.feeds.presenters import event_component
from app.feeds.vevents import FeedEvent

REQUEST = "REQUEST"
CANCEL = "CANCEL"


def invitation(
    event: FeedEvent,
    *,
    method: str,
    sequence: int,
    attendee: str,
    attendee_name: str,
    organizer: str,
    base_url: str,
    now: datetime,
) -> str:
    """The text/calendar part of one invitation or cancellation, for one attendee."""
    component = event_component(event, base_url=base_url)
    for name in ("SEQUENCE", "DTSTAMP", "ORGANIZER", "STATUS"):
        component.pop(name, None)
    # DTSTAMP of an iTIP message is when the message was made (RFC 5546, 2.1.5).
    component.add("DTSTAMP", now)
    component.add("SEQUENCE", sequence)
    organizer_name, organizer_address = parseaddr(organizer)
    component.add("ORGANIZER", _address(organizer_address, organizer_name or presenters.PUBLISHER))
    person = _address(attendee, attendee_name)
    person.params["ROLE"] = "REQ-PARTICIPANT"
    person.params["PARTSTAT"] = "ACCEPTED" if method == REQUEST else "DECLINED"
    person.params["RSVP"] = "FALSE"
    component.add("ATTENDEE", person)
    if method == CANCEL:
        component.add("STATUS", "CANCELLED")
    else:
        component.add("STATUS", "CONFIRMED" if event.agenda_confirmed_at else "TENTATIVE")

    spans = zones.ZoneSpans()
    spans.add(event.timezone, event.starts_at, event.ends_at)
    head, foot = _frame(method)
    return b"".join([head, *spans.serialised(), component.to_ical(), foot]).decode()


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


def _address(address: str, name: str) -> vCalAddress:
    value = vCalAddress(f"mailto:{address}")
    if name:
        value.params["CN"] = name
    return value
