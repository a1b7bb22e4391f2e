"""Turning what a page shows into HTML, and answering it over HTTP.

Templates are Jinja2 with autoescaping on for everything: every text a user wrote is
escaped, whatever the template does with it. The answer carries a strong ETag of its
bytes and is revalidated on every visit (``no-cache``): a browser that has the page
gets 304 with no body. Its Content-Security-Policy lets the page load its own style
sheet, script and images, and nothing else; no inline script or style runs.
"""

import hashlib
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from fastapi import Request, Response

from app.common.http import not_modified
from app.feeds.presenters import country_name
from app.models import EventKind

HERE = Path(__file__).parent
STATIC = HERE / "static"

MEDIA_TYPE = "text/html; charset=utf-8"
PAGE_POLICY = (
    "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
# Pages change with registrations and the clock: browsers ask again on every visit, and
# a current copy costs them a 304.
CACHE_CONTROL = "public, no-cache"
# A page reached through a secret link (a person's mail choices) is kept nowhere.
PRIVATE = "private, no-store"

KIND_NAMES = {
    EventKind.joint_seminar: "Joint seminar",
    EventKind.peer_to_peer: "Peer-to-peer event",
    EventKind.other: "Other event",
}


def utc_offset(moment: datetime) -> str:
    """``UTC+01:00``, ``UTC-03:30``, ``UTC+00:00``: as people read an offset."""
    offset = moment.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{rest:02d}"


def _day(moment: datetime) -> str:
    return f"{moment:%A} {moment.day} {moment:%B %Y}"


def local_span(starts_at: datetime, ends_at: datetime, zone_name: str) -> dict[str, str]:
    """When an event happens in its own zone, for people and for machines (the
    ``datetime`` attributes of ``<time>``)."""
    zone = ZoneInfo(zone_name)
    start, end = starts_at.astimezone(zone), ends_at.astimezone(zone)
    if start.date() == end.date():
        text = f"{_day(start)}, {start:%H:%M}–{end:%H:%M}"
    else:
        text = f"{_day(start)}, {start:%H:%M} to {_day(end)}, {end:%H:%M}"
    offsets = utc_offset(start)
    if utc_offset(end) != offsets:
        offsets += f" then {utc_offset(end)}"
    return {
        "text": text,
        "zone": f"{zone_name}, {offsets}",
        "start": start.isoformat(),
        "end": end.isoformat(),
    }


def local_moment(moment: datetime, zone_name: str) -> dict[str, str]:
    local = moment.astimezone(ZoneInfo(zone_name))
    return {
        "text": f"{_day(local)}, {local:%H:%M} ({zone_name}, {utc_offset(local)})",
        "iso": local.isoformat(),
    }


def clock_time(moment: datetime, zone_name: str) -> str:
    return f"{moment.astimezone(ZoneInfo(zone_name)):%H:%M}"


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        local_span=local_span,
        local_moment=local_moment,
        clock_time=clock_time,
        country_name=country_name,
        kind_name=KIND_NAMES.get,
    )
    return env


def render(template: str, **context: Any) -> bytes:
    return environment().get_template(template).render(**context).encode()


def page(
    request: Request,
    template: str,
    *,
    status_code: int = 200,
    private: bool = False,
    **context: Any,
) -> Response:
    """The page, or 304 when the browser's copy (by its ETag) is current. Every page names
    the plan's term, a setting (``KEP_PLAN_START_YEAR``, ``KEP_PLAN_END_YEAR``), and
    links to the service's own paths under the public base URL's path (``root``: empty,
    or a prefix such as ``/kep``). A ``private`` page, whose address holds a secret, is
    kept by no cache at all."""
    settings = request.app.state.settings
    body = render(
        template,
        request_path=request.url.path,
        plan_term=settings.plan_term,
        root=settings.base_path,
        **context,
    )
    if private:
        headers = {"Cache-Control": PRIVATE, "Content-Security-Policy": PAGE_POLICY}
        return Response(body, status_code=status_code, media_type=MEDIA_TYPE, headers=headers)
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {
        "ETag": etag,
        "Cache-Control": CACHE_CONTROL,
        "Content-Security-Policy": PAGE_POLICY,
    }
    if status_code == 200 and not_modified(request, etag):
        return Response(status_code=304, headers=headers)
    return Response(body, status_code=status_code, media_type=MEDIA_TYPE, headers=headers)
