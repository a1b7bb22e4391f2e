"""Answering a feed over HTTP: validators, conditional requests and caching headers."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime

from fastapi import Request, Response

from app.common.http import not_modified as etag_current
from app.feeds.service import Feed

MEDIA_TYPE = "text/calendar; charset=utf-8"
# Shared caches may keep a public feed this long; calendar apps come back every hour.
MAX_AGE = 300

# A feed's date is that of its latest change, and a change is dated when its transaction
# began but seen once it commits; dates have whole seconds. So a date read now could be
# followed by a change dated no later (one that began earlier and commits later, or one
# later in the same second), and a client revalidating with If-Modified-Since would be
# told it has it. A date is sent only when it is older than the longest a change takes
# to commit (far less than this, even across hosts' clocks), and a second more: every
# change still to come is then dated in a later second.
SETTLED_AFTER = timedelta(minutes=5, seconds=1)


def _http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC).replace(microsecond=0), usegmt=True)


def _names(if_modified_since: str, given: datetime) -> bool:
    try:
        since = parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError, IndexError, OverflowError):
        return False  # a date we cannot read (or hold) is ignored, as RFC 9110 says
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return since == given.replace(microsecond=0)


def given_date(request: Request, feed: Feed) -> datetime | None:
    """The feed's date as it is given (Last-Modified): once it has settled, else none."""
    if feed.last_modified <= request.app.state.clock() - SETTLED_AFTER:
        return feed.last_modified
    return None


def not_modified(request: Request, feed: Feed, given: datetime | None) -> bool:
    """Whether the client's copy is current. ``If-None-Match`` wins when it is sent;
    ``If-Modified-Since`` counts only without it, and only when it names the date the
    feed gives (``given``), to the second. A date the feed did not give may be a
    client's own (its copy's Date, RFC 9110 13.1.3): a change begun before it and
    committed after the copy was read is dated no later, so no date but the feed's
    own, given once nothing still to come can be dated at or before it, tells that a
    copy holds every change; a later one would hide it for good."""
    if "if-none-match" in request.headers:
        return etag_current(request, feed.etag)
    if_modified_since = request.headers.get("if-modified-since")
    if if_modified_since is None or given is None:
        return False
    return _names(if_modified_since, given)


def answer(request: Request, feed: Feed, body: Callable[[], bytes]) -> Response:
    """304 with no body when the client's copy is current, else the feed. Its date
    (Last-Modified) only once it has settled (``SETTLED_AFTER``): the ETag serves
    until then."""
    headers = {
        "ETag": feed.etag,
        "Cache-Control": f"{'private' if feed.private else 'public'}, max-age={MAX_AGE}",
    }
    given = given_date(request, feed)
    if given is not None:
        headers["Last-Modified"] = _http_date(given)
    if not_modified(request, feed, given):
        return Response(status_code=304, headers=headers)
    disposition = "attachment" if feed.attachment else "inline"
    headers["Content-Disposition"] = f'{disposition}; filename="{feed.filename}"'
    return Response(body(), media_type=MEDIA_TYPE, headers=headers)
