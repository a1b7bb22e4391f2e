"""The addresses of the feeds, built from ``KEP_PUBLIC_BASE_URL``."""

from collections.abc import Iterable, Mapping
from urllib.parse import urlencode


def webcal(url: str) -> str:
    """The same address for calendar apps: ``webcal://`` asks them to subscribe."""
    return "webcal://" + url.split("://", 1)[1]


def event_page(base_url: str, event_id: int) -> str:
    """The event's public web page, for people; ``/events/{id}`` is its JSON."""
    return f"{base_url}/e/{event_id}"


def event_calendar(base_url: str, event_id: int) -> str:
    return f"{base_url}/events/{event_id}.ics"


def seminar_page(base_url: str, seminar_id: int) -> str:
    """The seminar on the public joint seminars page, for people; ``/seminars/{id}`` is
    its JSON."""
    return f"{base_url}/joint-seminars#seminar-{seminar_id}"


def calendar(base_url: str, filters: Mapping[str, Iterable[object]] | None = None) -> str:
    """``/calendar.ics``, with each filter's values comma-separated."""
    query = {
        name: ",".join(str(value) for value in values)
        for name, values in (filters or {}).items()
        if values
    }
    return f"{base_url}/calendar.ics" + (f"?{urlencode(query, safe=',')}" if query else "")


def seminars_calendar(base_url: str) -> str:
    return f"{base_url}/seminars.ics"


def personal_calendar(base_url: str, token: str) -> str:
    return f"{base_url}/feeds/{token}.ics"
