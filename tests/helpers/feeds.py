"""Reading feeds as calendar apps do: with icalendar, and with vobject as an independent
parser that validates what it reads."""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import icalendar
import vobject
from fastapi.testclient import TestClient

from app.feeds.http import SETTLED_AFTER

# Seconds after its latest change that a feed first gives its date (Last-Modified).
SETTLED = SETTLED_AFTER.total_seconds()


@dataclass(frozen=True)
class Read:
    """One VEVENT as a parser read it."""

    uid: str
    starts_at: datetime
    ends_at: datetime
    sequence: int
    status: str
    summary: str
    description: str


def _from_icalendar(text: str) -> dict[str, Read]:
    calendar = icalendar.Calendar.from_ical(text)
    return {
        str(event["UID"]): Read(
            uid=str(event["UID"]),
            starts_at=event.decoded("DTSTART").astimezone(UTC),
            ends_at=event.decoded("DTEND").astimezone(UTC),
            sequence=int(event["SEQUENCE"]),
            status=str(event["STATUS"]),
            summary=str(event["SUMMARY"]),
            description=str(event["DESCRIPTION"]),
        )
        for event in calendar.walk("VEVENT")
    }


def forget_vobjects_timezones() -> None:
    """vobject keeps the first VTIMEZONE it reads for a TZID for the rest of the process
    and uses it for every later calendar; each feed is read here as a new reader would,
    with its own VTIMEZONEs."""
    known = vobject.icalendar.__dict__["__tzidMap"]
    for tzid in [tzid for tzid in known if tzid != "UTC"]:
        del known[tzid]


def _from_vobject(text: str) -> dict[str, Read]:
    forget_vobjects_timezones()
    calendar = vobject.readOne(text, validate=True)
    return {
        event.uid.value: Read(
            uid=event.uid.value,
            starts_at=event.dtstart.value.astimezone(UTC),
            ends_at=event.dtend.value.astimezone(UTC),
            sequence=int(event.sequence.value),
            status=event.status.value,
            summary=event.summary.value,
            description=event.description.value,
        )
        for event in getattr(calendar, "vevent_list", [])
    }


def read(text: str) -> dict[str, Read]:
    """The feed's events by UID, read by both parsers, which must agree on every one."""
    by_icalendar = _from_icalendar(text)
    by_vobject = _from_vobject(text)
    assert by_icalendar == by_vobject
    return by_icalendar


def fetch(client: TestClient, path: str, **kwargs: Any) -> str:
    response = client.get(path, **kwargs)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    return response.text


def lines(text: str) -> list[str]:
    """The content lines, unfolded."""
    return text.replace("\r\n ", "").replace("\r\n\t", "").split("\r\n")


def calendar_lines(text: str) -> list[str]:
    """The calendar's own lines: those before its first component."""
    own = []
    for line in lines(text)[1:]:
        if line.startswith(("BEGIN:", "END:VCALENDAR")):
            break
        own.append(line)
    return own


def vevents(text: str) -> list[icalendar.Event]:
    return list(icalendar.Calendar.from_ical(text).walk("VEVENT"))


def vevent(text: str, uid: str) -> icalendar.Event:
    [found] = [event for event in vevents(text) if str(event["UID"]) == uid]
    return found
