"""How messages write times, places and links: English, each time in the event's own
zone and in UTC."""

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from app.feeds import links
from app.feeds.presenters import country_name
from app.models import Event


def _day(moment: datetime) -> str:
    return f"{moment:%A} {moment.day} {moment:%B %Y}"


def _offset(moment: datetime) -> str:
    text = moment.strftime("%z")
    return f"UTC{text[:3]}:{text[3:]}"


def span(starts_at: datetime, ends_at: datetime, zone_name: str) -> list[str]:
    """Two lines: the span in the zone (with its offset), and the same span in UTC."""
    zone = ZoneInfo(zone_name)
    lines = []
    for label, start, end in (
        (
            f"{zone_name} time, {_offset(starts_at.astimezone(zone))}",
            *_local(starts_at, ends_at, zone),
        ),
        ("UTC", *_local(starts_at, ends_at, ZoneInfo("UTC"))),
    ):
        if start.date() == end.date():
            lines.append(f"{_day(start)}, {start:%H:%M}–{end:%H:%M} ({label})")
        else:
            lines.append(f"{_day(start)} {start:%H:%M} to {_day(end)} {end:%H:%M} ({label})")
    return lines


def _local(starts_at: datetime, ends_at: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    return starts_at.astimezone(zone), ends_at.astimezone(zone)


def moment(instant: datetime, zone_name: str) -> str:
    """One instant, in the zone and in UTC: "Monday 1 February 2027, 18:00 Europe/Brussels
    time (17:00 UTC)"."""
    local = instant.astimezone(ZoneInfo(zone_name))
    utc = instant.astimezone(ZoneInfo("UTC"))
    same_day = local.date() == utc.date()
    in_utc = f"{utc:%H:%M} UTC" if same_day else f"{_day(utc)} {utc:%H:%M} UTC"
    return f"{_day(local)}, {local:%H:%M} {zone_name} time ({in_utc})"


def venue(event: Event) -> str | None:
    if event.venue_name is None:
        return None
    country = country_name(event.venue_country) if event.venue_country else None
    parts = [event.venue_name, event.venue_address, event.venue_city, country]
    return ", ".join(part for part in parts if part)


def facts(event: Event, base_url: str) -> list[str]:
    """What every message about an event says of it."""
    lines = [event.title, ""]
    when = span(event.starts_at, event.ends_at, event.timezone)
    lines.append(f"When:   {when[0]}")
    lines.append(f"        {when[1]}")
    place = venue(event)
    if place:
        lines.append(f"Where:  {place}")
    if event.online_url:
        lines.append(f"Online: {event.online_url}")
    lines.append(f"Event:  {links.event_page(base_url, event.id)}")
    return lines


# Where a header's line could end: a control character (C0 or C1, Unicode's category
# Cc), or the line or paragraph separator (Zl, Zp); a pattern, for the text of every
# message is searched for them.
LINE_BREAKING = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def breaks_line(text: str) -> bool:
    """Whether ``text`` holds a character at which a header's line could end."""
    return LINE_BREAKING.search(text) is not None


def one_line(text: str, limit: int = 300) -> str:
    """A subject as one line: line breaks and other control characters become spaces, so
    that no text of a user's can start a header of its own."""
    cleaned = " ".join(LINE_BREAKING.sub(" ", text).split())
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"
